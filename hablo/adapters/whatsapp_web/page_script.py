"""Everything hablo knows about WhatsApp Web's page lives here, and only here.

The page exposes no API of its own; WA-JS (@wppconnect/wa-js, vendored in ``vendor/``)
builds one, ``window.WPP``, out of WhatsApp Web's module loader, and is maintained as
WhatsApp changes. The session injects the bundle before every navigation, then HOOK_JS: a
thin map onto WPP, calling only what ``wpp_contract`` lists (which a test checks against
WA-JS's type declarations). The session never touches the page itself.

The page pushes; hablo does not poll it: once WPP is ready the hook reports where the
page stands, then forwards WPP's connection events and each new incoming message to two
functions the session exposes.
"""

from __future__ import annotations

from pathlib import Path

from hablo.adapters.whatsapp_web.wpp_contract import WA_JS_FILE

# The functions the injected hook calls: one with each new incoming message, one with
# each connection event.
INCOMING_BINDING = "habloIncoming"
CONN_BINDING = "habloConn"

# Injected (add_init_script) before HOOK_JS: WA-JS itself.
WA_JS_PATH: Path = WA_JS_FILE

# Connection events, as the hook reports them to CONN_BINDING ({"event": ..., ...}):
#   "state": where the page stands: {"state": "loading"|"scan_qr"|"connected"|
#            "needs_update", "qr": the QR payload or null, "phone": the linked number's
#            digits or null, "whatsapp": WhatsApp Web's version or null}; sent once hooked
#            and again on conn.main_ready
#   "qr": conn.auth_code_change, {"qr": the new payload, or null once it is gone}
#   "authenticated", "logout", "needs_update": the WPP events of those names
#   "online": conn.online, {"online": bool}
EVENT_STATE, EVENT_QR, EVENT_AUTHENTICATED, EVENT_LOGOUT, EVENT_NEEDS_UPDATE, EVENT_ONLINE = (
    "state",
    "qr",
    "authenticated",
    "logout",
    "needs_update",
    "online",
)

# Installed before every navigation, after WA-JS. Messages reach INCOMING_BINDING as
# {id, from (a "@lid" sender mapped to its number when WPP knows it), type, text,
# caption, mimetype, filename, size, lat, lng, place, choiceId, isGroup, timestamp,
# pushname}; the body of media and locations is a thumbnail, never passed on.
HOOK_JS = """
(() => {
  const report = (event) => window.CONN_BINDING(event);
  const probe = async (WPP) => {
    const seen = {event: "state", state: "loading", qr: null, phone: null, whatsapp: null};
    const build = WPP.conn.getBuildConstants();
    seen.whatsapp = build ? String(build.VERSION_STR) : null;
    if (WPP.conn.needsUpdate()) {
      seen.state = "needs_update";
    } else if (WPP.conn.isMainReady()) {
      const wid = WPP.conn.getMyUserId();
      seen.state = "connected";
      seen.phone = wid ? String(wid.user) : null;
    } else if (!WPP.conn.isAuthenticated()) {
      const code = await WPP.conn.getAuthCode();
      if (code && code.fullCode) {
        seen.state = "scan_qr";
        seen.qr = String(code.fullCode);
      }
    }  // else: linked, still syncing (conn.main_ready follows)
    return seen;
  };
  const sender = async (WPP, from) => {
    if (!from.endsWith("@lid")) return from;
    try {  // WhatsApp's hidden ids: one customer must stay one contact, by number
      const entry = await WPP.contact.getPnLidEntry(from);
      const pn = entry && entry.phoneNumber && entry.phoneNumber._serialized;
      return pn ? String(pn) : from;
    } catch (err) {
      return from;
    }
  };
  const text = (value) => (typeof value === "string" ? value : "");
  const hook = () => {
    const WPP = window.WPP;
    if (!WPP || !WPP.isReady || window.__habloHookedWpp === WPP) return;
    window.__habloHookedWpp = WPP;
    WPP.on("conn.auth_code_change", (code) =>
      report({event: "qr", qr: code && code.fullCode ? String(code.fullCode) : null}));
    WPP.on("conn.authenticated", () => report({event: "authenticated"}));
    WPP.on("conn.main_ready", async () => report(await probe(WPP)));
    WPP.on("conn.logout", () => report({event: "logout"}));
    WPP.on("conn.needs_update", () => report({event: "needs_update"}));
    WPP.on("conn.online", (online) => report({event: "online", online: Boolean(online)}));
    WPP.on("chat.new_message", async (msg) => {
      if (!msg || !msg.isNewMsg || (msg.id && msg.id.fromMe)) return;
      const raw = msg.from && (msg.from._serialized || String(msg.from));
      const list = msg.listResponse && msg.listResponse.singleSelectReply;
      const type = text(msg.type) || "chat";
      window.INCOMING_BINDING({
        id: msg.id._serialized,
        from: raw ? await sender(WPP, raw) : "",
        type,
        text: type === "chat" || type.endsWith("_response") || type.endsWith("_reply")
          ? text(msg.body) : "",
        caption: text(msg.caption),
        mimetype: text(msg.mimetype),
        filename: text(msg.filename),
        size: typeof msg.size === "number" ? msg.size : null,
        lat: typeof msg.lat === "number" ? msg.lat : null,
        lng: typeof msg.lng === "number" ? msg.lng : null,
        place: text(msg.loc),
        choiceId: text(msg.selectedButtonId) || text(msg.selectedId)
          || text(list && list.selectedRowId),
        isGroup: Boolean(msg.isGroupMsg),
        timestamp: msg.t || 0,
        pushname: text(msg.notifyName),
      });
    });
    probe(WPP).then(report);  // where the page stood before these listeners
  };
  setInterval(hook, 100);  // WPP becomes ready some time after the page loads
})();
""".replace("INCOMING_BINDING", INCOMING_BINDING).replace("CONN_BINDING", CONN_BINDING)

