"""Prices: one service when the customer names it, the whole list otherwise."""

from __future__ import annotations

from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from hablo.plugins.sdk import ServiceInfo

PRICING = IntentSpec(
    "pricing",
    {
        "es": (
            "cuánto cuesta",
            "cuanto sale",
            "cuánto sale el corte",
            "precio",
            "precios",
            "qué precio tiene",
            "cuánto cobran",
            "lista de precios",
            "cuánto está",
            "cuánto cuesta el corte de pelo",
            "precio de la manicura",
            "valor del brushing",
            "qué servicios tienen y a qué precio",
            "cuánto me sale una coloración",
            "cuanto cobran la barba",
            "tarifas",
            "me pasás los precios",
            "cuánto vale",
            "qué servicios ofrecen",
            "qué hacen",
            "cuánto sale teñirse",
            "cuanto esta el corte",
            "a cuánto está la manicura",
            "costo del corte",
        ),
        "en": (
            "how much is it",
            "how much does a haircut cost",
            "price list",
            "prices",
            "what are your prices",
            "how much is a beard trim",
            "how much for a manicure",
            "what do you charge",
            "cost of coloring",
            "what services do you offer",
            "how much",
            "rates",
            "what's the price of a haircut",
        ),
    },
)


class PricingSkill(Skill):
    name = "pricing"
    intents = (PRICING,)
    slots = ("service",)

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        lang = turn.language
        service = turn.entities.get("service")
        if isinstance(service, ServiceInfo):
            return SkillResult.say(
                ctx.render(
                    "price_one",
                    lang,
                    service=service,
                    price=ctx.format_money(service.price_minor, lang),
                )
            )
        items = [(s, ctx.format_money(s.price_minor, lang)) for s in ctx.services()]
        return SkillResult.say(ctx.render("price_list", lang, items=items))
