"""The booking repository and the database's no-double-booking constraint, on SQLite and
PostgreSQL (every test here runs on both through the `db_url` fixture)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time as clock
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, insert, inspect, make_url, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hablo.db import migrate
from hablo.db.database import Database
from hablo.db.enums import BookingStatus
from hablo.db.models import Booking, Contact, Conversation
from hablo.demo import seed_demo, seed_salon
from hablo.domain.booking.availability import BusyRange, nearest_free
from hablo.domain.booking.policy import BookingPolicy
from hablo.domain.booking.repository import BookingInfo, BookingRepository
from hablo.engine.tenant_profile import load_profile
from hablo.plugins.sdk import ServiceInfo

BA = ZoneInfo("America/Argentina/Buenos_Aires")
MONDAY = date(2030, 1, 7)
NOW = datetime(2030, 1, 6, 12, 0, tzinfo=BA)  # the Sunday before
HOURS = ((time(9), time(19)),)
RACERS = 20


def at(hh_mm: str, day: date = MONDAY) -> datetime:
    hour, minute = (int(x) for x in hh_mm.split(":"))
    return datetime.combine(day, time(hour, minute), BA).astimezone(UTC)


@dataclass
class Salon:
    db: Database
    tenant_id: uuid.UUID
    services: dict[str, ServiceInfo]
    contacts: list[uuid.UUID]

    @property
    def cut(self) -> ServiceInfo:  # 30 minutes
        return self.services["Corte de pelo"]

    @property
    def color(self) -> ServiceInfo:  # 90 minutes
        return self.services["Coloración"]

    def repo(self, conn: Connection, policy: BookingPolicy | None = None) -> BookingRepository:
        return BookingRepository(conn, self.tenant_id, policy or BookingPolicy(), BA)

    def bookings(self) -> list[BookingInfo]:
        with self.db.begin() as conn:
            return self.repo(conn).list_all()


def _seed(db: Database, slug: str, contacts: int) -> Salon:
    with db.transaction() as session:
        tenant_id = seed_demo(session) if slug == "demo" else seed_salon(session, slug, slug)
        people = [
            Contact(tenant_id=tenant_id, name=f"Cliente {i}", phone=f"+54911000{i:05d}")
            for i in range(contacts)
        ]
        session.add_all(people)
        session.flush()
        profile = load_profile(session, tenant_id)
        return Salon(
            db=db,
            tenant_id=tenant_id,
            services={s.name: s for s in profile.services},
            contacts=[p.id for p in people],
        )


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database(db_url, pool_size=RACERS + 2)
    yield db
    db.dispose()


@pytest.fixture
def salon(database: Database) -> Salon:
    return _seed(database, "demo", RACERS)


@pytest.fixture
def other_salon(database: Database, salon: Salon) -> Salon:
    return _seed(database, "otro", 2)


def book(
    salon: Salon, start: datetime, contact: int = 0, policy: BookingPolicy | None = None
) -> BookingInfo | None:
    with salon.db.begin() as conn:
        return salon.repo(conn, policy).book(salon.contacts[contact], salon.cut, start)


def raw_insert(conn: Connection, salon: Salon, start: datetime, **values: Any) -> None:
    """An INSERT that bypasses the repository: only the database can refuse it."""
    end = start + timedelta(minutes=30)
    row: dict[str, Any] = {
        "tenant_id": salon.tenant_id,
        "contact_id": salon.contacts[1],
        "service_id": salon.cut.id,
        "starts_at": start,
        "ends_at": end,
        "blocked_until": end,
        "duration_minutes": 30,
        "status": BookingStatus.CONFIRMED,
        "resource": 1,
        "notes": "",
    }
    row.update(values)
    conn.execute(insert(Booking).values(**row))


# -- schema --------------------------------------------------------------------------------


def test_migration_adds_columns_and_downgrades(db_url: str, tmp_path: Path) -> None:
    """0002 on a fresh database: upgrade to head, downgrade (through every later
    revision) to 0001, upgrade again."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        admin = None
    else:
        name = f"hablo_mig_{uuid.uuid4().hex[:8]}"
        admin = create_engine(
            make_url(db_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(db_url).set(database=name).render_as_string(hide_password=False)
    try:
        config = migrate.alembic_config(url)

        def columns() -> set[str]:
            engine = create_engine(url)
            try:
                return {c["name"] for c in inspect(engine).get_columns("bookings")}
            finally:
                engine.dispose()

        command.upgrade(config, "head")
        assert (
            migrate.current_revision(url) == ScriptDirectory.from_config(config).get_current_head()
        )
        assert {"resource", "blocked_until"} <= columns()
        command.downgrade(config, "0001")
        assert migrate.current_revision(url) == "0001"
        assert not {"resource", "blocked_until"} & columns()
        command.upgrade(config, "head")
        assert {"resource", "blocked_until"} <= columns()
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


# -- the database enforces no double booking ----------------------------------------------


def test_direct_overlapping_insert_is_rejected_by_the_database(salon: Salon) -> None:
    assert book(salon, at("10:00")) is not None
    for start in (at("10:00"), at("09:45"), at("10:29")):
        with pytest.raises(IntegrityError) as info, salon.db.begin() as conn:
            raw_insert(conn, salon, start)
        assert _is_overlap(info.value)
    assert len(salon.bookings()) == 1


def test_database_allows_what_does_not_overlap(salon: Salon, other_salon: Salon) -> None:
    assert book(salon, at("10:00")) is not None
    with salon.db.begin() as conn:
        raw_insert(conn, salon, at("10:30"))  # back to back: ranges are half-open
        raw_insert(conn, salon, at("09:30"))
        raw_insert(conn, salon, at("10:00"), resource=2)  # another chair
        raw_insert(conn, salon, at("10:00"), status=BookingStatus.CANCELLED)
        raw_insert(conn, salon, at("10:00"), status=BookingStatus.COMPLETED)
    with other_salon.db.begin() as conn:  # another tenant
        raw_insert(conn, other_salon, at("10:00"))
    assert len(salon.bookings()) == 6


def test_buffer_is_part_of_the_blocked_range(salon: Salon) -> None:
    policy = BookingPolicy(buffer_minutes=15)
    first = book(salon, at("10:00"), policy=policy)
    assert first is not None
    assert book(salon, at("10:30"), policy=policy) is None  # inside the 10:30-10:45 buffer
    with pytest.raises(IntegrityError), salon.db.begin() as conn:
        raw_insert(conn, salon, at("10:40"))
    assert book(salon, at("10:45"), policy=policy) is not None


def test_reactivating_into_an_overlap_is_rejected(salon: Salon) -> None:
    first = book(salon, at("10:00"))
    assert first is not None
    with salon.db.begin() as conn:
        assert salon.repo(conn).cancel(first.id, None)
    second = book(salon, at("10:15"), contact=1)
    assert second is not None
    with pytest.raises(IntegrityError) as info, salon.db.begin() as conn:
        conn.execute(
            update(Booking).where(Booking.id == first.id).values(status=BookingStatus.CONFIRMED)
        )
    assert _is_overlap(info.value)
    third = book(salon, at("11:00"), contact=2)
    assert third is not None
    with pytest.raises(IntegrityError) as info, salon.db.begin() as conn:  # stretch into 11:00
        conn.execute(
            update(Booking)
            .where(Booking.id == second.id)
            .values(ends_at=at("11:15"), blocked_until=at("11:15"))
        )
    assert _is_overlap(info.value)
    with pytest.raises(IntegrityError) as info, salon.db.begin() as conn:  # move to chair 1
        conn.execute(update(Booking).where(Booking.id == third.id).values(starts_at=at("10:30")))
    assert _is_overlap(info.value)
    # Updates that move nothing are fine (the row does not overlap itself).
    with salon.db.begin() as conn:
        conn.execute(update(Booking).where(Booking.id == second.id).values(notes="VIP"))
        conn.execute(
            update(Booking)
            .where(Booking.id == second.id)
            .values(reminder_sent_at=datetime.now(UTC), status=BookingStatus.PENDING)
        )


def test_orm_writers_get_blocked_until_from_ends_at(salon: Salon) -> None:
    start = at("12:00")
    with salon.db.transaction() as session:
        session.add(
            Booking(
                tenant_id=salon.tenant_id,
                contact_id=salon.contacts[0],
                service_id=salon.cut.id,
                starts_at=start,
                ends_at=start + timedelta(minutes=30),
                duration_minutes=30,
                status=BookingStatus.CONFIRMED,
            )
        )
    with salon.db.begin() as conn:
        row = conn.execute(select(Booking.blocked_until, Booking.resource)).one()
    assert row == (start + timedelta(minutes=30), 1)
    assert book(salon, at("12:15")) is None


def test_sqlite_refuses_timestamps_it_could_not_compare(salon: Salon) -> None:
    if salon.db.dialect != "sqlite":
        pytest.skip("SQLite stores timestamps as text")
    book(salon, at("10:00"))
    with pytest.raises(IntegrityError, match="UTC text"), salon.db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO bookings (id, tenant_id, contact_id, service_id, starts_at, ends_at,"
                " blocked_until, duration_minutes, status, resource, notes, created_at, updated_at)"
                " VALUES (:id, :t, :c, :s, '2030-01-07T13:00:00', '2030-01-07T13:30:00',"
                " '2030-01-07T13:30:00', 30, 'confirmed', 1, '', '2030-01-01', '2030-01-01')"
            ),
            {
                "id": uuid.uuid4().hex,
                "t": salon.tenant_id.hex,
                "c": salon.contacts[1].hex,
                "s": salon.cut.id.hex,
            },
        )


def test_postgres_compares_instants_whatever_the_offset(salon: Salon) -> None:
    if salon.db.dialect != "postgresql":
        pytest.skip("PostgreSQL timestamptz literal")
    book(salon, at("10:00"))  # 13:00 UTC
    with pytest.raises(IntegrityError) as info, salon.db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO bookings (id, tenant_id, contact_id, service_id, starts_at, ends_at,"
                " blocked_until, duration_minutes, status, resource, notes, created_at, updated_at)"
                " VALUES (:id, :t, :c, :s, '2030-01-07 14:10+01', '2030-01-07 14:40+01',"
                " '2030-01-07 14:40+01', 30, 'confirmed', 1, '', now(), now())"
            ),
            {"id": uuid.uuid4(), "t": salon.tenant_id, "c": salon.contacts[1], "s": salon.cut.id},
        )
    assert getattr(info.value.orig, "sqlstate", None) == "23P01"


