"""Tenant-scoped database work for the API: the two locks of tenant isolation.

First lock, by construction: handlers get a `TenantScope`, whose queries and lookups
always carry `tenant_id = <caller's tenant>`; an object of another tenant is simply
"not found". Second lock, on PostgreSQL: the transaction runs as the `hablo_api` role
with `hablo.tenant_id` set, and row-level security policies (migration 0003) admit only
that tenant's rows, so a query that forgot its filter still sees nothing foreign.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy import ColumnElement, Select, func, select, text
from sqlalchemy.orm import Session

from hablo.api.app_keys import BRIDGE, RUNTIME
from hablo.api.cancellable import call_cancellable
from hablo.api.problems import ApiError, not_found
from hablo.db.cancellation import Cancellation
from hablo.db.models import AuditLog

log = logging.getLogger(__name__)
T = TypeVar("T")
M = TypeVar("M")

API_ROLE = "hablo_api"
# Fields whose values never reach the audit log (or any log).
SECRET_FIELDS = frozenset(
    {"password", "password_hash", "token", "secret", "api_key", "totp_secret_encrypted", "code"}
)


class TenantScope:
    """One transaction's view of one tenant's data."""

    def __init__(
        self,
        session: Session,
        tenant_id: uuid.UUID,
        actor_user_id: uuid.UUID | None,
        source_ip: str | None,
    ) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.actor_user_id = actor_user_id
        self.source_ip = source_ip

    def select(self, model: type[M]) -> Select[Any]:
        return select(model).where(model.tenant_id == self.tenant_id)  # type: ignore[attr-defined]

    def get(
        self,
        model: type[M],
        object_id: uuid.UUID,
        *,
        what: str | None = None,
        for_update: bool = False,
    ) -> M:
        query = self.select(model).where(model.id == object_id)  # type: ignore[attr-defined]
        if for_update:
            query = query.with_for_update()
        found: M | None = self.session.scalars(query).first()
        if found is None:
            raise not_found(what or model.__name__.lower())
        return found

    def add(self, obj: Any) -> Any:
        obj.tenant_id = self.tenant_id
        self.session.add(obj)
        return obj

    def count(self, query: Select[Any]) -> int:
        return int(
            self.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
            or 0
        )

    def audit(
        self, action: str, entity: str, entity_id: Any = None, changes: dict[str, Any] | None = None
    ) -> None:
        """Record who changed what (in the same transaction as the change)."""
        self.session.add(
            AuditLog(
                tenant_id=self.tenant_id,
                actor_user_id=self.actor_user_id,
                action=action,
                entity=entity,
                entity_id=str(entity_id) if entity_id is not None else None,
                changes=redact(changes or {}),
                source_ip=self.source_ip,
                created_at=datetime.now(UTC),
            )
        )


def redact(changes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if any(secret in key.lower() for secret in SECRET_FIELDS):
            out[key] = "[redacted]"
        elif isinstance(value, dict):
            out[key] = redact(value)
        else:
            out[key] = (
                value if isinstance(value, str | int | float | bool | type(None)) else str(value)
            )
    return out


def _runtime(app: web.Application) -> Any:
    return app[RUNTIME], app[BRIDGE]


class RowSecurity:
    """Whether the `hablo_api` role exists and this connection may switch to it."""

    def __init__(self) -> None:
        self.active: bool | None = None

    def probe(self, session: Session) -> bool:
        if self.active is None:
            if session.get_bind().dialect.name != "postgresql":
                self.active = False
            else:
                self.active = bool(
                    session.execute(
                        text(
                            "SELECT pg_has_role(current_user, :role, 'USAGE')"
                            " FROM pg_roles WHERE rolname = :role"
                        ),
                        {"role": API_ROLE},
                    ).scalar()
                )
                if not self.active:
                    log.warning("row-level security role %s missing: second lock is off", API_ROLE)
        return self.active


ROW_SECURITY = web.AppKey("row_security", RowSecurity)


async def run_scoped(
    app: web.Application,
    tenant_id: uuid.UUID,
    actor_user_id: uuid.UUID | None,
    source_ip: str | None,
    work: Callable[[TenantScope], T],
) -> T:
    runtime, bridge = _runtime(app)
    row_security = app[ROW_SECURITY]

    def run(cancellation: Cancellation) -> T:
        with runtime.db.transaction(cancellation) as session:
            if row_security.probe(session):
                session.execute(text(f"SET LOCAL ROLE {API_ROLE}"))
                session.execute(
                    text("SELECT set_config('hablo.tenant_id', :tenant, true)"),
                    {"tenant": str(tenant_id)},
                )
            return work(TenantScope(session, tenant_id, actor_user_id, source_ip))

    return await call_cancellable(bridge, run)


async def run_global(app: web.Application, work: Callable[[Session], T]) -> T:
    runtime, bridge = _runtime(app)

    def run(cancellation: Cancellation) -> T:
        with runtime.db.transaction(cancellation) as session:
            return work(session)

    return await call_cancellable(bridge, run)


def contains(column: Any, needle: str) -> ColumnElement[bool]:
    """Case-insensitive substring match with LIKE wildcards in the needle taken literally."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    result: ColumnElement[bool] = column.ilike(f"%{escaped}%", escape="\\")
    return result


def sort_order(sort: str, columns: dict[str, Any]) -> Any:
    """ "name" / "-name" -> ORDER BY expression from the allowed columns."""
    column = columns[sort.lstrip("-")]
    return column.desc() if sort.startswith("-") else column.asc()


def etag_of(obj: Any) -> str:
    """A weak validator from the row's version (updated_at)."""
    stamp = obj.updated_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")
    return f'W/"{stamp}"'


def check_if_match(if_match: str | None, obj: Any) -> None:
    """412 when the caller edited an older version than the one stored now."""
    if if_match is None or if_match.strip() in ("", "*"):
        return
    current = etag_of(obj)
    offered = [tag.strip() for tag in if_match.split(",")]
    if current not in offered:
        raise ApiError(
            412,
            "precondition_failed",
            "the record changed since you read it; reload and try again",
            {"current_etag": current},
        )
