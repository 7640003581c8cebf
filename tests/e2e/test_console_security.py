"""The console's security over real HTTP: cookie flags, CSRF and Origin checks, the CSP,
the permission table on posted actions, session end (log out everywhere, expiry), and
the API's lockout on the console's sign-in form."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from hablo.api.server import token_service
from hablo.db.enums import Role, TenantStatus
from hablo.db.models import (
    Contact,
    Conversation,
    ConversationLabel,
    Label,
    SavedReply,
    Tenant,
    User,
)
from hablo.demo import seed_salon
from hablo.security.principal import Principal
from tests.e2e.console_support import PASSWORD, Console, console_server

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def console(db_url: str) -> Iterator[Console]:
    with console_server(db_url, trusted_proxies=["127.0.0.1/32"]) as running:
        yield running


def _csrf(page: requests.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def _signed_in(console: Console, role: Role = Role.AGENT) -> tuple[requests.Session, str]:
    """A browser-like session signed in through the form (agents have no second factor)."""
    browser = requests.Session()
    email = console.user(role)
    form = browser.get(console.url("/app/login"), timeout=30)
    done = browser.post(
        console.url("/app/login"),
        data={"csrf": _csrf(form), "email": email, "password": PASSWORD, "next": "/app/inbox"},
        timeout=30,
        allow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["Location"] == "/app/inbox", done.text
    return browser, email


def _a_conversation(console: Console) -> uuid.UUID:
    with console.runtime.db.transaction() as session:
        contact = Contact(tenant_id=console.tenant_id, name="Marta", phone="+34600000001")
        session.add(contact)
        session.flush()
        conversation = Conversation(
            tenant_id=console.tenant_id, contact_id=contact.id, channel="webchat", peer="v-1"
        )
        session.add(conversation)
        session.flush()
        return conversation.id


def test_cookies_csp_and_csrf(console: Console) -> None:
    page = requests.get(
        console.url("/app/login"), headers={"X-Forwarded-Proto": "https"}, timeout=30
    )
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    csp = page.headers["Content-Security-Policy"]
    assert "'nonce-" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "Secure" not in requests.get(console.url("/app/login"), timeout=30).headers["Set-Cookie"]

    browser, _ = _signed_in(console)
    session_cookie = next(c for c in browser.cookies if c.name == "hablo_session")
    assert session_cookie.has_nonstandard_attr("HttpOnly")
    conversation_id = _a_conversation(console)
    take = console.url(f"/app/conversations/{conversation_id}/take")
    token = _csrf(browser.get(console.url(f"/app/conversations/{conversation_id}"), timeout=30))
    # No token, a wrong one, or a post from another site: refused, nothing changes.
    assert browser.post(take, data={}, timeout=30).status_code == 403
    assert browser.post(take, data={"csrf": "x" * 43}, timeout=30).status_code == 403
    cross = browser.post(
        take, data={"csrf": token}, headers={"Origin": "https://evil.example"}, timeout=30
    )
    assert cross.status_code == 403
    with console.runtime.db.transaction() as session:
        assert session.get(Conversation, conversation_id).assigned_agent_id is None  # type: ignore[union-attr]
    # htmx sends the token as a header.
    ok = browser.post(take, headers={"X-CSRF-Token": token, "HX-Request": "true"}, timeout=30)
    assert ok.status_code == 200 and 'id="assignee"' in ok.text


def test_a_role_without_the_permission_is_refused(console: Console) -> None:
    conversation_id = _a_conversation(console)
    client, _ = _signed_in(console, Role.CLIENT)
    page = client.get(console.url("/app/security"), timeout=30)
    token = _csrf(page)
    assert client.get(console.url("/app/inbox"), timeout=30).status_code == 403
    for action in ("take", "close", "release", "reply", "notes"):
        posted = client.post(
            console.url(f"/app/conversations/{conversation_id}/{action}"),
            data={"csrf": token, "text": "hola", "body": "nota"},
            timeout=30,
        )
        assert posted.status_code == 403, action

    agent, _ = _signed_in(console)
    settings = agent.get(console.url("/app/inbox/settings"), timeout=30)
    assert settings.status_code == 200
    assert 'action="/app/inbox/settings/replies"' not in settings.text  # not offered ...
    refused = agent.post(  # ... and refused when posted anyway
        console.url("/app/inbox/settings/replies"),
        data={"csrf": _csrf(settings), "shortcut": "hola", "text": "Hola"},
        timeout=30,
    )
    assert refused.status_code == 403
    with console.runtime.db.transaction() as session:
        assert session.scalars(select(SavedReply)).first() is None


def test_log_out_everywhere_and_expiry_end_the_session(console: Console) -> None:
    first, email = _signed_in(console)
    second = requests.Session()
    second.cookies.update(first.cookies)  # the same account in another browser
    page = second.get(console.url("/app/inbox"), timeout=30)
    assert page.status_code == 200
    assert "hablo_session" in page.cookies  # a page view restarts the idle lifetime
    token = _csrf(first.get(console.url("/app/security"), timeout=30))
    out = first.post(
        console.url("/app/logout-all"), data={"csrf": token}, timeout=30, allow_redirects=False
    )
    assert out.status_code == 303
    again = second.get(console.url("/app/inbox"), timeout=30, allow_redirects=False)
    assert again.status_code == 303 and again.headers["Location"].startswith("/app/login")

    # A cookie past its lifetime is no session, whatever it carries.
    with console.runtime.db.transaction() as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        principal = Principal(user.id, user.tenant_id, Role.AGENT)
    stale = token_service(console.runtime).issue_access(
        principal, now=datetime.now(UTC) - timedelta(hours=9), ttl=timedelta(hours=8)
    )
    old = requests.get(
        console.url("/app/inbox"),
        cookies={"hablo_session": stale},
        timeout=30,
        allow_redirects=False,
    )
    assert old.status_code == 303


def test_the_sign_in_form_locks_like_the_api(console: Console) -> None:
    email = console.user(Role.AGENT)
    browser = requests.Session()
    token = _csrf(browser.get(console.url("/app/login"), timeout=30))
    statuses = [
        browser.post(
            console.url("/app/login"),
            data={"csrf": token, "email": email, "password": "wrong-password-1", "next": ""},
            timeout=30,
        ).status_code
        for _ in range(6)
    ]
    assert statuses[:4] == [401] * 4 and statuses[4:] == [423, 423]
    # The same account is locked for the API too (one rule, one counter).
    api = requests.post(
        console.url("/api/auth/login"), json={"email": email, "password": PASSWORD}, timeout=30
    )
    assert api.status_code == 423


def test_another_business_conversation_is_not_found(console: Console) -> None:
    with console.runtime.db.transaction() as session:
        other_tenant = seed_salon(session, "otro-salon", "Otro salón")
        contact = Contact(tenant_id=other_tenant, name="Pablo", phone="+34600000002")
        session.add(contact)
        session.flush()
        foreign = Conversation(
            tenant_id=other_tenant, contact_id=contact.id, channel="webchat", peer="v-2"
        )
        session.add(foreign)
        session.flush()
        foreign_id = foreign.id
    agent, _ = _signed_in(console)
    token = _csrf(agent.get(console.url("/app/security"), timeout=30))
    assert agent.get(console.url(f"/app/conversations/{foreign_id}"), timeout=30).status_code == 404
    for action in ("take", "close", "reply", "notes"):
        posted = agent.post(
            console.url(f"/app/conversations/{foreign_id}/{action}"),
            data={"csrf": token, "text": "hola", "body": "nota"},
            timeout=30,
        )
        assert posted.status_code == 404, action
    listing = agent.get(console.url("/app/inbox"), timeout=30).text
    assert str(foreign_id) not in listing and "Pablo" not in listing


def test_the_sign_in_form_shares_the_api_rate_limit(console: Console) -> None:
    browser = requests.Session()
    token = _csrf(browser.get(console.url("/app/login"), timeout=30))
    statuses = []
    for n in range(11):  # the API allows 10 logins a minute per client address
        statuses.append(
            browser.post(
                console.url("/app/login"),
                data={"csrf": token, "email": f"nadie{n}@example.com", "password": "x" * 12},
                timeout=30,
            ).status_code
        )
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    api = requests.post(
        console.url("/api/auth/login"),
        json={"email": "otro@example.com", "password": "x" * 12},
        timeout=30,
    )
    assert api.status_code == 429  # the same budget: the form's tries count for the API too


def test_a_suspended_business_cannot_label_its_conversations(console: Console) -> None:
    """Labels are written by the console itself (not through an API operation): the
    suspension rule the API applies to every write applies here too."""
    conversation_id = _a_conversation(console)
    with console.runtime.db.transaction() as session:
        label = Label(tenant_id=console.tenant_id, name="VIP")
        session.add(label)
        session.flush()
        label_id = label.id
    agent, _ = _signed_in(console)
    page = agent.get(console.url(f"/app/conversations/{conversation_id}"), timeout=30)
    assert page.status_code == 200
    with console.runtime.db.transaction() as session:
        tenant = session.get(Tenant, console.tenant_id)
        assert tenant is not None
        tenant.status = TenantStatus.SUSPENDED
    refused = agent.post(
        console.url(f"/app/conversations/{conversation_id}/labels"),
        data={"csrf": _csrf(page), "label_id": str(label_id), "on": "1"},
        timeout=30,
    )
    assert refused.status_code == 403, refused.text[:300]
    with console.runtime.db.transaction() as session:
        assert session.scalars(select(ConversationLabel)).first() is None
