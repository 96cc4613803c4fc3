"""Tests for privacy.secrets: server secret, pseudonyms, draft encryption, secret file."""

from __future__ import annotations

import hashlib
import hmac
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.secrets import (
    DRAFT_ENCRYPTION_LABEL,
    PSEUDONYM_LABEL,
    RECEIPT_LABEL,
    DraftCipher,
    DraftDecryptError,
    ServerSecret,
    load_or_create,
)

FIXED = bytes(range(32))


def _hkdf_sha256(ikm: bytes, info: bytes) -> bytes:
    """Independent RFC 5869 HKDF-SHA256 (empty salt, 32 bytes), to pin the construction."""
    prk = hmac.new(bytes(32), ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


@pytest.fixture
def secret() -> ServerSecret:
    return ServerSecret.generate()


# --- ServerSecret -----------------------------------------------------------------------


def test_secret_needs_32_bytes() -> None:
    with pytest.raises(ValueError, match="32"):
        ServerSecret(bytes(31))
    ServerSecret(bytes(32))
    ServerSecret(bytes(64))
    with pytest.raises(TypeError):
        ServerSecret("0" * 64)  # type: ignore[arg-type]


def test_text_round_trip(secret: ServerSecret) -> None:
    text = secret.to_text()
    assert len(text) == 64
    assert text == text.lower()
    assert ServerSecret.from_text(text) == secret
    assert ServerSecret.from_text(f"  {text.upper()}\n") == secret
    assert ServerSecret.generate() != secret


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "00" * 31,
        "zz" * 32,
        "0" * 63,
        "00 " * 32,
        "0x" + "00" * 32,
        "00" * 16 + "\n" + "00" * 16,
    ],
)
def test_bad_text_is_rejected_without_echo(text: str) -> None:
    with pytest.raises(ValueError, match=r"hexadecimal|32") as caught:
        ServerSecret.from_text(text)
    if text.strip():
        assert text.strip() not in str(caught.value)


def test_repr_hides_the_secret(secret: ServerSecret) -> None:
    for shown in (repr(secret), str(secret), repr(secret.draft_cipher())):
        assert secret.to_text() not in shown
        assert secret.to_text()[:16] not in shown
        assert "hidden" in shown


def test_derive_separates_labels(secret: ServerSecret) -> None:
    keys = {secret.derive(label) for label in (PSEUDONYM_LABEL, DRAFT_ENCRYPTION_LABEL)}
    keys.add(secret.derive(RECEIPT_LABEL))
    assert len(keys) == 3
    assert secret.derive(RECEIPT_LABEL) == secret.derive(RECEIPT_LABEL)
    assert len(secret.derive(b"x", 64)) == 64
    assert secret.derive(b"x", 16) == secret.derive(b"x", 64)[:16]
    assert ServerSecret(FIXED).derive(RECEIPT_LABEL) == _hkdf_sha256(FIXED, RECEIPT_LABEL)
    with pytest.raises(ValueError, match="label"):
        secret.derive(b"")


# --- pseudonyms -------------------------------------------------------------------------


def test_pseudonym_is_deterministic_hex(secret: ServerSecret) -> None:
    value = secret.pseudonym("telegram", "123456789")
    assert len(value) == 64
    assert all(c in "0123456789abcdef" for c in value)
    assert value == secret.pseudonym("telegram", "123456789")
    assert value == ServerSecret.from_text(secret.to_text()).pseudonym("telegram", "123456789")
    assert "123456789" not in value


def test_pseudonym_differs_across_secrets(secret: ServerSecret) -> None:
    other = ServerSecret.generate()
    assert secret.pseudonym("telegram", "42") != other.pseudonym("telegram", "42")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("a:b", "c"), ("a", "b:c")),
        (("ab", ""), ("a", "b")),
        (("telegram", "1"), ("1", "telegram")),
        (("telegram", "12"), ("telegram", "21")),
        (("", "a"), ("a", "")),
    ],
)
def test_pseudonym_is_unambiguous(
    secret: ServerSecret, first: tuple[str, str], second: tuple[str, str]
) -> None:
    assert secret.pseudonym(*first) != secret.pseudonym(*second)


def test_pseudonym_is_stable_across_releases() -> None:
    # Drafts are looked up by pseudonym: changing the construction would orphan them.
    secret = ServerSecret(FIXED)
    key = _hkdf_sha256(FIXED, PSEUDONYM_LABEL)
    message = b"\x00\x00\x00\x08telegram\x00\x00\x00\x09123456789"
    expected = hmac.new(key, message, hashlib.sha256).hexdigest()
    assert secret.pseudonym("telegram", "123456789") == expected
    assert expected == "051518ac2317c33dedf42bcaf8c542db9782c987dc5ddde4c2e688013b8de749"


