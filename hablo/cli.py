"""The `hablo` command."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from hablo import __version__
from hablo.config import ConfigError, Settings, load_settings
from hablo.db.enums import BookingStatus


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code 1 (2 for usage/config)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("host", "port"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return load_settings(getattr(args, "config", None), **overrides)


def _tenant_id(runtime: Any, slug: str) -> uuid.UUID:
    from sqlalchemy import select

    from hablo.db.models import Tenant

    with runtime.db.transaction() as session:
        found = session.scalars(select(Tenant.id).where(Tenant.slug == slug)).one_or_none()
    if found is None:
        raise CliError(f"no tenant with slug {slug!r} (run `hablo demo --seed-only` for 'demo')")
    return found


# -- commands ------------------------------------------------------------------------------


def cmd_db(args: argparse.Namespace) -> int:
    from hablo.db import migrate

    settings = _settings(args)
    if args.action == "upgrade":
        migrate.upgrade(settings.database_url)
        print(f"database at revision {migrate.current_revision(settings.database_url)}")
    else:
        print(migrate.current_revision(settings.database_url) or "empty (run `hablo db upgrade`)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hablo.bootstrap import bootstrap, configure_logging
    from hablo.demo import seed_demo

    settings = _settings(args)
    configure_logging(settings)
    runtime = bootstrap(settings)
    with runtime.db.transaction() as session:
        seed_demo(session)
    print(f"demo tenant 'Peluquería Sol' (slug demo) ready in {_db_label(settings)}")
    if args.seed_only:
        runtime.db.dispose()
        return 0
    return _serve(runtime)


def cmd_serve(args: argparse.Namespace) -> int:
    from hablo.bootstrap import bootstrap, configure_logging

    settings = _settings(args)
    configure_logging(settings)
    return _serve(bootstrap(settings))


def _serve(runtime: Any) -> int:
    from hablo.api.server import run_server

    settings = runtime.settings
    base = f"http://{settings.host}:{settings.port}"
    print(f"web chat:  {base}/chat/demo")
    print(f"health:    {base}/healthz")
    print("press Ctrl+C to stop")
    sys.stdout.flush()
    run_server(runtime)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from hablo.adapters.console import ConsoleSender, run_console
    from hablo.bootstrap import bootstrap
    from hablo.engine.store import normalize_phone

    settings = _settings(args)
    if "console" not in settings.channels:
        raise CliError("the console channel is disabled (HABLO_CHANNELS)", code=2)
    try:
        peer = normalize_phone(args.sender)
    except ValueError as exc:
        raise CliError(f"--from: {exc} (use E.164, e.g. +5491155550000)", code=2) from exc
    runtime = bootstrap(settings)
    try:
        tenant_id = _tenant_id(runtime, args.tenant)
        runtime.engine.add_sender(ConsoleSender(sys.stdout))
        runtime.start()
        interactive = sys.stdin.isatty()
        if interactive:
            print(f"chatting with {args.tenant} as {peer}; Ctrl+D to quit")
        run_console(runtime.engine, tenant_id, peer, _prompted_lines(interactive))
    finally:
        runtime.close()
    return 0


def _prompted_lines(interactive: bool) -> Any:
    if not interactive:
        yield from sys.stdin
        return
    while True:
        try:
            yield input("you> ")
        except EOFError:
            print()
            return


def cmd_plugins(args: argparse.Namespace) -> int:
    from hablo.plugins.loader import SkillRegistry

    registry = SkillRegistry.discover()
    rows = [s.__dict__ for s in registry.statuses]
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    for row in rows:
        error = f"  {row['error']}" if row["error"] else ""
        print(f"{row['name']:<16} {row['status']:<7} {row['source']}{error}")
    return 0


def cmd_bookings(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from sqlalchemy import select
    from sqlalchemy.exc import ProgrammingError

    from hablo.db.database import Database
    from hablo.db.models import Contact, Tenant
    from hablo.skills.booking.policy import BookingPolicy
    from hablo.skills.booking.repository import BookingRepository

    db = Database(_settings(args).database_url, pool_size=1)
    try:
        with db.begin() as conn:
            tenant = conn.execute(
                select(Tenant.id, Tenant.timezone).where(Tenant.slug == args.tenant)
            ).one_or_none()
            if tenant is None:
                raise CliError(f"no tenant with slug {args.tenant!r}")
            zone = ZoneInfo(tenant.timezone)
            # Listing needs no policy: the defaults stand in for the tenant's settings.
            repo = BookingRepository(conn, tenant.id, BookingPolicy(), zone)
            bookings = repo.list_all(args.status)
            contacts = {
                row.id: row
                for row in conn.execute(
                    select(Contact.id, Contact.name, Contact.phone).where(
                        Contact.tenant_id == tenant.id,
                        Contact.id.in_({b.contact_id for b in bookings}),
                    )
                )
            }
    except ProgrammingError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise CliError(f"database error: {first} (run `hablo db upgrade`)") from exc
    finally:
        db.dispose()
    rows = []
    for b in bookings:
        contact = contacts.get(b.contact_id)
        rows.append(
            {
                "id": str(b.id),
                "service": b.service_name,
                "start": b.local_start(zone).isoformat(),
                "end": b.local_end(zone).isoformat(),
                "status": b.status.value,
                "contact": {
                    "id": str(b.contact_id),
                    "name": contact.name if contact else "",
                    "phone": contact.phone if contact else None,
                },
            }
        )
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    if not rows:
        print(f"no bookings for {args.tenant}")
        return 0
    print(f"{'start':<17} {'end':<5} {'status':<10} {'service':<20} {'contact':<24} id")
    for row, b in zip(rows, bookings, strict=True):
        person = contacts.get(b.contact_id)
        who = " ".join(x for x in (person.name, person.phone or "") if x) if person else ""
        start, end = b.local_start(zone), b.local_end(zone)
        print(
            f"{start:%Y-%m-%d %H:%M} {end:%H:%M} {row['status']:<10} "
            f"{b.service_name[:20]:<20} {who[:24]:<24} {row['id']}"
        )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from hablo.bench import BenchOptions, run_bench

    settings = _settings(args)
    try:
        options = BenchOptions(
            conversations=args.conversations,
            messages=args.messages,
            wide_conversations=args.wide_conversations,
            rate=args.rate,
            drivers=args.drivers,
        )
    except ValueError as exc:
        raise CliError(str(exc), code=2) from exc
    report = run_bench(settings, options, progress=lambda line: print(line, flush=True))
    print(json.dumps(report, ensure_ascii=False))
    return 0 if report["lost"] == 0 and report["out_of_order"] == 0 else 1


def cmd_nlu(args: argparse.Namespace) -> int:
    from hablo.db.database import Database
    from hablo.engine.nlu.evaluation import EvalInputError, load_cases, run_evaluation

    try:
        load_cases(args.file)  # a bad file fails before the database is touched
    except EvalInputError as exc:
        raise CliError(str(exc), code=2) from exc
    settings = _settings(args)
    db = Database(settings.database_url, pool_size=1)
    try:
        if not _has_schema(db):
            raise CliError(
                f"no hablo schema in {_db_label(settings)} (run `hablo demo --seed-only`)"
            )
        report = run_evaluation(
            db, args.tenant, args.file, args.now, threshold=settings.nlu_threshold
        )
    except EvalInputError as exc:
        raise CliError(str(exc), code=2) from exc
    except LookupError as exc:
        raise CliError(f"{exc} (run `hablo demo --seed-only` for 'demo')") from exc
    finally:
        db.dispose()
    for line in report.lines():
        print(line)
    return 0


def _has_schema(db: Any) -> bool:
    from sqlalchemy import inspect

    from hablo.db.models import Tenant

    return bool(inspect(db.engine).has_table(Tenant.__tablename__))


def _db_label(settings: Settings) -> str:
    url = settings.database_url
    return url.split("@")[-1] if "@" in url else url


# -- parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hablo",
        description="hablo: a WhatsApp-first bot engine for small businesses. "
        "Settings come from HABLO_* environment variables or a TOML file (--config).",
    )
    parser.add_argument("--version", action="version", version=f"hablo {__version__}")
    parser.add_argument("--config", help="TOML settings file (also HABLO_CONFIG_FILE)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str) -> Any:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    demo = add("demo", cmd_demo, "Set up the demo salon and serve the web chat and the API.")
    demo.add_argument("--seed-only", action="store_true", help="set up the demo tenant and exit")
    demo.add_argument("--host", help="listen address (default 127.0.0.1)")
    demo.add_argument("--port", type=int, help="listen port (default 8080)")

    serve = add("serve", cmd_serve, "Serve the web chat and the API for all tenants.")
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default 8080)")

    chat = add("chat", cmd_chat, "Chat with a tenant's bot as a customer, from the terminal.")
    chat.add_argument("--tenant", required=True, help="tenant slug, e.g. demo")
    chat.add_argument(
        "--from", dest="sender", default="+5491100000000", help="customer phone (E.164)"
    )

    db = add("db", cmd_db, "Database schema: upgrade to the latest migration, or show it.")
    db.add_argument("action", choices=["upgrade", "current"])

    plugins = add("plugins", cmd_plugins, "List skill plugins and whether they loaded.")
    plugins.add_argument("action", choices=["list"])
    plugins.add_argument("--json", action="store_true", help="one JSON object per plugin")

    bookings = add("bookings", cmd_bookings, "List a tenant's bookings (times in its zone).")
    bookings.add_argument("action", choices=["list"])
    bookings.add_argument("--tenant", required=True, help="tenant slug, e.g. demo")
    bookings.add_argument("--status", choices=[s.value for s in BookingStatus], help="only these")
    bookings.add_argument("--json", action="store_true", help="one JSON object per booking")

    nlu = add(
        "nlu",
        cmd_nlu,
        "Evaluate a tenant's NLU on a labelled JSONL file; prints per-intent figures and, "
        "last, one JSON line.",
    )
    nlu.add_argument("action", choices=["eval"])
    nlu.add_argument(
        "file", help='JSONL: {"text", "lang", "intent", optional "service", "when"} per line'
    )
    nlu.add_argument("--tenant", default="demo", help="tenant slug (default demo)")
    nlu.add_argument(
        "--now",
        help="the current local time in the tenant's zone, e.g. 2027-03-10T12:00 (default: now)",
    )

    bench = add(
        "bench",
        cmd_bench,
        "Drive synthetic customers through the full path; prints figures and, last, one JSON line.",
    )
    bench.add_argument("--conversations", type=int, default=1000, help="phase 1 conversations")
    bench.add_argument("--messages", type=int, default=5, help="messages per conversation")
    bench.add_argument(
        "--wide-conversations",
        type=int,
        default=10000,
        help="phase 2: conversations touched once each (0 skips)",
    )
    bench.add_argument(
        "--rate",
        type=float,
        default=600.0,
        help="offered load in messages/s (0 = as fast as possible)",
    )
    bench.add_argument("--drivers", type=int, default=4, help="submitting threads")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except ConfigError as exc:
        print(f"hablo: config error: {exc}", file=sys.stderr)
        return 2
    except CliError as exc:
        print(f"hablo: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        detail = _database_unavailable(exc)
        if detail is None:
            raise
        print(f"hablo: database error: {detail} (check the database_url setting)", file=sys.stderr)
        return 1


def _database_unavailable(exc: Exception) -> str | None:
    """First line of a database that cannot be opened or reached; None for anything else."""
    if "sqlalchemy" not in sys.modules:  # not imported: cannot be a database error
        return None
    from sqlalchemy.exc import OperationalError

    if not isinstance(exc, OperationalError):
        return None
    lines = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
