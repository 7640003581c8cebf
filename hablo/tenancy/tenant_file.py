"""A whole business in one YAML file (docs: /work/shared/tenants/FORMAT.md, README "Your
business as a file"): validated in full before anything is written, imported
idempotently (the file is the truth), exported back in the same shape."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hablo.db.base import utcnow
from hablo.db.models import BusinessHours, Holiday, Service, SpecialHours, Tenant
from hablo.domain.booking.policy import BookingPolicy
from hablo.tenancy.calendar import (
    COUNTRY_KEY,
    OPEN_DAYS_KEY,
    country_calendar,
    known_country,
    sync_public_holidays,
)
from hablo.tenancy.money import MajorAmount, major_to_minor, minor_to_major
from hablo.tenancy.settings import (
    RESERVED_SLUGS,
    SLUG_PATTERN,
    CurrencyCode,
    LocaleName,
    TimeZoneName,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_INTERVALS_PER_DAY = 6
BOT_KEY = "bot"
BOOKING_KEY = "booking"
# File name -> BookingPolicy field (the file uses the words people say: "min").
BOOKING_FIELDS = {
    "slot_step_min": "slot_step_minutes",
    "buffer_min": "buffer_minutes",
    "min_notice_min": "min_notice_minutes",
    "max_days_ahead": "max_days_ahead",
    "capacity": "capacity",
}
_INTERVAL = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class TenantFileError(ValueError):
    """A file that cannot be imported: one line naming the key's path."""


# -- field types ----------------------------------------------------------------------------


def _interval(value: object) -> tuple[time, time]:
    if not isinstance(value, str) or not (match := _INTERVAL.match(value.strip())):
        raise ValueError('must be "HH:MM-HH:MM", e.g. "09:00-13:00"')
    oh, om, ch, cm = (int(g) for g in match.groups())
    if ch == 24 and cm != 0:
        raise ValueError('must be "HH:MM-HH:MM", e.g. "09:00-13:00"')
    opens = time(oh, om)
    # 24:00 closes at midnight; the day's last minute is what a time can hold.
    closes = time(23, 59) if ch == 24 else time(ch, cm)
    if opens >= closes:
        raise ValueError(f"{value}: opens after it closes")
    return opens, closes


