"""Translations of hablo's built-in replies: gettext catalogues, read from the .po files.

The shipped reply templates (hablo/skills/templates/*.j2) are written once, in English,
with their words inside `{% trans %}...{% endtrans %}` blocks. Every language, country
variety and formality is a catalogue, hablo/locale/<locale>/LC_MESSAGES/hablo.po:

    es            Spanish of Argentina: vos, "turno", "feriado" (the default Spanish)
    es@tu         tú, "cita", "día festivo" (Mexico, Colombia, Chile... with tú)
    es@usted      usted, "cita", "día festivo"
    es_ES         Spain, whatever the formality: "festivo", "¡Vale!"
    es_ES@tu      Spain with tú: "te he reservado", "pedir cita"
    es_MX         Mexico, whatever the formality
    en_US         the United States ("canceled"); English itself is the templates' text

A reply is worded by the first catalogue of its chain that translates a block (the
tenant's "es-MX-usted" looks in es_MX@usted, es_MX, es@usted, es, then keeps the
English); a language without a catalogue is said in English. The .po files are read
when first needed, with Babel: a fresh clone needs no build step.

Before a template is compiled, each block is replaced by its translation, written back
as jinja2 (`%(name)s` -> `{{ name }}`): the result is a plain template, the same kind a
tenant writes to word a reply its own way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from importlib.resources import files

from babel.messages.pofile import read_po

DOMAIN = "hablo"
# `{% trans %}...{% endtrans %}` with no arguments, plural or trimming: shipped templates
# keep to this form (a test checks that jinja2's own extraction finds the same messages).
_TRANS = re.compile(r"{%-?\s*trans\s*-?%}(.*?){%-?\s*endtrans\s*-?%}", re.DOTALL)
_VARIABLE = re.compile(r"{{\s*([A-Za-z_][A-Za-z0-9_]*)\s*}}")
_PLACEHOLDER = re.compile(r"%\(([A-Za-z_][A-Za-z0-9_]*)\)s|%%")

Catalogue = Mapping[str, str]


def is_overlay(locale_dir: str) -> bool:
    """A country's catalogue ("es_MX", "en_GB") translates only what differs there from
    its language's; a language's ("es", "es@usted", "pt") translates every message."""
    return "_" in locale_dir


def catalogue_key(locale_dir: str) -> str:
    """A catalogue's folder as a wording key: "es_MX@usted" -> "es-MX-usted"."""
    return locale_dir.replace("_", "-").replace("@", "-")


@functools.cache
def catalogues() -> dict[str, dict[str, str]]:
    """Wording key -> msgid -> translation, for every shipped catalogue (read once)."""
    out: dict[str, dict[str, str]] = {}
    for folder in (files("hablo") / "locale").iterdir():
        po = folder / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not po.is_file():
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle)
        out[catalogue_key(folder.name)] = {
            str(m.id): str(m.string)
            for m in catalog
            if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
        }
    return out


def msgid_of(block: str) -> str:
    """The message id jinja2's i18n extension gives a trans block's text."""
    parts: list[str] = []
    end = 0
    for found in _VARIABLE.finditer(block):
        parts.append(block[end : found.start()].replace("%", "%%"))
        parts.append(f"%({found.group(1)})s")
        end = found.end()
    parts.append(block[end:].replace("%", "%%"))
    return "".join(parts)


def as_jinja(message: str) -> str:
    """A translated message back as template text: "%(day)s a las" -> "{{ day }} a las"."""
    return _PLACEHOLDER.sub(lambda m: f"{{{{ {m.group(1)} }}}}" if m.group(1) else "%", message)


def translate(msgid: str, chain: Sequence[Catalogue]) -> str:
    return next((c[msgid] for c in chain if msgid in c), msgid)


def localize(source: str, keys: Sequence[str]) -> str:
    """A neutral template worded in the first catalogue of `keys` that has each message."""
    known = catalogues()
    chain = [known[k] for k in keys if k in known]
    return _TRANS.sub(lambda m: as_jinja(translate(msgid_of(m.group(1)), chain)), source)


def trans_messages(source: str) -> list[str]:
    """The message ids of a neutral template, in order."""
    return [msgid_of(m.group(1)) for m in _TRANS.finditer(source)]
