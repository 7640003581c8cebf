"""Log set-up for every hablo process (`serve`, `worker`, `demo`).

`log_format = "json"` writes one JSON object per line: time, level, logger, message, the
ids of the current request or turn (hablo.config.log_context), any extra fields a logger
passed (aiohttp's access log passes the status, the path...) and the traceback. Secrets
are masked in every one of these (hablo.security.log_redaction), also in tracebacks,
which the plain redacting filter does not see.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from hablo.config import Settings
from hablo.config.log_context import FIELDS, current_log_context
from hablo.observability.sentry import init_sentry
from hablo.security import log_redaction
from hablo.security.log_redaction import redact

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _plain(value: Any) -> Any:
    """An extra field as JSON can hold it, strings redacted."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        context = current_log_context()
        line.update((name, context[name]) for name in FIELDS if name in context)
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in line:
                line[name] = _plain(value)
        if record.exc_info:
            line["exc_info"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            line["stack_info"] = redact(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class RedactingTextFormatter(logging.Formatter):
    """The terminal format, with tracebacks masked too (an exception's message may echo
    a header or a URL with a token)."""

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))


def build_handler(log_format: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else RedactingTextFormatter(TEXT_FORMAT)
    )
    return handler


def configure_logging(settings: Settings) -> None:
    """Root logging for this process, and Sentry when a DSN is set (raises MissingExtra,
    one line, when it is set without the [sentry] extra). Leaves handlers someone else
    installed first (a test runner's) in place, as logging.basicConfig does."""
    if settings.sentry_dsn:
        init_sentry(settings.sentry_dsn, settings.sentry_environment)
    logging.basicConfig(level=settings.log_level, handlers=[build_handler(settings.log_format)])
    log_redaction.install()
