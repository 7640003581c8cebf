"""Persistence: SQLAlchemy 2.0 models, Alembic migrations, sessions, scoped repositories."""
