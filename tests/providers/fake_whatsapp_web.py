"""A fake WhatsApp Web page on 127.0.0.1 that offers the `window.WPP` surface hablo uses
(exactly the names in `wpp_contract`, checked at import and by a unit test), the way
WA-JS builds it on the real page.

The session injects the real, vendored WA-JS before the page's own script runs; on this
page WA-JS finds no WhatsApp modules and never becomes ready, so the page records the
injected `WPP.version` (POST /api/injected) and replaces `window.WPP` with its emulation,
keeping that version. The login survives a browser restart the way WhatsApp's does: a
token in localStorage (in the persistent Chromium profile). Like WA-JS, the page emits
the connection events (conn.auth_code_change for each QR and its rotation,
conn.authenticated, conn.main_ready, conn.logout, conn.needs_update, conn.online) and
each incoming message as `chat.new_message` (text, media, a location, a button reply;
from a hidden "@lid" id that contact.getPnLidEntry maps back to the number). What the
page does (read receipts, "typing...", texts and files sent) is POSTed back here and
recorded, in order, in `actions`.

Test controls: POST /control/scan {phone}, POST /control/incoming {from, text, isGroup,
pushname, type, caption, mimetype, filename, lat, lng, place, choiceId}, POST
/control/lid {lid, phone} (WhatsApp knows that hidden id's number), POST /control/rotate
(WhatsApp rotates the QR), POST /control/logout (the phone unlinks the device), POST
/control/enter_code {code} (the phone types a pairing code; `pairing` lists them), POST
/control/flags {needs_update, stalled, online} (WhatsApp asks for an update; the next page
load never gets ready; the connection drops).
"""

from __future__ import annotations

import base64
import secrets
import threading
from typing import Any

import requests
from aiohttp import web

from hablo.adapters.whatsapp_web import wpp_contract
from tests.providers.threaded import ThreadedFakeServer

WHATSAPP_VERSION = "2.3000.1000000000-fake"

# The emulated WPP, one JavaScript function per contract entry. `S` is the page's state.
WPP_TOP_LEVEL = {
    "isReady": "true",
    "version": "injectedVersion",
    "on": "(event, cb) => { (S.listeners[event] = S.listeners[event] || []).push(cb); }",
}
WPP_FUNCTIONS = {
    "conn.isAuthenticated": "() => Boolean(S.token)",
    "conn.isMainReady": "() => S.mainReady",
    "conn.needsUpdate": "() => S.needsUpdate",
    "conn.getAuthCode": """async () => S.token || !S.ref ? null
      : {type: "multidevice", ref: S.ref, fullCode: S.ref}""",
    "conn.getMyUserId": """() => S.mainReady
      ? {user: S.phone, server: "c.us", _serialized: S.phone + "@c.us"} : undefined""",
    "conn.getBuildConstants": f"() => ({{VERSION_STR: {WHATSAPP_VERSION!r}}})",
    "conn.logout": """async () => {
      await post("/api/logout", {token: S.token});
      localStorage.clear();
      emit("conn.logout");
      scanLoop();
      return true;
    }""",
    "conn.genLinkDeviceCodeForPhoneNumber": """async (phone) => {
      if (S.token || !S.ref) throw new Error("no login on screen");
      return (await post("/api/pairing", {ref: S.ref, phone})).code;
    }""",
    "chat.markIsRead": """async (chatId) => {
      await post("/api/read", {token: S.token, chatId});
      return {wid: {_serialized: chatId}, unreadCount: 0};
    }""",
    "chat.markIsComposing": """async (chatId, duration) => {
      await post("/api/composing", {token: S.token, chatId, duration});
    }""",
    "chat.sendTextMessage": """async (chatId, text) => {
      const sent = await post("/api/sent", {token: S.token, chatId, text});
      if (sent.error) throw new Error(sent.error);
      return {id: sent.id, ack: 1, from: S.phone + "@c.us", to: chatId};
    }""",
    "chat.sendFileMessage": """async (chatId, content, options) => {
      if (typeof content !== "string" || !content.startsWith("data:")) {
        throw new Error("the fake takes data: URLs only");
      }
      const sent = await post("/api/sent_file", {token: S.token, chatId, content, options});
      if (sent.error) throw new Error(sent.error);
      return {id: sent.id, ack: 1, from: S.phone + "@c.us", to: chatId};
    }""",
    "contact.getPnLidEntry": """async (contactId) => {
      const found = await getJson("/api/lid?lid=" + encodeURIComponent(String(contactId)));
      const lid = {id: String(contactId).split("@")[0], server: "lid",
        _serialized: String(contactId)};
      if (!found.phone) return {lid};
      return {lid, phoneNumber: {id: found.phone, server: "c.us",
        _serialized: found.phone + "@c.us"}};
    }""",
}
WPP_EVENTS = (
    "conn.auth_code_change",
    "conn.authenticated",
    "conn.main_ready",
    "conn.logout",
    "conn.needs_update",
    "conn.online",
    "chat.new_message",
)
assert set(WPP_TOP_LEVEL) == set(wpp_contract.TOP_LEVEL), "the fake WPP drifted from the contract"
assert set(WPP_FUNCTIONS) == set(wpp_contract.FUNCTIONS), "the fake WPP drifted from the contract"
assert set(WPP_EVENTS) == set(wpp_contract.EVENTS), "the fake WPP drifted from the contract"