# Before a reply to {chatId}: a read receipt for the customer's messages, then "typing..."
# for {ms} milliseconds (the session waits that long, then sends).
COMPOSE_JS = """
async ({chatId, ms}) => {
  try {
    await window.WPP.chat.markIsRead(chatId);
  } catch (err) {}  // a missing receipt must not cost the reply
  try {
    await window.WPP.chat.markIsComposing(chatId, ms);
  } catch (err) {}  // nor a missing typing indicator
}
"""

# Sends {chatId, text}; resolves to the page's message id.
SEND_JS = """
async ({chatId, text}) => {
  const sent = await window.WPP.chat.sendTextMessage(chatId, text);
  return sent && sent.id ? String(sent.id) : null;
}
"""

# Sends a file {chatId, content: a data: URL, type: "image"|"document", caption, filename,
# mimetype}; resolves to the page's message id.
SEND_FILE_JS = """
async ({chatId, content, type, caption, filename, mimetype}) => {
  const options = {type, mimetype};
  if (caption) options.caption = caption;
  if (filename) options.filename = filename;
  const sent = await window.WPP.chat.sendFileMessage(chatId, content, options);
  return sent && sent.id ? String(sent.id) : null;
}
"""

# Asks WhatsApp for a code to link {phone} (digits) by typing it on that phone (WhatsApp >
# Linked devices > Link with phone number); only while the page offers a QR.
PAIRING_CODE_JS = """
async ({phone}) => String(await window.WPP.conn.genLinkDeviceCodeForPhoneNumber(phone))
"""

LOGOUT_JS = """
async () => {
  if (window.WPP && window.WPP.isReady) await window.WPP.conn.logout();
}
"""

# Every script above, for the contract test (nothing unlisted called, nothing listed unused).
ALL_SCRIPTS = (HOOK_JS, COMPOSE_JS, SEND_JS, SEND_FILE_JS, PAIRING_CODE_JS, LOGOUT_JS)


def chat_id(e164: str) -> str:
    """WhatsApp's id for a person's chat: the number's digits and ``@c.us``."""
    return e164.lstrip("+") + "@c.us"


def is_group(chat: str) -> bool:
    return chat.endswith("@g.us")


def is_person(chat: str) -> bool:
    """A chat with a phone number. Not groups, and not "@lid" chats that WPP could not map
    to a number (WhatsApp's hidden ids, whose digits are not a phone number)."""
    return chat.endswith("@c.us")


def peer_digits(chat: str) -> str:
    """The phone digits of a person's chat id ("5491155550001@c.us" -> "5491155550001")."""
    return chat.split("@", 1)[0]
