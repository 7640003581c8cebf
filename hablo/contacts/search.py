"""The contact list's filters and sort orders (shared by the list and the CSV export)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, or_

from hablo.api.scope import TenantScope, contains
from hablo.contacts.schemas import ContactFilter
from hablo.db.models import Contact

_SORT_COLUMNS: dict[str, Any] = {
    "name": Contact.name,
    "created_at": Contact.created_at,
    "total_spent": Contact.total_spent_minor,
    "last_purchase_at": Contact.last_purchase_at,
}


def filtered(scope: TenantScope, f: ContactFilter) -> Select[Any]:
    query = scope.select(Contact)
    if f.kind is not None:
        query = query.where(Contact.kind == f.kind)
    if f.q:
        matches = [contains(Contact.name, f.q), contains(Contact.email, f.q)]
        # People type phones with spaces and dashes; stored phones are E.164 digits.
        digits = re.sub(r"\D", "", f.q)
        matches.append(contains(Contact.phone, digits if len(digits) >= 3 else f.q))
        query = query.where(or_(*matches))
    if f.has_email is not None:
        query = query.where(Contact.email.is_not(None) if f.has_email else Contact.email.is_(None))
    if f.created_from is not None:
        query = query.where(Contact.created_at >= f.created_from)
    if f.created_to is not None:
        query = query.where(Contact.created_at < f.created_to)
    if f.last_purchase_from is not None:
        query = query.where(Contact.last_purchase_at >= f.last_purchase_from)
    if f.last_purchase_to is not None:
        query = query.where(Contact.last_purchase_at < f.last_purchase_to)
    return query


def ordered(query: Select[Any], sort: str) -> Select[Any]:
    """Sorted, contacts without a value last in both directions, ties broken by id (a
    stable order, so pages do not overlap)."""
    column = _SORT_COLUMNS[sort.lstrip("-")]
    direction = column.desc() if sort.startswith("-") else column.asc()
    return query.order_by(column.is_(None), direction, Contact.id)
