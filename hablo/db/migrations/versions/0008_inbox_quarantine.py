"""inbox quarantine: a message whose turn keeps failing for a reason that does not go
away (bad data, a bug) is set aside with its error instead of being retried forever

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = ("pending", "processed")
_NEW = ("pending", "processed", "quarantined")


def _status_check(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    # On SQLite the batch rebuilds the table (CHECK constraints cannot be altered there).
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch_op.drop_constraint(op.f("ck_inbox_inboxstatus"), type_="check")
        batch_op.create_check_constraint("inboxstatus", _status_check(_NEW))


def downgrade() -> None:
    op.execute("UPDATE inbox SET status = 'processed' WHERE status = 'quarantined'")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_inbox_inboxstatus"), type_="check")
        batch_op.create_check_constraint("inboxstatus", _status_check(_OLD))
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")
