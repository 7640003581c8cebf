"""The e-mail channel end to end, on SQLite and PostgreSQL: mail sent with smtplib to our
real SMTP receiver (or fetched by the poller from a fake IMAP server), the real engine and
database, and the reply arriving, threaded, at a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from typing import Any

import pytest
from sqlalchemy import select

from hablo.bootstrap import bootstrap
from hablo.db.enums import OutboxStatus, Role, SenderKind
from hablo.db.models import Contact, Conversation, InboxEvent, OutboxMessage
from hablo.db.models import Message as Row
from hablo.demo import seed_demo
from tests.api.support import Api
from tests.conftest import make_settings
from tests.e2e.server import serve, wait_until
from tests.integration.helpers import count
from tests.providers.fake_imap import FakeImap
from tests.providers.fake_smtp import Inbox, fake_smtp

MAILBOX = "turnos@salon.test"
# A first reply builds the tenant's NLU; on a loaded two-core CI machine that is slow.
REPLY_WAIT_S = 30.0
CUSTOMER = "ana@cliente.test"
QUESTION = "Hola, ¿cuánto cuesta el corte de pelo?"
QUOTED_TAIL = (
    "\n\nGracias\n-- \nAna Pérez\nTel. 11 5555 0001\n\n"
    "El lun, 1 dic 2026 a las 10:00, Salón <turnos@salon.test> escribió:\n"
    "> ¡Hola! Soy el asistente del salón. Reservá tu turno de coloración.\n"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailer:
    """The customer's side: sends mail to our receiver."""

    def __init__(self, port: int) -> None:
        self.port = port

    def send(
        self,
        body: str,
        *,
        message_id: str,
        sender: str = CUSTOMER,
        to: str = MAILBOX,
        subject: str = "Consulta",
        **headers: str,
    ) -> None:
        mail = EmailMessage()
        mail["From"] = f"Ana Pérez <{sender}>"
        mail["To"] = to
        mail["Subject"] = subject
        mail["Message-ID"] = message_id
        for name, value in headers.items():
            mail[name.replace("_", "-")] = value
        mail.set_content(body)
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as smtp:
            smtp.send_message(mail)


@contextmanager
def live_email(db_url: str, **overrides: Any) -> Iterator[tuple[Api, Mailer]]:
    port = free_port()
    settings = make_settings(
        db_url, channels=["console", "email"], email_smtp_port=port, **overrides
    )
    runtime = bootstrap(settings, upgrade_schema=False)
    with runtime.db.transaction() as session:
        seed_demo(session)
    try:
        with serve(runtime) as server:
            yield Api(server, runtime), Mailer(port)
    finally:
        runtime.db.dispose()


def connect(api: Api, smtp_port: int, **config: Any) -> None:
    """The owner connects the mailbox: POST /api/channels."""
    secrets = config.pop("secrets", {})
    created = api.as_role(Role.OWNER).post(
        "/api/channels",
        json={
            "channel": "email",
            "address": MAILBOX,
            "display_name": "Salón (e-mail)",
            "config": {
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp_port,
                "smtp_security": "none",
                "from_name": "Salón Demo",
                **config,
            },
            "secrets": secrets,
        },
    )
    assert created.status_code == 201, created.text


@pytest.fixture
def outgoing() -> Iterator[tuple[Inbox, int]]:
    with fake_smtp() as running:
        yield running


@pytest.fixture
def chat(db_url: str, outgoing: tuple[Inbox, int]) -> Iterator[tuple[Api, Mailer, Inbox]]:
    inbox, port = outgoing
    with live_email(db_url) as (api, mailer):
        connect(api, port)
        yield api, mailer, inbox


def _sent_ids(api: Api) -> list[str | None]:
    with api.runtime.db.transaction() as session:
        return list(session.scalars(select(OutboxMessage.provider_message_id)))


def settle() -> None:
    time.sleep(0.5)  # room for a wrong extra send to show up


