"""Keeping the catalogues in step with the templates (for `scripts/update_catalogues.py`
and the tests; the bot itself only reads catalogues, see `hablo.engine.catalogues`).

The messages are found by jinja2's own Babel extractor, as `pybabel extract` would.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from jinja2.ext import babel_extract

from hablo.engine.catalogues import DOMAIN
from hablo.engine.templates import neutral_templates

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
TEMPLATE_FILE = LOCALE_DIR / f"{DOMAIN}.pot"
_EXTRACT_OPTIONS = {"trim_blocks": "true", "lstrip_blocks": "true"}


def template_messages() -> Iterator[tuple[str, int, str]]:
    """(template name, line, msgid) of every `{% trans %}` block in hablo's templates."""
    for name, source in sorted(neutral_templates().items()):
        found = babel_extract(
            io.BytesIO(source.encode("utf-8")), ("_", "gettext"), [], _EXTRACT_OPTIONS
        )
        for line, _function, message, _comments in found:
            if isinstance(message, str):
                yield name, line, message


def message_template() -> Catalog:
    """The messages as a .pot catalogue, with the template each comes from."""
    catalog = Catalog(domain=DOMAIN, project="hablo", fuzzy=False)
    for name, line, msgid in template_messages():
        catalog.add(msgid, locations=[(f"hablo/skills/templates/{name}.j2", line)])
    return catalog


def po_files() -> dict[str, Path]:
    """Locale folder name ("es_MX@usted") -> its .po file."""
    return {
        po.parent.parent.name: po for po in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    }


def read_catalogue(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def po_text(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=0, omit_header=False, ignore_obsolete=True, sort_output=True)
    return out.getvalue()


def updated(path: Path, template: Catalog) -> bytes:
    """A .po file's text after taking in the template's messages: new ones untranslated,
    gone ones dropped, translations kept (no fuzzy guesses: a guess would be said)."""
    catalog = read_catalogue(path)
    catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
    return po_text(catalog)
