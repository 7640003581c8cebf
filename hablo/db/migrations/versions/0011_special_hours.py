"""special hours: opening intervals for one date that replace the weekday's (New Year's
Eve until 14:00), from tenant files and the hours API

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

API_ROLE = "hablo_api"
_CURRENT_TENANT = "NULLIF(current_setting('hablo.tenant_id', true), '')::uuid"


def upgrade() -> None:
    op.create_table(
        "special_hours",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("opens_at", sa.Time(), nullable=False),
        sa.Column("closes_at", sa.Time(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "opens_at < closes_at", name=op.f("ck_special_hours_opens_before_closes")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_special_hours_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_special_hours")),
    )
    with op.batch_alter_table("special_hours", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_special_hours_tenant_id"), ["tenant_id"])
    # A tenant table like the others of 0003: the API's role sees only its tenant's rows.
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    has_role = bind.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}'").scalar()
    if not has_role:
        return
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON special_hours TO {API_ROLE}")
    op.execute("ALTER TABLE special_hours ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON special_hours TO {API_ROLE} "
        f"USING (tenant_id = {_CURRENT_TENANT}) WITH CHECK (tenant_id = {_CURRENT_TENANT})"
    )


def downgrade() -> None:
    with op.batch_alter_table("special_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_special_hours_tenant_id"))
    op.drop_table("special_hours")
