"""hablo's public address in front of a test server: HABLO_PUBLIC_URL must be known before
the server starts (it signs media links with it), the test server's port only after. This
forwards GET requests on a port known up front to `target`, set once the server runs, the
way a reverse proxy fronts hablo in production."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from tests.providers.threaded import ThreadedFakeServer


class PublicProxy(ThreadedFakeServer):
    thread_name = "public-proxy"

    def __init__(self) -> None:
        super().__init__()
        self.target = ""  # the server's base URL, e.g. http://127.0.0.1:41234
        self.forwarded: list[str] = []  # paths fetched through the proxy

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/{tail:.*}", self._forward)

    async def _forward(self, request: web.Request) -> web.Response:
        if not self.target:
            return web.json_response({"error": "no target yet"}, status=503)
        self.forwarded.append(request.path)
        async with (
            aiohttp.ClientSession() as client,
            client.get(self.target + request.path_qs) as answer,
        ):
            body = await answer.read()
            keep = ("Content-Type", "Content-Disposition")
            headers = {k: v for k, v in answer.headers.items() if k in keep}
            return web.Response(body=body, status=answer.status, headers=headers)
