"""The name a booking is under (nlu/holder.py)."""

from __future__ import annotations

import pytest

from hablo.engine.nlu.holder import holder_name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("a nombre de Juan", "Juan"),
        ("sí, a nombre de Juan Pérez", "Juan Pérez"),
        ("se llama Rosa", "Rosa"),
        ("el nombre es Carla", "Carla"),
        ("her name is Ana", "Ana"),
        ("under the name Smith", "Smith"),
        ("a nombre de MARÍA", "MARÍA"),
        ("a nombre de \x00Juan", "Juan"),
    ],
)
def test_reads_the_name(text: str, name: str) -> None:
    assert holder_name(text) == name


@pytest.mark.parametrize(
    "text",
    [
        "soy Marta",  # an introduction, not a booking's name
        "hola, me llamo Juan",
        "my name is Ana",
        "it's for tomorrow",
        "it is for Saturday",
        "se llama igual",
        "the name is wrong",
        "soy nuevo",
        "it's for my daughter",
        "a nombre de mi hija",
        "quiero turno a nombre de Juan para el viernes",  # more than a name: left to the flow
        "se llama Rosa y es alérgica",
        "corte el viernes a las 11",
    ],
)
def test_reads_no_name(text: str) -> None:
    assert holder_name(text) is None
