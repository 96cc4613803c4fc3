"""Receipt codes for follow-up without linkage (rule P6).

A tipster who wants to hear back gets a 16-digit code, shown grouped
(``4821 0937 5562 1048``) and made of digits only, so it reads the same in every
language. The server keeps no code: scrypt turns the code into a lookup id and an X25519
identity. Its salt is derived from the code itself and a server-wide pepper
(HMAC-SHA256(pepper, code)), so every code has its own salt and a lookup still needs
nothing but the code: no table over all codes can be built once for every server or
every code. Redis holds the lookup id and the identity's
public recipient; reviewers seal their questions to that recipient, so only someone who
holds the code can read them, and the bot host cannot read them at rest either.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from conversations.receipts import CODE_DIGITS, format_code, parse_code
from privacy.age import X25519Identity, X25519Recipient

__all__ = ["CODE_DIGITS", "ReceiptKeys", "format_code", "new_code", "parse_code"]
# scrypt cost: about 100 ms and 32 MiB a derivation, so each guess costs the guesser too.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


@dataclass(frozen=True, repr=False)
class ReceiptKeys:
    """What a code derives: ``lookup`` (hex, the Redis key part) and ``identity``."""

    lookup: str
    identity: X25519Identity

    @property
    def recipient(self) -> X25519Recipient:
        return self.identity.recipient

    @classmethod
    def derive(cls, code: str, pepper: bytes, *, n: int = SCRYPT_N) -> ReceiptKeys:
        if len(code) != CODE_DIGITS or not code.isdigit():
            raise ValueError("a receipt code is 16 digits")
        salt = hmac.new(pepper, b"tipline receipt salt\x00" + code.encode("ascii"), "sha256")
        material = hashlib.scrypt(
            code.encode("ascii"),
            salt=salt.digest(),
            n=n,
            r=SCRYPT_R,
            p=SCRYPT_P,
            dklen=64,
            maxmem=64 * 1024 * 1024,
        )
        return cls(material[:32].hex(), X25519Identity(material[32:]))

    def __repr__(self) -> str:
        return "ReceiptKeys(<hidden>)"
