"""A loyalty-points skill written with the public SDK only, served by `hablo skill serve`
in the remote skill tests. Its config steers it into what the tests need: sleep (a slow
endpoint), book at a given time, cancel a given booking."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn


class PointsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    points_per_booking: int = Field(default=10, ge=0, le=1000)
    sleep_s: float = Field(default=0, ge=0, le=60)
    book_at: datetime | None = None  # "canjear": book the first service then
    cancel_id: uuid.UUID | None = None  # "canjear": cancel this booking instead


class PointsSkill(Skill):
    name = "points"
    config_model = PointsConfig
    intents = (
        IntentSpec(
            "points_balance",
            {
                "es": (
                    "cuántos puntos tengo",
                    "cuantos puntos tengo acumulados",
                    "mis puntos",
                    "saldo de puntos",
                    "quiero saber mis puntos",
                    "cuántos puntos de fidelidad tengo",
                    "ver mis puntos",
                ),
                "en": (
                    "how many points do i have",
                    "my points balance",
                    "check my loyalty points",
                    "points balance",
                ),
            },
        ),
        IntentSpec(
            "points_redeem",
            {
                "es": (
                    "canjear mis puntos",
                    "quiero canjear puntos",
                    "canjear puntos por un turno",
                    "usar mis puntos",
                    "canjeo de puntos",
                ),
                "en": ("redeem my points", "use my points", "redeem points"),
            },
        ),
    )
    templates = {
        "points_balance": {
            "es": "{{ business }}: tenés {{ points }} puntos ({{ count }} turnos).",
            "en": "{{ business }}: you have {{ points }} points ({{ count }} bookings).",
        }
    }

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        config = self.config
        assert isinstance(config, PointsConfig)
        if config.sleep_s:
            time.sleep(config.sleep_s)
        mine = ctx.bookings().upcoming_for_contact(turn.contact_id, ctx.now())
        if turn.intent == "points_redeem":
            if config.cancel_id is not None:
                ok = ctx.bookings().cancel(config.cancel_id, turn.contact_id)
                return SkillResult.say("Cancelado." if ok else "No encontré ese turno.")
            service = ctx.services()[0]
            start = config.book_at or ctx.now()
            ctx.bookings().book(turn.contact_id, service, start, turn.conversation_id)
            return SkillResult.say(f"Canjeado: {service.name}.")
        seen = int(turn.state.get("asked", 0)) + 1
        text = ctx.render(
            "points_balance",
            turn.language,
            business=ctx.tenant.name,
            points=len(mine) * config.points_per_booking,
            count=len(mine),
        )
        return SkillResult.say(text, state={"asked": seen})
