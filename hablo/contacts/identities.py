"""A contact's phone and e-mail mirrored into `contact_identities`.

The engine finds the contact of an inbound message by identity (kind, value): WhatsApp,
SMS and console peers are kind "phone" with an E.164 value, web chat visitors are kind
"webchat", and any other channel uses its own name ("email" for mail). Keeping the
contact's phone and e-mail columns mirrored there means a customer the business typed in
by hand is the same contact when they later write over WhatsApp or mail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from hablo.db.models import Contact, ContactIdentity

PHONE = "phone"
EMAIL = "email"
# Contact column -> identity kind.
MIRRORED = {"phone": PHONE, "email": EMAIL}


@dataclass(frozen=True)
class Claim:
    """A phone or e-mail that already belongs to a contact."""

    field: str  # "phone" | "email"
    contact_id: uuid.UUID


def owners(
    session: Session,
    tenant_id: uuid.UUID,
    phones: Iterable[str],
    emails: Iterable[str],
) -> dict[tuple[str, str], uuid.UUID]:
    """(field, value) -> the contact that has it, from identities and contact columns
    (a contact created before identities were mirrored still counts)."""
    phone_set, email_set = set(phones), set(emails)
    found: dict[tuple[str, str], uuid.UUID] = {}
    if not phone_set and not email_set:
        return found
    wanted = []
    if phone_set:
        wanted.append(and_(ContactIdentity.kind == PHONE, ContactIdentity.value.in_(phone_set)))
    if email_set:
        wanted.append(and_(ContactIdentity.kind == EMAIL, ContactIdentity.value.in_(email_set)))
    rows = session.execute(
        select(ContactIdentity.kind, ContactIdentity.value, ContactIdentity.contact_id).where(
            ContactIdentity.tenant_id == tenant_id, or_(*wanted)
        )
    )
    for kind, value, contact_id in rows:
        found[("phone" if kind == PHONE else "email", value)] = contact_id
    columns = []
    if phone_set:
        columns.append(Contact.phone.in_(phone_set))
    if email_set:
        columns.append(Contact.email.in_(email_set))
    contacts = session.execute(
        select(Contact.id, Contact.phone, Contact.email).where(
            Contact.tenant_id == tenant_id, or_(*columns)
        )
    )
    for contact_id, phone, email in contacts:
        if phone in phone_set:
            found.setdefault(("phone", phone), contact_id)
        if email in email_set:
            found.setdefault(("email", email), contact_id)
    return found


def first_claim(
    session: Session,
    tenant_id: uuid.UUID,
    phone: str | None,
    email: str | None,
    own_id: uuid.UUID | None = None,
) -> Claim | None:
    """The first of phone / e-mail that another contact already has."""
    taken = owners(session, tenant_id, [phone] if phone else [], [email] if email else [])
    for field, value in (("phone", phone), ("email", email)):
        owner = taken.get((field, value)) if value else None
        if owner is not None and owner != own_id:
            return Claim(field, owner)
    return None


def sync(
    session: Session,
    contact: Contact,
    previous: dict[str, str | None] | None = None,
) -> None:
    """Make the contact's phone/e-mail identities match its columns. `previous` holds the
    column values before an edit: their identities are dropped when the value changed."""
    previous = previous or {}
    for column, kind in MIRRORED.items():
        old, new = previous.get(column), getattr(contact, column)
        if old and old != new:
            session.execute(
                delete(ContactIdentity).where(
                    ContactIdentity.tenant_id == contact.tenant_id,
                    ContactIdentity.contact_id == contact.id,
                    ContactIdentity.kind == kind,
                    ContactIdentity.value == old,
                )
            )
        if new:
            exists = session.scalar(
                select(ContactIdentity.id).where(
                    ContactIdentity.tenant_id == contact.tenant_id,
                    ContactIdentity.kind == kind,
                    ContactIdentity.value == new,
                )
            )
            if exists is None:
                session.add(
                    ContactIdentity(
                        tenant_id=contact.tenant_id, contact_id=contact.id, kind=kind, value=new
                    )
                )
