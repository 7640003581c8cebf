"""The demo tenant, "Peluquería Sol": created or updated idempotently."""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import date, time
from pathlib import Path

import holidays as holiday_calendars
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hablo.db.enums import Plan, Role
from hablo.db.models import BusinessHours, Holiday, Service, Tenant, User
from hablo.security.passwords import hash_password

DEMO_SLUG = "demo"
DEMO_SERVICES = (
    # name, minutes, price in pesos, synonyms customers use
    ("Corte de pelo", 30, 8000, ["corte", "cortarme el pelo", "haircut", "cut"]),
    ("Coloración", 90, 25000, ["tintura", "teñir", "color", "tinte", "coloring", "dye"]),
    ("Arreglo de barba", 20, 5000, ["barba", "beard", "beard trim"]),
    ("Manicura", 45, 9000, ["uñas", "manos", "hacerme las manos", "manicure", "nails"]),
    ("Brushing", 30, 7000, ["brushing", "blowout", "blow dry", "secado"]),
)
# What English-speaking customers read instead.
DEMO_ENGLISH_NAMES = {
    "Corte de pelo": "Haircut",
    "Coloración": "Hair colouring",
    "Arreglo de barba": "Beard trim",
    "Manicura": "Manicure",
    "Brushing": "Blow-dry",
}
# weekday -> (opens, closes); Sunday closed.
DEMO_HOURS = {
    0: (time(9), time(19)),
    1: (time(9), time(19)),
    2: (time(9), time(19)),
    3: (time(9), time(19)),
    4: (time(9), time(19)),
    5: (time(9), time(13)),
}


def seed_demo(session: Session, today: date | None = None) -> uuid.UUID:
    """Create or update the demo tenant. Safe to run any number of times."""
    return seed_salon(session, DEMO_SLUG, "Peluquería Sol", today)


def seed_salon(session: Session, slug: str, name: str, today: date | None = None) -> uuid.UUID:
    """A tenant with the demo salon's catalog, hours and holidays, under any slug."""
    tenant = session.scalars(select(Tenant).where(Tenant.slug == slug)).one_or_none()
    if tenant is None:
        tenant = Tenant(slug=slug, name=name)
        session.add(tenant)
    tenant.name = name
    tenant.plan = Plan.PROFESSIONAL
    tenant.locale = "es-AR"
    tenant.timezone = "America/Argentina/Buenos_Aires"
    tenant.currency = "ARS"
    tenant.address = "Av. Corrientes 1234, CABA"
    tenant.contact_limit = 10000
    tenant.monthly_message_limit = 1_000_000
    session.flush()

    existing = {
        s.name: s for s in session.scalars(select(Service).where(Service.tenant_id == tenant.id))
    }
    for name, minutes, pesos, synonyms in DEMO_SERVICES:
        service = existing.get(name) or Service(tenant_id=tenant.id, name=name)
        service.duration_minutes = minutes
        service.price_minor = pesos * 100  # ARS has two minor digits
        service.synonyms = synonyms
        service.names = {"en": DEMO_ENGLISH_NAMES[name]}
        service.active = True
        session.add(service)

    session.execute(delete(BusinessHours).where(BusinessHours.tenant_id == tenant.id))
    for weekday, (opens, closes) in DEMO_HOURS.items():
        session.add(
            BusinessHours(tenant_id=tenant.id, weekday=weekday, opens_at=opens, closes_at=closes)
        )

    year = (today or date.today()).year
    calendar = holiday_calendars.country_holidays("AR", years=(year, year + 1), language="es")
    known = set(session.scalars(select(Holiday.day).where(Holiday.tenant_id == tenant.id)))
    for day, name in sorted(calendar.items()):
        if day not in known:
            session.add(Holiday(tenant_id=tenant.id, day=day, name=str(name)))
    session.flush()
    return tenant.id


DEMO_OWNER_EMAIL = "owner@demo.hablo"
DEMO_OWNER_PASSWORD_FILE = "demo-owner-password"


def seed_demo_owner(session: Session, state_dir: Path) -> tuple[str, str | None]:
    """The demo salon's owner, for trying the API: created once with a random password
    kept in the state folder (readable by its owner only). Returns (e-mail, password;
    None when the file is gone, e.g. after a password reset)."""
    password_file = state_dir / DEMO_OWNER_PASSWORD_FILE
    exists = session.scalars(select(User.id).where(User.email == DEMO_OWNER_EMAIL)).first()
    if exists is None:
        password = "Sol-" + secrets.token_urlsafe(12)
        state_dir.mkdir(parents=True, exist_ok=True)
        password_file.unlink(missing_ok=True)
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        session.add(
            User(
                tenant_id=seed_demo(session),
                email=DEMO_OWNER_EMAIL,
                first_name="Sol",
                last_name="Demo",
                password_hash=hash_password(password),
                role=Role.OWNER,
            )
        )
        session.flush()
        return DEMO_OWNER_EMAIL, password
    if password_file.exists():
        return DEMO_OWNER_EMAIL, password_file.read_text().strip()
    return DEMO_OWNER_EMAIL, None
