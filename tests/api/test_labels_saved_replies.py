"""Labels and saved replies through /api: the console's rules (clean, unique, audited,
tenant-isolated), the permission table (agents label, only settings writers change saved
replies), and the business's own message retention setting."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from hablo.db.enums import Role
from hablo.db.models import AuditLog, ConversationLabel, Label, Tenant
from tests.api.support import Api
from tests.api.test_conversations import Chats, chats, new_peer

__all__ = ["chats"]


def _audited(api: Api, entity: str) -> list[str]:
    with api.runtime.db.transaction() as session:
        return list(
            session.scalars(
                select(AuditLog.action)
                .where(AuditLog.entity == entity, AuditLog.tenant_id == api.tenant_id())
                .order_by(AuditLog.created_at)
            )
        )


def _labels_on(api: Api, conversation: uuid.UUID) -> list[str]:
    with api.runtime.db.transaction() as session:
        return list(
            session.scalars(
                select(Label.name)
                .join(ConversationLabel, ConversationLabel.label_id == Label.id)
                .where(ConversationLabel.conversation_id == conversation)
            )
        )


def test_labels_lifecycle_on_conversations(api: Api, chats: Chats) -> None:
    agent = api.as_role(Role.AGENT)
    created = agent.post("/api/labels", json={"name": "  Urgente\x07 "})
    assert created.status_code == 201, created.text
    label = created.json()
    assert label["name"] == "Urgente"
    assert agent.post("/api/labels", json={"name": "Urgente"}).status_code == 409
    assert agent.post("/api/labels", json={"name": "\x07"}).status_code == 422
    assert agent.post("/api/labels", json={"nombre": "x"}).status_code == 422

    renamed = agent.patch(f"/api/labels/{label['id']}", json={"name": "Muy urgente"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Muy urgente"
    assert [item["name"] for item in agent.get("/api/labels").json()["items"]] == ["Muy urgente"]

    conversation = chats.start(new_peer())
    on = f"/api/conversations/{conversation}/labels/{label['id']}"
    assert agent.put(on).status_code == 204
    assert agent.put(on).status_code == 204  # twice: still one label
    assert _labels_on(api, conversation) == ["Muy urgente"]
    assert agent.delete(on).status_code == 204
    assert _labels_on(api, conversation) == []

    assert agent.delete(f"/api/labels/{label['id']}").status_code == 204
    assert agent.delete(f"/api/labels/{label['id']}").status_code == 404
    assert agent.get("/api/labels").json()["items"] == []
    assert _audited(api, "label") == ["create", "update", "delete"]
    assert _audited(api, "conversation").count("label") == 1

    # Another business sees none of it and cannot touch it.
    theirs = api.as_role(Role.OWNER, "otro").post("/api/labels", json={"name": "Suyo"}).json()
    assert api.as_role(Role.OWNER).get("/api/labels").json()["items"] == []
    assert agent.patch(f"/api/labels/{theirs['id']}", json={"name": "Mío"}).status_code == 404
    assert agent.put(f"/api/conversations/{conversation}/labels/{theirs['id']}").status_code == 404


def test_saved_replies_read_by_agents_changed_by_settings_writers(api: Api) -> None:
    owner, agent = api.as_role(Role.OWNER), api.as_role(Role.AGENT)
    body = {"shortcut": "/Horarios", "text": "Abrimos de 9 a 18 hs.\x00"}
    assert owner.post("/api/saved-replies", json=body).status_code == 422  # NUL refused
    body["text"] = "Abrimos de 9 a 18 hs."
    assert agent.post("/api/saved-replies", json=body).status_code == 403
    created = owner.post("/api/saved-replies", json=body)
    assert created.status_code == 201, created.text
    reply = created.json()
    assert reply["shortcut"] == "horarios" and reply["text"] == "Abrimos de 9 a 18 hs."
    assert owner.post("/api/saved-replies", json=body).status_code == 409
    assert (
        owner.post("/api/saved-replies", json={"shortcut": "a b", "text": "x"}).status_code == 422
    )

    path = f"/api/saved-replies/{reply['id']}"
    assert owner.patch(path, json={}).status_code == 422
    changed = owner.patch(path, json={"text": "Abrimos de 10 a 19 hs."})
    assert changed.status_code == 200
    assert changed.json() | {"updated_at": None} == reply | {
        "text": "Abrimos de 10 a 19 hs.",
        "updated_at": None,
    }
    assert agent.patch(path, json={"text": "hackeado"}).status_code == 403
    assert [r["text"] for r in agent.get("/api/saved-replies").json()["items"]] == [
        "Abrimos de 10 a 19 hs."
    ]
    assert api.as_role(Role.OWNER, "otro").delete(path).status_code == 404
    assert owner.delete(path).status_code == 204
    assert agent.get("/api/saved-replies").json()["items"] == []
    assert _audited(api, "saved_reply") == ["create", "update", "delete"]


def test_message_retention_is_a_business_setting(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    assert owner.get("/api/settings").json()["message_retention_days"] is None
    assert owner.put("/api/settings", json={"message_retention_days": 0}).status_code == 422
    changed = owner.put("/api/settings", json={"message_retention_days": 365})
    assert changed.status_code == 200 and changed.json()["message_retention_days"] == 365
    with api.runtime.db.transaction() as session:
        stored = session.scalars(select(Tenant.settings).where(Tenant.slug == "demo")).one()
    assert stored["message_retention_days"] == 365
    cleared = owner.put("/api/settings", json={"message_retention_days": None})
    assert cleared.json()["message_retention_days"] is None
