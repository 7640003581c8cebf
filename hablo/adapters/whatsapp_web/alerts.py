"""The e-mail the tenant's owners and admins get when a linked WhatsApp Web drops."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from hablo.db.enums import Role, UserStatus
from hablo.db.models import Tenant, User
from hablo.tenancy.mails import MailText, language_of

_LOST = {
    "es": MailText(
        "{tenant}: WhatsApp Web se desconectó",
        "Hola:\n\nEl WhatsApp de {tenant}{phone} dejó de estar vinculado a hablo, así que el "
        "bot no está recibiendo ni respondiendo mensajes por ese número.\n\nPara volver a "
        "vincularlo, pedí un código nuevo con POST /api/whatsapp/qr y escanealo desde "
        "WhatsApp > Dispositivos vinculados.\n",
    ),
    "en": MailText(
        "{tenant}: WhatsApp Web disconnected",
        "Hello,\n\n{tenant}'s WhatsApp{phone} is no longer linked to hablo, so the bot is not "
        "receiving or answering messages on that number.\n\nTo link it again, get a new code "
        "with POST /api/whatsapp/qr and scan it from WhatsApp > Linked devices.\n",
    ),
}


def connection_lost_mail(locale: str | None, tenant: str, phone: str | None) -> MailText:
    text = _LOST[language_of(locale)]
    values = {"tenant": tenant, "phone": f" (+{phone})" if phone else ""}
    return MailText(text.subject.format(**values), text.body.format(**values))


def manager_emails(
    session: Session, tenant_id: uuid.UUID
) -> tuple[tuple[str, ...], str, str | None]:
    """Active owners' and admins' addresses, the tenant's name and locale."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        return (), "", None
    emails = session.scalars(
        select(User.email)
        .where(
            User.tenant_id == tenant_id,
            User.role.in_((Role.OWNER, Role.ADMIN)),
            User.status == UserStatus.ACTIVE,
        )
        .order_by(User.email)
    ).all()
    return tuple(emails), tenant.name, tenant.locale
