"""A business's own reply wording (per language or variety, sandboxed, previewed) and
its own example phrases per intent, over the API. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from jinja2.sandbox import SecurityError

from hablo.db.enums import Role
from hablo.engine.nlu.model_store import DbModelStore, model_key
from hablo.engine.skillset import enabled_skills, tenant_training_set
from hablo.engine.templates import TemplateRenderer
from hablo.engine.tenant_profile import load_profile
from tests.api.support import Api, ConsoleCustomer, live_api

TEMPLATES = "/api/settings/templates"


def test_every_shipped_template_is_listed_with_its_languages(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    listed = owner.get(TEMPLATES)
    assert listed.status_code == 200, listed.text
    by_name = {t["name"]: t for t in listed.json()["items"]}
    # A file shipped with hablo and a skill's inline template are both there.
    assert {"es", "en"} <= set(by_name["greeting"]["builtin"])
    assert "{{" in by_name["booking_done"]["builtin"]["es"]
    assert all(t["overrides"] == {} for t in by_name.values())


def test_put_get_and_delete_an_override(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    path = f"{TEMPLATES}/es-usted/thanks"
    saved = owner.put(path, json={"source": "Gracias a usted, {{ tenant.name }}."})
    assert saved.status_code == 200, saved.text
    assert saved.json()["overrides"] == {"es-usted": "Gracias a usted, {{ tenant.name }}."}
    listed = {t["name"]: t for t in owner.get(TEMPLATES).json()["items"]}
    assert listed["thanks"]["overrides"] == {"es-usted": "Gracias a usted, {{ tenant.name }}."}

    assert owner.delete(path).json()["overrides"] == {}
    listed = {t["name"]: t for t in owner.get(TEMPLATES).json()["items"]}
    assert listed["thanks"]["overrides"] == {}


def test_bad_sources_names_and_keys_are_refused(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    broken = owner.put(f"{TEMPLATES}/es/thanks", json={"source": "Hola\n{% if x %}sin cerrar"})
    assert broken.status_code == 422
    assert "line 2" in broken.json()["error"]["details"][0]["msg"]
    for escape in ("{{ ''.__class__.__mro__ }}", "{{ cycler.__init__.__globals__ }}"):
        refused = owner.put(f"{TEMPLATES}/es/thanks", json={"source": escape})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"][0]["type"] == "template_unsafe"
    assert owner.put(f"{TEMPLATES}/es/no_such_reply", json={"source": "x"}).status_code == 422
    assert owner.put(f"{TEMPLATES}/spanish/thanks", json={"source": "x"}).status_code == 422
    for recursive in (
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
        "{% include 'es/thanks.j2' %}",
        "{% for a in x %}{% for b in a %}{% for c in b %}{% endfor %}{% endfor %}{% endfor %}",
        "{% for a in x recursive %}{{ loop(a) }}{% endfor %}",
        "{{ 'x'|center(1000000000) }}",
    ):
        refused = owner.put(f"{TEMPLATES}/es/thanks", json={"source": recursive})
        assert refused.status_code == 422, recursive
    nested = "{{" + "(" * 900 + "1" + ")" * 900 + "}}"
    assert owner.put(f"{TEMPLATES}/es/thanks", json={"source": nested}).status_code == 422
    too_long = owner.put(f"{TEMPLATES}/es/thanks", json={"source": "x" * 2001})
    assert too_long.status_code == 422
    listed = {t["name"]: t for t in owner.get(TEMPLATES).json()["items"]}
    assert listed["thanks"]["overrides"] == {}


def test_an_escape_the_parse_check_misses_meets_the_sandbox(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    preview = owner.post(
        f"{TEMPLATES}/es/thanks/preview", json={"source": "{{ (cycler|attr('__init__')) }}"}
    )
    assert preview.status_code == 422
    assert "unsafe" in preview.json()["error"]["details"][0]["msg"]
    # Nor may it eat the server's memory or time.
    for greedy in (
        "{{ 'x' * 100000000 }}",
        "{{ 9 ** 99999 }}",
        "{{ ((9 ** 60) ** 60) ** 60 }}",
        "{{ range(10**8)|length }}",
        "{{ lipsum(1000000) }}",
        "{% set ns = namespace(a=2) %}{{ ns.a }}",
    ):
        refused = owner.post(f"{TEMPLATES}/es/thanks/preview", json={"source": greedy})
        assert refused.status_code == 422, greedy


def test_the_bot_renders_a_tenant_source_in_the_sandbox() -> None:
    # Overrides written through the raw settings never passed the API's checks.
    renderer = TemplateRenderer({"es/thanks.j2": "{{ cycler.__init__.__globals__ }}"}, {})
    with pytest.raises(SecurityError):
        renderer.render("thanks", "es")
    # The shipped wording of other replies is untouched.
    assert renderer.render("ack", "es")


def test_preview_of_an_unsaved_and_a_saved_source(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    unsaved = owner.post(
        f"{TEMPLATES}/es/booking_done/preview",
        json={"source": "Anotado: {{ service }} el {{ when }} en {{ tenant.name }}."},
    )
    assert unsaved.status_code == 200, unsaved.text
    text = unsaved.json()["text"]
    assert text.startswith("Anotado: ") and "{{" not in text
    assert owner.get("/api/tenants/me").json()["name"] in text

    shipped = owner.post(f"{TEMPLATES}/es/price_list/preview", json={}).json()["text"]
    assert "precios" in shipped
    assert owner.put(f"{TEMPLATES}/es/price_list", json={"source": "Lista: {{ items|length }}"}).ok
    saved = owner.post(f"{TEMPLATES}/es/price_list/preview", json={"values": {"items": [1, 2, 3]}})
    assert saved.json() == {"text": "Lista: 3"}

    failing = owner.post(f"{TEMPLATES}/es/thanks/preview", json={"source": "{{ 1 // 0 }}"})
    assert failing.status_code == 422
    assert failing.json()["error"]["details"][0]["type"] == "template_render"


def test_the_running_bot_answers_with_the_new_wording(api: Api) -> None:
    ask = ConsoleCustomer(api, "+5491155550091").ask
    owner = api.as_role(Role.OWNER)
    before = ask("¿dónde están ubicados?")
    assert "Nos mudamos" not in before
    locale = owner.get("/api/settings").json()["locale"]
    assert owner.put(
        f"{TEMPLATES}/{locale}/location",
        json={"source": "Nos mudamos: {{ tenant.address or tenant.name }}."},
    ).ok
    assert "Nos mudamos" in ask("¿dónde están ubicados?")
    assert owner.delete(f"{TEMPLATES}/{locale}/location").ok
    assert "Nos mudamos" not in ask("¿dónde están ubicados?")


def test_intent_examples_are_validated_and_stored(api: Api) -> None:
    owner = api.as_role(Role.OWNER)
    listed = owner.get("/api/settings/intent-examples")
    assert listed.status_code == 200, listed.text
    intents = listed.json()["intents"]
    assert "pricing" in intents and listed.json()["examples"] == {}

    unknown = owner.put("/api/settings/intent-examples/teleport", json={"es": ["llevame"]})
    assert unknown.status_code == 422
    assert "pricing" in unknown.json()["error"]["details"][0]["msg"]
    assert owner.put("/api/settings/intent-examples/pricing", json={"pt": ["x"]}).status_code == 422
    assert owner.put("/api/settings/intent-examples/pricing", json={"es": [" "]}).status_code == 422
    too_long = owner.put("/api/settings/intent-examples/pricing", json={"es": ["x" * 201]})
    assert too_long.status_code == 422

    saved = owner.put(
        "/api/settings/intent-examples/pricing",
        json={"es": ["  qué me sale  ", "Qué me sale", "cuánto la tintura"], "en": []},
    )
    assert saved.status_code == 200, saved.text
    stored = {"pricing": {"es": ["qué me sale", "cuánto la tintura"]}}
    assert saved.json()["examples"] == stored
    assert owner.get("/api/settings/intent-examples").json()["examples"] == stored
    # The bot keeps answering (the old model serves while the new one trains).
    assert "$" in ConsoleCustomer(api, "+5491155550092").ask("¿cuánto sale el corte de pelo?")


def test_only_managers_change_the_wording(api: Api) -> None:
    agent = api.as_role(Role.AGENT)
    assert agent.get(TEMPLATES).status_code == 403
    assert agent.put(f"{TEMPLATES}/es/thanks", json={"source": "x"}).status_code == 403
    assert agent.put("/api/settings/intent-examples/pricing", json={"es": ["x"]}).status_code == 403
    assert api.as_role(Role.ADMIN).put(f"{TEMPLATES}/es/thanks", json={"source": "x"}).ok


def test_every_shipped_template_previews_in_the_tenant_sandbox(db_url: str) -> None:
    # What a tenant starts from (copying the shipped source) must pass its own checks.
    # Every template in every wording is more requests than a person makes in a minute.
    with live_api(db_url, rate_limit_user_per_minute=100_000) as api:
        owner = api.as_role(Role.OWNER)
        for template in owner.get(TEMPLATES).json()["items"]:
            for key in template["builtin"]:
                preview = owner.post(f"{TEMPLATES}/{key}/{template['name']}/preview", json={})
                assert preview.status_code == 200, (key, template["name"], preview.text)
                assert preview.json()["text"], (key, template["name"])


def test_new_examples_train_in_the_background_while_the_bot_answers(db_url: str) -> None:
    with live_api(db_url, nlu_train_in_background=True) as api:
        owner = api.as_role(Role.OWNER)
        phrases = {"es": ["cuánto me cobran por la tintura completa"]}
        assert owner.put("/api/settings/intent-examples/pricing", json=phrases).ok
        # The bot answers with whatever model it has at hand ...
        answer = ConsoleCustomer(api, "+5491155550093").ask("¿cuánto sale el corte de pelo?")
        assert answer.strip()
        engine = api.runtime.engine
        with engine.db.transaction() as session:
            profile = load_profile(session, api.tenant_id())
        assert profile.intent_examples == {"pricing": {"es": tuple(phrases["es"])}}
        examples = tenant_training_set(profile, enabled_skills(engine.registry, profile))
        # ... while the tenant's own model (its training set includes the new phrase) is
        # trained off the request and the turn, stored, and swapped in.
        ref = engine.classifiers.get(examples)
        assert ref.wait_exact(120)
        assert DbModelStore(engine.db).load(model_key(examples)) is not None