def _is_overlap(exc: IntegrityError) -> bool:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "23P01" or "booking overlaps" in str(orig)


# -- the race ------------------------------------------------------------------------------


class BlindRepository(BookingRepository):
    """Skips the pre-check (every resource looks free), so every loser of the race must
    be stopped by the database constraint; counts those refusals."""

    refusals = 0
    lock = threading.Lock()

    def _free_resources(self, *args: Any, **kwargs: Any) -> list[int]:
        return list(range(1, self.policy.capacity + 1))

    def _write(self, statement: Any) -> Any:
        result = super()._write(statement)
        if result is None:
            with BlindRepository.lock:
                BlindRepository.refusals += 1
        return result


def _race(
    salon: Salon, start: datetime, capacity: int, repo_class: type[BookingRepository]
) -> list[BookingInfo | None]:
    """RACERS customers, each on its own connection and transaction, book `start` at once."""
    policy = BookingPolicy(capacity=capacity)
    barrier = threading.Barrier(RACERS, timeout=60)
    results: list[BookingInfo | None] = [None] * RACERS
    errors: list[BaseException] = []

    def customer(i: int) -> None:
        try:
            with salon.db.engine.connect() as conn:
                if salon.db.dialect == "sqlite":
                    barrier.wait()  # BEGIN IMMEDIATE queues writers: begin after the barrier
                    conn.begin()
                else:
                    conn.begin()
                    barrier.wait()
                try:
                    repo = repo_class(conn, salon.tenant_id, policy, BA)
                    results[i] = repo.book(salon.contacts[i], salon.cut, start)
                    # Hold the transaction open a moment: on PostgreSQL a winner's row is
                    # still uncommitted while the others insert (they wait, then fail).
                    clock.sleep(0.05)
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=customer, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


