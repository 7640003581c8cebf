"""Prices: one service when the customer names it, the whole list otherwise."""

from __future__ import annotations

from collections.abc import Sequence

from hablo.engine.nlu.acts import asks_total
from hablo.engine.nlu.genders import gendered_family
from hablo.engine.nlu.party import quantity
from hablo.engine.nlu.services import CHILDREN_SERVICE
from hablo.engine.nlu.text import normalize
from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.examples import load_examples

# Example utterances live in hablo/skills/examples/pricing.{lang}.txt.
PRICING = IntentSpec("pricing", load_examples("pricing"))


class PricingSkill(Skill):
    name = "pricing"
    intents = (PRICING,)
    slots = ("service",)

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        lang = turn.language
        if asks_total(turn.text) and not turn.entities.get("services"):
            booked = _booked_here(turn, ctx)
            if len(booked) > 1:  # "¿cuánto es en total?" after booking two: the sum
                return SkillResult.say(_price_lines(ctx, lang, booked, summed=booked))
        if turn.entities.get("for_whom"):
            return SkillResult.say(_for_whom(turn, ctx, lang))
        several = turn.entities.get("services") or _options_and_rest(turn)
        if several:  # "corte y barba": each of them
            named = [s for s in turn.entities.get("services") or () if isinstance(s, ServiceInfo)]
            asked = [s for s in several if isinstance(s, ServiceInfo)]
            # "corte y barba, ¿cuánto sale todo?": the sum of the services named as well
            return SkillResult.say(_price_lines(ctx, lang, asked, summed=named))
        service = turn.entities.get("service")
        if isinstance(service, ServiceInfo):
            one = _price_lines(ctx, lang, [service])
            count = quantity(turn.text)
            if count > 1:  # "2 cortes, ¿cuánto es?": the total too
                total = ctx.format_money(service.price_minor * count, lang)
                one += "\n" + ctx.render("price_total", lang, count=count, total=total)
            return SkillResult.say(one)
        items = [(s, ctx.format_money(s.price_minor, lang)) for s in ctx.services()]
        return SkillResult.say(ctx.render("price_list", lang, items=items))


def _price_lines(
    ctx: SkillContext,
    lang: str,
    services: Sequence[ServiceInfo],
    summed: Sequence[ServiceInfo] = (),
) -> str:
    """A line with each service's price and, when `summed` holds more than one, their sum."""
    lines = [
        ctx.render("price_one", lang, service=s, price=ctx.format_money(s.price_minor, lang))
        for s in services
    ]
    if len(summed) > 1:
        total = ctx.format_money(sum(s.price_minor for s in summed), lang)
        lines.append(ctx.render("price_sum", lang, total=total))
    return "\n".join(lines)


def _options_and_rest(turn: Turn) -> list[ServiceInfo]:
    """ "¿cuánto es la consulta y el certificado?": each consultation "consulta" may be,
    and the services named beside it (the NLU keeps those apart, for a booking to ask
    which one first), so no service asked about is left out."""
    options = turn.entities.get("service_options") or ()
    rest = turn.entities.get("services_then") or ()
    found = [s for s in (*options, *rest) if isinstance(s, ServiceInfo)]
    return list({s.id: s for s in found}.values())


def _booked_here(turn: Turn, ctx: SkillContext) -> list[ServiceInfo]:
    """The services of the customer's upcoming bookings made in this conversation."""
    by_id = {str(s.id): s for s in ctx.services()}
    held = ctx.bookings().upcoming_for_contact(turn.contact_id, ctx.now())
    return [
        by_id[str(b.service_id)]
        for b in held
        if b.conversation_id == turn.conversation_id and str(b.service_id) in by_id
    ]


def _for_whom(turn: Turn, ctx: SkillContext, lang: str) -> str:
    """ "¿es lo mismo para hombre y mujer?": the prices of the services cut for men and
    for women where the business has them, else that it is one for everybody."""
    named = turn.entities.get("service")
    service = named if isinstance(named, ServiceInfo) else None
    ages = turn.entities.get("for_whom") == "ages"
    family = _kids_and_adults(ctx, service) if ages else gendered_family(ctx.services(), service)
    if len(family) > 1:
        return _price_lines(ctx, lang, family)
    if service is not None:
        price = ctx.format_money(service.price_minor, lang)
        return ctx.render("price_same_for_all", lang, service=service, price=price, ages=ages)
    items = [(s, ctx.format_money(s.price_minor, lang)) for s in ctx.services()]
    same = ctx.render("price_same_for_all", lang, service=None, price="", ages=ages)
    return same + "\n" + ctx.render("price_list", lang, items=items)


def _kids_and_adults(ctx: SkillContext, service: ServiceInfo | None) -> list[ServiceInfo]:
    """The children's services and the service asked about (or all the others when the
    business has children's ones): "Kids cut $22" beside "Haircut $35"; empty when it
    has none for children."""
    kids = [s for s in ctx.services() if CHILDREN_SERVICE.search(normalize(s.name))]
    if not kids:
        return []
    if service is not None and service not in kids:  # "kids" named the kids' one itself
        return [service, *kids]
    return [s for s in ctx.services() if s not in kids] + kids
