"""``TipQueue(replicas=n)``: a tip counts as queued only once n replicas have it (Redis
WAIT). The test run's Redis has no replica, so a submit that asks for one is not
confirmed: it goes to the spool, and nothing is queued twice when it is pushed again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from storage import Spool, StorageUnavailableError, TipQueue, submit_durably


async def test_a_tip_no_replica_has_is_not_confirmed(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client, replicas=1, replica_timeout=timedelta(milliseconds=50))
    with pytest.raises(StorageUnavailableError, match="0 of 1 Redis replicas"):
        await queue.submit("case-unreplicated", b"sealed")
    # It is on the master all the same, once: submitting again changes nothing.
    plain = TipQueue(redis_client)
    entry = await plain.submit("case-unreplicated", b"sealed")
    assert entry
    assert await redis_client.xlen("tipline:tips") == 1


async def test_without_enough_replicas_the_tip_waits_in_the_spool(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    queue = TipQueue(redis_client, replicas=1, replica_timeout=timedelta(milliseconds=50))
    spool = Spool(tmp_path / "spool")
    assert await submit_durably(queue, spool, "case-waits-a-bit", b"sealed") == "spooled"
    assert spool.list() == ["case-waits-a-bit"]
    assert await spool.flush(queue) == 0  # still no replica: it stays
    assert spool.list() == ["case-waits-a-bit"]
    assert await spool.flush(TipQueue(redis_client)) == 1  # replicas no longer required
    assert spool.list() == []
    assert await redis_client.xlen("tipline:tips") == 1


def test_replica_settings_are_checked(redis_client: aioredis.Redis) -> None:
    with pytest.raises(ValueError, match="replicas"):
        TipQueue(redis_client, replicas=-1)
    with pytest.raises(ValueError, match="replica timeout"):
        TipQueue(redis_client, replicas=1, replica_timeout=timedelta(0))
