"""management API: sessions, single-use codes, message search, row-level security

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

- users: two_factor_method, password_changed_at.
- refresh_tokens (rotating login sessions) and one_time_codes (reset links, login codes).
- Message search: a GIN full-text index on PostgreSQL; an FTS5 table kept in step by
  triggers on SQLite.
- PostgreSQL row-level security, the second lock of tenant isolation: the API runs its
  tenant-scoped transactions as the NOLOGIN role `hablo_api` with `hablo.tenant_id` set,
  and policies on every tenant table admit only that tenant's rows. The engine keeps
  running as the owning role (RLS is enabled, not forced). Creating the role needs
  CREATEROLE; without it the migration says so and the API logs that the second lock is
  off (the first lock, queries scoped by construction, stays).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hablo.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

API_ROLE = "hablo_api"
TENANT_TABLES = (
    "audit_log",
    "bookings",
    "business_hours",
    "contact_identities",
    "contacts",
    "conversation_notes",
    "conversations",
    "holidays",
    "inbox",
    "invoices",
    "messages",
    "outbox",
    "payments",
    "services",
    "tenant_skills",
    "users",
)
_CURRENT_TENANT = "NULLIF(current_setting('hablo.tenant_id', true), '')::uuid"

SQLITE_FTS = [
    """CREATE VIRTUAL TABLE messages_fts USING fts5(
        body, content='messages', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, body) VALUES (NEW.rowid, NEW.body);
    END""",
    """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', OLD.rowid, OLD.body);
    END""",
    """CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', OLD.rowid, OLD.body);
        INSERT INTO messages_fts(rowid, body) VALUES (NEW.rowid, NEW.body);
    END""",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
]

PG_CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{API_ROLE}') THEN
        CREATE ROLE {API_ROLE} NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;  -- created concurrently
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'hablo: no CREATEROLE; row-level security role not created';
END $$
"""


def _pg_rls_up() -> None:
    op.execute(PG_CREATE_ROLE)
    has_role = (
        op.get_bind()
        .exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}'")
        .scalar()
    )
    if not has_role:
        return
    op.execute(f"GRANT USAGE ON SCHEMA public TO {API_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {API_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {API_ROLE}")
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {API_ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {API_ROLE}"
    )
    # A non-superuser owner must be a member to SET ROLE to it (superusers always may).
    op.execute(
        f"""DO $$ BEGIN
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                EXECUTE format('GRANT {API_ROLE} TO %I', current_user);
            END IF;
        END $$"""
    )
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {API_ROLE} "
            f"USING (tenant_id = {_CURRENT_TENANT}) WITH CHECK (tenant_id = {_CURRENT_TENANT})"
        )
    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON tenants TO {API_ROLE} "
        f"USING (id = {_CURRENT_TENANT}) WITH CHECK (id = {_CURRENT_TENANT})"
    )


def _pg_rls_down() -> None:
    for table in (*TENANT_TABLES, "tenants"):
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("two_factor_method", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column("password_changed_at", hablo.db.base.UTCDateTime(), nullable=True)
        )

    op.create_table(
        "refresh_tokens",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", hablo.db.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", hablo.db.base.UTCDateTime(), nullable=False),
        sa.Column("used_at", hablo.db.base.UTCDateTime(), nullable=True),
        sa.Column("replaced_by", sa.Uuid(), nullable=True),
        sa.Column("revoked_at", hablo.db.base.UTCDateTime(), nullable=True),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_refresh_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_refresh_tokens_family", ["family_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refresh_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "one_time_codes",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", hablo.db.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", hablo.db.base.UTCDateTime(), nullable=False),
        sa.Column("used_at", hablo.db.base.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_one_time_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_codes")),
    )
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_one_time_codes_user_purpose", ["user_id", "purpose"], unique=False
        )

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_tenant_time", ["tenant_id", "created_at"])

    if dialect == "postgresql":
        op.execute(
            "CREATE INDEX ix_messages_body_fts ON messages USING gin (to_tsvector('simple', body))"
        )
        _pg_rls_up()
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _pg_rls_down()
        op.execute("DROP INDEX IF EXISTS ix_messages_body_fts")
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS messages_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS messages_fts")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_tenant_time")
    op.drop_table("one_time_codes")
    op.drop_table("refresh_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("two_factor_method")
