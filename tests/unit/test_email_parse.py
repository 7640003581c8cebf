"""What reaches the NLU from a mail: history and signatures cut off, in es and en, from the
shapes Gmail, Outlook, Apple Mail and phones write; and the headers a reply threads on."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from hablo.adapters.email.parse import MailRejected, html_to_text, parse_mail
from hablo.adapters.email.quotes import bare_subject, reply_subject, strip_reply


@pytest.mark.parametrize(
    ("mail", "new"),
    [
        (
            "¿Tienen turno el jueves?\n\nEl mar, 2 dic 2026 a las 9:15, Salón <a@b.c>"
            " escribió:\n> hola",
            "¿Tienen turno el jueves?",
        ),
        (
            "Is Saturday open?\n\nOn Tue, Dec 2, 2026 at 9:15 AM Salon <a@b.c> wrote:\n> hi",
            "Is Saturday open?",
        ),
        # Gmail wraps the header line.
        (
            "Sí, confirmo\n\nOn Tue, Dec 2, 2026 at 9:15 AM Salon Demo\n"
            "<turnos@salon.test> wrote:\n> x",
            "Sí, confirmo",
        ),
        (
            "Quiero cancelar\n\n-----Mensaje original-----\nDe: Salón\nEnviado: martes\n\nhola",
            "Quiero cancelar",
        ),
        (
            "Cancel please\n\n________________________________\nFrom: Salon <a@b.c>\nSent: Tuesday",
            "Cancel please",
        ),
        (
            "precio?\n\nDe: Salón <a@b.c>\nFecha: martes, 2 de diciembre\nPara: yo\n\nhola",
            "precio?",
        ),
        ("gracias!\n-- \nAna Pérez\nGerente", "gracias!"),
        ("ok, el viernes\n\nEnviado desde mi iPhone", "ok, el viernes"),
        ("see you then\n\nSent from my Galaxy", "see you then"),
        ("> todo citado\n> nada nuevo", ""),
        ("arriba\n> citado en medio\nabajo", "arriba\nabajo"),
        ("Hola\r\n¿cuánto sale?\r\n", "Hola\n¿cuánto sale?"),
    ],
)
def test_strip_reply_keeps_only_the_new_words(mail: str, new: str) -> None:
    assert strip_reply(mail) == new


def test_a_line_that_merely_starts_with_el_or_on_is_kept() -> None:
    text = "El corte cuánto sale?\nOn Friday maybe"
    assert strip_reply(text) == text


@pytest.mark.parametrize(
    ("subject", "bare"),
    [("RE: Fwd: Turno", "Turno"), ("RV: turno", "turno"), ("Re[2]: precio", "precio"), ("", "")],
)
def test_bare_subject_drops_reply_prefixes(subject: str, bare: str) -> None:
    assert bare_subject(subject) == bare


def test_reply_subject_adds_one_re() -> None:
    assert reply_subject("Re: RE: Turno") == "Re: Turno"


def mail(body: str = "hola", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Ana <Ana@Cliente.test>")
    message["To"] = "turnos@salon.test"
    message["Subject"] = headers.pop("Subject", "Consulta")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def test_sender_is_lower_cased_and_thread_headers_are_kept() -> None:
    parsed = parse_mail(
        bytes(mail(Message_ID="<m2@x>", In_Reply_To="<m1@x>", References="<m0@x> <m1@x>"))
    )
    assert parsed.sender == "ana@cliente.test" and parsed.sender_name == "Ana"
    assert parsed.in_reply_to == "<m1@x>"
    assert parsed.thread() == {
        "message_id": "<m2@x>",
        "subject": "Consulta",
        "references": ["<m0@x>", "<m1@x>", "<m2@x>"],
    }


def test_reply_to_wins_over_from() -> None:
    parsed = parse_mail(bytes(mail(Reply_To="Ana <ana.real@cliente.test>", Message_ID="<a@x>")))
    assert parsed.sender == "ana.real@cliente.test"


def test_a_mail_without_message_id_gets_a_stable_one() -> None:
    raw = bytes(mail())
    assert parse_mail(raw).message_id == parse_mail(raw).message_id
    assert parse_mail(raw).message_id != parse_mail(bytes(mail("otra cosa"))).message_id


def test_an_empty_body_asks_through_the_subject() -> None:
    parsed = parse_mail(bytes(mail("", Subject="Fwd: Precio del corte", Message_ID="<s@x>")))
    assert parsed.text == "Precio del corte"


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"List_Id": "<news.cliente.test>"},
        {"X_Autoreply": "yes"},
        {"From": "MAILER-DAEMON@cliente.test"},
    ],
)
def test_automatic_mail_is_rejected(headers: dict[str, str]) -> None:
    with pytest.raises(MailRejected):
        parse_mail(bytes(mail(**headers)))


@pytest.mark.parametrize("sender", ["", "sin arroba", "a@b@c"])
def test_a_mail_without_a_usable_sender_is_rejected(sender: str) -> None:
    with pytest.raises(MailRejected):
        parse_mail(bytes(mail(From=sender)))


def test_html_only_mail_without_its_quoted_part() -> None:
    message = EmailMessage()
    message["From"] = "ana@cliente.test"
    message["Subject"] = "x"
    message.set_content(
        "<html><head><style>p{color:red}</style></head><body><p>¿Abren&nbsp;el sábado?</p>"
        "<div class='gmail_quote'><p>El lun escribió:</p><blockquote>viejo</blockquote></div>"
        "</body></html>",
        subtype="html",
    )
    assert parse_mail(bytes(message)).text == "¿Abren el sábado?"


def test_plain_text_is_preferred_over_html() -> None:
    message = mail("texto plano")
    message.add_alternative("<p>html</p>", subtype="html")
    assert parse_mail(bytes(message)).text == "texto plano"


def test_attachments_are_described_not_kept() -> None:
    message = mail("mirá la foto")
    message.add_attachment(
        b"\x89PNG" + b"0" * 96, maintype="image", subtype="png", filename="pelo.png"
    )
    message.add_attachment(
        b"%PDF-1.4", maintype="application", subtype="pdf", filename="receta.pdf"
    )
    parsed = parse_mail(bytes(message))
    assert parsed.text == "mirá la foto"
    assert parsed.attachments == (
        {"type": "image", "mime_type": "image/png", "size": 100, "filename": "pelo.png"},
        {"type": "document", "mime_type": "application/pdf", "size": 8, "filename": "receta.pdf"},
    )


def test_an_attachment_alone_still_reaches_the_engine() -> None:
    message = mail("", Subject="")
    message.add_attachment(b"abc", maintype="audio", subtype="ogg", filename="nota.ogg")
    assert parse_mail(bytes(message)).text == "[audio]"


def test_a_broken_charset_does_not_raise() -> None:
    raw = (
        b"From: ana@cliente.test\r\nSubject: x\r\nContent-Type: text/plain; charset=nope-42\r\n"
        b"\r\nhola \xff\r\n"
    )
    assert parse_mail(raw).text.startswith("hola")


def test_html_to_text_breaks_lines_at_blocks() -> None:
    assert html_to_text("<div>uno</div><div>dos<br>tres</div>") == "uno\n\ndos\ntres"
