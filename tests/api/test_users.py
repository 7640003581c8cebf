"""Users of a business: who may create, promote, deactivate and remove whom."""

from __future__ import annotations

import uuid
from email import message_from_string

from sqlalchemy import select

from hablo.db.enums import Role
from hablo.db.models import AuditLog, User
from hablo.notify.mailer import mail_folder
from hablo.security.passwords import verify_password
from tests.api.support import Api
from tests.e2e.server import wait_until

STRONG = "Tijeras-de-Oro-2026"


def _create(client, email: str, role: str, **extra: object):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/users", json={"email": email, "first_name": "Ana", "role": role, **extra}
    )


def test_owner_creates_users_admin_cannot_create_privileged_ones(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    made = _create(owner, "Ana@Salon.test", "admin", password=STRONG)
    assert made.status_code == 201, made.text
    assert made.json()["email"] == "ana@salon.test" and made.json()["invitation_sent"] is False
    with api.runtime.db.transaction() as session:
        stored = session.scalars(select(User).where(User.email == "ana@salon.test")).one()
        assert verify_password(STRONG, stored.password_hash)
        audit = session.scalars(select(AuditLog).where(AuditLog.entity == "user")).one()
        assert STRONG not in str(audit.changes)

    admin = api.as_role(Role.ADMIN)
    assert _create(admin, "b@salon.test", "owner", password=STRONG).status_code == 403
    assert _create(admin, "c@salon.test", "admin", password=STRONG).status_code == 403
    assert _create(admin, "d@salon.test", "agent", password=STRONG).status_code == 201
    assert _create(owner, "e@salon.test", "super_admin", password=STRONG).status_code == 422
    assert api.as_role(Role.AGENT).get("/api/users").status_code == 200
    assert _create(api.as_role(Role.AGENT), "f@salon.test", "agent").status_code == 403

    weak = _create(owner, "g@salon.test", "agent", password="1234567890")
    assert weak.status_code == 422
    assert weak.json()["error"]["details"][0]["loc"] == ["body", "password"]
    assert "1234567890" not in weak.text
    assert _create(owner, "ana@salon.test", "agent", password=STRONG).status_code == 409
    # A duplicate inside the business is said: its admins see their users anyway.
    assert _create(owner, "ana@salon.test", "agent").status_code == 409


def _mails_to(api: Api, email: str) -> list[str]:
    """Decoded bodies of the mails to that address (quoted-printable on disk)."""
    messages = [
        message_from_string(p.read_text()) for p in mail_folder(api.runtime.settings).glob("*.eml")
    ]
    return [str(m.get_payload(decode=True), "utf-8") for m in messages if m["To"] == email]


def test_an_email_held_in_another_business_answers_like_a_new_user(api: Api) -> None:
    """E-mails are unique platform-wide, but a 409 would tell any admin which addresses
    have hablo accounts elsewhere: the answer is an ordinary invitation's, nothing is
    created, and the holder gets a neutral notice."""
    owner = api.as_role(Role.OWNER)
    holder_email = _email_of(api, api.user(Role.OWNER, tenant="other")[0])
    fresh = f"fresh.{uuid.uuid4().hex[:8]}@salon.test"
    real = _create(owner, fresh, "agent")
    clash = _create(owner, holder_email, "agent")
    assert real.status_code == clash.status_code == 201, clash.text
    assert set(clash.json()) == set(real.json())
    assert clash.json()["invitation_sent"] is real.json()["invitation_sent"] is True
    assert clash.json()["email"] == holder_email and "ETag" in clash.headers
    other_tenant = api.tenant_id("other")
    with api.runtime.db.transaction() as session:
        holders = session.scalars(select(User).where(User.email == holder_email)).all()
        assert [u.tenant_id for u in holders] == [other_tenant]
        assert session.get(User, uuid.UUID(clash.json()["id"])) is None
    [notice] = _mails_to(api, holder_email)
    assert "ya tiene una cuenta de hablo" in notice and "No se cambió nada" in notice
    assert "token=" not in notice  # no way into the other business

    # With an initial password the answer is a created user's too; the notice still goes.
    made = _create(owner, f"p.{uuid.uuid4().hex[:8]}@salon.test", "agent", password=STRONG)
    again = _create(owner, holder_email, "agent", password=STRONG)
    assert made.status_code == again.status_code == 201
    assert again.json()["invitation_sent"] is made.json()["invitation_sent"] is False
    wait_until(lambda: len(_mails_to(api, holder_email)) == 2, timeout=30)


def _email_of(api: Api, user_id: object) -> str:
    with api.runtime.db.transaction() as session:
        return session.scalars(select(User.email).where(User.id == user_id)).one()


def test_invitation_mail_without_password(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    email = f"nuevo.{uuid.uuid4().hex[:8]}@salon.test"  # the mail folder is per session
    made = _create(owner, email, "agent")
    assert made.status_code == 201, made.text
    assert made.json()["invitation_sent"] is True
    folder = mail_folder(api.runtime.settings)
    mails = [p.read_text() for p in folder.glob("*.eml") if email in p.read_text()]
    assert len(mails) == 1 and "/app/accept-invitation#token=" in mails[0]
    assert "Peluquer" in mails[0]  # the tenant's name, in Spanish
    with api.runtime.db.transaction() as session:
        assert session.scalars(select(User.password_hash).where(User.email == email)).one() == "!"


def test_list_filters_and_get(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    api.as_role(Role.AGENT)
    _create(owner, "zoe@salon.test", "client", password=STRONG)
    everyone = owner.get("/api/users", params={"sort": "-email"}).json()
    assert everyone["total"] == 3
    assert everyone["items"][0]["email"] == "zoe@salon.test"
    agents = owner.get("/api/users", params={"role": "agent"}).json()
    assert [u["role"] for u in agents["items"]] == ["agent"]
    found = owner.get("/api/users", params={"q": "ZOE"}).json()
    assert found["total"] == 1
    user = owner.get(f"/api/users/{found['items'][0]['id']}")
    assert user.status_code == 200 and "password" not in user.text
    assert owner.get("/api/users", params={"role": "super_admin"}).status_code == 422
    other_id = api.user(Role.OWNER, tenant="other")[0]
    assert owner.get(f"/api/users/{other_id}").status_code == 404


def test_roles_status_and_the_last_owner(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    owner_id = api.user(Role.OWNER)[0]
    agent_id = api.user(Role.AGENT)[0]
    admin = api.as_role(Role.ADMIN)
    admin_id = api.user(Role.ADMIN)[0]

    # Only owners grant or revoke privileged roles; admins switch agents and clients.
    assert admin.put(f"/api/users/{agent_id}/role", json={"role": "admin"}).status_code == 403
    assert admin.put(f"/api/users/{agent_id}/role", json={"role": "client"}).status_code == 200
    assert admin.put(f"/api/users/{owner_id}", json={"status": "blocked"}).status_code == 403
    assert admin.put(f"/api/users/{admin_id}", json={"first_name": "Yo"}).status_code == 200
    assert admin.put(f"/api/users/{admin_id}", json={"status": "inactive"}).status_code == 409

    # The only owner can neither be demoted nor removed nor remove themselves.
    assert owner.put(f"/api/users/{owner_id}/role", json={"role": "admin"}).status_code == 409
    assert owner.delete(f"/api/users/{owner_id}").status_code == 409
    promoted = owner.put(f"/api/users/{admin_id}/role", json={"role": "owner"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
    # With a second owner, the first may step down.
    assert owner.put(f"/api/users/{owner_id}/role", json={"role": "admin"}).status_code == 200
    assert owner.put(f"/api/users/{admin_id}/role", json={"role": "super_admin"}).status_code == 422

    with api.runtime.db.transaction() as session:
        owners = session.scalars(
            select(User.id).where(User.role == Role.OWNER, User.tenant_id == api.tenant_id())
        ).all()
        assert owners == [admin_id]


def test_delete_rules(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    admin = api.as_role(Role.ADMIN)
    agent_id = api.user(Role.AGENT)[0]
    admin_id = api.user(Role.ADMIN)[0]
    owner_id = api.user(Role.OWNER)[0]
    assert admin.delete(f"/api/users/{admin_id}").status_code == 409
    assert admin.delete(f"/api/users/{owner_id}").status_code == 403
    etag = owner.get(f"/api/users/{agent_id}").headers["ETag"]
    owner.put(f"/api/users/{agent_id}", json={"last_name": "Pérez"})
    assert owner.delete(f"/api/users/{agent_id}", headers={"If-Match": etag}).status_code == 412
    assert admin.delete(f"/api/users/{agent_id}").status_code == 204
    assert owner.get(f"/api/users/{agent_id}").status_code == 404
    assert owner.delete(f"/api/users/{admin_id}").status_code == 204
    deleted = owner.get("/api/audit", params={"action": "delete", "entity": "user"}).json()
    assert deleted["total"] == 2
