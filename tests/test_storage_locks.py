"""Conversation locks in Redis: one holder across processes (here, across connections),
released only by its holder, renewed while held, lost by a holder that died."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from storage import DraftStore, StorageError
from storage.drafts import FENCE
from storage.errors import ConversationBusy
from storage.locks import ConversationLocks

KEY = "ab" * 32
OTHER = "cd" * 32


@pytest_asyncio.fixture
async def second(ephemeral_url: str) -> AsyncIterator[aioredis.Redis]:
    """Another connection, as another process has."""
    client = aioredis.Redis.from_url(ephemeral_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_one_holder_at_a_time_across_connections(
    ephemeral_client: aioredis.Redis, second: aioredis.Redis
) -> None:
    first_locks = ConversationLocks(ephemeral_client)
    second_locks = ConversationLocks(second)
    inside: list[str] = []
    overlaps = 0

    async def work(locks: ConversationLocks, name: str) -> None:
        nonlocal overlaps
        for _ in range(15):
            async with locks.hold(KEY):
                inside.append(name)
                if len(inside) > 1:
                    overlaps += 1
                await asyncio.sleep(0.003)
                inside.remove(name)

    await asyncio.gather(work(first_locks, "a"), work(second_locks, "b"))
    assert overlaps == 0
    assert await ephemeral_client.exists(f"tipline:lock:{KEY}") == 0


async def test_other_conversations_are_not_held_up(
    ephemeral_client: aioredis.Redis, second: aioredis.Redis
) -> None:
    locks = ConversationLocks(ephemeral_client, wait=timedelta(milliseconds=100))
    others = ConversationLocks(second, wait=timedelta(milliseconds=100))
    async with locks.hold(KEY), others.hold(OTHER):
        pass


async def test_a_dead_holder_loses_the_lock_when_it_expires(
    ephemeral_client: aioredis.Redis,
) -> None:
    # A process that took the lock and was killed: nobody renews or releases it.
    await ephemeral_client.set(f"tipline:lock:{KEY}", "dead-holder", px=300)
    locks = ConversationLocks(ephemeral_client, wait=timedelta(seconds=5))
    started = time.monotonic()
    async with locks.hold(KEY):
        waited = time.monotonic() - started
    assert 0.2 < waited < 3.0


async def test_a_holder_working_long_keeps_its_lock(
    ephemeral_client: aioredis.Redis, second: aioredis.Redis
) -> None:
    ttl = timedelta(milliseconds=400)
    locks = ConversationLocks(ephemeral_client, ttl=ttl)
    waiting = ConversationLocks(second, ttl=ttl, wait=timedelta(milliseconds=1600))
    async with locks.hold(KEY):
        # Four times the expiry: without renewal the other would get in.
        with pytest.raises(ConversationBusy):
            async with waiting.hold(KEY):
                pass
    assert isinstance(ConversationBusy("x"), StorageError)  # the channel's "deliver again"
    async with waiting.hold(KEY):
        pass


async def test_a_renewal_that_swallows_its_cancel_still_ends(
    ephemeral_client: aioredis.Redis,
) -> None:
    """redis-py can swallow a cancel that lands inside a command (seen under load on
    the renewal): leaving the block must still stop the renewer and release the lock,
    not wait on it for ever."""
    locks = ConversationLocks(ephemeral_client, ttl=timedelta(milliseconds=90))
    renew = locks._renew  # the seam the library call goes through
    entered = asyncio.Event()

    async def swallowing(*, keys: list[str], args: list[str | int]) -> object:
        entered.set()
        with contextlib.suppress(asyncio.CancelledError):  # what the library did
            await asyncio.sleep(0.05)
        return await renew(keys=keys, args=args)

    locks._renew = swallowing  # type: ignore[assignment]

    async def hold_briefly() -> None:
        async with locks.hold(KEY):
            await entered.wait()  # leave while a renewal is in flight

    holding = asyncio.create_task(hold_briefly())
    done, _ = await asyncio.wait({holding}, timeout=5)
    holding.cancel()
    assert holding in done, "the block never ended: the renewer outlived its cancel"
    assert await ephemeral_client.exists(f"tipline:lock:{KEY}") == 0


async def test_only_the_holder_releases(ephemeral_client: aioredis.Redis) -> None:
    locks = ConversationLocks(ephemeral_client, ttl=timedelta(milliseconds=200))
    name = f"tipline:lock:{KEY}"
    async with locks.hold(KEY):
        # The lock expired (a stalled holder) and another process took it.
        await ephemeral_client.set(name, "someone-else", px=5000)
    assert await ephemeral_client.get(name) == b"someone-else"


async def test_a_raw_chat_id_is_never_a_lock_name(ephemeral_client: aioredis.Redis) -> None:
    locks = ConversationLocks(ephemeral_client)
    with pytest.raises(ValueError, match="pseudonym"):
        async with locks.hold("7102938475"):
            pass


async def test_a_holder_whose_lock_expired_writes_no_draft(
    ephemeral_client: aioredis.Redis,
) -> None:
    """A process that stalled past its lock's expiry (swapped out, a paused machine)
    while another took the conversation and saved: its draft writes are refused whole,
    so the other's stay; without a lock held, writes are as before."""
    drafts = DraftStore(ephemeral_client)
    locks = ConversationLocks(ephemeral_client)
    live = "tipline:metrics:live"
    async with locks.hold(KEY):
        await drafts.put(KEY, b"step one (held)")
        await drafts.put(OTHER, b"a note beside it")
        assert await drafts.get(KEY) == b"step one (held)"
        # Meanwhile the lock expired; another process took it and saved the next step.
        await ephemeral_client.set(f"tipline:lock:{KEY}", "another-process", px=5000)
        await ephemeral_client.set(f"tipline:draft:{KEY}", b"step two (the other)")
        with pytest.raises(ConversationBusy):
            await drafts.put(KEY, b"stale step", counts=[(live, "x", 1)])
        with pytest.raises(ConversationBusy):
            await drafts.delete(KEY, OTHER)
    assert await drafts.get(KEY) == b"step two (the other)"
    assert await drafts.get(OTHER) == b"a note beside it"
    assert not await ephemeral_client.exists(live)
    assert await ephemeral_client.get(f"tipline:lock:{KEY}") == b"another-process"
    assert FENCE.get() is None
    await drafts.put(KEY, b"not held: written")
    assert await drafts.get(KEY) == b"not held: written"
