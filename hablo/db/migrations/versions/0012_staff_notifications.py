"""staff notifications: one row per event staff should know about (a customer asked for a
person, a booking was made, a channel disconnected), the e-mail deliveries of each, and a
user's own locale for those e-mails

A new booking is recorded by a trigger, in the booking's own transaction, whichever path
wrote it (the bot, the API, the console). On PostgreSQL each insert takes a per-tenant
transaction lock, so a tenant's ids commit in order and "after id" paging misses none.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hablo.db.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

API_ROLE = "hablo_api"
_CURRENT_TENANT = "NULLIF(current_setting('hablo.tenant_id', true), '')::uuid"
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = hablo.db.base.UTCDateTime(timezone=True)
TABLES = ("staff_notifications", "notification_mails")

_PG_BOOKING_FUNCTION = """
CREATE OR REPLACE FUNCTION staff_notify_booking_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(
        hashtextextended('staff_notifications:' || NEW.tenant_id::text, 0));
    INSERT INTO staff_notifications
        (tenant_id, kind, event_key, conversation_id, booking_id, channel, summary, created_at)
    VALUES (
        NEW.tenant_id, 'booking_created', NEW.id::text, NEW.conversation_id, NEW.id,
        (SELECT channel FROM conversations WHERE id = NEW.conversation_id),
        COALESCE((SELECT left(name, 300) FROM services WHERE id = NEW.service_id), ''),
        COALESCE(NEW.created_at, now()))
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$
"""
_PG_BOOKING_TRIGGER = (
    "CREATE TRIGGER staff_notify_booking_created AFTER INSERT ON bookings "
    "FOR EACH ROW EXECUTE FUNCTION staff_notify_booking_created()"
)
_SQLITE_BOOKING_TRIGGER = """
CREATE TRIGGER staff_notify_booking_created AFTER INSERT ON bookings
BEGIN
    INSERT OR IGNORE INTO staff_notifications
        (tenant_id, kind, event_key, conversation_id, booking_id, channel, summary, created_at)
    VALUES (
        NEW.tenant_id, 'booking_created', NEW.id, NEW.conversation_id, NEW.id,
        (SELECT channel FROM conversations WHERE id = NEW.conversation_id),
        COALESCE((SELECT substr(name, 1, 300) FROM services WHERE id = NEW.service_id), ''),
        COALESCE(NEW.created_at, strftime('%Y-%m-%d %H:%M:%f', 'now')));
END
"""


def upgrade() -> None:
    op.create_table(
        "staff_notifications",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("booking_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=24), nullable=True),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("mails_planned_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_staff_notifications_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_staff_notifications_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_staff_notifications_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_notifications")),
        sa.UniqueConstraint(
            "tenant_id",
            "kind",
            "event_key",
            name=op.f("uq_staff_notifications_tenant_id_kind_event_key"),
        ),
    )
    with op.batch_alter_table("staff_notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_notifications_tenant_id"), ["tenant_id"])
        batch_op.create_index("ix_staff_notifications_tenant_id_id", ["tenant_id", "id"])
        batch_op.create_index("ix_staff_notifications_unplanned", ["mails_planned_at", "id"])
        batch_op.create_index(
            batch_op.f("ix_staff_notifications_conversation_id"), ["conversation_id"]
        )
        batch_op.create_index(batch_op.f("ix_staff_notifications_booking_id"), ["booking_id"])
    op.create_table(
        "notification_mails",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", _SERIAL, nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TIME, nullable=False),
        sa.Column("claimed_until", _TIME, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("sent_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_notification_mails_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["staff_notifications.id"],
            name=op.f("fk_notification_mails_notification_id_staff_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_mails")),
        sa.UniqueConstraint(
            "notification_id",
            "address",
            name=op.f("uq_notification_mails_notification_id_address"),
        ),
    )
    with op.batch_alter_table("notification_mails", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_mails_tenant_id"), ["tenant_id"])
        batch_op.create_index("ix_notification_mails_due", ["status", "next_attempt_at"])
        batch_op.create_index("ix_notification_mails_tenant_sent", ["tenant_id", "sent_at"])
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=16), nullable=True))

    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.execute(_SQLITE_BOOKING_TRIGGER)
        return
    op.execute(_PG_BOOKING_FUNCTION)
    op.execute(_PG_BOOKING_TRIGGER)
    has_role = bind.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}'").scalar()
    if not has_role:
        return
    # Tenant tables like the others of 0003: the API's role sees only its tenant's rows.
    for table in TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {API_ROLE}")
        op.execute(f"GRANT USAGE, SELECT ON SEQUENCE {table}_id_seq TO {API_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {API_ROLE} "
            f"USING (tenant_id = {_CURRENT_TENANT}) WITH CHECK (tenant_id = {_CURRENT_TENANT})"
        )


def downgrade() -> None:
    bind = op.get_bind()
    op.execute(
        "DROP TRIGGER IF EXISTS staff_notify_booking_created"
        + (" ON bookings" if bind.dialect.name == "postgresql" else "")
    )
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS staff_notify_booking_created()")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("locale")
    op.drop_table("notification_mails")
    op.drop_table("staff_notifications")
