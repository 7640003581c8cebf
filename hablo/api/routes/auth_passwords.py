"""Passwords: forgotten (a single-use link by mail), reset with it, changed when
logged in. Registered on the `auth` routes (see auth.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hablo.api.endpoints import Call
from hablo.api.problems import bad_request
from hablo.api.ratelimit import PER_EMAIL_FORGOT, RATE_LIMITER
from hablo.api.routes.auth import (
    _current_user,
    _find_user,
    _normal_email,
    _now,
    _off_loop,
    _send_mail_later,
    _settings,
    _tenant_locale,
    _weak,
    audit,
    routes,
)
from hablo.api.routes.auth_models import AcceptedOut, ForgotIn, PasswordChangeIn, ResetIn
from hablo.db.enums import UserStatus
from hablo.db.models import User
from hablo.notify.auth_mails import MailText, password_reset_mail
from hablo.security import second_factor as factors
from hablo.security import sessions
from hablo.security.passwords import WeakPassword, check_strength, hash_password, verify_password

# -- passwords -----------------------------------------------------------------------------


@routes.post(
    "/api/auth/password/forgot",
    None,
    body=ForgotIn,
    response=AcceptedOut,
    status=202,
    errors=(401,),
    summary="Mail a password-reset link (the answer never tells whether the account exists)",
)
async def forgot_password(call: Call[None, ForgotIn]) -> AcceptedOut:
    email = _normal_email(call.body.email)
    settings = _settings(call)
    answer = AcceptedOut(message="if an account uses this e-mail, a reset link is on its way")
    verdict = await call.request.app[RATE_LIMITER].check(f"forgot:{email}", PER_EMAIL_FORGOT)
    if not verdict.allowed:
        return answer  # quietly: no mail bombing of one address

    def work(session: Session) -> tuple[str, MailText] | None:
        user = _find_user(session, email)
        if user is None or user.status != UserStatus.ACTIVE:
            return None
        token = factors.new_token()
        factors.issue(session, user.id, factors.Purpose.PASSWORD_RESET, token, factors.RESET_TTL)
        audit(session, user, "password_reset_requested", {}, call.client_ip)
        link = f"{settings.public_url.rstrip('/')}/app/reset-password#token={token}"
        minutes = int(factors.RESET_TTL.total_seconds() // 60)
        mail = password_reset_mail(
            _tenant_locale(session, user), user.first_name, link, token, minutes
        )
        return user.email, mail

    found = await call.db_global(work)
    if found is not None:
        _send_mail_later(call, *found)
    return answer


@routes.post(
    "/api/auth/password/reset",
    None,
    body=ResetIn,
    errors=(401,),
    summary="Choose a new password with a reset token (logs out every session)",
)
async def reset_password(call: Call[None, ResetIn]) -> None:
    purpose = factors.Purpose.PASSWORD_RESET

    def owner_email(session: Session) -> str | None:
        row = factors.find_token(session, purpose, call.body.token)
        user = session.get(User, row.user_id) if row else None
        return user.email if user else None

    email = await call.db_global(owner_email)
    if email is None:
        raise bad_request("invalid_token", "this reset link expired or was already used")
    try:
        check_strength(call.body.new_password, email)
    except WeakPassword as exc:
        raise _weak(exc, "new_password") from exc
    new_hash = await _off_loop(call, hash_password, call.body.new_password)

    def work(session: Session) -> None:
        row = factors.find_token(session, purpose, call.body.token)
        user = session.get(User, row.user_id, with_for_update=True) if row else None
        if row is None or user is None:
            raise bad_request("invalid_token", "this reset link expired or was already used")
        row.used_at = _now()
        user.password_hash = new_hash
        user.password_changed_at = _now()
        user.failed_logins = 0
        user.locked_until = None
        sessions.revoke_user_sessions(session, user.id)
        audit(session, user, "password_reset", {}, call.client_ip)

    await call.db_global(work)


@routes.post(
    "/api/auth/password/change",
    "self",
    body=PasswordChangeIn,
    summary="Change your password (other sessions are logged out)",
)
async def change_password(call: Call[None, PasswordChangeIn]) -> None:
    principal = call.user
    stored_hash, email = await call.db_global(
        lambda s: (lambda u: (u.password_hash, u.email))(_current_user(s, principal))
    )
    if not await _off_loop(call, verify_password, call.body.current_password, stored_hash):
        raise bad_request("wrong_password", "the current password is not right")
    try:
        check_strength(call.body.new_password, email)
    except WeakPassword as exc:
        raise _weak(exc, "new_password") from exc
    new_hash = await _off_loop(call, hash_password, call.body.new_password)

    def work(session: Session) -> None:
        user = _current_user(session, principal)
        user.password_hash = new_hash
        user.password_changed_at = _now()
        sessions.revoke_user_sessions(session, user.id, keep=principal.session_id)
        audit(session, user, "password_change", {}, call.client_ip)

    await call.db_global(work)
