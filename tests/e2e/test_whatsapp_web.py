"""The WhatsApp Web channel end to end: the real server and adapter driving Debian's
Chromium through Playwright against a fake WhatsApp Web page on 127.0.0.1 (never
web.whatsapp.com). One scenario, to keep browser launches few: link by QR, chat, ignore
groups, survive a restart without a new scan, alert on a lost session, unlink."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from hablo.adapters.whatsapp_web.wpp_contract import wa_js_version
from hablo.db.enums import Role
from hablo.db.models import AuditLog, Message, StaffNotification, User
from tests.api.support import Api
from tests.e2e.server import wait_until
from tests.e2e.whatsapp_web_support import (
    BUSINESS_PHONE,
    CHAT,
    CUSTOMER,
    PNG_SIGNATURE,
    QUESTION,
    get_qr,
    live_whatsapp_web,
    mails,
    needs_chromium,
    png_size,
    round_trip,
    status,
    wait_state,
)
from tests.providers.fake_whatsapp_web import WHATSAPP_VERSION, FakeWhatsAppWeb

pytestmark = pytest.mark.browser


def test_link_chat_restart_lose_and_unlink(db_url: str, tmp_path: Path) -> None:
    needs_chromium()
    fake = FakeWhatsAppWeb().start()
    state_dir = tmp_path / "state"
    try:
        with live_whatsapp_web(db_url, state_dir, seed=True, web_url=fake.url) as api:
            owner = api.as_role(Role.OWNER)
            assert status(owner)["state"] == "not_started"
            created = owner.post(
                "/api/channels",
                json={
                    "channel": "whatsapp_web",
                    "address": "+" + BUSINESS_PHONE,
                    "display_name": "Salón (WhatsApp Web)",
                },
            )
            assert created.status_code == 201, created.text

            # The QR, as PNG and as SVG; the page's payload is what the phone would scan.
            png = get_qr(owner)
            assert png.headers["Content-Type"] == "image/png"
            width, height = png_size(png.content)
            assert width == height and width >= 200
            svg = get_qr(owner, "svg")
            assert svg.headers["Content-Type"].startswith("image/svg+xml")
            assert "<svg" in svg.text
            shown = status(owner)
            assert shown["state"] == "scan_qr"
            assert fake.qr_refs, "the page showed no QR"
            # The session injected the vendored WA-JS into the page (the fake reads its
            # WPP.version before putting its emulation in place).
            assert fake.injected and set(fake.injected) == {wa_js_version()}
            assert shown["wa_js_version"] == wa_js_version()

            fake.control("scan", {"phone": BUSINESS_PHONE})
            connected = wait_state(owner, "connected")
            assert connected["phone"] == BUSINESS_PHONE
            assert connected["whatsapp_web_version"] == WHATSAPP_VERSION
            again = owner.post("/api/whatsapp/qr")
            assert again.status_code == 409, again.text
            assert again.json()["error"]["code"] == "already_connected"

            reply = round_trip(fake, QUESTION)
            assert "corte" in reply.lower() or "$" in reply, reply
            with api.runtime.db.transaction() as session:
                inbound = session.scalars(
                    select(Message.body).where(Message.body == QUESTION)
                ).all()
            assert inbound == [QUESTION]
            assert CHAT in fake.reads, "no read receipt before the reply"

            # A group message is not for the bot.
            replies_before = len(fake.sent_to(CHAT))
            fake.control(
                "incoming",
                {"from": "120363000000000001@g.us", "text": "hola grupo", "isGroup": True},
            )
            fake.control("incoming", {"from": "5491166660000@g.us", "text": "precio?"})
            round_trip(fake, "gracias")  # a later message of the customer is answered ...
            with api.runtime.db.transaction() as session:
                group_rows = session.scalars(
                    select(Message.id).where(Message.body.in_(["hola grupo", "precio?"]))
                ).all()
            assert group_rows == []  # ... while the group messages never reached the engine
            assert len(fake.sent_to(CHAT)) == replies_before + 1
            profile = state_dir / "whatsapp-web"
            assert any(profile.iterdir()), "no persistent profile was written"

        # A restart on the same database and state dir: still linked, no new scan.
        refs_before = len(fake.qr_refs)
        with live_whatsapp_web(db_url, state_dir, seed=False, web_url=fake.url) as api:
            owner = api.as_role(Role.OWNER)
            wait_state(owner, "connected")
            assert len(fake.qr_refs) == refs_before, "the restart asked for a new scan"
            assert round_trip(fake, "tenés turno mañana?")

            # The phone unlinks the device (conn.logout): the session ends logged out, its
            # profile wiped, the loss recorded and the managers mailed once.
            fake.control("logout")
            lost = wait_state(owner, "logged_out")
            assert "logged out" in (lost["last_error"] or "")
            assert not (state_dir / "whatsapp-web" / str(api.tenant_id())).exists()
            # The notification job mails every owner (one per server run here), in turn.
            managers = _manager_emails(api)
            alerts = wait_until(
                lambda: (
                    (found := [m for m in mails(state_dir) if "WhatsApp Web" in str(m["Subject"])])
                    and managers <= {str(m["To"]) for m in found}
                    and found
                ),
                timeout=30,
                what="the alert mails",
            )
            owner_email = _email_of(api, Role.OWNER)
            recipients = [str(m["To"]) for m in alerts]
            assert owner_email in recipients
            assert len(recipients) == len(set(recipients)), "one alert per manager per loss"
            with api.runtime.db.transaction() as session:
                changes = session.scalars(
                    select(AuditLog.changes).where(AuditLog.action == "whatsapp_web.state")
                ).all()
            assert {"from": "connected", "to": "logged_out"}.items() <= next(
                c for c in changes if c["to"] == "logged_out"
            ).items()

            # Asking for a QR starts afresh; scan again, then unlink through the API: the
            # profile is wiped.
            get_qr(owner)
            fake.control("scan", {"phone": BUSINESS_PHONE})
            wait_state(owner, "connected")
            assert round_trip(fake, "hola de nuevo")  # the hook follows the page's new login
            gone = owner.post("/api/whatsapp/disconnect")
            assert gone.status_code == 200, gone.text
            assert gone.json()["state"] == "disconnected"
            assert status(owner)["state"] == "disconnected"
            tenant_profile = state_dir / "whatsapp-web" / str(api.tenant_id())
            assert not tenant_profile.exists()
            assert len(alerts) == len(
                [m for m in mails(state_dir) if "WhatsApp Web" in str(m["Subject"])]
            ), "a deliberate unlink must not alert"

            # A new QR is needed (and shown) to link again.
            refs_before = len(fake.qr_refs)
            assert get_qr(owner).content[:8] == PNG_SIGNATURE
            assert len(fake.qr_refs) > refs_before
            assert status(owner)["state"] == "scan_qr"
    finally:
        fake.stop()


def test_a_page_that_cannot_go_on_is_broken_and_alerted(db_url: str, tmp_path: Path) -> None:
    """A page that never gets ready, and one WhatsApp asks to update, each end in the
    `broken` state with one alert, instead of an endless relaunch; asking for a QR again
    starts afresh. Then the phone is linked by a pairing code instead of the QR."""
    needs_chromium()
    fake = FakeWhatsAppWeb().start()
    state_dir = tmp_path / "state"
    try:
        fake.control("flags", {"stalled": True})
        with live_whatsapp_web(
            db_url, state_dir, True, fake.url, whatsapp_web_ready_timeout_s=4.0
        ) as api:
            owner = api.as_role(Role.OWNER)
            created = owner.post(
                "/api/channels", json={"channel": "whatsapp_web", "address": "+" + BUSINESS_PHONE}
            )
            assert created.status_code == 201, created.text
            waiting = owner.post("/api/whatsapp/qr", timeout=60)
            assert waiting.status_code in (202, 409), waiting.text  # no QR: not ready
            stalled = wait_state(owner, "broken")
            assert "not ready within 4 s" in stalled["last_error"], stalled
            again = owner.post("/api/whatsapp/qr", timeout=60)  # asking again: no relaunch
            assert again.status_code == 409, again.text
            assert again.json()["error"]["code"] == "broken"
            assert fake.injected == [wa_js_version()], "relaunched instead of stopping"

            fake.control("flags", {"stalled": False, "needs_update": True})
            restarted = owner.post("/api/whatsapp/qr?restart=true", timeout=60)
            assert restarted.status_code in (200, 202, 409), restarted.text
            outdated = wait_until(
                lambda: (
                    (s := status(owner))["state"] == "broken"
                    and "update" in (s["last_error"] or "")
                    and s
                ),
                timeout=30,
                what="broken by needs_update",
            )
            assert "scripts/update-wa-js" in outdated["last_error"]
            # The alert is written just after the state changes: wait for it.
            alerts = wait_until(
                lambda: len(found := _alerts(api)) >= 2 and found,
                timeout=30,
                what="an alert per breakdown",
            )
            assert any("not ready" in a for a in alerts) and any("update" in a for a in alerts)
            wait_until(
                lambda: [m for m in mails(state_dir) if "WhatsApp Web" in str(m["Subject"])],
                timeout=30,
                what="an alert mail",
            )
            assert len(_alerts(api)) == 2, "one alert per breakdown"

            # Fixed (here: WhatsApp stops asking): a new QR request starts afresh.
            fake.control("flags", {"needs_update": False})
            fixed = owner.post("/api/whatsapp/qr?restart=true", timeout=60)
            assert fixed.status_code in (200, 202), fixed.text
            assert get_qr(owner).content[:8] == PNG_SIGNATURE
            assert status(owner)["state"] == "scan_qr"

            # Linking by a pairing code typed on the phone instead of the QR.
            bad = owner.post("/api/whatsapp/pairing-code", json={"phone": "hola"})
            assert bad.status_code in (400, 422), bad.text
            paired = owner.post(
                "/api/whatsapp/pairing-code", json={"phone": "+" + BUSINESS_PHONE}, timeout=60
            )
            assert paired.status_code == 200, paired.text
            code = paired.json()["code"]
            assert fake.pairing[code][1] == BUSINESS_PHONE  # asked for that number
            fake.control("enter_code", {"code": code})
            assert wait_state(owner, "connected")["phone"] == BUSINESS_PHONE
            linked = owner.post("/api/whatsapp/pairing-code", json={"phone": "+" + CUSTOMER})
            assert linked.status_code == 409, linked.text
            assert linked.json()["error"]["code"] == "already_connected"
    finally:
        fake.stop()


def _alerts(api: Api) -> list[str]:
    with api.runtime.db.transaction() as session:
        return list(
            session.scalars(
                select(StaffNotification.summary).where(
                    StaffNotification.tenant_id == api.tenant_id(),
                    StaffNotification.kind == "channel_disconnected",
                )
            )
        )


def _manager_emails(api: Api) -> set[str]:
    with api.runtime.db.transaction() as session:
        found = session.scalars(
            select(User.email).where(
                User.tenant_id == api.tenant_id(), User.role.in_((Role.OWNER, Role.ADMIN))
            )
        )
        return set(found)


def _email_of(api: Api, role: Role) -> str:
    from hablo.db.models import User

    user_id, _ = api.user(role)
    with api.runtime.db.transaction() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.email