@pytest.mark.parametrize("capacity", [1, 2])
def test_race_for_one_slot(salon: Salon, capacity: int) -> None:
    start = at("15:00")
    results = _race(salon, start, capacity, BookingRepository)
    winners = [r for r in results if r is not None]
    assert len(winners) == capacity
    assert sorted(w.resource for w in winners) == list(range(1, capacity + 1))
    stored = salon.bookings()
    assert len(stored) == capacity
    assert {b.id for b in stored} == {w.id for w in winners}
    assert all(b.starts_at == start for b in stored)

    # The 20 - capacity others are offered other times, nearest first.
    policy = BookingPolicy(capacity=capacity)
    losers = [i for i, r in enumerate(results) if r is None]
    assert len(losers) == RACERS - capacity
    with salon.db.begin() as conn:
        repo = salon.repo(conn, policy)
        options = nearest_free(
            start, salon.cut.duration_minutes, policy, lambda d: HOURS, repo.busy_between, NOW, BA
        )
        assert len(options) == 3
        assert start not in options
        assert options == sorted(options)
        assert {f"{o.astimezone(BA):%H:%M}" for o in options} <= {
            "14:15",
            "14:30",
            "15:30",
            "15:45",
        }
        # ...and one of them can indeed be booked.
        assert repo.book(salon.contacts[losers[0]], salon.cut, options[0]) is not None


