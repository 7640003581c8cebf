"""The management API's operations, one module per resource."""

from __future__ import annotations

import importlib

from hablo.api.endpoints import ApiRoutes

# Each module defines `routes = ApiRoutes(<tag>)`. Order is the docs' order.
ROUTE_MODULES = (
    "auth",
    "tenants",
    "settings",
    "replies",
    "skills",
    "users",
    "contacts",
    "privacy",
    "conversations",
    "notifications",
    "messages",
    "labels",
    "saved_replies",
    "services",
    "hours",
    "hours_calendar",
    "bookings",
    "booking_calendar",
    "outbox",
    "channels",
    "whatsapp_web",
    "payment_settings",
    "payments",
    "invoices",
    "webhooks",
    "mercadopago_webhook",
    "audit",
    "admin",
)
# Modules that add operations to another one's routes: the password and second-factor
# operations, on auth's; sending files, on messages'.
ROUTE_ADDONS = ("auth_factors", "auth_passwords", "message_media")


def all_routes() -> list[ApiRoutes]:
    for name in ROUTE_ADDONS:
        importlib.import_module(f"hablo.api.routes.{name}")
    groups: list[ApiRoutes] = []
    for name in ROUTE_MODULES:
        module = importlib.import_module(f"hablo.api.routes.{name}")
        groups.append(module.routes)
    return groups
