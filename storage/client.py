"""Creating the asyncio Redis client used by every store."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from storage.errors import translate_redis_errors

__all__ = ["connect"]


async def connect(
    url: str,
    *,
    socket_timeout: float = 5.0,
    connect_timeout: float = 2.0,
    retries: int = 2,
    check: bool = False,
) -> aioredis.Redis:
    """Return a client for ``url`` (``redis://``, ``rediss://`` or ``unix://``).

    Replies stay raw bytes (``decode_responses=False``): storage only handles opaque
    blobs. Timeouts and the small retry budget are bounded so that a dead server is
    noticed within seconds and a sealed tip can go to the spool instead. No connection
    is made unless ``check`` is true, in which case the server must answer PING
    (`StorageUnavailableError` otherwise), so an application can start while Redis is
    down.
    """
    client = aioredis.Redis.from_url(
        url,
        decode_responses=False,
        socket_timeout=socket_timeout,
        socket_connect_timeout=connect_timeout,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries),
        health_check_interval=30,
    )
    if check:
        try:
            with translate_redis_errors():
                await client.ping()
        except BaseException:
            await client.aclose()
            raise
    return client
