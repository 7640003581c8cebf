"""`hablo backup` / `hablo restore` on both databases: data and media files written,
backed up, wiped, restored, equal; and every refusal leaves the database as it was."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, select, text
from sqlalchemy.pool import NullPool

from hablo.api.media_store import media_store
from hablo.bootstrap import Runtime
from hablo.cli import main
from hablo.db import migrate
from hablo.db.base import Base, utcnow
from hablo.db.enums import SenderKind
from hablo.db.models import Conversation, Message, Tenant
from hablo.engine.agent_reply import record_agent_reply
from hablo.lifecycle.backup import BackupError, backup, restore
from tests.conftest import make_settings
from tests.fakes import CollectingSender
from tests.integration.helpers import inbound, start_collecting

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


def _everything(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order (the comparison of before and after)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {
                table.name: sorted(
                    (tuple(repr(v) for v in row) for row in conn.execute(select(table))),
                )
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _some_data(runtime: Runtime, tenant_id: uuid.UUID) -> tuple[uuid.UUID, Path]:
    """A conversation with the customer's messages, the bot's replies and an agent's
    image (its file in the media folder)."""
    turns = start_collecting(runtime, CollectingSender("console"))
    for text_ in ("hola", "¿cuánto sale el corte?"):
        turns.wait_for([runtime.engine.submit(inbound(tenant_id, text_)).inbox_id], timeout=60)
    store = media_store(runtime.settings)
    stored = store.save(tenant_id, PNG, "precios.png")
    with runtime.db.transaction() as session:
        conversation = session.scalars(
            select(Conversation).where(Conversation.tenant_id == tenant_id).with_for_update()
        ).one()
        extras = {"media": {"url": store.url(stored, utcnow()), "type": "image"}}
        record_agent_reply(
            session,
            conversation,
            None,
            "Nuestros precios",
            None,
            utcnow(),
            extras={**extras, "file": stored.extras()},
        )
        conversation_id = conversation.id
    runtime.close()
    return conversation_id, store.folder.path(tenant_id, stored.file_id)


def _wipe(url: str, media: Path) -> None:
    """Lose everything: the database's schema and data, and the media folder."""
    if url.startswith("postgresql"):
        engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        Path(url.removeprefix("sqlite:///")).unlink()
    shutil.rmtree(media)


@pytest.fixture
def state_settings(db_url: str, tmp_path: Path) -> Any:
    return make_settings(db_url, state_dir=tmp_path / "state")


@pytest.fixture
def data_runtime(state_settings: Any) -> Any:
    from hablo.bootstrap import bootstrap
    from hablo.demo import seed_demo

    runtime = bootstrap(state_settings, upgrade_schema=False)
    with runtime.db.transaction() as session:
        seed_demo(session)
        tenant_id = session.scalars(select(Tenant.id).where(Tenant.slug == "demo")).one()
    return runtime, tenant_id


def test_backup_wipe_restore_gives_back_the_same_data_and_files(
    data_runtime: Any, state_settings: Any, tmp_path: Path
) -> None:
    runtime, tenant_id = data_runtime
    conversation_id, image = _some_data(runtime, tenant_id)
    url = state_settings.database_url
    before = _everything(url)
    assert len(before["messages"]) >= 5 and image.read_bytes() == PNG

    archive = tmp_path / "out" / "backup.tar.gz"
    manifest = backup(state_settings, archive)
    assert manifest.revision == migrate.head_from_files() and manifest.media_files == 1
    assert archive.stat().st_mode & 0o077 == 0  # every tenant's data: owner-only
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert f"media/{tenant_id}/{image.name}" in names

    _wipe(url, image.parent.parent)
    restore(state_settings, archive, replace=False)

    assert _everything(url) == before
    assert image.read_bytes() == PNG
    assert migrate.current_revision(url) == migrate.head_from_files()
    # The restored agent message's link serves the restored file.
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        bodies = conn.scalars(
            select(Message.body).where(
                Message.conversation_id == conversation_id,
                Message.sender_kind == SenderKind.AGENT,
            )
        ).all()
    engine.dispose()
    assert bodies == ["Nuestros precios"]


