"""Optional error reporting to Sentry (`HABLO_SENTRY_DSN`, the [sentry] extra).

Every string of an event (message, exception values, breadcrumbs made from log lines,
request data) goes through the same redaction as the logs before it leaves the process,
and values under secret-looking keys are masked whole. Local variables are not sent.
"""

from __future__ import annotations

import re
from typing import Any

from hablo import __version__
from hablo.config import ConfigError
from hablo.config.extras import MissingExtra
from hablo.security.log_redaction import MASK, redact

try:  # the [sentry] extra: only a process with a DSN needs it
    import sentry_sdk
except ImportError:  # pragma: no cover - exercised by a test that hides the package
    sentry_sdk = None  # type: ignore[assignment]

# Keys whose whole value is a secret, wherever they appear in an event (headers, cookies,
# form fields, extra data).
_SECRET_KEY = re.compile(
    r"(?i)(authorization|cookie|password|passwd|secret|token|api[_-]?key|dsn|signature|csrf)"
)


def scrub(value: Any) -> Any:
    """A copy of an event (or any part of one) with secrets masked."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            k: MASK if isinstance(k, str) and _SECRET_KEY.search(k) else scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def _before_send(event: Any, hint: Any) -> Any:
    return scrub(event)


def _before_breadcrumb(crumb: Any, hint: Any) -> Any:
    return scrub(crumb)


def init_sentry(dsn: str, environment: str) -> None:
    if sentry_sdk is None:
        raise MissingExtra("error reporting to Sentry (HABLO_SENTRY_DSN)", "sentry")
    try:
        sentry_sdk.init(
            dsn=dsn,
            environment=environment,
            release=f"hablo@{__version__}",
            send_default_pii=False,
            include_local_variables=False,
            before_send=_before_send,
            before_breadcrumb=_before_breadcrumb,
        )
    except sentry_sdk.utils.BadDsn as exc:  # never echo the DSN: it holds the key
        raise ConfigError("config key 'sentry_dsn' (HABLO_SENTRY_DSN): not a Sentry DSN") from exc
