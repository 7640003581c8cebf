"""The gettext catalogues and the templates stay in step: every message a template says is
in every catalogue (a language's catalogue translates all of them, a country's only what
differs there), with the same placeholders; the .pot is what the templates hold; the
messages are the ones `pybabel extract` finds; customer-facing Python code words nothing
per language itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import hablo
from hablo.engine.catalogue_tools import (
    TEMPLATE_FILE,
    message_template,
    po_files,
    read_catalogue,
    template_messages,
)
from hablo.engine.catalogues import (
    as_jinja,
    catalogue_key,
    catalogues,
    is_overlay,
    localize,
    msgid_of,
    trans_messages,
)
from hablo.engine.templates import TemplateRenderer, neutral_templates

PO_FILES = po_files()
EXTRACTED = {msgid for _name, _line, msgid in template_messages()}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_the_shipped_locales_are_there() -> None:
    assert {"es", "es@tu", "es@usted", "es_ES", "es_ES@tu", "es_MX"} <= set(PO_FILES)


def test_the_messages_are_the_ones_jinja2s_extractor_finds() -> None:
    # The bot words a block by the id hablo.engine.catalogues computes; a translator's
    # tools (pybabel, Poedit) see jinja2's. They must be the same text.
    ours = {m for source in neutral_templates().values() for m in trans_messages(source)}
    assert ours == EXTRACTED
    assert len(EXTRACTED) > 80


def test_the_message_template_is_up_to_date() -> None:
    # scripts/update_catalogues.py writes it; a template changed without it fails here.
    shipped = {m.id for m in read_catalogue(TEMPLATE_FILE) if m.id}
    assert shipped == {m.id for m in message_template() if m.id}


@pytest.mark.parametrize("locale", sorted(PO_FILES))
def test_every_message_is_in_every_catalogue_and_none_is_stale(locale: str) -> None:
    catalog = read_catalogue(PO_FILES[locale])
    ids = {m.id for m in catalog if m.id}
    assert EXTRACTED - ids == set(), f"{locale} lacks messages: run scripts/update_catalogues.py"
    assert ids - EXTRACTED == set(), f"{locale} has messages no template says"


@pytest.mark.parametrize("locale", sorted(d for d in PO_FILES if not is_overlay(d)))
def test_a_language_catalogue_translates_every_message(locale: str) -> None:
    untranslated = [m.id for m in read_catalogue(PO_FILES[locale]) if m.id and not m.string]
    fuzzy = [m.id for m in read_catalogue(PO_FILES[locale]) if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []


@pytest.mark.parametrize("locale", sorted(PO_FILES))
def test_a_translation_keeps_the_placeholders(locale: str) -> None:
    for message in read_catalogue(PO_FILES[locale]):
        if message.id and message.string:
            assert isinstance(message.id, str) and isinstance(message.string, str)
            wanted = sorted(PLACEHOLDER.findall(message.id))
            assert sorted(PLACEHOLDER.findall(message.string)) == wanted, (locale, message.id)
            assert "{{" not in message.string and "{%" not in message.string


def test_a_trans_block_round_trips_to_jinja() -> None:
    assert msgid_of("On {{ day }}, 100% free") == "On %(day)s, 100%% free"
    assert as_jinja("El %(day)s, 100%% libre") == "El {{ day }}, 100% libre"


def test_a_chain_takes_the_first_catalogue_that_has_a_message() -> None:
    source = "{% trans %}Sure! Which service? We have: {{ service_list }}.{% endtrans %}"
    assert localize(source, ["es-MX", "es-usted", "es"]).startswith("¡Claro!")  # es_MX
    assert localize(source, ["es-usted", "es"]).startswith("¡Con gusto!")
    assert localize(source, ["es"]).startswith("¡Dale!")
    assert localize(source, ["pt-BR", "pt"]).startswith("Sure!")  # no catalogue: English


def test_folder_names_are_wording_keys() -> None:
    assert catalogue_key("es_MX@usted") == "es-MX-usted"
    assert set(catalogues()) == {catalogue_key(d) for d in PO_FILES}


def test_an_unknown_message_is_said_in_english() -> None:
    renderer = TemplateRenderer({}, {})
    assert renderer.render("choice_yes", "es") == "Sí"
    assert renderer.render("choice_yes", "en") == "Yes"
    assert renderer.render("choice_yes", "de") == "Yes"


# Customer-facing Python that picks words by language itself, instead of a template.
_PER_LANGUAGE = re.compile(
    r"""if\s+en\s+else|(?:lang|language)\s*==\s*["'](?:en|es)["']"""
    r"""|\{\s*["'](?:es|en)["']\s*:\s*["'(]"""
)
_CUSTOMER_FACING = ("skills", "engine", "payments", "domain")
# What customers say (read, not written), and CLDR date patterns (format data).
_NOT_WORDING = ("engine/nlu/", "skills/examples/", "engine/calendar_words.py")


def _python_files() -> list[Path]:
    root = Path(hablo.__file__).parent
    return sorted(
        path
        for part in _CUSTOMER_FACING
        for path in (root / part).rglob("*.py")
        if not any(skip in path.as_posix() for skip in _NOT_WORDING)
    )


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: p.name)
def test_no_customer_facing_python_words_replies_per_language(path: Path) -> None:
    found = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if _PER_LANGUAGE.search(line)
    ]
    assert found == [], f"{path}: put the words in a template and the catalogues"
