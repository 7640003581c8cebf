"""A "👍" or "ok" opening a chat is a hello (nlu/acts.py waves_hello), not a yes."""

from __future__ import annotations

import pytest

from hablo.engine.nlu.acts import read_act, waves_hello


@pytest.mark.parametrize("text", ["👍", "ok", "dale", "okay"])
def test_a_yes_opening_the_chat_is_a_hello(text: str) -> None:
    assert waves_hello(read_act(text), 0)


@pytest.mark.parametrize(("text", "before"), [("👍", 2), ("ok", 1), ("no", 0), ("gracias", 0)])
def test_a_yes_later_or_another_act_is_not(text: str, before: int) -> None:
    assert not waves_hello(read_act(text), before)
