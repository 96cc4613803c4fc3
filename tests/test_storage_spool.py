"""The spool (P7): sealed tips wait on disk while Redis is down and are pushed exactly
once when it is back; damaged files are quarantined, never pushed."""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from storage import (
    EmbeddedRedis,
    Spool,
    SpoolCorruptError,
    StorageUnavailableError,
    TipQueue,
    connect,
    submit_durably,
)

CASE = "k3f9x2hq7m4d"
SEALED = b"age-encryption.org/v1\n-> X25519 opaque-sealed-bytes"
ATTACHMENT = b"\x89sealed-attachment\x00"


@pytest_asyncio.fixture
async def down_queue(tmp_path: Path) -> AsyncIterator[TipQueue]:
    """A queue whose Redis is unreachable (the socket does not exist)."""
    client = await connect(f"unix://{tmp_path / 'no-such-redis.sock'}", retries=0)
    try:
        yield TipQueue(client)
    finally:
        await client.aclose()


def _documented_layout(case_id: str, blobs: list[bytes], seq: int = 1) -> bytes:
    """The spool file format as docs/storage.md describes it, built independently."""
    body = b"TLSPOOL2" + struct.pack(">Q", seq) + struct.pack(">H", len(case_id))
    body += case_id.encode()
    body += struct.pack(">I", len(blobs))
    for blob in blobs:
        body += struct.pack(">Q", len(blob)) + blob
    return body + hashlib.sha256(body).digest()


async def test_redis_down_error_is_translated(down_queue: TipQueue) -> None:
    with pytest.raises(StorageUnavailableError) as info:
        await down_queue.submit(CASE, SEALED)
    assert info.value.__cause__ is not None


async def test_redis_down_spools_then_flush_pushes_once(
    tmp_path: Path, down_queue: TipQueue, redis_client: aioredis.Redis
) -> None:
    spool = Spool(tmp_path / "spool")
    assert stat.S_IMODE(os.stat(spool.directory).st_mode) == 0o700

    assert await submit_durably(down_queue, spool, CASE, SEALED, [ATTACHMENT]) == "spooled"
    path = spool.directory / f"{CASE}.tip"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # Nothing but the documented framing around the bytes it was given.
    assert path.read_bytes() == _documented_layout(CASE, [SEALED, ATTACHMENT])
    assert spool.list() == [CASE]
    assert await spool.flush(down_queue) == 0  # still down: stays
    assert path.exists()

    queue = TipQueue(redis_client)
    assert await spool.flush(queue) == 1
    assert not path.exists()
    assert spool.list() == []
    assert await spool.flush(queue) == 0
    assert await redis_client.xlen("tipline:tips") == 1
    tip = await queue.claim_next("alice")
    assert tip is not None
    assert (tip.case_id, tip.sealed, tip.attachments) == (CASE, SEALED, (ATTACHMENT,))


