"""What a channel that runs its own loop (e-mail, WhatsApp Web) needs from the process
that hosts it. `hablo.bootstrap.Runtime` is one; adapters never import bootstrap."""

from __future__ import annotations

from typing import Protocol

from hablo.adapters.accounts import AccountDirectory
from hablo.config import Settings
from hablo.db.database import Database
from hablo.engine.runtime import Engine


class ChannelHost(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def accounts(self) -> AccountDirectory: ...
