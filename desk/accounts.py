"""Desk accounts: operators (and, later, reviewers), in the durable Redis.

Keys (the account name is the operator's chosen login, never a caller's)::

    tipline:desk:users           set of account names
    tipline:desk:user:{name}     hash: role, password (an Argon2id hash, never the
                                 password), disabled ("0"/"1"), generation, lang

``generation`` grows with every password reset and every disable: a session remembers
the generation it was opened under, so it ends at its next request.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Literal, cast

import redis.asyncio as aioredis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from redis.typing import EncodableT, FieldT

from storage import translate_redis_errors

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "Account",
    "AccountError",
    "Accounts",
    "Role",
    "check_password",
    "valid_name",
]

Role = Literal["operator", "reviewer"]
ROLES: tuple[Role, ...] = ("operator", "reviewer")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
_PREFIX = "tipline:desk:"
# Argon2id with argon2-cffi's defaults (RFC 9106's second recommended profile: 64 MiB,
# three passes, four lanes).
_HASHER = PasswordHasher()
# Verified against when the account does not exist, so a wrong name costs the same time
# as a wrong password and names cannot be told apart by timing.
_DUMMY_HASH = _HASHER.hash("not the password of any account")


class AccountError(Exception):
    """The account cannot be created or changed; the message says why."""


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    disabled: bool
    generation: int
    lang: str


def valid_name(name: str) -> bool:
    """Lowercase letters, digits, ``.``, ``_`` and ``-``, at most 32, starting with a
    letter or digit."""
    return _NAME.fullmatch(name) is not None


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"a password may have at most {MAX_PASSWORD_LENGTH} characters")


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class Accounts:
    """The accounts in the durable Redis."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = _PREFIX) -> None:
        self._client = client
        #: ``tipline:desk:``, or a tipline's own (storage.keys) when several share Redis.
        self._prefix = prefix

    def _key(self, name: str) -> str:
        return f"{self._prefix}user:{name}"

    async def add(self, name: str, role: Role, password: str, *, lang: str = "en") -> Account:
        if not valid_name(name):
            raise AccountError(
                "an account name is 1 to 32 lowercase letters, digits, '.', '_' or '-'"
            )
        if role not in ROLES:
            raise AccountError(f"the role is one of {', '.join(ROLES)}")
        check_password(password)
        hashed = await asyncio.to_thread(_HASHER.hash, password)
        fields: dict[FieldT, EncodableT] = {
            "role": role,
            "password": hashed,
            "disabled": "0",
            "generation": "1",
            "lang": lang,
        }
        with translate_redis_errors():
            created = await self._client.hsetnx(self._key(name), "role", role)
            if not created:
                raise AccountError(f"there is an account {name!r} already")
            await self._client.hset(self._key(name), mapping=fields)
            await self._client.sadd(f"{self._prefix}users", name)
        return Account(name, role, False, 1, lang)

    async def get(self, name: str) -> Account | None:
        if not valid_name(name):
            return None
        with translate_redis_errors():
            raw = await self._client.hgetall(self._key(name))
        fields = {_text(k): _text(v) for k, v in raw.items()}
        if fields.get("role") not in ROLES or "password" not in fields:
            return None
        return Account(
            name=name,
            role=cast(Role, fields["role"]),
            disabled=fields.get("disabled") == "1",
            generation=int(fields.get("generation", "1")),
            lang=fields.get("lang", "en"),
        )

    async def names(self) -> list[str]:
        with translate_redis_errors():
            members = await self._client.smembers(f"{self._prefix}users")
        return sorted(_text(m) for m in members)

    async def authenticate(self, name: str, password: str) -> Account | None:
        """The account when the name and password are right and it is enabled, else None.
        A wrong name takes as long as a wrong password."""
        account = await self.get(name)
        hashed: str | None = None
        if account is not None:
            with translate_redis_errors():
                raw = await self._client.hget(self._key(name), "password")
            hashed = None if raw is None else _text(raw)
        ok = await asyncio.to_thread(
            _verify, hashed or _DUMMY_HASH, password[:MAX_PASSWORD_LENGTH]
        )
        if not ok or account is None or hashed is None or account.disabled:
            return None
        if _HASHER.check_needs_rehash(hashed):
            rehashed = await asyncio.to_thread(_HASHER.hash, password)
            with translate_redis_errors():
                await self._client.hset(self._key(name), "password", rehashed)
        return account

    async def set_password(self, name: str, password: str) -> None:
        """A new password; the account's open sessions end."""
        check_password(password)
        if await self.get(name) is None:
            raise AccountError(f"there is no account {name!r}")
        hashed = await asyncio.to_thread(_HASHER.hash, password)
        with translate_redis_errors():
            await self._client.hset(self._key(name), "password", hashed)
            await self._client.hincrby(self._key(name), "generation", 1)

    async def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable (or enable again) an account; a disabled account's sessions end."""
        if await self.get(name) is None:
            raise AccountError(f"there is no account {name!r}")
        with translate_redis_errors():
            await self._client.hset(self._key(name), "disabled", "1" if disabled else "0")
            await self._client.hincrby(self._key(name), "generation", 1)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
