"""Turning what people type into the canonical values we store and match on.

Phones become E.164 ("+5491155550000"), read in the tenant's region when they carry no
country code ("es-AR" -> AR). E-mails are lowercased. The engine keys identities on
exactly these forms, so the same person over several channels is found again.
"""

from __future__ import annotations

import re

import phonenumbers

from hablo.db.enums import ContactKind

MAX_EMAIL = 254
MAX_PHONE_INPUT = 40
# Pragmatic, not RFC 5322: one "@", no spaces, a dotted domain with a letter TLD.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_LANGUAGE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
# What people write in the "kind" column, English and Spanish.
KIND_ALIASES: dict[str, ContactKind] = {
    "customer": ContactKind.CUSTOMER,
    "cliente": ContactKind.CUSTOMER,
    "prospect": ContactKind.PROSPECT,
    "prospecto": ContactKind.PROSPECT,
    "lead": ContactKind.PROSPECT,
    "vip": ContactKind.VIP,
}


def region_of_locale(locale: str | None) -> str | None:
    """ "es-AR" / "es_AR" -> "AR"; a bare language ("es") has no region."""
    if not locale:
        return None
    parts = re.split(r"[-_]", locale.strip())
    if len(parts) >= 2 and len(parts[-1]) == 2 and parts[-1].isalpha():
        return parts[-1].upper()
    return None


def normalize_phone(raw: str, region: str | None) -> str:
    """E.164, or ValueError with a message a person can act on."""
    text = raw.strip()
    if not text:
        raise ValueError("phone is empty")
    if len(text) > MAX_PHONE_INPUT:
        raise ValueError(f"phone is longer than {MAX_PHONE_INPUT} characters")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        if region is None and not text.startswith("+"):
            raise ValueError(
                "phone has no country code: write it as +<country code><number>"
            ) from exc
        raise ValueError("phone is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        where = f" (read as a number of {region})" if region and not text.startswith("+") else ""
        raise ValueError(f"phone is not a valid phone number{where}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    text = raw.strip()
    if not text:
        raise ValueError("e-mail is empty")
    if len(text) > MAX_EMAIL or not _EMAIL.match(text):
        raise ValueError("e-mail is not a valid address (like name@example.com)")
    return text.lower()


def check_text(raw: str) -> str:
    """Free text (names, searches): no control characters (PostgreSQL refuses NUL, and
    the rest only hides data)."""
    if any((ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 127 for ch in raw):
        raise ValueError("must not contain control characters")
    return raw


def parse_kind(raw: str) -> ContactKind:
    kind = KIND_ALIASES.get(raw.strip().lower())
    if kind is None:
        raise ValueError("kind must be one of: customer, prospect, vip")
    return kind


def check_language(raw: str) -> str:
    text = raw.strip()
    if not _LANGUAGE.match(text):
        raise ValueError('language must look like "es" or "es-AR"')
    return text
