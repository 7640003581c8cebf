"""console change index: an open console asks each second whether anything of its
tenant changed; the newest conversation change is one index lookup, not a scan

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_conversations_tenant_updated", "conversations", ["tenant_id", "updated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_tenant_updated", table_name="conversations")