def test_restore_refuses_a_database_with_data_unless_told_and_then_replaces_it(
    data_runtime: Any, state_settings: Any, tmp_path: Path
) -> None:
    runtime, tenant_id = data_runtime
    _conversation_id, image = _some_data(runtime, tenant_id)
    url = state_settings.database_url
    archive = tmp_path / "backup.tar.gz"
    backup(state_settings, archive)
    before = _everything(url)

    # Work after the backup: a message deleted, a new file uploaded.
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(delete(Message).where(Message.body == "hola"))
    engine.dispose()
    later = media_store(state_settings).save(tenant_id, PNG, "later.png")
    changed = _everything(url)
    assert changed != before

    with pytest.raises(BackupError, match="holds data"):
        restore(state_settings, archive, replace=False)
    assert _everything(url) == changed  # refused: nothing touched

    restore(state_settings, archive, replace=True)
    assert _everything(url) == before
    assert image.is_file()
    assert not (image.parent / later.file_id).exists()  # the media folder is the backup's
    # ... swapped in place (the folder itself may be a mount point), nothing left over.
    assert [p.name for p in image.parent.parent.iterdir()] == [str(tenant_id)]


def test_archives_that_do_not_fit_are_refused_before_anything_changes(
    data_runtime: Any, state_settings: Any, tmp_path: Path
) -> None:
    data_runtime[0].close()
    url = state_settings.database_url
    archive = tmp_path / "backup.tar.gz"
    backup(state_settings, archive)
    before = _everything(url)

    def rewritten(name: str, change: dict[str, Any], extra: str | None = None) -> Path:
        target = tmp_path / name
        with tarfile.open(archive) as src, tarfile.open(target, "w:gz") as out:
            for member in src:
                data = src.extractfile(member)
                assert data is not None
                if member.name == "manifest.json":
                    body = json.dumps({**json.loads(data.read()), **change}).encode()
                    member.size = len(body)
                    out.addfile(member, io.BytesIO(body))
                else:
                    out.addfile(member, data)
            if extra is not None:
                info = tarfile.TarInfo(extra)
                info.size = 1
                out.addfile(info, io.BytesIO(b"x"))
        return target

    newer = rewritten("newer.tar.gz", {"revision": "9999"})
    with pytest.raises(BackupError, match="unknown to hablo"):
        restore(state_settings, newer, replace=True)
    other = "sqlite" if url.startswith("postgresql") else "postgresql"
    with pytest.raises(BackupError, match=f"holds a {other} database"):
        restore(state_settings, rewritten("other.tar.gz", {"database": other}), replace=True)
    with pytest.raises(BackupError, match="unexpected entry"):
        restore(state_settings, rewritten("evil.tar.gz", {}, "../../etc/evil"), replace=True)
    not_archive = tmp_path / "notes.txt"
    not_archive.write_text("hello")
    with pytest.raises(BackupError, match="not a hablo backup"):
        restore(state_settings, not_archive, replace=True)
    with pytest.raises(BackupError, match="exists"):
        backup(state_settings, archive)
    assert _everything(url) == before
    assert not (tmp_path.parent / "etc").exists()


