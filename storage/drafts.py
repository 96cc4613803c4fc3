"""Drafts in progress: opaque (already encrypted) blobs that expire when left idle."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import timedelta

import redis.asyncio as aioredis
from redis import exceptions as redis_exceptions

from storage.errors import ConversationBusy, translate_redis_errors

__all__ = ["FENCE", "DraftStore", "Increment", "validate_draft_key"]

_DRAFT_KEY = re.compile(r"[0-9a-f]{64}")

#: (hash key, field, amount): a count moved in the same command as a draft's write.
Increment = tuple[str, str, int]

# KEYS: the draft, the keys deleted with it, the hashes, then (when fenced) the lock.
# ARGV: the blob, the TTL in ms ('0': delete the draft and those keys), how many keys are
# deleted with it, the lock's token ('' when not fenced), then (index of the hash in KEYS,
# field, amount) for each count. One command, applied whole: the counts never disagree
# with the draft they describe, and a process that lost its lock writes nothing.
_WRITE_LUA = """
if ARGV[4] ~= '' and redis.call('GET', KEYS[#KEYS]) ~= ARGV[4] then
  return redis.error_reply('LOCKLOST the conversation is held by another process')
end
if ARGV[2] == '0' then
  for i = 1, tonumber(ARGV[3]) + 1 do
    redis.call('DEL', KEYS[i])
  end
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
for i = 5, #ARGV, 3 do
  redis.call('HINCRBY', KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2])
end
return 1
"""

#: Set by :class:`storage.locks.ConversationLocks` while a conversation is held: (the
#: lock's key, its holder's token). Every draft write made meanwhile is fenced by it:
#: it happens only if the lock is still this holder's, so a process that stalled past
#: the lock's expiry cannot overwrite what another process has saved since.
FENCE: ContextVar[tuple[str, str] | None] = ContextVar("draft_fence", default=None)


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
        self._write_script = client.register_script(_WRITE_LUA)

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

    async def put(self, key: str, blob: bytes, *, counts: Sequence[Increment] = ()) -> None:
        """Store ``blob`` and (re)start its idle TTL, in one command. ``counts`` are
        added to their hash fields in that same command (a script instead of ``SET``):
        no extra round trip, and never a count without its write."""
        if not isinstance(blob, bytes | bytearray | memoryview):
            raise TypeError("a draft must be bytes (already encrypted)")
        name = self._key(key)
        with translate_redis_errors():
            if counts or FENCE.get() is not None:
                await self._write(name, bytes(blob), self._ttl_ms, counts)
            else:
                await self._client.set(name, bytes(blob), px=self._ttl_ms)

    async def touch(self, key: str) -> bool:
        """Restart the idle TTL without rewriting; False if there is no such draft."""
        name = self._key(key)
        with translate_redis_errors():
            return bool(await self._client.pexpire(name, self._ttl_ms))

    async def delete(self, key: str, *more: str, counts: Sequence[Increment] = ()) -> None:
        """Remove the draft (and the ``more`` keys, in the same command); a missing draft
        is not an error. ``counts`` as for :meth:`put`, in the same command."""
        names = [self._key(k) for k in (key, *more)]
        with translate_redis_errors():
            if counts or FENCE.get() is not None:
                await self._write(names[0], b"", 0, counts, names[1:])
            else:
                await self._client.delete(*names)

    async def _write(
        self,
        name: str,
        blob: bytes,
        ttl_ms: int,
        counts: Sequence[Increment],
        also_deleted: Sequence[str] = (),
    ) -> None:
        """The write as one script: with ``counts``, fenced by :data:`FENCE` when set."""
        hashes = list(dict.fromkeys(h for h, _field, _amount in counts))
        first_hash = 2 + len(also_deleted)  # KEYS: the draft, the others deleted, the hashes
        fence = FENCE.get()
        lock, token = fence if fence is not None else (None, "")
        args: list[bytes | str | int] = [blob, ttl_ms, len(also_deleted), token]
        for hash_key, field, amount in counts:
            args += [hashes.index(hash_key) + first_hash, field, int(amount)]
        keys = [name, *also_deleted, *hashes, *([lock] if lock is not None else [])]
        try:
            await self._write_script(keys=keys, args=args)
        except redis_exceptions.ResponseError as exc:
            if str(exc).startswith("LOCKLOST"):
                raise ConversationBusy(
                    "the conversation's lock expired and another process holds it"
                ) from None
            raise
