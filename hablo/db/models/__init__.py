"""All tables. Import from here so Alembic and the app see one metadata."""

from hablo.db.models.audit import AuditLog
from hablo.db.models.auth import OneTimeCode, RefreshToken
from hablo.db.models.catalog import BusinessHours, Holiday, Service, SpecialHours
from hablo.db.models.channels import ChannelAccount
from hablo.db.models.commerce import Booking, Invoice, Payment
from hablo.db.models.conversations import (
    Contact,
    ContactIdentity,
    Conversation,
    ConversationNote,
    Message,
)
from hablo.db.models.delivery import InboxEvent, OutboxMessage
from hablo.db.models.inbox import ConversationLabel, Label, SavedReply
from hablo.db.models.llm import LlmMonthlyUsage, LlmUsage
from hablo.db.models.nlu import NluModel
from hablo.db.models.notifications import NotificationMail, StaffNotification
from hablo.db.models.payments_ledger import InvoiceCounter, WebhookEvent
from hablo.db.models.remote_skills import RemoteSkill
from hablo.db.models.tenancy import Tenant, TenantSkill, User
from hablo.db.models.workers import ShardFence

__all__ = [
    "AuditLog",
    "Booking",
    "BusinessHours",
    "ChannelAccount",
    "Contact",
    "ContactIdentity",
    "Conversation",
    "ConversationLabel",
    "ConversationNote",
    "Holiday",
    "InboxEvent",
    "Invoice",
    "InvoiceCounter",
    "Label",
    "LlmMonthlyUsage",
    "LlmUsage",
    "Message",
    "NluModel",
    "NotificationMail",
    "OneTimeCode",
    "OutboxMessage",
    "Payment",
    "RefreshToken",
    "RemoteSkill",
    "SavedReply",
    "Service",
    "ShardFence",
    "SpecialHours",
    "StaffNotification",
    "Tenant",
    "TenantSkill",
    "User",
    "WebhookEvent",
]
