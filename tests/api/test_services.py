"""Services over the API: CRUD, validation, concurrency checks, roles."""

from __future__ import annotations

from hablo.db.enums import Role
from tests.api.support import Api, ConsoleCustomer


def test_list_services_of_the_demo_tenant(api: Api) -> None:
    client = api.as_role(Role.AGENT)
    response = client.get("/api/services", params={"sort": "-price", "per_page": 2})
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 5 and page["per_page"] == 2 and len(page["items"]) == 2
    assert [s["name"] for s in page["items"]] == ["Coloración", "Manicura"]
    assert page["items"][0]["price_minor"] == 2_500_000


def test_create_edit_deactivate_delete(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    created = owner.post(
        "/api/services",
        json={"name": "Peinado", "price_minor": 600_000, "duration_minutes": 40},
    )
    assert created.status_code == 201, created.text
    service = created.json()
    etag = created.headers["ETag"]
    path = f"/api/services/{service['id']}"

    edited = owner.put(path, json={"price_minor": 650_000}, headers={"If-Match": etag})
    assert edited.status_code == 200 and edited.json()["price_minor"] == 650_000
    # A second admin still holding the old version is refused, not silently overwritten.
    stale = owner.put(path, json={"price_minor": 1}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "precondition_failed"
    assert owner.get(path).json()["price_minor"] == 650_000

    off = owner.put(f"{path}/status", json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    listed = owner.get("/api/services", params={"active": "false"}).json()
    assert [s["name"] for s in listed["items"]] == ["Peinado"]

    assert owner.delete(path).status_code == 204
    assert owner.get(path).status_code == 404


def test_bad_input_gets_a_clear_error_and_writes_nothing(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    bad = owner.post("/api/services", json={"name": "", "price_minor": -5, "duration_minutes": 30})
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "validation_error"
    assert {tuple(d["loc"]) for d in error["details"]} == {
        ("body", "name"),
        ("body", "price_minor"),
    }
    unknown = owner.post(
        "/api/services", json={"name": "X", "price_minor": 1, "duration_minutes": 1, "prise": 3}
    )
    assert unknown.status_code == 422
    not_json = owner.post("/api/services", data="{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"
    duplicate = owner.post(
        "/api/services", json={"name": "Manicura", "price_minor": 1, "duration_minutes": 10}
    )
    assert duplicate.status_code == 409
    assert owner.get("/api/services").json()["total"] == 5


def test_roles_and_tokens(api: Api) -> None:
    agent = api.as_role(Role.AGENT)
    refused = agent.post(
        "/api/services", json={"name": "Peinado", "price_minor": 1, "duration_minutes": 10}
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    anonymous = api.anonymous().get("/api/services")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    forged = api.anonymous()
    forged.http.headers["Authorization"] = "Bearer not.a.jwt"
    assert forged.get("/api/services").status_code == 401


def test_another_tenants_service_is_not_found(api: Api) -> None:
    other = api.as_role(Role.OWNER, tenant="other")
    theirs = other.get("/api/services").json()["items"][0]
    mine = api.as_role(Role.OWNER)
    for response in (
        mine.get(f"/api/services/{theirs['id']}"),
        mine.put(f"/api/services/{theirs['id']}", json={"price_minor": 1}),
        mine.delete(f"/api/services/{theirs['id']}"),
    ):
        assert response.status_code == 404
    assert other.get(f"/api/services/{theirs['id']}").json()["price_minor"] == theirs["price_minor"]


def test_the_running_bot_quotes_the_new_price(api: Api) -> None:
    ask = ConsoleCustomer(api, "+5491155550078").ask

    # The first question starts the tenant's actor, which caches the catalogue.
    assert "$8.000" in ask("¿cuánto sale el corte de pelo?")
    owner = api.as_role(Role.OWNER)
    service = next(
        s for s in owner.get("/api/services").json()["items"] if s["name"] == "Corte de pelo"
    )
    assert owner.put(f"/api/services/{service['id']}", json={"price_minor": 950_000}).ok
    assert "$9.500" in ask("¿cuánto sale el corte de pelo?")


def test_translated_names_are_validated_and_used_in_english_replies(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    created = owner.post(
        "/api/services",
        json={
            "name": "Peinado de fiesta",
            "price_minor": 1_200_000,
            "duration_minutes": 60,
            "names": {"en": "Party hairdo"},
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["names"] == {"en": "Party hairdo"}
    bad = owner.put(
        f"/api/services/{created.json()['id']}", json={"names": {"English": "x", "pt": ""}}
    )
    assert bad.status_code == 422
    assert {tuple(d["loc"])[:2] for d in bad.json()["error"]["details"]} == {("body", "names")}
    assert owner.get(f"/api/services/{created.json()['id']}").json()["names"] == {
        "en": "Party hairdo"
    }

    ask = ConsoleCustomer(api, "+5491155550079").ask
    english = ask("how much is a party hairdo?")
    assert "Party hairdo" in english and "Peinado" not in english
    # The demo salon ships English names: an English price list uses them.
    listed = ask("what are your prices?")
    assert "Haircut" in listed and "Beard trim" in listed and "Corte de pelo" not in listed
    assert "Peinado de fiesta" in ask("¿cuánto sale el peinado de fiesta?")
