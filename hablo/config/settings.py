"""Typed settings. Nothing here runs at import time: call `load_settings()`."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

CONFIG_FILE_ENV = "HABLO_CONFIG_FILE"


class ConfigError(Exception):
    """A configuration problem, phrased as one line naming the key."""


class Settings(BaseSettings):
    """Every knob of a hablo process. Defaults run the embedded demo with no config."""

    model_config = SettingsConfigDict(env_prefix="HABLO_", extra="forbid", frozen=True)

    database_url: str = "sqlite:///hablo.db"
    db_pool_size: int = Field(default=4, ge=1, le=200)
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    router: Literal["inprocess"] = "inprocess"
    nlu: Literal["local"] = "local"
    # Channels this process serves: "webchat" mounts /chat/{slug}; "console" allows `hablo chat`.
    channels: list[str] = Field(default_factory=lambda: ["console", "webchat"])

    # Conversation actors: passivated after idle time, at most this many alive.
    actor_idle_timeout_s: float = Field(default=600.0, gt=0)
    actor_max_live: int = Field(default=2000, ge=1, le=20000)
    # A turn that fails for infrastructure reasons is retried after this delay.
    turn_retry_delay_s: float = Field(default=1.0, gt=0)
    # Pending inbox rows older than this are redelivered by the recovery sweep.
    recovery_sweep_s: float = Field(default=30.0, gt=0)

    outbox_max_attempts: int = Field(default=8, ge=1, le=100)
    outbox_backoff_base_s: float = Field(default=1.0, gt=0)
    outbox_backoff_max_s: float = Field(default=300.0, gt=0)

    nlu_threshold: float = Field(default=0.45, ge=0, le=1)
    # How often the booking reminder job looks for reminders that are due.
    reminder_interval_s: float = Field(default=60.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a SQLAlchemy URL for sqlite or postgresql")
        return value

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: list[str]) -> list[str]:
        known = {"console", "webchat"}
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
