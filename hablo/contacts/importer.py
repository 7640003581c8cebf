"""Importing contacts from CSV records, one batch per transaction.

Each batch is validated row by row (a bad row fails alone, with its row number and
reasons), checked against the contacts that already have its phone or e-mail (and the
rows before it in the file), held to the plan's contact limit, and written in one
transaction: if that write fails, only this batch is rolled back and its rows are
reported as not saved.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from hablo.api.scope import TenantScope
from hablo.contacts import identities
from hablo.contacts.csv_io import Record, split_record, unescape_cell
from hablo.contacts.limits import lock_room, record_usage
from hablo.contacts.schemas import ImportReport, RowError, RowFailure
from hablo.db.base import new_id
from hablo.db.enums import ContactKind
from hablo.db.models import Contact, ContactIdentity
from hablo.domain.contacts import (
    check_language,
    check_text,
    normalize_email,
    normalize_phone,
    parse_kind,
    region_of_locale,
)

BATCH_SIZE = 500
MAX_LISTED_FAILURES = 1000
MAX_NAME = 200
T = TypeVar("T")
OnDuplicate = Literal["report", "skip", "update"]


@dataclass
class Candidate:
    row: int
    name: str | None
    phone: str | None
    email: str | None
    kind: ContactKind | None
    language: str | None


@dataclass
class BatchOutcome:
    """What one batch did; merged into the report only once its transaction committed."""

    imported: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    skipped: int = 0
    failures: list[RowFailure] = field(default_factory=list)

    def fail(self, row: int, *errors: RowError, contact_id: uuid.UUID | None = None) -> None:
        self.failures.append(RowFailure(row=row, errors=list(errors), contact_id=contact_id))

    def rolled_back(self, reason: str) -> None:
        for row in sorted(self.imported + self.updated):
            self.fail(row, RowError(field=None, code="batch_failed", message=reason))
        self.imported, self.updated = [], []


class ContactImport:
    def __init__(
        self, columns: list[str | None], delimiter: str, on_duplicate: OnDuplicate
    ) -> None:
        self.columns = columns
        self.delimiter = delimiter
        self.on_duplicate = on_duplicate
        self.total_rows = 0
        self.imported = 0
        self.updated = 0
        self.skipped = 0
        self.failed_count = 0
        self.failed: list[RowFailure] = []

    def merge(self, outcome: BatchOutcome) -> None:
        self.imported += len(outcome.imported)
        self.updated += len(outcome.updated)
        self.skipped += outcome.skipped
        self.failed_count += len(outcome.failures)
        room = MAX_LISTED_FAILURES - len(self.failed)
        self.failed.extend(sorted(outcome.failures, key=lambda f: f.row)[: max(room, 0)])

    def report(self) -> ImportReport:
        return ImportReport(
            total_rows=self.total_rows,
            imported=self.imported,
            updated=self.updated,
            skipped=self.skipped,
            failed_count=self.failed_count,
            failed=self.failed,
            failed_not_listed=self.failed_count - len(self.failed),
        )

    # -- one batch, inside its transaction -------------------------------------------------

    def write_batch(self, scope: TenantScope, records: list[Record], out: BatchOutcome) -> None:
        session = scope.session
        room = lock_room(session, scope.tenant_id)
        region = region_of_locale(room.locale)
        candidates = [c for r in records if (c := self._candidate(r, region, out)) is not None]
        taken = identities.owners(
            session,
            scope.tenant_id,
            [c.phone for c in candidates if c.phone],
            [c.email for c in candidates if c.email],
        )
        existing = _load(session, scope.tenant_id, set(taken.values()))
        claims: dict[tuple[str, str], Contact] = {
            key: existing[contact_id] for key, contact_id in taken.items()
        }
        created: list[Contact] = []
        free = room.free
        # Identities of contacts new in this batch are written once, after the loop.
        for candidate in candidates:
            owners = {
                claims[key].id: claims[key]
                for key in (("phone", candidate.phone), ("email", candidate.email))
                if key[1] and key in claims
            }
            if len(owners) > 1:
                out.fail(
                    candidate.row,
                    RowError(
                        field=None,
                        code="conflict",
                        message="the phone and the e-mail belong to two different contacts",
                    ),
                )
            elif owners:
                owner = next(iter(owners.values()))
                self._duplicate(session, candidate, owner, claims, out, new=owner in created)
            elif free <= 0:
                out.fail(
                    candidate.row,
                    RowError(
                        field=None,
                        code="plan_limit_reached",
                        message=f"your plan allows {room.limit} contacts and all are in use",
                    ),
                )
            else:
                contact = _new_contact(scope, candidate)
                created.append(contact)
                _claim(claims, contact)
                out.imported.append(candidate.row)
                free -= 1
        session.flush()
        for contact in created:
            for column, kind in identities.MIRRORED.items():
                value = getattr(contact, column)
                if value:
                    session.add(
                        ContactIdentity(
                            tenant_id=scope.tenant_id, contact_id=contact.id, kind=kind, value=value
                        )
                    )
        session.flush()
        if out.imported or out.updated:
            record_usage(session, scope.tenant_id)
            rows = sorted(out.imported + out.updated)
            scope.audit(
                "import",
                "contact",
                None,
                {
                    "imported": len(out.imported),
                    "updated": len(out.updated),
                    "first_row": rows[0],
                    "last_row": rows[-1],
                },
            )

    def _duplicate(
        self,
        session: Session,
        candidate: Candidate,
        contact: Contact,
        claims: dict[tuple[str, str], Contact],
        out: BatchOutcome,
        *,
        new: bool,
    ) -> None:
        if self.on_duplicate == "skip":
            out.skipped += 1
            return
        if self.on_duplicate == "report":
            field_name = "phone" if claims.get(("phone", candidate.phone or "")) else "email"
            out.fail(
                candidate.row,
                RowError(
                    field=field_name,
                    code="duplicate",
                    message=f"a contact with this {field_name} already exists",
                ),
                contact_id=contact.id,
            )
            return
        previous = {"phone": contact.phone, "email": contact.email}
        for column in ("name", "phone", "email", "kind", "language"):
            value = getattr(candidate, column)
            if value:
                setattr(contact, column, value)
        if not new:
            identities.sync(session, contact, previous)
        _claim(claims, contact)
        out.updated.append(candidate.row)

    def _candidate(self, record: Record, region: str | None, out: BatchOutcome) -> Candidate | None:
        if record.problem is not None:
            out.fail(record.row, RowError(field=None, code="unreadable", message=record.problem))
            return None
        cells = split_record(record.text, self.delimiter)
        if len(cells) > len(self.columns):
            message = f"the row has {len(cells)} cells; the header has {len(self.columns)}"
            out.fail(record.row, RowError(field=None, code="invalid", message=message))
            return None
        values = {
            column: unescape_cell(cell.strip())
            for column, cell in zip(self.columns, cells, strict=False)
            if column is not None
        }
        errors: list[RowError] = []
        name = values.get("name", "")
        if len(name) > MAX_NAME:
            message = f"name is over {MAX_NAME} characters"
            errors.append(RowError(field="name", code="invalid", message=message))
        elif _checked(values, "name", check_text, errors) is None:
            name = ""
        candidate = Candidate(
            row=record.row,
            name=name or None,
            phone=_checked(values, "phone", lambda raw: normalize_phone(raw, region), errors),
            email=_checked(values, "email", normalize_email, errors),
            kind=_checked(values, "kind", parse_kind, errors),
            language=_checked(values, "language", check_language, errors),
        )
        if not values.get("phone") and not values.get("email"):
            message = "the row needs a phone or an e-mail"
            errors.append(RowError(field=None, code="invalid", message=message))
        if errors:
            out.fail(record.row, *errors)
            return None
        return candidate


def _checked(
    values: dict[str, str], column: str, check: Callable[[str], T], errors: list[RowError]
) -> T | None:
    raw = values.get(column, "")
    if not raw:
        return None
    try:
        return check(raw)
    except ValueError as exc:
        errors.append(RowError(field=column, code="invalid", message=str(exc)))
        return None


def _load(session: Session, tenant_id: uuid.UUID, ids: set[uuid.UUID]) -> dict[uuid.UUID, Contact]:
    if not ids:
        return {}
    rows = session.scalars(
        select(Contact).where(Contact.tenant_id == tenant_id, Contact.id.in_(ids))
    )
    return {c.id: c for c in rows}


def _new_contact(scope: TenantScope, c: Candidate) -> Contact:
    contact = Contact(
        id=new_id(),
        name=c.name or "",
        phone=c.phone,
        email=c.email,
        kind=c.kind or ContactKind.PROSPECT,
        language=c.language,
        total_conversations=0,
        total_spent_minor=0,
    )
    scope.add(contact)
    return contact


def _claim(claims: dict[tuple[str, str], Contact], contact: Contact) -> None:
    """Later rows of the same file find this contact as a duplicate."""
    if contact.phone:
        claims[("phone", contact.phone)] = contact
    if contact.email:
        claims[("email", contact.email)] = contact
