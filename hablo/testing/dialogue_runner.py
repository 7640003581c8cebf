"""Runs dialogue cases against a real hablo Engine on a scratch copy of a tenant.

One engine and one scratch SQLite database serve the whole run, so the tenant's
classifier is trained once; each case gets a new customer (its own phone) and a calendar
holding only its `given.bookings`. The clock is frozen at --now and moves 20 seconds
per step.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, inspect, select

from hablo.adapters.base import ChannelSender, SendReceipt
from hablo.adapters.console import TurnWaiter
from hablo.bootstrap import build_engine, remote_skills
from hablo.config import Settings
from hablo.db import migrate
from hablo.db.database import Database
from hablo.db.enums import BookingStatus, SenderKind
from hablo.db.models import Booking, Conversation, Message, RemoteSkill, Service
from hablo.domain.booking.repository import ACTIVE_STATUSES
from hablo.engine.messages import InboundMessage, OutboundEnvelope
from hablo.engine.runtime import Engine
from hablo.engine.tenant_profile import TenantProfile, load_profile
from hablo.plugins.loader import SkillRegistry
from hablo.plugins.sdk import Skill
from hablo.security.remote_skill_access import remote_access
from hablo.skills.booking.reminders import REMINDER_SKILL, send_reminder
from hablo.testing.dialogue_file import (
    DialogueFileError,
    LoadedCase,
    check_services,
    load_cases,
)
from hablo.testing.dialogue_report import FALLBACK_SKILL, CaseResult, StepResult, check_step
from hablo.testing.scratch import (
    GivenBookingError,
    SetupError,
    add_other_customer,
    populate,
    prepare_tenant,
    read_source_tenant,
    reset_calendar,
)

CHANNEL = "console"
STEP_SECONDS = 20
TURN_TIMEOUT_S = 60.0
# The run's first turn also trains the copy's classifier (half a minute on a busy
# two-core machine, more under load): it gets longer.
FIRST_TURN_TIMEOUT_S = 300.0


def parse_now(value: str) -> datetime:
    """--now: an ISO local time ("2027-03-10T12:00"); its zone is the tenant's."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise SetupError(f"--now {value!r} is not an ISO time like 2027-03-10T12:00") from None


class FrozenClock:
    """The engine's clock: stands still until the runner moves it."""

    def __init__(self, moment: datetime) -> None:
        self._moment = moment
        self._lock = threading.Lock()

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._moment = moment

    def __call__(self) -> datetime:
        with self._lock:
            return self._moment


class ReplyCollector(ChannelSender):
    """The runner's channel: keeps each customer's replies (line breaks and numbered
    quick answers included, as a text-only channel shows them)."""

    channel = CHANNEL

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_peer: dict[str, list[str]] = {}

    def send(self, envelope: OutboundEnvelope) -> SendReceipt:
        with self._lock:
            self._by_peer.setdefault(envelope.peer, []).append(envelope.plain_text())
        return SendReceipt(provider_message_id=f"dialogue-{envelope.outbox_id}")

    def replies(self, peer: str) -> list[str]:
        with self._lock:
            return list(self._by_peer.get(peer, ()))


def registered_remote_skills(settings: Settings, profile: TenantProfile) -> Mapping[str, Skill]:
    """The tenant's remote skills as registered in the configured database, their secrets
    opened with its key ring: the scratch copy talks to the same endpoints."""
    source = Database(settings.database_url, pool_size=1)
    try:
        if not inspect(source.engine).has_table(RemoteSkill.__tablename__):
            return {}
        return remote_skills(source, remote_access(settings))(profile)
    finally:
        source.dispose()


