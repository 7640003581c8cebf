"""What the HTTP app holds for its handlers: the runtime and the event-loop bridge. A leaf
module, so routes read them without importing the server that imports the routes."""

from __future__ import annotations

from aiohttp import web

from hablo.bootstrap import Runtime
from hablo.engine.bridge import LoopBridge

RUNTIME = web.AppKey("runtime", Runtime)
BRIDGE = web.AppKey("bridge", LoopBridge)
