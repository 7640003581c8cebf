"""retention indexes: the retention jobs find old rows by time, a batch at a time,
without scanning whole tables (messages per tenant, the audit log, processed inbox)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_messages_tenant_created", "messages", ["tenant_id", "created_at"])
    op.create_index("ix_audit_log_created", "audit_log", ["created_at"])
    op.create_index("ix_inbox_received", "inbox", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_received", table_name="inbox")
    op.drop_index("ix_audit_log_created", table_name="audit_log")
    op.drop_index("ix_messages_tenant_created", table_name="messages")