@pytest.mark.parametrize("capacity", [1, 2])
def test_race_losers_are_stopped_by_the_database(salon: Salon, capacity: int) -> None:
    """With the Python pre-check switched off, the constraint alone decides."""
    BlindRepository.refusals = 0
    results = _race(salon, at("15:00"), capacity, BlindRepository)
    assert sum(r is not None for r in results) == capacity
    assert len(salon.bookings()) == capacity
    # capacity 1: 19 losers refused once; capacity 2: the second winner once, 18 losers twice.
    assert BlindRepository.refusals == (19 if capacity == 1 else 1 + 18 * 2)


# -- repository ----------------------------------------------------------------------------


def test_book_returns_the_booking_and_takes_the_slot(salon: Salon) -> None:
    with salon.db.begin() as conn:
        conversation_id = uuid.uuid4()
        conn.execute(
            insert(Conversation).values(
                id=conversation_id,
                tenant_id=salon.tenant_id,
                contact_id=salon.contacts[0],
                channel="console",
                peer="+5491100000000",
            )
        )
        repo = salon.repo(conn)
        booked = repo.book(salon.contacts[0], salon.color, at("10:00"), conversation_id)
    assert booked is not None
    assert booked.starts_at == at("10:00") and booked.starts_at.tzinfo is UTC
    assert booked.ends_at - booked.starts_at == timedelta(minutes=90)
    assert booked.status == BookingStatus.CONFIRMED and booked.resource == 1
    assert booked.service_name == "Coloración"
    assert booked.local_start(BA) == datetime(2030, 1, 7, 10, 0, tzinfo=BA)
    with salon.db.begin() as conn:
        repo = salon.repo(conn)
        assert repo.get(booked.id) == booked
        assert repo.get(booked.id, salon.contacts[1]) is None
        slots = repo.free_slots(MONDAY, salon.cut, HOURS, NOW)
        local = [f"{s.astimezone(BA):%H:%M}" for s in slots]
        assert "09:30" in local and "11:30" in local
        assert not {"09:45", "10:00", "11:15"} & set(local)
        assert repo.busy_between(at("11:00"), at("12:00")) == [
            BusyRange(at("10:00"), at("11:30"), at("11:30"), 1)
        ]
        assert repo.busy_between(at("11:30"), at("12:00")) == []
        assert repo.book(salon.contacts[1], salon.cut, at("11:00")) is None


def test_pending_bookings_hold_the_slot(salon: Salon) -> None:
    with salon.db.begin() as conn:
        repo = salon.repo(conn)
        pending = repo.book(salon.contacts[0], salon.cut, at("10:00"), status="pending")
        assert pending is not None and pending.status == BookingStatus.PENDING
        assert repo.book(salon.contacts[1], salon.cut, at("10:00")) is None
        with pytest.raises(ValueError):
            repo.book(salon.contacts[1], salon.cut, at("12:00"), status="cancelled")


def test_confirm_a_pending_booking(salon: Salon) -> None:
    with salon.db.begin() as conn:
        repo = salon.repo(conn)
        pending = repo.book(salon.contacts[0], salon.cut, at("10:00"), status="pending")
        assert pending is not None
        assert not repo.confirm(pending.id, salon.contacts[1])  # not hers
        assert repo.confirm(pending.id, salon.contacts[0])
        assert repo.confirm(pending.id, salon.contacts[0])  # idempotent
        confirmed = repo.get(pending.id)
        assert confirmed is not None and confirmed.status == BookingStatus.CONFIRMED
        assert repo.cancel(pending.id, None)
        assert not repo.confirm(pending.id, None)  # a cancelled booking stays cancelled


def test_notes_are_added_line_by_line_to_the_owners_active_booking(salon: Salon) -> None:
    with salon.db.begin() as conn:
        repo = salon.repo(conn)
        booked = repo.book(salon.contacts[0], salon.cut, at("10:00"))
        assert booked is not None
        assert not repo.add_note(booked.id, salon.contacts[1], "👤 Eve")  # not hers
        assert repo.add_note(booked.id, salon.contacts[0], "👤 Rosa")
        assert repo.add_note(booked.id, None, "llega con el nene")
        notes = conn.execute(select(Booking.notes).where(Booking.id == booked.id)).scalar_one()
        assert notes == "👤 Rosa\nllega con el nene"
        assert repo.cancel(booked.id, None)
        assert not repo.add_note(booked.id, None, "too late")  # a cancelled one is left alone


