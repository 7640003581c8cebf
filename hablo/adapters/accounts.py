"""Channel accounts: find the tenant an inbound webhook belongs to, and open the secrets a
sender needs — without a database round trip per message (a short TTL cache).

Secrets are sealed with the account id and secret name as associated data, so a sealed
value copied onto another account or name does not open.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hablo.db.models import ChannelAccount
from hablo.db.staff_events import record_channel_disconnected
from hablo.engine.ports import PermanentSendError
from hablo.engine.sanitize import MAX_PEER, has_unsafe
from hablo.security.secrets import SecretBox

log = logging.getLogger(__name__)

# Channels that are configured as accounts (console and web chat need none).
ACCOUNT_CHANNELS = ("whatsapp_cloud", "whatsapp_web", "twilio_sms", "twilio_whatsapp", "email")


def secret_context(account_id: uuid.UUID, name: str) -> str:
    return f"channel_account:{account_id}:{name}"


def seal_secrets(account: ChannelAccount, box: SecretBox, values: Mapping[str, str]) -> None:
    """Seal `values` onto the account (replacing those names; others are kept). The
    account must have its id (flush first)."""
    sealed = dict(account.secrets or {})
    for name, value in values.items():
        sealed[name] = box.seal(value, context=secret_context(account.id, name))
    account.secrets = sealed  # a new dict: SQLAlchemy notices JSON changes on assignment


def open_secrets(account: ChannelAccount, box: SecretBox) -> dict[str, str]:
    return {
        name: box.open(sealed, context=secret_context(account.id, name))
        for name, sealed in (account.secrets or {}).items()
    }


def reseal(account: ChannelAccount, box: SecretBox) -> int:
    """Move the account's secrets onto the current key; returns how many moved."""
    fresh = {
        name: box.reseal(sealed, context=secret_context(account.id, name))
        for name, sealed in (account.secrets or {}).items()
    }
    moved = sum(1 for name in fresh if fresh[name] != account.secrets[name])
    if moved:
        account.secrets = fresh
    return moved


@dataclass(frozen=True)
class OpenAccount:
    """A channel account with its secrets opened: for senders and webhook checks only."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    channel: str
    address: str
    config: Mapping[str, Any]
    secrets: Mapping[str, str] = field(repr=False)


class CredentialsRejected(PermanentSendError):
    """The provider refused the account's credentials: nothing goes out through it until
    the business fixes them. Senders report it (`AccountDirectory.report_rejected`)."""


def credentials_fingerprint(account: OpenAccount) -> str:
    """Names one set of credentials (new credentials, new name) without revealing them."""
    material = json.dumps(sorted(account.secrets.items())).encode()
    return hashlib.sha256(material).hexdigest()[:16]


def _opened(account: ChannelAccount, box: SecretBox) -> OpenAccount:
    return OpenAccount(
        id=account.id,
        tenant_id=account.tenant_id,
        channel=account.channel,
        address=account.address,
        config=dict(account.config or {}),
        secrets=open_secrets(account, box),
    )


class AccountDirectory:
    """Enabled accounts by address and by tenant, cached for `ttl_s` seconds. The API calls
    `forget()` after a change so the next lookup sees it at once in this process."""

    def __init__(
        self,
        session_factory: Callable[[], Any],
        box: Callable[[], SecretBox],
        *,
        ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_factory = session_factory  # a context manager yielding a Session
        self._make_box = box  # made on first use: it may create the state key file
        self._box: SecretBox | None = None
        self._ttl = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._by_address: dict[tuple[str, str], tuple[float, OpenAccount | None]] = {}
        self._by_tenant: dict[tuple[uuid.UUID, str], tuple[float, OpenAccount | None]] = {}

    def by_address(self, channel: str, address: str) -> OpenAccount | None:
        if has_unsafe(address) or len(address) > MAX_PEER:
            return None  # no account has it, and PostgreSQL would refuse a NUL with a 500
        key = (channel, address)
        cached = self._fresh(self._by_address, key)
        if cached is not None:
            return cached[1]

        def load(session: Session) -> ChannelAccount | None:
            return session.scalars(
                select(ChannelAccount).where(
                    ChannelAccount.channel == channel,
                    ChannelAccount.address == address,
                    ChannelAccount.enabled.is_(True),
                )
            ).first()

        return self._load(self._by_address, key, load)

    def for_tenant(self, tenant_id: uuid.UUID, channel: str) -> OpenAccount | None:
        """The tenant's account a reply goes out from (the oldest enabled one)."""
        key = (tenant_id, channel)
        cached = self._fresh(self._by_tenant, key)
        if cached is not None:
            return cached[1]

        def load(session: Session) -> ChannelAccount | None:
            return session.scalars(
                select(ChannelAccount)
                .where(
                    ChannelAccount.tenant_id == tenant_id,
                    ChannelAccount.channel == channel,
                    ChannelAccount.enabled.is_(True),
                )
                .order_by(ChannelAccount.created_at, ChannelAccount.id)
            ).first()

        return self._load(self._by_tenant, key, load)

    def enabled(self, channel: str) -> list[OpenAccount]:
        """Every enabled account of a channel, fresh from the database (for pollers)."""
        with self._session_factory() as session:
            rows = session.scalars(
                select(ChannelAccount)
                .where(ChannelAccount.channel == channel, ChannelAccount.enabled.is_(True))
                .order_by(ChannelAccount.created_at, ChannelAccount.id)
            ).all()
            return [_opened(row, self.box()) for row in rows]

    def report_rejected(self, account: OpenAccount, reason: str) -> None:
        """Tell staff the channel is down (a staff notification, once per set of
        credentials). Never raises: the send's own error is what the outbox must see."""
        try:
            with self._session_factory() as session:
                record_channel_disconnected(
                    session.connection(),
                    account.tenant_id,
                    account.channel,
                    f"{account.id}:{credentials_fingerprint(account)}",
                    reason,
                )
        except Exception:
            log.exception("could not record the rejected credentials of account %s", account.id)

    def box(self) -> SecretBox:
        if self._box is None:
            self._box = self._make_box()
        return self._box

    def forget(self, tenant_id: uuid.UUID | None = None) -> None:
        with self._lock:
            if tenant_id is None:
                self._by_address.clear()
                self._by_tenant.clear()
                return
            for key in [
                k for k, (_, a) in self._by_address.items() if a is None or a.tenant_id == tenant_id
            ]:
                del self._by_address[key]
            for tkey in [k for k in self._by_tenant if k[0] == tenant_id]:
                del self._by_tenant[tkey]

    def _fresh(
        self, cache: dict[Any, tuple[float, OpenAccount | None]], key: Any
    ) -> tuple[float, OpenAccount | None] | None:
        with self._lock:
            hit = cache.get(key)
        if hit is not None and self._clock() - hit[0] < self._ttl:
            return hit
        return None

    def _load(
        self,
        cache: dict[Any, tuple[float, OpenAccount | None]],
        key: Any,
        load: Callable[[Session], ChannelAccount | None],
    ) -> OpenAccount | None:
        with self._session_factory() as session:
            row = load(session)
            found = _opened(row, self.box()) if row is not None else None
        with self._lock:
            cache[key] = (self._clock(), found)
        return found
