"""PostgreSQL's own tools (pg_dump, pg_restore, psql), run as child processes.

The connection goes to them through libpq's environment (PGHOST, PGPASSWORD, ...), never
on the command line, where every user of the machine could read the password (`ps`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

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


class PgToolError(Exception):
    """A tool is missing, of the wrong version, or failed (the message is one line)."""


def libpq_env(database_url: str) -> dict[str, str]:
    url = make_url(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
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


def restore_replacing(database_url: str, dump_file: Path, work_dir: Path) -> None:
    """Replace everything in the database's public schema with the dump, in one
    transaction: if any statement fails, the database is left as it was."""
    script = work_dir / "restore.sql"
    _run(["pg_restore", "--no-owner", "--file", str(script), str(dump_file)], {}, "pg_restore")
    preamble = work_dir / "preamble.sql"
    # A new public schema with PostgreSQL's default rights (the dump brings everything
    # in it back, extensions included).
    preamble.write_text(
        "DROP SCHEMA IF EXISTS public CASCADE;\n"
        "CREATE SCHEMA public;\n"
        "GRANT USAGE ON SCHEMA public TO PUBLIC;\n",
        "utf-8",
    )
    _run(
        [
            "psql",
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set",
            "ON_ERROR_STOP=1",
            "--file",
            str(preamble),
            "--file",
            str(script),
        ],
        {**libpq_env(database_url), "PGOPTIONS": "-c client_min_messages=warning"},
        "psql",
    )


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
