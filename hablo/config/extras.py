"""Optional parts of hablo that need an extra (`pip install 'hablo[NAME]'`).

A module that uses an optional library imports it at module level inside
``try/except ImportError`` and, when the part is used without it, raises
``MissingExtra``: a configuration error whose one line names the extra to install.
"""

from __future__ import annotations

from hablo.config.settings import ConfigError


class MissingExtra(ConfigError):
    """An optional part was switched on but its extra is not installed."""

    def __init__(self, part: str, extra: str) -> None:
        super().__init__(f"{part} needs the [{extra}] extra: pip install 'hablo[{extra}]'")
        self.extra = extra
