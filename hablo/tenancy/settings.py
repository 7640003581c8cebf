"""What a tenant may configure, validated: the shapes stored in `tenants.settings` and
the checks shared by the tenant and settings APIs (time zone, locale, currency, e-mail)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# Reply templates exist in these languages; a locale of another language would get
# Spanish replies without anyone noticing, so it is refused.
REPLY_LANGUAGES = ("es", "en")
NOTIFICATIONS_KEY = "notifications"
DEBOUNCE_KEY = "debounce_ms"
HANDOFF_TIMEOUT_KEY = "handoff_timeout_minutes"
# Days a tenant keeps its conversations' messages (and the files they sent); unset: always.
MESSAGE_RETENTION_KEY = "message_retention_days"
MAX_MESSAGE_RETENTION_DAYS = 36500
# Sites that may embed the web chat (browsers send their origin); hablo's own page always may.
WEBCHAT_ORIGINS_KEY = "webchat_allowed_origins"
MAX_WEBCHAT_ORIGINS = 20
# Slugs that name (or may one day name) hablo's own paths and hosts, not a business.
RESERVED_SLUGS = frozenset(
    {
        "api",
        "app",
        "admin",
        "static",
        "chat",
        "docs",
        "www",
        "webhooks",
        "auth",
        "healthz",
        "readyz",
        "metrics",
    }
)
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"
DEFAULT_HANDOFF_TIMEOUT_MIN = 60  # the engine's default (engine/turns.py)
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$")
_EMAIL = re.compile(
    r"^[^@\s\"<>(),;:]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$"
)


def _timezone(value: str) -> str:
    # ZoneInfo alone would also accept file paths such as "../etc"; the list is the truth.
    if value not in _zones():
        raise ValueError("unknown time zone; use an IANA name such as America/Mexico_City")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("unknown time zone") from exc
    return value


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones() | {"UTC"})


def _locale(value: str) -> str:
    try:
        parsed = Locale.parse(value.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise ValueError("unknown locale; use e.g. es-AR, es-MX or en-US") from exc
    if parsed.language not in REPLY_LANGUAGES:
        raise ValueError(f"replies exist in {', '.join(REPLY_LANGUAGES)} only")
    return value.replace("_", "-")


def _currency(value: str) -> str:
    code = value.upper()
    if code not in list_currencies():
        raise ValueError("not an ISO 4217 currency code (e.g. ARS, MXN, USD, EUR)")
    return code


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not an e-mail address")
    return value.lower()


def web_origin(value: str) -> str:
    """An origin as browsers send it: scheme://host[:port], lower case, nothing after."""
    text = value.strip().lower().rstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError("not an origin like https://shop.example.com") from exc
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.path
        or parts.query
        or parts.fragment
        or not _HOST.match(parts.hostname)
    ):
        raise ValueError("not an origin like https://shop.example.com (no path, no user)")
    default = {"https": 443, "http": 80}[parts.scheme]
    netloc = parts.hostname if port in (None, default) else f"{parts.hostname}:{port}"
    return f"{parts.scheme}://{netloc}"


def allowed_webchat_origins(settings: Mapping[str, Any]) -> frozenset[str]:
    """The stored origins (anything that no longer validates is left out)."""
    found = set()
    for value in settings.get(WEBCHAT_ORIGINS_KEY) or ():
        try:
            found.add(web_origin(str(value)))
        except ValueError:
            continue
    return frozenset(found)


TimeZoneName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_timezone)]
LocaleName = Annotated[
    str,
    Field(min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"),
    AfterValidator(_locale),
]
CurrencyCode = Annotated[
    str, Field(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$"), AfterValidator(_currency)
]
EmailAddress = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_email)]
WebOrigin = Annotated[str, Field(min_length=8, max_length=300), AfterValidator(web_origin)]


class NotificationEvents(BaseModel):
    """Which events are e-mailed to the notification addresses."""

    model_config = ConfigDict(extra="forbid")

    handoff: bool = Field(default=True, description="A customer asked for a human")
    plan_limit: bool = Field(default=True, description="The plan's monthly messages ran out")
    session_lost: bool = Field(default=True, description="A channel session (WhatsApp) dropped")
    new_booking: bool = Field(default=False, description="A customer booked")


class NotificationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    emails: list[EmailAddress] = Field(
        default_factory=list,
        max_length=10,
        description="Extra addresses; the tenant's owners and admins are always told",
    )
    events: NotificationEvents = Field(default_factory=NotificationEvents)

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> NotificationSettings:
        """The stored preferences; a stored value that no longer validates gives defaults."""
        try:
            return cls.model_validate(settings.get(NOTIFICATIONS_KEY) or {})
        except ValueError:
            return cls()


def message_retention_days(settings: Mapping[str, Any]) -> int | None:
    """The tenant's message retention in days; None (keep) when unset or not valid."""
    value = settings.get(MESSAGE_RETENTION_KEY)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= MAX_MESSAGE_RETENTION_DAYS else None
