"""A live API server per test, on SQLite and PostgreSQL, with the demo tenant seeded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hablo.bootstrap import bootstrap
from hablo.demo import seed_demo
from tests.api.support import Api
from tests.conftest import make_settings
from tests.e2e.server import serve


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    runtime = bootstrap(make_settings(db_url, channels=["console"]), upgrade_schema=False)
    with runtime.db.transaction() as session:
        seed_demo(session)
    try:
        with serve(runtime) as server:
            yield Api(server, runtime)
    finally:
        runtime.db.dispose()
