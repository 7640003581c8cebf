"""Typed settings. Nothing here runs at import time: call `load_settings()`."""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from hablo.config.secret_keys import parse_key_spec

CONFIG_FILE_ENV = "HABLO_CONFIG_FILE"


class ConfigError(Exception):
    """A configuration problem, phrased as one line naming the key."""


# Pooled connections kept beside the turns': the outbox dispatcher and the edge.
RESERVED_CONNECTIONS = 2


class Settings(BaseSettings):
    """Every knob of a hablo process. Defaults run the embedded demo with no config."""

    model_config = SettingsConfigDict(env_prefix="HABLO_", extra="forbid", frozen=True)

    database_url: str = "sqlite:///hablo.db"
    # Turns of this process that run their transaction at once (each holds one pooled
    # connection while it does; provider and model calls run outside it).
    turn_concurrency: int = Field(default=8, ge=1, le=200)
    # Unset: the rule, turn_concurrency + RESERVED_CONNECTIONS (the outbox dispatcher, the
    # edge's inbox inserts and API requests), with as many again as overflow for bursts.
    db_pool_size: int | None = Field(default=None, ge=1, le=200)
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "json": one JSON object per line (for a log shipper), with the request id on API
    # lines and tenant/conversation ids on engine lines; "text" reads best in a terminal.
    log_format: Literal["text", "json"] = "text"
    # Errors are also sent to Sentry when set (needs the [sentry] extra), secrets redacted.
    sentry_dsn: str | None = Field(default=None, repr=False)
    sentry_environment: str = Field(default="production", min_length=1, max_length=64)

    # "inprocess": this process runs the actors (one command, no Redis). "redis": the
    # worker tier (docs/scaling.md): conversations are spread over `hablo worker`
    # processes by shard through Redis (needs redis_url and PostgreSQL); `hablo serve`
    # is the edge and also runs a worker unless serve_worker is false.
    router: Literal["inprocess", "redis"] = "inprocess"
    serve_worker: bool = True
    # Conversations hash to this many shards; each is leased to one worker for
    # shard_lease_s (renewed while alive): a dead worker's shards move within about that.
    # Every process of a deployment must use the same shard count.
    shards: int = Field(default=64, ge=1, le=4096)
    shard_lease_s: float = Field(default=5.0, ge=1.0, le=120.0)
    # `hablo worker` serves its own Prometheus figures on this port when set (no token:
    # keep worker_metrics_host a private address; the edge's /metrics has the rest).
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    worker_metrics_host: str = "127.0.0.1"
    nlu: Literal["local"] = "local"
    # Channels this process serves: "webchat" mounts /chat/{slug}; "console" allows `hablo chat`;
    # "whatsapp_cloud" mounts /webhooks/whatsapp and sends through the Graph API;
    # "whatsapp_web" drives a Chromium per tenant linked by QR (/api/whatsapp/*);
    # "twilio_sms"/"twilio_whatsapp" mount /webhooks/twilio/{sms,status} (Twilio REST API);
    # "email" receives SMTP on email_smtp_host:port, polls IMAP mailboxes, replies by SMTP.
    channels: list[str] = Field(default_factory=lambda: ["console", "webchat"])

    # Conversation actors: passivated after idle time, at most this many alive.
    actor_idle_timeout_s: float = Field(default=600.0, gt=0)
    actor_max_live: int = Field(default=2000, ge=1, le=20000)
    # Threads that run the conversation actors' messages (an actor is not a thread of its
    # own). A turn holds one while it waits: for its database slot, a model, a plugin.
    # Unset: 2 x turn_concurrency, so turns that wait outside the database never starve
    # the ones that could use a free slot (see actor_thread_count).
    actor_threads: int | None = Field(default=None, ge=1, le=500)
    # A turn that fails for infrastructure reasons (database down, lock timeout) is
    # retried after this delay, doubled per failure up to turn_retry_max_delay_s.
    turn_retry_delay_s: float = Field(default=1.0, gt=0)
    turn_retry_max_delay_s: float = Field(default=30.0, gt=0)
    # A turn that fails for any other reason (bad data, a bug) is tried this many times;
    # then its message is quarantined, the customer gets an apology and the chat goes on.
    turn_max_attempts: int = Field(default=3, ge=1, le=50)
    # Pending inbox rows older than this are redelivered by the recovery sweep.
    recovery_sweep_s: float = Field(default=30.0, gt=0)

    outbox_max_attempts: int = Field(default=8, ge=1, le=100)
    outbox_backoff_base_s: float = Field(default=1.0, gt=0)
    outbox_backoff_max_s: float = Field(default=300.0, gt=0)
    # Lanes (one tenant's replies on one channel, sent one at a time, in order) that send
    # at once, each on its own sender thread: a slow provider or WhatsApp Web's typing
    # pause holds back only its lane. Sends mostly wait, so 8 suits even 2 cores.
    outbox_lanes: int = Field(default=8, ge=1, le=64)

    # Files hablo generates for itself when not configured (the demo's secret key and
    # token signing keys). Production sets secret_keys / jwt_keys_dir explicitly.
    state_dir: Path = Path(".hablo")
    # AES-256-GCM keys for provider secrets at rest: JSON list of "<kid>:<base64 32 bytes>",
    # current key first; older keys still open what they sealed (rotation).
    secret_keys: list[str] = Field(default_factory=list, repr=False)

    # Management API.
    # RS256 signing keys: a folder of "<kid>.pem" RSA private keys; the file named in
    # "current" signs, every key verifies (rotation without logging everyone out).
    jwt_keys_dir: Path | None = None
    jwt_issuer: str = "hablo"
    access_token_ttl_s: int = Field(default=900, ge=30, le=86400)
    refresh_token_ttl_s: int = Field(default=30 * 86400, ge=300)
    # Origins allowed to call the API from a browser (CORS); empty = same origin only.
    cors_origins: list[str] = Field(default_factory=list)
    # Reverse proxies (addresses or networks) whose X-Forwarded-For/-Proto are believed.
    trusted_proxies: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    request_timeout_s: float = Field(default=30.0, gt=0)
    # Database limits per connection, seconds, 0 = none (docs/operations.md): how long one
    # statement may run and how long it may wait for a lock (PostgreSQL; SQLite queues its
    # one writer up to the statement limit). Keep them under request_timeout_s. Migrations
    # run with db_migration_timeout_s for both.
    db_statement_timeout_s: float = Field(default=15.0, ge=0, le=86400)
    db_lock_timeout_s: float = Field(default=5.0, ge=0, le=86400)
    db_migration_timeout_s: float = Field(default=600.0, ge=0, le=86400)
    # SIGTERM: /readyz answers 503 for shutdown_announce_s while requests are still served
    # (so a balancer stops sending), then the listener closes, in-flight requests and
    # turns finish, the outbox sends what it can; past shutdown_grace_s from the signal the
    # process exits anyway (unfinished messages stay pending and are redone on restart).
    shutdown_grace_s: float = Field(default=20.0, gt=0, le=3600)
    shutdown_announce_s: float = Field(default=1.0, ge=0, le=300)
    # Rate limits and lockouts are shared through Redis when set, in-process otherwise.
    redis_url: str | None = None
    # Requests per minute under /api/ per client IP and per signed-in user (the account
    # endpoints have their own, stricter limits).
    rate_limit_ip_per_minute: int = Field(default=1200, ge=1)
    rate_limit_user_per_minute: int = Field(default=600, ge=1)
    # Mails a business has hablo send to addresses it types in, per tenant and hour: a
    # compromised or malicious account must not turn hablo into a spam relay.
    invoice_mails_per_tenant_per_hour: int = Field(default=100, ge=1)
    invitation_mails_per_tenant_per_hour: int = Field(default=30, ge=1)
    # Web chat (/chat/{slug}), counted like the API's limits (Redis when configured):
    # messages per visitor and per IP, socket openings per IP, and visitors the tenant has
    # never seen per minute (each becomes a contact and uses the plan's messages).
    webchat_messages_per_visitor_per_minute: int = Field(default=20, ge=1)
    webchat_messages_per_ip_per_minute: int = Field(default=300, ge=1)
    webchat_connections_per_ip_per_minute: int = Field(default=120, ge=1)
    webchat_new_visitors_per_minute: int = Field(default=20, ge=1)
    # Namespace of every Redis key hablo writes (several deployments may share one Redis).
    redis_prefix: str = Field(default="hablo:", min_length=1, max_length=64)
    # Outgoing e-mail (password resets, login codes, alerts). Without smtp_host, mails are
    # written as .eml files under state_dir/mail so the demo works offline.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    mail_from: str = "hablo <no-reply@localhost>"
    # Base URL people reach this server at (links in e-mails).
    public_url: str = "http://127.0.0.1:8080"

    nlu_threshold: float = Field(default=0.45, ge=0, le=1)
    # A tenant whose NLU model is not trained yet is answered with the shipped model while
    # its own trains on a background thread. False: its first turn waits for the training
    # (tests and tools that need the exact model from the first message).
    nlu_train_in_background: bool = True
    # How often the booking reminder job looks for reminders that are due.
    reminder_interval_s: float = Field(default=60.0, gt=0)
    # Staff notification e-mails: how often the job sends what is due, and at most how
    # many one tenant sends per hour (over it they are skipped; the console still shows them).
    notification_mail_interval_s: float = Field(default=5.0, gt=0)
    notification_mails_per_tenant_per_hour: int = Field(default=60, ge=1)
    # How often handed-off conversations nobody answered are given back to the bot.
    handoff_timeout_interval_s: float = Field(default=30.0, gt=0)
    # Retention (docs/operations.md "Backups and retention"): how often the job runs, how
    # long the audit log and the log tables (processed inbox events, staff notifications
    # and their mails, LLM calls) are kept, when an upload no message refers to goes, and
    # how many rows one transaction deletes. A tenant's messages: its own setting.
    retention_interval_s: float = Field(default=3600.0, gt=0)
    audit_retention_days: int = Field(default=90, ge=1)
    log_retention_days: int = Field(default=90, ge=1)
    orphan_media_hours: float = Field(default=24.0, ge=1)
    retention_batch: int = Field(default=500, ge=10, le=10_000)
    # Stripe: the API base (tests point it at a fake on 127.0.0.1) and the signing secret
    # of the platform-level webhook endpoint (tenants' own endpoints use their own secret).
    stripe_api_base: str = "https://api.stripe.com"
    stripe_webhook_secret: str | None = Field(default=None, repr=False)
    # Per attempt (one retry): Stripe is called inside a chat turn's DB transaction.
    stripe_timeout_s: float = Field(default=10.0, gt=0)
    # MercadoPago's API base (tests point it at a fake on 127.0.0.1); tenants' credentials
    # are in their settings, set through PUT /api/payments/mercadopago-keys.
    mercadopago_api_base: str = "https://api.mercadopago.com"
    # Provider base URLs are platform settings, never tenant settings (a tenant pointing
    # them at our own network would receive its token there: SSRF). Tests use fakes.
    whatsapp_cloud_api_base: str = "https://graph.facebook.com/v21.0"
    twilio_api_base: str = "https://api.twilio.com"
    whatsapp_web_url: str = "https://web.whatsapp.com"
    # URLs and hosts a tenant may set (media links, mail servers) must resolve to public
    # addresses; True lifts that for development and tests (fakes on 127.0.0.1).
    allow_private_urls: bool = False
    # Remote skills (a tenant's skill at its own URL, called over signed HTTP): True lets
    # them live at private/loopback addresses and over plain http (development, tests).
    remote_skills_allow_private: bool = False
    # Deadline of one call (also capped at 80% of the tenant's skill_time_budget_s), and
    # the circuit breaker: after this many failures in a row, skip it for the cool-down.
    remote_skill_timeout_s: float = Field(default=4.0, gt=0, le=60)
    remote_skill_breaker_failures: int = Field(default=3, ge=1, le=100)
    remote_skill_breaker_cooldown_s: float = Field(default=30.0, ge=0, le=3600)
    # Per tenant: remote skills registered, and their training examples in all (each
    # one is trained into the tenant's classifier, in every process).
    remote_skills_per_tenant: int = Field(default=10, ge=1, le=1000)
    remote_skill_examples_per_tenant: int = Field(default=2000, ge=1, le=100_000)
    # WhatsApp Cloud API: an optional platform-level verify token for the GET handshake
    # of /webhooks/whatsapp (otherwise any enabled account's config.verify_token matches).
    whatsapp_verify_token: str | None = Field(default=None, repr=False)
    # /metrics: with a token, scrapers send `Authorization: Bearer <token>`; without one,
    # only private and loopback addresses may read it.
    metrics_token: str | None = Field(default=None, repr=False)
    # WhatsApp Web: Debian's Chromium (Playwright's own download is not used); profiles live
    # in state_dir/whatsapp-web/<tenant>. Replies are paced a random min..max seconds apart.
    whatsapp_web_chromium: Path = Path("/usr/bin/chromium")
    whatsapp_web_headless: bool = True
    whatsapp_web_min_gap_s: float = Field(default=1.0, ge=0)
    whatsapp_web_max_gap_s: float = Field(default=3.0, ge=0)
    whatsapp_web_backoff_max_s: float = Field(default=60.0, gt=0)
    # A page neither showing a QR nor connected for this long is "broken" (alerted, stopped).
    whatsapp_web_ready_timeout_s: float = Field(default=180.0, gt=0)
    # Not getting the number banned: before each message the chat shows "typing..." for
    # a pause of per_char x its length, kept within min..max; each linked number sends at
    # most per_minute (later ones wait) and per_day (later ones are refused) messages;
    # one browser per tenant and at most max_browsers in this process.
    whatsapp_web_typing_s_per_char: float = Field(default=0.03, ge=0)
    whatsapp_web_typing_min_s: float = Field(default=1.0, ge=0)
    whatsapp_web_typing_max_s: float = Field(default=4.0, ge=0)
    whatsapp_web_sends_per_minute: int = Field(default=10, ge=1)
    whatsapp_web_sends_per_day: int = Field(default=500, ge=1)
    whatsapp_web_max_browsers: int = Field(default=10, ge=1)
    # E-mail channel: the built-in SMTP receiver for the tenants' mailboxes (not a relay:
    # only enabled e-mail accounts are accepted), its size limit, and how often IMAP
    # mailboxes (accounts with config.imap_host) are polled.
    email_smtp_host: str = "127.0.0.1"
    email_smtp_port: int = Field(default=2525, ge=1, le=65535)
    email_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    email_imap_poll_s: float = Field(default=60.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a SQLAlchemy URL for sqlite or postgresql")
        return value

    @field_validator("secret_keys")
    @classmethod
    def _valid_secret_keys(cls, value: list[str]) -> list[str]:
        for spec in value:
            parse_key_spec(spec)  # KeyRingError is a ValueError that never echoes the key
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item.strip(), strict=False)  # ValueError names the bad one
        return value

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: list[str]) -> list[str]:
        known = {
            "console",
            "webchat",
            "whatsapp_cloud",
            "whatsapp_web",
            "twilio_sms",
            "twilio_whatsapp",
            "email",
        }
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown channel(s) {', '.join(unknown)}; known: {sorted(known)}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings() merges file, environment and flags itself (so a flag can
        # override a bad env var, and every error names its key): validate what it passes.
        return (init_settings,)

    @property
    def dialect(self) -> str:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"

    @property
    def pool_size(self) -> int:
        """Pooled database connections (docs/scaling.md, "Sizing"): db_pool_size when set,
        else turn_concurrency + RESERVED_CONNECTIONS."""
        return self.db_pool_size or self.turn_concurrency + RESERVED_CONNECTIONS

    @property
    def actor_thread_count(self) -> int:
        """Threads of the actor pool: actor_threads when set, else 2 x turn_concurrency.
        As many as the slots cost 5-10 % less CPU a message when saturated, but the SIGTERM
        drain test then answered some customers twice (docs/scaling.md): not the default
        until that is understood."""
        return self.actor_threads or 2 * self.turn_concurrency

    # LLM mode: process-wide defaults; each tenant's own config is tenants.settings["llm"].
    llm_default_model: str = "gpt-4o-mini"
    llm_default_base_url: str = "https://api.openai.com/v1"
    # One provider request, and the whole LLM part of a turn (retry included): past the
    # deadline the turn is answered by the local NLU.
    llm_timeout_s: float = Field(default=4.0, gt=0, le=120)
    llm_turn_deadline_s: float = Field(default=8.0, gt=0, le=120)
    # Circuit breaker per (tenant, base URL): opens after this many failed calls in a row,
    # lets one trial call through after the cool-down.
    llm_breaker_failures: int = Field(default=3, ge=1, le=100)
    llm_breaker_cooldown_s: float = Field(default=60.0, gt=0)
    # Conversation history sent to the model, trimmed to this many tokens.
    llm_history_tokens: int = Field(default=1500, ge=0, le=100_000)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path}: not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: invalid TOML ({exc})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: cannot be read ({exc})") from exc
    # Accept either a flat file or a [hablo] table.
    section = data.get("hablo", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [hablo] must be a table")
    return section


def _env_values() -> dict[str, Any]:
    """HABLO_* variables (any case) as raw values; list settings are JSON in the env."""
    env = {name.upper(): value for name, value in os.environ.items()}
    values: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        raw = env.get(f"HABLO_{name.upper()}")
        if raw is None:
            continue
        if field.annotation == list[str]:
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"config key '{name}' (HABLO_{name.upper()}): must be a JSON list, "
                    f'e.g. \'["console", "webchat"]\' (got {raw!r})'
                ) from exc
        values[name] = raw
    return values


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build settings from (lowest first) defaults, the TOML file, the environment, then
    explicit overrides (command-line flags). Validation runs once, on the merged values.

    Raises ConfigError with one line that names the offending key.
    """
    values: dict[str, Any] = {}
    path = config_file or os.environ.get(CONFIG_FILE_ENV)
    if path:
        values.update(_read_toml(Path(path)))
    values.update(_env_values())
    values.update(overrides)
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from exc


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"]) or "settings"
    if err["type"] == "extra_forbidden":
        return f"config key '{key}' is not a known setting"
    value = err.get("input")
    shown = f" (got {value!r})" if isinstance(value, str | int | float) else ""
    return f"config key '{key}' (env HABLO_{key.upper()}): {err['msg']}{shown}"
