"""The custody log's storage: an append-only list of sealed entries in the durable Redis.

Each entry is sealed to the reviewers by :mod:`review.custody`, which also chains them
(every entry holds the SHA-256 of the sealed entry before it). Here an entry is only
appended when the list still has the length its writer saw, so two reviewers appending
at once cannot both chain to the same predecessor: the second one reads again and
retries. The list lives in the durable Redis beside the queue and never expires.
"""

from __future__ import annotations

from typing import Final

import redis.asyncio as aioredis

from storage.errors import translate_redis_errors

__all__ = ["CUSTODY_KEY", "CustodyStore"]

CUSTODY_KEY: Final = "tipline:custody"

_APPEND_LUA = """
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return -1 end
return redis.call('RPUSH', KEYS[1], ARGV[2])
"""


class CustodyStore:
    def __init__(self, client: aioredis.Redis, key: str = CUSTODY_KEY) -> None:
        self._client = client
        self.key = key
        self._append = client.register_script(_APPEND_LUA)

    async def tail(self) -> tuple[int, bytes | None]:
        """How many entries there are, and the last one (None when there is none)."""
        with translate_redis_errors():
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.llen(self.key)
                pipe.lindex(self.key, -1)
                length, last = await pipe.execute()
        return int(length), None if last is None else bytes(last)

    async def append_if(self, length: int, sealed: bytes) -> bool:
        """Append ``sealed`` as entry number ``length`` (from 0); False if the log has
        grown meanwhile (nothing written: read the tail again and retry)."""
        with translate_redis_errors():
            result = await self._append(keys=[self.key], args=[length, sealed])
        return int(result) == length + 1

    async def entries(self) -> list[bytes]:
        with translate_redis_errors():
            blobs: list[bytes] = await self._client.lrange(self.key, 0, -1)  # type: ignore[assignment]
        return [bytes(b) for b in blobs]
