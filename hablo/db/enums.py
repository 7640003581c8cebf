"""Closed vocabularies stored as strings (VARCHAR + CHECK, portable across backends)."""

from enum import StrEnum


class Plan(StrEnum):
    FREE = "free"
    STARTER = "starter"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"


class TenantStatus(StrEnum):
    ACTIVE = "active"
    TRIAL = "trial"
    SUSPENDED = "suspended"


class Role(StrEnum):
    SUPER_ADMIN = "super_admin"
    ADMIN = "admin"
    OWNER = "owner"
    AGENT = "agent"
    CLIENT = "client"


class UserStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    BLOCKED = "blocked"


class ContactKind(StrEnum):
    CUSTOMER = "customer"
    PROSPECT = "prospect"
    VIP = "vip"


class ConversationStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_HUMAN = "waiting_human"
    CLOSED = "closed"


class Topic(StrEnum):
    SALE = "sale"
    SUPPORT = "support"
    INQUIRY = "inquiry"


class SenderKind(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"


class DeliveryStatus(StrEnum):
    RECEIVED = "received"  # inbound
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class InboxStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    # Its turn kept failing for a reason that does not go away: set aside, apologized for.
    QUARANTINED = "quarantined"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # exhausted retries or permanent error


class BookingStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class PaymentMethod(StrEnum):
    STRIPE = "stripe"
    MERCADOPAGO = "mercadopago"
    CASH = "cash"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
