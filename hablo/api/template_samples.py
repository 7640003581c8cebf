"""Sample values for previewing a reply template: the names the skills pass, with
plausible values, so a tenant sees its wording before a customer does."""

from __future__ import annotations

from typing import Any

from hablo.plugins.sdk import TenantInfo


class SampleService(str):
    """A service as both kinds of template see it: booking replies print it (a name),
    price replies call `service.label(language)` and read its duration."""

    duration_minutes = 45

    def label(self, language: str) -> str:
        return str(self)


_SERVICE = SampleService("Corte de pelo")
_SERVICES = [_SERVICE, SampleService("Color")]

# By variable name; a template that needs another value gets a generic text.
SAMPLES: dict[str, Any] = {
    "amount": "$4.000",
    "ask_service": True,
    "booking": "Corte de pelo el martes 9 a las 10:00",
    "clock": "20:00",
    "count": 2,
    "bookings": ["Corte de pelo el martes 9 a las 10:00", "Color el jueves 11 a las 16:00"],
    "day": "martes 9",
    "day_name": "martes",
    "days": 1,
    "deposit": True,
    "end": "16:00",
    "example": "¿cuánto sale un corte?",
    "holiday": None,
    "hours": 24,
    "intervals": [("09:00", "13:00"), ("16:00", "20:00")],
    "items": [(_SERVICE, "$8.000"), (_SERVICES[1], "$15.000")],
    "last": "31 de enero",
    "method": "tarjeta",
    "online": True,
    "options": ["martes 9 a las 10:00", "martes 9 a las 11:30"],
    "options_text": "martes 9 a las 10:00 o a las 11:30",
    "price": "$8.000",
    "question": "¿Para qué día?",
    "reason": "ese horario ya pasó",
    "relative": "hoy",
    "remote": False,
    "service": _SERVICE,
    "services": _SERVICES,
    "slots": ["10:00", "11:30", "15:00"],
    "start": "13:00",
    "thing": "estacionamiento",
    "total": "$16.000",
    "url": "https://pay.example.com/abc123",
    "week": [("lunes", [("09:00", "18:00")]), ("domingo", [])],
    "when": "martes 9 a las 10:00",
}
GENERIC_SAMPLE = "…"


def sample_values(variables: set[str], tenant: TenantInfo, language: str) -> dict[str, Any]:
    """Values for every variable a source reads: the table's, the tenant's own info,
    else a generic text (so a preview shows the wording, not a missing-value error)."""
    values = {name: SAMPLES.get(name, GENERIC_SAMPLE) for name in variables}
    values["tenant"] = tenant
    values["language"] = language
    return values
