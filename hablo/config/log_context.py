"""Ids that every log line of the current request or turn carries (request id, tenant,
conversation), kept in a context variable: an API request sets the request id in its
task, an actor sets the tenant and conversation on its own thread while it handles a
message. The log formatter reads them (hablo.observability.logs); nothing here writes.

It sits with the settings, the innermost layer, because the engine and the API both set
it and neither may import the other.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType

# The fields a log line may carry, in the order they are written.
FIELDS = ("request_id", "tenant_id", "conversation_id", "channel")

_EMPTY: Mapping[str, str] = MappingProxyType({})
_current: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "hablo_log_context", default=_EMPTY
)

LogValue = str | uuid.UUID | None


def _merged(values: Mapping[str, LogValue]) -> Mapping[str, str]:
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown log context field(s): {sorted(unknown)}")
    merged = dict(_current.get())
    merged.update({k: str(v) for k, v in values.items() if v is not None})
    return MappingProxyType(merged)


@contextmanager
def log_context(**values: LogValue) -> Iterator[None]:
    """Within the block, log lines carry these ids (None values are left out); on exit
    the ids are those from before, including any `bind_log_context` made inside."""
    token = _current.set(_merged(values))
    try:
        yield
    finally:
        _current.reset(token)


def bind_log_context(**values: LogValue) -> None:
    """Add ids for the rest of the enclosing `log_context` block (e.g. the conversation
    id, known only once the turn has loaded its row)."""
    _current.set(_merged(values))


def current_log_context() -> Mapping[str, str]:
    return _current.get()
