"""Redis Sentinel on loopback, with Debian's redis-server and redis-sentinel: a master
and a replica (both with the AOF, fsync always) and three sentinels. Tipline finds the
master through the sentinels (REDIS_SENTINELS, REDIS_SENTINEL_MASTER) and, with
REDIS_MIN_REPLICAS=1, counts a tip as received only once the replica has it. The master
is killed (SIGKILL) in the middle of a stream of tips; the sentinels promote the replica;
every tip that was confirmed (queued, or spooled while no master answered) is in the
new master's queue afterwards, exactly once. Then a console conversation and a
reviewer's ``tipline review next``, configured with the sentinels alone, go on."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from privacy import X25519Identity, write_identity_file
from storage import connect, submit_durably
from storage.followup import FollowupStore
from tipline.runtime import Runtime, open_runtime
from tipline.settings import Settings

from .redis_processes import RedisProcess, run_tipline, running
from .test_cli import CONVERSATION, DESCRIPTION

ROOT = Path(__file__).resolve().parents[1]

MASTER = "tipline"
#: Upper bound for the cluster to settle or fail over: reaching it fails the test; how
#: fast it gets there is never asserted.
LIMIT = 60.0
AOF = ["--appendonly", "yes", "--appendfsync", "always"]


def _case(i: int) -> str:
    return f"case-failover-{i:03d}"


class Cluster:
    def __init__(self, base: Path) -> None:
        self.master = RedisProcess(base / "master", AOF)
        self.replica = RedisProcess(
            base / "replica", [*AOF, "--replicaof", "127.0.0.1", str(self.master.port)]
        )
        self.sentinels = [
            RedisProcess(
                base / f"sentinel-{n}",
                [
                    f"sentinel monitor {MASTER} 127.0.0.1 {self.master.port} 2",
                    f"sentinel down-after-milliseconds {MASTER} 1000",
                    f"sentinel failover-timeout {MASTER} 10000",
                    f"sentinel parallel-syncs {MASTER} 1",
                ],
                sentinel=True,
                ready="+monitor master",
            )
            for n in range(3)
        ]

    @property
    def addresses(self) -> str:
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)


async def _until(what: str, check: Callable[[], Awaitable[bool]]) -> None:
    """Poll ``check`` until it returns true (bounded by LIMIT)."""
    deadline = time.monotonic() + LIMIT
    while True:
        try:
            if await check():
                return
        except Exception:  # noqa: S110 - a server still coming up or going down
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        await asyncio.sleep(0.1)


async def _admin(port: int) -> aioredis.Redis:
    return await connect(f"redis://127.0.0.1:{port}/0", check=True)


async def _replicas_online(port: int) -> bool:
    client = await _admin(port)
    try:
        info = await client.info("replication")
        return info.get("role") == "master" and any(
            isinstance(v, dict) and v.get("state") == "online" for v in info.values()
        )
    finally:
        await client.aclose()


async def _ask_sentinel(port: int, *args: str) -> Any:
    client: Any = await _admin(port)
    try:
        return await client.execute_command("SENTINEL", *args)
    finally:
        await client.aclose()


async def _sentinels_agree(cluster: Cluster, port: int, *, complete: bool = True) -> bool:
    """Every sentinel names ``port`` as the master and (``complete``) knows a replica and
    the other two sentinels."""
    for sentinel in cluster.sentinels:
        address = await _ask_sentinel(sentinel.port, "get-master-addr-by-name", MASTER)
        if int(address[1]) != port:
            return False
        if complete:
            replicas = await _ask_sentinel(sentinel.port, "replicas", MASTER)
            others = await _ask_sentinel(sentinel.port, "sentinels", MASTER)
            if not replicas or len(others) != len(cluster.sentinels) - 1:
                return False
    return True


async def _drained(runtime: Runtime) -> bool:
    await runtime.spool.flush(runtime.queue)
    return not runtime.spool.list()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    servers = Cluster(tmp_path / "redis")
    with running(servers.master, servers.replica, *servers.sentinels):
        yield servers


async def test_a_failover_loses_no_confirmed_tip(cluster: Cluster, tmp_path: Path) -> None:
    await _until("the replica syncs", lambda: _replicas_online(cluster.master.port))
    await _until(
        "the sentinels see everyone", lambda: _sentinels_agree(cluster, cluster.master.port)
    )
    settings = Settings.from_env(
        {
            "REDIS_SENTINELS": cluster.addresses,
            "REDIS_SENTINEL_MASTER": MASTER,
            "REDIS_MIN_REPLICAS": "1",
            "TIPLINE_DATA_DIR": str(tmp_path / "data"),
            "TIPLINE_RECIPIENTS": str(X25519Identity.generate().recipient),
        }
    )
    outcomes: dict[str, str] = {}
    async with open_runtime(settings, intake=False) as runtime:
        queue, spool = runtime.queue, runtime.spool
        for i in range(20):
            outcomes[_case(i)] = await submit_durably(queue, spool, _case(i), b"sealed %d" % i)
        assert set(outcomes.values()) == {"queued"}  # master and replica both up

        cluster.master.stop(kill=True)  # mid-load: no shutdown, no last fsync
        for i in range(20, 30):
            outcomes[_case(i)] = await submit_durably(queue, spool, _case(i), b"sealed %d" % i)
        assert "spooled" in outcomes.values()  # nobody answered for a while

        await _until(
            "the sentinels promote the replica",
            lambda: _sentinels_agree(cluster, cluster.replica.port, complete=False),
        )
        # The old master comes back; the sentinels make it the new master's replica, so
        # tips can be confirmed on two servers again.
        cluster.master.start()
        await _until("the old master follows", lambda: _replicas_online(cluster.replica.port))

        for i in range(30, 40):
            outcomes[_case(i)] = await submit_durably(queue, spool, _case(i), b"sealed %d" % i)
        await _until("the spool drains", lambda: _drained(runtime))
        assert spool.list() == []

        # Follow-up records go to the new master as well.
        followups = FollowupStore(runtime.client)
        await followups.create("f" * 64, _case(35), "age1recipient")
        assert await followups.case_for("f" * 64) == _case(35)

    new_master = await _admin(cluster.replica.port)
    try:
        assert (await new_master.info("replication"))["role"] == "master"
        entries: Any = await new_master.xrange("tipline:tips")
        queued = [fields[b"case"].decode() for _, fields in entries]
        assert sorted(queued) == sorted(outcomes)  # every confirmed tip, once
        for case in outcomes:
            record = await new_master.hgetall(f"tipline:tip:{case}")
            assert record[b"sealed"] == b"sealed %d" % int(case.rsplit("-", 1)[1])
        await new_master.flushall()  # room for a real tip
    finally:
        await new_master.aclose()

    # Conversations go on: a hotline operator's console, then a reviewer's command, both
    # finding the new master through the sentinels alone.
    reviewer = X25519Identity.generate()
    key = tmp_path / "reviewer.key"
    write_identity_file(key, reviewer)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "TIPLINE_DATA_DIR": str(tmp_path / "console-data"),
        "TIPLINE_RECIPIENTS": str(reviewer.recipient),
        "REDIS_SENTINELS": cluster.addresses,
        "REDIS_SENTINEL_MASTER": MASTER,
        "REDIS_MIN_REPLICAS": "1",
    }
    code, out = await run_tipline(env, "console", "--lang", "en", stdin="\n".join(CONVERSATION))
    assert code == 0, out
    assert "Your report was received safely." in out
    code, out = await run_tipline(
        env, "review", "next", "--identity", str(key), "--reviewer", "ana"
    )
    assert code == 0, out
    assert DESCRIPTION in out
