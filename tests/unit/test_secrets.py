"""Secrets at rest (AES-256-GCM key ring) and the log redaction safety net."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from hablo.security.log_redaction import RedactingFilter, redact
from hablo.security.secrets import (
    KeyRingError,
    SecretBox,
    SecretError,
    generate_key_spec,
    parse_key_spec,
)


def test_seal_and_open_round_trip_with_context() -> None:
    box = SecretBox.from_specs([generate_key_spec("a")])
    sealed = box.seal("sk_live_123", context="tenant:1:stripe")
    assert "sk_live_123" not in sealed and sealed.startswith("v1.a.")
    assert box.open(sealed, context="tenant:1:stripe") == "sk_live_123"
    # Two seals of one secret differ (fresh nonce), both open.
    assert box.seal("sk_live_123", context="c") != box.seal("sk_live_123", context="c")


def test_a_value_copied_to_another_tenant_does_not_open() -> None:
    box = SecretBox.from_specs([generate_key_spec("a")])
    sealed = box.seal("token", context="tenant:1:whatsapp")
    with pytest.raises(SecretError):
        box.open(sealed, context="tenant:2:whatsapp")


def test_tampered_or_foreign_values_are_refused() -> None:
    box = SecretBox.from_specs([generate_key_spec("a")])
    sealed = box.seal("token")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for bad in (flipped, "v1.zz." + sealed.split(".")[2], "plain text", "v2.a.xxx"):
        with pytest.raises(SecretError):
            box.open(bad)


def test_rotation_old_keys_open_new_key_seals() -> None:
    old_spec, new_spec = generate_key_spec("old"), generate_key_spec("new")
    sealed_before = SecretBox.from_specs([old_spec]).seal("secret", context="x")
    rotated = SecretBox.from_specs([new_spec, old_spec])
    assert rotated.open(sealed_before, context="x") == "secret"
    resealed = rotated.reseal(sealed_before, context="x")
    assert rotated.key_id_of(resealed) == "new"
    assert SecretBox.from_specs([new_spec]).open(resealed, context="x") == "secret"
    assert rotated.reseal(resealed, context="x") == resealed


def test_key_specs_are_validated_without_echoing_the_key() -> None:
    with pytest.raises(KeyRingError) as short:
        parse_key_spec("k1:c2hvcnQ=")
    assert "c2hvcnQ" not in str(short.value)
    with pytest.raises(KeyRingError):
        parse_key_spec("no-colon")
    with pytest.raises(KeyRingError):
        SecretBox.from_specs([generate_key_spec("same"), generate_key_spec("same")])


def test_generated_local_key_is_private_and_stable(tmp_path: Path) -> None:
    first = SecretBox.from_config([], tmp_path)
    sealed = first.seal("s")
    key_file = tmp_path / "secret-keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert SecretBox.from_config([], tmp_path).open(sealed) == "s"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("calling with Authorization: Bearer abcdef123456789", "abcdef123456789"),
        ("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlMTIz issued", "eyJzdWIiOiIxIn0"),
        ('body {"password": "hunter2hunter2", "email": "a@b.c"}', "hunter2hunter2"),
        ("api_key=sk_test_abcdef refused", "sk_test_abcdef"),
        ("stored v1.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ],
)
def test_log_lines_are_masked(line: str, secret: str) -> None:
    assert secret not in redact(line)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (line,), None)
    RedactingFilter().filter(record)
    assert secret not in record.getMessage()


def test_ordinary_lines_are_left_alone() -> None:
    line = "turn done for conversation 42 in 3.1 ms (intent=booking)"
    assert redact(line) == line
