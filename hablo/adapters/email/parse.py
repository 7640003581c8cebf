"""An RFC 5322 mail as the engine needs it: who wrote, the thread headers, the new text,
and what was attached (described, not stored).

Mail arrives from the SMTP receiver and from IMAP polling alike; both go through here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import Any

from hablo.adapters.email.quotes import bare_subject, strip_reply

MAX_REFERENCES = 20  # a long thread's References header is trimmed to its newest ids
MAX_TEXT = 4000  # what reaches the NLU of one mail (the message body column is Text)
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")


class MailRejected(ValueError):
    """Not a mail hablo answers (no usable sender, an automatic reply, a bounce)."""


@dataclass(frozen=True)
class ParsedMail:
    sender: str  # lower-cased address: the conversation's peer
    sender_name: str
    subject: str
    message_id: str  # "<…>"; derived from the content when the mail has none
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str  # the customer's new words, history and signature stripped
    attachments: tuple[dict[str, Any], ...] = field(default=())

    def thread(self) -> dict[str, Any]:
        """What the reply needs to thread under this mail (kept in the inbox payload)."""
        return {
            "message_id": self.message_id,
            "subject": self.subject,
            "references": list((*self.references, self.message_id)[-MAX_REFERENCES:]),
        }


def parse_mail(raw: bytes) -> ParsedMail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    if is_automatic(message):
        raise MailRejected("automatic mail (auto-reply, bounce or list): not answered")
    sender, name = _sender(message)
    subject = str(message.get("Subject", "") or "").strip()[:300]
    message_id = _first_id(message.get("Message-ID")) or _derived_id(raw)
    references = tuple(_MESSAGE_ID.findall(str(message.get("References", "") or "")))
    body = strip_reply(_body_text(message))
    # A first mail often asks in the subject alone ("Precio del corte").
    text = body or bare_subject(subject)
    attachments = tuple(_attachments(message))
    if not text and attachments:
        text = f"[{attachments[0]['type']}]"
    if not text:
        raise MailRejected("the mail has no text, subject or attachment")
    return ParsedMail(
        sender=sender,
        sender_name=name,
        subject=subject,
        message_id=message_id,
        in_reply_to=_first_id(message.get("In-Reply-To")),
        references=references[-MAX_REFERENCES:],
        text=text[:MAX_TEXT],
        attachments=attachments,
    )


def is_automatic(message: EmailMessage) -> bool:
    """RFC 3834 auto-replies, bounces and list traffic: answering them makes mail loops."""
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        return True
    if str(message.get("Precedence", "")).strip().lower() in {"bulk", "junk", "list"}:
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond") or message.get("List-Id"):
        return True
    sender = str(message.get("From", "")).lower()
    return any(daemon in sender for daemon in ("mailer-daemon@", "postmaster@"))


def _sender(message: EmailMessage) -> tuple[str, str]:
    # Reply-To is where the customer wants answers; From is who wrote.
    for header in ("Reply-To", "From"):
        for name, address in getaddresses([str(message.get(header, "") or "")]):
            address = address.strip().lower()
            if _plausible_address(address):
                return address, name.strip()[:200]
    raise MailRejected("the mail has no usable From address")


def _plausible_address(address: str) -> bool:
    if not address or len(address) > 254 or address.count("@") != 1:
        return False
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        return False
    return True


def _first_id(header: object) -> str | None:
    found = _MESSAGE_ID.search(str(header or ""))
    return found.group(0) if found else None


def _derived_id(raw: bytes) -> str:
    """A stable id for a mail without Message-ID, so its redelivery is still a duplicate."""
    return f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@hablo.invalid>"


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        return html_to_text(content)
    return content


def _attachments(message: EmailMessage) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for part in message.iter_attachments():
        mime = part.get_content_type()
        payload = part.get_payload(decode=True)
        entry: dict[str, Any] = {
            "type": _kind(mime),
            "mime_type": mime,
            "size": len(payload) if isinstance(payload, bytes) else None,
        }
        filename = part.get_filename()
        if filename:
            entry["filename"] = filename[:200]
        found.append(entry)
    return found[:20]


def _kind(mime: str) -> str:
    major = mime.split("/", 1)[0]
    return major if major in {"image", "audio", "video"} else "document"


class _TextExtractor(HTMLParser):
    """Visible text of an HTML mail, without quoted history (blockquote, gmail_quote)
    or anything inside <style>/<script>."""

    _SKIPPED = {"style", "script", "head", "title", "blockquote"}
    _BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "table"}
    _VOID = {"br", "img", "hr", "meta", "link", "input", "wbr", "col", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._stack: list[bool] = []  # per open element: does it hide its content?

    def _hidden(self) -> bool:
        return any(self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.chunks.append("\n")
        if tag in self._VOID:
            return
        classes = " ".join(v or "" for k, v in attrs if k in {"class", "id"})
        quote = "gmail_quote" in classes or "divRplyFwdMsg" in classes
        self._stack.append(tag in self._SKIPPED or quote)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._VOID:
            return
        if self._stack:
            self._stack.pop()
        if tag in self._BREAKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden():
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    text = "".join(extractor.chunks)
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
