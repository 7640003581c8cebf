"""Sign-in pages: password, then the second factor; forgot / reset password; accept an
invitation; log out (here or everywhere); set up an authenticator. Every step runs the
API's own operation (lockout, codes, mails, audit are theirs)."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from hablo.api.middleware import TOKENS
from hablo.api.problems import ApiError
from hablo.api.routes import auth, auth_factors, auth_passwords
from hablo.console.api_calls import Handler, call_api
from hablo.console.guard import (
    limit,
    limit_like,
    posted,
    redirect,
    safe_next,
    text,
    user_of,
)
from hablo.console.i18n import LANGUAGES
from hablo.console.render import language, render
from hablo.console.session import (
    CHALLENGE_COOKIE,
    LANG_COOKIE,
    current_principal,
    end_session,
    set_lang_cookie,
    set_short_cookie,
    start_session,
)

routes = web.RouteTableDef()


def _signed_in(request: web.Request, access_token: str, target: str) -> web.Response:
    principal = request.app[TOKENS].verify_access(access_token)
    response = redirect(target)
    start_session(request, response, principal)
    response.del_cookie(CHALLENGE_COOKIE, path="/")
    return response


@routes.get("/app")
async def app_home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/app/inbox")


@routes.get("/app/login")
async def login_page(request: web.Request) -> web.StreamResponse:
    await limit(request)
    if await current_principal(request) is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    notice = {"out": "signed_out", "saved": "password_saved"}.get(request.query.get("m", ""))
    return render(
        request,
        "login.html",
        {
            "next": safe_next(request.query.get("next")),
            "notice": notice,
            "error": None,
            "email": "",
        },
    )


@routes.post("/app/login")
async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await posted(request)
    target = safe_next(text(form, "next"))
    email = text(form, "email")
    try:
        await limit_like(request, "/api/auth/login")
        out = await call_api(
            request, auth.login, None, body={"email": email, "password": text(form, "password")}
        )
    except ApiError as error:
        context = {"next": target, "notice": None, "error": error, "email": email}
        return render(request, "login.html", context, status=error.status)
    if not out.two_factor_required:
        return _signed_in(request, out.access_token, target)
    response = redirect(f"/app/login/code?method={out.method}&next={quote(target, safe='')}")
    set_short_cookie(
        request, response, CHALLENGE_COOKIE, out.challenge, out.challenge_expires_in or 300
    )
    return response


@routes.get("/app/login/code")
async def code_page(request: web.Request) -> web.StreamResponse:
    await limit(request)
    if not request.cookies.get(CHALLENGE_COOKIE):
        raise web.HTTPSeeOther("/app/login")
    method = "totp" if request.query.get("method") == "totp" else "email"
    return render(
        request,
        "code.html",
        {"method": method, "error": None, "next": safe_next(request.query.get("next"))},
    )


@routes.post("/app/login/code")
async def code_submit(request: web.Request) -> web.StreamResponse:
    form = await posted(request)
    target = safe_next(text(form, "next"))
    method = "totp" if text(form, "method") == "totp" else "email"
    challenge = request.cookies.get(CHALLENGE_COOKIE, "")
    try:
        await limit_like(request, "/api/auth/2fa/verify")
        tokens = await call_api(
            request,
            auth.verify_second_factor,
            None,
            body={"challenge": challenge, "code": text(form, "code").strip()},
        )
    except ApiError as error:
        if error.status in (401, 423) and error.code != "invalid_code":
            # The challenge is spent (too many codes, lockout): start over.
            context = {"next": target, "notice": None, "error": error, "email": ""}
            response = render(request, "login.html", context, status=error.status)
            response.del_cookie(CHALLENGE_COOKIE, path="/")
            return response
        return render(
            request,
            "code.html",
            {"method": method, "error": error, "next": target},
            status=error.status,
        )
    return _signed_in(request, tokens.access_token, target)


@routes.get("/app/forgot-password")
async def forgot_page(request: web.Request) -> web.StreamResponse:
    await limit(request)
    return render(request, "forgot.html", {"sent": False, "error": None})


@routes.post("/app/forgot-password")
async def forgot_submit(request: web.Request) -> web.StreamResponse:
    form = await posted(request)
    try:
        await limit_like(request, "/api/auth/password/forgot")
        await call_api(
            request, auth_passwords.forgot_password, None, body={"email": text(form, "email")}
        )
    except ApiError as error:
        return render(request, "forgot.html", {"sent": False, "error": error}, status=error.status)
    return render(request, "forgot.html", {"sent": True, "error": None})


async def _password_page(request: web.Request, invitation: bool) -> web.StreamResponse:
    await limit(request)
    return render(request, "reset.html", {"invitation": invitation, "error": None, "token": ""})


async def _password_submit(request: web.Request, invitation: bool) -> web.StreamResponse:
    form = await posted(request)
    try:
        await limit_like(request, "/api/auth/password/reset")
        await call_api(
            request,
            auth_passwords.reset_password,
            None,
            body={"token": text(form, "token"), "new_password": text(form, "new_password")},
        )
    except ApiError as error:
        # The token stays in the form: a weak password can be corrected without the link.
        context = {"invitation": invitation, "error": error, "token": text(form, "token")}
        return render(request, "reset.html", context, status=error.status)
    # After an invitation, the first sign-in leads to setting up the second factor.
    target = "/app/security?welcome=1" if invitation else "/app/inbox"
    raise web.HTTPSeeOther(f"/app/login?m=saved&next={quote(target, safe='')}")


@routes.get("/app/reset-password")
async def reset_page(request: web.Request) -> web.StreamResponse:
    return await _password_page(request, invitation=False)


@routes.post("/app/reset-password")
async def reset_submit(request: web.Request) -> web.StreamResponse:
    return await _password_submit(request, invitation=False)


@routes.get("/app/accept-invitation")
async def invitation_page(request: web.Request) -> web.StreamResponse:
    return await _password_page(request, invitation=True)


@routes.post("/app/accept-invitation")
async def invitation_submit(request: web.Request) -> web.StreamResponse:
    return await _password_submit(request, invitation=True)


@routes.get("/reset-password")
async def old_reset_link(request: web.Request) -> web.StreamResponse:
    """Mails sent before the console pointed here; the browser keeps the #token."""
    raise web.HTTPMovedPermanently("/app/reset-password")


