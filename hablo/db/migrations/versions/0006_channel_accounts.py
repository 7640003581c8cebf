"""channel accounts (a tenant's numbers and mailboxes on provider channels, secrets
sealed), message attachments (inbound media: type, mime, size, media id or URL) and an
index for delivery status callbacks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hablo.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

API_ROLE = "hablo_api"
_CURRENT_TENANT = "NULLIF(current_setting('hablo.tenant_id', true), '')::uuid"


def upgrade() -> None:
    op.create_table(
        "channel_accounts",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", hablo.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", hablo.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_channel_accounts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_accounts")),
        sa.UniqueConstraint("channel", "address", name=op.f("uq_channel_accounts_channel")),
    )
    with op.batch_alter_table("channel_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_accounts_tenant_id"), ["tenant_id"])
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachments", sa.JSON(), nullable=True))
    # Delivery status callbacks find the sent reply by the provider's message id.
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_provider_message", ["tenant_id", "channel", "provider_message_id"]
        )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    has_role = bind.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}'").scalar()
    if not has_role:
        return
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON channel_accounts TO {API_ROLE}")
    op.execute("ALTER TABLE channel_accounts ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON channel_accounts TO {API_ROLE} "
        f"USING (tenant_id = {_CURRENT_TENANT}) WITH CHECK (tenant_id = {_CURRENT_TENANT})"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_provider_message")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("attachments")
    with op.batch_alter_table("channel_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_accounts_tenant_id"))
    op.drop_table("channel_accounts")
