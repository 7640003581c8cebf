"""Accounts: sign up a business, log in (password, then a second factor for privileged
roles), rotate and revoke sessions, reset and change passwords.

Slow and blocking steps (bcrypt, SMTP) run in worker threads and never inside a
database transaction. Failures that must leave a trace (a wrong password counts towards
the lockout, a reused refresh token revokes its session) commit first and are turned
into errors afterwards, so the rollback of an error does not erase them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hablo.api.app_keys import BRIDGE, RUNTIME
from hablo.api.endpoints import ApiRoutes, Call
from hablo.api.middleware import TOKENS
from hablo.api.problems import ApiError, conflict, forbidden, unauthorized
from hablo.api.ratelimit import RATE_LIMITER, Limit
from hablo.api.routes.auth_models import (
    PRIVILEGED,
    LoginIn,
    LoginOut,
    MeOut,
    RefreshIn,
    RegisterIn,
    RegisterOut,
    TokensOut,
    VerifyIn,
)
from hablo.api.scope import redact
from hablo.config import Settings
from hablo.db.enums import Role, UserStatus
from hablo.db.models import AuditLog, Tenant, User
from hablo.notify.auth_mails import MailText, account_exists_mail, login_code_mail
from hablo.notify.mailer import Mailer, MailError
from hablo.security import second_factor as factors
from hablo.security import sessions
from hablo.security.passwords import (
    WeakPassword,
    check_strength,
    hash_password,
    verify_password,
)
from hablo.security.principal import Principal
from hablo.security.secrets import SecretBox

log = logging.getLogger(__name__)
routes = ApiRoutes("auth")
MAILER = web.AppKey("mailer", Mailer)
T = TypeVar("T")

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
# Wrong passwords for an e-mail with no account: the same 401s, then 423s, as a real one.
PHANTOM = Limit(MAX_FAILED_LOGINS - 1, int(LOCKOUT.total_seconds()))
_mail_tasks: set[asyncio.Task[None]] = set()


# -- helpers -------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _settings(call: Call[Any, Any]) -> Settings:
    return call.request.app[RUNTIME].settings


async def _off_loop(call: Call[Any, Any], work: Callable[..., T], *args: Any) -> T:
    return await call.request.app[BRIDGE].call(work, *args)


def _client(call: Call[Any, Any]) -> sessions.Client:
    return sessions.Client(call.client_ip, call.request.headers.get("User-Agent"))


def _normal_email(email: str) -> str:
    return email.strip().lower()


def _find_user(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.email) == email)).first()


def audit(
    session: Session,
    user: User,
    action: str,
    changes: dict[str, Any] | None = None,
    source_ip: str | None = None,
) -> None:
    session.add(
        AuditLog(
            tenant_id=user.tenant_id,
            actor_user_id=user.id,
            action=action,
            entity="user",
            entity_id=str(user.id),
            changes=redact(changes or {}),
            source_ip=source_ip,
            created_at=_now(),
        )
    )


def _weak(exc: WeakPassword, field: str) -> ApiError:
    return ApiError(
        422,
        "weak_password",
        "choose a stronger password",
        [
            {"loc": ["body", field], "msg": f"password {reason}", "type": "weak_password"}
            for reason in exc.reasons
        ],
    )


def _invalid_credentials() -> ApiError:
    return unauthorized("wrong e-mail or password")


def _locked(until: datetime) -> ApiError:
    seconds = max(1, int((until - _now()).total_seconds()) + 1)
    return ApiError(
        423,
        "account_locked",
        f"too many failed logins; try again in {seconds // 60 + 1} minutes or reset your password",
        {"retry_after_s": seconds},
        headers={"Retry-After": str(seconds)},
    )


def needs_second_factor(user: User) -> bool:
    return user.role in PRIVILEGED or user.two_factor_method is not None


def _tokens(call: Call[Any, Any], session: Session, user: User) -> TokensOut:
    """Open a session for the user and sign its first access token."""
    settings = _settings(call)
    issued = sessions.open_session(
        session, user.id, timedelta(seconds=settings.refresh_token_ttl_s), _client(call)
    )
    return _signed(call, user, issued)


def _signed(call: Call[Any, Any], user: User, issued: sessions.IssuedRefresh) -> TokensOut:
    service = call.request.app[TOKENS]
    principal = Principal(user.id, user.tenant_id, Role(user.role), issued.family_id)
    return TokensOut(
        access_token=service.issue_access(principal),
        expires_in=service.access_ttl_s,
        refresh_token=issued.token,
    )


async def _send_mail(call: Call[Any, Any], to: str, text: MailText) -> None:
    mailer = call.request.app[MAILER]
    await _off_loop(call, mailer.send, to, text.subject, text.body)


def _send_mail_later(call: Call[Any, Any], to: str, text: MailText) -> None:
    """Answer without waiting for SMTP: the reply's timing must not tell whether an
    account exists."""

    async def send() -> None:
        try:
            await _send_mail(call, to, text)
        except MailError as exc:
            log.warning("account mail to %s not sent: %s", to, exc)

    task = asyncio.ensure_future(send())
    _mail_tasks.add(task)
    task.add_done_callback(_mail_tasks.discard)


def _tenant_locale(session: Session, user: User) -> str | None:
    if user.tenant_id is None:
        return None
    return session.scalar(select(Tenant.locale).where(Tenant.id == user.tenant_id))


def _current_user(session: Session, principal: Principal) -> User:
    user = session.get(User, principal.user_id, with_for_update=True)
    if user is None:
        raise unauthorized()
    return user


# -- sign-up -------------------------------------------------------------------------------


@routes.post(
    "/api/auth/register",
    None,
    body=RegisterIn,
    response=RegisterOut,
    status=201,
    errors=(401, 409),
    summary="Sign up a business and its owner (log in afterwards)",
)
async def register_business(call: Call[None, RegisterIn]) -> RegisterOut:
    data = call.body
    email = _normal_email(data.email)
    try:
        check_strength(data.password, email)
    except WeakPassword as exc:
        raise _weak(exc, "password") from exc
    password_hash = await _off_loop(call, hash_password, data.password)

    existing: list[MailText] = []

    def work(session: Session) -> RegisterOut:
        if session.scalar(select(Tenant.id).where(Tenant.slug == data.slug)) is not None:
            raise conflict(f"the address {data.slug!r} is taken", {"field": "slug"})
        holder = _find_user(session, email)
        if holder is not None:
            # Answer as if created and tell the address's owner instead: the answer must
            # not reveal that the e-mail has an account (they log in or reset as usual).
            link = f"{_settings(call).public_url.rstrip('/')}/app/login"
            existing.append(
                account_exists_mail(_tenant_locale(session, holder), holder.first_name, link)
            )
            return _as_if_registered(data, email)
        tenant = Tenant(
            slug=data.slug,
            name=data.business_name,
            locale=data.locale,
            timezone=data.timezone,
            currency=data.currency,
            email=email,
            address=data.address or None,
            phone=data.phone,
        )
        session.add(tenant)
        try:
            with session.begin_nested():
                session.flush()
                owner = User(
                    tenant_id=tenant.id,
                    email=email,
                    first_name=data.first_name,
                    last_name=data.last_name,
                    password_hash=password_hash,
                    role=Role.OWNER,
                    password_changed_at=_now(),
                )
                session.add(owner)
                session.flush()
        except IntegrityError as exc:  # a concurrent sign-up won the slug or the e-mail
            raise conflict("this address or e-mail was just taken", {"field": "slug"}) from exc
        audit(session, owner, "register", {"slug": tenant.slug}, call.client_ip)
        return RegisterOut(
            tenant_id=tenant.id, slug=tenant.slug, name=tenant.name, user=MeOut.of(owner)
        )

    out = await call.db_global(work)
    if existing:
        _send_mail_later(call, email, existing[0])
    return out


def _as_if_registered(data: RegisterIn, email: str) -> RegisterOut:
    """What a sign-up answers; nothing is created, nothing existing is shown."""
    tenant_id = uuid.uuid4()
    owner = User(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        email=email,
        first_name=data.first_name,
        last_name=data.last_name,
        role=Role.OWNER,
        status=UserStatus.ACTIVE,
        password_changed_at=_now(),
    )
    return RegisterOut(
        tenant_id=tenant_id, slug=data.slug, name=data.business_name, user=MeOut.of(owner)
    )


# -- login ---------------------------------------------------------------------------------


@routes.post(
    "/api/auth/login",
    None,
    body=LoginIn,
    response=LoginOut,
    errors=(401, 403, 423, 503),
    summary="Log in with e-mail and password: tokens, or a second-factor challenge",
    description=(
        "Owners, admins and super admins (and users who opted in) get "
        "`two_factor_required: true` with a `challenge`: send it with the code to "
        "`POST /api/auth/2fa/verify`. With method `email` the code was just mailed. "
        f"{MAX_FAILED_LOGINS} wrong passwords lock the account for "
        f"{int(LOCKOUT.total_seconds() // 60)} minutes (423)."
    ),
)
async def login(call: Call[None, LoginIn]) -> LoginOut:
    email = _normal_email(call.body.email)

    def lookup(session: Session) -> tuple[str | None, datetime | None]:
        user = _find_user(session, email)
        return (user.password_hash, user.locked_until) if user else (None, None)

    stored_hash, locked_until = await call.db_global(lookup)
    # bcrypt runs first in every case: a locked account must not answer faster.
    password_ok = await _off_loop(call, verify_password, call.body.password, stored_hash)
    if locked_until is not None and locked_until > _now():
        raise _locked(locked_until)
    if not password_ok:
        if stored_hash is None:
            # Unknown e-mails lock like real accounts do, so a 423 proves nothing.
            verdict = await call.request.app[RATE_LIMITER].check(f"login-unknown:{email}", PHANTOM)
            if not verdict.allowed:
                raise _locked(_now() + timedelta(seconds=verdict.retry_after_s))
            raise _invalid_credentials()
        locked = await call.db_global(lambda s: _record_failure(s, email, call.client_ip))
        if locked is not None:
            raise _locked(locked)
        raise _invalid_credentials()

    def succeed(session: Session) -> tuple[LoginOut, MailText | None, str]:
        user = _find_user(session, email)
        if user is None or user.password_hash != stored_hash:
            raise _invalid_credentials()  # the password changed meanwhile
        if user.status != UserStatus.ACTIVE:
            audit(session, user, "login_refused", {"status": user.status}, call.client_ip)
            raise forbidden("this account is disabled; ask the business owner")
        user.locked_until = None
        if not needs_second_factor(user):
            user.failed_logins = 0
            user.last_login_at = _now()
            audit(session, user, "login", {"second_factor": None}, call.client_ip)
            return LoginOut.with_tokens(_tokens(call, session, user)), None, user.email
        return _challenge(session, user), _login_code_mail(session, user), user.email

    out, mail, address = await call.db_global(succeed)
    if mail is not None:
        try:
            await _send_mail(call, address, mail)
        except MailError as exc:
            log.warning("login code mail not sent: %s", exc)
            raise ApiError(503, "mail_unavailable", "the login code could not be sent") from exc
    return out


def _record_failure(session: Session, email: str, source_ip: str | None) -> datetime | None:
    """Count a wrong password; the fifth in a row locks the account (returns until when)."""
    user = session.scalars(
        select(User).where(func.lower(User.email) == email).with_for_update()
    ).first()
    if user is None:
        return None
    user.failed_logins += 1
    audit(session, user, "login_failed", {"reason": "password"}, source_ip)
    if user.failed_logins < MAX_FAILED_LOGINS:
        return None
    user.failed_logins = 0
    user.locked_until = _now() + LOCKOUT
    audit(session, user, "lockout", {"until": user.locked_until.isoformat()}, source_ip)
    return user.locked_until


def _challenge(session: Session, user: User) -> LoginOut:
    challenge = factors.new_token()
    factors.issue(
        session, user.id, factors.Purpose.LOGIN_CHALLENGE, challenge, factors.CHALLENGE_TTL
    )
    return LoginOut(
        two_factor_required=True,
        challenge=challenge,
        method="totp" if user.two_factor_method == "totp" else "email",
        challenge_expires_in=int(factors.CHALLENGE_TTL.total_seconds()),
    )


def _login_code_mail(session: Session, user: User) -> MailText | None:
    """Users without an authenticator get their code by mail: a privileged user with no
    factor set up yet can still log in (and then set up TOTP)."""
    if user.two_factor_method == "totp":
        return None
    code = factors.new_six_digit_code()
    factors.issue(session, user.id, factors.Purpose.LOGIN_CODE, code, factors.LOGIN_CODE_TTL)
    minutes = int(factors.LOGIN_CODE_TTL.total_seconds() // 60)
    return login_code_mail(_tenant_locale(session, user), user.first_name, code, minutes)


@routes.post(
    "/api/auth/2fa/verify",
    None,
    body=VerifyIn,
    response=TokensOut,
    errors=(401, 423),
    summary="Second step of a login: the challenge and the code give the tokens",
    description=f"Wrong codes count towards the {MAX_FAILED_LOGINS} failures that lock the "
    "account (423), together with wrong passwords.",
)
async def verify_second_factor(call: Call[None, VerifyIn]) -> TokensOut:
    settings = _settings(call)

    def work(session: Session) -> TokensOut | ApiError:
        challenge = factors.find_token(
            session, factors.Purpose.LOGIN_CHALLENGE, call.body.challenge
        )
        if challenge is None:
            return unauthorized("this login challenge expired or was used; log in again")
        user = session.get(User, challenge.user_id, with_for_update=True)
        if user is None or user.status != UserStatus.ACTIVE:
            return unauthorized("this login challenge expired or was used; log in again")
        method = "totp" if user.two_factor_method == "totp" else "email"
        if method == "totp":
            box = SecretBox.from_config(settings.secret_keys, settings.state_dir)
            ok, exhausted = factors.verify_totp(session, box, user, call.body.code), False
        else:
            check = factors.check_login_code(session, user.id, call.body.code)
            ok, exhausted = check.ok, check.exhausted
        if user.locked_until is not None and user.locked_until > _now():
            challenge.used_at = _now()
            return _locked(user.locked_until)
        if not ok:
            challenge.attempts += 1
            audit(session, user, "login_failed", {"reason": f"{method} code"}, call.client_ip)
            # Wrong codes count like wrong passwords (a right password does not reset the
            # count until the second factor is right too): with a leaked password, the code
            # cannot be guessed over many logins.
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.failed_logins = 0
                user.locked_until = _now() + LOCKOUT
                challenge.used_at = _now()
                audit(
                    session,
                    user,
                    "lockout",
                    {"until": user.locked_until.isoformat()},
                    call.client_ip,
                )
                return _locked(user.locked_until)
            left = factors.MAX_ATTEMPTS - challenge.attempts
            if exhausted or left <= 0:
                challenge.used_at = _now()
                return unauthorized("too many wrong codes; log in again")
            return ApiError(401, "invalid_code", "wrong or expired code", {"attempts_left": left})
        challenge.used_at = _now()
        user.failed_logins = 0
        user.last_login_at = _now()
        audit(session, user, "login", {"second_factor": method}, call.client_ip)
        return _tokens(call, session, user)

    result = await call.db_global(work)
    if isinstance(result, ApiError):
        raise result
    return result


# -- sessions ------------------------------------------------------------------------------


@routes.post(
    "/api/auth/refresh",
    None,
    body=RefreshIn,
    response=TokensOut,
    errors=(401,),
    summary="Trade a refresh token for new tokens (each refresh token works once)",
)
async def refresh_session(call: Call[None, RefreshIn]) -> TokensOut:
    ttl = timedelta(seconds=_settings(call).refresh_token_ttl_s)

    def work(session: Session) -> TokensOut | ApiError:
        rotation = sessions.rotate(session, call.body.refresh_token, ttl, _client(call))
        if rotation.outcome is sessions.Outcome.ROTATED:
            assert rotation.user is not None and rotation.issued is not None
            return _signed(call, rotation.user, rotation.issued)
        if rotation.outcome is sessions.Outcome.REUSED:
            if rotation.user is not None:
                audit(session, rotation.user, "session_reuse_revoked", {}, call.client_ip)
            return ApiError(
                401,
                "refresh_token_reused",
                "this refresh token was already used; the session is closed, log in again",
            )
        return unauthorized("refresh token unknown, expired or revoked; log in again")

    result = await call.db_global(work)
    if isinstance(result, ApiError):
        raise result
    return result


@routes.post("/api/auth/logout", "self", summary="Log out this session")
async def logout(call: Call[None, None]) -> None:
    principal = call.user

    def work(session: Session) -> None:
        user = _current_user(session, principal)
        if principal.session_id is not None:
            sessions.revoke_family(session, principal.session_id)
        audit(session, user, "logout", {"session": str(principal.session_id)}, call.client_ip)

    await call.db_global(work)


@routes.post("/api/auth/logout-all", "self", summary="Log out every session of your account")
async def logout_everywhere(call: Call[None, None]) -> None:
    principal = call.user

    def work(session: Session) -> None:
        user = _current_user(session, principal)
        sessions.revoke_user_sessions(session, user.id)
        audit(session, user, "logout_all", {}, call.client_ip)

    await call.db_global(work)


@routes.get("/api/auth/me", "self", response=MeOut, summary="Your account")
async def get_me(call: Call[None, None]) -> MeOut:
    principal = call.user
    return await call.db_global(lambda s: MeOut.of(_current_user(s, principal)))
