"""Regressions for the low findings of the attacker's probe: each answers the JSON error
shape and a 4xx, leaks nothing, and is the same on SQLite and PostgreSQL."""

from __future__ import annotations

import requests

from tests.api.support import Api

DEEP = "[" * 3000 + "]" * 3000


def post_raw(api: Api, path: str, body: str) -> requests.Response:
    return requests.post(
        api.base_url + path,
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def test_deeply_nested_json_is_a_400_not_a_500(api: Api) -> None:
    nested_object = '{"a":' * 100 + "1" + "}" * 100  # parses, but deeper than any request
    for path in ("/api/auth/login", "/api/auth/register"):
        for body in (DEEP, nested_object):
            answer = post_raw(api, path, body)
            assert answer.status_code == 400, (path, answer.text[:200])
            assert answer.json()["error"]["code"] == "invalid_json"
