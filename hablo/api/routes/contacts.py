"""Contacts (the business's customers): list, search, create, edit, delete, and CSV
import/export. The same person over several channels is one contact: a contact's phone
and e-mail are mirrored into its identities, which the engine matches inbound on."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from hablo.api.app_keys import BRIDGE
from hablo.api.endpoints import ApiRoutes, Call, Page
from hablo.api.problems import ApiError, conflict
from hablo.api.scope import TenantScope, check_if_match, etag_of
from hablo.contacts import identities
from hablo.contacts.csv_io import (
    EXPORT_COLUMNS,
    CsvHeaderError,
    CsvTooLarge,
    Record,
    is_blank_row,
    parse_header,
    read_records,
    sniff_delimiter,
    split_record,
    write_rows,
)
from hablo.contacts.detail import detail_of
from hablo.contacts.importer import BATCH_SIZE, BatchOutcome, ContactImport
from hablo.contacts.limits import (
    PLAN_LIMIT_STATUS,
    Room,
    lock_room,
    plan_limit_error,
    record_usage,
)
from hablo.contacts.privacy import conversation_peers, forget_inbound_events
from hablo.contacts.schemas import (
    ContactDetail,
    ContactFilter,
    ContactIn,
    ContactOut,
    ContactPatch,
    ContactQuery,
    ImportQuery,
    ImportReport,
)
from hablo.contacts.search import filtered, ordered
from hablo.db.models import Contact, Payment
from hablo.domain.contacts import normalize_phone, region_of_locale

log = logging.getLogger(__name__)
routes = ApiRoutes("contacts")

IMPORT_MAX_BYTES = 50 * 1024 * 1024
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"})
EXPORT_FETCH = 500


class ContactExportQuery(ContactFilter):
    delimiter: Literal["comma", "semicolon"] = Field(
        default="comma", description='"semicolon" for Excel in Spanish locales'
    )


# The fixed paths come before /api/contacts/{contact_id}, which would otherwise match them.


@routes.get(
    "/api/contacts/export",
    "contacts:export",
    query=ContactExportQuery,
    produces="text/csv",
    streaming=True,
    summary="Export contacts as CSV (same filters as the list; erased contacts left out)",
)
async def export_contacts(call: Call[ContactExportQuery, None]) -> web.StreamResponse:
    q = call.query
    delimiter = ";" if q.delimiter == "semicolon" else ","
    bridge = call.request.app[BRIDGE]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="contacts-{stamp}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(call.request)

    def send(text: str) -> None:
        # From the DB worker thread: hand each piece to the loop and wait (backpressure).
        bridge.run(response.write(text.encode("utf-8")), timeout=60)

    def work(scope: TenantScope) -> None:
        # A byte-order mark so Excel reads UTF-8; one transaction, one consistent snapshot.
        send("\ufeff" + write_rows([EXPORT_COLUMNS], delimiter))
        query = ordered(filtered(scope, q).where(Contact.erased_at.is_(None)), q.sort)
        result = scope.session.scalars(query.execution_options(yield_per=EXPORT_FETCH))
        for contacts in result.partitions():
            send(write_rows((_export_row(c) for c in contacts), delimiter))

    try:
        await call.db(work)
        await response.write_eof()
    except (ConnectionError, TimeoutError, SQLAlchemyError):
        # Headers are gone already: cut the connection so the file is visibly incomplete.
        log.warning("contacts export aborted", exc_info=True)
        if call.request.transport is not None:
            call.request.transport.close()
    return response


def _export_row(c: Contact) -> list[str]:
    def stamp(value: datetime | None) -> str:
        return value.isoformat() if value else ""

    return [
        c.name,
        c.phone or "",
        c.email or "",
        c.kind.value,
        c.language or "",
        stamp(c.consent_at),
        str(c.total_spent_minor),
        stamp(c.last_purchase_at),
        stamp(c.created_at),
    ]


@routes.post(
    "/api/contacts/import",
    "contacts:import",
    query=ImportQuery,
    consumes="text/csv",
    response=ImportReport,
    streaming=True,  # a large file takes longer than the request deadline
    summary="Import contacts from CSV (header row: name, phone, email, kind, language)",
    description=(
        "The body is the CSV file (UTF-8, with or without BOM, or Windows-1252; comma, "
        "semicolon or tab between cells; at most 50 MB). Rows are written in batches of "
        f"{BATCH_SIZE}, each batch in one transaction. Bad rows are reported with their "
        "row number (the header is row 1) and reasons; the others are imported."
    ),
)
async def import_contacts(call: Call[ImportQuery, None]) -> ImportReport:
    request = call.request
    if request.content_type not in CSV_TYPES:
        raise ApiError(415, "unsupported_media_type", "send the file as text/csv")
    if request.content_length is not None and request.content_length > IMPORT_MAX_BYTES:
        raise _too_large(None)
    records = read_records(request.content, IMPORT_MAX_BYTES)
    job: ContactImport | None = None
    batch: list[Record] = []
    try:
        async for record in records:
            if job is None:
                job = _start_import(record, call.query)
                continue
            if record.problem is None and is_blank_row(record.text, job.delimiter):
                continue  # ";;;" rows that spreadsheets leave behind
            job.total_rows += 1
            batch.append(record)
            if len(batch) >= BATCH_SIZE:
                await _write_batch(call, job, batch)
                batch = []
        if job is None:
            raise ApiError(422, "empty_file", "the file is empty: the first row must be the header")
        if batch:
            await _write_batch(call, job, batch)
    except CsvTooLarge as exc:
        raise _too_large(job) from exc
    return job.report()


def _start_import(header: Record, query: ImportQuery) -> ContactImport:
    if header.problem is not None:
        raise ApiError(422, "invalid_header", f"the header row cannot be read: {header.problem}")
    delimiter = sniff_delimiter(header.text)
    try:
        columns = parse_header(split_record(header.text, delimiter))
    except CsvHeaderError as exc:
        raise ApiError(422, "invalid_header", str(exc), exc.details) from exc
    return ContactImport(columns, delimiter, query.on_duplicate)


async def _write_batch(call: Call[Any, Any], job: ContactImport, batch: list[Record]) -> None:
    outcome = BatchOutcome()
    try:
        await call.db(lambda scope: job.write_batch(scope, batch, outcome))
    except SQLAlchemyError:
        log.warning("contact import: batch of rows %d-%d rolled back", batch[0].row, batch[-1].row)
        outcome.rolled_back(
            "this row's batch could not be saved and was rolled back; import the row again"
        )
    job.merge(outcome)


def _too_large(job: ContactImport | None) -> ApiError:
    done = job.report().model_dump(mode="json") if job is not None else {}
    return ApiError(
        413,
        "payload_too_large",
        f"the file is over {IMPORT_MAX_BYTES // (1024 * 1024)} MB; split it"
        + ("; the rows before the limit were imported (see details)" if done else ""),
        done,
    )


@routes.get(
    "/api/contacts",
    "contacts:read",
    query=ContactQuery,
    response=Page[ContactOut],
    summary="List contacts (filters, search, sort; paginated)",
)
async def list_contacts(call: Call[ContactQuery, None]) -> Page[ContactOut]:
    q = call.query

    def work(scope: TenantScope) -> Page[ContactOut]:
        query = filtered(scope, q)
        total = scope.count(query)
        rows = scope.session.scalars(ordered(query, q.sort).offset(q.offset).limit(q.per_page))
        return Page(
            items=[ContactOut.of(c) for c in rows], page=q.page, per_page=q.per_page, total=total
        )

    return await call.db(work)


@routes.get(
    "/api/contacts/{contact_id}",
    "contacts:read",
    response=ContactDetail,
    summary="Get a contact with its identities, consent and counts",
)
async def get_contact(call: Call[None, None]) -> ContactDetail:
    def work(scope: TenantScope) -> ContactDetail:
        contact = scope.get(Contact, call.path["contact_id"], what="contact")
        call.response_headers["ETag"] = etag_of(contact)
        return detail_of(scope, contact)

    return await call.db(work)


@routes.post(
    "/api/contacts",
    "contacts:write",
    body=ContactIn,
    response=ContactDetail,
    status=201,
    errors=(409, PLAN_LIMIT_STATUS),
    summary="Create a contact (409 when its phone or e-mail belongs to another contact)",
)
async def create_contact(call: Call[None, ContactIn]) -> ContactDetail:
    data = call.body

    def work(scope: TenantScope) -> ContactDetail:
        room = lock_room(scope.session, scope.tenant_id)
        phone = _phone(data.phone, room)
        _require_reachable(phone, data.email)
        _refuse_claimed(scope, phone, data.email, None)
        if room.free <= 0:
            raise plan_limit_error(room)
        contact = scope.add(
            Contact(
                name=data.name,
                phone=phone,
                email=data.email,
                kind=data.kind,
                language=data.language,
                total_conversations=0,
                total_spent_minor=0,
            )
        )
        scope.session.flush()
        identities.sync(scope.session, contact)
        _flush_unique(scope)
        record_usage(scope.session, scope.tenant_id)
        scope.audit("create", "contact", contact.id, _fields_changed(data.model_fields_set))
        call.response_headers["ETag"] = etag_of(contact)
        return detail_of(scope, contact)

    return await call.db(work)


@routes.put(
    "/api/contacts/{contact_id}",
    "contacts:write",
    body=ContactPatch,
    response=ContactDetail,
    errors=(409, 412),
    summary="Edit a contact (only the fields sent; null removes a phone or e-mail)",
)
async def update_contact(call: Call[None, ContactPatch]) -> ContactDetail:
    changes = call.body.model_dump(exclude_unset=True)

    def work(scope: TenantScope) -> ContactDetail:
        contact = scope.get(Contact, call.path["contact_id"], what="contact", for_update=True)
        check_if_match(call.if_match(), contact)
        if contact.erased_at is not None:
            raise conflict("this contact was erased and cannot be edited")
        for column in ("name", "kind"):
            if changes.get(column, "") is None:
                changes.pop(column)  # these cannot be emptied: null means "leave as is"
        if changes.get("phone"):
            room = lock_room(scope.session, scope.tenant_id)
            changes["phone"] = _phone(changes["phone"], room)
        phone = changes.get("phone", contact.phone)
        email = changes.get("email", contact.email)
        if "phone" in changes or "email" in changes:
            _require_reachable(phone, email)
        _refuse_claimed(
            scope,
            phone if "phone" in changes else None,
            email if "email" in changes else None,
            contact.id,
        )
        previous = {"phone": contact.phone, "email": contact.email}
        for key, value in changes.items():
            setattr(contact, key, value)
        scope.session.flush()
        identities.sync(scope.session, contact, previous)
        _flush_unique(scope)
        scope.audit("update", "contact", contact.id, _fields_changed(changes))
        call.response_headers["ETag"] = etag_of(contact)
        return detail_of(scope, contact)

    return await call.db(work)


@routes.delete(
    "/api/contacts/{contact_id}",
    "contacts:delete",
    errors=(409, 412),
    summary="Delete a contact with its conversations and bookings (not one with payments)",
)
async def delete_contact(call: Call[None, None]) -> None:
    def work(scope: TenantScope) -> None:
        contact = scope.get(Contact, call.path["contact_id"], what="contact", for_update=True)
        check_if_match(call.if_match(), contact)
        lock_room(scope.session, scope.tenant_id)
        paid = scope.count(scope.select(Payment).where(Payment.contact_id == contact.id))
        if paid:
            raise conflict(
                "this contact has payments, which must be kept; erase the personal data instead",
                {"hint": "POST /api/contacts/{id}/erase", "payments": paid},
            )
        # Deleting drops the conversations, not the raw inbound events: redact those.
        forget_inbound_events(scope, conversation_peers(scope, contact))
        scope.session.delete(contact)
        scope.session.flush()
        record_usage(scope.session, scope.tenant_id)
        scope.audit("delete", "contact", contact.id, {})

    await call.db(work)


# -- helpers --------------------------------------------------------------------------------


def _phone(raw: str | None, room: Room) -> str | None:
    if not raw:
        return None
    try:
        return normalize_phone(raw, region_of_locale(room.locale))
    except ValueError as exc:
        raise ApiError(
            422,
            "validation_error",
            f"the request body is not valid: {exc}",
            [{"loc": ["body", "phone"], "msg": str(exc), "type": "phone_invalid"}],
        ) from exc


def _require_reachable(phone: str | None, email: str | None) -> None:
    if not phone and not email:
        raise ApiError(
            422,
            "validation_error",
            "a contact needs a phone or an e-mail",
            [{"loc": ["body"], "msg": "give a phone or an e-mail", "type": "missing"}],
        )


def _refuse_claimed(
    scope: TenantScope, phone: str | None, email: str | None, own_id: uuid.UUID | None
) -> None:
    claim = identities.first_claim(scope.session, scope.tenant_id, phone, email, own_id)
    if claim is not None:
        raise _duplicate(claim.field, claim.contact_id)


def _duplicate(field: str, contact_id: uuid.UUID | None) -> ApiError:
    label = "phone" if field == "phone" else "e-mail"
    return ApiError(
        409,
        "duplicate_contact",
        f"another contact already has this {label}",
        {"field": field, "existing_contact_id": str(contact_id) if contact_id else None},
    )


def _flush_unique(scope: TenantScope) -> None:
    """A concurrent writer (another request, or the engine meeting the same customer) may
    take the phone or e-mail between our check and our write."""
    try:
        with scope.session.begin_nested():
            scope.session.flush()
    except IntegrityError as exc:
        raise _duplicate("phone", None) from exc


def _fields_changed(fields: Any) -> dict[str, Any]:
    """Which fields changed, never their values: the audit log keeps no personal data
    (an erased contact must not live on there)."""
    return {"fields": sorted(fields)}
