"""Creating the platform's super admins: they belong to no tenant, so no API call can
make one (the users API only manages a tenant's own staff). `hablo admin create` does."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hablo.db.enums import Role
from hablo.db.models import AuditLog, User
from hablo.domain.contacts import normalize_email
from hablo.security.passwords import hash_password, password_problems


class AdminRefused(ValueError):
    """The admin cannot be created as asked (bad e-mail, weak password, e-mail taken)."""


def create_super_admin(session: Session, email: str, first_name: str, password: str) -> User:
    try:
        address = normalize_email(email)
    except ValueError as exc:
        raise AdminRefused(f"invalid e-mail: {exc}") from exc
    problems = password_problems(password, address)
    if problems:
        raise AdminRefused("weak password: " + "; ".join(problems))
    taken = session.scalar(select(User.id).where(func.lower(User.email) == address))
    if taken is not None:
        raise AdminRefused(f"a user with e-mail {address} already exists")
    user = User(
        tenant_id=None,
        email=address,
        first_name=first_name.strip()[:100] or "Admin",
        password_hash=hash_password(password),
        role=Role.SUPER_ADMIN,  # 2FA is mandatory for the role: the first login asks for it
    )
    session.add(user)
    session.flush()
    session.add(
        AuditLog(
            tenant_id=None,
            actor_user_id=None,
            action="create",
            entity="user",
            entity_id=str(user.id),
            changes={"role": Role.SUPER_ADMIN.value, "email": address, "via": "cli"},
            source_ip=None,
        )
    )
    return user