# --- DraftCipher ------------------------------------------------------------------------


def test_draft_round_trip_and_layout(secret: ServerSecret) -> None:
    cipher = secret.draft_cipher()
    for plaintext in (b"", b"x", b"a draft answer " * 1000):
        blob = cipher.encrypt(plaintext, b"pseudonym-1")
        assert blob[0] == 1
        assert len(blob) == 1 + 12 + len(plaintext) + 16
        assert cipher.decrypt(blob, b"pseudonym-1") == plaintext
        assert secret.draft_cipher().decrypt(blob, b"pseudonym-1") == plaintext
    assert cipher.encrypt(b"same", b"ad") != cipher.encrypt(b"same", b"ad")


def test_draft_wrong_associated_data(secret: ServerSecret) -> None:
    cipher = secret.draft_cipher()
    blob = cipher.encrypt(b"draft", b"pseudonym-1")
    for wrong in (b"pseudonym-2", b"", b"pseudonym-1\x00"):
        with pytest.raises(DraftDecryptError, match="authentication"):
            cipher.decrypt(blob, wrong)


def test_draft_wrong_key(secret: ServerSecret) -> None:
    blob = secret.draft_cipher().encrypt(b"draft", b"ad")
    with pytest.raises(DraftDecryptError):
        ServerSecret.generate().draft_cipher().decrypt(blob, b"ad")
    with pytest.raises(DraftDecryptError):
        DraftCipher(secret.derive(PSEUDONYM_LABEL)).decrypt(blob, b"ad")


def test_draft_flipped_bytes_and_truncation(secret: ServerSecret) -> None:
    cipher = secret.draft_cipher()
    blob = cipher.encrypt(b"a short draft", b"ad")
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(DraftDecryptError):
            cipher.decrypt(bytes(tampered), b"ad")
    for length in range(len(blob)):
        with pytest.raises(DraftDecryptError):
            cipher.decrypt(blob[:length], b"ad")
    with pytest.raises(DraftDecryptError):
        cipher.decrypt(blob + b"\x00", b"ad")


def test_draft_unknown_version(secret: ServerSecret) -> None:
    cipher = secret.draft_cipher()
    blob = cipher.encrypt(b"draft", b"ad")
    with pytest.raises(DraftDecryptError, match="version"):
        cipher.decrypt(b"\x02" + blob[1:], b"ad")
    with pytest.raises(DraftDecryptError):
        cipher.decrypt("not bytes", b"ad")  # type: ignore[arg-type]


def test_draft_cipher_needs_a_32_byte_key() -> None:
    with pytest.raises(ValueError, match="32"):
        DraftCipher(bytes(16))


@settings(max_examples=30, deadline=None)
@given(plaintext=st.binary(max_size=2048), associated_data=st.binary(max_size=64))
def test_draft_round_trip_property(plaintext: bytes, associated_data: bytes) -> None:
    cipher = ServerSecret(FIXED).draft_cipher()
    assert cipher.decrypt(cipher.encrypt(plaintext, associated_data), associated_data) == (
        plaintext
    )


# --- load_or_create ---------------------------------------------------------------------


def test_load_or_create_makes_a_private_file_and_reloads_it(tmp_path: Path) -> None:
    path = tmp_path / "data" / "server.secret"
    created = load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == created.to_text() + "\n"
    assert load_or_create(path) == created
    assert sorted(p.name for p in path.parent.iterdir()) == ["server.secret"]


def test_load_or_create_uses_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "server.secret"
    path.write_text(FIXED.hex() + "\n")
    assert load_or_create(path) == ServerSecret(FIXED)


def test_load_or_create_rejects_a_bad_file_without_echo(tmp_path: Path) -> None:
    path = tmp_path / "server.secret"
    path.write_text("not-a-secret-value\n")
    with pytest.raises(ValueError, match=r"server\.secret") as caught:
        load_or_create(path)
    assert "not-a-secret-value" not in str(caught.value)


def test_load_or_create_racing_callers_agree(tmp_path: Path) -> None:
    path = tmp_path / "server.secret"
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: load_or_create(path), range(16)))
    assert all(result == results[0] for result in results)
    assert load_or_create(path) == results[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["server.secret"]
