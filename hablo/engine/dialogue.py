"""Dialogue policy: which skill answers a turn, flows (multi-turn forms) and their
interruptions, leaving a flow, and offering a human after repeated misunderstandings.

The conversation's state (a JSON column, so it survives passivation and restarts):
    {"skills": {skill_name: {...private state...}},
     "flow": skill_name | None,          # the skill whose flow is active
     "misunderstood": int,               # misunderstandings in a row
     "offered_human": bool,              # we asked "¿querés hablar con una persona?"
     "handoff_at": iso-datetime | None}  # when the conversation went to a human
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hablo.engine.nlu.acts import AFFIRM, DENY
from hablo.engine.nlu.text import normalize
from hablo.plugins.sdk import Skill

HUMAN = "human"
DIALOGUE_ACTS = (AFFIRM, DENY)  # the acts read by rule (nlu.acts) that flows answer
MISUNDERSTANDINGS_BEFORE_HUMAN = 2
# Inside a flow, free-text answers (a name, an age) often look a little like some intent:
# only a confident prediction of another intent interrupts the flow.
INTERRUPT_CONFIDENCE = 0.65
# Said alone, these leave any flow ("cancelar" inside a booking flow is the booking
# skill's own business: it is an intent it declares).
EXIT_WORDS = frozenset(
    {
        "salir",
        "sali",
        "salgo",
        "basta",
        "olvidalo",
        "olvidate",
        "dejalo",
        "deja",
        "stop",
        "exit",
        "quit",
        "nevermind",
        "never mind",
        "forget it",
        "chau",
    }
)


@dataclass
class DialogueState:
    skills: dict[str, dict[str, Any]] = field(default_factory=dict)
    flow: str | None = None
    misunderstood: int = 0
    offered_human: bool = False
    handoff_at: str | None = None
    # The quick answers the bot's last message offered (a bare "2" picks the second).
    choices: list[str] = field(default_factory=list)
    # What the last turns were about, for follow-ups: {"intent", "service", "day"}.
    context: dict[str, Any] = field(default_factory=dict)
    # An intent the bot's last message offered with a yes/no ("¿Querés sacar uno?").
    offer: str | None = None
    # A digest of the bot's last answer and how many times in a row it was the same.
    last_reply: str | None = None
    repeats: int = 0

    @classmethod
    def load(cls, raw: Mapping[str, Any]) -> DialogueState:
        return cls(
            skills={k: dict(v) for k, v in dict(raw.get("skills") or {}).items()},
            flow=raw.get("flow"),
            misunderstood=int(raw.get("misunderstood") or 0),
            offered_human=bool(raw.get("offered_human")),
            handoff_at=raw.get("handoff_at"),
            choices=[str(c) for c in raw.get("choices") or []],
            context=dict(raw.get("context") or {}),
            offer=raw.get("offer"),
            last_reply=raw.get("last_reply"),
            repeats=int(raw.get("repeats") or 0),
        )

    def dump(self) -> dict[str, Any]:
        return {
            "skills": self.skills,
            "flow": self.flow,
            "misunderstood": self.misunderstood,
            "offered_human": self.offered_human,
            "handoff_at": self.handoff_at,
            "choices": self.choices,
            "context": self.context,
            "offer": self.offer,
            "last_reply": self.last_reply,
            "repeats": self.repeats,
        }

    def skill_state(self, name: str) -> dict[str, Any]:
        return self.skills.get(name, {})


_PICK = re.compile(r"\s*(?:opci[oó]n|option|n[uú]mero|number)?\s*(\d{1,2})\s*[.)]?\s*", re.I)


def picked_choice(text: str, choices: list[str]) -> str | None:
    """The choice a bare number answers ("2", "2.", "opción 2"), if it is one of them."""
    found = _PICK.fullmatch(text)
    if not found or not choices:
        return None
    index = int(found.group(1)) - 1
    return choices[index] if 0 <= index < len(choices) else None


# "no, dejá, después te escribo", "bueno lo pienso y te aviso", "maybe later": the
# customer leaves the flow for now (said while a flow waits for an answer).
_LEAVE = (
    r"deja(?:lo)?|dejemoslo|olvida(?:lo|te)|no importa|no pasa nada"
    r"|despues (?:te (?:escribo|aviso|confirmo)|veo|lo veo|vuelvo)"
    r"|(?:lo|la) (?:pienso|veo)|(?:y )?te (?:aviso|confirmo|escribo)"
    r"(?: despues| mas tarde| otro dia| en otro momento| mas adelante)?"
    r"(?: (?:para|y) (?:reservar|agendar|sacar (?:el )?turno|pedir (?:la )?cita|confirmar))?"
    r"|(?:ahora|por ahora) no|mejor (?:despues|otro dia)"
    r"|mas tarde te (?:escribo|aviso|confirmo)|let me think(?: about it)?"
    r"|i ?ll (?:think about it|let you know|get back to you)|not now|maybe later"
    r"|never ?mind|forget it|no worries|no te preocupes"
    r"|(?:(?:we|i) ?(?:ll|will) )?(?:book|reserv\w*|agend\w*|sac\w*)(?: (?:it|one|un turno|turno"
    r"|una cita|cita))? (?:en |for |on )?(?:another time|some other time|another day|otro dia"
    r"|otro momento|mas adelante|otra ocasion)"
)
_POLITE = (
    r"no|bueno|ok|okay|dale|mmm+|uh|ah|ya|gracias|thanks|nah|naa|hmm+|esta bien|igual"
    r"|thank you|muchas gracias|perfecto|vale"
    r"|para (?:reservar|agendar|sacar (?:el )?turno|pedir (?:la )?cita)|to book(?: it)?"
)
# The whole message says it: "nah forget it, cancel mine" asks for more than leaving.
_LEAVING_RE = re.compile(rf"^(?:(?:{_POLITE})\s+)*(?:{_LEAVE})(?:\s+(?:{_LEAVE}|{_POLITE}))*$")


def is_exit(text: str) -> bool:
    said = normalize(text).strip(" .!")
    words = " ".join(re.sub(r"[^\w\s]", " ", said).split())
    return said in EXIT_WORDS or bool(_LEAVING_RE.match(words))


def is_short_answer(text: str, entities: Mapping[str, Any]) -> bool:
    """One or two words carrying an entity: an answer to the flow's question. The thing
    of a question the bot cannot answer ("¿tienen estacionamiento?") is no such entity."""
    return any(key != "thing" for key in entities) and len(normalize(text).split()) <= 2


@dataclass(frozen=True)
class Route:
    skill: Skill | None
    # The flow skill to resume after `skill` answered an interruption.
    resume: Skill | None = None


def route(
    intent: str | None,
    confidence: float,
    short_answer: bool,
    state: DialogueState,
    skills: Mapping[str, Skill],
    skill_for_intent: Mapping[str, Skill],
    claimed: bool = False,
) -> Route:
    """An active flow gets the turn when the message answers its pending question
    (`claimed`), or unless the message is clearly about something else (an intent the
    flow's skill does not declare); then that skill answers and the flow is resumed."""
    flow_skill = skills.get(state.flow) if state.flow else None
    if flow_skill is None:
        return Route(skill_for_intent.get(intent or "fallback") or skill_for_intent.get("fallback"))
    own = {spec.name for spec in flow_skill.intents}
    if claimed or intent is None or intent in DIALOGUE_ACTS or intent in own:
        return Route(flow_skill)
    if confidence < INTERRUPT_CONFIDENCE or short_answer:
        # "corte" answering "¿para qué servicio?" looks like a price question, but it is
        # the answer the flow asked for.
        return Route(flow_skill)
    other = skill_for_intent.get(intent)
    if other is None or other is flow_skill:
        return Route(flow_skill)
    return Route(other, resume=flow_skill)
