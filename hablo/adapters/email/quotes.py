"""Strip what a mail client adds around the customer's new words: the quoted history of
the thread and the signature. The NLU should read "¿tienen turno el jueves?", not the
bot's previous answer quoted below it (which would match every intent at once).

Clients write the quote header in the sender's language; the patterns cover what Gmail,
Outlook, Apple Mail and Thunderbird write in Spanish and English.
"""

from __future__ import annotations

import re

# A line that opens the quoted history; everything from it on is history.
_QUOTE_HEADERS = (
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*El\b.{0,300}\bescribi[oó]:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(Original Message|Mensaje original)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(Forwarded message|Mensaje reenviado)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook's rule above its header block
)
# Outlook's header block: "From: …" followed within two lines by "Sent:"/"Date:".
_OUTLOOK_FROM = re.compile(r"^\s*\*?(From|De)\s*:\*?\s", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(
    r"^\s*\*?(Sent|Date|Enviado|Enviado el|Fecha|To|Para)\s*:\*?\s", re.IGNORECASE
)
# Signatures: the standard delimiter, and the lines phones add on their own.
_SIGNATURE_DELIMITER = re.compile(r"^--\s?$")
_DEVICE_SIGNATURE = re.compile(
    r"^\s*(Sent from my|Sent from|Enviado desde mi|Enviado desde|Get Outlook for|"
    r"Obtener Outlook para|Descargar Outlook para)\b",
    re.IGNORECASE,
)
_QUOTED_LINE = re.compile(r"^\s*>")


def strip_reply(text: str) -> str:
    """The new part of a plain-text reply: the history and signature cut off, quoted
    ("> ") lines dropped. A mail that is nothing but quotes comes back empty."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _opens_history(lines, index) or _SIGNATURE_DELIMITER.match(line):
            break
        if _DEVICE_SIGNATURE.match(line):
            break
        if _QUOTED_LINE.match(line):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _opens_history(lines: list[str], index: int) -> bool:
    line = lines[index]
    if any(pattern.match(line) for pattern in _QUOTE_HEADERS):
        return True
    # Gmail wraps a long "On … wrote:" over two lines.
    if index + 1 < len(lines) and re.match(r"^\s*(On|El)\b", line, re.IGNORECASE):
        joined = f"{line} {lines[index + 1].strip()}"
        if any(pattern.match(joined) for pattern in _QUOTE_HEADERS[:2]):
            return True
    if _OUTLOOK_FROM.match(line):
        following = lines[index + 1 : index + 3]
        return any(_OUTLOOK_NEXT.match(other) for other in following)
    return False


_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|rv|reenv|res)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def bare_subject(subject: str) -> str:
    """ "RE: Fwd: Turno" -> "Turno" (Spanish clients write RV:/RE:)."""
    return _REPLY_PREFIX.sub("", subject).strip()


def reply_subject(subject: str) -> str:
    bare = bare_subject(subject)
    return f"Re: {bare}" if bare else "Re:"
