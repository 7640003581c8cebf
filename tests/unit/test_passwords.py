"""The password rule and bcrypt hashes."""

from __future__ import annotations

import pytest

from hablo.security.passwords import (
    BCRYPT_COST,
    WeakPassword,
    check_strength,
    hash_password,
    password_problems,
    verify_password,
)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Short-1", "at least 10"),
        ("abcdefghijkl", "two kinds"),
        ("1234567890123", "two kinds"),
        ("Password123", "most common"),
        ("qwerty12345!", "most common"),
        ("maria.lopez-2024", "e-mail"),
        ("Ñ" * 40, "at most 72 bytes"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, why: str) -> None:
    problems = password_problems(password, "Maria.Lopez@example.com")
    assert any(why in p for p in problems), problems
    with pytest.raises(WeakPassword):
        check_strength(password, "maria.lopez@example.com")


def test_a_reasonable_password_passes() -> None:
    assert password_problems("Gato-Azul-2024", "maria@example.com") == []
    assert password_problems("correct horse battery 9", None) == []


def test_hash_and_verify() -> None:
    stored = hash_password("Gato-Azul-2024")
    assert stored.startswith(f"$2b${BCRYPT_COST}$")
    assert "Gato" not in stored
    assert verify_password("Gato-Azul-2024", stored)
    assert not verify_password("Gato-Azul-2025", stored)
    # bcrypt would ignore bytes past 72: a longer guess never matches.
    long_hash = hash_password("A1" + "x" * 70)
    assert not verify_password("A1" + "x" * 70 + "extra", long_hash)


def test_unknown_users_and_unusable_hashes_never_match() -> None:
    assert not verify_password("anything-at-all", None)
    assert not verify_password("anything-at-all", "!")
    assert not verify_password("anything-at-all", "$2b$12$broken")
