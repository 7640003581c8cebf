"""Shared fixtures: FAQ YAML files written the way a tenant would edit them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

FAQ_YAML = """\
faqs:
  - question:
      es:
        - ¿Tienen estacionamiento?
        - ¿Dónde puedo estacionar?
      en: Do you have parking?
    answer:
      es: Sí, hay 3 lugares gratis en la puerta.
      en: Yes, there are 3 free spots at the door.
    tags: [parking]
  - question:
      es:
        - ¿Aceptan mascotas?
        - ¿Puedo ir con mi perro?
      en: ["Are pets allowed?"]
    answer:
      es: ¡Claro! Las mascotas tranquilas son bienvenidas.
    tags: [pets]
  - question:
      en: Should I come with clean hair?
    answer:
      en: No need, a wash is included.
      es: No hace falta, el lavado está incluido.
"""

WriteFaq = Callable[[Path, str], Path]


def _write_faq(path: Path, text: str) -> Path:
    """Write the file and move its mtime forward: two saves within the same clock tick
    (possible in a test, not by hand) must still look like two versions."""
    previous = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    bumped = max(path.stat().st_mtime_ns, previous + 1_000_000_000)
    os.utime(path, ns=(bumped, bumped))
    return path


@pytest.fixture(scope="session")
def write_faq() -> WriteFaq:
    return _write_faq


@pytest.fixture
def faq_path(tmp_path: Path) -> Path:
    return _write_faq(tmp_path / "faq.yaml", FAQ_YAML)


@pytest.fixture(scope="session")
def faq_yaml() -> str:
    return FAQ_YAML