def test_a_mail_gets_a_threaded_reply_and_the_nlu_reads_only_the_new_words(
    chat: tuple[Api, Mailer, Inbox],
) -> None:
    api, mailer, inbox = chat
    mailer.send(QUESTION + QUOTED_TAIL, message_id="<q1@cliente.test>")

    reply = inbox.wait_for(CUSTOMER, timeout=REPLY_WAIT_S)
    assert str(make_header(decode_header(reply["From"]))) == f"Salón Demo <{MAILBOX}>"
    assert reply["Subject"] == "Re: Consulta"
    assert reply["In-Reply-To"] == "<q1@cliente.test>"
    assert "<q1@cliente.test>" in reply["References"]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["Message-ID"].endswith("@salon.test>")
    body = Inbox.body(reply)
    assert "corte" in body.lower() and "$" in body

    with api.runtime.db.transaction() as session:
        said = session.scalars(select(Row.body).where(Row.sender_kind == SenderKind.CUSTOMER))
        # History and signature stripped before NLU: only the customer's new words.
        assert said.all() == [QUESTION + "\n\nGracias"]
        contact = session.scalars(select(Contact)).one()
        assert contact.email == CUSTOMER and contact.name == "Ana Pérez"
    # The send is marked in the outbox just after the mail left: wait for that commit.
    sent_ids = wait_until(
        lambda: [i for i in _sent_ids(api) if i], what="the outbox row marked sent"
    )
    assert sent_ids == [reply["Message-ID"]]


def test_the_same_mail_five_times_is_one_message_and_one_reply(
    chat: tuple[Api, Mailer, Inbox],
) -> None:
    api, mailer, inbox = chat
    for _ in range(5):
        mailer.send(QUESTION, message_id="<dup@cliente.test>")
    inbox.wait_for(CUSTOMER, timeout=REPLY_WAIT_S)
    settle()
    assert len(inbox.to(CUSTOMER)) == 1
    assert count(api.runtime, InboxEvent) == 1
    assert count(api.runtime, Row, Row.sender_kind == SenderKind.CUSTOMER) == 1


def test_the_customers_answer_in_the_thread_stays_in_one_conversation(
    chat: tuple[Api, Mailer, Inbox],
) -> None:
    api, mailer, inbox = chat
    mailer.send(QUESTION, message_id="<t1@cliente.test>")
    first = inbox.wait_for(CUSTOMER, timeout=REPLY_WAIT_S)
    mailer.send(
        "¿Y abren el sábado?\n\nOn Mon, Dec 1, 2026 at 10:00 AM Salón Demo\n"
        "<turnos@salon.test> wrote:\n> " + Inbox.body(first).replace("\n", "\n> "),
        message_id="<t2@cliente.test>",
        subject="Re: Consulta",
        In_Reply_To=first["Message-ID"],
        References=f"<t1@cliente.test> {first['Message-ID']}",
    )
    second = inbox.wait_for(CUSTOMER, count=2, timeout=REPLY_WAIT_S)
    assert second["Subject"] == "Re: Consulta"
    assert second["In-Reply-To"] == "<t2@cliente.test>"
    references = second["References"].split()
    assert references == ["<t1@cliente.test>", first["Message-ID"], "<t2@cliente.test>"]
    assert count(api.runtime, Conversation) == 1
    with api.runtime.db.transaction() as session:
        said = session.scalars(
            select(Row.body).where(Row.sender_kind == SenderKind.CUSTOMER).order_by(Row.created_at)
        ).all()
    assert said == [QUESTION, "¿Y abren el sábado?"]


def test_an_unknown_mailbox_is_refused_at_rcpt_and_nothing_is_stored(
    chat: tuple[Api, Mailer, Inbox],
) -> None:
    api, mailer, _ = chat
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        mailer.send(QUESTION, message_id="<x1@cliente.test>", to="otro@salon.test")
    assert refused.value.recipients["otro@salon.test"][0] == 550
    assert count(api.runtime, InboxEvent) == 0


def test_auto_replies_and_bounces_are_accepted_but_never_answered(
    chat: tuple[Api, Mailer, Inbox],
) -> None:
    api, mailer, inbox = chat
    mailer.send(
        "Estoy de vacaciones", message_id="<ooo@cliente.test>", Auto_Submitted="auto-replied"
    )
    mailer.send(
        "Delivery failed", message_id="<b1@cliente.test>", sender="mailer-daemon@cliente.test"
    )
    mailer.send(QUESTION, message_id="<real@cliente.test>")
    inbox.wait_for(CUSTOMER, timeout=REPLY_WAIT_S)
    settle()
    assert len(inbox.to(CUSTOMER)) == 1
    assert count(api.runtime, InboxEvent) == 1


class FlakyInbox(Inbox):
    """Refuses the first deliveries with the given SMTP replies, then accepts."""

    def __init__(self, refusals: list[str]) -> None:
        super().__init__()
        self.refusals = refusals
        self.tries = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.tries += 1
        if self.refusals:
            return self.refusals.pop(0)
        return await super().handle_DATA(server, session, envelope)


