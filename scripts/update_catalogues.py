"""Bring hablo/locale/ in step with the reply templates.

Writes hablo/locale/hablo.pot (every `{% trans %}` message of hablo/skills/templates/,
found as `pybabel extract` finds them) and merges it into every
hablo/locale/<locale>/LC_MESSAGES/hablo.po: new messages arrive untranslated, removed
ones are dropped, translations are kept. Then translate the new entries (msgstr) and run
`pytest tests/unit/test_catalogues.py`, which fails on any message a full catalogue
lacks.

    .venv/bin/python scripts/update_catalogues.py          # update the files
    .venv/bin/python scripts/update_catalogues.py --check  # exit 1 if they are behind
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hablo.engine.catalogue_tools import (
    TEMPLATE_FILE,
    message_template,
    po_files,
    po_text,
    read_catalogue,
    updated,
)
from hablo.engine.catalogues import is_overlay


def _messages(text: bytes) -> bytes:
    """What matters in a catalogue's text: its messages, not its header's dates."""
    return text.split(b"\n\n", 1)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if behind")
    args = parser.parse_args()
    template = message_template()
    wanted: dict[Path, bytes] = {TEMPLATE_FILE: po_text(template)}
    for path in po_files().values():
        wanted[path] = updated(path, template)
    behind = [
        path
        for path, text in wanted.items()
        if not path.exists() or _messages(path.read_bytes()) != _messages(text)
    ]
    for path in behind:
        print(f"{'behind' if args.check else 'updated'}: {path}")
        if not args.check:
            path.write_bytes(wanted[path])
    if not behind:
        print(f"up to date: {len(template)} messages, {len(wanted) - 1} catalogues")
    incomplete = False
    for name, path in po_files().items():
        missing = sum(1 for m in read_catalogue(path) if m.id and not m.string)
        if missing and not is_overlay(name):
            incomplete = True
            print(f"{name}: {missing} messages to translate")
    return 1 if args.check and (behind or incomplete) else 0


if __name__ == "__main__":
    sys.exit(main())