# /control/incoming's keys -> the message model's fields on WhatsApp Web.
MESSAGE_FIELDS = {
    "caption": "caption",
    "mimetype": "mimetype",
    "filename": "filename",
    "size": "size",
    "lat": "lat",
    "lng": "lng",
    "place": "loc",
    "choiceId": "selectedButtonId",
}


def _wpp_object() -> str:
    """The emulated WPP as a JavaScript object literal, namespaces nested."""
    spaces: dict[str, list[str]] = {}
    for entry, body in WPP_FUNCTIONS.items():
        namespace, name = entry.split(".", 1)
        spaces.setdefault(namespace, []).append(f"{name}: {body}")
    members = [f"{name}: {value}" for name, value in WPP_TOP_LEVEL.items()]
    for namespace, functions in spaces.items():
        members.append(namespace + ": {\n" + ",\n".join(functions) + "\n}")
    return "{\n" + ",\n".join(members) + "\n}"


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>WhatsApp</title></head>
<body><div id="app">Loading…</div>
<script>
const app = document.getElementById("app");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const getJson = async (url, opts) => (await fetch(url, opts)).json();
const post = (url, body) => getJson(url, {method: "POST",
  headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
const emit = (event, arg) => (S.listeners[event] || []).forEach((cb) => cb(arg));

// What the session injected before this script ran (the real WA-JS, not ready here).
const injectedVersion = window.WPP ? String(window.WPP.version) : null;
post("/api/injected", {version: injectedVersion});
const S = {listeners: {}, token: null, phone: null, ref: null, mainReady: false, loop: 0,
  needsUpdate: false, online: true};
const showQr = (ref) => {
  S.ref = ref;
  emit("conn.auth_code_change", {type: "multidevice", ref, fullCode: ref});
};

async function followFlags() {  // what the test asks of WhatsApp: an update, offline
  for (;;) {
    const flags = await getJson("/api/flags");
    if (Boolean(flags.needs_update) !== S.needsUpdate) {
      S.needsUpdate = Boolean(flags.needs_update);
      if (S.needsUpdate) emit("conn.needs_update");
    }
    if (Boolean(flags.online) !== S.online) {
      S.online = Boolean(flags.online);
      emit("conn.online", S.online);
    }
    await sleep(250);
  }
}

async function scanLoop() {
  const loop = ++S.loop;
  S.token = null; S.phone = null; S.mainReady = false;
  const {ref} = await getJson("/api/qr");
  showQr(ref);
  app.textContent = "Scan the QR";
  while (loop === S.loop) {
    await sleep(250);
    const login = await getJson("/api/login?ref=" + encodeURIComponent(S.ref));
    if (login.token) {
      localStorage.setItem("fake-wa-token", login.token);
      localStorage.setItem("fake-wa-phone", login.phone);
      emit("conn.auth_code_change", null);
      emit("conn.authenticated");
      return chatLoop();
    }
    if (login.ref && login.ref !== S.ref) showQr(login.ref);  // WhatsApp rotated it
  }
}

async function chatLoop() {
  const loop = ++S.loop;
  S.token = localStorage.getItem("fake-wa-token");
  S.phone = localStorage.getItem("fake-wa-phone");
  S.ref = null;
  let after = null;  // first poll: only learn where the queue stands (no history replay)
  while (loop === S.loop) {
    const since = after === null ? "" : "&after=" + after;
    const got = await getJson("/api/poll?token=" + encodeURIComponent(S.token) + since);
    if (!got.valid) {  // the phone unlinked this device
      localStorage.removeItem("fake-wa-token");
      S.mainReady = false;
      emit("conn.logout");
      return scanLoop();
    }
    if (!S.mainReady) {  // synced: ready to send
      S.mainReady = true;
      app.textContent = "Chats";
      emit("conn.main_ready");
    }
    for (const event of got.events) {
      emit("chat.new_message", Object.assign({}, event.fields, {
        id: {_serialized: event.id, fromMe: false},
        from: {_serialized: event.from, toString: () => event.from},
        body: event.text, type: event.type, isNewMsg: true, isGroupMsg: event.isGroup,
        t: event.t, notifyName: event.pushname,
      }));
    }
    after = got.last;
    await sleep(200);
  }
}

async function main() {
  // "stalled": WA-JS never finds the page's modules; the injected WPP stays not ready.
  if ((await getJson("/api/flags")).stalled) return;
  window.WPP = WPP_OBJECT;
  followFlags();
  if (localStorage.getItem("fake-wa-token")) chatLoop(); else scanLoop();
}
main();
</script></body></html>
""".replace("WPP_OBJECT", _wpp_object())


class FakeWhatsAppWeb(ThreadedFakeServer):
    thread_name = "fake-wa-web"

    def __init__(self) -> None:
        super().__init__()
        self.pending_ref: str | None = None
        self.scanned: dict[str, tuple[str, str]] = {}  # ref -> (token, phone)
        self.valid_tokens: set[str] = set()
        self.events: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.qr_refs: list[str] = []  # every QR payload shown
        self.injected: list[str | None] = []  # WPP.version found on each page load
        self.reads: list[str] = []  # chats marked read
        self.flags: dict[str, bool] = {"needs_update": False, "stalled": False, "online": True}
        # What the page did, in order: ("read" | "composing" | "sent" | "file", chatId).
        self.actions: list[tuple[str, str]] = []
        self.files: list[dict[str, Any]] = []  # sendFileMessage calls: chatId, data, options
        self.lids: dict[str, str] = {}  # "@lid" id -> phone digits, as WhatsApp knows them
        self.pairing: dict[str, tuple[str, str]] = {}  # code -> (QR ref, phone digits)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    # -- test side ------------------------------------------------------------------

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.post(self.url + "control/" + path, json=body or {}, timeout=10)
        response.raise_for_status()
        return response.json()

    def sent_to(self, chat_id: str) -> list[str]:
        with self._lock:
            return [s["text"] for s in self.sent if s["chatId"] == chat_id]

    def actions_on(self, chat_id: str) -> list[str]:
        with self._lock:
            return [action for action, chat in self.actions if chat == chat_id]

    # -- server -----------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._page)
        app.router.add_get("/api/qr", self._qr)
        app.router.add_get("/api/login", self._login)
        app.router.add_get("/api/poll", self._poll)
        app.router.add_post("/api/sent", self._record_sent)
        app.router.add_post("/api/sent_file", self._record_file)
        app.router.add_post("/api/read", self._record_read)
        app.router.add_post("/api/composing", self._record_composing)
        app.router.add_get("/api/lid", self._lid)
        app.router.add_post("/control/lid", self._set_lid)
        app.router.add_post("/control/rotate", self._rotate)
        app.router.add_post("/api/injected", self._record_injected)
        app.router.add_post("/api/logout", self._page_logout)
        app.router.add_post("/control/scan", self._scan)
        app.router.add_post("/control/incoming", self._incoming)
        app.router.add_post("/control/logout", self._phone_logout)
        app.router.add_get("/api/flags", self._get_flags)
        app.router.add_post("/api/pairing", self._new_pairing_code)
        app.router.add_post("/control/enter_code", self._enter_code)
        app.router.add_post("/control/flags", self._set_flags)

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def _qr(self, request: web.Request) -> web.Response:
        with self._lock:
            # Like WhatsApp: a fresh ref for each page showing a QR.
            self.pending_ref = "2@" + secrets.token_urlsafe(24) + ",fake-wa-web"
            self.qr_refs.append(self.pending_ref)
            return web.json_response({"ref": self.pending_ref})

    async def _login(self, request: web.Request) -> web.Response:
        with self._lock:
            found = self.scanned.get(request.query.get("ref", ""))
            current = self.pending_ref
        if found is None:
            return web.json_response({"ref": current})  # the QR to show (maybe rotated)
        return web.json_response({"token": found[0], "phone": found[1]})

    async def _rotate(self, request: web.Request) -> web.Response:
        with self._lock:
            if self.pending_ref is None:
                return web.json_response({"error": "no QR on screen"}, status=409)
            self.pending_ref = "2@" + secrets.token_urlsafe(24) + ",fake-wa-web"
            self.qr_refs.append(self.pending_ref)
            return web.json_response({"ref": self.pending_ref})

    async def _poll(self, request: web.Request) -> web.Response:
        token, after = request.query.get("token", ""), request.query.get("after")
        with self._lock:
            if token not in self.valid_tokens:
                return web.json_response({"valid": False, "events": [], "last": -1})
            last = len(self.events) - 1
            events = [] if after is None else self.events[int(after) + 1 :]
            return web.json_response({"valid": True, "events": events, "last": last})

    async def _record_sent(self, request: web.Request) -> web.Response:
        return await self._record_action(request, "sent")

    async def _record_file(self, request: web.Request) -> web.Response:
        return await self._record_action(request, "file")

    async def _record_read(self, request: web.Request) -> web.Response:
        return await self._record_action(request, "read")

    async def _record_composing(self, request: web.Request) -> web.Response:
        return await self._record_action(request, "composing")

    async def _record_action(self, request: web.Request, action: str) -> web.Response:
        """What the page did to a chat, for a logged-in page only; a message's id."""
        body = await request.json()
        chat = str(body["chatId"])
        message_id = "true_" + chat + "_3EB0" + secrets.token_hex(8).upper()
        with self._lock:
            if body.get("token") not in self.valid_tokens:
                return web.json_response({"error": "logged out"}, status=401)
            self.actions.append((action, chat))
            if action == "read":
                self.reads.append(chat)
            elif action == "sent":
                self.sent.append({"chatId": chat, "text": body["text"], "id": message_id})
            elif action == "file":
                header, _, data = str(body["content"]).partition(",")
                self.files.append(
                    {
                        "chatId": chat,
                        "header": header,
                        "data": base64.b64decode(data),
                        "options": body["options"],
                        "id": message_id,
                    }
                )
        return web.json_response({"id": message_id})

    async def _lid(self, request: web.Request) -> web.Response:
        with self._lock:
            return web.json_response({"phone": self.lids.get(request.query.get("lid", ""))})

    async def _set_lid(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.lids[str(body["lid"])] = str(body["phone"])
        return web.json_response({"ok": True})

    async def _record_injected(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.injected.append(body.get("version"))
        return web.json_response({"ok": True})

    async def _new_pairing_code(self, request: web.Request) -> web.Response:
        body = await request.json()
        code = secrets.token_hex(4).upper()  # WhatsApp's are 8 characters too
        with self._lock:
            self.pairing[code] = (str(body["ref"]), str(body["phone"]))
        return web.json_response({"code": code})

    async def _enter_code(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            found = self.pairing.pop(str(body.get("code")), None)
            if found is None:
                return web.json_response({"error": "unknown code"}, status=409)
            token = secrets.token_hex(16)
            self.scanned[found[0]] = (token, found[1])
            self.valid_tokens.add(token)
        return web.json_response({"ok": True})

    async def _get_flags(self, request: web.Request) -> web.Response:
        with self._lock:
            return web.json_response(dict(self.flags))

    async def _set_flags(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            for name in self.flags:
                if name in body:
                    self.flags[name] = bool(body[name])
            return web.json_response(dict(self.flags))

    async def _page_logout(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.valid_tokens.discard(str(body.get("token")))
        return web.json_response({"ok": True})

    async def _scan(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            if self.pending_ref is None:
                return web.json_response({"error": "no QR on screen"}, status=409)
            token = secrets.token_hex(16)
            self.scanned[self.pending_ref] = (token, str(body.get("phone", "5491100000000")))
            self.valid_tokens.add(token)
            self.pending_ref = None
        return web.json_response({"ok": True})

    async def _incoming(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            event = {
                "id": "false_" + str(body["from"]) + "_3A" + secrets.token_hex(8).upper(),
                "from": body["from"],
                "text": body.get("text", ""),
                "type": body.get("type", "chat"),
                "isGroup": bool(body.get("isGroup", False)),
                "pushname": body.get("pushname", ""),
                "t": len(self.events) + 1,
                # The message model's other fields, as WhatsApp Web names them.
                "fields": {
                    name: body[key]
                    for key, name in MESSAGE_FIELDS.items()
                    if body.get(key) is not None
                },
            }
            self.events.append(event)
        return web.json_response(event)

    async def _phone_logout(self, request: web.Request) -> web.Response:
        with self._lock:
            self.valid_tokens.clear()
        return web.json_response({"ok": True})
