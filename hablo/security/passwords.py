"""Password hashes (bcrypt, cost 12) and the minimum-strength rule for new passwords.

Hashing is deliberately slow (~0.25 s): callers run it off the event loop and outside
database transactions. `verify_password` spends the same time whether or not the stored
hash is usable, so "no such user" cannot be told from "wrong password" by the clock.
"""

from __future__ import annotations

import functools
import re

import bcrypt

BCRYPT_COST = 12
MIN_LENGTH = 10
MAX_BYTES = 72  # bcrypt ignores anything past 72 bytes: refuse rather than truncate

# The most used passwords of public breach lists that are long enough to pass the length
# rule (shorter ones already fail it), lower-cased.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "12345678910",
        "123456789a",
        "0987654321",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "qwertyuiop",
        "qwerty1234",
        "qwerty12345",
        "qwerty123456",
        "asdfghjkl1",
        "zxcvbnm123",
        "password12",
        "password123",
        "password1234",
        "password!1",
        "passw0rd12",
        "p@ssw0rd123",
        "iloveyou12",
        "iloveyou123",
        "princess12",
        "sunshine12",
        "football12",
        "baseball12",
        "welcome123",
        "welcome1234",
        "letmein123",
        "monkey1234",
        "dragon1234",
        "master1234",
        "superman12",
        "trustno123",
        "admin12345",
        "administrator",
        "abc1234567",
        "abcdef1234",
        "abcd123456",
        "changeme123",
        "contraseña1",
        "contrasena1",
        "contrasena123",
        "contraseña123",
        "teamo12345",
        "bocajuniors",
        "riverplate",
        "argentina1",
        "argentina123",
        "mexico1234",
        "barcelona1",
        "realmadrid",
        "q1w2e3r4t5",
        "a1b2c3d4e5",
        "aa12345678",
        "zaq12wsxcde",
        "computer12",
        "whatsapp123",
        "hablo12345",
    }
)

_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"))


class WeakPassword(ValueError):
    """The new password breaks the strength rule; `reasons` are safe to show."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def password_problems(password: str, email: str | None = None) -> list[str]:
    """Why this password is too weak (empty when it is acceptable)."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password.encode("utf-8")) > MAX_BYTES:
        problems.append(f"must be at most {MAX_BYTES} bytes long")
    if _character_classes(password) < 2:
        problems.append("must mix at least two kinds of characters (letters, digits, symbols)")
    lowered = password.lower()
    # "qwerty12345!" is as common as "qwerty12345": ignore trailing symbols and digits.
    variants = {lowered, lowered.rstrip("!.?*#@$ "), lowered.rstrip("0123456789!.?*#@$ ")}
    if variants & COMMON_PASSWORDS:
        problems.append("is one of the most common passwords")
    local_part = (email or "").split("@", 1)[0].lower()
    if len(local_part) >= 3 and local_part in lowered:
        problems.append("must not contain your e-mail address")
    return problems


def check_strength(password: str, email: str | None = None) -> None:
    problems = password_problems(password, email)
    if problems:
        raise WeakPassword(problems)


def _character_classes(password: str) -> int:
    kinds = sum(1 for pattern in _CLASSES if pattern.search(password))
    if re.search(r"[^a-zA-Z0-9]", password):
        kinds += 1
    return kinds


def hash_password(password: str) -> str:
    """bcrypt hash of an acceptable password (call check_strength first)."""
    raw = password.encode("utf-8")
    if len(raw) > MAX_BYTES:
        raise WeakPassword([f"must be at most {MAX_BYTES} bytes long"])
    return bcrypt.hashpw(raw, bcrypt.gensalt(rounds=BCRYPT_COST)).decode("ascii")


@functools.cache
def _dummy_hash() -> str:
    return bcrypt.hashpw(b"no user has this password", bcrypt.gensalt(rounds=BCRYPT_COST)).decode()


def verify_password(password: str, stored_hash: str | None) -> bool:
    """True when the password matches. Unknown users (None) and unusable hashes still
    cost one full bcrypt check, so the answer takes the same time."""
    raw = password.encode("utf-8")
    usable = stored_hash is not None and stored_hash.startswith("$2")
    candidate = stored_hash if usable and stored_hash else _dummy_hash()
    try:
        matches = bcrypt.checkpw(raw[:MAX_BYTES], candidate.encode("ascii"))
    except ValueError:  # a malformed stored hash
        bcrypt.checkpw(b"x", _dummy_hash().encode("ascii"))
        return False
    return matches and usable and len(raw) <= MAX_BYTES


def warm_up() -> None:
    """Compute the dummy hash now (it takes a bcrypt round) rather than on a first login."""
    _dummy_hash()
