"""Creating the asyncio Redis client used by every store."""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from redis import exceptions as redis_exceptions
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from storage.errors import EphemeralRedisError, translate_redis_errors

__all__ = ["check_ephemeral", "connect"]

log = logging.getLogger(__name__)


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


async def _run_id(client: aioredis.Redis) -> str:
    with translate_redis_errors():
        info = await client.info("server")
    value = info.get("run_id", "")
    return value.decode() if isinstance(value, bytes) else str(value)


async def check_ephemeral(ephemeral: aioredis.Redis, durable: aioredis.Redis) -> None:
    """Refuse an ephemeral Redis that would write what it holds to disk, or that is the
    durable server itself (`EphemeralRedisError`, saying what to change).

    Drafts, update marks and throttles expire; an append-only file would keep each of
    their writes, with absolute millisecond expiry times, long after they were deleted.
    A server whose ``CONFIG`` command is not allowed (a managed Redis, an ACL) cannot be
    checked: that is logged, and the admin's word is taken.
    """
    if await _run_id(ephemeral) == await _run_id(durable):
        raise EphemeralRedisError(
            "REDIS_EPHEMERAL_URL names the same server as REDIS_URL: drafts would reach "
            "its append-only file; give drafts a Redis with persistence off"
        )
    try:
        with translate_redis_errors():
            aof = await ephemeral.config_get("appendonly")
            save = await ephemeral.config_get("save")
    except redis_exceptions.ResponseError:
        log.warning("the ephemeral Redis does not allow CONFIG GET: its persistence is unchecked")
        return
    aof_on = _config_value(aof, "appendonly") == "yes"
    snapshots = _config_value(save, "save").strip()
    if aof_on or snapshots:
        raise EphemeralRedisError(
            "the ephemeral Redis (drafts, update marks, throttles) writes to disk "
            f"(appendonly {'yes' if aof_on else 'no'}, save {snapshots!r}); "
            'run it with `--appendonly no --save ""`'
        )


def _config_value(reply: object, name: str) -> str:
    if not isinstance(reply, dict):
        return ""
    for key, value in reply.items():
        k = key.decode() if isinstance(key, bytes) else str(key)
        if k == name:
            return value.decode() if isinstance(value, bytes) else str(value)
    return ""
