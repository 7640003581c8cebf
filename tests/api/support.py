"""Driving the management API over real HTTP: a live server, users of every role, and
clients that carry their access token."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from sqlalchemy import select

from hablo.adapters.console import ConsoleSender, run_console
from hablo.api.server import token_service
from hablo.bootstrap import Runtime, bootstrap
from hablo.db.enums import Role
from hablo.db.models import Tenant, User
from hablo.demo import seed_demo, seed_salon
from hablo.security.principal import Principal
from tests.conftest import make_settings
from tests.e2e.server import ServerThread, serve

# A bcrypt hash of nothing anyone can type: users made here log in by minted tokens only.
UNUSABLE_HASH = "!"


class Client:
    """requests.Session bound to the server, optionally with a bearer token."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.token = token
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.http.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


@dataclass
class Api:
    """A running API with helpers to make tenants and users."""

    server: ServerThread
    runtime: Runtime
    _users: dict[tuple[str, Role], tuple[uuid.UUID, str]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def anonymous(self) -> Client:
        return Client(self.base_url)

    def tenant_id(self, slug: str = "demo") -> uuid.UUID:
        with self.runtime.db.transaction() as session:
            found = session.scalars(select(Tenant.id).where(Tenant.slug == slug)).first()
            if found is None:
                found = seed_salon(session, slug, f"Salon {slug}")
            return found

    def user(self, role: Role, tenant: str = "demo") -> tuple[uuid.UUID, str]:
        """A user of that role in that tenant and an access token for them (cached)."""
        key = (tenant, role)
        if key not in self._users:
            tenant_id = None if role is Role.SUPER_ADMIN else self.tenant_id(tenant)
            with self.runtime.db.transaction() as session:
                user = User(
                    tenant_id=tenant_id,
                    email=f"{role.value}.{uuid.uuid4().hex[:8]}@{tenant}.test",
                    first_name=role.value.title(),
                    password_hash=UNUSABLE_HASH,
                    role=role,
                )
                session.add(user)
                session.flush()
                user_id = user.id
            principal = Principal(user_id=user_id, tenant_id=tenant_id, role=role)
            token = token_service(self.runtime).issue_access(principal)
            self._users[key] = (user_id, token)
        return self._users[key]

    def as_role(self, role: Role, tenant: str = "demo") -> Client:
        return Client(self.base_url, self.user(role, tenant)[1])


@contextmanager
def live_api(db_url: str, **overrides: Any) -> Iterator[Api]:
    """The real server (console channel) on a real port, demo tenant seeded; settings
    overrides for tests that need other limits."""
    runtime = bootstrap(
        make_settings(db_url, channels=["console"], **overrides), upgrade_schema=False
    )
    with runtime.db.transaction() as session:
        seed_demo(session)
    try:
        with serve(runtime) as server:
            yield Api(server, runtime)
    finally:
        runtime.db.dispose()


class ConsoleCustomer:
    """A customer writing to the running bot on the console channel; `ask` returns the
    bot's answer to one message."""

    def __init__(self, api: Api, phone: str) -> None:
        self.api = api
        self.phone = phone
        self.tenant_id = api.tenant_id()
        self.out = io.StringIO()
        api.runtime.engine.add_sender(ConsoleSender(self.out, prefix=""))

    def ask(self, text: str) -> str:
        before = len(self.out.getvalue())
        assert run_console(self.api.runtime.engine, self.tenant_id, self.phone, [text]) == 1
        return self.out.getvalue()[before:]