@routes.post("/app/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    return await _log_out(request, auth.logout)


@routes.post("/app/logout-all")
async def logout_all(request: web.Request) -> web.StreamResponse:
    return await _log_out(request, auth.logout_everywhere)


async def _log_out(request: web.Request, operation: Handler) -> web.StreamResponse:
    """This session (or, with logout_everywhere, every session of the account) ends."""
    principal = await user_of(request)
    await posted(request)
    await call_api(request, operation, principal)
    response = redirect("/app/login?m=out")
    end_session(response)
    return response


@routes.get("/app/language/{lang}")
async def switch_language(request: web.Request) -> web.StreamResponse:
    lang = request.match_info["lang"]
    response = redirect(safe_next(request.query.get("next")))
    if lang in LANGUAGES:
        set_lang_cookie(request, response, lang)
    return response


# -- your account: second factor, sessions ------------------------------------------------


async def _security(request: web.Request, **context: object) -> web.StreamResponse:
    principal = await user_of(request)
    me = await call_api(request, auth.get_me, principal)
    values = {
        "user": me,
        "setup": None,
        "error": None,
        "done": False,
        "welcome": request.query.get("welcome") == "1",
        "lang_cookie": LANG_COOKIE,
        "active": "security",
        "current_lang": language(request),
    }
    values.update(context)
    status = getattr(context.get("error"), "status", 200)
    return render(request, "security.html", values, status=status)


@routes.get("/app/security")
async def security_page(request: web.Request) -> web.StreamResponse:
    return await _security(request)


@routes.post("/app/security/totp")
async def totp_start(request: web.Request) -> web.StreamResponse:
    principal = await user_of(request)
    await posted(request)
    try:
        setup = await call_api(request, auth_factors.start_totp_setup, principal)
    except ApiError as error:
        return await _security(request, error=error)
    return await _security(request, setup=setup)


@routes.post("/app/security/totp/confirm")
async def totp_confirm(request: web.Request) -> web.StreamResponse:
    principal = await user_of(request)
    form = await posted(request)
    try:
        await call_api(
            request,
            auth_factors.confirm_totp_setup,
            principal,
            body={"code": text(form, "code").strip()},
        )
    except ApiError as error:
        return await _security(request, error=error)
    return await _security(request, done=True)
