"""A safety net under every log line: bearer tokens, JWTs, sealed secrets and
password-like key/value pairs are masked before a record is written.

Code should never log secrets in the first place (tests check the auth flows); this
filter catches what slips through, e.g. a provider's error message echoing a header.
"""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"
_PATTERNS = (
    # Authorization: Bearer <token>
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    # JSON Web Tokens anywhere (three base64url parts, the first one a JSON header).
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
    # Values sealed by SecretBox.
    re.compile(r"\bv1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{20,}"),
    # Query parameters the access log would print: Meta's verify token and the web chat's
    # visitor id (it names a customer's conversation), one-time tokens in links.
    re.compile(r"(?i)([?&](?:hub\.verify_token|verify_token|visitor|token|code)=)[^&\s\"']+"),
    # password=..., "api_key": "...", secret: ..., token=...
    re.compile(
        r"""(?ix)
        (["']?(?:password|passwd|secret|api[_-]?key|access[_-]?token|refresh[_-]?token|
        auth[_-]?token|verify[_-]?token|client[_-]?secret|totp[_-]?secret)["']?\s*[:=]\s*)
        (["']?)[^\s"',;&}]+"""
    ),
)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        if pattern.groups == 0:
            text = pattern.sub(MASK, text)
        elif pattern.groups == 1:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
        else:
            text = pattern.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """Renders the message once, masks it, and freezes the result into the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging module's to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of the root logger (handlers, not loggers: a
    logger's filter does not see records propagated from child loggers)."""
    root = logger or logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
