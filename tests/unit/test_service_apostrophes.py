"""Service names with an apostrophe match however the customer types it."""

from __future__ import annotations

import uuid

import pytest

from hablo.engine.nlu.services import ServiceMatcher
from hablo.plugins.sdk import ServiceInfo


def _service(name: str) -> ServiceInfo:
    return ServiceInfo(uuid.uuid4(), name, "", 4500, 30)


MATCHER = ServiceMatcher([_service(n) for n in ("Women's haircut", "Men's haircut", "Blowout")])


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("mens haircut tmrw 5:30pm", "Men's haircut"),
        ("men's haircut", "Men's haircut"),
        ("Men’s haircut on friday", "Men's haircut"),  # a phone's curly apostrophe
        ("womens haircut saturday", "Women's haircut"),
        ("men s hair", "Men's haircut"),  # already normalised by another reader
    ],
)
def test_an_apostrophe_is_not_needed(text: str, name: str) -> None:
    assert [s.name for s in MATCHER.by_name_words(text)] == [name]


def test_a_haircut_alone_is_still_either() -> None:
    assert len(MATCHER.by_name_words("a haircut")) == 2
