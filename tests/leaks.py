"""Read everything Tipline stored, as stored, to look for what must not be there.

Every Redis value is read with the command for its type (GET, HGETALL, LRANGE, SMEMBERS,
ZRANGE, XRANGE, and a stream's groups and consumers), never with DUMP: its RDB encoding
compresses strings, so plain text could hide in it. Files are read raw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis.asyncio as aioredis


def _b(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    return b"" if value is None else str(value).encode()


async def redis_contents(*clients: aioredis.Redis) -> bytes:
    """Every key and every value in the databases (durable and ephemeral), concatenated."""
    return b"\n".join([await _contents(client) for client in clients])


async def _contents(client: aioredis.Redis) -> bytes:
    out: list[bytes] = []
    async for key in client.scan_iter(count=500):
        out.append(_b(key))
        kind = _b(await client.type(key)).decode()
        reply: Any
        if kind == "string":
            out.append(_b(await client.get(key)))
        elif kind == "hash":
            reply = await client.hgetall(key)
            for field, value in reply.items():
                out += [_b(field), _b(value)]
        elif kind == "list":
            out += [_b(v) for v in await client.lrange(key, 0, -1)]
        elif kind == "set":
            out += [_b(v) for v in await client.smembers(key)]
        elif kind == "zset":
            reply = await client.zrange(key, 0, -1)
            out += [_b(v) for v in reply]
        elif kind == "stream":
            reply = await client.xrange(key)
            for entry_id, fields in reply:
                out.append(_b(entry_id))
                for field, value in fields.items():
                    out += [_b(field), _b(value)]
            groups: Any = await client.xinfo_groups(key)
            for group in groups:
                out.append(_b(group["name"]))
                consumers: Any = await client.xinfo_consumers(key, group["name"])
                out += [_b(consumer["name"]) for consumer in consumers]
        else:
            raise AssertionError(f"unexpected Redis type {kind} for {key!r}")
    return b"\n".join(out)


def file_contents(root: Path) -> bytes:
    """Every file below ``root``, raw, with its name."""
    out: list[bytes] = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_socket():
            out += [str(path.relative_to(root)).encode(), path.read_bytes()]
    return b"\n".join(out)


def assert_absent(haystack: bytes, needles: list[str], where: str) -> None:
    """None of the needles, in UTF-8 or UTF-16 (as a careless encoder might write them)."""
    found = [n for n in needles if n.encode() in haystack or n.encode("utf-16-le") in haystack]
    assert found == [], f"{where} holds {found}"


def aof_commands(redis_dir: Path) -> list[list[bytes]]:
    """Every command in the append-only files under ``redis_dir`` (RESP, as Redis writes
    them with ``aof-use-rdb-preamble no``), in order."""
    commands: list[list[bytes]] = []
    for path in sorted((redis_dir / "appendonlydir").glob("*.aof")):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            assert data[pos : pos + 1] == b"*", f"{path.name}: not RESP at byte {pos}"
            end = data.index(b"\r\n", pos)
            count = int(data[pos + 1 : end])
            pos = end + 2
            args: list[bytes] = []
            for _ in range(count):
                end = data.index(b"\r\n", pos)
                size = int(data[pos + 1 : end])
                args.append(data[end + 2 : end + 2 + size])
                pos = end + 2 + size + 2
            commands.append(args)
    return commands
