"""The real `hablo` console script, run as a subprocess against real databases."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import Engine

from hablo.db import migrate
from hablo.db.enums import DeliveryStatus, InboxStatus, OutboxStatus, SenderKind
from hablo.db.models import (
    BusinessHours,
    Contact,
    Conversation,
    Holiday,
    InboxEvent,
    Message,
    OutboxMessage,
    Service,
    Tenant,
)
from tests.conftest import _truncate_postgres

SCRIPT = Path(sys.executable).with_name("hablo")
HABLO: list[str] = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "hablo"]
PHONE = "+5491155550000"
CONVERSATION = ("hola", "¿a qué hora abren el sábado?", "¿cuánto sale el corte?")
BA = ZoneInfo("America/Argentina/Buenos_Aires")


def hablo(
    *args: str,
    cwd: Path,
    db_url: str | None = None,
    env: dict[str, str] | None = None,
    stdin: str = "",
    timeout: float = 90,
) -> subprocess.CompletedProcess[str]:
    """Run `hablo ARGS` with a clean HABLO_* environment (plus `env`)."""
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("HABLO_")}
    if db_url is not None:
        environ["HABLO_DATABASE_URL"] = db_url
    environ.update(env or {})
    return subprocess.run(
        [*HABLO, *args],
        cwd=cwd,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


def one_line(stream: str) -> str:
    lines = stream.splitlines()
    assert len(lines) == 1, f"expected exactly one line, got {len(lines)}:\n{stream}"
    return lines[0]


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def copy_sqlite(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")
    return target


def connect(url: str) -> Engine:
    return create_engine(url)


@dataclass(frozen=True)
class DemoCounts:
    tenants: int
    demo_tenants: int
    services: int
    hours: int
    holidays: int


def demo_counts(url: str) -> DemoCounts:
    engine = connect(url)
    try:
        with engine.connect() as conn:
            tenant_id = conn.scalar(select(Tenant.id).where(Tenant.slug == "demo"))

            def count(model: type, *where: object) -> int:
                query = select(func.count()).select_from(model).where(*where)
                return int(conn.scalar(query) or 0)

            return DemoCounts(
                tenants=count(Tenant),
                demo_tenants=count(Tenant, Tenant.slug == "demo"),
                services=count(Service, Service.tenant_id == tenant_id),
                hours=count(BusinessHours, BusinessHours.tenant_id == tenant_id),
                holidays=count(Holiday, Holiday.tenant_id == tenant_id),
            )
    finally:
        engine.dispose()


def table_sizes(url: str) -> dict[str, int]:
    engine = connect(url)
    try:
        with engine.connect() as conn:
            # FTS5's shadow tables (messages_fts_data, _idx, ...) keep index segments and
            # delete markers after rows go: index internals, not data left behind.
            names = [n for n in inspect(conn).get_table_names() if not n.startswith("messages_fts")]
            return {n: int(conn.scalar(text(f'SELECT count(*) FROM "{n}"')) or 0) for n in names}
    finally:
        engine.dispose()


# -- a seeded SQLite database shared by the module (copied before anything writes to it) --------


@dataclass(frozen=True)
class Seeded:
    path: Path
    runs: tuple[subprocess.CompletedProcess[str], ...]
    counts: tuple[DemoCounts, ...]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """`hablo demo --seed-only`, twice, on a fresh SQLite file."""
    cwd = tmp_path_factory.mktemp("seeded")
    path = cwd / "hablo.db"
    runs, counts = [], []
    for _ in range(2):
        runs.append(hablo("demo", "--seed-only", cwd=cwd, db_url=sqlite_url(path)))
        counts.append(demo_counts(sqlite_url(path)))
    return Seeded(path, tuple(runs), tuple(counts))


@pytest.fixture
def seeded_copy(seeded: Seeded, tmp_path: Path) -> str:
    return sqlite_url(copy_sqlite(seeded.path, tmp_path / "hablo.db"))


def test_demo_seed_only_is_idempotent(seeded: Seeded) -> None:
    for run in seeded.runs:
        assert run.returncode == 0, run.stderr
        assert "Peluquería Sol" in run.stdout
        assert "demo" in run.stdout
        assert "Traceback" not in run.stderr
    first, second = seeded.counts
    assert first == second
    assert first.tenants == 1 and first.demo_tenants == 1
    assert first.services == 5
    assert first.hours == 6
    assert first.holidays > 10  # two years of Argentine public holidays


def test_demo_seed_only_defaults_to_sqlite_in_the_working_directory(tmp_path: Path) -> None:
    result = hablo("demo", "--seed-only", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "hablo.db").exists()
    assert demo_counts(sqlite_url(tmp_path / "hablo.db")).services == 5


# -- the acceptance conversation -------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def chat_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with the demo tenant, seeded by the CLI itself."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("seeded_copy"))
    url: str = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    seed = hablo("demo", "--seed-only", cwd=tmp_path, db_url=url)
    assert seed.returncode == 0, seed.stderr
    return url


def replies(stdout: str) -> list[str]:
    """Bot replies from `hablo chat` output: "bot> " starts one, indented lines continue it."""
    out: list[str] = []
    for line in stdout.splitlines():
        if line.startswith("bot> "):
            out.append(line[len("bot> ") :])
        elif line.startswith("     ") and out:
            out[-1] += "\n" + line.strip()
    return out


def next_saturday_in_buenos_aires() -> date:
    today = datetime.now(BA).date()
    return today + timedelta(days=(5 - today.weekday()) % 7)


def test_chat_acceptance_conversation(chat_db: str, tmp_path: Path) -> None:
    saturday = next_saturday_in_buenos_aires()
    result = hablo(
        "chat",
        "--tenant",
        "demo",
        "--from",
        PHONE,
        cwd=tmp_path,
        db_url=chat_db,
        stdin="".join(f"{line}\n" for line in CONVERSATION),
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    greeting, hours, price = replies(result.stdout)  # exactly three, in order

    assert "Peluquería Sol" in greeting
    assert greeting.startswith("¡Hola!")

    assert "sábado" in hours.lower()  # "Hoy (sábado …)" on a Saturday, "el sábado …" otherwise
    engine = connect(chat_db)
    try:
        with engine.connect() as conn:
            holiday = conn.scalar(select(Holiday.name).where(Holiday.day == saturday))
    finally:
        engine.dispose()
    # Not "09:00 a 13:00" only when that Saturday happens to be a public holiday.
    assert ("feriado" in hours) if holiday else ("09:00 a 13:00" in hours), hours

    assert "$8.000" in price
    assert "Corte de pelo" in price

    assert_conversation_stored(chat_db)


def assert_conversation_stored(url: str) -> None:
    engine = connect(url)
    try:
        with engine.connect() as conn:
            tenant_id = conn.scalar(select(Tenant.id).where(Tenant.slug == "demo"))
            contact_ids = conn.scalars(
                select(Contact.id).where(Contact.tenant_id == tenant_id, Contact.phone == PHONE)
            ).all()
            assert len(contact_ids) == 1
            conversation_ids = conn.scalars(
                select(Conversation.id).where(Conversation.contact_id == contact_ids[0])
            ).all()
            assert len(conversation_ids) == 1
            rows = conn.execute(
                select(Message.sender_kind, Message.body, Message.status)
                .where(Message.conversation_id == conversation_ids[0])
                .order_by(Message.created_at)
            ).all()
            by_kind = {
                kind: [r for r in rows if r.sender_kind == kind]
                for kind in (SenderKind.CUSTOMER, SenderKind.BOT)
            }
            assert len(by_kind[SenderKind.CUSTOMER]) == 3
            assert len(by_kind[SenderKind.BOT]) == 3
            assert len(rows) == 6
            assert [r.body for r in by_kind[SenderKind.CUSTOMER]] == list(CONVERSATION)
            assert all(r.status == DeliveryStatus.SENT for r in by_kind[SenderKind.BOT])

            outbox = conn.execute(
                select(OutboxMessage.status, OutboxMessage.peer, OutboxMessage.channel).where(
                    OutboxMessage.tenant_id == tenant_id
                )
            ).all()
            assert len(outbox) == 3
            assert {(r.status, r.peer, r.channel) for r in outbox} == {
                (OutboxStatus.SENT, PHONE, "console")
            }
            inbox = conn.scalars(
                select(InboxEvent.status).where(InboxEvent.tenant_id == tenant_id)
            ).all()
            assert inbox == [InboxStatus.PROCESSED] * 3
    finally:
        engine.dispose()


def test_chat_normalises_the_phone_and_skips_blank_lines(seeded_copy: str, tmp_path: Path) -> None:
    result = hablo(
        "chat",
        "--tenant",
        "demo",
        "--from",
        "+54 9 11 5555-0000",
        cwd=tmp_path,
        db_url=seeded_copy,
        stdin="\n   \nhola\n\n",
    )
    assert result.returncode == 0, result.stderr
    assert len(replies(result.stdout)) == 1
    engine = connect(seeded_copy)
    try:
        with engine.connect() as conn:
            phones = conn.scalars(select(Contact.phone)).all()
    finally:
        engine.dispose()
    assert phones == [PHONE]


# -- errors: one line, the right exit code --------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "key"),
    [
        (("db", "current"), {"HABLO_PORT": "abc"}, "port"),
        (("chat", "--tenant", "demo"), {"HABLO_PORT": "abc"}, "port"),
        (("db", "current"), {"HABLO_ACTOR_MAX_LIVE": "0"}, "actor_max_live"),
        (("demo", "--seed-only"), {"HABLO_DATABASE_URL": "mysql://x"}, "database_url"),
        (("db", "upgrade"), {"HABLO_CHANNELS": '["fax"]'}, "channels"),
        (("db", "current"), {"HABLO_CONFIG_FILE": "missing.toml"}, "missing.toml"),
    ],
)
def test_invalid_config_is_exit_2_and_one_line(
    tmp_path: Path, args: Sequence[str], env: dict[str, str], key: str
) -> None:
    env = {"HABLO_DATABASE_URL": sqlite_url(tmp_path / "hablo.db"), **env}
    result = hablo(*args, cwd=tmp_path, env=env)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("hablo: config error:")
    assert key in line
    assert result.stdout == ""
    assert not (tmp_path / "hablo.db").exists()  # nothing was touched


@pytest.mark.parametrize(
    ("toml", "key"),
    [("bogus = 1\n", "bogus"), ("[hablo]\nport = 99999\n", "port"), ("port = [\n", "invalid TOML")],
)
def test_invalid_config_file_is_exit_2_and_one_line(tmp_path: Path, toml: str, key: str) -> None:
    (tmp_path / "hablo.toml").write_text(toml, encoding="utf-8")
    result = hablo("--config", "hablo.toml", "db", "current", cwd=tmp_path)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("hablo: config error:")
    assert key in line


def test_config_file_is_used(tmp_path: Path) -> None:
    db = tmp_path / "from-file.db"
    (tmp_path / "hablo.toml").write_text(f'[hablo]\ndatabase_url = "{sqlite_url(db)}"\n')
    result = hablo("--config", "hablo.toml", "db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert db.exists()
    assert not (tmp_path / "hablo.db").exists()


def test_unknown_tenant_is_exit_1_and_one_line(seeded_copy: str, tmp_path: Path) -> None:
    result = hablo("chat", "--tenant", "nope", cwd=tmp_path, db_url=seeded_copy, stdin="hola\n")
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert line.startswith("hablo: ")
    assert "'nope'" in line


@pytest.mark.parametrize("sender", ["banana", "12"])
def test_bad_from_is_exit_2_and_one_line(tmp_path: Path, sender: str) -> None:
    result = hablo(
        "chat",
        "--tenant",
        "demo",
        "--from",
        sender,
        cwd=tmp_path,
        db_url=sqlite_url(tmp_path / "hablo.db"),
        stdin="hola\n",
    )
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("hablo: --from:")
    assert "E.164" in line


def test_chat_with_console_channel_disabled_is_exit_2(tmp_path: Path) -> None:
    result = hablo(
        "chat",
        "--tenant",
        "demo",
        cwd=tmp_path,
        db_url=sqlite_url(tmp_path / "hablo.db"),
        env={"HABLO_CHANNELS": '["webchat"]'},
    )
    assert result.returncode == 2
    assert "console" in one_line(result.stderr)


def test_unknown_command_is_argparse_exit_2(tmp_path: Path) -> None:
    result = hablo("frobnicate", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr
    assert result.stderr.startswith("usage: hablo")


def test_missing_command_is_argparse_exit_2(tmp_path: Path) -> None:
    result = hablo(cwd=tmp_path)
    assert result.returncode == 2
    assert "required" in result.stderr


def test_missing_required_option_is_argparse_exit_2(tmp_path: Path) -> None:
    result = hablo("chat", cwd=tmp_path)
    assert result.returncode == 2
    assert "--tenant" in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///{tmp}/no/such/dir/hablo.db",
        "postgresql+psycopg://nobody@127.0.0.1:1/hablo?connect_timeout=2",
    ],
    ids=["sqlite-no-dir", "postgresql-refused"],
)
def test_unreachable_database_is_exit_1_and_one_line(tmp_path: Path, url: str) -> None:
    result = hablo("db", "current", cwd=tmp_path, db_url=url.format(tmp=tmp_path))
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert line.startswith("hablo: database error:")
    assert "database_url" in line


# -- help ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "purpose"),
    [
        ((), "WhatsApp-first bot engine"),
        (("demo",), "Set up the demo salon"),
        (("serve",), "Serve the web chat and the API"),
        (("chat",), "Chat with a tenant's bot as a customer"),
        (("db",), "upgrade to the latest migration"),
        (("plugins",), "List skill plugins"),
        (("bench",), "Drive synthetic customers through the full path"),
    ],
)
def test_help(tmp_path: Path, args: Sequence[str], purpose: str) -> None:
    result = hablo(*args, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: hablo {' '.join(args)}".rstrip())
    assert purpose in " ".join(result.stdout.split())
    if not args:
        for command in ("demo", "serve", "chat", "db", "plugins", "bench"):
            assert f"\n    {command} " in result.stdout


def test_version(tmp_path: Path) -> None:
    result = hablo("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("hablo ")


# -- plugins, db -------------------------------------------------------------------------------


def test_plugins_list(tmp_path: Path) -> None:
    result = hablo("plugins", "list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()}
    assert rows["info"][1:] == ["loaded", "hablo.skills.info:InfoSkill"]
    assert rows["pricing"][1:] == ["loaded", "hablo.skills.pricing:PricingSkill"]


def test_plugins_list_json(tmp_path: Path) -> None:
    result = hablo("plugins", "list", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(isinstance(row, dict) for row in rows)
    by_name = {row["name"]: row for row in rows}
    assert len(by_name) == len(rows)
    for name in ("info", "pricing"):
        assert by_name[name]["status"] == "loaded"
        assert by_name[name]["error"] is None
        assert by_name[name]["source"].startswith(f"hablo.skills.{name}:")


def test_db_upgrade_then_current(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "fresh.db")
    before = hablo("db", "current", cwd=tmp_path, db_url=url)
    assert before.returncode == 0, before.stderr
    assert "empty" in before.stdout
    upgrade = hablo("db", "upgrade", cwd=tmp_path, db_url=url)
    assert upgrade.returncode == 0, upgrade.stderr
    head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
    assert head is not None and head in upgrade.stdout
    current = hablo("db", "current", cwd=tmp_path, db_url=url)
    assert current.returncode == 0, current.stderr
    assert current.stdout.strip() == head
    again = hablo("db", "upgrade", cwd=tmp_path, db_url=url)  # idempotent
    assert again.returncode == 0, again.stderr


# -- bench -------------------------------------------------------------------------------------

BENCH_KEYS = {
    "msgs_per_s",
    "p50_ms",
    "p99_ms",
    "peak_rss_mb",
    "live_actors_max",
    "conversations",
    "db",
    "lost",
    "out_of_order",
}


def test_bench_small_run_on_sqlite(seeded_copy: str, tmp_path: Path) -> None:
    bench_db = seeded_copy
    before = table_sizes(bench_db)
    result = hablo(
        "bench",
        "--conversations",
        "5",
        "--messages",
        "2",
        "--wide-conversations",
        "10",
        "--rate",
        "0",
        cwd=tmp_path,
        db_url=bench_db,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    report = json.loads(lines[-1])
    assert report.keys() >= BENCH_KEYS
    assert report["db"] == "sqlite"
    assert report["lost"] == 0
    assert report["out_of_order"] == 0
    assert report["conversations"] == 15
    assert report["msgs_per_s"] > 0
    assert 0 < report["p50_ms"] <= report["p99_ms"]
    assert report["peak_rss_mb"] > 0
    assert 1 <= report["live_actors_max"] <= 15
    assert any(line.startswith("phase 1:") for line in lines[:-1])
    assert any(line.startswith("phase 2:") for line in lines[:-1])
    # Nothing left behind: every table holds exactly what it held before.
    assert table_sizes(bench_db) == before


def test_serve_answers_an_overlong_url_with_the_json_414(seeded_copy: str, tmp_path: Path) -> None:
    """`hablo serve` itself (not the tests' own runner) gives the parser room for long
    URLs, so the API's JSON 414 answers them, and logs no warning per connection."""
    import socket
    import time

    import requests

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("HABLO_")}
    environ.update(HABLO_DATABASE_URL=seeded_copy, HABLO_PORT=str(port))
    server = subprocess.Popen(
        [*HABLO, "serve"],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/healthz", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        response = requests.get(base + "/api/services?q=" + "x" * 12_000, timeout=10)
        assert response.status_code == 414
        assert response.json()["error"]["code"] == "uri_too_long"
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert "handler_args" not in stderr and "Warning" not in stderr, stderr
