"""Payments in the chat: the checkout link for the customer's next unpaid booking, when
they ask ("quiero pagar") and right after the booking skill made a booking (a follow-up
with `booking_id`). The bookkeeping lives in `hablo.payments`; this is only the talk.

The link is made with a blocking call to Stripe: fine here, skills run in the
conversation actor's thread, never on the event loop.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace

from hablo.engine.nlu.text import normalize
from hablo.payments.desk import OfferKind, PaymentOffer
from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from hablo.skills.examples import load_examples

TEMPLATES: dict[str, dict[str, str]] = {
    "payment_link": {
        "es": "Para confirmar tu turno de {{ service }} ({{ when }}), aboná "
        "{% if deposit %}la seña de {{ amount }}{% else %}{{ amount }}{% endif %} acá: {{ url }}",
        "en": "To confirm your {{ service }} booking ({{ when }}), pay "
        "{% if deposit %}the {{ amount }} deposit{% else %}{{ amount }}{% endif %} here: {{ url }}",
        "es-tu": "Para confirmar tu cita de {{ service }} ({{ when }}), paga {% if deposit %}"
        "el depósito de {{ amount }}{% else %}{{ amount }}{% endif %} aquí: {{ url }}",
        "es-usted": "Para confirmar su cita de {{ service }} ({{ when }}), pague {% if deposit %}"
        "el anticipo de {{ amount }}{% else %}{{ amount }}{% endif %} aquí: {{ url }}",
        "es-ES": "Para confirmar tu cita de {{ service }} ({{ when }}), paga {% if deposit %}"
        "la señal de {{ amount }}{% else %}{{ amount }}{% endif %} aquí: {{ url }}",
    },
    "payment_already_paid": {
        "es": "Tu turno de {{ service }} ({{ when }}) ya está pago. ¡Gracias!",
        "en": "Your {{ service }} booking ({{ when }}) is already paid. Thank you!",
        "es-tu": "Tu cita de {{ service }} ({{ when }}) ya está pagada. ¡Gracias!",
        "es-usted": "Su cita de {{ service }} ({{ when }}) ya está pagada. ¡Gracias!",
    },
    "payment_nothing_due": {
        "es": "No tenés nada pendiente de pago. Cuando reserves un turno te mando el link "
        "para pagarlo.",
        "en": "You have nothing to pay right now. When you book, I'll send you a link to pay.",
        "es-tu": "No tienes nada pendiente de pago. Cuando reserves una cita te mando el enlace "
        "para pagarla.",
        "es-usted": "No tiene nada pendiente de pago. Cuando agende una cita le envío el enlace "
        "para pagarla.",
    },
    "payment_offline": {
        "es": "Por ahora no cobramos online: se paga en {{ tenant.name }} el día del turno.",
        "en": "We don't take payments online yet: you pay at {{ tenant.name }} on the day.",
        "es-tu": "Por ahora no cobramos en línea: se paga en {{ tenant.name }} el día de la cita.",
        "es-usted": "Por ahora no cobramos en línea: se paga en {{ tenant.name }} "
        "el día de su cita.",
    },
    "payment_methods_unknown": {
        "es": "{{ online }} Sobre los medios de pago en el local ({{ method }}) no tengo el "
        "dato 🤔 ¿Querés que te comunique con una persona del equipo para consultarlo?",
        "en": "{{ online }} I don't have the details about paying at the shop ({{ method }}) "
        "🤔 Would you like me to put you through to someone on the team to ask?",
        "es-tu": "{{ online }} Sobre los medios de pago en el local ({{ method }}) no tengo esa "
        "información 🤔 ¿Quieres que te pase con una persona del equipo para consultarlo?",
        "es-usted": "{{ online }} Sobre las formas de pago en el local ({{ method }}) no tengo esa "
        "información 🤔 ¿Desea que le comunique con una persona del equipo para consultarlo?",
    },
    "payment_unavailable": {
        "es": "No pude generar el link de pago en este momento. Escribime «quiero pagar» "
        "en un ratito y te lo mando.",
        "en": "I couldn't create the payment link just now. Write “pay” in a moment and "
        "I'll send it.",
        "es-tu": "No pude generar el enlace de pago en este momento. Escríbeme «quiero pagar» "
        "en un rato y te lo mando.",
        "es-usted": "No pude generar el enlace de pago en este momento. Escríbame «quiero pagar» "
        "en un rato y se lo envío.",
        "es-ES": "No he podido generar el enlace de pago ahora mismo. Escríbeme «quiero pagar» "
        "dentro de un rato y te lo mando.",
    },
}

_TEMPLATE_FOR = {
    OfferKind.LINK: "payment_link",
    OfferKind.PAID: "payment_already_paid",
    OfferKind.NOTHING: "payment_nothing_due",
    OfferKind.OFFLINE: "payment_offline",
    OfferKind.UNAVAILABLE: "payment_unavailable",
}
# After a booking only these are worth saying; the rest would be noise.
_AFTER_BOOKING = (OfferKind.LINK, OfferKind.UNAVAILABLE)


class PaymentSkill(Skill):
    name = "payment"
    intents = (IntentSpec("pay", load_examples("pay")),)
    templates = TEMPLATES

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        booking_id = _booking_id(turn)
        offer = ctx.payments().offer(turn.contact_id, booking_id)
        if booking_id is not None and offer.kind not in _AFTER_BOOKING:
            return SkillResult()
        method = _METHOD.search(normalize(turn.text)) if booking_id is None else None
        if method is not None and offer.kind in (OfferKind.OFFLINE, OfferKind.NOTHING):
            # "¿aceptan tarjeta?": what is known (online or not), then honestly not the rest.
            online = (
                ctx.render("payment_offline", turn.language)
                if offer.kind == (OfferKind.OFFLINE)
                else ""
            )
            said = SkillResult.say(
                ctx.render(
                    "payment_methods_unknown", turn.language, online=online, method=method[0]
                )
            )
            return replace(said, meta={"offer": "human"})
        return SkillResult.say(_text(offer, ctx, turn.language))


# A question about a way of paying, which no setting describes yet.
_METHOD = re.compile(
    r"\b(?:tarjetas?(?: de (?:credito|debito))?|credito|debito|efectivo|transferencia"
    r"|mercado ?pago|qr|cards?|credit cards?|debit cards?|cash|transfers?|paypal|venmo|zelle"
    r"|apple pay|google pay)\b"
)


def _booking_id(turn: Turn) -> uuid.UUID | None:
    """Set by the booking skill's follow-up; customers' messages never carry it."""
    value = turn.entities.get("booking_id")
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _text(offer: PaymentOffer, ctx: SkillContext, lang: str) -> str:
    when = ctx.format_datetime(offer.starts_at, lang) if offer.starts_at else ""
    return ctx.render(
        _TEMPLATE_FOR[offer.kind],
        lang,
        service=offer.service,
        when=when,
        amount=ctx.format_money(offer.amount_minor, lang),
        deposit=offer.deposit,
        url=offer.url,
    )
