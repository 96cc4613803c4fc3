"""The leak scanner itself must find what it looks for, in every Redis type and in files."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis

from .leaks import assert_absent, file_contents, redis_contents


@pytest.mark.parametrize("kind", ["string", "hash", "list", "set", "zset", "stream", "group"])
async def test_a_planted_secret_is_found(redis_client: aioredis.Redis, kind: str) -> None:
    secret = "planted-Ngong-Road-secret"
    if kind == "string":
        await redis_client.set("k", secret)
    elif kind == "hash":
        await redis_client.hset("k", "f", secret)
    elif kind == "list":
        await redis_client.rpush("k", secret)
    elif kind == "set":
        await redis_client.sadd("k", secret)
    elif kind == "zset":
        await redis_client.zadd("k", {secret: 1})
    elif kind == "stream":
        await redis_client.xadd("k", {"f": secret})
    else:
        await redis_client.xgroup_create("k", "g", mkstream=True)
        await redis_client.xadd("k", {"f": "ciphertext"})
        await redis_client.xreadgroup("g", secret, {"k": ">"})  # a consumer named so
    with pytest.raises(AssertionError, match="planted"):
        assert_absent(await redis_contents(redis_client), [secret], "Redis")


def test_files_and_utf16_are_searched(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.log").write_bytes("Ngong".encode("utf-16-le"))
    with pytest.raises(AssertionError, match="Ngong"):
        assert_absent(file_contents(tmp_path), ["Ngong"], "files")
    assert_absent(file_contents(tmp_path), ["Kibera"], "files")
