"""The `hablo` command."""

from __future__ import annotations

import argparse
import json
import os
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
    from hablo.bootstrap import migration_timeouts
    from hablo.db import migrate

    settings = _settings(args)
    if args.action == "upgrade":
        migrate.upgrade(settings.database_url, timeouts=migration_timeouts(settings))
        print(f"database at revision {migrate.current_revision(settings.database_url)}")
    else:
        print(migrate.current_revision(settings.database_url) or "empty (run `hablo db upgrade`)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hablo.bootstrap import bootstrap
    from hablo.demo import seed_demo, seed_demo_owner
    from hablo.observability import configure_logging

    settings = _settings(args)
    configure_logging(settings)
    runtime = bootstrap(settings)
    with runtime.db.transaction() as session:
        seed_demo(session)
        owner_email, owner_password = seed_demo_owner(session, settings.state_dir)
    print(f"demo tenant 'Peluquería Sol' (slug demo) ready in {_db_label(settings)}")
    _print_demo_owner(settings, owner_email, owner_password)
    if args.seed_only:
        runtime.db.dispose()
        return 0
    return _serve(runtime)


def _print_demo_owner(settings: Settings, email: str, password: str | None) -> None:
    shown = password or f"(changed; {settings.state_dir}/demo-owner-password is gone)"
    print(f"API login: {email} / {shown}")
    if settings.smtp_host:
        print(f"           the second-factor code is mailed through {settings.smtp_host}")
    else:
        print(f"           the second-factor code lands in {settings.state_dir}/mail/:")
        print("           read it with `hablo mail last` (see README, 'Calling the API')")


def cmd_api(args: argparse.Namespace) -> int:
    from hablo.api.permissions import markdown_table

    if args.action == "permissions":
        print(markdown_table())
        return 0
    if args.action == "signing-key":
        from hablo.security.tokens import add_signing_key

        folder = _settings(args).jwt_keys_dir
        if folder is None:
            raise CliError("set HABLO_JWT_KEYS_DIR: the folder the servers load signing keys from")
        kid = add_signing_key(folder)
        print(json.dumps({"kid": kid, "folder": str(folder), "restart": "needed"}))
        return 0
    from hablo.api.openapi import build_document
    from hablo.api.routes import all_routes

    endpoints = [e for group in all_routes() for e in group.endpoints]
    print(json.dumps(build_document(endpoints, version=__version__), indent=2, ensure_ascii=False))
    return 0


def cmd_secrets(args: argparse.Namespace) -> int:
    from hablo.security.secrets import SecretBox, generate_key_spec

    if args.action == "new-key":
        print(generate_key_spec(args.key_id))
        return 0
    from hablo.db.database import Database
    from hablo.reseal import reseal_all

    settings = _settings(args)
    box = SecretBox.from_config(settings.secret_keys, settings.state_dir)
    db = Database(settings.database_url, pool_size=1)
    try:
        with db.transaction() as session:
            moved = reseal_all(session, box)
    finally:
        db.dispose()
    print(json.dumps({"current_key": box.current_key_id, "resealed": dict(moved)}))
    return 0


def cmd_admin(args: argparse.Namespace) -> int:
    """Create a platform super admin; the password is read from standard input."""
    from hablo.db.database import Database
    from hablo.security.platform_admin import AdminRefused, create_super_admin

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("password for the new super admin: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    settings = _settings(args)
    db = Database(settings.database_url, pool_size=1)
    try:
        with db.transaction() as session:
            user = create_super_admin(session, args.email, args.first_name, password)
            created = {"id": str(user.id), "email": user.email, "role": user.role.value}
    except AdminRefused as exc:
        raise CliError(str(exc)) from exc
    finally:
        db.dispose()
    print(json.dumps(created))
    return 0


def cmd_mail(args: argparse.Namespace) -> int:
    from hablo.notify.mailer import FileMailer, mail_folder

    settings = _settings(args)
    folder = mail_folder(settings)
    newest = FileMailer(settings.mail_from, folder).newest()
    if newest is None:
        raise CliError(f"no mail in {folder} yet (mails go there when smtp_host is not set)")
    import email
    from email.message import EmailMessage
    from email.policy import default

    message = email.message_from_bytes(newest.read_bytes(), policy=default)
    print(f"# {newest}")
    for header in ("From", "To", "Date", "Subject"):
        print(f"{header}: {message.get(header, '')}")
    body = message.get_body(("plain",)) if isinstance(message, EmailMessage) else None
    print()
    print(body.get_content() if body is not None else message.get_payload())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from hablo.bootstrap import bootstrap
    from hablo.observability import configure_logging

    settings = _settings(args)
    configure_logging(settings)
    return _serve(bootstrap(settings))


def cmd_worker(args: argparse.Namespace) -> int:
    from hablo.bootstrap import bootstrap
    from hablo.observability import configure_logging
    from hablo.worker.process import run_worker
    from hablo.worker.tier import TierConfigError, check_tier_settings

    settings = _settings(args)
    if settings.router != "redis":
        raise CliError("a worker needs router = 'redis' (HABLO_ROUTER=redis)", code=2)
    try:
        check_tier_settings(settings)
    except TierConfigError as exc:
        raise CliError(str(exc), code=2) from exc
    configure_logging(settings)
    if settings.worker_metrics_port is not None:
        from hablo.engine.metrics import serve_worker_metrics

        serve_worker_metrics(settings.worker_metrics_host, settings.worker_metrics_port)
    run_worker(
        bootstrap(settings),
        ready=lambda worker_id: print(f"worker {worker_id} running; Ctrl+C to stop", flush=True),
    )
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime
    from pathlib import Path

    from hablo.lifecycle.backup import BackupError, backup, default_name

    settings = _settings(args)
    out = Path(args.out) if args.out else default_name(datetime.now(UTC))
    try:
        manifest = backup(settings, out)
    except BackupError as exc:
        raise CliError(str(exc)) from None
    summary = {"file": str(out), "bytes": out.stat().st_size}
    print(json.dumps({**summary, **_manifest_summary(manifest)}))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hablo.db import migrate
    from hablo.lifecycle.backup import BackupError, restore

    settings = _settings(args)
    try:
        manifest = restore(settings, Path(args.file), replace=args.yes)
    except BackupError as exc:
        raise CliError(str(exc)) from None
    revision = migrate.current_revision(settings.database_url)
    print(json.dumps({**_manifest_summary(manifest), "migrated_to": revision}))
    return 0


def _manifest_summary(manifest: Any) -> dict[str, Any]:
    return {
        "database": manifest.database,
        "revision": manifest.revision,
        "media_files": manifest.media_files,
        "created_at": manifest.created_at,
    }


def _serve(runtime: Any) -> int:
    from hablo.api.server import run_server
    from hablo.api.shutdown import ListenError

    settings = runtime.settings
    if settings.router == "redis":
        from hablo.worker.tier import TierConfigError, check_tier_settings

        try:
            check_tier_settings(settings)
        except TierConfigError as exc:
            raise CliError(str(exc), code=2) from exc
    base = f"http://{settings.host}:{settings.port}"
    print(f"web chat:  {base}/chat/demo")
    print(f"console:   {base}/app")
    print(f"health:    {base}/healthz")
    print(f"API docs:  {base}/docs")
    print("press Ctrl+C to stop")
    sys.stdout.flush()
    try:
        run_server(runtime)
    except ListenError as exc:
        raise CliError(str(exc)) from exc
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from hablo.adapters.console import CHANNEL as CONSOLE
    from hablo.adapters.console import ConsoleSender, run_console
    from hablo.bootstrap import bootstrap
    from hablo.engine.messages import ConversationKey
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
        engine = runtime.engine
        engine.add_sender(ConsoleSender(sys.stdout))
        # A server may run on the same database: this tool recovers and sends only its
        # own conversation's work and runs no periodic jobs (reminders, recounts).
        own = ConversationKey(tenant_id, CONSOLE, peer)
        engine.scope = own.__eq__
        engine.runs_jobs = lambda: False
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


def cmd_skills(args: argparse.Namespace) -> int:
    from hablo.cli_skills import SkillsCliError, run

    try:
        return run(args, _settings(args))
    except SkillsCliError as exc:
        raise CliError(str(exc), code=exc.code) from None


def cmd_skill(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hablo.plugins.loader import SkillRegistry

    if args.action == "serve":
        return _serve_skill(args)
    from hablo.plugins.scaffold import ScaffoldError, new_skill_package

    taken = {status.name for status in SkillRegistry.discover().statuses}
    target = Path(args.dir or "hablo-" + args.name.replace("_", "-"))
    try:
        files = new_skill_package(args.name, target, taken)
    except ScaffoldError as exc:
        raise CliError(str(exc), code=2) from None
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror or exc}") from None
    for path in files:
        print(target / path)
    return 0


def _serve_skill(args: argparse.Namespace) -> int:
    """`hablo skill serve PACKAGE:Class`: the skill as a remote skill endpoint."""
    from hablo.cli_skill_serve import ServeError, serve

    try:
        serve(args.name, args.host, args.port, os.environ.get(args.secret_env), print)
    except ServeError as exc:
        raise CliError(str(exc), code=2) from None
    return 0


def cmd_bookings(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from sqlalchemy import select
    from sqlalchemy.exc import ProgrammingError

    from hablo.db.database import Database
    from hablo.db.models import Contact, Tenant
    from hablo.domain.booking.policy import BookingPolicy
    from hablo.domain.booking.repository import BookingRepository

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
            workers=args.workers,
            kill_one=args.kill_one,
        )
        if options.workers:
            from hablo.worker.tier import check_tier_settings

            check_tier_settings(settings)
    except ValueError as exc:
        raise CliError(str(exc), code=2) from exc
    report = run_bench(settings, options, progress=lambda line: print(line, flush=True))
    print(json.dumps(report, ensure_ascii=False))
    clean = report["lost"] == 0 and report["out_of_order"] == 0
    return 0 if clean and not report.get("duplicated") and not report.get("kill_duplicated") else 1


def cmd_nlu(args: argparse.Namespace) -> int:
    from hablo.db.database import Database
    from hablo.engine.nlu.evaluation import EvalInputError, load_cases, run_evaluation

    if args.action == "train":
        return _nlu_train(args)
    if args.file is None:
        raise CliError("nlu eval: the JSONL file is required", code=2)
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
        llm_line = None
        if args.llm_base_url or args.llm_model:
            report, llm_line = _llm_evaluation(db, args, settings)
        else:
            report = run_evaluation(
                db, args.tenant, args.file, args.now, threshold=settings.nlu_threshold
            )
    except EvalInputError as exc:
        raise CliError(str(exc), code=2) from exc
    except LookupError as exc:
        raise CliError(f"{exc} (run `hablo demo --seed-only` for 'demo')") from exc
    finally:
        db.dispose()
    lines = report.lines()
    if llm_line:  # before the JSON line, which stays last (scripts read the last line)
        lines.insert(len(lines) - 1, llm_line)
    for line in lines:
        print(line)
    return 0


def _nlu_train(args: argparse.Namespace) -> int:
    """Train and store the NLU models a tenant (or every tenant) is served with, or
    regenerate the shipped weights of the built-in training set (--builtin)."""
    from hablo.engine.nlu.pipeline import ClassifierCache
    from hablo.engine.skillset import builtin_training_set
    from hablo.plugins.loader import SkillRegistry

    if args.builtin:
        from hablo.engine.nlu.model_store import model_key, write_builtin_model
        from hablo.engine.nlu.training import train_arrays

        examples = builtin_training_set(SkillRegistry.discover())
        key = model_key(examples)
        path = write_builtin_model(key, train_arrays(examples))
        print(json.dumps({"model": key, "examples": len(examples), "written": str(path)}))
        return 0
    from sqlalchemy import select

    from hablo.bootstrap import bootstrap
    from hablo.db.models import Tenant
    from hablo.engine.nlu.model_store import DbModelStore
    from hablo.engine.skillset import enabled_skills, tenant_training_set
    from hablo.engine.tenant_profile import load_profile

    settings = _settings(args)
    runtime = bootstrap(settings)
    try:
        cache = ClassifierCache(
            settings.nlu_threshold, DbModelStore(runtime.db), wait_for_exact=True
        )
        ids = None if args.all else [_tenant_id(runtime, args.tenant)]
        with runtime.db.transaction() as session:
            if ids is None:
                ids = list(session.scalars(select(Tenant.id).order_by(Tenant.slug)))
            profiles = [load_profile(session, tenant_id) for tenant_id in ids]
        for profile in profiles:
            examples = tenant_training_set(profile, enabled_skills(runtime.registry, profile))
            key, status = cache.train(examples)
            print(json.dumps({"tenant": profile.info.slug, "model": key, "status": status}))
    finally:
        runtime.db.dispose()
    return 0


def _llm_evaluation(db: Any, args: argparse.Namespace, settings: Settings) -> tuple[Any, str]:
    """The same evaluation, understood through LLM mode against a configured server."""
    from hablo.llm.evaluate import run_llm_evaluation

    report, stats = run_llm_evaluation(
        db,
        args.tenant,
        args.file,
        args.now,
        settings=settings,
        base_url=args.llm_base_url or settings.llm_default_base_url,
        model=args.llm_model or settings.llm_default_model,
        api_key=_api_key(args.llm_api_key_env, stdin=False) or "",
    )
    return report, stats.line()


def _api_key(env_var: str | None, *, stdin: bool) -> str | None:
    """A key from a named environment variable or stdin, never from argv (argv is visible
    to every user of the machine in `ps`)."""
    import os

    if env_var:
        value = os.environ.get(env_var, "").strip()
        if not value:
            raise CliError(f"environment variable {env_var} is not set or empty", code=2)
        return value
    if stdin:
        value = sys.stdin.readline().strip()
        if not value:
            raise CliError("no API key on stdin", code=2)
        return value
    return None


def cmd_llm(args: argparse.Namespace) -> int:
    from pydantic import ValidationError
    from sqlalchemy import select

    from hablo.db.base import utcnow
    from hablo.db.database import Database
    from hablo.db.models import AuditLog, LlmMonthlyUsage, Tenant
    from hablo.llm.budget import month_of
    from hablo.llm.config import SETTINGS_KEY, TenantLlmConfig, updated_settings
    from hablo.security.secrets import SecretBox

    settings = _settings(args)
    api_key = _api_key(args.api_key_env, stdin=args.api_key_stdin) if args.action == "set" else None
    db = Database(settings.database_url, pool_size=1)
    try:
        if not _has_schema(db):
            raise CliError(f"no hablo schema in {_db_label(settings)} (run `hablo db upgrade`)")
        with db.transaction() as session:
            tenant = session.scalars(select(Tenant).where(Tenant.slug == args.tenant)).one_or_none()
            if tenant is None:
                raise CliError(f"no tenant with slug {args.tenant!r}")
            if args.action == "set":
                changes = {
                    "base_url": args.base_url,
                    "model": args.model,
                    "temperature": args.temperature,
                    "max_tokens": args.max_tokens,
                    "timeout_s": args.timeout_s,
                    "monthly_token_budget": args.monthly_token_budget,
                    "history_tokens": args.history_tokens,
                    "enabled": False if args.disable else (True if args.enable else None),
                }
                box = SecretBox.from_config(settings.secret_keys, settings.state_dir)
                try:
                    tenant.settings = updated_settings(
                        tenant.settings or {}, tenant.id, box, changes, api_key
                    )
                except ValidationError as exc:
                    error = exc.errors()[0]
                    where = ".".join(str(p) for p in error["loc"]) or "llm"
                    raise CliError(f"{where}: {error['msg']}", code=2) from None
                config = TenantLlmConfig.from_settings(tenant.settings)
                assert config is not None
                public = config.public()
                session.add(
                    AuditLog(
                        tenant_id=tenant.id,
                        action="llm.config_set",
                        entity="tenant",
                        entity_id=str(tenant.id),
                        changes={**public, "api_key": "changed" if api_key else "unchanged"},
                    )
                )
            else:
                config = TenantLlmConfig.from_settings(tenant.settings or {})
                public = config.public() if config else {"configured": False}
            usage = session.scalars(
                select(LlmMonthlyUsage).where(
                    LlmMonthlyUsage.tenant_id == tenant.id,
                    LlmMonthlyUsage.month == month_of(utcnow()),
                )
            ).one_or_none()
            public["month_tokens_used"] = (
                usage.prompt_tokens + usage.completion_tokens if usage else 0
            )
            if config is not None:
                public["month_token_budget"] = config.budget_for(tenant.plan)
            public["defaults"] = {
                "model": settings.llm_default_model,
                "base_url": settings.llm_default_base_url,
            }
    finally:
        db.dispose()
    print(json.dumps({"tenant": args.tenant, SETTINGS_KEY: public}, ensure_ascii=False))
    if args.action == "set":
        print("a running server uses it once the tenant is reloaded (or restarted)")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    """`hablo test dialogues`: conversation tests on a scratch copy of a tenant."""
    from hablo.testing.dialogue_file import DialogueFileError, load_skill_config
    from hablo.testing.dialogue_report import report_lines
    from hablo.testing.dialogue_runner import run_dialogue_tests
    from hablo.testing.scratch import SetupError

    try:
        configs = dict(load_skill_config(spec) for spec in args.skill_config or ())
        results = run_dialogue_tests(
            _settings(args),
            args.paths,
            tenant=args.tenant,
            now=args.now,
            name_filter=args.k,
            skills=args.skill or (),
            skill_configs=configs,
        )
    except (DialogueFileError, SetupError) as exc:
        raise CliError(str(exc), code=2) from exc
    lines = report_lines(results, as_json=args.json)
    for line in lines:
        print(line)
    return 0 if all(r.passed for r in results) else 1


def cmd_tenant(args: argparse.Namespace) -> int:
    """A whole business as a YAML file: import creates or updates the tenant to match it
    (the file is validated in full first: nothing is written when a key is wrong)."""
    from datetime import datetime
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from hablo.db.database import Database
    from hablo.tenancy.tenant_file import (
        TenantFileError,
        dump,
        export_tenant,
        import_tenant,
        parse,
    )

    if args.action == "import":
        try:
            text = Path(args.target).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {args.target}: {exc}", code=2) from exc
        try:
            data = parse(text)
        except TenantFileError as exc:
            raise CliError(f"{args.target}: {exc}", code=2) from exc
    settings = _settings(args)
    db = Database(settings.database_url, pool_size=1)
    try:
        if not _has_schema(db):
            raise CliError(f"no hablo schema in {_db_label(settings)} (run `hablo db upgrade`)")
        with db.transaction() as session:
            if args.action == "import":
                today = datetime.now(ZoneInfo(data.time_zone)).date()
                tenant = import_tenant(session, data, today)
                print(json.dumps({"tenant": tenant.slug, "id": str(tenant.id)}))
                return 0
            zone = _tenant_zone(session, args.target)
            try:
                document = export_tenant(session, args.target, datetime.now(zone).date())
            except ValueError as exc:  # e.g. booking rules stored by hand that do not validate
                raise CliError(f"cannot export {args.target}: {exc}") from exc
    finally:
        db.dispose()
    sys.stdout.write(dump(document))
    return 0


def _tenant_zone(session: Any, slug: str) -> Any:
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from hablo.db.models import Tenant

    zone = session.scalars(select(Tenant.timezone).where(Tenant.slug == slug)).one_or_none()
    if zone is None:
        raise CliError(f"no tenant with slug {slug!r}")
    return ZoneInfo(zone)


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

    add(
        "worker",
        cmd_worker,
        "Run conversations for the edge (`hablo serve`) with router = 'redis': holds a fair "
        "share of the shards, takes over those of a worker that died (docs/scaling.md).",
    )

    chat = add("chat", cmd_chat, "Chat with a tenant's bot as a customer, from the terminal.")
    chat.add_argument("--tenant", required=True, help="tenant slug, e.g. demo")
    chat.add_argument(
        "--from", dest="sender", default="+5491100000000", help="customer phone (E.164)"
    )

    mail = add("mail", cmd_mail, "Mail written to the state folder (no SMTP): show the newest.")
    mail.add_argument("action", choices=["last"])

    api = add(
        "api",
        cmd_api,
        "The management API's permission table (Markdown) or OpenAPI document (JSON); "
        "signing-key adds a token signing key to HABLO_JWT_KEYS_DIR and makes it current "
        "(older keys keep verifying; restart the servers to load it).",
    )
    api.add_argument("action", choices=["permissions", "openapi", "signing-key"])

    secrets = add(
        "secrets",
        cmd_secrets,
        "Secrets at rest: print a new AES-256 key for HABLO_SECRET_KEYS, or reseal every "
        "stored secret with the current (first) key after a rotation.",
    )
    secrets.add_argument("action", choices=["new-key", "reseal"])
    secrets.add_argument("--key-id", help="new-key: the key id (default: random)")

    admin = add(
        "admin",
        cmd_admin,
        "Create a platform super admin (belongs to no tenant; manages all of them through "
        "/api/admin). The password is read from standard input.",
    )
    admin.add_argument("action", choices=["create"])
    admin.add_argument("--email", required=True, help="the admin's e-mail (login and 2FA codes)")
    admin.add_argument("--first-name", default="Admin", help="shown in the audit log and mails")

    tenant = add(
        "tenant",
        cmd_tenant,
        "A business as one YAML file (README 'Your business as a file'): `import FILE` "
        "creates the tenant or updates it to match (the same file twice changes nothing; "
        "a bad key is named, exit 2, nothing written); `export SLUG` prints it.",
    )
    tenant.add_argument("action", choices=["import", "export"])
    tenant.add_argument("target", metavar="FILE_OR_SLUG", help="import: the file; export: slug")

    backup = add(
        "backup",
        cmd_backup,
        "Back up the database and the uploaded media files into one archive (pg_dump for "
        "PostgreSQL, SQLite's online backup API); safe while servers run "
        "(docs/operations.md 'Backups and retention').",
    )
    backup.add_argument(
        "--out", metavar="FILE", help="the archive (default: ./hablo-backup-<UTC time>.tar.gz)"
    )
    restore = add(
        "restore",
        cmd_restore,
        "Replace the database and the media files with a backup's, then migrate to this "
        "version's schema. Stop the servers and workers first.",
    )
    restore.add_argument("file", metavar="FILE", help="an archive written by `hablo backup`")
    restore.add_argument(
        "--yes", action="store_true", help="replace a database that holds data (all of it)"
    )

    db = add("db", cmd_db, "Database schema: upgrade to the latest migration, or show it.")
    db.add_argument("action", choices=["upgrade", "current"])

    plugins = add("plugins", cmd_plugins, "List skill plugins and whether they loaded.")
    plugins.add_argument("action", choices=["list"])
    plugins.add_argument("--json", action="store_true", help="one JSON object per plugin")

    skills = add(
        "skills",
        cmd_skills,
        "Which installed skills a business runs: list (status, intents, on/off, config "
        "problems); enable, disable or configure one, validated by the skill's config "
        "model. Running servers and workers pick the change up within seconds.",
    )
    skills.add_argument("action", choices=["list", "enable", "disable", "config"])
    skills.add_argument("name", nargs="?", metavar="SKILL", help="the skill (not for list)")
    skills.add_argument("--tenant", required=True, help="tenant slug, e.g. demo")
    skills.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="enable/config: a config field, merged into the stored config (repeatable; "
        "VALUE is read as JSON when it parses: 75, true, [1, 2]; else as text)",
    )
    skills.add_argument(
        "--config",
        dest="config_file",
        metavar="FILE",
        help="enable/config: the whole config as a YAML or JSON mapping (replaces the stored one)",
    )
    skills.add_argument("--json", action="store_true", help="list: one JSON object per skill")

    skill = add(
        "skill",
        cmd_skill,
        "Write a new skill package (`new NAME`): pyproject with the entry point, the skill "
        "with its config model and templates, unit and dialogue tests that pass as written. "
        "Or run a skill class as a remote skill endpoint for a business to register "
        "(`serve PACKAGE.MODULE:Class --port N`; docs/writing-a-skill.md).",
    )
    skill.add_argument("action", choices=["new", "serve"])
    skill.add_argument(
        "name",
        metavar="NAME",
        help="new: the skill's name, e.g. wifi or gift_cards; serve: PACKAGE.MODULE:Class",
    )
    skill.add_argument("--dir", help="new: where to write it (default: ./hablo-NAME)")
    skill.add_argument("--port", type=int, default=8765, help="serve: the port (default 8765)")
    skill.add_argument("--host", default="127.0.0.1", help="serve: the address to listen on")
    skill.add_argument(
        "--secret-env",
        default="HABLO_SKILL_SECRET",
        metavar="VAR",
        help="serve: the environment variable holding the signing secret (32+ characters, "
        "the one registered with the skill; default HABLO_SKILL_SECRET)",
    )

    bookings = add("bookings", cmd_bookings, "List a tenant's bookings (times in its zone).")
    bookings.add_argument("action", choices=["list"])
    bookings.add_argument("--tenant", required=True, help="tenant slug, e.g. demo")
    bookings.add_argument("--status", choices=[s.value for s in BookingStatus], help="only these")
    bookings.add_argument("--json", action="store_true", help="one JSON object per booking")

    nlu = add(
        "nlu",
        cmd_nlu,
        "The local NLU. eval FILE: score a tenant's NLU on a labelled JSONL file; prints "
        "per-intent figures and, last, one JSON line. train: train and store the model a "
        "tenant is served with (--all: every tenant); train --builtin: regenerate the "
        "shipped weights after editing hablo/skills/examples/*.txt.",
    )
    nlu.add_argument("action", choices=["eval", "train"])
    nlu.add_argument(
        "file",
        nargs="?",
        help='eval: JSONL, {"text", "lang", "intent", optional "service", "when"} per line',
    )
    nlu.add_argument("--tenant", default="demo", help="tenant slug (default demo)")
    train_what = nlu.add_mutually_exclusive_group()
    train_what.add_argument("--all", action="store_true", help="train: every tenant")
    train_what.add_argument(
        "--builtin",
        action="store_true",
        help="train: write hablo/engine/nlu/builtin_model.npz (no database needed)",
    )
    nlu.add_argument(
        "--now",
        help="the current local time in the tenant's zone, e.g. 2027-03-10T12:00 (default: now)",
    )

    nlu.add_argument("--llm-base-url", help="evaluate through LLM mode at this server")
    nlu.add_argument("--llm-model", help="LLM mode: the model name")
    nlu.add_argument(
        "--llm-api-key-env", metavar="VAR", help="LLM mode: environment variable with the key"
    )

    llm = add(
        "llm",
        cmd_llm,
        "A tenant's LLM mode: set its server, model, limits and API key, or show them "
        "(the key is stored sealed and never printed).",
    )
    llm.add_argument("action", choices=["set", "show"])
    llm.add_argument("--tenant", required=True, help="tenant slug, e.g. demo")
    llm.add_argument(
        "--base-url", help="OpenAI-compatible base URL, e.g. https://api.openai.com/v1"
    )
    llm.add_argument("--model", help="model name, e.g. gpt-4o-mini")
    llm.add_argument("--temperature", type=float)
    llm.add_argument("--max-tokens", type=int, help="completion tokens per call")
    llm.add_argument("--timeout-s", type=float, help="one request's timeout")
    llm.add_argument("--monthly-token-budget", type=int, help="overrides the plan's budget")
    llm.add_argument("--history-tokens", type=int, help="conversation history sent, in tokens")
    key = llm.add_mutually_exclusive_group()
    key.add_argument("--api-key-env", metavar="VAR", help="read the API key from this env var")
    key.add_argument("--api-key-stdin", action="store_true", help="read the API key from stdin")
    switch = llm.add_mutually_exclusive_group()
    switch.add_argument("--enable", action="store_true", help="turn LLM mode on (default)")
    switch.add_argument("--disable", action="store_true", help="back to the local NLU only")

    test = add(
        "test",
        cmd_test,
        "Conversation tests: `hablo test dialogues FILE_OR_DIR... --tenant SLUG --now TIME` "
        "runs YAML dialogue cases against the tenant's bot.",
    )
    test_kinds = test.add_subparsers(dest="test_kind", required=True, metavar="KIND")
    dialogues = test_kinds.add_parser(
        "dialogues",
        help="run YAML dialogue cases (user/bot steps, expected bookings)",
        description="Run YAML dialogue cases (format: docs/dialogue-tests.md) against a "
        "scratch copy of the tenant: its services, hours, holidays, settings, templates and "
        "skills, none of its conversations or bookings; the configured database is only "
        "read. Each case is a new customer; the clock is frozen at --now and moves 20 s "
        "per step. Failing cases print their transcript; the last line is one JSON object "
        '{"cases", "passed", "failed_steps", "wrong_bookings", "missing_bookings"}. '
        "Exit 0: all passed; 1: something failed; 2: a bad file or option (nothing ran).",
    )
    dialogues.set_defaults(func=cmd_test)
    dialogues.add_argument(
        "paths", nargs="+", metavar="FILE_OR_DIR", help="YAML files; a directory: its *.yaml/*.yml"
    )
    dialogues.add_argument(
        "--tenant",
        required=True,
        help="tenant slug; 'demo' is seeded in the scratch copy when the database lacks it",
    )
    dialogues.add_argument(
        "--now",
        required=True,
        help="the frozen local time in the tenant's zone, e.g. 2027-03-10T12:00",
    )
    dialogues.add_argument(
        "--json", action="store_true", help="one JSON object per case instead of transcripts"
    )
    dialogues.add_argument(
        "-k", metavar="NAME", help="only cases whose name contains NAME (case-insensitive)"
    )
    dialogues.add_argument(
        "--skill",
        action="append",
        metavar="NAME",
        help="enable an installed skill plugin in the copy even if the tenant has not "
        "(repeatable); its config comes from the tenant or --skill-config",
    )
    dialogues.add_argument(
        "--skill-config",
        action="append",
        metavar="NAME=FILE",
        help="config of a --skill as a YAML mapping file, e.g. faq=faq-config.yaml",
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
    bench.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run the turns in N `hablo worker` processes (PostgreSQL and redis_url needed); "
        "0 = in this process",
    )
    bench.add_argument(
        "--kill-one",
        action="store_true",
        help="with --workers 2+: a last phase kill -9s a worker a third of the way in and "
        "reports kill_lost, kill_duplicated, takeover_s",
    )
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
    except BrokenPipeError:  # e.g. `hablo api openapi | head`: the reader left, not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        return 0
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
