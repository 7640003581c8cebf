"""A contact as the API shows it in full: identities, consent and counts."""

from __future__ import annotations

from hablo.api.scope import TenantScope
from hablo.contacts.schemas import ConsentOut, ContactDetail, ContactOut, IdentityOut
from hablo.db.models import AuditLog, Booking, Contact, ContactIdentity, Conversation

# Audit actions that record consent (PUT /api/contacts/{id}/consent).
CONSENT_GIVEN = "consent_given"
CONSENT_WITHDRAWN = "consent_withdrawn"


def detail_of(scope: TenantScope, contact: Contact) -> ContactDetail:
    session = scope.session
    idents = session.scalars(
        scope.select(ContactIdentity)
        .where(ContactIdentity.contact_id == contact.id)
        .order_by(ContactIdentity.created_at, ContactIdentity.kind)
    )
    conversations = scope.count(
        scope.select(Conversation).where(Conversation.contact_id == contact.id)
    )
    bookings = scope.count(scope.select(Booking).where(Booking.contact_id == contact.id))
    return ContactDetail(
        **ContactOut.of(contact).model_dump(),
        identities=[
            IdentityOut(kind=i.kind, value=i.value, created_at=i.created_at) for i in idents
        ],
        conversations_count=conversations,
        bookings_count=bookings,
        consent=consent_of(scope, contact),
    )


def consent_of(scope: TenantScope, contact: Contact) -> ConsentOut:
    """Consent as recorded by PUT /consent: the time is on the contact, the source in the
    audit entry that recorded it (the contacts table has no column for it)."""
    latest = scope.session.scalars(
        scope.select(AuditLog)
        .where(
            AuditLog.entity == "contact",
            AuditLog.entity_id == str(contact.id),
            AuditLog.action.in_((CONSENT_GIVEN, CONSENT_WITHDRAWN)),
        )
        .order_by(AuditLog.created_at.desc())
        .limit(1)
    ).first()
    source = latest.changes.get("source") if latest is not None else None
    at = contact.consent_at or (latest.created_at if latest is not None else None)
    return ConsentOut(
        given=contact.consent_at is not None,
        at=at,
        source=str(source) if source is not None else None,
    )
