"""JSON from the outside world, with a nesting limit.

Python's decoder recurses per level: a few thousand `[` raise RecursionError (a 500),
and anything that walks the result recursively (the NUL check, pydantic) can fail the
same way below that. No request of ours nests more than a handful of levels.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32


class InvalidJson(ValueError):
    """Not JSON, not UTF-8, or nested deeper than MAX_DEPTH."""


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth without recursion (a scalar is 0, [] is 1); stops past `limit`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        stack.extend((child, level) for child in children)
    return deepest


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise InvalidJson(f"JSON nested deeper than {max_depth} levels") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidJson("not valid JSON") from exc
    if depth_of(value, max_depth) > max_depth:
        raise InvalidJson(f"JSON nested deeper than {max_depth} levels")
    return value
