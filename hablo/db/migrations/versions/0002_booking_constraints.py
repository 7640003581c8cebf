"""booking constraints: resources, buffers and no double booking in the database

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Adds bookings.resource (which chair/staff slot, 1..capacity) and bookings.blocked_until
(ends_at + buffer), and makes the database refuse two active (pending/confirmed) bookings
of one tenant on one resource whose [starts_at, blocked_until) ranges overlap:

- PostgreSQL: an exclusion constraint over a GiST index (btree_gist for the = parts).
  A violation is SQLSTATE 23P01 (exclusion_violation), an IntegrityError.
- SQLite: BEFORE INSERT / BEFORE UPDATE triggers that RAISE(ABORT, 'booking overlaps')
  (SQLITE_CONSTRAINT, an IntegrityError). SQLite stores UTCDateTime as UTC text
  'YYYY-MM-DD HH:MM:SS.ffffff', which sorts like time, so the triggers compare text (and
  can use ix_bookings_tenant_start); they refuse any other text format so that a writer
  bypassing the ORM cannot slip past the comparison.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hablo.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "('pending', 'confirmed')"

PG_EXCLUSION = f"""
ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlap
EXCLUDE USING gist (
    tenant_id WITH =,
    resource WITH =,
    tstzrange(starts_at, blocked_until) WITH &&
) WHERE (status IN {ACTIVE})
"""

_DIGIT = "[0-9]"
_UTC_TEXT = (
    f"{_DIGIT * 4}-{_DIGIT * 2}-{_DIGIT * 2} {_DIGIT * 2}:{_DIGIT * 2}:{_DIGIT * 2}.{_DIGIT * 6}"
)

_SQLITE_TRIGGER_BODY = f"""
WHEN NEW.status IN {ACTIVE}
BEGIN
    SELECT RAISE(ABORT, 'booking times must be UTC text YYYY-MM-DD HH:MM:SS.ffffff')
    WHERE NOT (NEW.starts_at GLOB '{_UTC_TEXT}' AND NEW.blocked_until GLOB '{_UTC_TEXT}');
    SELECT RAISE(ABORT, 'booking overlaps')
    WHERE EXISTS (
        SELECT 1 FROM bookings AS other
        WHERE other.tenant_id = NEW.tenant_id
          AND other.resource = NEW.resource
          AND other.status IN {ACTIVE}
          AND other.id IS NOT NEW.id
          AND other.starts_at < NEW.blocked_until
          AND NEW.starts_at < other.blocked_until
    );
END
"""

SQLITE_TRIGGERS = {
    "bookings_no_overlap_insert": "BEFORE INSERT ON bookings",
    "bookings_no_overlap_update": (
        "BEFORE UPDATE OF tenant_id, resource, starts_at, blocked_until, status ON bookings"
    ),
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("resource", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("blocked_until", hablo.db.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE bookings SET blocked_until = ends_at")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.alter_column(
            "blocked_until",
            existing_type=hablo.db.base.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_bookings_resource_positive"), "resource >= 1"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_bookings_blocked_after_end"), "blocked_until >= ends_at"
        )

    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(PG_EXCLUSION)
    elif dialect == "sqlite":
        # After the batch operations: recreating the table would drop its triggers.
        for name, timing in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {timing} {_SQLITE_TRIGGER_BODY}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # btree_gist stays: other objects may use it, and it is harmless.
        op.execute("ALTER TABLE bookings DROP CONSTRAINT IF EXISTS ex_bookings_no_overlap")
    elif dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_bookings_blocked_after_end"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_bookings_resource_positive"), type_="check")
        batch_op.drop_column("blocked_until")
        batch_op.drop_column("resource")