def test_a_refused_booking_leaves_the_rest_of_the_transaction(salon: Salon) -> None:
    with salon.db.begin() as conn:
        repo = salon.repo(conn)
        assert repo.book(salon.contacts[0], salon.cut, at("10:00")) is not None
        assert repo.book(salon.contacts[1], salon.cut, at("10:00")) is None  # savepoint undone
        assert repo.book(salon.contacts[1], salon.cut, at("11:00")) is not None
    assert len(salon.bookings()) == 2


def test_repository_does_not_commit(salon: Salon) -> None:
    with pytest.raises(RuntimeError), salon.db.begin() as conn:
        assert salon.repo(conn).book(salon.contacts[0], salon.cut, at("10:00")) is not None
        raise RuntimeError("the turn failed")
    assert salon.bookings() == []


def test_capacity_two_uses_both_resources(salon: Salon) -> None:
    policy = BookingPolicy(capacity=2)
    first = book(salon, at("10:00"), 0, policy)
    second = book(salon, at("10:15"), 1, policy)
    assert first is not None and second is not None
    assert (first.resource, second.resource) == (1, 2)
    assert book(salon, at("10:20"), 2, policy) is None
    third = book(salon, at("10:30"), 2, policy)  # resource 1 is free again
    assert third is not None and third.resource == 1


def test_cancel_frees_the_slot(salon: Salon) -> None:
    first = book(salon, at("10:00"), contact=0)
    assert first is not None
    with salon.db.begin() as conn:
        repo = salon.repo(conn)
        assert not repo.cancel(first.id, salon.contacts[1])  # not hers
        assert repo.cancel(first.id, salon.contacts[0])
        assert not repo.cancel(first.id, salon.contacts[0])  # already cancelled
        cancelled = repo.get(first.id)
        assert cancelled is not None and cancelled.status == BookingStatus.CANCELLED
    assert book(salon, at("10:00"), contact=1) is not None
    with salon.db.begin() as conn:
        assert sorted(b.status for b in salon.repo(conn).list_all()) == ["cancelled", "confirmed"]
        assert len(salon.repo(conn).list_all(status="confirmed")) == 1


def test_reschedule_moves_atomically(salon: Salon) -> None:
    mine = book(salon, at("10:00"), contact=0)
    theirs = book(salon, at("11:00"), contact=1)
    assert mine is not None and theirs is not None
    with salon.db.begin() as conn:
        repo = salon.repo(conn)
        # The new slot is taken: nothing moves, the old slot stays hers.
        assert repo.reschedule(mine.id, salon.contacts[0], at("10:45")) is None
        assert repo.get(mine.id) == mine
        assert repo.get(theirs.id) == theirs
        # Someone else's booking cannot be moved.
        assert repo.reschedule(theirs.id, salon.contacts[0], at("15:00")) is None
        # Overlapping its own old range is fine (a booking does not collide with itself).
        moved = repo.reschedule(mine.id, salon.contacts[0], at("10:15"))
        assert moved is not None and moved.id == mine.id
        assert (moved.starts_at, moved.ends_at) == (at("10:15"), at("10:45"))
        moved = repo.reschedule(mine.id, salon.contacts[0], at("12:00"))
        assert moved is not None and moved.local_start(BA).hour == 12
    # The old slot is free now, the new one is taken.
    assert book(salon, at("10:00"), contact=2) is not None
    assert book(salon, at("12:15"), contact=2) is None
    with salon.db.begin() as conn:
        repo = salon.repo(conn)
        assert repo.cancel(mine.id, None)
        assert repo.reschedule(mine.id, salon.contacts[0], at("16:00")) is None  # not active


def test_reschedule_clears_the_reminder(salon: Salon) -> None:
    booked = book(salon, at("10:00"))
    assert booked is not None
    with salon.db.begin() as conn:
        conn.execute(
            update(Booking)
            .where(Booking.id == booked.id)
            .values(reminder_sent_at=datetime.now(UTC))
        )
        assert salon.repo(conn).reschedule(booked.id, None, at("14:00")) is not None
        reminder = conn.scalar(select(Booking.reminder_sent_at).where(Booking.id == booked.id))
    assert reminder is None


