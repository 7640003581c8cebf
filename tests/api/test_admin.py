"""The platform operations of super_admin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from hablo.db.enums import Role
from hablo.db.models import User
from tests.api.auth_helpers import PASSWORD, bearer, live_api, login_with_mailed_code, user_row
from tests.api.support import Api


def test_only_super_admin_sees_the_platform(api: Api) -> None:
    for role in (Role.OWNER, Role.ADMIN, Role.AGENT):
        assert api.as_role(role).get("/api/admin/tenants").status_code == 403
        assert api.as_role(role).get("/api/admin/usage").status_code == 403
    # super_admin belongs to no tenant: tenant operations are refused, not crashed.
    assert api.as_role(Role.SUPER_ADMIN).get("/api/tenants/me").status_code == 403


def test_list_tenants_change_plan_and_status(api: Api) -> None:
    api.tenant_id("other")
    root = api.as_role(Role.SUPER_ADMIN)
    listed = root.get("/api/admin/tenants", params={"sort": "name"})
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 2
    demo = next(t for t in page["items"] if t["slug"] == "demo")
    assert demo["plan"] == "professional" and demo["messages_this_month"]["limit"] == 1_000_000
    assert root.get("/api/admin/tenants", params={"q": "oth"}).json()["total"] == 1
    assert root.get("/api/admin/tenants", params={"plan": "free"}).json()["total"] == 0
    assert root.get("/api/admin/tenants", params={"at_limit": "true"}).json()["total"] == 0

    path = f"/api/admin/tenants/{demo['id']}"
    plan = root.put(f"{path}/plan", json={"plan": "free"})
    assert plan.status_code == 200 and plan.json()["contacts"]["limit"] == 500
    suspended = root.put(f"{path}/status", json={"status": "suspended"})
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    assert root.put(f"{path}/status", json={"status": "deleted"}).status_code == 422
    missing = "/api/admin/tenants/00000000-0000-0000-0000-000000000000/plan"
    assert root.put(missing, json={"plan": "free"}).status_code == 404
    assert root.get("/api/admin/tenants", params={"status": "suspended"}).json()["total"] == 1

    # The tenant's own log shows what the platform changed.
    log = api.as_role(Role.OWNER).get("/api/audit", params={"entity": "tenant"}).json()
    assert [e["action"] for e in log["items"]] == ["change_status", "change_plan"]
    assert log["items"][0]["changes"] == {"from": "active", "to": "suspended"}


def test_platform_usage(api: Api) -> None:
    api.tenant_id("other")
    usage = api.as_role(Role.SUPER_ADMIN).get("/api/admin/usage")
    assert usage.status_code == 200, usage.text
    body = usage.json()
    assert body["tenants"] == 2 and body["tenants_by_status"] == {"active": 2}
    assert body["users"] == 1 and body["live_conversation_actors"] == 0
    assert body["database_bytes"] is None or body["database_bytes"] > 0


def _admin_cli(db_url: str, *args: str, password: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("HABLO_")}
    environ["HABLO_DATABASE_URL"] = db_url
    script = Path(sys.executable).with_name("hablo")
    return subprocess.run(
        [str(script), "admin", "create", *args],
        input=password + "\n",
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_first_super_admin_is_made_with_the_cli_and_reaches_the_admin_api(
    db_url: str,
) -> None:
    with live_api(db_url) as (api, inbox):
        made = _admin_cli(db_url, "--email", "Root@Platform.test", password=PASSWORD)
        assert made.returncode == 0, made.stderr
        created = json.loads(made.stdout)
        assert created["email"] == "root@platform.test" and created["role"] == "super_admin"
        row = user_row(api, "root@platform.test")
        assert row.tenant_id is None and row.password_hash.startswith("$2b$12$")

        tokens = login_with_mailed_code(api, inbox, "root@platform.test")
        tenants = bearer(api, tokens["access_token"]).get("/api/admin/tenants")
        assert tenants.status_code == 200 and tenants.json()["total"] >= 1

        again = _admin_cli(db_url, "--email", "root@platform.test", password=PASSWORD)
        weak = _admin_cli(db_url, "--email", "other@platform.test", password="123")
        for refused in (again, weak):
            assert refused.returncode == 1
            assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "already exists" in again.stderr and "weak password" in weak.stderr
        with api.runtime.db.transaction() as session:
            admins = session.scalars(select(User).where(User.role == Role.SUPER_ADMIN)).all()
        assert [a.email for a in admins] == ["root@platform.test"]
