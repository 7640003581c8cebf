"""Who may do what: the RBAC table of the management API.

Every operation names one permission; a role may call it when the permission lists the
role. Tenant roles act only inside their own tenant (queries are scoped by
construction); `super_admin` belongs to no tenant and runs the platform operations.
The README prints this table; tests walk every route with every role against it.
"""

from __future__ import annotations

from hablo.db.enums import Role

SUPER = Role.SUPER_ADMIN
OWNER = Role.OWNER
ADMIN = Role.ADMIN
AGENT = Role.AGENT
CLIENT = Role.CLIENT

_MANAGERS = frozenset({OWNER, ADMIN})
_STAFF = frozenset({OWNER, ADMIN, AGENT})
_TENANT_MEMBERS = frozenset({OWNER, ADMIN, AGENT, CLIENT})
_EVERYONE = frozenset(Role)

PERMISSIONS: dict[str, frozenset[Role]] = {
    # Your own account: profile, logout, second factor.
    "self": _EVERYONE,
    # The business itself.
    "tenant:read": _TENANT_MEMBERS,
    "tenant:write": _MANAGERS,
    "tenant:plan": frozenset({OWNER}),
    "tenant:usage": _MANAGERS,
    "settings:read": _MANAGERS,
    "settings:write": _MANAGERS,
    "audit:read": _MANAGERS,
    # Which installed skills the business runs, and their config.
    "skills:read": _MANAGERS,
    "skills:write": _MANAGERS,
    # People of the business.
    "users:read": _STAFF,
    "users:write": _MANAGERS,
    # Customers.
    "contacts:read": _STAFF,
    "contacts:write": _STAFF,
    "contacts:delete": _MANAGERS,
    "contacts:import": _MANAGERS,
    "contacts:export": _MANAGERS,
    "contacts:privacy": _MANAGERS,  # GDPR export / erase
    # Conversations and messages.
    "conversations:read": _STAFF,
    "conversations:write": _STAFF,
    # What staff should know (handoff requests, bookings, channel drops): as conversations.
    "notifications:read": _STAFF,
    "messages:send": _STAFF,
    "messages:search": _STAFF,
    # Catalogue and calendar.
    "services:read": _TENANT_MEMBERS,
    "services:write": _MANAGERS,
    "hours:read": _TENANT_MEMBERS,
    "hours:write": _MANAGERS,
    "bookings:read": _STAFF,
    "bookings:write": _STAFF,
    "bookings:override": _MANAGERS,  # book outside opening hours / booking rules (force)
    # Channels and delivery.
    "channels:read": _MANAGERS,
    "channels:write": _MANAGERS,
    "outbox:read": _MANAGERS,
    "outbox:write": _MANAGERS,
    # Money. Refunds and the provider keys move money: the owner only.
    "payments:read": _MANAGERS,
    "payments:write": _MANAGERS,
    "payments:refund": frozenset({OWNER}),
    "payments:configure": frozenset({OWNER}),
    # The platform.
    "admin:tenants": frozenset({SUPER}),
    "admin:usage": frozenset({SUPER}),
}


def is_allowed(role: Role, permission: str) -> bool:
    return role in PERMISSIONS[permission]


def markdown_table() -> str:
    """The table as Markdown, for the README (`hablo api permissions`)."""
    roles = [SUPER, OWNER, ADMIN, AGENT, CLIENT]
    lines = [
        "| permission | " + " | ".join(r.value for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for name, allowed in PERMISSIONS.items():
        marks = " | ".join("✓" if r in allowed else "" for r in roles)
        lines.append(f"| `{name}` | {marks} |")
    return "\n".join(lines)