def test_upcoming_for_contact(salon: Salon) -> None:
    later = book(salon, at("12:00", MONDAY + timedelta(days=1)))
    soon = book(salon, at("10:00"))
    past = book(salon, at("09:00"))
    gone = book(salon, at("16:00"))
    assert later and soon and past and gone
    book(salon, at("11:00"), contact=1)  # someone else's
    with salon.db.begin() as conn:
        repo = salon.repo(conn)
        repo.cancel(gone.id, salon.contacts[0])
        upcoming = repo.upcoming_for_contact(salon.contacts[0], at("09:30"))
    assert [b.id for b in upcoming] == [soon.id, later.id]


def test_tenants_cannot_see_or_touch_each_other(salon: Salon, other_salon: Salon) -> None:
    mine = book(salon, at("10:00"))
    assert mine is not None
    with other_salon.db.begin() as conn:
        theirs = other_salon.repo(conn)
        assert theirs.get(mine.id) is None
        assert theirs.list_all() == []
        assert theirs.busy_between(at("00:00"), at("23:00")) == []
        assert not theirs.cancel(mine.id, None)
        assert theirs.reschedule(mine.id, None, at("15:00")) is None
        with pytest.raises(LookupError, match="contact"):
            theirs.book(salon.contacts[0], other_salon.cut, at("10:00"))
        with pytest.raises(LookupError, match="service"):
            theirs.book(other_salon.contacts[0], salon.cut, at("10:00"))
        # The same time is free in another salon.
        assert theirs.book(other_salon.contacts[0], other_salon.cut, at("10:00")) is not None
    assert salon.bookings() == [mine]


def test_naive_times_are_refused(salon: Salon) -> None:
    with salon.db.begin() as conn, pytest.raises(ValueError, match="timezone-aware"):
        salon.repo(conn).book(salon.contacts[0], salon.cut, datetime(2030, 1, 7, 10))


# -- CLI -----------------------------------------------------------------------------------


def _hablo(*args: str, db_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("hablo")
    command_line = [str(script)] if script.exists() else [sys.executable, "-m", "hablo"]
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("HABLO_")}
    env["HABLO_DATABASE_URL"] = db_url
    return subprocess.run(
        [*command_line, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def test_cli_bookings_list(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "cli.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{path}"
    db = Database(url)
    try:
        salon = _seed(db, "demo", 2)
        first = book(salon, at("10:00"))
        second = book(salon, at("11:00", MONDAY + timedelta(days=1)), contact=1)
        assert first and second
        with db.begin() as conn:
            salon.repo(conn).cancel(second.id, None)
            conn.execute(
                update(Contact).where(Contact.id == salon.contacts[0]).values(name="Ana Pérez")
            )
    finally:
        db.dispose()

    listed = _hablo("bookings", "list", "--tenant", "demo", "--json", db_url=url, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert rows == [
        {
            "id": str(first.id),
            "service": "Corte de pelo",
            "start": "2030-01-07T10:00:00-03:00",
            "end": "2030-01-07T10:30:00-03:00",
            "status": "confirmed",
            "contact": {
                "id": str(salon.contacts[0]),
                "name": "Ana Pérez",
                "phone": "+5491100000000",
            },
        },
        {
            "id": str(second.id),
            "service": "Corte de pelo",
            "start": "2030-01-08T11:00:00-03:00",
            "end": "2030-01-08T11:30:00-03:00",
            "status": "cancelled",
            "contact": {
                "id": str(salon.contacts[1]),
                "name": "Cliente 1",
                "phone": "+5491100000001",
            },
        },
    ]

    only = _hablo(
        "bookings", "list", "--tenant", "demo", "--json", "--status", "cancelled",
        db_url=url, cwd=tmp_path,
    )  # fmt: skip
    assert only.returncode == 0, only.stderr
    assert [json.loads(line)["id"] for line in only.stdout.splitlines()] == [str(second.id)]

    table = _hablo("bookings", "list", "--tenant", "demo", db_url=url, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "2030-01-07 10:00" in table.stdout and "Ana Pérez" in table.stdout

    unknown = _hablo("bookings", "list", "--tenant", "nope", db_url=url, cwd=tmp_path)
    assert unknown.returncode == 1
    assert unknown.stdout == ""
    assert len(unknown.stderr.strip().splitlines()) == 1 and "nope" in unknown.stderr
