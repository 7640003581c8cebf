"""Alembic environment: runs migrations against the URL set by hablo.db.migrate."""

from alembic import context
from sqlalchemy import create_engine, pool

import hablo.db.models  # noqa: F401  (registers every table on Base.metadata)
from hablo.db.base import Base
from hablo.db.timeouts import apply_postgres_timeouts

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    timeouts = config.attributes.get("timeouts")
    if timeouts is not None and engine.dialect.name == "postgresql":
        apply_postgres_timeouts(engine, timeouts)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
