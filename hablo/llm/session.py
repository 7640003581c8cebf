"""One LLM-assisted turn: read (history, customer facts, the budget; in a short
transaction), understand (the model picks a skill as a tool; no transaction open), let
the engine run the skill as always in its locked write transaction, then phrase (the
model words the skill's answer after that commit, the guard checks it) and record the
usage. Any fault, the breaker or the budget: the local NLU answers this turn."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Connection

from hablo.db.base import utcnow
from hablo.db.models import Tenant
from hablo.engine.context import EngineSkillContext
from hablo.engine.nlu.pipeline import Understanding
from hablo.engine.store import LockedConversation
from hablo.llm import budget, guard, prompt, tools
from hablo.llm.breaker import CircuitBreaker
from hablo.llm.client import ChatClient, Completion, LoopThread, ProviderFault, ToolCall
from hablo.llm.config import TenantLlmConfig
from hablo.llm.tokens import TokenCounter
from hablo.notify.mailer import Mailer
from hablo.plugins.sdk import Skill


class TenantAssistant(Protocol):
    """What a turn reads from its tenant's assistant (hablo.llm.mode.LlmAssistant, which
    creates the turn: a protocol here keeps the two modules out of an import cycle)."""

    loop: LoopThread
    mailer: Callable[[], Mailer]
    tenant_id: uuid.UUID
    slug: str
    skills: Mapping[str, Skill]
    config: TenantLlmConfig
    client: ChatClient
    breaker: CircuitBreaker
    model: str
    request_timeout_s: float
    deadline_s: float
    history_tokens: int
    counter: TokenCounter


log = logging.getLogger(__name__)
T = TypeVar("T")
ATTEMPTS = 2  # the first call and one retry
MIN_CALL_S = 0.05  # less time than this left: do not start a call


class LlmTurn:
    def __init__(
        self,
        assistant: TenantAssistant,
        text: str,
        local: Understanding,
        conversation: LockedConversation | None,
        flow: str | None,
        ctx: EngineSkillContext,
        conn: Connection | None,
    ) -> None:
        self.a = assistant
        self.text = text
        self.local = local
        self.conversation = conversation
        self.flow = flow
        self.ctx = ctx
        self.conn = conn  # the read phase's transaction only: never kept past read()
        self.deadline = time.monotonic() + assistant.deadline_s
        self.understanding = local
        self.outcome = "assisted"
        self.fallback: str | None = None  # why the local NLU answers this turn
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self._messages: list[dict[str, Any]] = []
        self._system = ""
        self._prices: tuple[str, ...] = ()  # the priced services the system prompt lists
        self._tools: list[dict[str, Any]] = []
        self._call: ToolCall | None = None
        self._call_message: Mapping[str, Any] = {}
        self._direct: str | None = None

    # -- understand ------------------------------------------------------------------------

    def read(self) -> LlmTurn:
        """What the model needs, read in the caller's short transaction (`conn`)."""
        try:
            self._prepare()
        except ProviderFault as fault:
            self._fall_back(fault.kind)
        except Exception as exc:  # LLM mode must never cost a turn: local NLU instead
            log.exception("tenant %s: LLM turn failed: %s", self.a.slug, type(exc).__name__)
            self._fall_back("error")
        self.conn = None
        return self

    def understand(self) -> LlmTurn:
        """The understanding call; the caller holds no transaction and no connection."""
        if self.fallback is not None:
            return self
        try:
            self.understanding = self._request(self._messages, self._interpret)
        except ProviderFault as fault:
            self._fall_back(fault.kind)
        except Exception as exc:
            log.exception("tenant %s: LLM turn failed: %s", self.a.slug, type(exc).__name__)
            self._fall_back("error")
        return self

    def drop(self, reason: str) -> None:
        """The conversation moved on while the model was asked: its answer is not used."""
        if self.fallback is None:
            self._fall_back(reason)

    def _fall_back(self, reason: str) -> None:
        self.understanding, self.fallback, self.outcome = self.local, reason, reason
        if reason not in ("budget",):
            log.warning("tenant %s: LLM %s, local NLU answers this turn", self.a.slug, reason)

    def _prepare(self) -> None:
        if self.conn is not None and self._over_budget(self.conn):
            raise ProviderFault("budget")
        language = self.local.language
        facts = prompt.CustomerFacts()
        history: list[Mapping[str, Any]] = []
        if self.conn is not None and self.conversation is not None:
            now = self.ctx.now()
            facts = prompt.load_customer(
                self.conn, self.ctx, self.conversation.contact_id, language, now
            )
            history = prompt.load_history(self.conn, self.conversation.id)
        self._system = prompt.system_prompt(self.ctx, language, facts)
        self._prices = prompt.price_lines(self.ctx, language)
        history = self.a.counter.trim_history(history, self.a.history_tokens)
        self._messages = prompt.chat_messages(self._system, history, self.text)
        self._tools = tools.skill_tools(self.a.skills, self.ctx.services(), language, self.flow)

    def _interpret(self, completion: Completion) -> Understanding:
        if not completion.tool_calls:
            self._direct = (completion.content or "").strip()
            self.outcome = "direct"
            return self.local  # the engine decides; the model's words may stand in for "no entendí"
        call = completion.tool_calls[0]  # one skill per turn: the dialogue state stays sane
        skill = tools.skill_for_tool(self.a.skills, call.name)
        if skill is None:
            raise tools.ToolArgumentError(f"unknown tool {call.name!r}")
        understanding = tools.understanding_from_call(
            skill, call.arguments, self.local, self.ctx, self.flow
        )
        self._call = call
        raw = dict(completion.raw_message)
        raw["tool_calls"] = [c for c in raw.get("tool_calls", []) if c.get("id") == call.id]
        raw.setdefault("content", None)
        self._call_message = raw
        return understanding

    def _over_budget(self, conn: Connection) -> bool:
        plan = conn.execute(select(Tenant.plan).where(Tenant.id == self.a.tenant_id)).scalar_one()
        allowed = self.a.config.budget_for(plan)
        now = utcnow()
        used = budget.used_this_month(conn, self.a.tenant_id, now)
        if used < allowed:
            return False
        if budget.notify_budget_reached(conn, self.a.tenant_id, self.a.slug, used, allowed, now):
            try:
                with conn.begin_nested():  # a failed query must not poison the turn's transaction
                    budget.mail_managers_on_commit(
                        conn, self.a.mailer(), self.a.tenant_id, used, allowed, now
                    )
            except Exception:  # the audit row and the log line still tell the tenant
                log.exception("tenant %s: the LLM budget mail was not sent", self.a.slug)
        return True

    # -- the provider, with one retry inside the deadline ------------------------------------

    def _request(
        self,
        messages: Sequence[Mapping[str, Any]],
        interpret: Callable[[Completion], T],
        tools_: Sequence[Mapping[str, Any]] | None = None,
    ) -> T:
        breaker = self.a.breaker
        last = ProviderFault("deadline")
        for _attempt in range(ATTEMPTS):
            remaining = self.deadline - time.monotonic()
            if remaining < MIN_CALL_S:
                raise ProviderFault("deadline")
            if not breaker.allow():
                raise ProviderFault("breaker_open")
            self.calls += 1
            try:
                completion = self.a.loop.run(
                    self.a.client.complete(
                        model=self.a.model,
                        messages=messages,
                        tools=self._tools if tools_ is None else tools_,
                        temperature=self.a.config.temperature,
                        max_tokens=self.a.config.max_tokens,
                        timeout_s=min(self.a.request_timeout_s, remaining),
                    ),
                    timeout=remaining,
                )
                self.prompt_tokens += completion.prompt_tokens
                self.completion_tokens += completion.completion_tokens
                try:
                    result = interpret(completion)
                except tools.ToolArgumentError as exc:
                    raise ProviderFault("malformed", detail=str(exc)) from None
            except ProviderFault as fault:
                breaker.record_failure()
                log.info("tenant %s: LLM call failed: %s", self.a.slug, fault.kind)
                if not fault.retryable:
                    raise
                last = fault
                wait = fault.retry_after_s or 0.0
                if wait and wait >= self.deadline - time.monotonic() - MIN_CALL_S:
                    raise  # the provider asks for longer than the customer may wait
                if wait:
                    time.sleep(wait)
                continue
            breaker.record_success()
            return result
        raise last

    # -- phrase --------------------------------------------------------------------------------

    def needs_phrasing(self, replies: tuple[str, ...], failed: bool) -> bool:
        """Whether phrase() may call the model (else it returns `replies` as they are)."""
        if self.fallback is not None or not replies or failed:
            return False
        if self._direct is not None:
            return self.local.intent is None and not self.flow and bool(self._direct)
        return self._call is not None

    def phrase(self, replies: tuple[str, ...], failed: bool) -> tuple[str, ...]:
        """The replies to send; the caller holds no transaction and no connection."""
        try:
            return self._finish(replies, failed)
        except Exception as exc:
            log.exception("tenant %s: LLM phrasing failed: %s", self.a.slug, type(exc).__name__)
            return replies

    def _finish(self, replies: tuple[str, ...], failed: bool) -> tuple[str, ...]:
        if self.fallback is not None or not replies or failed:
            return replies
        if self._direct is not None:
            # The model chose no tool: its words replace only the "no entendí" answer.
            if self.local.intent is not None or self.flow or not self._direct:
                return replies
            return self._guarded(self._direct, (), replies, replace_first=True)
        if self._call is None:
            return replies
        tool_result = json.dumps({"replies": list(replies)}, ensure_ascii=False)
        messages = [
            *self._messages,
            self._call_message,
            {"role": "tool", "tool_call_id": self._call.id, "content": tool_result},
        ]
        try:
            text = self._request(messages, _text_only)
        except ProviderFault as fault:
            self.outcome = f"phrase_{fault.kind}"[:32]
            return replies
        return self._guarded(text, replies, replies) if text else replies

    def _guarded(
        self,
        text: str,
        tool_results: Sequence[str],
        replies: tuple[str, ...],
        replace_first: bool = False,
    ) -> tuple[str, ...]:
        facts = guard.Facts(tool_results, self._prices, (self._system,), self.text)
        verdict = guard.check(text, facts)
        if not verdict.ok:
            self.outcome = "guarded"
            log.warning(
                "tenant %s: model reply had numbers or links no tool gave (%s); "
                "sent the skill's reply",
                self.a.slug,
                ", ".join(verdict.unknown[:5]),
            )
            return replies
        return (text, *replies[1:]) if replace_first else (text,)

    # -- accounting ----------------------------------------------------------------------------

    def record(self, conn: Connection, conversation_id: uuid.UUID, inbox_id: int) -> None:
        """This turn's usage, in a write transaction of the caller's."""
        if self.calls == 0:
            return
        budget.record(
            conn,
            self.a.tenant_id,
            conversation_id,
            inbox_id,
            budget.TurnUsage(
                self.a.model, self.calls, self.prompt_tokens, self.completion_tokens, self.outcome
            ),
        )


def _text_only(completion: Completion) -> str:
    # A second tool call is not run (one skill per turn): "" keeps the skill's words.
    return "" if completion.tool_calls else (completion.content or "").strip()
