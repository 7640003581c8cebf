"""The wire format between hablo and a remote skill, shared by both ends.

hablo GETs `<url>/manifest` (what the skill answers) and POSTs `<url>/turn` with the
`Turn` and a view of what the SDK's context offers (this tenant, this customer). Every
request carries a timestamped HMAC-SHA256 of "<timestamp>.<nonce>.<body>" under the skill's own
secret; the receiver refuses a stale timestamp and a signature it has already seen. The
answer is a `SkillResult` in JSON plus the writes the skill asks for (book, cancel),
which hablo applies under its own booking rules. Everything received is validated here
with size limits: a remote skill is untrusted input.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import to_jsonable_python

from hablo.domain.booking.repository import BookingInfo
from hablo.plugins.sdk import (
    MAX_CHOICES,
    FollowUp,
    IntentSpec,
    Reply,
    ServiceInfo,
    Skill,
    SkillResult,
    TenantInfo,
    Turn,
)

TIMESTAMP_HEADER = "X-Hablo-Timestamp"
SIGNATURE_HEADER = "X-Hablo-Signature"
NONCE_HEADER = "X-Hablo-Nonce"
REPLAY_WINDOW_S = 300  # a request older (or newer) than this is refused
MAX_BODY = 256 * 1024  # bytes of a manifest or an answer hablo reads
MIN_SECRET = 32  # characters of a signing secret

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def _clean(value: str) -> str:
    return _UNSAFE.sub("", value.replace("\r\n", "\n"))


Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
Example = Annotated[str, StringConstraints(min_length=1, max_length=300), AfterValidator(_clean)]
Text = Annotated[str, StringConstraints(max_length=4096), AfterValidator(_clean)]
TemplateSource = Annotated[str, StringConstraints(max_length=4000)]
MAX_STATE = 16 * 1024  # bytes of a skill's private state, as JSON


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- signing ---------------------------------------------------------------------------------


class SignatureRefused(Exception):
    """A request's signature is missing, wrong, stale or replayed."""


