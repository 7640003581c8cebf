"""LLM mode: token usage per message and per tenant and month

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

- llm_usage: one row per LLM-assisted inbound message (model, calls, prompt and
  completion tokens, outcome), written in the turn's transaction.
- llm_monthly_usage: a tenant's running total per calendar month (UTC), checked against
  the monthly token budget; budget_notified_at marks that the tenant was told.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hablo.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UTC = hablo.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "llm_usage",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("inbox_id", _SERIAL, nullable=True),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_llm_usage_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_llm_usage_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"],
            ["inbox.id"],
            name=op.f("fk_llm_usage_inbox_id_inbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_usage")),
    )
    op.create_index(op.f("ix_llm_usage_tenant_id"), "llm_usage", ["tenant_id"])
    op.create_index(op.f("ix_llm_usage_conversation_id"), "llm_usage", ["conversation_id"])
    op.create_index(op.f("ix_llm_usage_inbox_id"), "llm_usage", ["inbox_id"])

    op.create_table(
        "llm_monthly_usage",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("budget_notified_at", _UTC, nullable=True),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_llm_monthly_usage_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_monthly_usage")),
        sa.UniqueConstraint(
            "tenant_id", "month", name=op.f("uq_llm_monthly_usage_tenant_id_month")
        ),
    )
    op.create_index(op.f("ix_llm_monthly_usage_tenant_id"), "llm_monthly_usage", ["tenant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_llm_monthly_usage_tenant_id"), table_name="llm_monthly_usage")
    op.drop_table("llm_monthly_usage")
    op.drop_index(op.f("ix_llm_usage_inbox_id"), table_name="llm_usage")
    op.drop_index(op.f("ix_llm_usage_conversation_id"), table_name="llm_usage")
    op.drop_index(op.f("ix_llm_usage_tenant_id"), table_name="llm_usage")
    op.drop_table("llm_usage")
