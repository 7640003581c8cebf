"""Every WPP function and event hablo uses (wpp_contract) exists in the vendored WA-JS's
own type declarations, so an upgrade of WA-JS that renames one fails here, not on a
customer's page. Also: the vendored bundle is the one its README and checksum name."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from hablo.adapters.whatsapp_web import page_script, wpp_contract
from tests.providers import fake_whatsapp_web

TYPES = wpp_contract.VENDOR_DIR / "types"
EXPORT_LIST = re.compile(r"export\s*\{([^}]*)\}")
EXPORT_DECLARED = re.compile(r"export\s+declare\s+(?:const|let|function|class)\s+(\w+)")
EXPORT_NAMESPACE = re.compile(r"export\s+\*\s+as\s+(\w+)")
EVENT_KEY = re.compile(r"^\s*'([\w.]+)'\s*:", re.MULTILINE)


def exported(dts: Path) -> set[str]:
    """The names a declaration file exports (lists, `declare`s and `* as` namespaces)."""
    text = dts.read_text(encoding="utf-8")
    names = set(EXPORT_DECLARED.findall(text)) | set(EXPORT_NAMESPACE.findall(text))
    for group in EXPORT_LIST.findall(text):
        for item in group.split(","):
            words = item.split()
            if words:
                names.add(words[-1])  # "a as b" exports b
    return names


def missing(
    top_level: tuple[str, ...], functions: tuple[str, ...], events: tuple[str, ...]
) -> list[str]:
    """The entries the vendored declarations do not have."""
    root = exported(TYPES / "index.d.ts")
    gone = [name for name in top_level if name not in root]
    for entry in functions:
        namespace, name = entry.split(".", 1)
        index = TYPES / namespace / "functions" / "index.d.ts"
        if namespace not in root or not index.exists() or name not in exported(index):
            gone.append(entry)
    for event in events:
        types = TYPES / event.split(".", 1)[0] / "events" / "eventTypes.d.ts"
        if not types.exists() or event not in EVENT_KEY.findall(types.read_text("utf-8")):
            gone.append(event)
    return gone


def test_every_contract_entry_is_in_the_vendored_declarations() -> None:
    assert missing(wpp_contract.TOP_LEVEL, wpp_contract.FUNCTIONS, wpp_contract.EVENTS) == []


def test_a_renamed_entry_is_caught() -> None:
    renamed = missing(
        ("isReadyNow",),
        ("conn.isMainReady", "conn.isMainReadyNow", "chats.sendTextMessage"),
        ("chat.new_message", "chat.new_msg", "conn.main_ready_now"),
    )
    assert renamed == [
        "isReadyNow",
        "conn.isMainReadyNow",
        "chats.sendTextMessage",
        "chat.new_msg",
        "conn.main_ready_now",
    ]


def test_the_fake_page_implements_exactly_the_contract() -> None:
    assert set(fake_whatsapp_web.WPP_FUNCTIONS) == set(wpp_contract.FUNCTIONS)
    assert set(fake_whatsapp_web.WPP_TOP_LEVEL) == set(wpp_contract.TOP_LEVEL)
    assert set(fake_whatsapp_web.WPP_EVENTS) == set(wpp_contract.EVENTS)


def test_the_page_scripts_call_only_contract_entries() -> None:
    """The page scripts call exactly the contract's functions and events."""
    scripts = "".join(page_script.ALL_SCRIPTS)
    called = set(re.findall(r"WPP\.(\w+\.\w+)\(", scripts))
    assert called == set(wpp_contract.FUNCTIONS), called  # nothing unlisted, nothing unused
    events = set(re.findall(r"WPP\.on\(\"([\w.]+)\"", scripts))
    assert events == set(wpp_contract.EVENTS)


def test_the_vendored_bundle_is_the_recorded_one() -> None:
    bundle = wpp_contract.WA_JS_FILE.read_bytes()
    recorded = (wpp_contract.VENDOR_DIR / "wppconnect-wa.js.sha256").read_text().strip()
    assert hashlib.sha256(bundle).hexdigest() == recorded
    version = wpp_contract.wa_js_version()
    assert f'version="{version}"'.encode() in bundle
    assert f"@wppconnect/wa-js {version}" in (wpp_contract.VENDOR_DIR / "README.md").read_text()
    assert "Apache License" in (wpp_contract.VENDOR_DIR / "LICENSE").read_text()