async def test_flush_after_partial_failure_does_not_duplicate(
    tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    spool = Spool(tmp_path / "spool")
    queue = TipQueue(redis_client)
    spool.put(CASE, SEALED)
    await queue.submit(CASE, SEALED)  # pushed, but the process died before removing
    assert await spool.flush(queue) == 1
    assert await redis_client.xlen("tipline:tips") == 1
    assert spool.list() == []


async def test_submit_durably_queues_and_pushes_older_tips_first(
    tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    spool = Spool(tmp_path / "spool")
    queue = TipQueue(redis_client)
    spool.put("older001", b"spooled earlier")
    assert await submit_durably(queue, spool, "newer001", b"new") == "queued"
    assert spool.list() == []
    first = await queue.claim_next("alice")
    second = await queue.claim_next("alice2")
    assert first is not None
    assert second is not None
    assert (first.case_id, second.case_id) == ("older001", "newer001")


async def test_truncated_file_is_quarantined_not_pushed(
    tmp_path: Path, redis_client: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path / "spool")
    spool.put(CASE, SEALED, [ATTACHMENT])
    spool.put("intact01", b"fine")
    path = spool.directory / f"{CASE}.tip"
    path.write_bytes(path.read_bytes()[:-7])
    queue = TipQueue(redis_client)
    assert await spool.flush(queue) == 1
    assert await redis_client.exists(f"tipline:tip:{CASE}") == 0
    assert (await queue.get("intact01")) is not None
    assert not path.exists()
    assert spool.quarantined() == [f"{CASE}.tip"]
    assert (spool.quarantine_dir / f"{CASE}.tip").stat().st_size > 0  # kept, not deleted
    assert "quarantined" in caplog.text
    assert spool.list() == []


def test_damaged_file_raises_on_load(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.put(CASE, SEALED)
    path = spool.directory / f"{CASE}.tip"
    data = bytearray(path.read_bytes())
    data[20] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(SpoolCorruptError, match="damaged"):
        spool.load(CASE)
    assert spool.quarantined() == [f"{CASE}.tip"]
    spool.put(CASE, SEALED)  # a second damaged copy does not overwrite the first
    path.write_bytes(b"TLSPOOL1")
    with pytest.raises(SpoolCorruptError):
        spool.load(CASE)
    assert len(spool.quarantined()) == 2


def test_put_load_remove_and_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.put("bbbbbbbb", b"b")
    spool.put("aaaaaaaa", b"a", [b"1", b""])
    spool.put("cccccccc", b"c")
    # The order is the order of writing, though every file bears the same time.
    assert spool.list() == ["bbbbbbbb", "aaaaaaaa", "cccccccc"]
    assert spool.load("aaaaaaaa") == (b"a", (b"1", b""))
    spool.remove("aaaaaaaa")
    spool.remove("aaaaaaaa")
    assert spool.list() == ["bbbbbbbb", "cccccccc"]
    with pytest.raises(FileNotFoundError):
        spool.load("aaaaaaaa")
    spool.put("aaaaaaaa", b"a again")
    assert spool.list() == ["bbbbbbbb", "cccccccc", "aaaaaaaa"]
    with pytest.raises(ValueError, match="case id"):
        spool.put("../../etc", b"x")


async def test_stale_temp_file_is_quarantined(tmp_path: Path, down_queue: TipQueue) -> None:
    spool = Spool(tmp_path / "spool")
    # Left by a process that is gone (its pid is in the name), or by this one but not
    # being written: stale. Another live process's temporary file is a write in progress.
    dead_pid = _a_dead_pid()
    stale = spool.directory / f".{CASE}.{dead_pid}.ab12.tmp"
    stale.write_bytes(b"TLSPOOL2 partial")
    mine = spool.directory / f".other002.{os.getpid()}.cd34.tmp"
    mine.write_bytes(b"TLSPOOL2 partial too")
    fresh = spool.directory / f".other001.{os.getppid()}.ef56.tmp"
    fresh.write_bytes(b"TLSPOOL2 being written")
    await spool.flush(down_queue)
    assert sorted(spool.quarantined()) == sorted([stale.name, mine.name])
    assert fresh.exists()


def _a_dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


async def test_the_spool_keeps_no_time_and_logs_no_case(
    tmp_path: Path, down_queue: TipQueue, caplog: pytest.LogCaptureFixture
) -> None:
    """P4: files and the directory bear the start of the UTC day; names carry no clock;
    nothing is logged when a tip is spooled, and no case id ever."""
    caplog.set_level("DEBUG")
    spool = Spool(tmp_path / "spool")
    day = int(time.time()) // 86400 * 86400
    for case_id in ("aaaaaaaa", "bbbbbbbb"):
        where = await submit_durably(down_queue, spool, case_id, b"sealed-" + case_id.encode())
        assert where == "spooled"
    assert caplog.records == []
    for path in [spool.directory, *spool.directory.iterdir()]:
        info = path.stat()
        assert info.st_mtime_ns == day * 10**9, path.name  # (ctime: see the threat model)
    (spool.directory / "aaaaaaaa.tip").write_bytes(b"TLSPOOL2 damaged")
    with pytest.raises(SpoolCorruptError):
        spool.load("aaaaaaaa")
    (spool.directory / "aaaaaaaa.tip").write_bytes(b"TLSPOOL2 damaged again")
    with pytest.raises(SpoolCorruptError):
        spool.load("aaaaaaaa")
    assert sorted(spool.quarantined())[0] == "aaaaaaaa.tip"
    for name in spool.quarantined():
        suffix = name.removeprefix("aaaaaaaa.tip").lstrip(".")
        assert len(suffix) in (0, 8), name  # a random token, not a clock reading
        info = (spool.quarantine_dir / name).stat()
        assert info.st_mtime_ns == day * 10**9
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "aaaaaaaa" not in logged and "bbbbbbbb" not in logged
    assert "quarantined" in logged


async def test_stopped_embedded_redis_then_back(tmp_path: Path) -> None:
    """End to end: the server stops, tips are spooled, it restarts, the spool drains."""
    spool = Spool(tmp_path / "spool")
    with EmbeddedRedis(tmp_path / "data") as server:
        client = await connect(server.url, retries=0)
        queue = TipQueue(client)
        assert await submit_durably(queue, spool, "before01", b"one") == "queued"
        server.stop()
        assert await submit_durably(queue, spool, "during01", b"two") == "spooled"
        assert await submit_durably(queue, spool, "during02", b"three") == "spooled"
        await client.aclose()
        server.start()
        client = await connect(server.url)
        queue = TipQueue(client)
        try:
            assert await submit_durably(queue, spool, "after001", b"four") == "queued"
            assert spool.list() == []
            order: list[str] = []
            while (tip := await queue.claim_next("r")) is not None:
                order.append(tip.case_id)
                await queue.ack(tip.case_id)
            assert order == [
                "before01",
                "during01",
                "during02",
                "after001",
            ]
        finally:
            await client.aclose()


async def test_a_tip_redis_rejects_does_not_block_the_others(
    tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    spool = Spool(tmp_path / "spool")
    queue = TipQueue(redis_client)
    await redis_client.set("tipline:tip:blocked1", b"not a record")  # WRONGTYPE on submit
    spool.put("blocked1", b"x")
    spool.put("fine0001", b"y")
    assert await submit_durably(queue, spool, "new00001", b"z") == "queued"
    assert spool.list() == ["blocked1"]  # kept for a human, not lost
    assert await redis_client.xlen("tipline:tips") == 2
