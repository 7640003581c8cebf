"""What a running process tells its operators: log lines (text or JSON, secrets
redacted, request and conversation ids attached) and, optionally, errors to Sentry."""

from hablo.observability.logs import configure_logging

__all__ = ["configure_logging"]
