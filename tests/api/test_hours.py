"""Business hours and holidays over the API: round trips, validation, roles, tenants, and
the running engine answering with the new hours."""

from __future__ import annotations

from sqlalchemy import select

from hablo.db.enums import Role
from hablo.db.models import AuditLog
from tests.api.support import Api, ConsoleCustomer


def _intervals(day: dict) -> list[tuple[str, str]]:
    return [(i["opens_at"], i["closes_at"]) for i in day["intervals"]]


def test_week_round_trip(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    week = owner.get("/api/hours")
    assert week.status_code == 200, week.text
    body = week.json()
    assert body["timezone"] == "America/Argentina/Buenos_Aires"
    assert [d["weekday"] for d in body["days"]] == list(range(7))
    assert _intervals(body["days"][5]) == [("09:00", "13:00")]
    assert body["days"][6] == {"weekday": 6, "day_name": "sunday", "open": False, "intervals": []}
    days = [h["day"] for h in body["upcoming_holidays"]]
    assert days and days == sorted(days)  # Argentina's holidays were seeded

    # A split shift, sent out of order, comes back sorted; the other days are untouched.
    split = owner.put(
        "/api/hours/2",
        json={
            "intervals": [
                {"opens_at": "15:00", "closes_at": "20:00"},
                {"opens_at": "08:30", "closes_at": "12:00"},
            ]
        },
    )
    assert split.status_code == 200, split.text
    assert split.json()["day_name"] == "wednesday"
    assert _intervals(split.json()) == [("08:30", "12:00"), ("15:00", "20:00")]
    after = owner.get("/api/hours").json()["days"]
    assert _intervals(after[2]) == [("08:30", "12:00"), ("15:00", "20:00")]
    assert _intervals(after[1]) == [("09:00", "19:00")]

    closed = owner.put("/api/hours/2", json={"intervals": []})
    assert closed.status_code == 200 and closed.json()["open"] is False
    # Everyone in the tenant may read the hours.
    client_view = api.as_role(Role.CLIENT).get("/api/hours").json()["days"][2]
    assert client_view["open"] is False and client_view["intervals"] == []
    with api.runtime.db.transaction() as session:
        actions = session.scalars(
            select(AuditLog.changes).where(AuditLog.entity == "business_hours")
        ).all()
    assert {"weekday": 2, "intervals": ""} in actions


def test_bad_hours_are_refused_and_change_nothing(api: Api) -> None:
    owner = api.as_role(Role.OWNER)

    def put(weekday: object, intervals: object) -> tuple[int, dict]:
        response = owner.put(f"/api/hours/{weekday}", json={"intervals": intervals})
        return response.status_code, response.json() if response.content else {}

    status, body = put(0, [{"opens_at": "13:00", "closes_at": "09:00"}])
    assert status == 422 and body["error"]["code"] == "validation_error"
    assert "before closes_at" in body["error"]["details"][0]["msg"]
    status, body = put(
        0,
        [{"opens_at": "09:00", "closes_at": "13:00"}, {"opens_at": "12:00", "closes_at": "18:00"}],
    )
    assert status == 422 and "overlap" in body["error"]["details"][0]["msg"]
    assert body["error"]["details"][0]["loc"] == ["body", "intervals"]
    seven = [{"opens_at": f"{h:02d}:00", "closes_at": f"{h:02d}:30"} for h in range(8, 15)]
    assert put(0, seven)[0] == 422
    assert put(0, [{"opens_at": "9:00", "closes_at": "13:00"}])[0] == 422
    assert put(0, [{"opens_at": "09:00", "closes_at": "24:00"}])[0] == 422
    assert put(0, [{"opens_at": "09:00", "closes_at": "13:00", "x": 1}])[0] == 422
    assert put(0, "09:00-13:00")[0] == 422
    ok = [{"opens_at": "09:00", "closes_at": "13:00"}]
    for weekday in (7, -1, "monday", "1.5"):
        status, body = put(weekday, ok)
        assert status == 404 and body["error"]["code"] == "not_found", weekday
    # Adjacent intervals are fine (they touch, they do not overlap).
    adjacent = [
        {"opens_at": "09:00", "closes_at": "13:00"},
        {"opens_at": "13:00", "closes_at": "14:00"},
    ]
    assert put(6, adjacent)[0] == 200

    refused = api.as_role(Role.AGENT).put("/api/hours/0", json={"intervals": []})
    assert refused.status_code == 403
    monday = owner.get("/api/hours").json()["days"][0]
    assert _intervals(monday) == [("09:00", "19:00")]


def test_holidays_add_list_duplicate_delete(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    created = owner.post("/api/hours/holidays", json={"day": "2031-07-21", "name": "Aniversario"})
    assert created.status_code == 201, created.text
    holiday = created.json()
    assert holiday["day"] == "2031-07-21" and holiday["name"] == "Aniversario"

    duplicate = owner.post("/api/hours/holidays", json={"day": "2031-07-21", "name": "Otro"})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["details"] == {"field": "day"}

    in_july = owner.get("/api/hours/holidays", params={"from": "2031-07-01", "to": "2031-07-31"})
    assert in_july.status_code == 200
    assert [h["id"] for h in in_july.json()["items"]] == [holiday["id"]]
    assert in_july.json()["total"] == 1
    everything = owner.get("/api/hours/holidays", params={"per_page": 100}).json()
    assert everything["total"] > 1
    assert [h["day"] for h in everything["items"]] == sorted(h["day"] for h in everything["items"])

    for params in ({"from": "2031-08-01", "to": "2031-07-01"}, {"from": "21/07/2031"}, {"x": 1}):
        assert owner.get("/api/hours/holidays", params=params).status_code == 422, params
    for bad in (
        {"day": "2031-02-30", "name": "x"},
        {"day": "2031-07-22", "name": ""},
        {"name": "x"},
    ):
        assert owner.post("/api/hours/holidays", json=bad).status_code == 422, bad

    # Another tenant neither sees nor deletes it.
    other = api.as_role(Role.OWNER, tenant="other")
    assert other.delete(f"/api/hours/holidays/{holiday['id']}").status_code == 404
    theirs = other.get("/api/hours/holidays", params={"from": "2031-07-21", "to": "2031-07-21"})
    assert theirs.json()["total"] == 0

    assert owner.delete(f"/api/hours/holidays/{holiday['id']}").status_code == 204
    assert owner.delete(f"/api/hours/holidays/{holiday['id']}").status_code == 404
    assert owner.delete("/api/hours/holidays/not-a-uuid").status_code == 404
    gone = owner.get("/api/hours/holidays", params={"from": "2031-07-01", "to": "2031-07-31"})
    assert gone.json()["total"] == 0
    # The day can be added again once deleted.
    again = owner.post("/api/hours/holidays", json={"day": "2031-07-21", "name": "Aniversario"})
    assert again.status_code == 201


def test_the_running_bot_answers_with_the_new_hours(api: Api) -> None:
    ask = ConsoleCustomer(api, "+5491155550077").ask

    # The first question starts the tenant's actor, which caches hours and holidays.
    assert "Sábado: 09:00 a 13:00" in ask("¿cuál es el horario?")
    owner = api.as_role(Role.OWNER)
    assert owner.put("/api/hours/5", json={"intervals": []}).status_code == 200
    assert (
        owner.put(
            "/api/hours/6", json={"intervals": [{"opens_at": "10:00", "closes_at": "14:00"}]}
        ).status_code
        == 200
    )
    answer = ask("¿cuál es el horario?")
    assert "Sábado: cerrado" in answer and "Domingo: 10:00 a 14:00" in answer
