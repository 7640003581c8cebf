"""remote skills: a tenant's own skills hosted at an HTTPS endpoint (manifest, sealed
signing secret, enabled flag and config), called over signed HTTP on a turn

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hablo.db.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

API_ROLE = "hablo_api"
_CURRENT_TENANT = "NULLIF(current_setting('hablo.tenant_id', true), '')::uuid"


def upgrade() -> None:
    op.create_table(
        "remote_skills",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret_sealed", sa.String(length=500), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", hablo.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hablo.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_remote_skills_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remote_skills")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_remote_skills_tenant_id_name")),
    )
    with op.batch_alter_table("remote_skills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_remote_skills_tenant_id"), ["tenant_id"])
    # A tenant table like the others of 0003: the API's role sees only its tenant's rows.
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    has_role = bind.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}'").scalar()
    if not has_role:
        return
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON remote_skills TO {API_ROLE}")
    op.execute("ALTER TABLE remote_skills ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON remote_skills TO {API_ROLE} "
        f"USING (tenant_id = {_CURRENT_TENANT}) WITH CHECK (tenant_id = {_CURRENT_TENANT})"
    )


def downgrade() -> None:
    with op.batch_alter_table("remote_skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remote_skills_tenant_id"))
    op.drop_table("remote_skills")
