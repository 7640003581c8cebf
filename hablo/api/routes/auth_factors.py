"""The second factor of your own account: set up an authenticator (TOTP), or switch
to e-mailed codes. Registered on the `auth` routes (see auth.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hablo.api.endpoints import Call
from hablo.api.problems import bad_request, conflict, forbidden
from hablo.api.routes.auth import (
    PRIVILEGED,
    _current_user,
    _off_loop,
    _settings,
    audit,
    routes,
)
from hablo.api.routes.auth_models import MeOut, SecondFactorIn, TotpConfirmIn, TotpSetupOut
from hablo.security import second_factor as factors
from hablo.security.passwords import verify_password
from hablo.security.secrets import SecretBox

# -- second factor -------------------------------------------------------------------------


@routes.post(
    "/api/auth/2fa/setup",
    "self",
    response=TotpSetupOut,
    errors=(409,),
    summary="Start using an authenticator app: the secret is shown this once",
    description="Confirm with a first code at `POST /api/auth/2fa/confirm`; until then "
    "the current method stays.",
)
async def start_totp_setup(call: Call[None, None]) -> TotpSetupOut:
    principal = call.user
    settings = _settings(call)

    def work(session: Session) -> TotpSetupOut:
        user = _current_user(session, principal)
        if user.two_factor_method == "totp":
            raise conflict("an authenticator is already set up; switch to e-mail codes first")
        secret = factors.new_totp_secret()
        box = SecretBox.from_config(settings.secret_keys, settings.state_dir)
        user.totp_secret_encrypted = box.seal(secret, context=factors.totp_context(user.id))
        audit(session, user, "2fa_setup_started", {"method": "totp"}, call.client_ip)
        return TotpSetupOut(secret=secret, otpauth_uri=factors.totp_uri(secret, user.email))

    return await call.db_global(work)


@routes.post(
    "/api/auth/2fa/confirm",
    "self",
    body=TotpConfirmIn,
    response=MeOut,
    errors=(409,),
    summary="Confirm the authenticator with its first code: it becomes your second factor",
)
async def confirm_totp_setup(call: Call[None, TotpConfirmIn]) -> MeOut:
    principal = call.user
    settings = _settings(call)

    def work(session: Session) -> MeOut:
        user = _current_user(session, principal)
        if user.two_factor_method == "totp" or not user.totp_secret_encrypted:
            raise conflict("no authenticator set-up is pending; start with /api/auth/2fa/setup")
        box = SecretBox.from_config(settings.secret_keys, settings.state_dir)
        if not factors.verify_totp(session, box, user, call.body.code):
            raise bad_request("invalid_code", "wrong or expired code; check the phone's clock")
        user.two_factor_method = "totp"
        audit(session, user, "2fa_enabled", {"method": "totp"}, call.client_ip)
        return MeOut.of(user)

    return await call.db_global(work)


@routes.put(
    "/api/auth/2fa",
    "self",
    body=SecondFactorIn,
    response=MeOut,
    summary="Switch to e-mailed codes, or (agents and clients only) turn the second factor off",
)
async def set_second_factor(call: Call[None, SecondFactorIn]) -> MeOut:
    principal = call.user
    stored_hash = await call.db_global(lambda s: _current_user(s, principal).password_hash)
    if not await _off_loop(call, verify_password, call.body.password, stored_hash):
        raise bad_request("wrong_password", "the password is not right")
    if call.body.method == "none" and principal.role in PRIVILEGED:
        raise forbidden("a second factor is mandatory for your role")

    def work(session: Session) -> MeOut:
        user = _current_user(session, principal)
        user.two_factor_method = "email" if call.body.method == "email" else None
        user.totp_secret_encrypted = None
        audit(session, user, "2fa_changed", {"method": call.body.method}, call.client_ip)
        return MeOut.of(user)

    return await call.db_global(work)