def _day(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError('must be a date "YYYY-MM-DD"')


def _no_overlaps(intervals: list[tuple[time, time]]) -> list[tuple[time, time]]:
    ordered = sorted(intervals)
    for (a1, b1), (a2, b2) in itertools.pairwise(ordered):
        if a2 < b1:
            raise ValueError(f"{clock(a1)}-{clock(b1)} and {clock(a2)}-{clock(b2)} overlap")
    return ordered


Interval = Annotated[tuple[time, time], BeforeValidator(_interval)]
Intervals = Annotated[
    list[Interval], Field(max_length=MAX_INTERVALS_PER_DAY), AfterValidator(_no_overlaps)
]
Day = Annotated[date, BeforeValidator(_day)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
ServiceName = Annotated[str, Field(min_length=1, max_length=120)]
Synonym = Annotated[str, Field(min_length=1, max_length=60)]


def clock(value: time) -> str:
    return value.strftime("%H:%M")


# -- the file -------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ServiceEntry(_Strict):
    name: str = Field(min_length=1, max_length=120)
    duration_min: int = Field(strict=True, gt=0, le=24 * 60)
    price: MajorAmount
    names: dict[Annotated[str, Field(pattern=r"^[a-z]{2}$")], ServiceName] = Field(
        default_factory=dict, max_length=10
    )
    synonyms: list[Synonym] = Field(default_factory=list, max_length=20)


class WeekHours(_Strict):
    mon: Intervals = Field(default_factory=list)
    tue: Intervals = Field(default_factory=list)
    wed: Intervals = Field(default_factory=list)
    thu: Intervals = Field(default_factory=list)
    fri: Intervals = Field(default_factory=list)
    sat: Intervals = Field(default_factory=list)
    sun: Intervals = Field(default_factory=list)

    def by_weekday(self) -> dict[int, list[tuple[time, time]]]:
        return {i: getattr(self, name) for i, name in enumerate(WEEKDAYS)}


class ClosedDay(_Strict):
    date: Day
    name: Text


class HolidayOverrides(_Strict):
    open: list[Day] = Field(default_factory=list)
    closed: list[ClosedDay] = Field(default_factory=list)


class SpecialDay(_Strict):
    date: Day
    hours: Annotated[Intervals, Field(min_length=1)]


class BookingRules(_Strict):
    slot_step_min: int = Field(default=15, strict=True)
    buffer_min: int = Field(default=0, strict=True)
    min_notice_min: int = Field(default=60, strict=True)
    max_days_ahead: int = Field(default=60, strict=True)
    capacity: int = Field(default=1, strict=True)

    def policy_fields(self) -> dict[str, int]:
        return {field: getattr(self, name) for name, field in BOOKING_FIELDS.items()}


class BotSettings(_Strict):
    greeting: str | None = Field(default=None, min_length=1, max_length=1000)
    formality: Literal["usted", "tu", "vos"] | None = None


class TenantFile(_Strict):
    slug: str = Field(min_length=2, max_length=64, pattern=SLUG_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    locale: LocaleName
    time_zone: TimeZoneName
    currency: CurrencyCode
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    address: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=32)
    services: list[ServiceEntry] = Field(default_factory=list)
    hours: WeekHours = Field(default_factory=WeekHours)
    holidays: HolidayOverrides = Field(default_factory=HolidayOverrides)
    special_hours: list[SpecialDay] = Field(default_factory=list)
    booking: BookingRules = Field(default_factory=BookingRules)
    bot: BotSettings = Field(default_factory=BotSettings)

    @field_validator("slug")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_SLUGS:
            raise ValueError(f"{value!r} is reserved")
        return value

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is not None and not known_country(value):
            raise ValueError("no public holidays known for this country (ISO 3166 code)")
        return value


# -- reading ----------------------------------------------------------------------------------


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.startswith(("function-", "tuple[")):  # validator frames, not keys
            continue
        else:
            text += f".{part}" if text else part
    return text or "(file)"


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def parse(text: str) -> TenantFile:
    """The validated file, or TenantFileError naming the first bad key's path."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise TenantFileError(f"not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise TenantFileError("(file): must be a mapping of keys (slug, name, ...)")
    try:
        data = TenantFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise TenantFileError(f"{_path(first['loc'])}: {_message(first)}") from None
    _check_consistency(data)
    return data


def _check_consistency(data: TenantFile) -> None:
    """What no single key can check: prices in the currency, duplicates, booking limits."""
    names: dict[str, int] = {}
    for i, service in enumerate(data.services):
        key = service.name.casefold()
        if key in names:
            raise TenantFileError(f"services[{i}].name: same name as services[{names[key]}]")
        names[key] = i
        try:
            major_to_minor(service.price, data.currency)
        except ValueError as exc:
            raise TenantFileError(f"services[{i}].price: {exc}") from None
    seen: dict[date, str] = {}
    for i, special in enumerate(data.special_hours):
        if special.date in seen:
            raise TenantFileError(f"special_hours[{i}].date: {special.date} is listed twice")
        seen[special.date] = "special"
    closed = {c.date for c in data.holidays.closed}
    for i, day in enumerate(data.holidays.open):
        if day in closed:
            raise TenantFileError(f"holidays.open[{i}]: {day} is also in holidays.closed")
    if len(closed) != len(data.holidays.closed):
        raise TenantFileError("holidays.closed: a date is listed twice")
    try:
        BookingPolicy.model_validate(data.booking.policy_fields())
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0])
        name = next(k for k, v in BOOKING_FIELDS.items() if v == field)
        raise TenantFileError(f"booking.{name}: {first['msg']}") from None


# -- import -----------------------------------------------------------------------------------


def import_tenant(session: Session, data: TenantFile, today: date) -> Tenant:
    """Create or update the tenant to match the file. The same file twice changes
    nothing: rows are compared, not rewritten. Services the file no longer lists are
    deactivated (bookings reference them), not deleted."""
    tenant = session.scalars(select(Tenant).where(Tenant.slug == data.slug)).one_or_none()
    existed = tenant is not None
    before = _exported(session, data.slug, today) if existed else None
    if tenant is None:
        tenant = Tenant(slug=data.slug, name=data.name, settings={})
        session.add(tenant)
    for attr, value in (
        ("name", data.name),
        ("locale", data.locale),
        ("timezone", data.time_zone),
        ("currency", data.currency),
        ("address", data.address),
        ("phone", data.phone),
    ):
        if getattr(tenant, attr) != value:
            setattr(tenant, attr, value)
    settings = _imported_settings(dict(tenant.settings or {}), data)
    if settings != tenant.settings:
        tenant.settings = settings  # a new dict: JSON columns do not track in-place edits
    session.flush()
    _sync_services(session, tenant, data)
    _sync_week(session, tenant, data.hours.by_weekday())
    replace_special_hours(session, tenant.id, {s.date: list(s.hours) for s in data.special_hours})
    sync_public_holidays(
        session,
        tenant,
        years=(today.year, today.year + 1),
        since=date(today.year, 1, 1),
        closed={c.date: c.name for c in data.holidays.closed},
    )
    session.flush()
    if existed and (before is None or _exported(session, data.slug, today) != before):
        # Services, hours or holidays changed but maybe no column of the tenant row: its
        # version moves anyway, so running servers rebuild the tenant (TenantActor).
        tenant.updated_at = utcnow()
        session.flush()
    return tenant


def _exported(session: Session, slug: str, today: date) -> dict[str, Any] | None:
    try:
        return export_tenant(session, slug, today)
    except ValueError:  # settings stored by hand that no file can hold: count as changed
        return None


def _imported_settings(stored: dict[str, Any], data: TenantFile) -> dict[str, Any]:
    settings = dict(stored)
    # Booking keys the file does not know (reminders) are kept.
    settings[BOOKING_KEY] = {**dict(stored.get(BOOKING_KEY) or {}), **data.booking.policy_fields()}
    bot = {k: v for k, v in data.bot.model_dump().items() if v is not None}
    if bot:
        settings[BOT_KEY] = bot
    else:
        settings.pop(BOT_KEY, None)
    if data.country:
        settings[COUNTRY_KEY] = data.country
    else:
        settings.pop(COUNTRY_KEY, None)
    opened = sorted({d.isoformat() for d in data.holidays.open})
    if opened:
        settings[OPEN_DAYS_KEY] = opened
    else:
        settings.pop(OPEN_DAYS_KEY, None)
    return settings


def _sync_services(session: Session, tenant: Tenant, data: TenantFile) -> None:
    existing = {
        s.name.casefold(): s
        for s in session.scalars(select(Service).where(Service.tenant_id == tenant.id))
    }
    wanted: set[str] = set()
    for entry in data.services:
        key = entry.name.casefold()
        wanted.add(key)
        service = existing.get(key)
        if service is None:
            service = Service(tenant_id=tenant.id, name=entry.name, description="")
            session.add(service)
        values = {
            "name": entry.name,
            "duration_minutes": entry.duration_min,
            "price_minor": major_to_minor(entry.price, data.currency),
            "names": dict(entry.names),
            "synonyms": list(entry.synonyms),
            "active": True,
        }
        for attr, value in values.items():
            if getattr(service, attr, None) != value:
                setattr(service, attr, value)
    for key, service in existing.items():
        if key not in wanted and service.active:
            service.active = False


def _sync_week(
    session: Session, tenant: Tenant, week: Mapping[int, list[tuple[time, time]]]
) -> None:
    stored = sorted(
        (r.weekday, r.opens_at, r.closes_at)
        for r in session.scalars(select(BusinessHours).where(BusinessHours.tenant_id == tenant.id))
    )
    wanted = sorted((d, a, b) for d, intervals in week.items() for a, b in intervals)
    if stored == wanted:
        return
    replace_week(session, tenant.id, week)


def replace_week(
    session: Session, tenant_id: Any, week: Mapping[int, list[tuple[time, time]]]
) -> None:
    """The whole week's intervals (a weekday missing or [] is closed)."""
    session.execute(delete(BusinessHours).where(BusinessHours.tenant_id == tenant_id))
    for weekday, intervals in sorted(week.items()):
        for opens, closes in intervals:
            session.add(
                BusinessHours(
                    tenant_id=tenant_id, weekday=weekday, opens_at=opens, closes_at=closes
                )
            )
    session.flush()


def replace_special_hours(
    session: Session, tenant_id: Any, days: Mapping[date, list[tuple[time, time]]]
) -> bool:
    """Make the special hours exactly `days`; False when they already were."""
    stored = sorted(
        (r.day, r.opens_at, r.closes_at)
        for r in session.scalars(select(SpecialHours).where(SpecialHours.tenant_id == tenant_id))
    )
    wanted = sorted((d, a, b) for d, intervals in days.items() for a, b in intervals)
    if stored == wanted:
        return False
    session.execute(delete(SpecialHours).where(SpecialHours.tenant_id == tenant_id))
    for day, opens, closes in wanted:
        session.add(SpecialHours(tenant_id=tenant_id, day=day, opens_at=opens, closes_at=closes))
    session.flush()
    return True


# -- export -----------------------------------------------------------------------------------


def export_tenant(session: Session, slug: str, today: date) -> dict[str, Any]:
    """The tenant as a file's mapping (importing it back changes nothing)."""
    tenant = session.scalars(select(Tenant).where(Tenant.slug == slug)).one_or_none()
    if tenant is None:
        raise LookupError(f"no tenant with slug {slug!r}")
    settings = dict(tenant.settings or {})
    out: dict[str, Any] = {
        "slug": tenant.slug,
        "name": tenant.name,
        "locale": tenant.locale,
        "time_zone": tenant.timezone,
        "currency": tenant.currency,
    }
    country = settings.get(COUNTRY_KEY)
    if country:
        out["country"] = country
    if tenant.address:
        out["address"] = tenant.address
    if tenant.phone:
        out["phone"] = tenant.phone
    out["services"] = [
        _service_entry(s, tenant.currency)
        for s in session.scalars(
            select(Service)
            .where(Service.tenant_id == tenant.id, Service.active.is_(True))
            .order_by(Service.name)
        )
    ]
    week: dict[str, list[str]] = {name: [] for name in WEEKDAYS}
    for row in session.scalars(
        select(BusinessHours)
        .where(BusinessHours.tenant_id == tenant.id)
        .order_by(BusinessHours.weekday, BusinessHours.opens_at)
    ):
        week[WEEKDAYS[row.weekday]].append(interval_text(row.opens_at, row.closes_at))
    out["hours"] = week
    holidays = _holiday_overrides(session, tenant, today)
    if holidays:
        out["holidays"] = holidays
    special: dict[date, list[str]] = {}
    for srow in session.scalars(
        select(SpecialHours)
        .where(SpecialHours.tenant_id == tenant.id)
        .order_by(SpecialHours.day, SpecialHours.opens_at)
    ):
        special.setdefault(srow.day, []).append(interval_text(srow.opens_at, srow.closes_at))
    if special:
        out["special_hours"] = [{"date": d.isoformat(), "hours": h} for d, h in special.items()]
    policy = BookingPolicy.from_settings(settings)
    out["booking"] = {name: getattr(policy, field) for name, field in BOOKING_FIELDS.items()}
    bot = {k: v for k, v in dict(settings.get(BOT_KEY) or {}).items() if v is not None}
    if bot:
        out["bot"] = bot
    return out


def _service_entry(service: Service, currency: str) -> dict[str, Any]:
    price = minor_to_major(service.price_minor, currency)
    entry: dict[str, Any] = {
        "name": service.name,
        "duration_min": service.duration_minutes,
        # Whole amounts as integers (800, not 800.00): as people write them.
        "price": int(price) if price == price.to_integral_value() else float(price),
    }
    if service.names:
        entry["names"] = dict(service.names)
    if service.synonyms:
        entry["synonyms"] = list(service.synonyms)
    return entry


def _holiday_overrides(session: Session, tenant: Tenant, today: date) -> dict[str, Any]:
    settings = tenant.settings or {}
    calendar = country_calendar(
        settings.get(COUNTRY_KEY), (today.year, today.year + 1), tenant.locale
    )
    rows = session.scalars(
        select(Holiday)
        .where(Holiday.tenant_id == tenant.id, Holiday.day >= date(today.year, 1, 1))
        .order_by(Holiday.day)
    )
    closed = [
        {"date": h.day.isoformat(), "name": h.name} for h in rows if calendar.get(h.day) != h.name
    ]
    opened = sorted(str(d) for d in settings.get(OPEN_DAYS_KEY) or ())
    found: dict[str, Any] = {}
    if opened:
        found["open"] = opened
    if closed:
        found["closed"] = closed
    return found


def interval_text(opens: time, closes: time) -> str:
    end = "24:00" if closes == time(23, 59) else clock(closes)
    return f"{clock(opens)}-{end}"


def dump(data: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(data), allow_unicode=True, sort_keys=False, width=100)
