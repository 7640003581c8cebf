"""The Content Security Policy: no 'unsafe-inline'; the pages hablo serves (API docs, web
chat) run their inline scripts and styles through a nonce made for each response."""

from __future__ import annotations

import re

import requests

from hablo.bootstrap import Runtime
from tests.e2e.server import serve

_NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]{16,})'")
_INLINE_TAG = re.compile(r"<(script|style)\b[^>]*>", re.IGNORECASE)


def _page_nonce(response: requests.Response) -> str:
    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    nonces = {
        directive.split()[0]: _NONCE.findall(directive)
        for directive in (d.strip() for d in policy.split(";"))
        if directive
    }
    [script_nonce] = nonces["script-src"]
    assert nonces["style-src"] == [script_nonce]
    return script_nonce


def test_pages_run_their_inline_code_by_nonce_only(runtime: Runtime) -> None:
    with serve(runtime) as server:
        for path in ("/docs", "/chat/demo"):
            first = requests.get(server.url(path), timeout=30)
            second = requests.get(server.url(path), timeout=30)
            assert first.status_code == 200, first.text
            nonce = _page_nonce(first)
            assert _page_nonce(second) != nonce  # a new one for every response
            tags = _INLINE_TAG.findall(first.text)
            assert {"script", "style"} <= {t.lower() for t in tags}, path
            for tag in _INLINE_TAG.finditer(first.text):
                assert f'nonce="{nonce}"' in tag.group(0), (path, tag.group(0))
            # No inline event handlers or style attributes: a nonce does not cover them.
            assert not re.search(r"\son[a-z]+=|\sstyle=", first.text, re.IGNORECASE), path

        # JSON answers carry no nonce at all: nothing inline may run there.
        answer = requests.get(server.url("/openapi.json"), timeout=30)
        policy = answer.headers["Content-Security-Policy"]
        assert "nonce-" not in policy and "unsafe-inline" not in policy
        assert "script-src 'self';" in policy
