"""What the contacts API takes and gives (pydantic models, also the OpenAPI schemas)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, field_validator

from hablo.api.endpoints import PageQuery, RequestModel
from hablo.db.enums import ContactKind
from hablo.db.models import Contact
from hablo.domain.contacts import (
    MAX_EMAIL,
    MAX_PHONE_INPUT,
    check_language,
    check_text,
    normalize_email,
)

_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    if not _EARLIEST <= value <= _LATEST:
        raise ValueError("must be between 1900 and 2200")
    return value


# A timezone-aware instant the databases can store (naive times are ambiguous).
Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]
ContactSort = Literal[
    "name",
    "-name",
    "created_at",
    "-created_at",
    "total_spent",
    "-total_spent",
    "last_purchase_at",
    "-last_purchase_at",
]


class ContactOut(BaseModel):
    id: uuid.UUID
    name: str
    phone: str | None = Field(description="E.164")
    email: str | None
    kind: ContactKind
    language: str | None
    total_conversations: int
    total_spent_minor: int = Field(description="Minor units (cents) of the tenant's currency")
    last_purchase_at: datetime | None
    consent_at: datetime | None = Field(description="When the customer consented; null: none")
    erased_at: datetime | None = Field(description="Set once the contact was erased (GDPR)")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Contact) -> ContactOut:
        return cls(
            id=c.id,
            name=c.name,
            phone=c.phone,
            email=c.email,
            kind=c.kind,
            language=c.language,
            total_conversations=c.total_conversations,
            total_spent_minor=c.total_spent_minor,
            last_purchase_at=c.last_purchase_at,
            consent_at=c.consent_at,
            erased_at=c.erased_at,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class IdentityOut(BaseModel):
    kind: str = Field(description='"phone", "email", "webchat", ...')
    value: str
    created_at: datetime


class ConsentOut(BaseModel):
    given: bool
    at: datetime | None = Field(description="When it was given or withdrawn")
    source: str | None = Field(description="Where it was given (web form, WhatsApp, paper...)")


class ContactDetail(ContactOut):
    identities: list[IdentityOut]
    conversations_count: int
    bookings_count: int
    consent: ConsentOut


def _blank_to_none(value: str | None) -> str | None:
    return value if value else None


def _email_or_none(value: str | None) -> str | None:
    return normalize_email(value) if value else None


def _language_or_none(value: str | None) -> str | None:
    return check_language(value) if value else None


PlainText = Annotated[str, AfterValidator(check_text)]
PhoneInput = Annotated[
    str | None, Field(max_length=MAX_PHONE_INPUT), AfterValidator(_blank_to_none)
]
EmailInput = Annotated[
    str | None,
    Field(max_length=MAX_EMAIL, description="Checked and lowercased"),
    AfterValidator(_email_or_none),
]
LanguageInput = Annotated[
    str | None, Field(max_length=8, description='"es", "es-AR"'), AfterValidator(_language_or_none)
]


class ContactIn(RequestModel):
    name: PlainText = Field(default="", max_length=200)
    phone: PhoneInput = Field(
        default=None, description="Any format; stored as E.164 (tenant's region by default)"
    )
    email: EmailInput = None
    kind: ContactKind = ContactKind.PROSPECT
    language: LanguageInput = None


class ContactPatch(RequestModel):
    """Only the fields sent change; send null to remove a phone or e-mail."""

    name: PlainText | None = Field(default=None, max_length=200)
    phone: PhoneInput = None
    email: EmailInput = None
    kind: ContactKind | None = None
    language: LanguageInput = None


class ContactFilter(RequestModel):
    kind: ContactKind | None = None
    q: PlainText | None = Field(
        default=None, max_length=120, description="Part of name, phone or e-mail"
    )
    has_email: bool | None = None
    created_from: Instant | None = None
    created_to: Instant | None = None
    last_purchase_from: Instant | None = None
    last_purchase_to: Instant | None = None
    sort: ContactSort = "name"


class ContactQuery(PageQuery, ContactFilter):
    pass


class ConsentIn(RequestModel):
    given: bool = Field(description="true: the customer consents; false: consent withdrawn")
    source: str = Field(min_length=1, max_length=64, description='e.g. "web_form", "whatsapp"')

    @field_validator("source")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("source must be plain text")
        return value


class RowError(BaseModel):
    field: str | None
    code: str = Field(description='"invalid", "duplicate", "plan_limit_reached", ...')
    message: str


class RowFailure(BaseModel):
    row: int = Field(description="Row number as a spreadsheet shows it (the header is row 1)")
    errors: list[RowError]
    contact_id: uuid.UUID | None = Field(default=None, description="The existing contact")


class ImportReport(BaseModel):
    total_rows: int
    imported: int
    updated: int
    skipped: int = Field(description="Duplicates left as they were (on_duplicate=skip)")
    failed_count: int
    failed: list[RowFailure] = Field(description="The first failures, in row order")
    failed_not_listed: int = Field(description="Failures beyond the listed ones")


class ImportQuery(RequestModel):
    on_duplicate: Literal["report", "skip", "update"] = Field(
        default="report",
        description="A row whose phone or e-mail a contact already has: report it as "
        "failed, skip it, or update that contact",
    )
