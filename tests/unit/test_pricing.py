"""The pricing skill's answers to a question about several services."""

from __future__ import annotations

import uuid

from hablo.plugins.sdk import ServiceInfo
from hablo.skills.pricing import PricingSkill
from hablo.testing.context import make_turn, skill_context


def _service(name: str, pesos: int) -> ServiceInfo:
    return ServiceInfo(uuid.uuid4(), name, "", pesos * 100, 30)


GENERAL = _service("Consulta médica general", 450)
CHILDREN = _service("Consulta pediátrica", 550)
CERTIFICATE = _service("Certificado médico", 250)


def test_an_unsettled_name_and_another_service_get_every_price() -> None:
    # "¿cuánto es la consulta y el certificado?": "consulta" is either consultation.
    ctx = skill_context(PricingSkill, services=[GENERAL, CHILDREN, CERTIFICATE])
    entities = {"service_options": (GENERAL, CHILDREN), "services_then": (CERTIFICATE,)}
    turn = make_turn("cuanto es la consulta y el certificado", intent="pricing", entities=entities)
    said = PricingSkill().handle(turn, ctx).replies[0].text
    assert all(s.name in said for s in (GENERAL, CHILDREN, CERTIFICATE))
    assert "$250" in said.replace(" ", "")
