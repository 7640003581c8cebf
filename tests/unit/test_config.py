"""Settings: defaults, HABLO_* environment, TOML files, precedence, one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hablo.config import ConfigError, Settings, load_settings
from hablo.config.settings import CONFIG_FILE_ENV


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No HABLO_* variable from the outer environment (CI sets some) leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("HABLO_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str, name: str = "hablo.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_one_line_naming(exc: ConfigError, *needles: str) -> None:
    message = str(exc)
    assert message, "empty config error"
    assert "\n" not in message and "\r" not in message, f"multi-line: {message!r}"
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"


# -- sources and precedence --------------------------------------------------------------------


def test_defaults_need_no_environment_and_no_file() -> None:
    settings = load_settings()
    assert isinstance(settings, Settings)
    assert settings.database_url == "sqlite:///hablo.db"
    assert settings.dialect == "sqlite"
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.channels == ["console", "webchat"]
    assert settings.log_level == "INFO"
    assert settings.actor_max_live == 2000
    assert settings.nlu_threshold == pytest.approx(0.45)


def test_hablo_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HABLO_DATABASE_URL", "postgresql+psycopg://u@db:5432/hablo")
    monkeypatch.setenv("HABLO_PORT", "9090")
    monkeypatch.setenv("HABLO_HOST", "0.0.0.0")
    monkeypatch.setenv("HABLO_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("HABLO_CHANNELS", '["console"]')
    monkeypatch.setenv("HABLO_ACTOR_MAX_LIVE", "50")
    monkeypatch.setenv("HABLO_NLU_THRESHOLD", "0.6")
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://u@db:5432/hablo"
    assert settings.dialect == "postgresql"
    assert (settings.host, settings.port) == ("0.0.0.0", 9090)
    assert settings.log_level == "DEBUG"
    assert settings.channels == ["console"]
    assert settings.actor_max_live == 50
    assert settings.nlu_threshold == pytest.approx(0.6)


def test_unrelated_hablo_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    # CI exports HABLO_TEST_DATABASE_URL; it is not a setting and must not break loading.
    monkeypatch.setenv("HABLO_TEST_DATABASE_URL", "postgresql://x")
    assert load_settings().port == 8080


@pytest.mark.parametrize(
    "text",
    [
        'port = 9000\nlog_level = "WARNING"\nchannels = ["webchat"]\n',
        '[hablo]\nport = 9000\nlog_level = "WARNING"\nchannels = ["webchat"]\n',
    ],
    ids=["flat", "hablo-table"],
)
def test_toml_file_is_read(tmp_path: Path, text: str) -> None:
    settings = load_settings(write(tmp_path, text))
    assert settings.port == 9000
    assert settings.log_level == "WARNING"
    assert settings.channels == ["webchat"]
    assert settings.host == "127.0.0.1"  # untouched keys keep their defaults


def test_toml_file_from_hablo_config_file_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_FILE_ENV, str(write(tmp_path, "port = 9001\n")))
    assert load_settings().port == 9001


def test_explicit_path_beats_hablo_config_file_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_FILE_ENV, str(write(tmp_path, "port = 9001\n", "env.toml")))
    assert load_settings(write(tmp_path, "port = 9002\n", "arg.toml")).port == 9002


def test_environment_beats_file_and_file_fills_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[hablo]\nport = 9000\nhost = "10.0.0.1"\nlog_level = "ERROR"\n')
    monkeypatch.setenv("HABLO_PORT", "9100")
    settings = load_settings(path)
    assert settings.port == 9100  # env wins
    assert settings.host == "10.0.0.1"  # file value where env says nothing
    assert settings.log_level == "ERROR"


def test_explicit_overrides_beat_environment_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, 'port = 9000\nhost = "10.0.0.1"\n')
    monkeypatch.setenv("HABLO_PORT", "9100")
    monkeypatch.setenv("HABLO_HOST", "10.0.0.2")
    settings = load_settings(path, port=9200, host="10.0.0.3")
    assert (settings.host, settings.port) == ("10.0.0.3", 9200)
    # ... and without a file too.
    assert load_settings(port=9300).port == 9300


def test_overrides_are_validated_too() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(port=70000)
    assert_one_line_naming(info.value, "port")


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(Exception):  # noqa: B017 - pydantic's ValidationError on frozen models
        settings.port = 1  # type: ignore[misc]


# -- errors: one line naming the key -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "key"),
    [
        ("HABLO_PORT", "abc", "port"),
        ("HABLO_PORT", "70000", "port"),
        ("HABLO_ACTOR_MAX_LIVE", "0", "actor_max_live"),
        ("HABLO_DATABASE_URL", "mysql://x", "database_url"),
        ("HABLO_CHANNELS", '["fax"]', "channels"),
        ("HABLO_LOG_LEVEL", "LOUD", "log_level"),
        ("HABLO_NLU_THRESHOLD", "1.5", "nlu_threshold"),
        ("HABLO_ROUTER", "kafka", "router"),
    ],
)
def test_invalid_environment_value_is_one_line_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, key: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert_one_line_naming(info.value, f"'{key}'", name)


def test_invalid_environment_value_is_reported_even_with_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HABLO_ACTOR_MAX_LIVE", "0")
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "port = 9000\n"))
    assert_one_line_naming(info.value, "actor_max_live")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('port = "abc"\n', "port"),
        ("[hablo]\nactor_max_live = 0\n", "actor_max_live"),
        ('database_url = "mysql://x"\n', "database_url"),
        ('channels = ["fax"]\n', "channels"),
    ],
)
def test_invalid_file_value_is_one_line_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert_one_line_naming(info.value, f"'{key}'")


@pytest.mark.parametrize(
    "text", ["bogus = 1\n", "[hablo]\nport = 9000\nprot = 9001\n"], ids=["flat", "table"]
)
def test_unknown_key_in_file_is_one_line_naming_it(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    key = "bogus" if "bogus" in text else "prot"
    assert_one_line_naming(info.value, f"'{key}'", "not a known setting")


def test_missing_file_is_one_line_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_settings(missing)
    assert_one_line_naming(info.value, str(missing), "not found")


def test_missing_file_from_variable_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONFIG_FILE_ENV, str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert_one_line_naming(info.value, "nope.toml")


@pytest.mark.parametrize(
    "text",
    ["port = \n", "port = [\n", "[hablo\nport = 1\n", 'host = "a\nb"\n', "port = 1\nport = 2\n"],
)
def test_malformed_toml_is_one_line_naming_the_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert_one_line_naming(info.value, str(path), "invalid TOML")


def test_hablo_key_that_is_not_a_table(tmp_path: Path) -> None:
    path = write(tmp_path, "hablo = 3\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert_one_line_naming(info.value, str(path), "[hablo]")


# -- known bugs ---------------------------------------------------------------------------------


def test_non_json_list_in_environment_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HABLO_CHANNELS", "console,webchat")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert_one_line_naming(info.value, "channels")


def test_config_path_that_is_a_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    assert_one_line_naming(info.value, str(tmp_path))


def test_config_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('host = "peluquería"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert_one_line_naming(info.value, str(path))
