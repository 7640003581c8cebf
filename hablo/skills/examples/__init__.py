"""Example utterances of the built-in intents, one file per intent and language:
`{intent}.{lang}.txt`, one utterance per line, `#` starts a comment. They train the
local NLU; tenants add their own through settings (`intent_examples`)."""

from __future__ import annotations

import functools
from importlib.resources import files

LANGUAGES = ("es", "en")
# Every intent with shipped examples. Skills declare them (IntentSpec(name,
# load_examples(name))); affirm and deny are the engine's own dialogue acts.
BUILTIN_INTENTS = (
    "greeting",
    "hours",
    "location",
    "pricing",
    "book",
    "cancel",
    "reschedule",
    "my_bookings",
    "pay",
    "human",
    "thanks",
    "affirm",
    "deny",
)


@functools.cache
def load_examples(intent: str) -> dict[str, tuple[str, ...]]:
    """{"es": (...), "en": (...)} for an intent; languages without a file are left out.

    Cached and shared: treat the result as read-only."""
    package = files(__name__)
    out: dict[str, tuple[str, ...]] = {}
    for lang in LANGUAGES:
        resource = package.joinpath(f"{intent}.{lang}.txt")
        if not resource.is_file():
            continue
        lines = (line.split("#", 1)[0].strip() for line in resource.read_text("utf-8").splitlines())
        out[lang] = tuple(dict.fromkeys(line for line in lines if line))
    return out