@contextmanager
def flaky_smtp(refusals: list[str]) -> Iterator[tuple[FlakyInbox, int]]:
    from aiosmtpd.controller import Controller

    handler = FlakyInbox(refusals)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_a_busy_mail_server_is_retried_and_the_reply_sent_once(db_url: str) -> None:
    with (
        flaky_smtp(["451 4.3.0 busy", "421 4.7.0 try later"]) as (inbox, port),
        live_email(db_url) as (api, mailer),
    ):
        connect(api, port)
        mailer.send(QUESTION, message_id="<busy@cliente.test>")
        inbox.wait_for(CUSTOMER, timeout=REPLY_WAIT_S)
        settle()
        assert inbox.tries == 3
        assert len(inbox.to(CUSTOMER)) == 1
        assert count(api.runtime, OutboxMessage, OutboxMessage.status == OutboxStatus.SENT)


def test_a_refused_recipient_is_dead_lettered_with_the_servers_answer(db_url: str) -> None:
    with (
        flaky_smtp(["550 5.1.1 no such user"]) as (inbox, port),
        live_email(db_url) as (api, mailer),
    ):
        connect(api, port)
        mailer.send(QUESTION, message_id="<gone@cliente.test>")
        dead = wait_until(
            lambda: api.as_role(Role.OWNER).get("/api/outbox?status=dead").json()["items"],
            what="dead letter",
        )
        assert "550" in dead[0]["last_error"]
        settle()
        assert inbox.tries == 1  # a permanent refusal is not retried


def imap_mail(sender: str, message_id: str, body: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = MAILBOX
    mail["Subject"] = "Turno"
    mail["Message-ID"] = message_id
    mail.set_content(body)
    return bytes(mail)


def connect_polled(api: Api, smtp_port: int, imap: FakeImap) -> None:
    """The mailbox, also fetched from the fake IMAP server."""
    connect(
        api,
        smtp_port,
        imap_host="127.0.0.1",
        imap_port=imap.port,
        imap_security="none",
        secrets={"imap_password": "imap-secret"},
    )


def test_an_imap_mailbox_is_polled_and_each_mail_answered_once(
    db_url: str, outgoing: tuple[Inbox, int]
) -> None:
    inbox, port = outgoing
    imap = FakeImap(MAILBOX, "imap-secret").start()
    imap.deliver(imap_mail("luis@cliente.test", "<i1@cliente.test>", QUESTION))
    imap.deliver(imap_mail("sol@cliente.test", "<i2@cliente.test>", "hola, ¿qué horario tienen?"))
    try:
        with live_email(db_url, email_imap_poll_s=0.2) as (api, _):
            connect_polled(api, port, imap)
            first: Message = inbox.wait_for("luis@cliente.test", timeout=REPLY_WAIT_S)
            inbox.wait_for("sol@cliente.test", timeout=REPLY_WAIT_S)
            assert first["In-Reply-To"] == "<i1@cliente.test>"
            wait_until(lambda: len(imap.seen()) == 2, what="both mails flagged seen")
            assert imap.logins[0] == (MAILBOX, "imap-secret")
            # The flags are lost (as after a crash between storing and flagging): the
            # mails are fetched again, and their Message-IDs make that a no-op.
            for mail in imap.mails:
                mail.flags.clear()
            wait_until(lambda: len(imap.seen()) == 2, what="mails flagged again")
            settle()
            assert len(inbox.to("luis@cliente.test")) == 1
            assert len(inbox.to("sol@cliente.test")) == 1
            assert count(api.runtime, InboxEvent) == 2
    finally:
        imap.stop()


def test_an_imap_login_failure_is_logged_and_retried_without_the_password(
    db_url: str, outgoing: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    inbox, port = outgoing
    imap = FakeImap(MAILBOX, "imap-secret").start()
    imap.fail_logins = True
    imap.deliver(imap_mail("luis@cliente.test", "<f1@cliente.test>", QUESTION))
    try:
        with live_email(db_url, email_imap_poll_s=0.2) as (api, _):
            connect_polled(api, port, imap)
            wait_until(lambda: len(imap.logins) >= 2, what="a second login attempt")
            imap.fail_logins = False
            inbox.wait_for("luis@cliente.test", timeout=REPLY_WAIT_S)
    finally:
        imap.stop()
    failures = [r.getMessage() for r in caplog.records if "IMAP poll" in r.getMessage()]
    assert failures and all("imap-secret" not in line for line in failures)
