"""/api/skills with a remote skill, over real HTTP against a live server and the real
`hablo skill serve`: registration fetches and validates the manifest and seals the
secret; the listing shows it; a config its own model refuses is a 422 naming the field;
SSRF and clashes are refused with nothing written; DELETE removes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from hablo.db.enums import Role
from hablo.db.models import AuditLog, RemoteSkill
from tests.api.support import Api, live_api
from tests.remote.conftest import SkillServer


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    with live_api(db_url, remote_skills_allow_private=True) as running:
        yield running


def _rows(api: Api) -> list[RemoteSkill]:
    with api.runtime.db.transaction() as session:
        rows = session.scalars(select(RemoteSkill)).all()
        session.expunge_all()
        return list(rows)


def test_register_list_configure_and_remove(api: Api, skill_server: SkillServer) -> None:
    owner = api.as_role(Role.OWNER)
    created = owner.post(
        "/api/skills/remote", json={"url": skill_server.url, "secret": skill_server.secret}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "points" and body["remote"] and body["enabled"]
    assert body["intents"] == ["points_balance", "points_redeem"]
    assert body["config_schema"]["properties"]["points_per_booking"]["type"] == "integer"
    assert body["secret"] is None  # sent by the caller: never echoed
    (row,) = _rows(api)
    assert skill_server.secret not in row.secret_sealed  # sealed at rest

    listed = {s["name"]: s for s in owner.get("/api/skills").json()["items"]}
    assert listed["points"]["source"] == skill_server.url and listed["points"]["remote"]
    assert not listed["pricing"]["remote"]

    refused = owner.put("/api/skills/points", json={"config": {"points_per_booking": -5}})
    assert refused.status_code == 422, refused.text
    details = refused.json()["error"]["details"]
    assert details and details[0]["loc"] == ["body", "config", "points_per_booking"], refused.text
    changed = owner.put(
        "/api/skills/points", json={"enabled": False, "config": {"points_per_booking": 5}}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["config"] == {"points_per_booking": 5} and not changed.json()["enabled"]

    assert owner.delete("/api/skills/remote/points").status_code == 204
    assert owner.delete("/api/skills/remote/points").status_code == 404
    assert _rows(api) == []
    with api.runtime.db.transaction() as session:
        audited = session.scalars(
            select(AuditLog.action).where(AuditLog.entity == "remote_skill")
        ).all()
    assert sorted(audited) == ["create", "delete", "update"]


def test_a_generated_secret_is_shown_once_and_clashes_are_refused(
    api: Api, skill_server: SkillServer
) -> None:
    owner = api.as_role(Role.OWNER)
    made = owner.post("/api/skills/remote", json={"url": skill_server.url, "name": "loyalty"})
    assert made.status_code == 201 and len(made.json()["secret"]) >= 32
    assert "secret" not in str(owner.get("/api/skills").json())
    again = owner.post("/api/skills/remote", json={"url": skill_server.url, "name": "loyalty"})
    assert again.status_code == 409 and "already exists" in again.json()["error"]["message"]
    same_intents = owner.post("/api/skills/remote", json={"url": skill_server.url, "name": "pts"})
    assert same_intents.status_code == 409 and "points_balance" in same_intents.text
    builtin = owner.post("/api/skills/remote", json={"url": skill_server.url, "name": "pricing"})
    assert builtin.status_code == 409
    agent = api.as_role(Role.AGENT).post("/api/skills/remote", json={"url": skill_server.url})
    assert agent.status_code == 403
    assert [r.name for r in _rows(api)] == ["loyalty"]


def test_ssrf_is_refused_without_the_platform_setting(
    db_url: str, skill_server: SkillServer
) -> None:
    with live_api(db_url) as api:
        owner = api.as_role(Role.OWNER)
        for url in (skill_server.url, "https://127.0.0.1:9/", "https://169.254.169.254"):
            refused = owner.post("/api/skills/remote", json={"url": url})
            assert refused.status_code == 422, refused.text
            assert refused.json()["error"]["code"] == "unsafe_url"
        bad = owner.post("/api/skills/remote", json={"url": skill_server.url, "secret": "short"})
        assert bad.status_code == 422
        assert _rows(api) == []


def test_another_business_cannot_see_or_touch_it(api: Api, skill_server: SkillServer) -> None:
    owner = api.as_role(Role.OWNER)
    created = owner.post(
        "/api/skills/remote", json={"url": skill_server.url, "secret": skill_server.secret}
    )
    assert created.status_code == 201
    other = api.as_role(Role.OWNER, tenant="other")
    assert all(s["name"] != "points" for s in other.get("/api/skills").json()["items"])
    assert other.put("/api/skills/points", json={"enabled": False}).status_code == 404
    assert other.delete("/api/skills/remote/points").status_code == 404
    (row,) = _rows(api)
    assert row.enabled and row.tenant_id == api.tenant_id("demo")


def test_a_business_has_a_cap_on_remote_skills_and_their_examples(
    db_url: str, skill_server: SkillServer
) -> None:
    body = {"url": skill_server.url, "secret": skill_server.secret}
    with live_api(db_url, remote_skills_allow_private=True, remote_skills_per_tenant=1) as api:
        owner = api.as_role(Role.OWNER)
        assert owner.post("/api/skills/remote", json=body).status_code == 201
        second = owner.post("/api/skills/remote", json={**body, "name": "points_two"})
        assert second.status_code == 409, second.text
        assert "1 remote skills, the most allowed" in second.json()["error"]["message"]
        assert [r.name for r in _rows(api)] == ["points"]
    with live_api(
        db_url, remote_skills_allow_private=True, remote_skill_examples_per_tenant=2
    ) as api:
        more = {**body, "name": "points_other"}
        refused = api.as_role(Role.OWNER).post("/api/skills/remote", json=more)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "too_many_examples"
        assert [r.name for r in _rows(api)] == ["points"]