def signature(secret: str, timestamp: int, nonce: str, body: bytes) -> str:
    signed = f"{timestamp}.{nonce}.".encode() + body
    mac = hmac.new(secret.encode(), signed, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """Headers for one request. The nonce makes two identical requests in the same second
    (a double PUT, one config checked by two processes) two different signatures, so the
    receiver's replay check refuses only a true replay."""
    timestamp = int(time.time() if now is None else now)
    nonce = uuid.uuid4().hex
    return {
        TIMESTAMP_HEADER: str(timestamp),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature(secret, timestamp, nonce, body),
        "Content-Type": "application/json",
    }


_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_NONCE = re.compile(r"[0-9a-f]{16,64}")


class ReplayGuard:
    """The receiver's check: a good signature, a fresh timestamp, never seen before."""

    def __init__(self, secret: str, window_s: float = REPLAY_WINDOW_S) -> None:
        self._secret = secret
        self._window = window_s
        self._seen: OrderedDict[str, float] = OrderedDict()  # signature -> expiry
        self._lock = threading.Lock()

    def check(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
        now = time.time() if now is None else now
        raw_time = headers.get(TIMESTAMP_HEADER, "")
        nonce = headers.get(NONCE_HEADER, "")
        given = headers.get(SIGNATURE_HEADER, "")
        # ASCII digits only (str.isdigit() also takes "²", which int() refuses), and the
        # signatures compared as bytes (compare_digest refuses non-ASCII text): a hostile
        # header is a 401 like any bad signature, never an error of the server's.
        if not _TIMESTAMP.fullmatch(raw_time) or not _NONCE.fullmatch(nonce) or not given:
            raise SignatureRefused("missing signature")
        timestamp = int(raw_time)
        expected = signature(self._secret, timestamp, nonce, body).encode()
        if not hmac.compare_digest(given.encode("utf-8", "replace"), expected):
            raise SignatureRefused("bad signature")
        if abs(now - timestamp) > self._window:
            raise SignatureRefused("stale timestamp")
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now:
                self._seen.popitem(last=False)
            if given in self._seen:
                raise SignatureRefused("replayed request")
            self._seen[given] = timestamp + self._window


# -- the manifest ----------------------------------------------------------------------------


class IntentModel(_Strict):
    name: Identifier
    examples: dict[Language, list[Example]] = Field(min_length=1, max_length=4)

    def spec(self) -> IntentSpec:
        return IntentSpec(self.name, {lang: tuple(e) for lang, e in self.examples.items()})


class Manifest(_Strict):
    """What a remote skill says about itself at `<url>/manifest`."""

    name: Identifier
    intents: list[IntentModel] = Field(min_length=1, max_length=20)
    # name -> {language: jinja2 source}: the skill's own wording, rendered by the server.
    templates: dict[Identifier, dict[Language, TemplateSource]] = Field(
        default_factory=dict, max_length=50
    )
    # The JSON Schema of its config (from the skill's config_model).
    config_schema: dict[str, Any] = Field(default_factory=dict)

    def model_post_init(self, _context: Any) -> None:
        for intent in self.intents:
            if sum(len(e) for e in intent.examples.values()) > 200:
                raise ValueError(f"intent {intent.name}: at most 200 examples")
        if len({i.name for i in self.intents}) != len(self.intents):
            raise ValueError("intent names must be unique")


def manifest_of(skill: type[Skill]) -> Manifest:
    """The manifest `hablo skill serve` publishes for an SDK skill class."""
    return Manifest(
        name=skill.name,
        intents=[
            IntentModel(name=spec.name, examples={k: list(v) for k, v in spec.examples.items()})
            for spec in skill.intents
        ],
        templates={name: dict(sources) for name, sources in skill.templates.items()},
        config_schema=skill.config_model.model_json_schema(),
    )


# -- the request: a turn and what the context offers -------------------------------------------


class DayView(_Strict):
    day: date
    hours: list[tuple[str, str]]  # local "HH:MM:SS" opening intervals; empty: closed
    holiday: str | None = None


class ContextView(BaseModel):
    """What an installed skill could read through its SkillContext, for one customer."""

    tenant: TenantInfo
    now: datetime
    services: list[ServiceInfo]
    weekly_hours: dict[int, list[tuple[str, str]]]
    days: list[DayView]  # the booking window, day by day (holidays, special hours)
    settings: dict[str, Any]  # a whitelisted part of the tenant's settings
    bookings: list[BookingInfo]  # this customer's upcoming bookings only
    config: dict[str, Any]  # this tenant's config for the skill


class TurnModel(BaseModel):
    text: str
    language: str
    intent: str | None
    confidence: float
    entities: dict[str, Any]
    state: dict[str, Any]
    conversation_id: uuid.UUID
    contact_id: uuid.UUID
    in_flow: bool = False

    @classmethod
    def of(cls, turn: Turn) -> TurnModel:
        return cls(
            text=turn.text,
            language=turn.language,
            intent=turn.intent,
            confidence=turn.confidence,
            entities=to_jsonable_python(dict(turn.entities), fallback=str),
            state=dict(turn.state),
            conversation_id=turn.conversation_id,
            contact_id=turn.contact_id,
            in_flow=turn.in_flow,
        )


class TurnRequest(BaseModel):
    turn: TurnModel
    context: ContextView


# -- the answer --------------------------------------------------------------------------------


class ReplyModel(_Strict):
    text: Text
    choices: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=MAX_CHOICES
    )
    media_url: (
        Annotated[str, StringConstraints(max_length=2000, pattern=r"^https://\S+$")] | None
    ) = None  # sent on to the customer's channel: https only
    media_type: Literal["image", "document"] = "image"


class FollowUpModel(_Strict):
    intent: Identifier
    entities: dict[str, Any] = Field(default_factory=dict)


class BookAction(_Strict):
    type: Literal["book"]
    service_id: uuid.UUID
    starts_at: datetime  # timezone-aware


class CancelAction(_Strict):
    type: Literal["cancel"]
    booking_id: uuid.UUID


Action = Annotated[BookAction | CancelAction, Field(discriminator="type")]


class ResultModel(_Strict):
    """A SkillResult as a remote skill sends it, with the writes it asks for."""

    replies: list[ReplyModel] = Field(default_factory=list, max_length=10)
    state: dict[str, Any] | None = None
    flow: bool | None = None
    handoff: bool = False
    misunderstood: bool = False
    follow_up: FollowUpModel | None = None
    actions: list[Action] = Field(default_factory=list, max_length=5)

    def model_post_init(self, _context: Any) -> None:
        if self.state is not None and len(json.dumps(self.state)) > MAX_STATE:
            raise ValueError(f"state is larger than {MAX_STATE} bytes")

    def result(self) -> SkillResult:
        return SkillResult(
            replies=tuple(
                Reply(r.text, tuple(_clean(c) for c in r.choices), r.media_url, r.media_type)
                for r in self.replies
            ),
            state=self.state,
            flow=self.flow,
            handoff=self.handoff,
            misunderstood=self.misunderstood,
            follow_up=FollowUp(self.follow_up.intent, self.follow_up.entities)
            if self.follow_up
            else None,
        )

    @classmethod
    def of(cls, result: SkillResult, actions: list[BookAction | CancelAction]) -> ResultModel:
        return cls(
            replies=[
                ReplyModel(
                    text=r.text,
                    choices=list(r.choices),
                    media_url=r.media_url,
                    media_type=r.media_type,  # type: ignore[arg-type]  # checked by Reply
                )
                for r in result.replies
            ],
            state=to_jsonable_python(dict(result.state), fallback=str)
            if result.state is not None
            else None,
            flow=result.flow,
            handoff=result.handoff,
            misunderstood=result.misunderstood,
            follow_up=FollowUpModel(
                intent=result.follow_up.intent,
                entities=to_jsonable_python(dict(result.follow_up.entities), fallback=str),
            )
            if result.follow_up
            else None,
            actions=actions,
        )
