"""The e-mails of staff notifications, in the recipient's language (Spanish first,
English for English locales): a customer asked for a person, a booking was made, a
channel disconnected."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from hablo.db.staff_events import BOOKING_CREATED, CHANNEL_DISCONNECTED, HANDOFF_REQUESTED
from hablo.tenancy.settings import REPLY_LANGUAGES


@dataclass(frozen=True)
class MailText:
    subject: str
    body: str


@dataclass(frozen=True)
class EventFacts:
    """What a notification mail says, read from the database when it is sent."""

    kind: str
    tenant: str
    timezone: str
    summary: str
    channel: str | None
    customer: str
    console_url: str
    handoff_timeout_minutes: int
    service: str = ""
    starts_at: datetime | None = None


_HANDOFF = {
    "es": MailText(
        "{tenant}: {customer} pide hablar con una persona",
        "Hola:\n\n{customer} ({channel}) pidió hablar con una persona de {tenant}. Su "
        "último mensaje:\n\n    «{summary}»\n\nEl bot dejó de responder en esa "
        "conversación. Respondé desde la consola: {console}\n\nSi nadie le escribe en "
        "{minutes} minutos, el bot vuelve a atenderlo y se lo avisa.\n",
    ),
    "en": MailText(
        "{tenant}: {customer} asks to talk to a person",
        "Hello,\n\n{customer} ({channel}) asked to talk to a person at {tenant}. Their "
        "last message:\n\n    “{summary}”\n\nThe bot stopped answering in that "
        "conversation. Reply from the console: {console}\n\nIf nobody writes to them within "
        "{minutes} minutes, the bot takes over again and tells them so.\n",
    ),
}

_BOOKING = {
    "es": MailText(
        "{tenant}: nueva reserva de {customer}",
        "Hola:\n\n{customer} reservó {service} para el {when}.\n\nLa ves en la consola: "
        "{console}\n",
    ),
    "en": MailText(
        "{tenant}: new booking by {customer}",
        "Hello,\n\n{customer} booked {service} for {when}.\n\nSee it in the console: {console}\n",
    ),
}

_WHATSAPP_WEB_LOST = {
    "es": MailText(
        "{tenant}: WhatsApp Web se desconectó",
        "Hola:\n\nEl WhatsApp de {tenant} dejó de estar vinculado a hablo ({summary}), así "
        "que el bot no está recibiendo ni respondiendo mensajes por ese número.\n\nPara "
        "volver a vincularlo, pedí un código nuevo con POST /api/whatsapp/qr y escanealo "
        "desde WhatsApp > Dispositivos vinculados.\n",
    ),
    "en": MailText(
        "{tenant}: WhatsApp Web disconnected",
        "Hello,\n\n{tenant}'s WhatsApp is no longer linked to hablo ({summary}), so the bot "
        "is not receiving or answering messages on that number.\n\nTo link it again, get a "
        "new code with POST /api/whatsapp/qr and scan it from WhatsApp > Linked devices.\n",
    ),
}

_CHANNEL_LOST = {
    "es": MailText(
        "{tenant}: el canal {channel} se desconectó",
        "Hola:\n\nEl canal {channel} de {tenant} dejó de funcionar ({summary}): el bot no "
        "puede responder por él hasta que se corrija.\n\nRevisalo en la consola: {console}\n",
    ),
    "en": MailText(
        "{tenant}: the {channel} channel disconnected",
        "Hello,\n\n{tenant}'s {channel} channel stopped working ({summary}): the bot cannot "
        "answer through it until this is fixed.\n\nCheck it in the console: {console}\n",
    ),
}

_WHEN = {"es": "EEEE d 'de' MMMM, HH:mm", "en": "EEEE, MMMM d, h:mm a"}


def mail_language(locale: str | None) -> str:
    """The reply language of a locale ("en-US" -> "en"); Spanish for anything else."""
    language = (locale or "").replace("_", "-").split("-")[0].lower()
    return language if language in REPLY_LANGUAGES else "es"


def notification_mail(facts: EventFacts, locale: str | None) -> MailText:
    language = mail_language(locale)
    if facts.kind == HANDOFF_REQUESTED:
        text = _HANDOFF[language]
    elif facts.kind == BOOKING_CREATED:
        text = _BOOKING[language]
    elif facts.kind == CHANNEL_DISCONNECTED:
        lost = _WHATSAPP_WEB_LOST if facts.channel == "whatsapp_web" else _CHANNEL_LOST
        text = lost[language]
    else:
        raise ValueError(f"no mail for notifications of kind {facts.kind!r}")
    when = ""
    if facts.starts_at is not None:
        local = facts.starts_at.astimezone(ZoneInfo(facts.timezone))
        when = format_datetime(local, _WHEN[language], locale=language)
    values = {
        "tenant": facts.tenant,
        "customer": facts.customer,
        "channel": facts.channel or "",
        "summary": facts.summary,
        "console": facts.console_url,
        "minutes": facts.handoff_timeout_minutes,
        "service": facts.service,
        "when": when,
    }
    return MailText(text.subject.format(**values), text.body.format(**values))
