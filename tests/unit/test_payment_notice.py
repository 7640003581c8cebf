"""The "payment received" message a customer gets when the provider reports the booking
paid: in the business's variety and formality, its locale's date and time, or the
business's own wording."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hablo.db.models import Tenant
from hablo.payments.service import _confirmation

STARTS = datetime(2027, 3, 16, 23, 30, tzinfo=UTC)  # 17:30 in Mexico City


def _tenant(locale: str, **settings: object) -> Tenant:
    return Tenant(
        slug="t", name="T", locale=locale, timezone="America/Mexico_City", settings=settings
    )


@pytest.mark.parametrize(
    ("locale", "language", "said"),
    [
        ("es-MX", "es", "¡Pago recibido! Su cita de Limpieza del martes 16 de marzo a las 17:30"),
        ("es-AR", "es", "¡Pago recibido! Tu reserva de Limpieza del martes 16 de marzo a las 17"),
        ("en-US", "en", "Payment received! Your Limpieza booking on Tuesday, March 16 at 5:30 PM"),
        ("en-GB", "en", "Payment received! Your Limpieza booking on Tuesday 16 March at 17:30"),
    ],
)
def test_the_notice_is_in_the_tenant_wording(locale: str, language: str, said: str) -> None:
    assert _confirmation(_tenant(locale), language, "Limpieza", STARTS).startswith(said)


def test_the_formality_setting_and_the_tenant_own_wording_apply() -> None:
    tu = _tenant("es-MX", bot={"formality": "tu"})
    assert "Tu cita de Limpieza" in _confirmation(tu, "es", "Limpieza", STARTS)
    own = _tenant("es-MX", templates={"es-MX/payment_received.j2": "Pagado: {{ service }}"})
    assert _confirmation(own, "es", "Limpieza", STARTS) == "Pagado: Limpieza"
