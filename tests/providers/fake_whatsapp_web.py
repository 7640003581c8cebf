"""A fake WhatsApp Web page on 127.0.0.1, shaped the way `page_script` expects the real
one: a QR element carrying a `data-ref` payload until the test "scans" it, then the chat
list (`#pane-side`) and a `window.Store` with Msg/Chat/SendMessage/Conn/AppState.

The login survives a browser restart the way WhatsApp's does: a token in localStorage
(in the persistent Chromium profile). The page polls the fake for incoming messages,
and messages the adapter sends are POSTed back here and recorded.

Test controls: POST /control/scan {phone}, POST /control/incoming {from, text, isGroup,
pushname}, POST /control/logout (the phone unlinks the device), GET /control/sent.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

import requests
from aiohttp import web

from tests.providers.threaded import ThreadedFakeServer

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>WhatsApp</title></head>
<body><div id="app">Loading…</div>
<script>
const app = document.getElementById("app");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const getJson = async (url, opts) => (await fetch(url, opts)).json();
const post = (url, body) => getJson(url, {method: "POST",
  headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});

async function scanLoop() {
  delete window.Store;
  const {ref} = await getJson("/api/qr");
  app.innerHTML = "";
  const qr = document.createElement("div");
  qr.setAttribute("data-ref", ref);
  qr.innerHTML = '<canvas width="264" height="264"></canvas>';
  app.appendChild(qr);
  for (;;) {
    await sleep(250);
    const login = await getJson("/api/login?ref=" + encodeURIComponent(ref));
    if (login.token) {
      localStorage.setItem("fake-wa-token", login.token);
      localStorage.setItem("fake-wa-phone", login.phone);
      return chatLoop();
    }
  }
}

function installStore(token, phone, listeners) {
  window.Store = {
    Conn: {wid: {user: phone, _serialized: phone + "@c.us"}},
    Msg: {on: (event, cb) => { if (event === "add") listeners.push(cb); }},
    Chat: {find: async (id) => ({id: {_serialized: id}})},
    SendMessage: {sendTextMsgToChat: async (chat, text) => {
      const sent = await post("/api/sent", {token, chatId: chat.id._serialized, text});
      return {id: {_serialized: sent.id}};
    }},
    AppState: {logout: async () => {
      await post("/api/logout", {token});
      localStorage.clear();
    }},
  };
}

async function chatLoop() {
  const token = localStorage.getItem("fake-wa-token");
  const phone = localStorage.getItem("fake-wa-phone");
  const listeners = [];
  let after = null;  // first poll: only learn where the queue stands (no history replay)
  let shown = false;
  for (;;) {
    const since = after === null ? "" : "&after=" + after;
    const got = await getJson("/api/poll?token=" + encodeURIComponent(token) + since);
    if (!got.valid) {
      localStorage.removeItem("fake-wa-token");
      return scanLoop();
    }
    if (!shown) {
      app.innerHTML = '<div id="pane-side"></div>';
      installStore(token, phone, listeners);
      shown = true;
    }
    for (const event of got.events) {
      const line = document.createElement("div");
      line.className = "message-in";
      line.textContent = event.text;
      document.getElementById("pane-side").appendChild(line);
      const msg = {
        id: {_serialized: event.id, fromMe: false}, from: {_serialized: event.from},
        body: event.text, type: "chat", isNewMsg: true, isGroupMsg: event.isGroup,
        t: event.t, notifyName: event.pushname,
      };
      listeners.forEach((cb) => cb(msg));
    }
    after = got.last;
    await sleep(200);
  }
}

if (localStorage.getItem("fake-wa-token")) chatLoop(); else scanLoop();
</script></body></html>
"""


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

    # -- server -----------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._page)
        app.router.add_get("/api/qr", self._qr)
        app.router.add_get("/api/login", self._login)
        app.router.add_get("/api/poll", self._poll)
        app.router.add_post("/api/sent", self._record_sent)
        app.router.add_post("/api/logout", self._page_logout)
        app.router.add_post("/control/scan", self._scan)
        app.router.add_post("/control/incoming", self._incoming)
        app.router.add_post("/control/logout", self._phone_logout)

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
        if found is None:
            return web.json_response({})
        return web.json_response({"token": found[0], "phone": found[1]})

    async def _poll(self, request: web.Request) -> web.Response:
        token, after = request.query.get("token", ""), request.query.get("after")
        with self._lock:
            if token not in self.valid_tokens:
                return web.json_response({"valid": False, "events": [], "last": -1})
            last = len(self.events) - 1
            events = [] if after is None else self.events[int(after) + 1 :]
            return web.json_response({"valid": True, "events": events, "last": last})

    async def _record_sent(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            if body.get("token") not in self.valid_tokens:
                return web.json_response({"error": "logged out"}, status=401)
            message_id = "true_" + str(body["chatId"]) + "_3EB0" + secrets.token_hex(8).upper()
            self.sent.append({"chatId": body["chatId"], "text": body["text"], "id": message_id})
        return web.json_response({"id": message_id})

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
                "text": body["text"],
                "isGroup": bool(body.get("isGroup", False)),
                "pushname": body.get("pushname", ""),
                "t": len(self.events) + 1,
            }
            self.events.append(event)
        return web.json_response(event)

    async def _phone_logout(self, request: web.Request) -> web.Response:
        with self._lock:
            self.valid_tokens.clear()
        return web.json_response({"ok": True})
