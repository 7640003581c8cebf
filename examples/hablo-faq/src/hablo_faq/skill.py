"""The `faq` skill: answers a tenant's frequently asked questions from a YAML file."""

from __future__ import annotations

from pathlib import Path

from hablo.plugins import IntentSpec, Reply, Skill, SkillContext, SkillResult, Turn
from pydantic import BaseModel, ConfigDict, Field

from hablo_faq.faq import FaqFile


class FaqConfig(BaseModel):
    """The skill's per-tenant config (the `config` of its `tenant_skills` row)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The tenant's FAQ YAML, as seen by the hablo server (absolute paths are safest:
    # a relative one is relative to the server's working directory).
    path: Path
    # How close (0..100, rapidfuzz token_set_ratio) a message must be to a question.
    min_score: float = Field(default=75, ge=0, le=100)


# Generic "do you have / do you allow / is there" questions about the business that no
# built-in intent answers. Kept apart from the built-ins' vocabulary (prices, discounts,
# payment methods, address, hours, bookings): "¿aceptan tarjeta?" stays with `pay` and
# "¿hacen descuento?" with `pricing`. Tenants add their own phrasings through the
# tenant setting `intent_examples: {"faq": {"es": [...]}}`.
FAQ = IntentSpec(
    "faq",
    {
        "es": (
            "tienen estacionamiento?",
            "tienen estacionamiento propio?",
            "tienen wifi?",
            "hay wifi para clientes?",
            "aceptan mascotas?",
            "aceptan perros?",
            "puedo ir con mi perro?",
            "puedo ir con mi hijo?",
            "se puede ir con niños?",
            "se puede entrar con cochecito?",
            "tienen acceso para silla de ruedas?",
            "tienen baño?",
            "tienen aire acondicionado?",
            "tienen sala de espera?",
            "hacen factura?",
            "dan factura A?",
            "tienen gift card?",
            "venden tarjetas de regalo?",
            "van a domicilio?",
            "hacen servicio a domicilio?",
            "usan productos veganos?",
            "usan tinturas sin amoníaco?",
            "hay que ir con el pelo lavado?",
            "hay que llevar algo?",
            "qué pasa si llego tarde?",
            "dan tolerancia si llego tarde?",
            "ofrecen café mientras espero?",
            "es apto para embarazadas?",
            "los productos son libres de crueldad animal?",
        ),
        "en": (
            "do you have parking?",
            "is there a parking lot?",
            "do you have wifi?",
            "is there wifi for customers?",
            "are pets allowed?",
            "can i bring my dog?",
            "can i bring my kids?",
            "is it kid friendly?",
            "can i come with a stroller?",
            "is it wheelchair accessible?",
            "is there a restroom?",
            "do you have air conditioning?",
            "do you have a waiting room?",
            "do you give invoices?",
            "do you sell gift cards?",
            "do you do home visits?",
            "do you use vegan products?",
            "do you use ammonia free dye?",
            "should i come with clean hair?",
            "do i need to bring anything?",
            "what happens if i'm late?",
            "do you offer coffee while i wait?",
            "is it safe during pregnancy?",
            "are your products cruelty free?",
        ),
    },
)


class FaqSkill(Skill):
    name = "faq"
    config_model = FaqConfig
    intents = (FAQ,)
    templates = {
        # Said when no question matches, or while the YAML is missing or broken.
        # Tenants can override it like any template ("es/faq_unknown.j2").
        "faq_unknown": {
            "es": "Perdón, no tengo esa información. 🙏 ¿Te puedo ayudar con otra cosa?",
            "en": "Sorry, I don't have that information. 🙏 Can I help you with anything else?",
        }
    }

    def __init__(self, config: BaseModel | None = None) -> None:
        super().__init__(config)
        if not isinstance(self.config, FaqConfig):
            raise TypeError(f"FaqSkill needs a FaqConfig, got {type(self.config).__name__}")
        self.settings: FaqConfig = self.config
        self._file = FaqFile(self.settings.path)

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        book = self._file.current(label=f"tenant {ctx.tenant.slug}")
        match = None
        if book is not None:
            match = book.best(turn.text, turn.language, self.settings.min_score)
        if match is None:
            # Counts as a misunderstanding: after two in a row the engine offers a human.
            return SkillResult(
                replies=(Reply(ctx.render("faq_unknown", turn.language)),),
                misunderstood=True,
                meta={"faq": None, "faq_error": self._file.error},
            )
        return SkillResult(
            replies=(Reply(match.answer),),
            meta={"faq": match.index, "score": match.score, "tags": list(match.entry.tags)},
        )
