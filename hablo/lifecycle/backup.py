"""`hablo backup` and `hablo restore`: the database and the media files in one archive.

The archive is a gzipped tar holding ``manifest.json`` (format, database kind, migration
revision, PostgreSQL version, when), the database (``database.pgdump``: pg_dump's custom
format, or ``database.sqlite``: a copy made with SQLite's online backup API) and
``media/<tenant id>/<file id>`` for every uploaded file. The database is copied first and
the files after it: files are written once and never changed, so every file a backed-up
message refers to is in the archive (a file uploaded meanwhile is an orphan the retention
job removes). A backup runs beside live servers; a restore wants them stopped.

Nothing is half-written: the archive appears under its name only when complete, and a
restore checks everything it can before it touches anything, replaces the PostgreSQL
schema in one transaction, and swaps the media folder in at the end.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import create_engine, func, inspect, make_url, select
from sqlalchemy.pool import NullPool

from hablo import __version__
from hablo.config.settings import Settings
from hablo.db import migrate
from hablo.db.models import Tenant, User
from hablo.lifecycle import pg_tools
from hablo.lifecycle.media_files import MediaFolder, media_root

FORMAT = "hablo-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_DATABASE = {"postgresql": "database.pgdump", "sqlite": "database.sqlite"}
_MEDIA_MEMBER = re.compile(r"^media/([0-9a-f-]{36})/([0-9a-f]{32})$")


class BackupError(Exception):
    """Why a backup or restore cannot go on, in one line (nothing was changed)."""


@dataclass(frozen=True)
class Manifest:
    format: str
    format_version: int
    database: str  # "postgresql" | "sqlite"
    revision: str
    created_at: str
    hablo_version: str
    media_files: int
    postgresql_major: int | None = None


def default_name(now: datetime) -> Path:
    return Path(f"hablo-backup-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.tar.gz")


def backup(settings: Settings, out: Path) -> Manifest:
    """Write the archive to `out` (refused if it exists)."""
    try:
        return _backup(settings, out)
    except OSError as exc:  # a folder that cannot be written, a full disk
        raise BackupError(f"cannot write {out}: {exc.strerror or exc}") from exc


def _backup(settings: Settings, out: Path) -> Manifest:
    if out.exists():
        raise BackupError(f"{out} exists; choose another --out")
    url = settings.database_url
    dialect = _dialect(url)
    revision = _revision(url)
    server = None
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".hablo-backup-", dir=out.parent) as work:
        database = Path(work) / _DATABASE[dialect]
        if dialect == "postgresql":
            server = pg_tools.server_major(url)
            _tool(lambda: pg_tools.check_can_read("pg_dump", server or 0))
            _tool(lambda: pg_tools.dump(url, database))
        else:
            _sqlite_copy(_sqlite_path(url), database)
        files = list(MediaFolder(media_root(settings)).all_files())
        manifest = Manifest(
            FORMAT,
            FORMAT_VERSION,
            dialect,
            revision,
            datetime.now(UTC).isoformat(timespec="seconds"),
            __version__,
            len(files),
            server,
        )
        partial = Path(work) / "archive.tar.gz"
        # Owner-only from the first byte: it holds every tenant's data and sealed secrets.
        partial.touch(mode=0o600)
        with tarfile.open(partial, "w:gz") as tar:
            _add_bytes(tar, MANIFEST, json.dumps(asdict(manifest), indent=2).encode())
            tar.add(database, arcname=database.name, recursive=False)
            for name, path in files:
                tar.add(path, arcname=f"media/{name}", recursive=False)
        os.replace(partial, out)
    return manifest


def restore(settings: Settings, archive: Path, *, replace: bool) -> Manifest:
    """Put the archive's database and media files in place of the configured ones, then
    migrate to this version's schema."""
    try:
        return _restore(settings, archive, replace=replace)
    except OSError as exc:  # the state folder cannot be written, a full disk
        raise BackupError(f"cannot restore {archive}: {exc.strerror or exc}") from exc


def _restore(settings: Settings, archive: Path, *, replace: bool) -> Manifest:
    url = settings.database_url
    dialect = _dialect(url)
    with _open_archive(archive) as tar:
        manifest = _manifest(tar, archive)
        if manifest.database != dialect:
            raise BackupError(
                f"{archive} holds a {manifest.database} database; "
                f"the configured database_url is {dialect}"
            )
        _check_known_revision(url, manifest.revision)
        if dialect == "postgresql":
            server = pg_tools.server_major(url)
            if manifest.postgresql_major and server < manifest.postgresql_major:
                raise BackupError(
                    f"the backup comes from PostgreSQL {manifest.postgresql_major}; "
                    f"this server is {server} (restore into {manifest.postgresql_major} or newer)"
                )
            _tool(lambda: pg_tools.check_can_read("pg_restore", manifest.postgresql_major or 0))
        if not replace and _holds_data(url):
            raise BackupError(
                "the database holds data (tenants or users); add --yes to replace it all"
            )
        root = media_root(settings)
        root.mkdir(parents=True, exist_ok=True)
        # The files are unpacked inside the media folder (it may be a volume of its own:
        # moving them in is then a rename on the same file system).
        incoming = Path(tempfile.mkdtemp(prefix=".restoring-", dir=root))
        swapping = False
        try:
            with tempfile.TemporaryDirectory(prefix=".hablo-restore-", dir=root.parent) as work:
                database = _extract(tar, incoming, Path(work), _DATABASE[dialect])
                if dialect == "postgresql":
                    _tool(lambda: pg_tools.restore_replacing(url, database))
                else:
                    _sqlite_copy(database, _sqlite_path(url))
            swapping = True  # the database is restored: its files must not be lost now
            _swap_in(incoming, root)
            swapping = False
        finally:
            if not swapping:
                shutil.rmtree(incoming, ignore_errors=True)
    migrate.upgrade(url)
    return manifest


