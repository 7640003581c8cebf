"""Regressions for the low findings of the attacker's probe: each answers the JSON error
shape and a 4xx, leaks nothing, and is the same on SQLite and PostgreSQL."""

from __future__ import annotations

import requests

from hablo.db.enums import Role
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


def test_reserved_slugs_cannot_be_registered(api: Api) -> None:
    for slug in ("api", "app", "admin", "static", "chat", "docs"):
        body = {
            "business_name": "Mine",
            "slug": slug,
            "email": f"owner-{slug}@example.com",
            "first_name": "Ana",
            "password": "Correct-Horse-Battery-9",
        }
        answer = api.anonymous().post("/api/auth/register", json=body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["details"][0]["loc"] == ["body", "slug"]


def test_service_synonyms_are_capped_in_count_and_length(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    base = {"name": "Corte XL", "price_minor": 1000, "duration_minutes": 30}
    too_long = owner.post("/api/services", json={**base, "synonyms": ["x" * 61]})
    too_many = owner.post("/api/services", json={**base, "synonyms": [f"s{i}" for i in range(21)]})
    for answer in (too_long, too_many):
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["details"][0]["loc"][:2] == ["body", "synonyms"]
    fine = owner.post("/api/services", json={**base, "synonyms": ["x" * 60] + ["y"] * 19})
    assert fine.status_code == 201, fine.text


def test_oversized_header_is_the_json_error_and_no_server_version(api: Api) -> None:
    answer = api.anonymous().get("/api/services", headers={"X-Big": "a" * 20_000})
    assert answer.status_code == 431
    assert answer.json()["error"]["code"] == "header_too_large"
    for response in (answer, api.anonymous().get("/healthz"), api.anonymous().get("/docs")):
        assert response.headers["Server"] == "hablo"
