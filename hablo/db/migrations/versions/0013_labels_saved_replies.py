"""inbox: labels on conversations and saved ("canned") replies, for the staff console

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hablo.db.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

API_ROLE = "hablo_api"
_CURRENT_TENANT = "NULLIF(current_setting('hablo.tenant_id', true), '')::uuid"
_TABLES = ("labels", "saved_replies", "conversation_labels")


def _timestamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("created_at", hablo.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hablo.db.base.UTCDateTime(timezone=True), nullable=False),
    ]


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=op.f(f"fk_{table}_tenant_id_tenants"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "labels",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_timestamps(),
        _tenant_fk("labels"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_labels_tenant_id_name")),
    )
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_labels_tenant_id"), ["tenant_id"], unique=False)
    op.create_table(
        "saved_replies",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("shortcut", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_timestamps(),
        _tenant_fk("saved_replies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_replies")),
        sa.UniqueConstraint(
            "tenant_id", "shortcut", name=op.f("uq_saved_replies_tenant_id_shortcut")
        ),
    )
    with op.batch_alter_table("saved_replies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_replies_tenant_id"), ["tenant_id"], unique=False)
    op.create_table(
        "conversation_labels",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("label_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_labels_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["label_id"],
            ["labels.id"],
            name=op.f("fk_conversation_labels_label_id_labels"),
            ondelete="CASCADE",
        ),
        _tenant_fk("conversation_labels"),
        sa.PrimaryKeyConstraint("conversation_id", "label_id", name=op.f("pk_conversation_labels")),
    )
    with op.batch_alter_table("conversation_labels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_labels_label_id"), ["label_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_conversation_labels_tenant_id"), ["tenant_id"], unique=False
        )
    # Tenant tables like the others of 0003: the API's role sees only its tenant's rows.
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    has_role = bind.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}'").scalar()
    if not has_role:
        return
    for table in _TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {API_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {API_ROLE} "
            f"USING (tenant_id = {_CURRENT_TENANT}) WITH CHECK (tenant_id = {_CURRENT_TENANT})"
        )


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
