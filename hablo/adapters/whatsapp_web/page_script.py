"""Everything hablo knows about WhatsApp Web's page lives here, and only here.

The page exposes no API of its own; WA-JS (@wppconnect/wa-js, vendored in ``vendor/``)
builds one, ``window.WPP``, out of WhatsApp Web's module loader, and is maintained as
WhatsApp changes. The session injects the bundle before every navigation, then these
scripts: a thin map onto WPP, calling only what ``wpp_contract`` lists (which a test
checks against WA-JS's type declarations). The session never touches the page itself.
"""

from __future__ import annotations

from pathlib import Path

from hablo.adapters.whatsapp_web.wpp_contract import WA_JS_FILE

# The function the injected hook calls with each new incoming message.
INCOMING_BINDING = "habloIncoming"

# Injected (add_init_script) before HOOK_JS: WA-JS itself.
WA_JS_PATH: Path = WA_JS_FILE

# Where the page stands: {"state": "loading"|"scan_qr"|"connected"|"needs_update",
# "qr": the payload to show as a QR or None, "phone": the linked number's digits or None,
# "whatsapp": WhatsApp Web's version or None}.
PROBE_JS = """
async () => {
  const WPP = window.WPP;
  const seen = {state: "loading", qr: null, phone: null, whatsapp: null};
  if (!WPP || !WPP.isReady) return seen;  // WA-JS has not found the page's modules yet
  const build = WPP.conn.getBuildConstants();
  seen.whatsapp = build ? String(build.VERSION_STR) : null;
  if (WPP.conn.needsUpdate()) {
    seen.state = "needs_update";
  } else if (WPP.conn.isMainReady()) {
    // Connected only once the message hook is in: a message before that would be lost.
    if (window.__habloHookedWpp !== WPP) return seen;
    const wid = WPP.conn.getMyUserId();
    seen.state = "connected";
    seen.phone = wid ? String(wid.user) : null;
  } else if (!WPP.conn.isAuthenticated()) {
    const code = await WPP.conn.getAuthCode();  // WhatsApp rotates it every ~20 s
    if (code && code.fullCode) {
      seen.state = "scan_qr";
      seen.qr = String(code.fullCode);
    }
  }  // else: linked, still syncing
  return seen;
}
"""

# Installed before every navigation, after WA-JS: once WPP is ready, forwards each new
# message that is not ours to the exposed binding.
HOOK_JS = """
(() => {
  // Checked on an interval: WPP becomes ready some time after the page loads.
  const hook = () => {
    const WPP = window.WPP;
    if (!WPP || !WPP.isReady || window.__habloHookedWpp === WPP) return;
    window.__habloHookedWpp = WPP;
    WPP.on("chat.new_message", (msg) => {
      if (!msg || !msg.isNewMsg || (msg.id && msg.id.fromMe)) return;
      if (msg.type && msg.type !== "chat") return;  // text only, for now
      const from = msg.from && (msg.from._serialized || String(msg.from));
      window.BINDING({
        id: msg.id._serialized,
        from: from || "",
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

# Sends {chatId, text}: a read receipt for the customer's messages, then the text;
# resolves to the page's message id.
SEND_JS = """
async ({chatId, text}) => {
  try {
    await window.WPP.chat.markIsRead(chatId);
  } catch (err) {}  // a missing receipt must not cost the reply
  const sent = await window.WPP.chat.sendTextMessage(chatId, text);
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


def chat_id(e164: str) -> str:
    """WhatsApp's id for a person's chat: the number's digits and ``@c.us``."""
    return e164.lstrip("+") + "@c.us"


def is_group(chat: str) -> bool:
    return chat.endswith("@g.us")


def is_person(chat: str) -> bool:
    """A chat with a phone number. Not groups, and not "@lid" chats (WhatsApp's hidden
    ids, whose digits are not a phone number: answering one would need WA-JS's
    contact.getPnLidEntry, not wired in yet)."""
    return chat.endswith("@c.us")


def peer_digits(chat: str) -> str:
    """The phone digits of a person's chat id ("5491155550001@c.us" -> "5491155550001")."""
    return chat.split("@", 1)[0]
