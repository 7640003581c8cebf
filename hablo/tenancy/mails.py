"""E-mails about the tenant's account: user invitations, plan limit and LLM budget
notices, in the tenant's language (Spanish first, English for English locales)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_date
from babel.numbers import format_decimal

from hablo.notify.mailer import Mailer, MailError
from hablo.tenancy.usage import LimitNotice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailText:
    subject: str
    body: str


_INVITATION = {
    "es": MailText(
        "Te invitaron a {tenant} en hablo",
        "Hola {name}:\n\n{tenant} te dio acceso a hablo. Para elegir tu contraseña, abrí:\n\n"
        "    {link}\n\no enviá este código a POST /api/auth/password/reset:\n\n    {token}\n\n"
        "Sirve una sola vez y vence en {days} días.\n",
    ),
    "en": MailText(
        "You were invited to {tenant} on hablo",
        "Hi {name},\n\n{tenant} gave you access to hablo. To choose your password, open:\n\n"
        "    {link}\n\nor send this token to POST /api/auth/password/reset:\n\n    {token}\n\n"
        "It works once and expires in {days} days.\n",
    ),
}

# To the holder of an e-mail another business tried to add: it is platform-wide unique, so
# nothing was created; the business was told the same as for any invitation.
_ALREADY_REGISTERED = {
    "es": MailText(
        "{tenant} quiso sumarte en hablo",
        "Hola {name}:\n\n{tenant} intentó darte acceso a hablo con este correo, que ya tiene "
        "una cuenta de hablo. No se cambió nada: seguí entrando como siempre.\n\n"
        "Si querés sumarte a {tenant}, pediles que te inviten con otro correo. Si no los "
        "conocés, ignorá este mensaje.\n",
    ),
    "en": MailText(
        "{tenant} tried to add you on hablo",
        "Hi {name},\n\n{tenant} tried to give you access to hablo with this e-mail, which "
        "already has a hablo account. Nothing changed: log in as usual.\n\n"
        "To join {tenant}, ask them to invite another e-mail address of yours. If you do not "
        "know them, ignore this message.\n",
    ),
}


_LIMIT_REACHED = {
    "es": MailText(
        "{tenant}: se agotaron los mensajes de este mes",
        "Hola:\n\n{tenant} llegó al límite de su plan: {used} de {limit} mensajes de clientes "
        "este mes. Hasta el próximo mes (o hasta que cambies de plan) el bot responde a tus "
        "clientes con un aviso amable en lugar de atenderlos; sus mensajes quedan guardados "
        "para que los respondas vos.\n\nPodés cambiar de plan en PUT /api/tenants/me/plan.\n",
    ),
    "en": MailText(
        "{tenant}: this month's messages ran out",
        "Hello,\n\n{tenant} reached its plan's limit: {used} of {limit} customer messages "
        "this month. Until next month (or a plan change) the bot answers your customers with "
        "a polite notice instead of serving them; their messages are kept for you to answer."
        "\n\nYou can change plans with PUT /api/tenants/me/plan.\n",
    ),
}


_LLM_BUDGET_REACHED = {
    "es": MailText(
        "{tenant}: se agotó el presupuesto de IA de este mes",
        "Hola:\n\n{tenant} llegó a su presupuesto mensual del modelo de lenguaje (modo LLM): "
        "{used} de {budget} tokens este mes.\n\nEl bot sigue respondiendo a tus clientes, "
        "ahora con el NLU local de hablo (su propio entendimiento, sin el modelo).\n\n"
        "El presupuesto se renueva el {resets} a las 00:00 (UTC); desde entonces el modelo "
        "vuelve a responder.\n",
    ),
    "en": MailText(
        "{tenant}: this month's AI budget is used up",
        "Hello,\n\n{tenant} reached its monthly language model budget (LLM mode): {used} of "
        "{budget} tokens this month.\n\nThe bot keeps answering your customers, now with "
        "hablo's local NLU (its own understanding, without the model).\n\nThe budget "
        "resets on {resets} at 00:00 (UTC); from then on the model answers again.\n",
    ),
}


def language_of(locale: str | None) -> str:
    return "en" if (locale or "").lower().startswith("en") else "es"


def invitation_mail(
    locale: str | None, tenant: str, name: str, link: str, token: str, days: int
) -> MailText:
    text = _INVITATION[language_of(locale)]
    values = {"tenant": tenant, "name": name, "link": link, "token": token, "days": days}
    return MailText(text.subject.format(**values), text.body.format(**values))


def already_registered_mail(locale: str | None, tenant: str, name: str) -> MailText:
    text = _ALREADY_REGISTERED[language_of(locale)]
    values = {"tenant": tenant, "name": name}
    return MailText(text.subject.format(**values), text.body.format(**values))


def limit_reached_mail(notice: LimitNotice) -> MailText:
    text = _LIMIT_REACHED[language_of(notice.locale)]
    values = {
        "tenant": notice.tenant_name,
        "used": notice.messages_used,
        "limit": notice.message_limit,
    }
    return MailText(text.subject.format(**values), text.body.format(**values))


def mail_limit_notices(mailer: Mailer) -> Callable[[LimitNotice], None]:
    """A usage Notifier that e-mails every recipient (one failure does not stop the rest)."""

    def notify(notice: LimitNotice) -> None:
        mail = limit_reached_mail(notice)
        for address in notice.recipients:
            try:
                mailer.send(address, mail.subject, mail.body)
            except MailError as exc:
                log.warning("plan limit mail to %s failed: %s", address, exc)

    return notify


def llm_budget_reached_mail(
    locale: str | None, tenant: str, used: int, budget: int, resets: datetime
) -> MailText:
    """`resets`: when the monthly token count starts over (UTC)."""
    language = language_of(locale)
    text = _LLM_BUDGET_REACHED[language]
    values = {
        "tenant": tenant,
        "used": format_decimal(used, locale=language),
        "budget": format_decimal(budget, locale=language),
        "resets": format_date(resets.date(), "long", locale=language),
    }
    return MailText(text.subject.format(**values), text.body.format(**values))
