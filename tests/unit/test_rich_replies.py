"""Quick answers and media in replies: what a skill may ask for, how each kind of channel
shows it, and how a numbered answer comes back."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from hablo.adapters.whatsapp_cloud import content_of
from hablo.engine.dialogue import DialogueState, picked_choice
from hablo.engine.messages import OutboundEnvelope
from hablo.engine.store import TurnRecord
from hablo.plugins import Reply


def envelope(text: str = "¿Te reservo?", **fields: Any) -> OutboundEnvelope:
    return OutboundEnvelope(1, uuid.uuid4(), "whatsapp_cloud", "549111", text, None, **fields)


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (lambda: Reply("x", choices=tuple(str(n) for n in range(11))), "at most 10"),
        (lambda: Reply("x", choices=("sí", " ")), "some text"),
        (lambda: Reply("x", media_url="ftp://a/b.png"), "http"),
        (lambda: Reply("x", media_url="https://a/b", media_type="video"), "media_type"),
    ],
)
def test_a_reply_refuses_what_no_channel_can_show(reply: Any, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        reply()


def test_extras_are_none_for_plain_text() -> None:
    assert Reply("hola").extras() is None
    assert Reply("m", media_url="https://x/y.pdf", media_type="document").extras() == {
        "media": {"url": "https://x/y.pdf", "type": "document"}
    }


def test_plain_text_numbers_the_choices_and_links_the_media() -> None:
    rich = envelope(choices=("Sí", "No"), media_url="https://x/menu.png")
    assert rich.plain_text() == "¿Te reservo?\n\n1. Sí\n2. No\n\nhttps://x/menu.png"
    assert envelope().plain_text() == "¿Te reservo?"


def test_the_outbox_payload_carries_the_extras_and_reads_back() -> None:
    turn = TurnRecord(
        inbox_ids=(7,),
        inbound=(),
        language="es",
        intent=None,
        confidence=0.0,
        skill=None,
        replies=("a", "b"),
        new_state=None,
        reply_extras=(None, {"choices": ["Sí", "No"]}),
    )
    payloads = turn.reply_payloads()
    assert payloads == [
        {"text": "a", "inbox_ids": []},
        {"text": "b", "inbox_ids": [7], "choices": ["Sí", "No"]},
    ]
    assert OutboundEnvelope.extras_of(payloads[1])["choices"] == ("Sí", "No")
    assert OutboundEnvelope.extras_of(payloads[0]) == {
        "choices": (),
        "media_url": None,
        "media_type": "image",
    }


@pytest.mark.parametrize(
    ("text", "picked"),
    [("1", "Sí"), (" 2. ", "No"), ("opción 2", "No"), ("2)", "No"), ("3", None), ("0", None)],
)
def test_a_bare_number_picks_a_choice(text: str, picked: str | None) -> None:
    assert picked_choice(text, ["Sí", "No"]) == picked


def test_words_with_numbers_are_not_a_pick() -> None:
    assert picked_choice("el 1 a las 10", ["Sí", "No"]) is None
    assert picked_choice("1", []) is None


def test_the_offered_choices_survive_in_the_dialogue_state() -> None:
    state = DialogueState.load({"choices": ["Sí", "No"]})
    assert DialogueState.load(state.dump()).choices == ["Sí", "No"]
    assert DialogueState.load({}).choices == []


def test_whatsapp_shows_up_to_three_short_choices_as_buttons() -> None:
    content = content_of(envelope(choices=("Sí", "No")), {})
    assert content["type"] == "interactive"
    interactive = content["interactive"]
    assert interactive["type"] == "button" and interactive["body"] == {"text": "¿Te reservo?"}
    assert interactive["action"]["buttons"] == [
        {"type": "reply", "reply": {"id": "choice:1", "title": "Sí"}},
        {"type": "reply", "reply": {"id": "choice:2", "title": "No"}},
    ]


def test_whatsapp_shows_more_or_longer_choices_as_a_list() -> None:
    choices = ("jueves 11/3 10:00", "jueves 11/3 10:30", "jueves 11/3 11:00", "viernes 12/3 9:00")
    content = content_of(envelope(choices=choices), {"list_button": "Horarios"})
    interactive = content["interactive"]
    assert interactive["type"] == "list"
    assert interactive["action"]["button"] == "Horarios"
    rows = interactive["action"]["sections"][0]["rows"]
    assert [r["title"] for r in rows] == list(choices)


def test_whatsapp_falls_back_to_numbered_text_when_choices_do_not_fit() -> None:
    long = ("una opción con un título demasiado largo para una fila", "otra")
    content = content_of(envelope(choices=long), {})
    assert content["type"] == "text"
    assert content["text"]["body"].endswith(f"1. {long[0]}\n2. otra")


def test_whatsapp_sends_media_by_link_with_the_text_as_caption() -> None:
    content = content_of(
        envelope("Tu factura", media_url="https://x/f.pdf", media_type="document"), {}
    )
    assert content == {
        "type": "document",
        "document": {"link": "https://x/f.pdf", "caption": "Tu factura"},
    }
