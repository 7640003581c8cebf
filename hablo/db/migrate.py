"""Schema changes go through Alembic only; this module runs it programmatically.

Every process start (`hablo chat`, `hablo serve`) asks for the latest schema. When the
database is already there, which is nearly always, that answer comes from one SELECT and
the version files' text, without importing Alembic (a tenth of a second of a short
command's start). Anything unusual (no version table, several heads, a merge) goes to
Alembic, which decides.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from hablo.db.timeouts import DbTimeouts

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_REVISION = re.compile(r'^revision(?:: str)? = "([^"]+)"', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision(?:: [^=]+)? = (?:"([^"]+)"|None)$', re.MULTILINE)


def alembic_config(database_url: str, timeouts: DbTimeouts | None = None) -> Config:
    # Alembic is imported where it runs: most starts find the schema current (see above).
    from alembic.config import Config

    cfg = Config()
    # env.py sets them on its connection (PostgreSQL); None: the server's own defaults.
    cfg.attributes["timeouts"] = timeouts
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on '%' in URL-encoded passwords.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(
    database_url: str, revision: str = "head", *, timeouts: DbTimeouts | None = None
) -> None:
    """`timeouts`: the limits of the migration's connection (settings'
    db_migration_timeout_s), larger than a request's: an index build takes a while."""
    if revision == "head" and _is_at_head(database_url):
        return
    from alembic import command

    command.upgrade(alembic_config(database_url, timeouts), revision)


def current_revision(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_from_files(versions: Path = MIGRATIONS_DIR / "versions") -> str | None:
    """The one head revision, read from the version files' text; None when unsure."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        source = path.read_text("utf-8")
        revision = _REVISION.search(source)
        down = _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return None  # e.g. a merge (a tuple of parents): Alembic reads it properly
        revisions.add(revision.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _is_at_head(database_url: str) -> bool:
    head = head_from_files()
    if head is None:
        return False
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        return False  # no version table yet (a new database): Alembic creates it
    finally:
        engine.dispose()
    return [row[0] for row in rows] == [head]
