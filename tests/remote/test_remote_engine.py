"""A remote skill served by `hablo skill serve` (a subprocess on 127.0.0.1) answering in
conversations through the real engine, on SQLite and PostgreSQL: its answer reaches the
customer; a slow one costs one apology and the conversation goes on; it sees only the
customer's own bookings, cannot cancel another customer's, and cannot book outside the
opening hours."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hablo.bootstrap import Runtime, bootstrap
from hablo.db.enums import BookingStatus, SenderKind
from hablo.db.models import Booking, Message, Tenant
from hablo.demo import seed_demo
from hablo.domain.booking.policy import BookingPolicy
from hablo.domain.booking.repository import BookingRepository
from hablo.engine.tenant_profile import TenantProfile, load_profile
from hablo.plugins import remote_store
from hablo.testing.scratch import add_other_customer
from tests.conftest import make_settings
from tests.fakes import CollectingSender
from tests.integration.helpers import DeliveredTurns, inbound, start_collecting
from tests.remote.conftest import SkillServer
from tests.remote.support import register_points

# Each test's first turn trains the tenant's classifier (its skills changed): on a busy
# two-core machine that alone can take a minute or two.
pytestmark = pytest.mark.timeout(900)
TURN_WAIT_S = 240
APOLOGY = "tuve un problema"
PEER = "+5491155550123"


class Chat:
    def __init__(self, runtime: Runtime, tenant_id: uuid.UUID) -> None:
        self.runtime = runtime
        self.tenant_id = tenant_id
        self.sender = CollectingSender("console")
        self.turns: DeliveredTurns = start_collecting(runtime, self.sender)

    def say(self, text: str) -> str:
        before = len(self.sender.sent)
        accepted = self.runtime.engine.submit(inbound(self.tenant_id, text, peer=PEER))
        self.turns.wait_for([accepted.inbox_id], timeout=TURN_WAIT_S)
        return "\n".join(e.text for e in self.sender.sent[before:])

    def configure(self, config: dict[str, Any], budget_s: float | None = None) -> None:
        """The skill's config (and the tenant's skill time budget), as the API sets them."""
        with self.runtime.db.transaction() as session:
            remote_store.change(session, self.tenant_id, "points", enabled=None, config=config)
            if budget_s is not None:
                tenant = session.get(Tenant, self.tenant_id)
                assert tenant is not None
                tenant.settings = {**(tenant.settings or {}), "skill_time_budget_s": budget_s}
        self.runtime.engine.reload_tenant(self.tenant_id)  # as the API does after a change


@pytest.fixture
def chat(db_url: str, skill_server: SkillServer) -> Iterator[Chat]:
    # Deadlines far above what a call takes even on a loaded machine: only the slow test
    # lowers them, to see one pass.
    settings = make_settings(db_url, remote_skills_allow_private=True, remote_skill_timeout_s=30)
    runtime = bootstrap(settings, upgrade_schema=False)
    with runtime.db.transaction() as session:
        tenant_id = seed_demo(session)
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.settings = {**(tenant.settings or {}), "skill_time_budget_s": 40.0}
    register_points(runtime, tenant_id, skill_server)
    try:
        yield Chat(runtime, tenant_id)
    finally:
        runtime.close()


def _profile(chat: Chat) -> TenantProfile:
    with chat.runtime.db.transaction() as session:
        return load_profile(session, chat.tenant_id)


def _two_starts(chat: Chat) -> tuple[datetime, datetime]:
    """Two starts of one day the bot would offer for the first service (the one the
    skill books), far enough apart not to overlap."""
    profile = _profile(chat)
    now = datetime.now(profile.zone)
    with chat.runtime.db.engine.connect() as conn:
        repo = BookingRepository(
            conn, chat.tenant_id, BookingPolicy.from_settings(profile.settings), profile.zone
        )
        for n in range(1, 15):
            day = now.date() + timedelta(days=n)
            slots = repo.free_slots(day, profile.services[0], profile.opening_hours(day), now)
            if len(slots) >= 2 and slots[-1] - slots[0] >= timedelta(hours=3):
                return slots[0], slots[-1]
    raise AssertionError("no free day in two weeks")


def test_a_remote_skill_answers_in_a_conversation(chat: Chat) -> None:
    assert chat.say("cuántos puntos tengo") == "Peluquería Sol: tenés 0 puntos (0 turnos)."
    assert "Peluquería Sol" in chat.say("hola")  # the built-in skills answer as before
    with chat.runtime.db.transaction() as session:
        asked = session.scalars(select(Message).where(Message.body == "cuántos puntos tengo")).one()
    assert asked.skill == "points" and asked.error is None


def test_a_slow_remote_skill_costs_an_apology_and_the_chat_goes_on(chat: Chat) -> None:
    chat.configure({"sleep_s": 30}, budget_s=2.0)  # the call's deadline: 1.6 s
    assert APOLOGY in chat.say("cuántos puntos tengo")
    assert "Peluquería Sol" in chat.say("hola")
    with chat.runtime.db.transaction() as session:
        errors = session.scalars(
            select(Message.error).where(Message.sender_kind == SenderKind.CUSTOMER)
        ).all()
    assert errors[0] is not None and "points" in errors[0]
    assert errors[1] is None


def test_a_remote_skill_reaches_only_this_customer_inside_opening_hours(chat: Chat) -> None:
    mine, theirs = _two_starts(chat)
    other = add_other_customer(chat.runtime.db, chat.tenant_id)
    profile = _profile(chat)
    with chat.runtime.db.begin() as conn:
        repo = BookingRepository(conn, chat.tenant_id, BookingPolicy(), profile.zone)
        their_booking = repo.book(other, profile.services[0], theirs)
        assert their_booking is not None
    # Another customer's booking is not in what the skill is sent...
    assert chat.say("cuántos puntos tengo").endswith("(0 turnos).")
    # ...so it cannot cancel it,
    chat.configure({"cancel_id": str(their_booking.id)})
    assert chat.say("quiero canjear mis puntos") == "No encontré ese turno."
    # nor book at three in the morning (the booking rules refuse it: nothing is written),
    closed = datetime.combine(mine.astimezone(profile.zone).date(), time(3), profile.zone)
    chat.configure({"book_at": closed.isoformat()})
    assert APOLOGY in chat.say("quiero canjear mis puntos")
    # while a slot the bot would offer is booked for this customer.
    chat.configure({"book_at": mine.isoformat()})
    assert chat.say("quiero canjear mis puntos").startswith("Canjeado")
    assert chat.say("cuántos puntos tengo").endswith("10 puntos (1 turnos).")
    with chat.runtime.db.transaction() as session:
        rows = session.execute(
            select(Booking.contact_id, Booking.starts_at, Booking.status).order_by(
                Booking.starts_at
            )
        ).all()
    assert {(r.starts_at, r.status) for r in rows} == {
        (mine, BookingStatus.CONFIRMED),
        (theirs, BookingStatus.CONFIRMED),
    }
    assert next(r.contact_id for r in rows if r.starts_at == theirs) == other
