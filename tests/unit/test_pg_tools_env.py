"""What PostgreSQL's tools get from the environment for a backup or restore: the
database_url's connection, plus the operator's TLS, password-file and service settings;
no other PG* variable decides where they connect."""

from __future__ import annotations

import pytest

from hablo.lifecycle.pg_tools import libpq_env


def test_the_url_says_where_and_the_operators_tls_and_passfile_are_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kept = {
        "PGSSLROOTCERT": "/etc/hablo/root.crt",
        "PGSSLCERT": "/etc/hablo/client.crt",
        "PGPASSFILE": "/etc/hablo/pgpass",
        "PGSERVICE": "hablo",
        "PGSERVICEFILE": "/etc/hablo/pg_service.conf",
    }
    for name, value in {**kept, "PGHOST": "elsewhere", "PGDATABASE": "other"}.items():
        monkeypatch.setenv(name, value)
    env = libpq_env("postgresql+psycopg://hablo:pw@db.internal:5433/prod?sslmode=verify-full")
    assert {k: env[k] for k in kept} == kept
    assert (env["PGHOST"], env["PGPORT"], env["PGDATABASE"]) == ("db.internal", "5433", "prod")
    assert (env["PGUSER"], env["PGPASSWORD"], env["PGSSLMODE"]) == ("hablo", "pw", "verify-full")