class DialogueRunner:
    """Use as a context manager: `open()` builds the scratch world, `close()` removes it."""

    def __init__(
        self,
        settings: Settings,
        tenant_slug: str,
        now: str,
        *,
        skills: Sequence[str] = (),
        skill_configs: Mapping[str, Mapping[str, Any]] | None = None,
        extra_skills: Iterable[type[Skill]] = (),
        turn_timeout_s: float = TURN_TIMEOUT_S,
    ) -> None:
        self._settings = settings
        self._slug = tenant_slug
        self._naive_now = parse_now(now)
        self._skills = list(dict.fromkeys(skills))
        self._skill_configs = dict(skill_configs or {})
        self._extra_skills = list(extra_skills)
        self._timeout_s = turn_timeout_s
        self._folder: Path | None = None
        self._db: Database | None = None
        self._engine: Engine | None = None
        self._sender = ReplyCollector()
        self._waiter = TurnWaiter()
        self._clock = FrozenClock(self._naive_now)
        self._now = self._naive_now  # made tenant-local by open()
        self._profile: TenantProfile | None = None
        self._other_customer = uuid.uuid4()
        self._cases_run = 0
        self._reminders_sent = 0
        self._answered_once = False

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> DialogueRunner:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        source = read_source_tenant(self._settings.database_url, self._slug)
        registry = SkillRegistry.discover(extra=self._extra_skills)
        self._folder = Path(tempfile.mkdtemp(prefix="hablo-dialogues-"))
        url = f"sqlite:///{self._folder / 'scratch.db'}"
        migrate.upgrade(url)
        self._db = db = Database(url, pool_size=4)
        tenant_id = populate(db, self._slug, source, self._naive_now.date())
        prepare_tenant(db, tenant_id, registry, self._skills, self._skill_configs)
        self._other_customer = add_other_customer(db, tenant_id)
        with db.transaction() as session:
            self._profile = load_profile(session, tenant_id)
        self._now = self._localize(self._naive_now, self._profile.zone)
        self._clock.set(self._now)
        # A private state folder, no secret keys, no SMTP: the copy cannot open the
        # tenant's sealed provider keys (no real payment link) nor send real mail.
        settings = self._settings.model_copy(
            update={
                "database_url": url,
                "state_dir": self._folder / "state",
                "secret_keys": [],
                "smtp_host": None,
                "redis_url": None,
                # The exact model for the copy's skills, not a stand-in while it trains:
                # results must not depend on timing. Trained once, at the first turn.
                "nlu_train_in_background": False,
            }
        )
        # Bootstrap-like wiring without the housekeeping jobs (reminders, usage mails):
        # they would add messages the conversation under test never caused.
        self._engine = build_engine(settings, db, registry, self._clock)
        if source is not None:
            remote = registered_remote_skills(self._settings, self._profile)
            self._engine.extra_skills = lambda _profile: remote
        self._engine.add_sender(self._sender)
        self._engine.add_turn_listener(self._waiter)
        self._engine.start()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.stop()
            self._engine = None
        if self._db is not None:
            self._db.dispose()
            self._db = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    @staticmethod
    def _localize(naive: datetime, zone: ZoneInfo) -> datetime:
        return naive.replace(tzinfo=zone) if naive.tzinfo is None else naive.astimezone(zone)

    @property
    def profile(self) -> TenantProfile:
        assert self._profile is not None, "open() the runner first"
        return self._profile

    # -- checks before running ------------------------------------------------------------

    def check(self, cases: Sequence[LoadedCase]) -> None:
        """File errors that need the tenant: unknown services, given bookings that cannot
        be placed. Each case's given bookings are placed and rolled back."""
        check_services(cases, [s.name for s in self.profile.services])
        assert self._db is not None
        for loaded in cases:
            given = loaded.case.given.bookings if loaded.case.given else []
            if not given:
                continue
            with self._db.engine.connect() as conn:
                transaction = conn.begin()
                try:
                    reset_calendar(conn, self.profile, self._other_customer, given)
                except GivenBookingError as exc:
                    raise DialogueFileError(f"{loaded.label}, field {exc}") from None
                finally:
                    transaction.rollback()

    # -- running --------------------------------------------------------------------------

    def run(self, cases: Sequence[LoadedCase]) -> list[CaseResult]:
        return [self.run_case(loaded) for loaded in cases]

    def run_case(self, loaded: LoadedCase) -> CaseResult:
        assert self._db is not None and self._engine is not None
        case = loaded.case
        self._cases_run += 1
        peer = f"+5491160{self._cases_run:06d}"  # a new customer per case
        given = case.given.bookings if case.given else []
        with self._db.begin() as conn:
            reset_calendar(conn, self.profile, self._other_customer, given)
        steps: list[StepResult] = []
        error = None
        for number, step in enumerate(case.steps):
            self._clock.set(self._now + timedelta(seconds=STEP_SECONDS * number))
            before = len(self._sender.replies(peer))
            if step.reminder:
                awaited, failures = self._send_reminder(peer)
            else:
                assert step.user is not None
                awaited, failures = self._submit(peer, step.user), []
            timeout_s = (
                self._timeout_s
                if self._answered_once
                else max(self._timeout_s, FIRST_TURN_TIMEOUT_S)
            )
            delivered = awaited is None or self._waiter.wait(awaited, timeout_s)
            self._answered_once = self._answered_once or delivered
            replies = self._sender.replies(peer)[before:]
            skill = REMINDER_SKILL if step.reminder else self._skill_of(peer)
            result = StepResult(step.user, replies, skill, failures, reminder=step.reminder)
            steps.append(result)
            if not delivered:
                error = f"step {number + 1}: the turn was not delivered within {timeout_s:g} s"
                result.failures.append("no answer in time")
                break
            result.failures.extend(check_step(step, replies, skill))
        expected = [b.key() for b in case.bookings] if case.bookings is not None else None
        canonical = {s.name.casefold(): s.name for s in self.profile.services}
        if expected is not None:
            expected = [(canonical[name.casefold()], start) for name, start in expected]
        return CaseResult(
            name=case.name,
            path=str(loaded.path),
            steps=steps,
            expected_bookings=expected,
            actual_bookings=self._bookings_of(peer),
            error=error,
        )

    def _submit(self, peer: str, text: str) -> int:
        """The customer's message; returns its inbox id, which the waiter hears of once
        the turn's replies were handed to the channel."""
        assert self._engine is not None
        submitted = self._engine.submit(
            InboundMessage(
                tenant_id=self.profile.info.id,
                channel=CHANNEL,
                peer=peer,
                text=text,
                provider_message_id=f"dialogue-{uuid.uuid4()}",
                received_at=self._clock(),
            )
        )
        return submitted.inbox_id

    def _send_reminder(self, peer: str) -> tuple[int | None, list[str]]:
        """The reminder of the customer's next booking, sent at the step's clock by the
        reminder job's own code. Returns the id to wait for (None: nothing was sent) and
        why nothing was sent."""
        engine = self._engine
        assert engine is not None
        booking_id = self._next_booking_of(peer)
        if booking_id is None:
            return None, ["reminder: the customer has no upcoming booking"]
        self._reminders_sent += 1
        # No inbox row has a negative id: the outbox hands it to the waiter like a turn's.
        marker = -self._reminders_sent
        sent = send_reminder(
            engine.store,
            lambda key, envelopes, _inbox_ids: engine.dispatcher.enqueue(key, envelopes, (marker,)),
            engine.tenant_services(self.profile.info.id),
            booking_id,
            self._clock(),
        )
        if not sent:
            return None, ["reminder: the next booking's reminder was already sent"]
        return marker, []

    def _contact_of(self, peer: str) -> Select[uuid.UUID]:
        """The customer's contact id, as a subquery."""
        return select(Conversation.contact_id).where(
            Conversation.tenant_id == self.profile.info.id,
            Conversation.channel == CHANNEL,
            Conversation.peer == peer,
        )

    def _next_booking_of(self, peer: str) -> uuid.UUID | None:
        """The customer's first active booking after the clock."""
        assert self._db is not None
        customer = self._contact_of(peer)
        query = (
            select(Booking.id)
            .where(
                Booking.tenant_id == self.profile.info.id,
                Booking.contact_id.in_(customer),
                Booking.status.in_(ACTIVE_STATUSES),
                Booking.starts_at > self._clock(),
            )
            .order_by(Booking.starts_at)
            .limit(1)
        )
        with self._db.begin() as conn:
            found: uuid.UUID | None = conn.execute(query).scalar_one_or_none()
        return found

    def _skill_of(self, peer: str) -> str:
        """The skill recorded on the customer's latest message (none: fallback)."""
        assert self._db is not None
        query = (
            select(Message.skill)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Conversation.tenant_id == self.profile.info.id,
                Conversation.channel == CHANNEL,
                Conversation.peer == peer,
                Message.sender_kind == SenderKind.CUSTOMER,
            )
            .order_by(Message.created_at.desc())
            .limit(1)
        )
        with self._db.begin() as conn:
            skill = conn.execute(query).scalar_one_or_none()
        return skill or FALLBACK_SKILL

    def _bookings_of(self, peer: str) -> list[tuple[str, str]]:
        """The customer's bookings that are not cancelled: (service, local start)."""
        assert self._db is not None
        customer = self._contact_of(peer)
        query = (
            select(Service.name, Booking.starts_at)
            .join(Service, Service.id == Booking.service_id)
            .where(
                Booking.tenant_id == self.profile.info.id,
                Booking.contact_id.in_(customer),
                Booking.status != BookingStatus.CANCELLED,
            )
            .order_by(Booking.starts_at)
        )
        zone = self.profile.zone
        with self._db.begin() as conn:
            rows = conn.execute(query).all()
        return [(name, start.astimezone(zone).strftime("%Y-%m-%dT%H:%M")) for name, start in rows]


def run_dialogue_tests(
    settings: Settings,
    paths: Sequence[str | Path],
    *,
    tenant: str,
    now: str,
    name_filter: str | None = None,
    skills: Sequence[str] = (),
    skill_configs: Mapping[str, Mapping[str, Any]] | None = None,
    extra_skills: Iterable[type[Skill]] = (),
) -> list[CaseResult]:
    """Validate every file, then run the selected cases. Raises DialogueFileError for a
    bad file and SetupError when the run cannot start: both before any case runs."""
    parse_now(now)
    cases = load_cases(paths, name_filter)
    with DialogueRunner(
        settings,
        tenant,
        now,
        skills=skills,
        skill_configs=skill_configs,
        extra_skills=extra_skills,
    ) as runner:
        runner.check(cases)
        return runner.run(cases)
