"""Readers for the deploy files (Dockerfile, docker-compose.yml, nginx.conf, systemd
units) and for the `hablo ...` command lines they name, shared by the deploy tests."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


# -- Dockerfile ---------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [value for kw, value in self.instructions if kw == keyword]


def dockerfile_stages(path: Path) -> list[Stage]:
    """Stages in order, each with its instructions (continuation lines joined, ARG
    defaults of the global scope substituted in FROM)."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, value = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and not stages and "=" in value:
            name, _, default = value.partition("=")
            args[name.strip()] = default.strip()
        if keyword == "FROM":
            base, _, name = re.sub(r"(?i)\s+as\s+", " AS ", value).partition(" AS ")
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), base)
            stages.append(Stage(name.strip() or str(len(stages)), base.strip()))
        elif stages:
            stages[-1].instructions.append((keyword, value.strip()))
    return stages


def effective_user(stages: list[Stage], name: str) -> str:
    """The USER a stage runs as, following FROM <earlier stage> back (root if none)."""
    by_name = {s.name: s for s in stages}
    stage: Stage | None = by_name[name]
    while stage is not None:
        users = stage.all("USER")
        if users:
            return users[-1]
        stage = by_name.get(stage.base)
    return "root"


# -- nginx --------------------------------------------------------------------------------


@dataclass
class Block:
    name: str
    args: list[str]
    directives: list[tuple[str, list[str]]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)

    def get(self, name: str) -> list[list[str]]:
        return [args for n, args in self.directives if n == name]

    def one(self, name: str) -> list[str] | None:
        found = self.get(name)
        return found[-1] if found else None

    def children(self, name: str) -> list[Block]:
        return [b for b in self.blocks if b.name == name]


_TOKEN = re.compile(r"#[^\n]*|'[^']*'|\"[^\"]*\"|[{};]|[^\s{};'\"#]+")


def parse_nginx(text: str) -> Block:
    """The conf as nested blocks: enough of nginx's grammar for our own file."""
    root = Block("main", [])
    stack = [root]
    words: list[str] = []
    for token in _TOKEN.findall(text):
        if token.startswith("#"):
            continue
        if token == ";":
            stack[-1].directives.append((words[0], words[1:]))
            words = []
        elif token == "{":
            block = Block(words[0], words[1:])
            stack[-1].blocks.append(block)
            stack.append(block)
            words = []
        elif token == "}":
            assert not words, f"unterminated directive {words}"
            stack.pop()
        else:
            words.append(token.strip("'\"") if token[0] in "'\"" else token)
    assert len(stack) == 1 and not words, "unbalanced braces"
    return root


def nginx_size(value: str) -> int:
    units = {"k": 1024, "m": 1024 * 1024, "g": 1024 * 1024 * 1024}
    last = value[-1].lower()
    return int(value[:-1]) * units[last] if last in units else int(value)


def nginx_seconds(args: list[str] | None) -> int:
    assert args, "not set"
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value = args[0]
    return int(value[:-1]) * units[value[-1]] if value[-1] in units else int(value)


def tls_server(conf: Block) -> Block:
    (http,) = conf.children("http")
    (server,) = [s for s in http.children("server") if any("ssl" in a for a in s.get("listen"))]
    return server


def locations(server: Block) -> dict[str, Block]:
    """Location blocks by their path (or regex), modifiers dropped."""
    return {b.args[-1]: b for b in server.children("location")}


# -- hablo command lines ------------------------------------------------------------------

# Fenced blocks read as commands (a diagram or a JSON sample is not).
SHELL_FENCES = {"sh", "bash", "shell", "console"}
_COMMENT = re.compile(r"\s#")
_SHELL_SEPARATOR = re.compile(r"\s(?:\|\||\||&&|;)\s")
_REDIRECT = re.compile(r"\s\d?>")
_COMMAND = re.compile(r"(?:^|[\s/\"'])hablo ([a-z][\w-]*(?: [^\s`]+)*)")


def command_lines(text: str) -> list[list[str]]:
    """`hablo ...` invocations in code spans, fenced blocks and command lines of a text:
    the argument lists after `hablo`, up to a shell operator or comment."""
    snippets = re.findall(r"`([^`\n]+)`", text)
    fence: str | None = None  # the language of the open fenced block
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else stripped[3:] or "text"
        elif fence in SHELL_FENCES or (fence is None and line.startswith(("ExecStart=", "    "))):
            snippets.append(line)
    found = []
    for snippet in snippets:
        snippet = _COMMENT.split(" " + snippet, maxsplit=1)[0]
        for segment in _SHELL_SEPARATOR.split(snippet):  # each command of a pipeline
            segment = _REDIRECT.split(segment, maxsplit=1)[0]
            for match in _COMMAND.finditer(segment):
                found.append(shlex.split(match.group(1)))
    return found


def exec_form(value: str) -> list[str]:
    """A Dockerfile CMD/ENTRYPOINT in exec (JSON) form."""
    parsed = json.loads(value)
    assert isinstance(parsed, list), value
    return [str(v) for v in parsed]
