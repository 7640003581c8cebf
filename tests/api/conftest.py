"""A live API server per test, on SQLite and PostgreSQL, with the demo tenant seeded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.support import Api, live_api


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    with live_api(db_url) as running:
        yield running
