"""The account e-mails (login code, password reset), in the tenant's language: Spanish
first, English for tenants whose locale is English."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MailText:
    subject: str
    body: str


_LOGIN_CODE = {
    "es": MailText(
        "Tu código de acceso a hablo",
        "Hola {name}:\n\nTu código para entrar a hablo es:\n\n    {code}\n\n"
        "Vence en {minutes} minutos. Si no intentaste entrar, cambiá tu contraseña: "
        "alguien la conoce.\n",
    ),
    "en": MailText(
        "Your hablo sign-in code",
        "Hi {name},\n\nYour code to sign in to hablo is:\n\n    {code}\n\n"
        "It expires in {minutes} minutes. If you did not try to sign in, change your "
        "password: someone knows it.\n",
    ),
}

_PASSWORD_RESET = {
    "es": MailText(
        "Restablecer tu contraseña de hablo",
        "Hola {name}:\n\nPara elegir una contraseña nueva, abrí este enlace:\n\n    {link}\n\n"
        "o enviá este código a POST /api/auth/password/reset:\n\n    {token}\n\n"
        "Sirve una sola vez y vence en {minutes} minutos. Si no lo pediste, ignorá este "
        "correo: tu contraseña no cambió.\n",
    ),
    "en": MailText(
        "Reset your hablo password",
        "Hi {name},\n\nTo choose a new password, open this link:\n\n    {link}\n\n"
        "or send this token to POST /api/auth/password/reset:\n\n    {token}\n\n"
        "It works once and expires in {minutes} minutes. If you did not ask for it, "
        "ignore this mail: your password did not change.\n",
    ),
}


_ACCOUNT_EXISTS = {
    "es": MailText(
        "Alguien quiso registrarse en hablo con tu correo",
        "Hola {name}:\n\nAlguien intentó crear una cuenta de hablo con este correo, que ya "
        "tiene una. Si fuiste vos, entrá con tu contraseña o restablecela:\n\n    {link}\n\n"
        "Si no fuiste vos, ignorá este correo: tu cuenta no cambió.\n",
    ),
    "en": MailText(
        "Someone tried to sign up to hablo with your e-mail",
        "Hi {name},\n\nSomeone tried to create a hablo account with this e-mail, which "
        "already has one. If it was you, log in with your password or reset it:\n\n"
        "    {link}\n\nIf it was not you, ignore this mail: your account did not change.\n",
    ),
}


def _language(locale: str | None) -> str:
    return "en" if (locale or "").lower().startswith("en") else "es"


def login_code_mail(locale: str | None, name: str, code: str, minutes: int) -> MailText:
    text = _LOGIN_CODE[_language(locale)]
    values = {"name": name, "code": code, "minutes": minutes}
    return MailText(text.subject.format(**values), text.body.format(**values))


def password_reset_mail(
    locale: str | None, name: str, link: str, token: str, minutes: int
) -> MailText:
    text = _PASSWORD_RESET[_language(locale)]
    values = {"name": name, "link": link, "token": token, "minutes": minutes}
    return MailText(text.subject.format(**values), text.body.format(**values))


def account_exists_mail(locale: str | None, name: str, link: str) -> MailText:
    """Sent instead of an error when a sign-up uses a registered e-mail: the answer to
    the sign-up must not tell whether an address has an account."""
    text = _ACCOUNT_EXISTS[_language(locale)]
    values = {"name": name, "link": link}
    return MailText(text.subject.format(**values), text.body.format(**values))
