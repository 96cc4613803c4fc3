"""Receipt codes (P6): the slow hash a server keeps, salted per code."""

from __future__ import annotations

import hashlib
import hmac

from privacy.receipt import SCRYPT_N, SCRYPT_R, ReceiptKeys

PEPPER = b"p" * 32


def test_the_default_cost_is_at_least_32_mib_a_guess() -> None:
    assert SCRYPT_N * SCRYPT_R * 128 >= 32 * 1024 * 1024


def test_each_code_has_its_own_salt_and_the_same_code_finds_the_same_lookup() -> None:
    code = "4821093755621048"
    keys = ReceiptKeys.derive(code, PEPPER, n=2**10)
    assert ReceiptKeys.derive(code, PEPPER, n=2**10).lookup == keys.lookup
    # Not the pepper alone as a salt (one table over all codes would serve a whole server).
    shared_salt = hashlib.scrypt(code.encode(), salt=PEPPER, n=2**10, r=SCRYPT_R, p=1, dklen=64)
    assert keys.lookup != shared_salt[:32].hex()
    own_salt = hmac.new(PEPPER, b"tipline receipt salt\x00" + code.encode(), "sha256").digest()
    expected = hashlib.scrypt(code.encode(), salt=own_salt, n=2**10, r=SCRYPT_R, p=1, dklen=64)
    assert keys.lookup == expected[:32].hex()
    assert ReceiptKeys.derive("4821093755621049", PEPPER, n=2**10).lookup != keys.lookup
