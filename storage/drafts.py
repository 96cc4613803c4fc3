"""Drafts in progress: opaque (already encrypted) blobs that expire when left idle."""

from __future__ import annotations

import re
from datetime import timedelta

import redis.asyncio as aioredis

from storage.errors import translate_redis_errors

__all__ = ["DraftStore", "validate_draft_key"]

_DRAFT_KEY = re.compile(r"[0-9a-f]{64}")


def validate_draft_key(key: str) -> str:
    """Return ``key`` if it is a pseudonym (64 lowercase hex characters, e.g. an
    HMAC-SHA256), else raise ValueError, so a raw chat id can never become a key."""
    if not isinstance(key, str) or _DRAFT_KEY.fullmatch(key) is None:
        raise ValueError("a draft key must be 64 lowercase hex characters (a pseudonym)")
    return key


class DraftStore:
    """Encrypted drafts under ``{prefix}{key}`` (Redis strings) with an idle TTL.

    Every ``put`` and ``touch`` resets the TTL; reading does not. The store never sees
    plaintext: the caller encrypts before ``put`` and decrypts after ``get``.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        ttl: timedelta = timedelta(hours=24),
        prefix: str = "tipline:draft:",
    ) -> None:
        self._ttl_ms = int(ttl.total_seconds() * 1000)
        if self._ttl_ms < 1:
            raise ValueError("the draft TTL must be at least one millisecond")
        self._client = client
        self._prefix = prefix

    @property
    def client(self) -> aioredis.Redis:
        """The (ephemeral) Redis the drafts live in."""
        return self._client

    @property
    def ttl(self) -> timedelta:
        """The idle time after which a draft expires."""
        return timedelta(milliseconds=self._ttl_ms)

    def _key(self, key: str) -> str:
        return self._prefix + validate_draft_key(key)

    async def get(self, key: str) -> bytes | None:
        """The stored blob, or None if there is none (never written, deleted or expired)."""
        name = self._key(key)
        with translate_redis_errors():
            value = await self._client.get(name)
        if value is None:
            return None
        return value if isinstance(value, bytes) else value.encode()

    async def get_many(self, *keys: str) -> list[bytes | None]:
        """The stored blobs of several keys, in one command (None for each missing)."""
        names = [self._key(key) for key in keys]
        with translate_redis_errors():
            values = await self._client.mget(names)
        return [v if v is None or isinstance(v, bytes) else v.encode() for v in values]

    async def put(self, key: str, blob: bytes) -> None:
        """Store ``blob`` and (re)start its idle TTL, in one command."""
        if not isinstance(blob, bytes | bytearray | memoryview):
            raise TypeError("a draft must be bytes (already encrypted)")
        name = self._key(key)
        with translate_redis_errors():
            await self._client.set(name, bytes(blob), px=self._ttl_ms)

    async def touch(self, key: str) -> bool:
        """Restart the idle TTL without rewriting; False if there is no such draft."""
        name = self._key(key)
        with translate_redis_errors():
            return bool(await self._client.pexpire(name, self._ttl_ms))

    async def delete(self, key: str, *more: str) -> None:
        """Remove the draft (and the ``more`` keys, in the same command); a missing draft
        is not an error."""
        names = [self._key(k) for k in (key, *more)]
        with translate_redis_errors():
            await self._client.delete(*names)
