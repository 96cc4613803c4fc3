"""Which failures count as "Redis unavailable" (spool the tip) and which do not."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis import exceptions as redis_exceptions

from storage import (
    DraftStore,
    EmbeddedRedis,
    Spool,
    StorageError,
    StorageUnavailableError,
    TipQueue,
    connect,
    submit_durably,
    translate_redis_errors,
)


async def test_connect_check_fails_fast_when_down(tmp_path: Path) -> None:
    with pytest.raises(StorageUnavailableError) as info:
        await connect(f"unix://{tmp_path / 'absent.sock'}", retries=0, check=True)
    assert isinstance(info.value.__cause__, redis_exceptions.ConnectionError)
    assert isinstance(info.value, StorageError)


async def test_connect_check_passes_when_up(redis_url: str) -> None:
    client = await connect(redis_url, check=True)
    assert await client.ping()
    await client.aclose()


async def test_out_of_memory_refusal_spools_the_tip(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    with EmbeddedRedis(tmp_path / "data") as server:
        client = await connect(server.url, retries=0)
        try:
            await client.config_set("maxmemory", 1)  # every write is now refused
            queue = TipQueue(client)
            with pytest.raises(StorageUnavailableError):
                await queue.submit("case0001", b"sealed")
            assert await submit_durably(queue, spool, "case0001", b"sealed") == "spooled"
            assert await client.exists("tipline:tip:case0001") == 0
            await client.config_set("maxmemory", 0)
            assert await spool.flush(queue) == 1
            assert await client.xlen("tipline:tips") == 1
        finally:
            await client.aclose()


async def test_other_errors_are_not_unavailability(redis_client: aioredis.Redis) -> None:
    key = hashlib.sha256(b"k").hexdigest()
    await redis_client.hset(f"tipline:draft:{key}", "not", "a string")
    with pytest.raises(redis_exceptions.ResponseError, match="WRONGTYPE"):
        await DraftStore(redis_client).get(key)


def test_refused_write_replies_are_unavailability() -> None:
    with pytest.raises(StorageUnavailableError, match="MISCONF"), translate_redis_errors():
        raise redis_exceptions.ResponseError("MISCONF Errors writing to the AOF file")
    with pytest.raises(StorageUnavailableError), translate_redis_errors():
        raise redis_exceptions.TimeoutError("Timeout reading from socket")
    with pytest.raises(redis_exceptions.ResponseError), translate_redis_errors():
        raise redis_exceptions.ResponseError("ERR unknown command")
