"""CSV import and export of contacts over the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from sqlalchemy import text, update

from hablo.contacts import importer
from hablo.db.enums import Role
from hablo.db.models import Tenant
from tests.api.support import Api, Client

CSV = {"Content-Type": "text/csv"}


def _import(client: Client, body: bytes | str, **params: str) -> dict:  # type: ignore[type-arg]
    data = body.encode("utf-8") if isinstance(body, str) else body
    response = client.post("/api/contacts/import", data=data, headers=CSV, params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _contacts(client: Client) -> list[tuple[str, str | None, str | None, str]]:
    items = client.get("/api/contacts", params={"per_page": 100}).json()["items"]
    return [(c["name"], c["phone"], c["email"], c["kind"]) for c in items]


def test_import_good_and_bad_rows(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    report = _import(
        owner,
        "name,phone,email,kind\n"
        "Ana,11 5555-0001,ana@example.com,cliente\n"  # row 2: ok (Spanish kind)
        "Beto,12345,,\n"  # row 3: bad phone
        "Caro,,not-an-email,vip\n"  # row 4: bad e-mail
        "Dani,+54 11 5555 0004,,boss\n"  # row 5: bad kind
        "Eva,,,\n"  # row 6: neither phone nor e-mail
        '"Fer, hijo",+541155550006,,\n'  # row 7: ok, quoted comma
        "Gabi,+541155550006,,\n"  # row 8: same phone as row 7
        "Hugo,1,2,3,4,5\n",  # row 9: too many cells
    )
    assert report["total_rows"] == 8 and report["imported"] == 2
    assert report["failed_count"] == 6 and report["failed_not_listed"] == 0
    reasons = {f["row"]: [(e["field"], e["code"]) for e in f["errors"]] for f in report["failed"]}
    assert reasons == {
        3: [("phone", "invalid")],
        4: [("email", "invalid")],
        5: [("kind", "invalid")],
        6: [(None, "invalid")],
        8: [("phone", "duplicate")],
        9: [(None, "invalid")],
    }
    assert sorted(_contacts(owner)) == [
        ("Ana", "+541155550001", "ana@example.com", "customer"),
        ("Fer, hijo", "+541155550006", None, "prospect"),
    ]


def test_unknown_columns_are_refused_before_importing(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    response = owner.post(
        "/api/contacts/import",
        data="name,phone,birthday\nAna,+541155550001,1990-01-01\n",
        headers=CSV,
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_header" and error["details"]["unknown_columns"] == ["birthday"]
    # A stray carriage return in the header (found by schemathesis; it was a 500).
    stray = owner.post("/api/contacts/import", data="@\rl\x17Ì{-".encode(), headers=CSV)
    assert stray.status_code == 422 and stray.json()["error"]["code"] == "invalid_header"
    empty = owner.post("/api/contacts/import", data=b"", headers=CSV)
    assert empty.status_code == 422
    json_body = owner.post("/api/contacts/import", json={"a": 1})
    assert json_body.status_code == 415
    assert (
        api.as_role(Role.AGENT).post("/api/contacts/import", data="x", headers=CSV).status_code
        == 403
    )
    assert owner.get("/api/contacts").json()["total"] == 0


def test_excel_spanish_bom_and_semicolons(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    body = "\ufeffNombre;Teléfono;Correo;Tipo\r\nJosé Núñez;011 15 5555-0002;;VIP\r\n;;;\r\n"
    report = _import(owner, body.encode("utf-8"))
    assert report["imported"] == 1 and report["failed"] == [] and report["total_rows"] == 1
    assert _contacts(owner) == [("José Núñez", "+5491155550002", None, "vip")]
    # Excel's plain "CSV" in Spanish locales is Windows-1252.
    latin = "nombre;telefono\r\nMaría Peña;+54 11 5555 0003\r\n".encode("cp1252")
    assert _import(owner, latin)["imported"] == 1
    assert ("María Peña", "+541155550003", None, "prospect") in _contacts(owner)


def test_duplicates_report_skip_or_update(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    existing = owner.post("/api/contacts", json={"name": "Ana", "phone": "+541155550001"}).json()
    body = "name,phone,email\nAna María,+541155550001,ana@example.com\n"
    reported = _import(owner, body)
    assert reported["imported"] == 0 and reported["failed"][0]["contact_id"] == existing["id"]
    assert reported["failed"][0]["errors"][0]["code"] == "duplicate"
    skipped = _import(owner, body, on_duplicate="skip")
    assert skipped["skipped"] == 1 and skipped["failed_count"] == 0
    updated = _import(owner, body, on_duplicate="update")
    assert updated["updated"] == 1
    contact = owner.get(f"/api/contacts/{existing['id']}").json()
    assert contact["name"] == "Ana María" and contact["email"] == "ana@example.com"
    assert ("email", "ana@example.com") in {(i["kind"], i["value"]) for i in contact["identities"]}


def test_import_respects_the_plan_limit(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    with api.runtime.db.transaction() as session:
        session.execute(update(Tenant).where(Tenant.slug == "demo").values(contact_limit=2))
    rows = "".join(f"P{i},+54115555{i:04d}\n" for i in range(1, 5))
    report = _import(owner, "name,phone\n" + rows)
    assert report["imported"] == 2
    assert [(f["row"], f["errors"][0]["code"]) for f in report["failed"]] == [
        (4, "plan_limit_reached"),
        (5, "plan_limit_reached"),
    ]


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The server runs in this process: its import uses the patched size.
    import hablo.api.routes.contacts as routes

    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    monkeypatch.setattr(routes, "BATCH_SIZE", 2)
    yield


def test_a_failing_batch_rolls_back_only_itself(api: Api, small_batches: None) -> None:
    owner = api.as_role(Role.OWNER)
    # A real database refusal in the middle of the file (a trigger), not a mock.
    postgres = api.runtime.db.dialect == "postgresql"
    with api.runtime.db.transaction() as session:
        if postgres:
            session.execute(
                text(
                    "CREATE OR REPLACE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.name = 'BOOM' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; "
                    "END $$ LANGUAGE plpgsql"
                )
            )
            session.execute(
                text(
                    "CREATE TRIGGER refuse_boom BEFORE INSERT ON contacts "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_boom()"
                )
            )
        else:
            session.execute(
                text(
                    "CREATE TRIGGER refuse_boom BEFORE INSERT ON contacts "
                    "WHEN NEW.name = 'BOOM' BEGIN SELECT RAISE(ABORT, 'boom'); END"
                )
            )
    try:
        report = _import(
            owner,
            "name,phone\n"
            "A,+541155550001\nB,+541155550002\n"  # batch 1: rows 2-3
            "C,+541155550003\nBOOM,+541155550004\n"  # batch 2: rows 4-5, refused
            "E,+541155550005\nF,bad\n",  # batch 3: rows 6-7
        )
    finally:
        with api.runtime.db.transaction() as session:
            session.execute(
                text("DROP TRIGGER IF EXISTS refuse_boom" + (" ON contacts" if postgres else ""))
            )
    assert report["imported"] == 3
    failed = {f["row"]: f["errors"][0]["code"] for f in report["failed"]}
    assert failed == {4: "batch_failed", 5: "batch_failed", 7: "invalid"}
    assert sorted(c[0] for c in _contacts(owner)) == ["A", "B", "E"]


def test_export_round_trip_and_formula_injection(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    people = [
        {"name": '=HYPERLINK("http://evil")', "phone": "+541155550001", "kind": "vip"},
        {"name": "@SUM(A1)", "email": "sum@example.com"},
        {
            "name": 'Ñoño; "el" del,barrio\nsegunda línea',
            "phone": "+34612345678",
            "email": "n@example.com",
            "kind": "customer",
        },
        {"name": "'ya citado", "phone": "+541155550002"},
    ]
    for person in people:
        assert owner.post("/api/contacts", json=person).status_code == 201
    response = owner.get("/api/contacts/export", params={"sort": "name"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers.get("Transfer-Encoding") == "chunked"
    body = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:4] == ["name", "phone", "email", "kind"]
    cells = [cell for row in rows[1:] for cell in row]
    # No cell a spreadsheet would run as a formula.
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert '\'=HYPERLINK("http://evil")' in cells and "'+541155550001" in cells

    other = api.as_role(Role.OWNER, tenant="other")
    report = _import(other, response.content)
    assert report["imported"] == 4 and report["failed"] == []
    assert sorted(_contacts(other)) == sorted(_contacts(owner))

    semicolons = owner.get("/api/contacts/export", params={"delimiter": "semicolon", "kind": "vip"})
    lines = semicolons.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("name;phone;email;kind") and len(lines) == 2
    assert api.as_role(Role.AGENT).get("/api/contacts/export").status_code == 403
