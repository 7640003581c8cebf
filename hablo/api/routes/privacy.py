"""GDPR for a contact: export everything we hold, erase it, and record consent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from hablo.api.endpoints import ApiRoutes, Call
from hablo.api.problems import conflict
from hablo.api.scope import TenantScope, check_if_match, etag_of
from hablo.contacts.detail import CONSENT_GIVEN, CONSENT_WITHDRAWN, detail_of
from hablo.contacts.privacy import erase_contact, export_contact
from hablo.contacts.schemas import ConsentIn, ContactDetail
from hablo.db.models import Contact

routes = ApiRoutes("privacy")


class ContactDataExport(BaseModel):
    """Everything about one contact, for a data subject access request."""

    exported_at: datetime
    profile: dict[str, Any]
    identities: list[dict[str, Any]]
    consent_history: list[dict[str, Any]]
    conversations: list[dict[str, Any]] = Field(description="Each with its messages")
    notes: list[dict[str, Any]]
    bookings: list[dict[str, Any]]
    payments: list[dict[str, Any]]


class EraseReport(BaseModel):
    contact_id: uuid.UUID
    erased_at: datetime
    already_erased: bool = Field(description="true: erased before; nothing changed now")
    conversations: int = Field(description="Conversations kept, their messages blanked")
    messages: int = Field(description="Message bodies replaced by [erased]")
    notes: int = Field(description="Agent notes deleted")
    identities: int = Field(description="Channel identities deleted")


@routes.get(
    "/api/contacts/{contact_id}/export",
    "contacts:privacy",
    response=ContactDataExport,
    summary="Export all data held about a contact (GDPR access request)",
)
async def export_contact_data(call: Call[None, None]) -> ContactDataExport:
    def work(scope: TenantScope) -> ContactDataExport:
        contact = scope.get(Contact, call.path["contact_id"], what="contact")
        data = export_contact(scope, contact)
        scope.audit("privacy_export", "contact", contact.id, {})
        return ContactDataExport(exported_at=datetime.now(UTC), **data)

    return await call.db(work)


@routes.post(
    "/api/contacts/{contact_id}/erase",
    "contacts:privacy",
    response=EraseReport,
    summary="Erase a contact's personal data (GDPR), keeping counts and amounts; idempotent",
)
async def erase_contact_data(call: Call[None, None]) -> EraseReport:
    def work(scope: TenantScope) -> EraseReport:
        contact = scope.get(Contact, call.path["contact_id"], what="contact", for_update=True)
        if contact.erased_at is not None:
            return EraseReport(
                contact_id=contact.id,
                erased_at=contact.erased_at,
                already_erased=True,
                conversations=0,
                messages=0,
                notes=0,
                identities=0,
            )
        counts = erase_contact(scope, contact)
        # Counts only: the audit log must not keep what was just erased.
        scope.audit("erase", "contact", contact.id, dict(counts))
        assert contact.erased_at is not None
        return EraseReport(
            contact_id=contact.id, erased_at=contact.erased_at, already_erased=False, **counts
        )

    return await call.db(work)


@routes.put(
    "/api/contacts/{contact_id}/consent",
    "contacts:write",
    body=ConsentIn,
    response=ContactDetail,
    errors=(409, 412),
    summary="Record that the contact gave or withdrew consent, and where",
)
async def set_consent(call: Call[None, ConsentIn]) -> ContactDetail:
    body = call.body

    def work(scope: TenantScope) -> ContactDetail:
        contact = scope.get(Contact, call.path["contact_id"], what="contact", for_update=True)
        check_if_match(call.if_match(), contact)
        if contact.erased_at is not None:
            raise conflict("this contact was erased; consent cannot be recorded")
        contact.consent_at = datetime.now(UTC) if body.given else None
        scope.session.flush()
        action = CONSENT_GIVEN if body.given else CONSENT_WITHDRAWN
        scope.audit(action, "contact", contact.id, {"source": body.source})
        scope.session.flush()
        call.response_headers["ETag"] = etag_of(contact)
        return detail_of(scope, contact)

    return await call.db(work)
