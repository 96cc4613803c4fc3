"""DraftStore against a real Redis: round trip, idle TTL, expiry, key validation."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from storage import DraftStore

KEY = hashlib.sha256(b"pseudonym").hexdigest()
OTHER = hashlib.sha256(b"other").hexdigest()


async def test_put_get_delete(redis_client: aioredis.Redis) -> None:
    drafts = DraftStore(redis_client)
    assert await drafts.get(KEY) is None
    await drafts.put(KEY, b"\x00ciphertext\xff")
    assert await drafts.get(KEY) == b"\x00ciphertext\xff"
    assert await drafts.get(OTHER) is None
    await drafts.put(KEY, b"second version")
    assert await drafts.get(KEY) == b"second version"
    await drafts.delete(KEY)
    assert await drafts.get(KEY) is None
    await drafts.delete(KEY)  # deleting again is fine


async def test_stored_as_given_under_prefixed_key(redis_client: aioredis.Redis) -> None:
    await DraftStore(redis_client).put(KEY, b"opaque")
    assert await redis_client.keys("*") == [f"tipline:draft:{KEY}".encode()]
    assert await redis_client.get(f"tipline:draft:{KEY}") == b"opaque"
    await DraftStore(redis_client, prefix="x:").put(KEY, b"b")
    assert await redis_client.get(f"x:{KEY}") == b"b"


async def test_ttl_is_set_and_refreshed_on_write(redis_client: aioredis.Redis) -> None:
    drafts = DraftStore(redis_client, ttl=timedelta(minutes=10))
    name = f"tipline:draft:{KEY}"
    await drafts.put(KEY, b"v1")
    assert 590_000 < await redis_client.pttl(name) <= 600_000
    await redis_client.pexpire(name, 5_000)  # as if the draft had been idle
    await drafts.put(KEY, b"v2")
    assert await redis_client.pttl(name) > 590_000
    await redis_client.pexpire(name, 5_000)
    assert await drafts.touch(KEY) is True
    assert await redis_client.pttl(name) > 590_000
    await redis_client.pexpire(name, 5_000)
    await drafts.get(KEY)  # reading is not activity that extends the TTL
    assert await redis_client.pttl(name) <= 5_000


async def test_counts_move_in_the_same_command_as_the_write(
    redis_client: aioredis.Redis,
) -> None:
    drafts = DraftStore(redis_client, ttl=timedelta(minutes=10))
    name = f"tipline:draft:{KEY}"
    await drafts.put(KEY, b"\x00step one\xff", counts=[("h:live", "a", 1), ("h:day", "s", 1)])
    assert await redis_client.get(name) == b"\x00step one\xff"  # bytes as given
    assert 590_000 < await redis_client.pttl(name) <= 600_000
    await drafts.put(KEY, b"step two", counts=[("h:live", "a", -1), ("h:live", "b", 1)])
    assert await redis_client.hgetall("h:live") == {b"a": b"0", b"b": b"1"}
    await drafts.delete(KEY, counts=[("h:live", "b", -1), ("h:day", "f", 1)])
    assert await redis_client.exists(name) == 0
    assert await redis_client.hgetall("h:live") == {b"a": b"0", b"b": b"0"}
    assert await redis_client.hgetall("h:day") == {b"s": b"1", b"f": b"1"}
    await redis_client.script_flush()  # a restarted Redis has forgotten the script
    await drafts.put(KEY, b"again", counts=[("h:live", "a", 1)])
    assert await redis_client.hget("h:live", "a") == b"1"


async def test_touch_missing_draft(redis_client: aioredis.Redis) -> None:
    assert await DraftStore(redis_client).touch(KEY) is False
    assert await redis_client.dbsize() == 0


async def test_draft_really_expires(redis_client: aioredis.Redis) -> None:
    drafts = DraftStore(redis_client, ttl=timedelta(milliseconds=400))
    assert drafts.ttl == timedelta(milliseconds=400)
    await drafts.put(KEY, b"short lived")
    assert await drafts.get(KEY) == b"short lived"
    await asyncio.sleep(0.6)
    assert await drafts.get(KEY) is None
    assert await redis_client.exists(f"tipline:draft:{KEY}") == 0


@pytest.mark.parametrize(
    "bad",
    [
        "123456789",  # a raw chat id
        "-1001234567890",
        KEY.upper(),
        KEY[:-1],
        KEY + "0",
        KEY + "\n",
        "g" * 64,
        "",
    ],
)
async def test_key_must_be_a_pseudonym(redis_client: aioredis.Redis, bad: str) -> None:
    drafts = DraftStore(redis_client)
    with pytest.raises(ValueError, match="64 lowercase hex"):
        await drafts.put(bad, b"x")
    with pytest.raises(ValueError, match="64 lowercase hex"):
        await drafts.get(bad)
    with pytest.raises(ValueError, match="64 lowercase hex"):
        await drafts.touch(bad)
    with pytest.raises(ValueError, match="64 lowercase hex"):
        await drafts.delete(bad)
    assert await redis_client.dbsize() == 0


async def test_rejects_bad_ttl_and_non_bytes(redis_client: aioredis.Redis) -> None:
    with pytest.raises(ValueError, match="TTL"):
        DraftStore(redis_client, ttl=timedelta(0))
    with pytest.raises(TypeError):
        await DraftStore(redis_client).put(KEY, "plain text")  # type: ignore[arg-type]


async def test_several_drafts_are_read_and_deleted_in_one_command(
    redis_client: aioredis.Redis,
) -> None:
    store = DraftStore(redis_client)
    other = "b" * 64
    await store.put(KEY, b"one")
    assert await store.get_many(KEY, other) == [b"one", None]
    await store.put(other, b"two")
    assert await store.get_many(other, KEY) == [b"two", b"one"]
    await store.delete(KEY, other)
    assert await redis_client.keys("*") == []
