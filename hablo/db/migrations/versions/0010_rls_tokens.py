"""row-level security on refresh_tokens and one_time_codes: login sessions and single-use
codes belong to a tenant through their user, so the API's tenant-scoped transactions see
(and can revoke or issue) only those of their own tenant's users

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

API_ROLE = "hablo_api"
_CURRENT_TENANT = "NULLIF(current_setting('hablo.tenant_id', true), '')::uuid"
# These tables carry no tenant_id: a row is the tenant's when its user is.


def _own_user(table: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM users WHERE users.id = {table}.user_id "
        f"AND users.tenant_id = {_CURRENT_TENANT})"
    )


TABLES = ("refresh_tokens", "one_time_codes")


def _has_api_role() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    found = bind.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}'").scalar()
    return bool(found)


def upgrade() -> None:
    if not _has_api_role():
        return
    for table in TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {API_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        own = _own_user(table)
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {API_ROLE} "
            f"USING ({own}) WITH CHECK ({own})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
