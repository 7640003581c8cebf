"""The permission table, walked: every route × every role.

A role the table allows is never refused for its role (it may still get 404 or 422:
the ids are random and the bodies empty); a role the table does not list gets 403
before anything is read or written.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from hablo.api.endpoints import Endpoint
from hablo.api.permissions import PERMISSIONS, markdown_table
from hablo.api.routes import all_routes
from hablo.db.enums import Role
from tests.api.support import Api, Client

README = Path(__file__).resolve().parents[2] / "README.md"


def declared_endpoints() -> list[Endpoint]:
    return [e for group in all_routes() for e in group.endpoints]


def fill_path(endpoint: Endpoint) -> str:
    path = endpoint.path
    for name in endpoint.path_params:
        kind = endpoint.path_types.get(name)
        # A name with its own path pattern (a skill's) gets a name, not an id.
        named = getattr(kind, "path_pattern", None) is not None
        value = "1" if kind is int else "no_such_skill" if named else str(uuid.uuid4())
        path = path.replace("{" + name + "}", value)
    return path


def call(client: Client, endpoint: Endpoint) -> tuple[int, dict[str, object]]:
    kwargs: dict[str, object] = {}
    if endpoint.body is not None:
        kwargs["json"] = {}
    elif endpoint.consumes:
        kwargs["data"] = b""
        kwargs["headers"] = {"Content-Type": endpoint.consumes}
    response = client.request(endpoint.method, fill_path(endpoint), **kwargs)
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    return response.status_code, payload if isinstance(payload, dict) else {}


def test_every_route_for_every_role(api: Api) -> None:
    clients = {role: api.as_role(role) for role in Role}
    checked = 0
    for endpoint in declared_endpoints():
        if endpoint.permission is None:
            continue
        allowed = PERMISSIONS[endpoint.permission]
        for role, client in clients.items():
            status, payload = call(client, endpoint)
            where = f"{endpoint.method} {endpoint.path} as {role.value}"
            refused = status == 403 and payload.get("error", {}).get("code") == "forbidden"  # type: ignore[union-attr]
            if role in allowed:
                assert status != 401 and not refused, f"{where}: refused ({status} {payload})"
                assert status < 500, f"{where}: server error {payload}"
            else:
                assert refused, f"{where}: expected 403 forbidden, got {status} {payload}"
            checked += 1
    assert checked >= len(Role) * 5


def test_anonymous_callers_get_401_on_every_protected_route(api: Api) -> None:
    anonymous = api.anonymous()
    for endpoint in declared_endpoints():
        if endpoint.permission is None:
            continue
        status, payload = call(anonymous, endpoint)
        assert status == 401, f"{endpoint.method} {endpoint.path}: {status} {payload}"


def test_readme_prints_the_permission_table() -> None:
    assert markdown_table() in README.read_text(encoding="utf-8"), (
        "README's permission table is out of date: paste `hablo api permissions`"
    )
