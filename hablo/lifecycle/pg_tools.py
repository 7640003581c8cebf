"""PostgreSQL's own tools (pg_dump, pg_restore), run as child processes.

The connection goes to them through libpq's environment (PGHOST, PGPASSWORD, ...), never
on the command line, where every user of the machine could read the password (`ps`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

# Where the schema being replaced waits while the dump loads.
SET_ASIDE = "hablo_replaced"
_SCHEMA_EXISTS = "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = :name)"
_EXTENSIONS_IN = (
    "SELECT e.extname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
    "WHERE n.nspname = :schema ORDER BY e.extname"
)
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)")
# URL query options libpq also reads from its environment.
_QUERY_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "host": "PGHOST",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}


# The operator's libpq settings that say how to connect, not where: TLS files and mode,
# the password file, the service file. Where (host, port, user, database) comes from
# database_url alone.
_KEPT_ENV = ("PGSSL", "PGSERVICE", "PGPASSFILE")


class PgToolError(Exception):
    """A tool is missing, of the wrong version, or failed (the message is one line)."""


def libpq_env(database_url: str) -> dict[str, str]:
    url = make_url(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") or k.startswith(_KEPT_ENV)}
    for key, name in _QUERY_ENV.items():
        value = url.query.get(key)
        if isinstance(value, str):
            env[name] = value
    parts: dict[str, object] = {
        "PGHOST": url.host,
        "PGPORT": url.port,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    env.update({name: str(value) for name, value in parts.items() if value is not None})
    return env


def server_major(database_url: str) -> int:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            number = int(conn.execute(text("SHOW server_version_num")).scalar_one())
    finally:
        engine.dispose()
    return number // 10000


def tool_major(tool: str) -> int:
    """The major version of an installed client tool (PgToolError when it is missing)."""
    path = shutil.which(tool)
    if path is None:
        raise PgToolError(f"{tool} is not installed (Debian: apt-get install postgresql-client)")
    found = _VERSION.search(_run([path, "--version"], {}, tool).decode("utf-8", "replace"))
    if found is None:
        raise PgToolError(f"cannot tell the version of {path}")
    return int(found.group(1))


def check_can_read(tool: str, server: int) -> int:
    """A client older than the server cannot read it (pg_dump refuses; pg_restore cannot
    read a newer dump): one line naming the package to install."""
    client = tool_major(tool)
    if client < server:
        raise PgToolError(
            f"{tool} {client} cannot work with PostgreSQL {server}: install "
            f"postgresql-client-{server} (or put its bin folder first on PATH)"
        )
    return client


def dump(database_url: str, target: Path) -> None:
    """The whole database in pg_dump's custom format, uncompressed (the archive is)."""
    _run(
        ["pg_dump", "--format=custom", "--compress=0", "--file", str(target)],
        libpq_env(database_url),
        "pg_dump",
    )


def restore_replacing(database_url: str, dump_file: Path) -> None:
    """Replace everything in the database's public schema with the dump.

    pg_restore loads the dump straight into the database (--dbname), never through psql,
    which would obey backslash commands a crafted dump carries (CVE-2025-8714), in one
    transaction that stops at the first error. What the schema held is set aside first
    (renamed to SET_ASIDE; its extensions stay in public for the dump's tables), dropped
    once the dump is in, and put back if the restore fails.
    """
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            extensions = _set_aside(conn)
        try:
            database = make_url(database_url).database or ""
            # fmt: off
            argv = ["pg_restore", "--no-owner", "--single-transaction", "--exit-on-error",
                    "--dbname", database, str(dump_file)]
            # fmt: on
            _run(
                argv,
                {**libpq_env(database_url), "PGOPTIONS": "-c client_min_messages=warning"},
                "pg_restore",
            )
        except BaseException:
            with engine.begin() as conn:
                _put_back(conn, extensions)
            raise
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {SET_ASIDE} CASCADE"))
    finally:
        engine.dispose()


def _set_aside(conn: Connection) -> list[str]:
    """Rename public to SET_ASIDE and make a new, empty public with PostgreSQL's default
    rights; the extensions move back into it. Returns their names."""
    if conn.execute(text(_SCHEMA_EXISTS), {"name": SET_ASIDE}).scalar_one():
        raise PgToolError(
            f"schema {SET_ASIDE} exists: an earlier restore was interrupted and it may hold "
            "the data that was there before; look at it, drop it, then restore again"
        )
    extensions = list(conn.execute(text(_EXTENSIONS_IN), {"schema": "public"}).scalars())
    conn.execute(text(f"ALTER SCHEMA public RENAME TO {SET_ASIDE}"))
    conn.execute(text("CREATE SCHEMA public"))
    conn.execute(text("GRANT USAGE ON SCHEMA public TO PUBLIC"))
    for name in extensions:
        conn.execute(text(f'ALTER EXTENSION "{name}" SET SCHEMA public'))
    return extensions


def _put_back(conn: Connection, extensions: list[str]) -> None:
    for name in extensions:
        conn.execute(text(f'ALTER EXTENSION "{name}" SET SCHEMA {SET_ASIDE}'))
    conn.execute(text("DROP SCHEMA public CASCADE"))
    conn.execute(text(f"ALTER SCHEMA {SET_ASIDE} RENAME TO public"))


def _run(argv: list[str], env: dict[str, str], tool: str) -> bytes:
    if shutil.which(argv[0]) is None:
        raise PgToolError(f"{tool} is not installed (Debian: apt-get install postgresql-client)")
    try:
        done = subprocess.run(argv, env=env or None, capture_output=True, check=False)
    except OSError as exc:
        raise PgToolError(f"cannot run {tool}: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        errors = [line for line in lines if "error" in line.lower()] or lines
        raise PgToolError(f"{tool} failed: {errors[0] if errors else f'exit {done.returncode}'}")
    return done.stdout
