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
