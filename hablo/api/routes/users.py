"""The people of the business: list, invite, edit, change roles, remove.

Rules: owners manage everyone; admins manage agents and clients only; nobody becomes
super_admin through this API; the last active owner cannot be demoted, deactivated or
removed; nobody removes or deactivates themselves.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hablo.api.app_keys import BRIDGE, RUNTIME
from hablo.api.endpoints import ApiRoutes, Call, Page, PageQuery, RequestModel
from hablo.api.problems import ApiError, conflict, forbidden
from hablo.api.ratelimit import (
    MAIL_WINDOW_S,
    RATE_LIMITER,
    Limit,
    RateLimiter,
    tenant_mail_key,
)
from hablo.api.scope import TenantScope, check_if_match, contains, etag_of, sort_order
from hablo.db.enums import Role, UserStatus
from hablo.db.models import Tenant, User
from hablo.notify.mailer import MailError, build_mailer
from hablo.security.passwords import WeakPassword, check_strength, hash_password
from hablo.security.second_factor import Purpose, issue, new_token
from hablo.security.sessions import revoke_user_sessions
from hablo.tenancy.mails import MailText, already_registered_mail, invitation_mail
from hablo.tenancy.settings import EmailAddress

log = logging.getLogger(__name__)
routes = ApiRoutes("users")
T = TypeVar("T")

TenantRole = Literal["owner", "admin", "agent", "client"]
PRIVILEGED = frozenset({Role.OWNER, Role.ADMIN})
INVITATION_TTL = timedelta(days=7)
# Users invited without a password cannot log in until they choose one.
UNUSABLE_PASSWORD = "!"
_mail_tasks: set[asyncio.Future[bool]] = set()


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    role: Role
    status: UserStatus
    two_factor_enabled: bool
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(
            id=u.id,
            email=u.email,
            first_name=u.first_name,
            last_name=u.last_name,
            role=u.role,
            status=u.status,
            two_factor_enabled=u.two_factor_method is not None,
            last_login_at=u.last_login_at,
            created_at=u.created_at,
            updated_at=u.updated_at,
        )


class CreatedUserOut(UserOut):
    invitation_sent: bool = Field(
        description="An e-mail with a link to choose a password was sent (no password given)"
    )


class UserQuery(PageQuery):
    role: TenantRole | None = None
    status: UserStatus | None = None
    q: str | None = Field(default=None, max_length=120, description="Part of name or e-mail")
    sort: Literal[
        "email", "-email", "name", "-name", "role", "-role", "created_at", "-created_at"
    ] = "email"


class UserIn(RequestModel):
    email: EmailAddress
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(default="", max_length=100)
    role: TenantRole
    password: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Initial password; leave it out to e-mail an invitation instead",
    )


class UserPatch(RequestModel):
    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    status: UserStatus | None = None


class RoleIn(RequestModel):
    role: TenantRole


_SORTS = {
    "email": User.email,
    "name": User.first_name,
    "role": User.role,
    "created_at": User.created_at,
}


@routes.get("/api/users", "users:read", query=UserQuery, response=Page[UserOut])
async def list_users(call: Call[UserQuery, None]) -> Page[UserOut]:
    """List the business's users"""
    q = call.query

    def work(scope: TenantScope) -> Page[UserOut]:
        query = scope.select(User)
        if q.role is not None:
            query = query.where(User.role == Role(q.role))
        if q.status is not None:
            query = query.where(User.status == q.status)
        if q.q:
            query = query.where(
                or_(
                    contains(User.email, q.q),
                    contains(User.first_name, q.q),
                    contains(User.last_name, q.q),
                )
            )
        total = scope.count(query)
        rows = scope.session.scalars(
            query.order_by(sort_order(q.sort, _SORTS), User.id).offset(q.offset).limit(q.per_page)
        )
        return Page(
            items=[UserOut.of(u) for u in rows], page=q.page, per_page=q.per_page, total=total
        )

    return await call.db(work)


@routes.get("/api/users/{user_id}", "users:read", response=UserOut, summary="Get a user")
async def get_user(call: Call[None, None]) -> UserOut:
    def work(scope: TenantScope) -> UserOut:
        user = scope.get(User, call.path["user_id"], what="user")
        call.response_headers["ETag"] = etag_of(user)
        return UserOut.of(user)

    return await call.db(work)