def test_cli_backup_and_restore_answer_one_line(
    data_runtime: Any,
    state_settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_runtime[0].close()
    monkeypatch.setenv("HABLO_DATABASE_URL", state_settings.database_url)
    monkeypatch.setenv("HABLO_STATE_DIR", str(state_settings.state_dir))
    archive = tmp_path / "cli.tar.gz"
    assert main(["backup", "--out", str(archive)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["file"] == str(archive) and summary["bytes"] == archive.stat().st_size

    assert main(["restore", str(archive)]) == 1
    assert capsys.readouterr().err.strip() == (
        "hablo: the database holds data (tenants or users); add --yes to replace it all"
    )
    assert main(["restore", str(archive), "--yes"]) == 0
    restored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert restored["migrated_to"] == migrate.head_from_files()

    unwritable = archive / "sub"  # a folder under a file: not even root can make it
    assert main(["backup", "--out", str(unwritable / "x.tar.gz")]) == 1
    assert capsys.readouterr().err.startswith(f"hablo: cannot write {unwritable}/x.tar.gz: ")
    assert main(["restore", str(tmp_path / "missing.tar.gz")]) == 1
    assert capsys.readouterr().err.strip().endswith("missing.tar.gz: no such file")


def _first_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tool: str, script: str) -> None:
    """A stand-in for one of PostgreSQL's tools, found before the real one."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / tool
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_a_pg_dump_older_than_the_server_is_named_in_one_line(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A client of another major version than the server: one line, no archive."""
    _first_on_path(tmp_path, monkeypatch, "pg_dump", "echo 'pg_dump (PostgreSQL) 9.6.24'")
    monkeypatch.setenv("HABLO_DATABASE_URL", postgres_url)
    monkeypatch.setenv("HABLO_STATE_DIR", str(tmp_path / "state"))
    archive = tmp_path / "never.tar.gz"
    assert main(["backup", "--out", str(archive)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("hablo: pg_dump 9 cannot work with PostgreSQL ")
    assert "install postgresql-client-" in error and "\n" not in error
    assert not archive.exists() and list(tmp_path.glob(".hablo-backup-*")) == []


def test_postgresql_restore_loads_without_psql_and_a_failed_one_changes_nothing(
    data_runtime: Any, state_settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = state_settings.database_url
    if not url.startswith("postgresql"):
        pytest.skip("pg_restore is PostgreSQL's")
    runtime, tenant_id = data_runtime
    _some_data(runtime, tenant_id)
    archive = tmp_path / "backup.tar.gz"
    backup(state_settings, archive)
    before = _everything(url)
    # psql would obey backslash commands a crafted dump carries (CVE-2025-8714): a psql
    # first on PATH that fails says it is never run.
    _first_on_path(tmp_path, monkeypatch, "psql", "echo 'psql: must not be used' >&2; exit 1")

    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(delete(Message).where(Message.body == "hola"))
    restore(state_settings, archive, replace=True)
    assert _everything(url) == before

    # A dump cut short fails half-way through loading: the database is as it was.
    cut = tmp_path / "cut.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(cut, "w:gz") as out:
        for member in src:
            data = src.extractfile(member)
            assert data is not None
            body = data.read()
            if member.name == "database.pgdump":
                body = body[: len(body) * 9 // 10]
            member.size = len(body)
            out.addfile(member, io.BytesIO(body))
    with engine.begin() as conn:
        conn.execute(delete(Message).where(Message.body == "hola"))
    changed = _everything(url)
    with pytest.raises(BackupError, match="pg_restore failed"):
        restore(state_settings, cut, replace=True)
    assert _everything(url) == changed
    with engine.connect() as conn:
        schemas = conn.execute(text("SELECT nspname FROM pg_namespace")).scalars().all()
    engine.dispose()
    assert "hablo_replaced" not in schemas


def test_a_media_swap_that_fails_half_way_keeps_every_file_and_says_where(
    data_runtime: Any, state_settings: Any, tmp_path: Path
) -> None:
    runtime, tenant_id = data_runtime
    _conversation_id, image = _some_data(runtime, tenant_id)
    archive = tmp_path / "backup.tar.gz"
    backup(state_settings, archive)
    root = image.parent.parent
    # A folder that cannot be moved away (immutable; root may not rename it either).
    stuck = root / str(uuid.uuid4())
    stuck.mkdir()
    (stuck / "old.bin").write_bytes(b"old")
    if subprocess.run(["chattr", "+i", str(stuck)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not allowed here")
    try:
        with pytest.raises(BackupError, match="not all in place") as failed:
            restore(state_settings, archive, replace=True)
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=True)
    where = r"not yet moved are in (\S+), the previous ones in (\S+) and"
    found = re.search(where, str(failed.value))
    assert found is not None, failed.value
    kept, previous = Path(found.group(1)), Path(found.group(2))
    # The backup's file the restored database refers to is still there, and so is the old.
    assert (kept / str(tenant_id) / image.name).read_bytes() == PNG
    assert (previous / str(tenant_id) / image.name).is_file() or image.is_file()
    assert (stuck / "old.bin").read_bytes() == b"old"
