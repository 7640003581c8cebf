"""The part of WA-JS's `window.WPP` that hablo uses: one list, three readers.

`page_script` calls only what is listed here; `tests/unit/test_wpp_contract.py` checks
every entry against the vendored WA-JS's type declarations (vendor/types), so an upgrade
that renames one fails a test; the fake WhatsApp Web page in the tests implements exactly
this list. Add a name here before using it in `page_script`.
"""

from __future__ import annotations

from pathlib import Path

VENDOR_DIR = Path(__file__).parent / "vendor"
WA_JS_FILE = VENDOR_DIR / "wppconnect-wa.js"
WA_JS_VERSION_FILE = VENDOR_DIR / "VERSION"

# Top-level members of `WPP` (loader flags, the package version, the event emitter).
TOP_LEVEL: tuple[str, ...] = ("isReady", "version", "on")

# Functions, as "namespace.name" under `WPP`.
FUNCTIONS: tuple[str, ...] = (
    "conn.isAuthenticated",  # linked (the QR was scanned), maybe still syncing
    "conn.isMainReady",  # linked, synced, ready to send
    "conn.needsUpdate",  # WhatsApp Web asks for an update: the session cannot go on
    "conn.getAuthCode",  # the QR payload (`fullCode`), rotated by WhatsApp
    "conn.getMyUserId",  # the linked phone's wid
    "conn.getBuildConstants",  # the WhatsApp Web version (VERSION_STR)
    "conn.logout",  # unlink this device
    "conn.genLinkDeviceCodeForPhoneNumber",  # link by a code typed on the phone, not a QR
    "chat.markIsRead",  # read receipt for the customer's messages before replying
    "chat.markIsComposing",  # "typing..." shown for a while before each reply
    "chat.sendTextMessage",
    "chat.sendFileMessage",  # an image or a document with a caption
    "contact.getPnLidEntry",  # the phone number behind a hidden "@lid" sender id
)

# Events, subscribed with `WPP.on(name, listener)`.
EVENTS: tuple[str, ...] = (
    "conn.auth_code_change",  # WhatsApp rotated the QR (or it is gone)
    "conn.authenticated",  # the QR was scanned / the pairing code typed
    "conn.main_ready",  # synced, ready to send
    "conn.logout",  # the phone unlinked this device (or WhatsApp ended the session)
    "conn.needs_update",  # WhatsApp Web asks for an update
    "conn.online",  # the connection went offline / online
    "chat.new_message",
)


def wa_js_version() -> str:
    return WA_JS_VERSION_FILE.read_text(encoding="utf-8").strip()
