"""Phrase: the one-line "does this message say X?" rules of the NLU and the skills."""

from __future__ import annotations

import re

from hablo.engine.nlu.text import Phrase


def test_a_phrase_reads_the_plain_text() -> None:
    asks_room = Phrase(r"\btenes lugar\b")
    # Accents, capitals and punctuation do not hide the phrase.
    assert asks_room("¿Tenés LUGAR el sábado?") is True
    assert asks_room("che... tenes, lugar??") is True
    assert asks_room("no tengo lugar") is False


def test_an_anchored_phrase_holds_the_whole_message() -> None:
    only_yes = Phrase(r"^(?:si|yes)(?: gracias)?$")
    assert only_yes("Sí, gracias!") is True
    assert only_yes("si pero a las 5") is False


def test_a_compiled_pattern_is_kept_for_other_rules() -> None:
    cancel = re.compile(r"\bcancel\w*")
    says_cancel = Phrase(cancel)
    assert says_cancel.pattern is cancel
    assert says_cancel("Cancelá el del viernes") is True
    assert "cancel" in repr(says_cancel)
