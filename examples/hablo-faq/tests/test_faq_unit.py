"""Loading, validation, matching and live reload of the FAQ file; the skill without an
engine (a fake context); the plugin's shape as hablo's loader checks it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from hablo.engine.nlu.text import normalize
from hablo.plugins import Turn
from hablo.plugins.loader import SkillRegistry, validate_skill_class
from hablo.skills.examples import BUILTIN_INTENTS, load_examples
from hablo.testing.context import make_turn, skill_context
from pydantic import ValidationError

from hablo_faq import FaqConfig, FaqError, FaqFile, FaqSkill, load_faq, parse_faq

EXAMPLE_YAML = Path(__file__).resolve().parents[1] / "faq.example.yaml"


def _error(source: str) -> str:
    with pytest.raises(FaqError) as info:
        parse_faq(source, "faq.yaml")
    return str(info.value)


# -- loading and validation --------------------------------------------------------------


def test_loads_entries_with_one_or_many_phrasings(faq_path: Path) -> None:
    book = load_faq(faq_path)
    assert len(book) == 3
    parking = book.entries[0]
    assert parking.question["es"] == ["¿Tienen estacionamiento?", "¿Dónde puedo estacionar?"]
    assert parking.question["en"] == ["Do you have parking?"]  # a single text is a list of one
    assert parking.tags == ("parking",)
    assert book.entries[2].tags == ()


def test_the_shipped_example_file_is_valid() -> None:
    book = load_faq(EXAMPLE_YAML)
    assert len(book) >= 5
    match = book.best("¿tienen estacionamiento?", "es", 75)
    assert match is not None and "estacionamiento" in match.answer


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "faqs:\n  - question: {es: '¿Hola?'}\n    answer: {es: Sí}\n"
            "  - question: {es: '¿Wifi?'}\n",
            "entry 2 (faqs[1]), field answer: Field required",
        ),
        (
            "faqs:\n  - question: {fr: 'Parking?'}\n    answer: {es: Sí}\n",
            "entry 1 (faqs[0]), field question.fr: Input should be 'es' or 'en'",
        ),
        (
            "faqs:\n  - question: {es: ['Parking?', '  ']}\n    answer: {es: Sí}\n",
            "entry 1 (faqs[0]), field question.es[1]: String should have at least 1 character",
        ),
        (
            "faqs:\n  - question: {es: 'Parking?'}\n    answer: {es: Sí}\n    anwser: typo\n",
            "entry 1 (faqs[0]), field anwser: Extra inputs are not permitted",
        ),
        (
            "faqs:\n  - question: {}\n    answer: {es: Sí}\n",
            "entry 1 (faqs[0]): Value error, question needs at least one phrasing",
        ),
        (
            "faqs:\n  - question: {es: 'Parking?'}\n    answer: {}\n",
            "entry 1 (faqs[0]): Value error, answer needs at least one language",
        ),
        (
            "faqs:\n  - question: {es: 'Parking?'}\n    answer: {es: 12}\n",
            "entry 1 (faqs[0]), field answer.es: Input should be a valid string",
        ),
        ("preguntas: []\n", "field faqs: Field required"),
        ("faqs: nope\n", "field faqs: Input should be a valid list"),
    ],
)
def test_a_bad_entry_names_its_index_and_field(source: str, expected: str) -> None:
    message = _error(source)
    assert message.startswith("faq.yaml: ")
    assert expected in message


def test_broken_yaml_names_the_line() -> None:
    message = _error("faqs:\n  - question: {es: 'Parking?'\n    answer: {es: Sí}\n")
    assert message.startswith("faq.yaml: invalid YAML at line 3, column 5: ")


def test_an_unquoted_question_mark_in_brackets_gets_a_hint() -> None:
    # PyYAML rejects [¿Tienen wifi?]: the commonest mistake in a FAQ file.
    message = _error("faqs:\n  - question: {es: [¿Tienen wifi?]}\n    answer: {es: Sí}\n")
    assert message.startswith("faq.yaml: invalid YAML at line 2, column ")
    assert "put questions in quotes" in message


def test_empty_file_and_wrong_top_level_are_explained() -> None:
    assert "the file is empty" in _error("")
    assert "expected a mapping with a 'faqs:' list" in _error("- question: {es: hola}\n")


def test_many_errors_are_summarised() -> None:
    source = "faqs:\n" + "  - {question: {es: x}}\n" * 5
    message = _error(source)
    assert message.count("Field required") == 3
    assert message.endswith("(and 2 more)")


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FaqError, match="file not found"):
        load_faq(tmp_path / "nope.yaml")


def test_an_empty_list_is_a_valid_faq() -> None:
    assert len(parse_faq("faqs: []\n")) == 0


# -- matching ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "index", "answer_language"),
    [
        ("¿tienen estacionamiento?", "es", 0, "es"),
        ("TIENEN ESTACIONAMIENTO", "es", 0, "es"),  # normalized: case, accents, punctuation
        ("hola! tienen estacionamiento??", "es", 0, "es"),  # extra words do not hurt
        ("tienen estacionamento?", "es", 0, "es"),  # typo
        ("donde puedo estacionar el auto", "es", 0, "es"),
        ("do you have parking?", "en", 0, "en"),
        ("is there parking", "en", 0, "en"),
        ("¿aceptan mascotas?", "es", 1, "es"),
        # English phrasing, Spanish customer: matched through the other language,
        # answered in Spanish.
        ("should i come with clean hair?", "es", 2, "es"),
        # English customer, entry with a Spanish answer only: answered in Spanish.
        ("are pets allowed?", "en", 1, "es"),
    ],
)
def test_best_match(
    faq_path: Path, text: str, language: str, index: int, answer_language: str
) -> None:
    match = load_faq(faq_path).best(text, language, 75)
    assert match is not None
    assert (match.index, match.language) == (index, answer_language)
    assert match.entry.answer_in(answer_language) == (answer_language, match.answer)
    assert match.score >= 75


@pytest.mark.parametrize(
    "text",
    [
        "¿tienen wifi?",  # same opener as "¿tienen estacionamiento?", another question
        "tienen?",
        "hola",
        "",
        "???",
        "¿hacen factura A?",
    ],
)
def test_no_match(faq_path: Path, text: str) -> None:
    assert load_faq(faq_path).best(text, "es", 75) is None


def test_the_turn_language_is_searched_first() -> None:
    book = parse_faq(
        "faqs:\n"
        "  - question: {en: parking lot}\n    answer: {es: en inglés, en: english}\n"
        "  - question: {es: parking lot}\n    answer: {es: en español, en: spanish}\n"
    )
    match_es = book.best("parking lot", "es", 75)
    match_en = book.best("parking lot", "en", 75)
    assert match_es is not None and match_es.index == 1
    assert match_en is not None and match_en.index == 0


def test_min_score_is_the_threshold(faq_path: Path) -> None:
    book = load_faq(faq_path)
    typo = "tienen estaciona?"  # close, not exact
    loose = book.best(typo, "es", 60)
    assert loose is not None and 60 <= loose.score < 100
    assert book.best(typo, "es", loose.score + 1) is None
    assert book.best("¿tienen estacionamiento?", "es", 100) is not None


# -- live reload -------------------------------------------------------------------------


def test_reloads_when_the_file_changes(faq_path: Path, write_faq: Any) -> None:
    faq = FaqFile(faq_path)
    first = faq.current()
    assert first is not None and len(first) == 3
    assert faq.current() is first  # unchanged file: not re-read
    write_faq(
        faq_path, "faqs:\n  - question: {es: '¿Tienen wifi?'}\n    answer: {es: 'Sí, gratis.'}\n"
    )
    second = faq.current()
    assert second is not None and second is not first
    match = second.best("tienen wifi", "es", 75)
    assert match is not None and match.answer == "Sí, gratis."


def test_reloads_a_file_replaced_by_rename(faq_path: Path, tmp_path: Path, write_faq: Any) -> None:
    faq = FaqFile(faq_path)
    assert faq.current() is not None
    replacement = write_faq(tmp_path / "new.yaml", "faqs: []\n")
    replacement.replace(faq_path)  # what many editors do on save
    book = faq.current()
    assert book is not None and len(book) == 0


def test_broken_file_logs_once_and_recovers(
    faq_path: Path, faq_yaml: str, write_faq: Any, caplog: pytest.LogCaptureFixture
) -> None:
    faq = FaqFile(faq_path)
    assert faq.current() is not None
    write_faq(faq_path, "faqs:\n  - question: {es: '¿Wifi?'}\n")
    with caplog.at_level(logging.INFO, logger="hablo_faq"):
        assert faq.current("tenant demo") is None
        assert faq.current("tenant demo") is None
        assert faq.current("tenant demo") is None
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    text = errors[0].getMessage()
    assert text.startswith("tenant demo: FAQ unavailable")
    assert "entry 1 (faqs[0]), field answer: Field required" in text
    assert faq.error is not None and "faqs[0]" in faq.error
    caplog.clear()
    write_faq(faq_path, faq_yaml)
    with caplog.at_level(logging.INFO, logger="hablo_faq"):
        book = faq.current("tenant demo")
    assert book is not None and len(book) == 3 and faq.error is None
    assert [r.getMessage() for r in caplog.records] == [
        f"tenant demo: FAQ loaded: 3 entries from {faq_path}"
    ]


def test_missing_file_logs_once_and_is_picked_up_when_created(
    tmp_path: Path, faq_yaml: str, write_faq: Any, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "later.yaml"
    faq = FaqFile(path)
    with caplog.at_level(logging.ERROR, logger="hablo_faq"):
        assert faq.current() is None
        assert faq.current() is None
    assert len(caplog.records) == 1 and "file not found" in caplog.records[0].getMessage()
    write_faq(path, faq_yaml)
    assert faq.current() is not None
    path.unlink()
    assert faq.current() is None  # deleted again


# -- config ------------------------------------------------------------------------------


def test_config_model() -> None:
    config = FaqConfig.model_validate({"path": "/srv/faq.yaml"})
    assert config.path == Path("/srv/faq.yaml") and config.min_score == 75
    assert FaqConfig.model_validate({"path": "x.yaml", "min_score": 90}).min_score == 90
    for bad in (
        {},
        {"path": "x.yaml", "min_score": 101},
        {"path": "x.yaml", "min_score": -1},
        {"path": "x.yaml", "minscore": 80},
    ):
        with pytest.raises(ValidationError):
            FaqConfig.model_validate(bad)


# -- the skill, without an engine --------------------------------------------------------


def _turn(text: str, language: str = "es") -> Turn:
    return make_turn(text, language, intent="faq", confidence=0.9)


def test_skill_answers_from_the_file(faq_path: Path) -> None:
    skill = FaqSkill(FaqConfig(path=faq_path))
    result = skill.handle(_turn("¿tienen estacionamiento?"), skill_context(FaqSkill))
    assert [r.text for r in result.replies] == ["Sí, hay 3 lugares gratis en la puerta."]
    assert not result.misunderstood
    assert result.meta["faq"] == 0 and result.meta["tags"] == ["parking"]


def test_skill_says_it_does_not_know(faq_path: Path) -> None:
    skill = FaqSkill(FaqConfig(path=faq_path))
    result = skill.handle(_turn("¿tienen wifi?"), skill_context(FaqSkill))
    assert [r.text for r in result.replies] == [FaqSkill.templates["faq_unknown"]["es"]]
    assert result.misunderstood  # two in a row and the engine offers a human
    english = skill.handle(_turn("do you have wifi?", "en"), skill_context(FaqSkill))
    assert english.replies[0].text.startswith("Sorry, I don't have that information")


def test_skill_with_a_broken_file_answers_politely(tmp_path: Path, write_faq: Any) -> None:
    path = write_faq(tmp_path / "faq.yaml", "faqs: [\n")
    skill = FaqSkill(FaqConfig(path=path))
    result = skill.handle(_turn("¿tienen estacionamiento?"), skill_context(FaqSkill))
    assert [r.text for r in result.replies] == [FaqSkill.templates["faq_unknown"]["es"]]
    assert "invalid YAML" in result.meta["faq_error"]


# -- the plugin's shape ------------------------------------------------------------------


def test_the_class_passes_hablos_plugin_validation() -> None:
    assert validate_skill_class(FaqSkill) is FaqSkill
    assert FaqSkill.name == "faq"
    assert [spec.name for spec in FaqSkill.intents] == ["faq"]


def test_the_entry_point_is_installed() -> None:
    registry = SkillRegistry.discover()
    status = {s.name: s for s in registry.statuses}["faq"]
    assert (status.status, status.source) == ("loaded", "hablo_faq.skill:FaqSkill")
    assert registry.get("faq") is FaqSkill
    assert "faq" not in registry.builtin_names()  # third-party: off unless a tenant enables it


def test_intent_examples_do_not_repeat_builtin_ones() -> None:
    builtin = {
        normalize(text): intent
        for intent in BUILTIN_INTENTS
        for texts in load_examples(intent).values()
        for text in texts
    }
    for spec in FaqSkill.intents:
        assert set(spec.examples) == {"es", "en"}
        for texts in spec.examples.values():
            clashes = {t: builtin[normalize(t)] for t in texts if normalize(t) in builtin}
            assert not clashes
