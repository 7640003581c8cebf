"""Builds a hablo runtime from a Settings object: the one place things are wired."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from hablo import llm
from hablo.adapters.accounts import AccountDirectory
from hablo.config import Settings
from hablo.db import migrate
from hablo.db.database import Database
from hablo.db.timeouts import DbTimeouts
from hablo.engine.context import Clock, system_clock
from hablo.engine.runtime import Engine
from hablo.engine.tenant_profile import TenantProfile
from hablo.lifecycle.retention import Retention
from hablo.llm.attach import attach_assistant
from hablo.notify.mailer import build_mailer
from hablo.notify.notification_mails import NotificationMails
from hablo.payments.checkout import CheckoutConfig
from hablo.payments.desk import desk_factory
from hablo.payments.link_later import LINKLESS_SWEEP_S, expire_linkless_payments
from hablo.plugins.loader import SkillRegistry
from hablo.plugins.remote_store import RemoteAccess, tenant_remote_skills
from hablo.plugins.sdk import Skill
from hablo.security.remote_skill_access import remote_access
from hablo.security.secrets import SecretBox
from hablo.skills.booking.reminders import send_due_reminders
from hablo.skills.handoff_timeout import release_expired_handoffs
from hablo.tenancy.mails import mail_limit_notices
from hablo.tenancy.usage import RECOUNT_INTERVAL_S, recount_usage


@dataclass
class Runtime:
    settings: Settings
    db: Database
    registry: SkillRegistry
    engine: Engine
    # Channel accounts (provider numbers, mailboxes) with their secrets, for adapters.
    accounts: AccountDirectory

    def start(self) -> None:
        self.engine.start()

    def close(self) -> None:
        self.engine.stop()
        self.db.dispose()


def bootstrap(
    settings: Settings,
    *,
    upgrade_schema: bool = True,
    extra_skills: Iterable[type[Skill]] = (),
    clock: Clock = system_clock,
) -> Runtime:
    """Migrate (optionally), connect, discover plugins and build the engine (not started)."""
    if upgrade_schema:
        migrate.upgrade(settings.database_url, timeouts=migration_timeouts(settings))
    llm.configure(settings)
    db = Database(
        settings.database_url,
        pool_size=settings.pool_size,
        turn_concurrency=settings.turn_concurrency,
        timeouts=DbTimeouts(settings.db_statement_timeout_s, settings.db_lock_timeout_s),
    )
    registry = SkillRegistry.discover(extra=extra_skills)
    engine = build_engine(settings, db, registry, clock)
    if registry.get("booking") is not None:
        engine.add_job(
            "booking reminders",
            settings.reminder_interval_s,
            lambda: send_due_reminders(
                engine.store, engine.dispatcher.enqueue, engine.tenant_services, engine.owns
            ),
            per_conversation=True,
        )
    _add_usage_recount(engine, settings, db, clock)
    _add_staff_notifications(engine, settings, db)
    # Old audit and log rows, messages past a tenant's retention with their files, and
    # uploads no message refers to (docs/operations.md "Backups and retention").
    engine.add_job("retention", settings.retention_interval_s, Retention.of(settings, db).run_once)
    # Chat payments whose link was never recorded (a crash after their turn) expire.
    engine.add_job("link-less payments", LINKLESS_SWEEP_S, lambda: expire_linkless_payments(db))
    accounts = AccountDirectory(
        db.transaction, lambda: SecretBox.from_config(settings.secret_keys, settings.state_dir)
    )
    return Runtime(settings=settings, db=db, registry=registry, engine=engine, accounts=accounts)


def migration_timeouts(settings: Settings) -> DbTimeouts:
    """Migrations build indexes and rewrite tables: one larger limit for both."""
    return DbTimeouts(settings.db_migration_timeout_s, settings.db_migration_timeout_s)


def build_engine(
    settings: Settings, db: Database, registry: SkillRegistry, clock: Clock = system_clock
) -> Engine:
    """The engine (not started) with the outer layers' side of its ports: payment desks
    and LLM mode. Channel senders are added by whoever runs the channels."""
    engine = Engine(
        settings,
        db,
        registry,
        clock=clock,
        payments=desk_factory(CheckoutConfig.from_settings(settings)),
        assistant=attach_assistant,
    )
    engine.extra_skills = remote_skills(db, remote_access(settings))
    return engine


def remote_skills(
    db: Database, access: RemoteAccess
) -> Callable[[TenantProfile], Mapping[str, Skill]]:
    """A tenant's enabled remote skills, read as its runtime is (re)built."""

    def of_tenant(profile: TenantProfile) -> Mapping[str, Skill]:
        with db.transaction() as session:
            return tenant_remote_skills(session, profile.info.id, access)

    return of_tenant


def _add_staff_notifications(engine: Engine, settings: Settings, db: Database) -> None:
    """E-mail staff about handoffs, bookings and lost channels; hand back to the bot the
    conversations nobody took in time (both safe with several processes)."""
    mails = NotificationMails(db, build_mailer(settings), settings)
    engine.add_job(
        "staff notification mails", settings.notification_mail_interval_s, mails.run_once
    )
    engine.add_job(
        "handoff timeouts",
        settings.handoff_timeout_interval_s,
        lambda: release_expired_handoffs(
            engine.store, engine.dispatcher.enqueue, engine.tenant_services, engine.owns
        ),
        per_conversation=True,
    )


def _add_usage_recount(engine: Engine, settings: Settings, db: Database, clock: Clock) -> None:
    """Plan limits: recount each tenant's usage, tell owners once when messages run out."""
    notify = mail_limit_notices(build_mailer(settings))
    engine.add_job("usage recount", RECOUNT_INTERVAL_S, lambda: recount_usage(db, clock, notify))
