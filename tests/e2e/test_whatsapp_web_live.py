"""The runbook of docs/whatsapp-web.md against the real web.whatsapp.com, for a person with
two phones. Skipped unless HABLO_WHATSAPP_WEB_LIVE=1; never run by CI. It needs network
access to web.whatsapp.com, Chromium, and HABLO_WHATSAPP_WEB_LIVE_PHONE (the business
number to link, E.164). Run it with -s to see the prompts:

    HABLO_WHATSAPP_WEB_LIVE=1 HABLO_WHATSAPP_WEB_LIVE_PHONE=+5491144443333 \\
      .venv/bin/pytest -s -m live -k sqlite tests/e2e/test_whatsapp_web_live.py

Automating WhatsApp Web is outside WhatsApp's terms: use a number you can afford to lose.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from hablo.db.enums import OutboxStatus, Role, SenderKind
from hablo.db.models import Conversation, Message, OutboxMessage
from tests.api.support import Api
from tests.e2e.server import wait_until
from tests.e2e.whatsapp_web_support import (
    get_qr,
    live_whatsapp_web,
    needs_chromium,
    status,
    wait_state,
)

LIVE = os.environ.get("HABLO_WHATSAPP_WEB_LIVE") == "1"
REAL_URL = "https://web.whatsapp.com"
PERSON_S = 300.0  # how long a person gets for each step

pytestmark = [
    pytest.mark.live,
    pytest.mark.browser,
    pytest.mark.skipif(not LIVE, reason="HABLO_WHATSAPP_WEB_LIVE=1 runs it against WhatsApp"),
]


def say(text: str) -> None:
    print(f"\n>>> {text}", file=sys.stderr, flush=True)


@pytest.mark.timeout(1800)  # a person scans and writes
def test_runbook_against_the_real_whatsapp_web(db_url: str, tmp_path: Path) -> None:
    needs_chromium()
    phone = os.environ.get("HABLO_WHATSAPP_WEB_LIVE_PHONE", "")
    if not phone.startswith("+"):
        pytest.fail("set HABLO_WHATSAPP_WEB_LIVE_PHONE to the business number, e.g. +54911...")
    state_dir = tmp_path / "state"
    # Real pacing (the settings' defaults), not the fake page's fast one.
    real = {
        "whatsapp_web_min_gap_s": 1.0,
        "whatsapp_web_max_gap_s": 3.0,
        "whatsapp_web_typing_min_s": 1.0,
        "whatsapp_web_typing_max_s": 4.0,
        "whatsapp_web_headless": os.environ.get("HABLO_WHATSAPP_WEB_HEADLESS", "true") != "false",
    }
    with live_whatsapp_web(db_url, state_dir, True, REAL_URL, **real) as api:
        owner = api.as_role(Role.OWNER)
        created = owner.post("/api/channels", json={"channel": "whatsapp_web", "address": phone})
        assert created.status_code == 201, created.text

        # Steps 3-4: scan the QR (WhatsApp rotates it every ~20 s: the file follows), watch
        # the status reach connected.
        qr_file = tmp_path / "qr.png"
        qr_file.write_bytes(get_qr(owner).content)
        say(f"Open {qr_file} (it is refreshed) and scan it from {phone}: WhatsApp > Linked")
        say("devices > Link a device")

        def linked() -> bool:
            answer = owner.post("/api/whatsapp/qr", timeout=60)
            if answer.status_code == 200:
                qr_file.write_bytes(answer.content)
            state = status(owner)
            if state["state"] == "broken":
                pytest.fail(f"the session broke: {state['last_error']}")
            return answer.status_code == 409 and state["state"] == "connected"

        wait_until(linked, timeout=PERSON_S, interval=2.0, what="the phone linked")
        connected = status(owner)
        say(f"connected: WA-JS {connected['wa_js_version']}, {connected['whatsapp_web_version']}")

        # Step 5: a customer writes from a second phone and gets an answer.
        say(f"From a second phone, write 'hola, cuánto sale el corte?' to {phone}")
        wait_until(lambda: _answered(api), timeout=PERSON_S, interval=1.0, what="a reply sent")
        say("the reply was sent: check it arrived on the second phone")

    # Step 6: a restart keeps the login.
    with live_whatsapp_web(db_url, state_dir, False, REAL_URL, **real) as api:
        owner = api.as_role(Role.OWNER)
        wait_state(owner, "connected", timeout=PERSON_S)
        # Step 7: unlink through the API.
        gone = owner.post("/api/whatsapp/disconnect", timeout=120)
        assert gone.status_code == 200, gone.text
        assert gone.json()["state"] == "disconnected"
        say("unlinked: the device must be gone from the phone's Linked devices")


def _answered(api: Api) -> bool:
    with api.runtime.db.transaction() as session:
        wrote = session.scalar(
            select(Message.id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Conversation.channel == "whatsapp_web", Message.sender_kind == SenderKind.CUSTOMER
            )
            .limit(1)
        )
        sent = session.scalar(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.channel == "whatsapp_web", OutboxMessage.status == OutboxStatus.SENT
            )
            .limit(1)
        )
    return wrote is not None and sent is not None
