"""What every response carries and what every request is held to: security headers, the
CORS allow-list, body size limits, a request deadline, the documents at /openapi.json
and /docs."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from hablo.api.endpoints import DEADLINE, PRINCIPAL_KEY, ApiRoutes, Call, _aiohttp_handler
from hablo.api.problems import ApiError
from hablo.db.enums import Role
from hablo.security.principal import Principal
from tests.api.support import Api, Client, live_api


@pytest.fixture
def strict_api(db_url: str) -> Iterator[Api]:
    """A server with a small body limit, a short deadline and one allowed origin."""
    with live_api(
        db_url,
        max_body_bytes=2048,
        request_timeout_s=0.5,
        cors_origins=["https://console.example.com"],
    ) as running:
        yield running


def test_security_headers_on_api_pages_and_errors(api: Api) -> None:
    for response in (
        api.as_role(Role.AGENT).get("/api/services"),
        api.anonymous().get("/api/services"),
        api.anonymous().get("/docs"),
        api.anonymous().get("/api/nothing-here"),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert api.as_role(Role.AGENT).get("/api/services").headers["Cache-Control"] == "no-store"
    missing = api.anonymous().get("/api/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_openapi_document_and_offline_docs(api: Api) -> None:
    doc = api.anonymous().get("/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    list_services = doc["paths"]["/api/services"]["get"]
    assert list_services["security"] == [{"bearerAuth": []}]
    assert {"401", "403", "422", "200"} <= set(list_services["responses"])
    ref = list_services["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.split("/")[-1] in doc["components"]["schemas"]
    page = api.anonymous().get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    # Offline: the page loads nothing from another host.
    assert "http://" not in page.text.replace("http://www.w3.org", "")
    assert "https://" not in page.text


def test_body_size_limit(strict_api: Api) -> None:
    owner = strict_api.as_role(Role.OWNER)
    big = {"name": "x" * 100, "price_minor": 1, "duration_minutes": 10, "description": "y" * 4000}
    response = owner.post("/api/services", json=big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_entity_too_large"
    assert owner.get("/api/services").json()["total"] == 5


def test_cors_allow_list(strict_api: Api) -> None:
    anonymous = strict_api.anonymous()
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = anonymous.request(
        "OPTIONS", "/api/services", headers={"Origin": "https://console.example.com", **preflight}
    )
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://console.example.com"
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    refused = anonymous.request(
        "OPTIONS", "/api/services", headers={"Origin": "https://evil.example", **preflight}
    )
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    agent = strict_api.as_role(Role.AGENT)
    plain = agent.get("/api/services", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in plain.headers


def test_a_slow_handler_gets_503_not_a_hang() -> None:
    slow = ApiRoutes("test")

    @slow.get("/api/slow", "services:read")
    async def sleepy(call: Call[None, None]) -> None:
        await asyncio.sleep(5)

    app = web.Application()
    app[DEADLINE] = 0.2
    handler = _aiohttp_handler(slow.endpoints[0])

    async def go() -> None:
        request = make_mocked_request("GET", "/api/slow", app=app)
        request[PRINCIPAL_KEY] = Principal(uuid.uuid4(), uuid.uuid4(), Role.OWNER)
        began = time.monotonic()
        with pytest.raises(ApiError) as caught:
            await handler(request)
        assert caught.value.status == 503 and caught.value.code == "timeout"
        assert time.monotonic() - began < 4

    asyncio.run(go())


def test_unknown_query_parameters_and_bad_ids(api: Api) -> None:
    agent: Client = api.as_role(Role.AGENT)
    typo = agent.get("/api/services", params={"sortt": "name"})
    assert typo.status_code == 422
    assert typo.json()["error"]["details"][0]["loc"] == ["query", "sortt"]
    assert agent.get("/api/services/not-a-uuid").status_code == 404


def test_an_overlong_url_gets_a_json_414(api: Api) -> None:
    agent = api.as_role(Role.AGENT)
    response = agent.get("/api/conversations", params={"status": "open", "q": "x" * 12_000})
    assert response.status_code == 414
    assert response.json()["error"]["code"] == "uri_too_long"
    # Just under the limit is an ordinary request (refused on its merits, not its length).
    assert agent.get("/api/services", params={"q": "x" * 100}).status_code == 200
