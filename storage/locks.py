"""One conversation handled by one process at a time, across processes: a lock in Redis.

Several bot processes behind one webhook share the work. Telegram posts one chat's
updates one at a time, each only once the one before was answered, which keeps their
order; but it posts an update again when the answer did not come in time, and a worker
may still be working on it then. The lock makes the second delivery wait for the first,
so the draft is never read and written by two processes at once.

The lock is a Redis string under a pseudonym (the conversation's draft key, which is
already in Redis: the lock links nothing new), holding a random token of its holder,
with a short expiry that the holder renews while it works: a process that dies loses
its locks within ``ttl``. Only the holder's token releases it (compare and delete, in a
Lua script). Waiting is polling with a growing pause: a chat's updates seldom meet, so
this costs nothing in the usual case (one ``SET NX``, one release).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Final

import redis.asyncio as aioredis

from storage.drafts import FENCE, validate_draft_key
from storage.errors import ConversationBusy, StorageError, translate_redis_errors

__all__ = ["ConversationBusy", "ConversationLocks"]

log = logging.getLogger(__name__)

_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class ConversationLocks:
    """Locks on conversations, in the (ephemeral) Redis the drafts use."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        ttl: timedelta = timedelta(seconds=6),
        wait: timedelta = timedelta(seconds=50),
        prefix: str = "tipline:lock:",
    ) -> None:
        self._client = client
        self._ttl_ms = int(ttl.total_seconds() * 1000)
        if self._ttl_ms < 30:
            raise ValueError("a lock's expiry must be at least 30 ms")
        self._wait = wait.total_seconds()
        self._prefix = prefix
        self._release = client.register_script(_RELEASE)
        self._renew = client.register_script(_RENEW)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the conversation ``key`` (a pseudonym) for the block; wait while another
        process holds it, at most ``wait``, then raise :class:`ConversationBusy`."""
        name = self._prefix + validate_draft_key(key)
        token = secrets.token_hex(16)
        await self._acquire(name, token)
        stop = asyncio.Event()
        renewing = asyncio.create_task(self._keep(name, token, stop))
        fenced = FENCE.set((name, token))
        try:
            yield
        finally:
            FENCE.reset(fenced)
            # The flag as well as the cancel: redis-py may swallow a cancel that
            # lands inside a command (seen under load), and the renewer would then
            # keep the lock, and this block waiting, for ever. asyncio.wait also
            # leaves a cancel of this task itself to propagate.
            stop.set()
            renewing.cancel()
            await asyncio.wait({renewing})
            try:
                with translate_redis_errors():
                    await self._release(keys=[name], args=[token])
            except StorageError as exc:
                # It expires by itself within ttl.
                log.warning("a conversation lock could not be released (%s)", exc)

    async def _acquire(self, name: str, token: str) -> None:
        deadline = time.monotonic() + self._wait
        pause = 0.005
        while True:
            with translate_redis_errors():
                if await self._client.set(name, token, nx=True, px=self._ttl_ms):
                    return
            if time.monotonic() + pause > deadline:
                raise ConversationBusy("the conversation is being handled elsewhere")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)

    async def _keep(self, name: str, token: str, stop: asyncio.Event) -> None:
        """Renew the lock every third of its expiry while its holder works, until
        ``stop`` is set (or the task is cancelled)."""
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            if stop.is_set():
                return
            try:
                with translate_redis_errors():
                    kept = await self._renew(keys=[name], args=[token, self._ttl_ms])
            except StorageError as exc:
                log.warning("a conversation lock could not be renewed (%s)", exc)
                continue
            if not kept:
                log.warning("a conversation lock expired while it was held")
                return