@routes.post(
    "/api/users",
    "users:write",
    body=UserIn,
    response=CreatedUserOut,
    status=201,
    errors=(409, 429),
    summary="Add a user: with an initial password, or invited by e-mail to choose one",
)
async def create_user(call: Call[None, UserIn]) -> CreatedUserOut:
    data = call.body
    role = Role(data.role)
    if role in PRIVILEGED and call.user.role is not Role.OWNER:
        raise forbidden("only an owner may add owners or admins")
    if data.password is None:
        await _invitation_quota(call).enforce(*_invitation_limit(call))
    password_hash = UNUSABLE_PASSWORD
    if data.password is not None:
        try:
            check_strength(data.password, data.email)
        except WeakPassword as exc:
            raise _weak_password(exc) from exc
        # bcrypt takes ~0.25 s: off the event loop and outside the transaction.
        password_hash = await _off_loop(call, lambda: hash_password(data.password or ""))
    holder = await call.db_global(lambda s: _holder_elsewhere(s, data.email, call.tenant_id))
    if holder is not None:
        return await _as_if_created(call, data, holder)
    invitation: dict[str, str] = {}

    def work(scope: TenantScope) -> CreatedUserOut:
        _refuse_taken_email(scope, data.email)
        user = scope.add(
            User(
                email=data.email,
                first_name=data.first_name,
                last_name=data.last_name,
                role=role,
                status=UserStatus.ACTIVE,
                password_hash=password_hash,
            )
        )
        _flush_unique_email(scope, data.email)
        if data.password is None:
            invitation.update(_issue_invitation(scope, user))
        scope.audit(
            "create",
            "user",
            user.id,
            {"email": data.email, "role": role.value, "invited": data.password is None},
        )
        call.response_headers["ETag"] = etag_of(user)
        return CreatedUserOut(**UserOut.of(user).model_dump(), invitation_sent=False)

    created = await call.db(work)
    if invitation:
        created.invitation_sent = await _off_loop(call, lambda: _send_invitation(call, invitation))
    return created


@routes.put(
    "/api/users/{user_id}",
    "users:write",
    body=UserPatch,
    response=UserOut,
    errors=(409, 412),
    summary="Edit a user's name or status (only the fields sent)",
)
async def update_user(call: Call[None, UserPatch]) -> UserOut:
    changes = call.body.model_dump(exclude_unset=True, exclude_none=True)
    actor = call.user

    def work(scope: TenantScope) -> UserOut:
        user = scope.get(User, call.path["user_id"], what="user", for_update=True)
        check_if_match(call.if_match(), user)
        if user.id != actor.user_id:
            _require_may_manage(actor.role, user.role)
        status = changes.get("status")
        if status is not None and status != user.status:
            if user.id == actor.user_id:
                raise conflict("you cannot change your own status")
            if status != UserStatus.ACTIVE:
                _refuse_losing_last_owner(scope, user)
                revoke_user_sessions(scope.session, user.id)
        for key, value in changes.items():
            setattr(user, key, value)
        scope.session.flush()
        scope.audit("update", "user", user.id, changes)
        call.response_headers["ETag"] = etag_of(user)
        return UserOut.of(user)

    return await call.db(work)


@routes.put(
    "/api/users/{user_id}/role",
    "users:write",
    body=RoleIn,
    response=UserOut,
    errors=(409, 412),
    summary="Change a user's role (owner and admin roles: owners only)",
)
async def change_user_role(call: Call[None, RoleIn]) -> UserOut:
    new_role = Role(call.body.role)
    actor = call.user

    def work(scope: TenantScope) -> UserOut:
        user = scope.get(User, call.path["user_id"], what="user", for_update=True)
        check_if_match(call.if_match(), user)
        if (user.role in PRIVILEGED or new_role in PRIVILEGED) and actor.role is not Role.OWNER:
            raise forbidden("only an owner may grant or revoke the owner and admin roles")
        if user.role == new_role:
            return UserOut.of(user)
        if user.role is Role.OWNER:
            _refuse_losing_last_owner(scope, user)
        before = user.role
        user.role = new_role
        scope.session.flush()
        # Sessions carry the role: the user signs in again to act with the new one.
        revoke_user_sessions(scope.session, user.id)
        scope.audit("change_role", "user", user.id, {"from": before.value, "to": new_role.value})
        call.response_headers["ETag"] = etag_of(user)
        return UserOut.of(user)

    return await call.db(work)


@routes.delete(
    "/api/users/{user_id}",
    "users:write",
    errors=(409, 412),
    summary="Remove a user (not yourself, not the last owner)",
)
async def delete_user(call: Call[None, None]) -> None:
    actor = call.user

    def work(scope: TenantScope) -> None:
        user = scope.get(User, call.path["user_id"], what="user", for_update=True)
        check_if_match(call.if_match(), user)
        if user.id == actor.user_id:
            raise conflict("you cannot remove yourself; ask another owner or admin")
        _require_may_manage(actor.role, user.role)
        _refuse_losing_last_owner(scope, user)
        removed = {"email": user.email, "role": user.role.value}
        scope.session.delete(user)
        scope.session.flush()
        scope.audit("delete", "user", call.path["user_id"], removed)

    await call.db(work)


def _require_may_manage(actor_role: Role, target_role: Role) -> None:
    if target_role in PRIVILEGED and actor_role is not Role.OWNER:
        raise forbidden("only an owner may change owners or admins")


def _refuse_losing_last_owner(scope: TenantScope, user: User) -> None:
    """Lock the active owners, so two owners demoting each other cannot both succeed."""
    if user.role is not Role.OWNER or user.status != UserStatus.ACTIVE:
        return
    owners = scope.session.scalars(
        scope.select(User)
        .where(User.role == Role.OWNER, User.status == UserStatus.ACTIVE)
        .with_for_update()
    ).all()
    if [o.id for o in owners] == [user.id]:
        raise conflict("the business must keep at least one active owner")