# -- the archive ---------------------------------------------------------------------------


@contextmanager
def _open_archive(archive: Path) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            yield tar
    except FileNotFoundError as exc:
        raise BackupError(f"{archive}: no such file") from exc
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{archive} is not a hablo backup ({exc})") from exc


def _manifest(tar: tarfile.TarFile, archive: Path) -> Manifest:
    try:
        raw = _read_member(tar, MANIFEST)
        fields = json.loads(raw)
        manifest = Manifest(**fields)
    except (KeyError, ValueError, TypeError) as exc:
        raise BackupError(f"{archive} is not a hablo backup (no readable {MANIFEST})") from exc
    if manifest.format != FORMAT or manifest.format_version != FORMAT_VERSION:
        raise BackupError(f"{archive}: unknown backup format {manifest.format!r}")
    return manifest


def _read_member(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.getmember(name)
    stream = tar.extractfile(member) if member.isfile() else None
    if stream is None:
        raise KeyError(name)
    with stream:
        return stream.read()


def _extract(tar: tarfile.TarFile, media: Path, work: Path, database_name: str) -> Path:
    """The database file and the media files, by their expected names only (a member
    named otherwise, a link or a path outside is refused, never written)."""
    database: Path | None = None
    for member in tar:
        if member.name == MANIFEST:
            continue
        if member.name == database_name and member.isfile():
            database = work / database_name
            _copy_member(tar, member, database)
            continue
        match = _MEDIA_MEMBER.match(member.name)
        if match is None or not member.isfile():
            raise BackupError(f"unexpected entry {member.name[:80]!r} in the backup")
        target = media / match.group(1) / match.group(2)
        target.parent.mkdir(exist_ok=True)
        _copy_member(tar, member, target)
    if database is None:
        raise BackupError(f"the backup has no {database_name}")
    return database


def _copy_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    stream = tar.extractfile(member)
    assert stream is not None  # a regular file
    with stream, target.open("wb") as out:
        shutil.copyfileobj(stream, out)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _swap_in(incoming: Path, root: Path) -> None:
    """The restored tenants' folders take the place of the current ones (the media
    folder itself stays: it may be a mount point)."""
    replaced = Path(tempfile.mkdtemp(prefix=".replaced-", dir=root))
    try:
        for child in list(root.iterdir()):
            if not child.name.startswith("."):
                os.replace(child, replaced / child.name)
        for child in list(incoming.iterdir()):
            os.replace(child, root / child.name)
    except OSError as exc:
        # Half done after the database was restored: nothing is deleted, the operator
        # is told where each set of files is.
        raise BackupError(
            f"the database is restored but its media files are not all in place "
            f"({exc.strerror or exc}): the backup's files not yet moved are in {incoming}, "
            f"the previous ones in {replaced} and {root}; move them into {root} by hand, "
            "then run hablo db upgrade"
        ) from exc
    shutil.rmtree(replaced, ignore_errors=True)


# -- the database --------------------------------------------------------------------------


def _dialect(url: str) -> str:
    if url.startswith("postgresql"):
        return "postgresql"
    if url.startswith("sqlite"):
        return "sqlite"
    raise BackupError("backups support PostgreSQL and SQLite databases only")


def _sqlite_path(url: str) -> Path:
    name = make_url(url).database
    if not name or name == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(name)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy while others write (WAL or not)."""
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _revision(url: str) -> str:
    revision = migrate.current_revision(url)
    if revision is None:
        raise BackupError("the database has no hablo schema yet (run `hablo db upgrade`)")
    return revision


def _check_known_revision(url: str, revision: str) -> None:
    """A backup from a newer hablo has a schema this version cannot migrate."""
    scripts = ScriptDirectory.from_config(migrate.alembic_config(url))
    try:
        known = scripts.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(
            f"the backup's schema revision {revision!r} is unknown to hablo {__version__} "
            "(it comes from a newer version: restore with that version)"
        )


def _holds_data(url: str) -> bool:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(Tenant.__tablename__):
                return False
            tenants = conn.execute(select(func.count()).select_from(Tenant)).scalar_one()
            users = conn.execute(select(func.count()).select_from(User)).scalar_one()
    finally:
        engine.dispose()
    return bool(tenants or users)


def _tool(step: Callable[[], object]) -> None:
    try:
        step()
    except pg_tools.PgToolError as exc:
        raise BackupError(str(exc)) from exc
