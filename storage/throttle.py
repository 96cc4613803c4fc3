"""Throttles for guesses (receipt codes), kept in the ephemeral Redis only.

Keys (under the prefix, no chat id: a scope is a pseudonym or a fixed word)::

    throttle:fails:{scope}   wrong tries in the current window (expires with the window)
    throttle:wait:{scope}    present while the scope must wait (exponential backoff)

Only wrong tries count: a right code never uses up anyone's allowance, so a crowd of
throwaway accounts guessing codes can slow itself down but cannot lock every tipster
out. The counters expire, so they belong in the Redis that never writes to disk (an
append-only file would keep every expiry as an absolute millisecond time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import redis.asyncio as aioredis

from storage.errors import translate_redis_errors

__all__ = ["Throttle", "ThrottleRule"]


@dataclass(frozen=True)
class ThrottleRule:
    """At most ``limit`` wrong tries per ``window``; after the n-th wrong try the scope
    waits ``backoff * 2**(n-1)`` (at most ``max_backoff``) before the next is heard."""

    limit: int
    window: timedelta
    backoff: timedelta = timedelta(0)
    max_backoff: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= timedelta(0):
            raise ValueError("a throttle needs limit >= 1 and a positive window")

    def wait_ms(self, failures: int) -> int:
        if failures < 1 or self.backoff <= timedelta(0):
            return 0
        base = self.backoff.total_seconds() * 1000
        return int(min(base * 2 ** min(failures - 1, 30), self.max_backoff.total_seconds() * 1000))


class Throttle:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "tipline:throttle:") -> None:
        self._client = client
        self._prefix = prefix

    async def blocked(self, scope: str, rule: ThrottleRule) -> bool:
        """True while ``scope`` is waiting out a backoff or has used up its window."""
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.exists(f"{self._prefix}wait:{scope}")
            pipe.get(f"{self._prefix}fails:{scope}")
            with translate_redis_errors():
                waiting, fails = await pipe.execute()
        return bool(waiting) or (fails is not None and int(fails) >= rule.limit)

    async def failed(self, scope: str, rule: ThrottleRule) -> int:
        """Count one wrong try against ``scope`` and start its backoff; returns the count."""
        key = f"{self._prefix}fails:{scope}"
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.pexpire(key, int(rule.window.total_seconds() * 1000), nx=True)
            with translate_redis_errors():
                count, _ = await pipe.execute()
        wait = rule.wait_ms(int(count))
        if wait:
            with translate_redis_errors():
                await self._client.set(f"{self._prefix}wait:{scope}", b"1", px=wait)
        return int(count)
