"""The provider edge: OpenAI's async client, run on one event loop owned by the LLM layer.

Conversation actors are threads; a turn submits its request to this loop and waits on a
concurrent future, so no loop is created per turn and no blocking call ever runs on the
API's loop. The SDK's own retries are off: the caller retries once, within the turn's
deadline, and a circuit breaker stands in front.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai
from openai import AsyncOpenAI, Timeout

T = TypeVar("T")


class ProviderFault(Exception):
    """A failed model call. `kind` is short and safe to log and store (no secrets)."""

    def __init__(self, kind: str, retry_after_s: float | None = None, detail: str = "") -> None:
        super().__init__(f"{kind}{': ' + detail if detail else ''}")
        self.kind = kind
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        return self.kind in ("timeout", "rate_limited", "server_error", "connection", "malformed")


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True)
class Completion:
    content: str | None
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    raw_message: Mapping[str, Any] = field(default_factory=dict)


class LoopThread:
    """A daemon thread running one asyncio loop, started on first use."""

    def __init__(self, name: str = "hablo-llm") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run `coro` on the loop and wait at most `timeout` seconds (then cancel it)."""
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure())
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ProviderFault("timeout") from None

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()


class ChatClient:
    """One OpenAI-compatible endpoint with one key. Use only from the LoopThread's loop."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float) -> None:
        self.base_url = base_url
        self._client = AsyncOpenAI(
            base_url=base_url,
            # Local model servers often need no key; the SDK insists on one.
            api_key=api_key or "no-key",
            timeout=Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            max_retries=0,
        )

    def __repr__(self) -> str:  # never show the key
        return f"ChatClient({self.base_url!r})"

    async def complete(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None,
        temperature: float,
        max_tokens: int,
        timeout_s: float,
    ) -> Completion:
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": list(messages),
            "temperature": temperature,
            "max_tokens": max_tokens,
            "timeout": timeout_s,
        }
        if tools:
            kwargs["tools"] = list(tools)
        try:
            response = await asyncio.wait_for(
                self._client.chat.completions.create(**kwargs), timeout_s
            )
        except (TimeoutError, openai.APITimeoutError):
            raise ProviderFault("timeout") from None
        except openai.RateLimitError as exc:
            raise ProviderFault("rate_limited", _retry_after(exc.response)) from None
        except openai.InternalServerError as exc:
            raise ProviderFault("server_error", detail=str(exc.status_code)) from None
        except openai.APIStatusError as exc:
            kind = "server_error" if exc.status_code >= 500 else "rejected"
            raise ProviderFault(kind, detail=str(exc.status_code)) from None
        except openai.APIConnectionError:
            raise ProviderFault("connection") from None
        except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError):
            raise ProviderFault("malformed") from None
        return parse_completion(response)

    async def close(self) -> None:
        await self._client.close()


def parse_completion(response: Any) -> Completion:
    """Validate what the SDK returned; anything unusable is a 'malformed' fault."""
    choices = getattr(response, "choices", None)
    if not choices:
        raise ProviderFault("malformed", detail="no choices")
    message = choices[0].message
    calls = []
    for call in message.tool_calls or ():
        function = getattr(call, "function", None)
        if function is None or not function.name:
            raise ProviderFault("malformed", detail="tool call without a function")
        try:
            arguments = json.loads(function.arguments or "{}")
        except (json.JSONDecodeError, TypeError):
            raise ProviderFault("malformed", detail="tool arguments are not JSON") from None
        if not isinstance(arguments, dict):
            raise ProviderFault("malformed", detail="tool arguments are not an object")
        calls.append(ToolCall(call.id, function.name, arguments))
    if not calls and not (message.content or "").strip():
        raise ProviderFault("malformed", detail="empty answer")
    usage = getattr(response, "usage", None)
    return Completion(
        content=message.content,
        tool_calls=tuple(calls),
        finish_reason=choices[0].finish_reason,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        raw_message=message.model_dump(exclude_none=True),
    )


def _retry_after(response: Any) -> float | None:
    if response is None:
        return None
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None
