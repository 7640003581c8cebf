"""A fake OpenAI-compatible server on 127.0.0.1: `POST /v1/chat/completions` in the real
wire format (tool_calls with JSON-string arguments, `usage`, `finish_reason`), checking
the Bearer key, recording every request, answering from a script the test queues.

Runs in a background thread with its own loop, so the engine's threads and the test
talk to it over real sockets.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.providers.threaded import ThreadedFakeServer

DEFAULT_KEY = "sk-test-fake-0123456789abcdef"


@dataclass(frozen=True)
class Scripted:
    kind: str  # "tool" | "text" | "status" | "malformed"
    content: str | None = None
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    # Held until the test sets it (or 60 s): "the provider is thinking" for as long as needed.
    hold: threading.Event | None = None
    prompt_tokens: int = 120
    completion_tokens: int = 18


def tool_call(
    name: str, delay_s: float = 0.0, hold: threading.Event | None = None, **arguments: Any
) -> Scripted:
    return Scripted("tool", tool=name, arguments=arguments, delay_s=delay_s, hold=hold)


def text(content: str, delay_s: float = 0.0, hold: threading.Event | None = None) -> Scripted:
    return Scripted("text", content=content, delay_s=delay_s, hold=hold)


def delay(seconds: float) -> Scripted:
    """Answers, but only after `seconds` (a timeout for any client waiting less)."""
    return Scripted("text", content="demasiado tarde", delay_s=seconds)


def status(code: int, retry_after: float | None = None) -> Scripted:
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return Scripted("status", status=code, headers=headers)


def malformed() -> Scripted:
    return Scripted("malformed")


class FakeOpenAI(ThreadedFakeServer):
    thread_name = "fake-openai"

    def __init__(self, api_key: str = DEFAULT_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.default: Scripted = text("¡Hola! ¿En qué te ayudo?")
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def queue(self, *responses: Scripted) -> None:
        with self._lock:
            self._script.extend(responses)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    # -- lifecycle -------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._completions)

    # -- the endpoint ----------------------------------------------------------------------

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        auth = request.headers.get("Authorization", "")
        with self._lock:
            self.requests.append({"body": body, "authorization": auth})
            step = self._script.popleft() if self._script else self.default
        if auth != f"Bearer {self.api_key}":
            return _error(401, "invalid_api_key", "Incorrect API key provided.")
        if step.delay_s:
            await asyncio.sleep(step.delay_s)
        if step.hold is not None:
            await asyncio.get_running_loop().run_in_executor(None, step.hold.wait, 60.0)
        if step.kind == "status":
            return _error(step.status, "fake_error", f"scripted {step.status}", step.headers)
        if step.kind == "malformed":
            return web.Response(
                text='{"id": "chatcmpl-x", "choices": [', content_type="application/json"
            )
        n = next(self._ids)
        if step.kind == "tool":
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{n}",
                        "type": "function",
                        "function": {
                            "name": step.tool,
                            "arguments": json.dumps(step.arguments, ensure_ascii=False),
                        },
                    }
                ],
            }
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": step.content}
            finish = "stop"
        return web.json_response(
            {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": 1_800_000_000,
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {
                    "prompt_tokens": step.prompt_tokens,
                    "completion_tokens": step.completion_tokens,
                    "total_tokens": step.prompt_tokens + step.completion_tokens,
                },
            }
        )


def _error(
    code: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": kind, "code": kind}}, status=code, headers=headers
    )
