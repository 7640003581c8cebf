"""`hablo tenant import/export`: a whole business in one YAML file, on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from hablo.cli import main
from hablo.db.database import Database
from hablo.db.models import BusinessHours, Holiday, Service, SpecialHours, Tenant
from hablo.domain.booking.policy import BookingPolicy
from hablo.engine.tenant_profile import load_profile
from hablo.tenancy.calendar import country_calendar
from hablo.tenancy.tenant_file import (
    TenantFileError,
    dump,
    export_tenant,
    import_tenant,
    parse,
)

TENANTS = Path(__file__).resolve().parents[1] / "tenants"
FILES = sorted(TENANTS.glob("*.yaml"))
# Imports are dated: the country's holidays of this year and the next are applied.
TODAY = date(2027, 1, 10)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url, pool_size=1)
    yield database
    database.dispose()


def load(name: str) -> dict[str, Any]:
    raw = yaml.safe_load((TENANTS / name).read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    return raw


def do_import(db: Database, raw: dict[str, Any] | str, today: date = TODAY) -> uuid.UUID:
    data = parse(raw if isinstance(raw, str) else yaml.safe_dump(raw, allow_unicode=True))
    with db.transaction() as session:
        return import_tenant(session, data, today).id


def snapshot(db: Database, tenant_id: uuid.UUID) -> dict[str, Any]:
    """Every row the import writes, ids and timestamps included."""
    with db.transaction() as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None

        def rows(model: Any) -> list[tuple[Any, ...]]:
            found = session.scalars(select(model).where(model.tenant_id == tenant_id))
            return sorted(tuple(getattr(r, c.key) for c in model.__table__.columns) for r in found)

        return {
            "tenant": tuple(getattr(tenant, c.key) for c in Tenant.__table__.columns),
            "services": rows(Service),
            "hours": rows(BusinessHours),
            "holidays": rows(Holiday),
            "special": rows(SpecialHours),
        }


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_trade_file_imports(db: Database, path: Path) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    tenant_id = do_import(db, path.read_text(encoding="utf-8"))
    with db.transaction() as session:
        profile = load_profile(session, tenant_id)
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        assert (tenant.slug, tenant.locale, tenant.currency) == (
            raw["slug"],
            raw["locale"],
            raw["currency"],
        )
        assert len(profile.services) == len(raw["services"])
        # The country's holidays of this year and the next are closed days.
        calendar = country_calendar(raw["country"], (2027, 2028), raw["locale"])
        opened = {date.fromisoformat(d) for d in raw.get("holidays", {}).get("open", [])}
        for day in calendar:
            assert (day in profile.holidays) == (day not in opened)
        for special in raw.get("special_hours", []):
            day = date.fromisoformat(special["date"])
            assert [f"{a:%H:%M}-{b:%H:%M}" for a, b in profile.opening_hours(day)] == special[
                "hours"
            ]
        policy = BookingPolicy.from_settings(profile.settings)
        assert policy.capacity == raw["booking"]["capacity"]
        assert policy.slot_step_minutes == raw["booking"]["slot_step_min"]


def test_prices_are_major_units_in_the_currency(db: Database) -> None:
    tenant_id = do_import(db, load("clinica-sonrisa.yaml"))
    with db.transaction() as session:
        prices = dict(
            session.execute(
                select(Service.name, Service.price_minor).where(Service.tenant_id == tenant_id)
            ).all()
        )
    assert prices["Limpieza dental"] == 80000
    assert prices["Blanqueamiento"] == 349950
    raw = load("fade-factory.yaml")
    raw["currency"] = "JPY"  # no minor digits: 35 yen is 35
    raw["services"] = [{"name": "Haircut", "duration_min": 30, "price": 3500}]
    jp = do_import(db, raw)
    with db.transaction() as session:
        assert session.scalar(select(Service.price_minor).where(Service.tenant_id == jp)) == 3500


def test_importing_the_same_file_twice_changes_nothing(db: Database) -> None:
    text = (TENANTS / "clinica-sonrisa.yaml").read_text(encoding="utf-8")
    tenant_id = do_import(db, text)
    before = snapshot(db, tenant_id)
    assert do_import(db, text) == tenant_id
    assert snapshot(db, tenant_id) == before


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_export_then_import_is_a_no_op(db: Database, path: Path) -> None:
    tenant_id = do_import(db, path.read_text(encoding="utf-8"))
    before = snapshot(db, tenant_id)
    with db.transaction() as session:
        exported = dump(export_tenant(session, path.stem, TODAY))
    do_import(db, exported)
    assert snapshot(db, tenant_id) == before
    with db.transaction() as session:
        assert dump(export_tenant(session, path.stem, TODAY)) == exported
    # The export says what the file said (order of services aside).
    original = yaml.safe_load(path.read_text(encoding="utf-8"))
    back = yaml.safe_load(exported)
    assert sorted(s["name"] for s in back["services"]) == sorted(
        s["name"] for s in original["services"]
    )
    assert back["hours"] == original["hours"]
    assert back.get("special_hours", []) == original.get("special_hours", [])
    assert back["booking"] == original["booking"]
    assert back.get("holidays", {}) == original.get("holidays", {})


def test_an_updated_file_updates_the_tenant_and_deactivates_dropped_services(
    db: Database,
) -> None:
    raw = load("paws-and-suds.yaml")
    tenant_id = do_import(db, raw)
    raw["services"] = raw["services"][1:]
    raw["services"][0]["price"] = 70
    raw["hours"]["sun"] = ["10:00-14:00"]
    raw["special_hours"] = []
    raw["booking"]["capacity"] = 4
    raw["name"] = "Paws & Suds"
    do_import(db, raw)
    with db.transaction() as session:
        services = {
            s.name: s
            for s in session.scalars(select(Service).where(Service.tenant_id == tenant_id))
        }
        assert len(services) == 4  # still there: bookings may reference it
        assert services["Full groom (small dog)"].active is False
        assert services["Full groom (large dog)"].price_minor == 7000
        profile = load_profile(session, tenant_id)
        assert profile.info.name == "Paws & Suds"
        assert profile.weekly_hours[6] == ((time(10), time(14)),)
        assert profile.special_hours == {}
        assert BookingPolicy.from_settings(profile.settings).capacity == 4
    # A service back in the file is active again, under the same id.
    raw["services"].insert(0, load("paws-and-suds.yaml")["services"][0])
    do_import(db, raw)
    with db.transaction() as session:
        again = session.scalars(
            select(Service).where(Service.tenant_id == tenant_id, Service.name.like("%small%"))
        ).one()
        assert again.active and again.id == services["Full groom (small dog)"].id


def test_holidays_open_closed_and_special_hours_reach_opening_hours(db: Database) -> None:
    raw = load("clinica-sonrisa.yaml")
    # 2027-12-25 is a Mexican public holiday (a Saturday): special hours do not open it ...
    raw["special_hours"].append({"date": "2027-12-25", "hours": ["10:00-12:00"]})
    # ... unless the business works that holiday.
    raw["holidays"]["open"] = ["2027-09-16"]  # Independence Day, a Thursday
    raw["special_hours"].append({"date": "2027-09-16", "hours": ["09:00-12:00"]})
    tenant_id = do_import(db, raw)
    with db.transaction() as session:
        profile = load_profile(session, tenant_id)
    assert date(2027, 12, 25) in profile.holidays
    assert profile.opening_hours(date(2027, 12, 25)) == ()
    assert date(2027, 9, 16) not in profile.holidays
    assert profile.opening_hours(date(2027, 9, 16)) == ((time(9), time(12)),)
    assert profile.opening_hours(date(2027, 12, 31)) == ((time(10), time(14)),)
    assert profile.holidays[date(2027, 8, 2)] == "Vacaciones"
    # An ordinary Friday keeps its weekly hours.
    assert profile.opening_hours(date(2027, 12, 17)) == ((time(9), time(14)), (time(16), time(19)))
    # Next year's holidays too, named in the tenant's language.
    assert profile.holidays[date(2028, 1, 1)] == "Año Nuevo"


def test_a_holiday_no_longer_open_closes_again(db: Database) -> None:
    raw = load("fade-factory.yaml")
    raw["holidays"] = {"open": ["2027-11-25"]}  # Thanksgiving
    tenant_id = do_import(db, raw)
    with db.transaction() as session:
        assert date(2027, 11, 25) not in load_profile(session, tenant_id).holidays
    raw["holidays"] = {}
    do_import(db, raw)
    with db.transaction() as session:
        assert date(2027, 11, 25) in load_profile(session, tenant_id).holidays


def _mutate(raw: dict[str, Any], path: str, value: Any) -> None:
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split("/")]
    target: Any = raw
    for key in keys[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value


_DELETE = object()
BAD_VALUES = [
    ("services/2/price", "ten", "services[2].price: must be a number"),
    ("services/2/price", True, "services[2].price: must be a number"),
    ("services/0/price", -5, "services[0].price: must not be negative"),
    ("services/0/price", 10.555, "services[0].price: MXN prices have at most 2 decimals"),
    ("services/0/price", "1e-999999999", "services[0].price: has too many decimals"),
    ("services/0/price", "1e999999999", "services[0].price: is too large"),
    ("services/0/price", 30_000_000, "services[0].price: must be at most 20000000.00"),
    ("services/1/duration_min", "30", "services[1].duration_min: Input should be a valid integer"),
    ("services/1/colour", "red", "services[1].colour: unknown key"),
    ("services/3/name", "Limpieza dental", "services[3].name: same name as services[0]"),
    ("openning", {"mon": []}, "openning: unknown key"),
    ("slug", "api", "slug: 'api' is reserved"),
    ("slug", "Clinica Sonrisa", "slug: String should match pattern"),
    ("slug", _DELETE, "slug: required"),
    ("locale", "fr-FR", "locale: replies exist in es, en only"),
    ("time_zone", "Mars/Olympus", "time_zone: unknown time zone"),
    ("currency", "XYZ", "currency: not an ISO 4217 currency code"),
    ("country", "XX", "country: no public holidays known for this country"),
    ("hours/mon", ["9-14"], 'hours.mon[0]: must be "HH:MM-HH:MM"'),
    ("hours/tue", ["14:00-09:00"], "hours.tue[0]: 14:00-09:00: opens after it closes"),
    ("hours/wed", ["09:00-14:00", "13:00-18:00"], "hours.wed: 09:00-14:00 and 13:00-18:00 overlap"),
    ("hours/funday", [], "hours.funday: unknown key"),
    ("holidays/open", ["2027-02-30"], 'holidays.open[0]: must be a date "YYYY-MM-DD"'),
    ("holidays/closed/0/name", _DELETE, "holidays.closed[0].name: required"),
    ("special_hours/1/hours", [], "special_hours[1].hours: Value should have at least 1 item"),
    ("booking/capacity", 0, "booking.capacity: Input should be greater than or equal to 1"),
    ("booking/slot_step_min", 7.5, "booking.slot_step_min: Input should be a valid integer"),
    ("booking/reminders", 3, "booking.reminders: unknown key"),
    ("bot/formality", "formal", "bot.formality: Input should be 'usted', 'tu' or 'vos'"),
]


@pytest.mark.parametrize(("path", "value", "expected"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_a_bad_key_is_named_by_its_path(path: str, value: Any, expected: str) -> None:
    raw = load("clinica-sonrisa.yaml")
    _mutate(raw, path, value)
    with pytest.raises(TenantFileError) as caught:
        parse(yaml.safe_dump(raw, allow_unicode=True))
    assert str(caught.value).startswith(expected), str(caught.value)
    assert "\n" not in str(caught.value)


def test_not_a_mapping_and_broken_yaml_are_refused() -> None:
    with pytest.raises(TenantFileError, match=r"^\(file\): must be a mapping"):
        parse("- just\n- a list\n")
    with pytest.raises(TenantFileError, match=r"^not valid YAML at line 3"):
        parse("slug: a\nname: [unclosed\n")


# -- the command -------------------------------------------------------------------------------


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HABLO_DATABASE_URL", db_url)
    return db_url


def tenant_count(url: str) -> int:
    database = Database(url, pool_size=1)
    try:
        with database.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(Tenant)) or 0)
    finally:
        database.dispose()


def test_cli_import_and_export(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = TENANTS / "fisio-retiro.yaml"
    assert main(["tenant", "import", str(path)]) == 0
    assert '"tenant": "fisio-retiro"' in capsys.readouterr().out
    assert main(["tenant", "export", "fisio-retiro"]) == 0
    exported = capsys.readouterr().out
    copy = tmp_path / "back.yaml"
    copy.write_text(exported, encoding="utf-8")
    assert main(["tenant", "import", str(copy)]) == 0
    capsys.readouterr()
    assert main(["tenant", "export", "fisio-retiro"]) == 0
    assert capsys.readouterr().out == exported
    assert yaml.safe_load(exported)["bot"] == {"formality": "tu"}
    assert main(["tenant", "export", "nobody"]) == 1
    assert capsys.readouterr().err.strip() == "hablo: no tenant with slug 'nobody'"


def test_cli_refuses_a_bad_file_with_one_line_and_writes_nothing(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = load("paws-and-suds.yaml")
    raw["services"][2]["price"] = "cheap"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["tenant", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == f"hablo: {bad}: services[2].price: must be a number\n"
    assert tenant_count(cli_env) == 0


def test_cli_export_names_stored_settings_that_do_not_validate(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    database = Database(cli_env, pool_size=1)
    try:
        tenant_id = do_import(database, load("fade-factory.yaml"))
        with database.transaction() as session:
            tenant = session.get(Tenant, tenant_id)
            assert tenant is not None
            tenant.settings = {**tenant.settings, "booking": {"capacity": 0}}
    finally:
        database.dispose()
    assert main(["tenant", "export", "fade-factory"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hablo: cannot export fade-factory: invalid booking settings: ")
    assert "booking.capacity" in err and err.count("\n") == 1