def _refuse_taken_email(scope: TenantScope, email: str) -> None:
    if scope.session.scalars(scope.select(User).where(User.email == email)).first() is not None:
        raise conflict("a user with this e-mail already exists", {"field": "email"})


def _flush_unique_email(scope: TenantScope, email: str) -> None:
    """E-mails are unique across the platform: another tenant's user (invisible here) or
    a concurrent request may hold it."""
    try:
        with scope.session.begin_nested():
            scope.session.flush()
    except IntegrityError as exc:
        raise conflict("a user with this e-mail already exists", {"field": "email"}) from exc


@dataclass(frozen=True)
class _Holder:
    """Another tenant's user (or a platform admin) who holds the e-mail."""

    email: str
    name: str
    locale: str | None


def _holder_elsewhere(session: Session, email: str, tenant_id: uuid.UUID) -> _Holder | None:
    """Read outside the tenant's scope: row-level security would hide the holder."""
    user = session.scalars(
        select(User).where(
            User.email == email, or_(User.tenant_id.is_(None), User.tenant_id != tenant_id)
        )
    ).first()
    if user is None:
        return None
    locale = None
    if user.tenant_id is not None:
        locale = session.scalar(select(Tenant.locale).where(Tenant.id == user.tenant_id))
    return _Holder(user.email, user.first_name, locale)


async def _as_if_created(call: Call[None, UserIn], data: UserIn, holder: _Holder) -> CreatedUserOut:
    """An e-mail held in another business answers like a new user, creates nothing and
    tells the holder: a 409 would tell any admin which addresses have hablo accounts."""
    tenant = await call.db(
        lambda scope: scope.session.scalar(select(Tenant.name).where(Tenant.id == scope.tenant_id))
    )
    mail = already_registered_mail(holder.locale, tenant or "", holder.name)
    now = datetime.now(UTC)
    phantom = User(
        id=uuid.uuid4(),
        email=data.email,
        first_name=data.first_name,
        last_name=data.last_name,
        role=Role(data.role),
        status=UserStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    # Mailed like an invitation would be: a real one is awaited only without a password.
    if data.password is None:
        sent = await _off_loop(call, lambda: _send_mail(call, holder.email, mail))
    elif not (await _invitation_quota(call).check(*_invitation_limit(call))).allowed:
        # Over the quota a real user with a password would still be created: answer the
        # same, only the notice is not sent.
        sent = False
    else:
        sent = False
        task = asyncio.ensure_future(_off_loop(call, lambda: _send_mail(call, holder.email, mail)))
        _mail_tasks.add(task)
        task.add_done_callback(_mail_tasks.discard)
    call.response_headers["ETag"] = etag_of(phantom)
    return CreatedUserOut(**UserOut.of(phantom).model_dump(), invitation_sent=sent)


def _invitation_quota(call: Call[Any, Any]) -> RateLimiter:
    return call.request.app[RATE_LIMITER]


def _invitation_limit(call: Call[Any, Any]) -> tuple[str, Limit]:
    """Invitations and notices to holders: mails to addresses the business types in."""
    per_hour = call.request.app[RUNTIME].settings.invitation_mails_per_tenant_per_hour
    return tenant_mail_key("invitation", call.tenant_id), Limit(per_hour, MAIL_WINDOW_S)


def _issue_invitation(scope: TenantScope, user: User) -> dict[str, str]:
    token = new_token()
    issue(scope.session, user.id, Purpose.PASSWORD_RESET, token, INVITATION_TTL)
    tenant = scope.session.get(Tenant, scope.tenant_id)
    return {
        "email": user.email,
        "name": user.first_name,
        "tenant": tenant.name if tenant else "",
        "locale": tenant.locale if tenant else "es",
        "token": token,
    }


def _send_invitation(call: Call[Any, Any], invitation: dict[str, str]) -> bool:
    from urllib.parse import quote

    settings = call.request.app[RUNTIME].settings
    token = quote(invitation["token"])
    link = f"{settings.public_url.rstrip('/')}/app/accept-invitation#token={token}"
    return _send_mail(
        call,
        invitation["email"],
        invitation_mail(
            invitation["locale"],
            invitation["tenant"],
            invitation["name"],
            link,
            invitation["token"],
            INVITATION_TTL.days,
        ),
    )


def _send_mail(call: Call[Any, Any], to: str, mail: MailText) -> bool:
    try:
        build_mailer(call.request.app[RUNTIME].settings).send(to, mail.subject, mail.body)
    except MailError as exc:
        log.warning("user mail to %s failed: %s", to, exc)
        return False
    return True


async def _off_loop(call: Call[Any, Any], work: Callable[[], T]) -> T:
    result: T = await call.request.app[BRIDGE].call(work)
    return result


def _weak_password(exc: WeakPassword) -> ApiError:
    return ApiError(
        422,
        "validation_error",
        "the password is too weak",
        [
            {"loc": ["body", "password"], "msg": reason, "type": "weak_password"}
            for reason in exc.reasons
        ],
    )
