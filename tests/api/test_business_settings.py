"""The business's settings over the API, as in a tenant file: the whole week, a
country's holidays (and the ones it works), special hours, booking rules, prices in
major units, and an address and phone at sign-up. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date, time
from typing import Any

import pytest
from sqlalchemy import select

from hablo.api.scope import TenantScope
from hablo.bootstrap import bootstrap
from hablo.db.enums import Role
from hablo.db.models import Holiday, SpecialHours, Tenant
from hablo.demo import seed_salon
from hablo.domain.booking.policy import BookingPolicy
from hablo.engine.tenant_profile import load_profile
from tests.api.auth_helpers import PASSWORD
from tests.api.support import Api
from tests.api.test_row_security import scoped
from tests.conftest import make_settings

WEEK = {
    "monday": {"intervals": [{"opens_at": "10:00", "closes_at": "14:00"}]},
    "tuesday": {"intervals": [{"opens_at": "10:00", "closes_at": "14:00"}]},
    "wednesday": {"intervals": []},
    "thursday": {
        "intervals": [
            {"opens_at": "16:00", "closes_at": "20:00"},
            {"opens_at": "08:00", "closes_at": "12:00"},
        ]
    },
    "friday": {"intervals": [{"opens_at": "10:00", "closes_at": "18:00"}]},
    "saturday": {"intervals": [{"opens_at": "09:00", "closes_at": "13:00"}]},
    "sunday": {"intervals": []},
}


def _profile(api: Api) -> Any:
    tenant_id = api.tenant_id()  # its own transaction: SQLite has one writer at a time
    with api.runtime.db.transaction() as session:
        return load_profile(session, tenant_id)


def _errors(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    details: list[dict[str, Any]] = response.json()["error"]["details"]
    return details


def test_the_whole_week_in_one_call(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    put = owner.put("/api/hours", json=WEEK)
    assert put.status_code == 200, put.text
    days = put.json()["days"]
    assert [d["open"] for d in days] == [True, True, False, True, True, True, False]
    assert days[3]["intervals"] == [
        {"opens_at": "08:00", "closes_at": "12:00"},
        {"opens_at": "16:00", "closes_at": "20:00"},
    ]
    assert owner.get("/api/hours").json()["days"] == days
    profile = _profile(api)
    assert profile.weekly_hours[3] == ((time(8), time(12)), (time(16), time(20)))
    assert 2 not in profile.weekly_hours

    missing = {k: v for k, v in WEEK.items() if k != "sunday"}
    assert _errors(owner.put("/api/hours", json=missing))[0]["loc"] == ["body", "sunday"]
    overlapping = {
        **WEEK,
        "friday": {
            "intervals": [
                {"opens_at": "10:00", "closes_at": "18:00"},
                {"opens_at": "17:00", "closes_at": "19:00"},
            ]
        },
    }
    details = _errors(owner.put("/api/hours", json=overlapping))
    assert details[0]["loc"] == ["body", "friday", "intervals"] and "overlap" in details[0]["msg"]
    assert owner.get("/api/hours").json()["days"] == days  # unchanged
    assert api.as_role(Role.AGENT).put("/api/hours", json=WEEK).status_code == 403


def test_importing_a_countrys_holidays_is_idempotent_and_skips_open_days(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    first = owner.post("/api/hours/holidays/import", json={"country": "MX", "years": [2027]})
    assert first.status_code == 200, first.text
    added = {h["day"]: h["name"] for h in first.json()["added"]}
    # Named in the tenant's language (the demo is es-AR).
    assert added["2027-09-16"] == "Día de la Independencia"
    assert all(day.startswith("2027-") for day in added)
    again = owner.post("/api/hours/holidays/import", json={"country": "MX", "years": [2027]})
    assert again.status_code == 200 and again.json()["added"] == []
    listed = owner.get(
        "/api/hours/holidays", params={"from": "2027-09-16", "to": "2027-09-16"}
    ).json()
    assert [h["name"] for h in listed["items"]] == ["Día de la Independencia"]

    # The business works Independence Day: the holiday goes, and imports skip it.
    opened = owner.put("/api/hours/holidays/open", json={"days": ["2027-09-16"]})
    assert opened.status_code == 200 and opened.json() == {"days": ["2027-09-16"]}
    assert date(2027, 9, 16) not in _profile(api).holidays
    third = owner.post("/api/hours/holidays/import", json={"country": "MX", "years": [2027]})
    assert third.json()["added"] == [] and third.json()["skipped_open_days"] == ["2027-09-16"]
    assert owner.get("/api/hours/holidays/open").json() == {"days": ["2027-09-16"]}
    tenant_id = api.tenant_id()
    with api.runtime.db.transaction() as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None and tenant.settings["country"] == "MX"
        days = session.scalars(
            select(Holiday.day).where(
                Holiday.tenant_id == tenant_id, Holiday.day == date(2027, 9, 16)
            )
        ).all()
        assert days == []

    bad_country = owner.post("/api/hours/holidays/import", json={"country": "XX", "years": [2027]})
    assert _errors(bad_country)[0]["loc"] == ["body", "country"]
    no_years = owner.post("/api/hours/holidays/import", json={"country": "MX", "years": []})
    assert _errors(no_years)[0]["loc"] == ["body", "years"]
    assert _errors(owner.put("/api/hours/holidays/open", json={"days": ["2027-02-30"]}))


def test_special_hours_replace_the_weekdays_and_a_holiday_still_closes(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    body = {
        "days": [
            {"day": "2027-12-31", "intervals": [{"opens_at": "10:00", "closes_at": "14:00"}]},
            {"day": "2027-12-25", "intervals": [{"opens_at": "10:00", "closes_at": "12:00"}]},
        ]
    }
    put = owner.put("/api/hours/special", json=body)
    assert put.status_code == 200, put.text
    assert [d["day"] for d in put.json()["days"]] == ["2027-12-25", "2027-12-31"]
    assert owner.get("/api/hours/special").json() == put.json()
    assert api.as_role(Role.CLIENT).get("/api/hours/special").json() == put.json()
    profile = _profile(api)
    assert profile.opening_hours(date(2027, 12, 31)) == ((time(10), time(14)),)
    assert date(2027, 12, 25) in profile.holidays  # Argentina's Christmas, seeded
    assert profile.opening_hours(date(2027, 12, 25)) == ()

    twice = {"days": [body["days"][0], body["days"][0]]}
    assert "listed twice" in _errors(owner.put("/api/hours/special", json=twice))[0]["msg"]
    empty = {"days": [{"day": "2027-12-30", "intervals": []}]}
    assert _errors(owner.put("/api/hours/special", json=empty))
    assert owner.get("/api/hours/special").json() == put.json()
    cleared = owner.put("/api/hours/special", json={"days": []})
    assert cleared.json() == {"days": []} and _profile(api).special_hours == {}


def test_booking_rules(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    defaults = owner.get("/api/settings/booking")
    assert defaults.status_code == 200
    assert defaults.json() == BookingPolicy().model_dump()
    put = owner.put("/api/settings/booking", json={"capacity": 3, "buffer_minutes": 10})
    assert put.status_code == 200, put.text
    assert put.json()["capacity"] == 3 and put.json()["slot_step_minutes"] == 15
    policy = BookingPolicy.from_settings(_profile(api).settings)
    assert (policy.capacity, policy.buffer_minutes) == (3, 10)
    # Only the fields sent change.
    owner.put("/api/settings/booking", json={"max_days_ahead": 90})
    assert owner.get("/api/settings/booking").json()["capacity"] == 3

    details = _errors(owner.put("/api/settings/booking", json={"capacity": 0}))
    assert details[0]["loc"] == ["body", "capacity"]
    assert _errors(owner.put("/api/settings/booking", json={"chairs": 2}))
    assert _errors(owner.put("/api/settings/booking", json={"capacity": "2"}))
    assert owner.get("/api/settings/booking").json()["capacity"] == 3
    assert api.as_role(Role.AGENT).get("/api/settings/booking").status_code == 403


def test_service_prices_in_major_units(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    base = {"name": "Peinado", "duration_minutes": 30}
    created = owner.post("/api/services", json={**base, "price": "12.50"})
    assert created.status_code == 201, created.text
    assert created.json()["price_minor"] == 1250  # ARS: two minor digits
    number = owner.post("/api/services", json={**base, "name": "Peinado 2", "price": 800})
    assert number.json()["price_minor"] == 80000
    legacy = owner.post("/api/services", json={**base, "name": "Peinado 3", "price_minor": 999})
    assert legacy.json()["price_minor"] == 999

    both = owner.post("/api/services", json={**base, "name": "X", "price": 1, "price_minor": 100})
    assert "not both" in _errors(both)[0]["msg"]
    neither = owner.post("/api/services", json={**base, "name": "X"})
    assert "price" in _errors(neither)[0]["msg"]
    too_fine = owner.post("/api/services", json={**base, "name": "X", "price": "1.005"})
    details = _errors(too_fine)
    assert details[0]["loc"] == ["body", "price"] and "2 decimals" in details[0]["msg"]
    assert _errors(owner.post("/api/services", json={**base, "name": "X", "price": "ten"}))
    assert _errors(owner.post("/api/services", json={**base, "name": "X", "price": -1}))
    huge = owner.post("/api/services", json={**base, "name": "X", "price": "1e999999999"})
    assert _errors(huge)[0]["loc"] == ["body", "price"]

    service_id = created.json()["id"]
    edited = owner.put(f"/api/services/{service_id}", json={"price": 99})
    assert edited.status_code == 200 and edited.json()["price_minor"] == 9900
    both_edit = owner.put(f"/api/services/{service_id}", json={"price": 1, "price_minor": 1})
    assert _errors(both_edit)
    assert owner.get(f"/api/services/{service_id}").json()["price_minor"] == 9900


def test_registration_takes_address_and_phone(api: Api) -> None:
    body = {
        "business_name": "Clínica Sonrisa",
        "slug": "clinica-sonrisa",
        "locale": "es-MX",
        "timezone": "America/Mexico_City",
        "currency": "MXN",
        "email": "duena@sonrisa.example",
        "first_name": "Ana",
        "password": PASSWORD,
        "address": "Av. Chapultepec 500, Guadalajara",
        "phone": "+52 33 1234 5678",
    }
    created = api.anonymous().post("/api/auth/register", json=body)
    assert created.status_code == 201, created.text
    with api.runtime.db.transaction() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == "clinica-sonrisa")).one()
        assert (tenant.address, tenant.phone) == (body["address"], body["phone"])
    bad = api.anonymous().post(
        "/api/auth/register", json={**body, "slug": "otra", "phone": "call me"}
    )
    assert _errors(bad)[0]["loc"] == ["body", "phone"]


def test_special_hours_rows_are_under_row_level_security(postgres_url: str, db_url: str) -> None:
    """Migration 0011 puts special_hours under the same policy as the other tenant tables:
    inside the API's tenant scope an unfiltered query sees only that tenant's rows."""
    if not db_url.startswith("postgresql"):
        pytest.skip("row-level security is a PostgreSQL feature")
    runtime = bootstrap(make_settings(db_url), upgrade_schema=False)
    try:
        with runtime.db.transaction() as session:
            mine = seed_salon(session, "mine", "Mine")
            theirs = seed_salon(session, "theirs", "Theirs")
            for tenant_id in (mine, theirs):
                session.add(
                    SpecialHours(
                        tenant_id=tenant_id,
                        day=date(2027, 12, 31),
                        opens_at=time(10),
                        closes_at=time(14),
                    )
                )

        def unfiltered(scope: TenantScope) -> set[uuid.UUID]:
            return set(scope.session.scalars(select(SpecialHours.tenant_id)))  # no WHERE

        assert scoped(runtime, mine, unfiltered) == {mine}
        with runtime.db.transaction() as session:
            assert set(session.scalars(select(SpecialHours.tenant_id))) == {mine, theirs}
    finally:
        runtime.db.dispose()
