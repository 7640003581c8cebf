"""Settings: read from HABLO_* environment variables and an optional TOML file."""

from hablo.config.settings import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
