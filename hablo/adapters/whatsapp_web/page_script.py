"""Everything hablo knows about WhatsApp Web's page lives here, and only here.

WhatsApp Web changes its markup and internal modules without notice. When it does, this
is the one file to fix: the session (session.py) only calls the scripts below and reads
the small dicts they return; it never touches a selector itself.

What the scripts expect of the page:

- the QR code is an element with a ``data-ref`` attribute holding the payload the phone
  scans (WhatsApp renders it on a canvas inside that element);
- once logged in, the chat list (``#pane-side``) is present;
- ``window.Store`` exposes the page's internal modules (as WhatsApp Web's webpack bundle
  does; libraries such as whatsapp-web.js read the same): ``Store.Msg`` emits ``add`` for
  new messages, ``Store.Chat.find`` opens a chat, ``Store.SendMessage.sendTextMsgToChat``
  sends text, ``Store.Conn.wid.user`` is the linked phone, ``Store.AppState.logout``
  unlinks the device.
"""

from __future__ import annotations

# The function the injected hook calls with each new incoming message.
INCOMING_BINDING = "habloIncoming"

QR_SELECTOR = "div[data-ref]"
LOGGED_IN_SELECTOR = "#pane-side"

# Where the page stands: {"state": "connected"|"scan_qr"|"loading", "qr": str|None,
# "phone": str|None}.
PROBE_JS = """
() => {
  // Connected only once the message hook is in: a message before that would be lost.
  if (document.querySelector(LOGGED_IN) && window.Store && window.Store.__habloHooked) {
    const wid = window.Store.Conn && window.Store.Conn.wid;
    return {state: "connected", qr: null, phone: wid ? String(wid.user) : null};
  }
  const qr = document.querySelector(QR);
  const ref = qr ? qr.getAttribute("data-ref") : null;
  if (ref) return {state: "scan_qr", qr: ref, phone: null};
  return {state: "loading", qr: null, phone: null};
}
""".replace("LOGGED_IN", repr(LOGGED_IN_SELECTOR)).replace("QR)", repr(QR_SELECTOR) + ")")

# Installed before every navigation (add_init_script): waits for the Store, then forwards
# each new message that is not ours to the exposed binding.
HOOK_JS = """
(() => {
  // Checked on an interval, not once: after a re-login the page may build a new Store.
  const hook = () => {
    const store = window.Store;
    if (!store || !store.Msg || !store.Msg.on || store.__habloHooked) return;
    store.__habloHooked = true;
    store.Msg.on("add", (msg) => {
      if (!msg || !msg.isNewMsg || (msg.id && msg.id.fromMe)) return;
      if (msg.type && msg.type !== "chat") return;
      window.BINDING({
        id: msg.id._serialized,
        from: msg.from._serialized || String(msg.from),
        text: msg.body || "",
        isGroup: Boolean(msg.isGroupMsg),
        timestamp: msg.t || 0,
        pushname: msg.notifyName || "",
      });
    });
  };
  setInterval(hook, 100);
})();
""".replace("BINDING", INCOMING_BINDING)

# Sends {chatId, text}; resolves to the page's message id.
SEND_JS = """
async ({chatId, text}) => {
  const chat = await window.Store.Chat.find(chatId);
  const sent = await window.Store.SendMessage.sendTextMsgToChat(chat, text);
  return sent && sent.id ? sent.id._serialized : null;
}
"""

LOGOUT_JS = """
async () => {
  if (window.Store && window.Store.AppState && window.Store.AppState.logout) {
    await window.Store.AppState.logout();
  }
}
"""


def chat_id(e164: str) -> str:
    """WhatsApp's id for a person's chat: the number's digits and ``@c.us``."""
    return e164.lstrip("+") + "@c.us"


def is_group(chat: str) -> bool:
    return chat.endswith("@g.us")


def peer_digits(chat: str) -> str:
    """The phone digits of a person's chat id ("5491155550001@c.us" -> "5491155550001")."""
    return chat.split("@", 1)[0]
