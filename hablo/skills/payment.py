"""Payments in the chat: the checkout link for the customer's next unpaid booking, when
they ask ("quiero pagar") and right after the booking skill made a booking (a follow-up
with `booking_id`). The bookkeeping lives in `hablo.payments`; this is only the talk.

A new link is asked of the provider after the turn commits (`AFTER_COMMIT`): the
turn's transaction never waits on Stripe or MercadoPago while it holds the conversation.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace

from hablo.domain.payments import OfferKind, PaymentOffer
from hablo.engine.after_commit import AFTER_COMMIT
from hablo.engine.nlu.text import normalize
from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from hablo.skills.examples import load_examples

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

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        booking_id = _booking_id(turn)
        offer = ctx.payments().offer(turn.contact_id, booking_id)
        if booking_id is not None and offer.kind not in _AFTER_BOOKING:
            return SkillResult()
        if offer.link_later is not None:
            # Said once the provider made the link, after this turn committed.
            lang = turn.language
            work = offer.link_later.worded(lambda made: _text(made, ctx, lang))
            return SkillResult(meta={AFTER_COMMIT: work})
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
