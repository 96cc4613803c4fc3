"""TipQueue against a real Redis: idempotent submit, claim, redelivery, ack, reclaim,
dead letter and counts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from storage import FORMAT_VERSION, QueuedTip, StorageError, TipQueue

CASE = "k3f9x2hq7m4d"
STREAM = "tipline:tips"
GROUP = "reviewers"


async def _dead_fields(client: aioredis.Redis) -> list[dict[bytes | str, bytes | str]]:
    """Field maps of the dead-letter stream's entries, oldest first."""
    rows = await client.xrange("tipline:dead")
    assert rows is not None
    fields = [f for _, f in rows]
    assert all(f is not None for f in fields)
    return [f for f in fields if f is not None]


async def _claim(queue: TipQueue, consumer: str) -> QueuedTip:
    tip = await queue.claim_next(consumer)
    assert tip is not None
    return tip


async def test_submit_claim_ack(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    entry = await queue.submit(CASE, b"sealed-tip", [b"att-0", b"att-1"])
    tip = await _claim(queue, "alice")
    assert tip == QueuedTip(
        entry_id=entry,
        case_id=CASE,
        sealed=b"sealed-tip",
        attachments=(b"att-0", b"att-1"),
        deliveries=1,
    )
    assert await queue.pending_count() == 1
    assert await queue.ack(CASE) is True
    assert await queue.pending_count() == 0
    assert await queue.claim_next("alice") is None


async def test_layout_small_entry_and_record(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    entry = await queue.submit(CASE, b"S" * 10_000, [b"A"])
    rows = await redis_client.xrange(STREAM)
    assert rows == [(entry.encode(), {b"v": str(FORMAT_VERSION).encode(), b"case": CASE.encode()})]
    record = await redis_client.hgetall(f"tipline:tip:{CASE}")
    assert record == {
        b"v": str(FORMAT_VERSION).encode(),
        b"sealed": b"S" * 10_000,
        b"attachments": b"1",
        b"att:0": b"A",
        b"entry": entry.encode(),
    }


async def test_double_submit_yields_one_entry(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    first = await queue.submit(CASE, b"sealed")
    second = await queue.submit(CASE, b"sealed again (re-sealed bytes differ)")
    assert first == second
    assert await redis_client.xlen(STREAM) == 1
    tip = await queue.get(CASE)
    assert tip is not None
    assert tip.sealed == b"sealed"  # the first submission wins


async def test_concurrent_submits_yield_one_entry(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    ids = await asyncio.gather(*(queue.submit(CASE, b"sealed") for _ in range(20)))
    assert len(set(ids)) == 1
    assert await redis_client.xlen(STREAM) == 1


async def test_fifo_and_not_shared_between_reviewers(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    for n in range(3):
        await queue.submit(f"case000{n}", f"tip {n}".encode())
    a = await _claim(queue, "alice")
    b = await _claim(queue, "bob")
    assert (a.case_id, b.case_id) == ("case0000", "case0001")
    assert (await _claim(queue, "carol")).case_id == "case0002"
    assert await queue.claim_next("dave") is None


async def test_unacked_tip_comes_back_to_the_same_reviewer(
    redis_client: aioredis.Redis,
) -> None:
    queue = TipQueue(redis_client)
    await queue.submit(CASE, b"sealed")
    await queue.submit("case0002", b"second")
    first = await _claim(queue, "alice")
    again = await _claim(queue, "alice")  # alice's tool crashed before ack
    assert again.entry_id == first.entry_id
    assert again.deliveries == 2
    assert (await _claim(queue, "bob")).case_id == "case0002"
    assert await queue.ack(CASE) is True
    assert await queue.claim_next("alice") is None


async def test_ack_is_safe_to_repeat(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    assert await queue.ack(CASE) is False  # unknown case
    await queue.submit(CASE, b"sealed")
    assert await queue.ack(CASE) is False  # not delivered yet: nothing to acknowledge
    await _claim(queue, "alice")
    assert await queue.ack(CASE) is True
    assert await queue.ack(CASE) is False
    assert await queue.pending_count() == 0


async def test_reclaim_idle_gives_entry_to_another_reviewer(
    redis_client: aioredis.Redis,
) -> None:
    queue = TipQueue(redis_client)
    await queue.submit(CASE, b"sealed")
    await _claim(queue, "alice")
    assert await queue.reclaim_idle("bob", timedelta(minutes=5)) is None
    await asyncio.sleep(0.06)
    taken = await queue.reclaim_idle("bob", timedelta(milliseconds=50))
    assert taken is not None
    assert (taken.case_id, taken.sealed, taken.deliveries) == (CASE, b"sealed", 2)
    assert await queue.claim_next("alice") is None  # no longer alice's
    again = await _claim(queue, "bob")
    assert again.entry_id == taken.entry_id
    assert await queue.reclaim_idle("carol", timedelta(0)) is not None


async def test_reclaim_idle_skips_recent_entries(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    for n in range(3):
        await queue.submit(f"case000{n}", b"x")
        await _claim(queue, f"r{n}")
        if n == 0:
            await asyncio.sleep(0.08)
    taken = await queue.reclaim_idle("zed", timedelta(milliseconds=60))
    assert taken is not None
    assert taken.case_id == "case0000"
    assert await queue.reclaim_idle("zed", timedelta(milliseconds=60)) is None


async def test_dead_letter(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    entry = await queue.submit(CASE, b"sealed")
    await _claim(queue, "alice")
    assert await queue.dead_letter(CASE, "cannot decrypt") is True
    assert await queue.pending_count() == 0
    assert await queue.depth() == 0
    assert await redis_client.xlen(STREAM) == 0
    assert await _dead_fields(redis_client) == [
        {
            b"v": str(FORMAT_VERSION).encode(),
            b"case": CASE.encode(),
            b"entry": entry.encode(),
            b"reason": b"cannot decrypt",
            b"deliveries": b"1",
        }
    ]
    assert await queue.dead_letter(CASE, "again") is False
    assert await queue.dead_letter("unknown1", "x") is False
    assert await queue.submit(CASE, b"sealed") == entry  # no resurrection
    assert await redis_client.xlen(STREAM) == 0
    kept = await queue.get(CASE)
    assert kept is not None
    assert kept.sealed == b"sealed"
    with pytest.raises(ValueError, match="reason"):
        await queue.dead_letter(CASE, "")


async def test_depth_and_pending_counts(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    assert (await queue.depth(), await queue.pending_count()) == (0, 0)
    for n in range(4):
        await queue.submit(f"case000{n}", b"x")
    assert (await queue.depth(), await queue.pending_count()) == (4, 0)
    await _claim(queue, "alice")
    await _claim(queue, "bob")
    assert (await queue.depth(), await queue.pending_count()) == (4, 2)
    await queue.ack("case0000")
    assert (await queue.depth(), await queue.pending_count()) == (3, 1)
    await queue.dead_letter("case0003", "never delivered, removed by hand")
    assert (await queue.depth(), await queue.pending_count()) == (2, 1)
    await queue.dead_letter("case0001", "delivered, then given up")
    assert (await queue.depth(), await queue.pending_count()) == (1, 0)
    await queue.ensure_group()
    await queue.ensure_group()  # BUSYGROUP is ignored
    assert await queue.depth() == 1


async def test_tips_queued_before_the_group_exist_are_delivered(
    redis_client: aioredis.Redis,
) -> None:
    queue = TipQueue(redis_client)
    await queue.submit(CASE, b"sealed")
    assert await redis_client.xinfo_groups(STREAM) == []
    assert await queue.depth() == 1
    await queue.ensure_group()
    assert (await _claim(queue, "alice")).case_id == CASE


async def test_get_by_case(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    assert await queue.get(CASE) is None
    entry = await queue.submit(CASE, b"sealed", [b"a"])
    assert await queue.get(CASE) == QueuedTip(entry, CASE, b"sealed", (b"a",), 0)
    await _claim(queue, "alice")
    shown = await queue.get(CASE)
    assert shown is not None
    assert shown.deliveries == 1
    await queue.ack(CASE)
    assert await queue.get(CASE) == QueuedTip(entry, CASE, b"sealed", (b"a",), 0)


async def test_damaged_record_is_dead_lettered_not_blocking(
    redis_client: aioredis.Redis,
) -> None:
    queue = TipQueue(redis_client)
    await queue.submit(CASE, b"sealed")
    await queue.submit("case0002", b"fine")
    await redis_client.hdel(f"tipline:tip:{CASE}", "sealed")
    with pytest.raises(StorageError, match="damaged"):
        await queue.get(CASE)
    assert (await _claim(queue, "alice")).case_id == "case0002"
    (fields,) = await _dead_fields(redis_client)
    assert fields[b"case"] == CASE.encode()
    assert fields[b"reason"] == b"record missing or damaged"


async def test_entry_deleted_from_stream_is_skipped(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    entry = await queue.submit(CASE, b"sealed")
    await _claim(queue, "alice")
    await redis_client.xdel(STREAM, entry)
    assert await queue.claim_next("alice") is None
    assert await queue.pending_count() == 0


@pytest.mark.parametrize(
    "bad", ["short", "UPPERCASE1", "-leadinghyphen", "trailing-", "a" * 65, "has:colon1", ""]
)
async def test_case_id_validation(redis_client: aioredis.Redis, bad: str) -> None:
    queue = TipQueue(redis_client)
    with pytest.raises(ValueError, match="case id"):
        await queue.submit(bad, b"x")
    with pytest.raises(ValueError, match="case id"):
        await queue.ack(bad)
    with pytest.raises(ValueError, match="case id"):
        await queue.get(bad)
    assert await redis_client.dbsize() == 0


async def test_accepted_case_ids(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    for case_id in ("abcd1234", "0" * 64, "tl-2024-0f3a-9c"):
        await queue.submit(case_id, b"x")
    assert await redis_client.xlen(STREAM) == 3


async def test_consumer_name_validation(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    with pytest.raises(ValueError, match="consumer"):
        await queue.claim_next("")
    with pytest.raises(ValueError, match="consumer"):
        await queue.reclaim_idle(" ", timedelta(0))


async def test_only_sealed_bytes_are_accepted(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    with pytest.raises(TypeError, match="sealed bytes"):
        await queue.submit(CASE, "plain text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sealed bytes"):
        await queue.submit(CASE, b"sealed", [3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="empty"):
        await queue.submit(CASE, b"")
    assert await redis_client.dbsize() == 0


async def test_entry_ids_tell_the_day_not_the_time(redis_client: aioredis.Redis) -> None:
    """Stream ids are normally millisecond timestamps; ours are the day's start (P4)."""
    queue = TipQueue(redis_client)
    await queue.ensure_group()
    ids = [await queue.submit(f"case{i:04d}x", b"sealed") for i in range(3)]
    day_ms = 86_400_000
    parsed = [tuple(int(part) for part in entry.split("-")) for entry in ids]
    assert all(ms % day_ms == 0 for ms, _ in parsed)
    assert parsed == sorted(parsed) and len(set(parsed)) == 3
    seconds, _micro = await redis_client.time()
    assert parsed[0][0] == seconds // 86_400 * day_ms
    # A stream that already holds a later id (a clock set back) still takes new entries.
    await redis_client.xadd("tipline:tips", {"v": "1", "case": "future00"}, id=f"{10**13}-0")
    later = await queue.submit("case9999x", b"sealed")
    assert later == f"{10**13}-1"
