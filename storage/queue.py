"""The reviewer queue: a Redis Stream with one consumer group.

Each tip is a small stream entry (``v``, ``case``) plus a hash holding the sealed bytes,
written together by one Lua script so that a case is queued exactly once. Reviewers
claim entries through the consumer group and acknowledge them when done; entries a
reviewer has claimed but not acknowledged come back to that reviewer first, and idle
ones can be reclaimed by another reviewer. Reviewers' verdicts, sealed like the tips,
live in one hash (``tipline:verdicts``: case id -> sealed verdict). See docs/storage.md
and docs/review.md for the key layout.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as redis_exceptions

from storage.errors import StorageError, StorageUnavailableError, translate_redis_errors
from storage.keys import KeySpace

__all__ = [
    "FORMAT_VERSION",
    "PendingEntry",
    "QueuedTip",
    "TipQueue",
    "day_start_id",
    "entry_day",
    "sealed_blobs",
    "validate_case_id",
]

#: Version of the stream entry and record layout (field ``v``).
FORMAT_VERSION = 1

_CASE_ID = re.compile(r"[a-z0-9][a-z0-9-]{6,62}[a-z0-9]")
_MAX_CONSUMER = 200
_MAX_REASON = 1000


def validate_case_id(case_id: str) -> str:
    """Return ``case_id`` if it is 8 to 64 characters of ``a-z``, ``0-9`` and inner
    hyphens (``^[a-z0-9][a-z0-9-]{6,62}[a-z0-9]$``), else raise ValueError."""
    if not isinstance(case_id, str) or _CASE_ID.fullmatch(case_id) is None:
        raise ValueError(
            "a case id must be 8-64 characters: lowercase letters, digits, inner hyphens"
        )
    return case_id


def sealed_blobs(sealed: bytes, attachments: Sequence[bytes]) -> list[bytes]:
    """``[sealed, *attachments]`` as bytes; TypeError for anything but bytes-like values
    (text would be plaintext), ValueError for an empty sealed tip."""
    blobs = [sealed, *attachments]
    if not all(isinstance(b, bytes | bytearray | memoryview) for b in blobs):
        raise TypeError("a tip and its attachments must be sealed bytes")
    if not sealed:
        raise ValueError("a sealed tip cannot be empty")
    return [bytes(b) for b in blobs]


def _validate_consumer(consumer: str) -> str:
    if not isinstance(consumer, str) or not consumer.strip() or len(consumer) > _MAX_CONSUMER:
        raise ValueError(f"a consumer name must be 1-{_MAX_CONSUMER} characters")
    return consumer


def _text(value: Any) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


_DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1)


def entry_day(entry_id: str) -> date:
    """The UTC day a stream entry was added: entry ids are ``<start of the day in ms>-<n>``
    (they carry the day, never the time). ValueError for anything else."""
    ms, _, seq = entry_id.partition("-")
    if not ms.isdigit() or not seq.isdigit():
        raise ValueError("not a stream entry id")
    return _EPOCH + timedelta(days=int(ms) // _DAY_MS)


def day_start_id(day: date) -> str:
    """The smallest entry id of ``day`` (for ranges by day)."""
    return f"{(day - _EPOCH).days * _DAY_MS}-0"


@dataclass(frozen=True)
class PendingEntry:
    """An entry some reviewer claimed and has not acknowledged yet. ``case_id`` is None
    when the entry was deleted from the stream meanwhile; ``idle`` is the time since it
    was last handed out (the claim's, a reviewer's activity, not the tip's)."""

    entry_id: str
    case_id: str | None
    consumer: str
    deliveries: int
    idle: timedelta


@dataclass(frozen=True)
class QueuedTip:
    """A queued tip as stored: sealed bytes only, nothing the bot host can read.

    ``deliveries`` is how often the entry has been handed to a reviewer according to the
    group's pending list; it is 0 when the entry is not pending (never delivered yet, or
    already acknowledged).
    """

    entry_id: str
    case_id: str
    sealed: bytes
    attachments: tuple[bytes, ...]
    deliveries: int


# KEYS: record, stream. ARGV: case id, format version, sealed, attachments...
# Returns {entry id, 1 if newly queued else 0}. The record is written before XADD and
# the entry id last, so a script aborted half way leaves at most a record without an
# entry, which the next attempt replaces: never two entries. The first write is normally
# HSET, so a server out of memory refuses the whole script before it writes anything.
# It reads nothing it does not need to: a caller whose ACL user may only write (the
# bot's, docs/deploy.md) can run it; for a case queued already such a caller gets ''
# instead of the entry id, which it may not read.
_SUBMIT_LUA = """
if redis.call('HEXISTS', KEYS[1], 'entry') == 1 then
  local ok, entry = pcall(redis.call, 'HGET', KEYS[1], 'entry')
  if ok then
    return {entry, 0}
  end
  return {'', 0}
end
local count = #ARGV - 3
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'sealed', ARGV[3], 'attachments', tostring(count))
for i = 1, count do
  redis.call('HSET', KEYS[1], 'att:' .. tostring(i - 1), ARGV[3 + i])
end
-- The entry id tells the day, never the time (P4): <start of the UTC day in ms>-<n>.
-- '<ms>-*' has Redis pick the next n of the day without reading the stream.
local now = redis.call('TIME')
local ms = math.floor(tonumber(now[1]) / 86400) * 86400000
local ok, entry = pcall(redis.call, 'XADD', KEYS[2], string.format('%d-*', ms),
  'v', ARGV[2], 'case', ARGV[1])
if not ok then
  -- The last entry is of a later day (the clock went back): carry on after it. This
  -- reads the stream, so a write-only caller gets an error and spools the tip.
  local last = '0-0'
  local info = redis.call('XINFO', 'STREAM', KEYS[2])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      last = info[i + 1]
    end
  end
  local last_ms, last_seq = string.match(last, '^(%d+)-(%d+)$')
  entry = redis.call('XADD', KEYS[2], string.format('%d-%d', tonumber(last_ms),
    tonumber(last_seq) + 1), 'v', ARGV[2], 'case', ARGV[1])
end
redis.call('HSET', KEYS[1], 'entry', entry)
return {entry, 1}
"""

# KEYS: record, stream. ARGV: group. Returns the number of entries acknowledged (0/1).
_ACK_LUA = """
local entry = redis.call('HGET', KEYS[1], 'entry')
if not entry then
  return 0
end
return redis.call('XACK', KEYS[2], ARGV[1], entry)
"""

# KEYS: record, stream, dead stream. ARGV: group, case id, reason, format version,
# entry id ('' = look it up in the record). Returns 1 if moved, 0 if unknown or done.
_DEAD_LUA = """
local entry = ARGV[5]
if entry == '' then
  entry = redis.call('HGET', KEYS[1], 'entry')
  if not entry then
    return 0
  end
  if redis.call('HEXISTS', KEYS[1], 'dead') == 1 then
    return 0
  end
end
local deliveries = 0
local ok, pending = pcall(redis.call, 'XPENDING', KEYS[2], ARGV[1], entry, entry, 1)
if ok and pending[1] then
  deliveries = pending[1][4]
end
local dead = redis.call('XADD', KEYS[3], '*', 'v', ARGV[4], 'case', ARGV[2],
  'entry', entry, 'reason', ARGV[3], 'deliveries', tostring(deliveries))
redis.call('XACK', KEYS[2], ARGV[1], entry)
redis.call('XDEL', KEYS[2], entry)
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'dead', dead)
end
return 1
"""

# KEYS: stream. ARGV: group. Returns {pending, never delivered}, one consistent snapshot.
# "Never delivered" counts the entries after the group's last-delivered id (the group's
# `lag` field is not used: Redis 7.0 reports it wrongly after XDEL).
_DEPTH_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0, 0}
end
local pending = 0
local cursor = '-'
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for i = 1, #group, 2 do
    info[group[i]] = group[i + 1]
  end
  if info['name'] == ARGV[1] then
    pending = info['pending']
    cursor = '(' .. info['last-delivered-id']
  end
end
local waiting = 0
while true do
  local batch = redis.call('XRANGE', KEYS[1], cursor, '+', 'COUNT', 1000)
  waiting = waiting + #batch
  if #batch < 1000 then
    break
  end
  cursor = '(' .. batch[#batch][1]
end
return {pending, waiting}
"""


# KEYS: record, stream, verdicts. ARGV: group, case id, sealed verdict.
# Returns -1 if the case was never queued, else the number of entries acknowledged (0/1).
# The verdict is stored (a repeat replaces it) and the entry acknowledged in one step.
_VERDICT_LUA = """
local entry = redis.call('HGET', KEYS[1], 'entry')
if not entry then
  return -1
end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
local ok, acked = pcall(redis.call, 'XACK', KEYS[2], ARGV[1], entry)
if ok then
  return acked
end
return 0
"""

# KEYS: stream. ARGV: group. Returns {oldest pending id or '', oldest never delivered id
# or ''}, one consistent snapshot.
_OLDEST_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'', ''}
end
local pending = ''
local cursor = '-'
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for i = 1, #group, 2 do
    info[group[i]] = group[i + 1]
  end
  if info['name'] == ARGV[1] then
    cursor = '(' .. info['last-delivered-id']
    local summary = redis.call('XPENDING', KEYS[1], ARGV[1])
    if tonumber(summary[1]) > 0 then
      pending = summary[2]
    end
  end
end
local first = redis.call('XRANGE', KEYS[1], cursor, '+', 'COUNT', 1)
local waiting = ''
if first[1] then
  waiting = first[1][1]
end
return {pending, waiting}
"""


class TipQueue:
    """Sealed tips for reviewers, on the stream ``stream`` with consumer group ``group``.

    Records live under ``{prefix}{case_id}``; dead-lettered entries go to
    ``dead_stream``. All methods raise `StorageUnavailableError` when Redis cannot be
    reached.
    """

    @classmethod
    def of(cls, client: aioredis.Redis, keys: KeySpace, *, replicas: int = 0) -> TipQueue:
        """The queue of the tipline whose key names ``keys`` gives (storage.keys)."""
        return cls(
            client,
            stream=keys.stream,
            prefix=keys.records,
            dead_stream=keys.dead,
            verdicts=keys.verdicts,
            replicas=replicas,
        )

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        stream: str = "tipline:tips",
        group: str = "reviewers",
        prefix: str = "tipline:tip:",
        dead_stream: str = "tipline:dead",
        verdicts: str = "tipline:verdicts",
        replicas: int = 0,
        replica_timeout: timedelta = timedelta(seconds=2),
    ) -> None:
        if not (stream and group and prefix and dead_stream and verdicts):
            raise ValueError("stream, group, prefix, dead_stream and verdicts must be non-empty")
        if replicas < 0 or replica_timeout <= timedelta(0):
            raise ValueError("replicas must be >= 0 and the replica timeout positive")
        self._client = client
        #: A submit counts only once this many replicas have it too (Redis ``WAIT``).
        self.replicas = replicas
        self._replica_timeout_ms = max(1, int(replica_timeout.total_seconds() * 1000))
        self.stream = stream
        self.group = group
        self.prefix = prefix
        self.dead_stream = dead_stream
        self.verdicts_key = verdicts
        self._submit = client.register_script(_SUBMIT_LUA)
        self._ack = client.register_script(_ACK_LUA)
        self._dead = client.register_script(_DEAD_LUA)
        self._depth = client.register_script(_DEPTH_LUA)
        self._verdict = client.register_script(_VERDICT_LUA)
        self._oldest = client.register_script(_OLDEST_LUA)

    def record_key(self, case_id: str) -> str:
        """The Redis key of a case's record (the hash holding the sealed bytes)."""
        return self.prefix + validate_case_id(case_id)

    # -- writing --------------------------------------------------------------------

    async def ensure_group(self) -> None:
        """Create the stream and consumer group if missing (from the first entry, so
        tips queued before the group existed are delivered too)."""
        with translate_redis_errors():
            try:
                await self._client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
            except redis_exceptions.ResponseError as exc:
                if not str(exc).startswith("BUSYGROUP"):
                    raise

    async def submit(self, case_id: str, sealed: bytes, attachments: Sequence[bytes] = ()) -> str:
        """Queue a sealed tip once per case and return its stream entry id.

        Submitting a case again (double tap, retry after a timeout, spool flush) returns
        the existing entry id (``''`` to an ACL user that may not read it) and changes
        nothing: the first submission wins. When this returns, Redis has applied (and,
        with ``appendfsync always``, persisted) the tip, and with ``replicas`` set, that
        many replicas have it too; otherwise `StorageUnavailableError`.
        """
        record = self.record_key(case_id)
        blobs = sealed_blobs(sealed, attachments)
        with translate_redis_errors():
            if not self.replicas:
                reply = await self._submit(
                    keys=[record, self.stream],
                    args=[case_id, FORMAT_VERSION, *blobs],
                )
                return _text(reply[0])
            # WAIT counts the replicas that have this connection's writes, so it must
            # follow the script on the same connection: one pipeline.
            async with self._client.pipeline(transaction=False) as pipe:
                await self._submit(
                    keys=[record, self.stream],
                    args=[case_id, FORMAT_VERSION, *blobs],
                    client=pipe,
                )
                pipe.execute_command("WAIT", self.replicas, self._replica_timeout_ms)
                reply, acked = await pipe.execute()
        if int(acked) < self.replicas:
            # On the master (and its disk) but not yet on enough replicas: a failover
            # now could lose it. Not confirmed; the caller spools it and the spool
            # pushes it again (submit is idempotent) until the replicas have it.
            raise StorageUnavailableError(
                f"the tip reached {int(acked)} of {self.replicas} Redis replicas in time"
            )
        return _text(reply[0])

    # -- reading and claiming -------------------------------------------------------

    async def claim_next(self, consumer: str) -> QueuedTip | None:
        """Hand ``consumer`` its oldest unacknowledged tip again, else the next new one;
        None when nothing waits."""
        return await self.claim_own(consumer) or await self.claim_new(consumer)

    async def claim_own(self, consumer: str) -> QueuedTip | None:
        """Hand ``consumer`` its oldest claimed, unacknowledged tip again (its delivery
        count goes up); None if it holds none."""
        return await self._claim(consumer, "0")

    async def claim_new(self, consumer: str) -> QueuedTip | None:
        """Hand ``consumer`` the oldest tip never delivered to anyone; None if none waits."""
        return await self._claim(consumer, ">")

    async def _claim(self, consumer: str, start: str) -> QueuedTip | None:
        consumer = _validate_consumer(consumer)
        with translate_redis_errors():
            while True:
                entry = await self._read_one(consumer, start)
                if entry is None:
                    return None
                tip = await self._open_entry(*entry)
                if tip is not None:
                    return tip

    async def reclaim_idle(self, consumer: str, min_idle: timedelta) -> QueuedTip | None:
        """Take over the oldest entry that some reviewer claimed but left unacknowledged
        for at least ``min_idle`` (XAUTOCLAIM); None if there is none."""
        consumer = _validate_consumer(consumer)
        min_idle_ms = max(0, int(min_idle.total_seconds() * 1000))
        cursor: Any = "0-0"
        with translate_redis_errors():
            while True:
                reply = await self._with_group(
                    partial(
                        self._client.xautoclaim,
                        self.stream,
                        self.group,
                        consumer,
                        min_idle_ms,
                        start_id=cursor,
                        count=1,
                    )
                )
                cursor = reply[0]
                for entry_id, fields in reply[1] or []:
                    tip = await self._open_entry(entry_id, fields)
                    if tip is not None:
                        return tip
                if _text(cursor) == "0-0":
                    return None

    async def get(self, case_id: str) -> QueuedTip | None:
        """The tip of ``case_id`` (acknowledged or not), or None if it was never queued."""
        record_key = self.record_key(case_id)
        with translate_redis_errors():
            record = await self._client.hgetall(record_key)
            entry = record.get(b"entry")
            if entry is None:
                return None
            deliveries = await self._deliveries(entry)
        tip = _tip_from_record(_text(entry), case_id, record, deliveries)
        if tip is None:
            raise StorageError("the record of this case is damaged")
        return tip

    # -- finishing ------------------------------------------------------------------

    async def ack(self, case_id: str) -> bool:
        """Acknowledge the case's entry; True if it was pending. Safe to repeat."""
        record = self.record_key(case_id)
        with translate_redis_errors():
            return bool(await self._ack(keys=[record, self.stream], args=[self.group]))

    async def dead_letter(self, case_id: str, reason: str) -> bool:
        """Move the case's entry to the dead-letter stream with ``reason`` (no personal
        data) and acknowledge it; the record stays. False if unknown or already moved."""
        if not reason or len(reason) > _MAX_REASON:
            raise ValueError(f"a dead-letter reason must be 1-{_MAX_REASON} characters")
        return await self._bury(case_id, reason)

    # -- verdicts -------------------------------------------------------------------

    async def record_verdict(self, case_id: str, sealed: bytes) -> bool:
        """Store the case's sealed verdict (replacing an earlier one) and acknowledge its
        entry, in one step; True if the entry was pending. Safe to repeat. LookupError if
        the case was never queued."""
        record = self.record_key(case_id)
        if not isinstance(sealed, bytes) or not sealed:
            raise TypeError("a verdict must be sealed bytes")
        with translate_redis_errors():
            reply = int(
                await self._verdict(
                    keys=[record, self.stream, self.verdicts_key],
                    args=[self.group, case_id, sealed],
                )
            )
        if reply < 0:
            raise LookupError("no tip was queued under this case id")
        return bool(reply)

    async def verdict(self, case_id: str) -> bytes | None:
        """The case's sealed verdict, or None."""
        field = validate_case_id(case_id)
        with translate_redis_errors():
            value: Any = await self._client.hget(self.verdicts_key, field)
        return None if value is None else bytes(value)

    async def verdicts(self) -> dict[str, bytes]:
        """Every sealed verdict, by case id."""
        found: dict[str, bytes] = {}
        with translate_redis_errors():
            async for field, value in self._client.hscan_iter(self.verdicts_key, count=500):
                found[_text(field)] = bytes(value)
        return found

    # -- listing ----------------------------------------------------------------------

    async def pending_for(self, consumer: str | None = None) -> list[PendingEntry]:
        """Entries claimed and not acknowledged (by ``consumer``, or by anyone), oldest
        first."""
        if consumer is not None:
            consumer = _validate_consumer(consumer)
        rows: list[Any] = []
        cursor = "-"
        with translate_redis_errors():
            while True:
                try:
                    batch = await self._client.xpending_range(
                        self.stream,
                        self.group,
                        min=cursor,
                        max="+",
                        count=500,
                        consumername=consumer,
                    )
                except redis_exceptions.ResponseError as exc:
                    if str(exc).startswith("NOGROUP"):
                        return []
                    raise
                rows += batch
                if len(batch) < 500:
                    break
                cursor = "(" + _text(batch[-1]["message_id"])
            async with self._client.pipeline(transaction=False) as pipe:
                for row in rows:
                    pipe.xrange(self.stream, row["message_id"], row["message_id"], count=1)
                entries = await pipe.execute() if rows else []
        found = []
        for row, entry in zip(rows, entries, strict=True):
            case = _text(entry[0][1].get(b"case", b"")) if entry and entry[0][1] else None
            found.append(
                PendingEntry(
                    entry_id=_text(row["message_id"]),
                    case_id=case if case and _CASE_ID.fullmatch(case) else None,
                    consumer=_text(row["consumer"]),
                    deliveries=int(row["times_delivered"]),
                    idle=timedelta(milliseconds=int(row["time_since_delivered"])),
                )
            )
        return found

    async def sealed_since(self, day: date) -> list[tuple[str, str, bytes]]:
        """``(entry id, case id, sealed tip)`` of every entry added on ``day`` or later
        that is still in the stream (acknowledged or not; not dead-lettered), oldest
        first. An entry whose record is missing or damaged is left out."""
        cursor = day_start_id(day)
        found: list[tuple[str, str, bytes]] = []
        with translate_redis_errors():
            while True:
                batch: Any = await self._client.xrange(self.stream, cursor, "+", count=500)
                batch = batch or []
                cases = [
                    (_text(entry_id), _text((fields or {}).get(b"case", b"")))
                    for entry_id, fields in batch
                ]
                cases = [(e, c) for e, c in cases if _CASE_ID.fullmatch(c)]
                async with self._client.pipeline(transaction=False) as pipe:
                    for _entry, case in cases:
                        pipe.hget(self.prefix + case, "sealed")
                    sealed = await pipe.execute() if cases else []
                found += [
                    (entry, case, bytes(blob))
                    for (entry, case), blob in zip(cases, sealed, strict=True)
                    if blob
                ]
                if len(batch) < 500:
                    return found
                cursor = "(" + _text(batch[-1][0])

    # -- counting -------------------------------------------------------------------

    async def depth(self) -> int:
        """Tips reviewers still have to deal with: claimed but not acknowledged, plus
        never delivered. Acknowledged and dead-lettered entries are not counted."""
        with translate_redis_errors():
            pending, waiting = await self._depth(keys=[self.stream], args=[self.group])
        return int(pending) + int(waiting)

    async def backlog(self) -> int | None:
        """Tips reviewers still have to deal with (as :meth:`depth`), from the consumer
        group's counters alone (``XINFO GROUPS``, Redis 7: ``pending`` plus ``lag``):
        no entry is read, so a user that may not read the queue (the bot's) can count it.
        None when Redis cannot tell (no group yet, or ``lag`` unknown after deletions)."""
        with translate_redis_errors():
            try:
                groups = await self._client.xinfo_groups(self.stream)
            except redis_exceptions.ResponseError as exc:
                if "no such key" in str(exc):
                    return 0
                raise
        for group in groups:
            if _text(group.get("name", b"")) == self.group:
                lag = group.get("lag")
                return None if lag is None else int(group["pending"]) + int(lag)
        return None

    async def pending_count(self) -> int:
        """Entries claimed by some reviewer and not acknowledged yet."""
        with translate_redis_errors():
            try:
                summary = await self._client.xpending(self.stream, self.group)
            except redis_exceptions.ResponseError as exc:
                if str(exc).startswith("NOGROUP"):
                    return 0
                raise
        return int(summary["pending"])

    async def claimed_per_consumer(self) -> dict[str, int]:
        """How many entries each reviewer holds claimed and unacknowledged."""
        with translate_redis_errors():
            try:
                summary = await self._client.xpending(self.stream, self.group)
            except redis_exceptions.ResponseError as exc:
                if str(exc).startswith("NOGROUP"):
                    return {}
                raise
        return {_text(c["name"]): int(c["pending"]) for c in summary.get("consumers") or []}

    async def oldest_waiting(self) -> str | None:
        """The entry id of the oldest tip not acknowledged yet (claimed or never
        delivered); None when nothing waits. Its day is :func:`entry_day`."""
        with translate_redis_errors():
            pending, waiting = await self._oldest(keys=[self.stream], args=[self.group])
        ids = [_text(i) for i in (pending, waiting) if i]
        if not ids:
            return None
        return min(ids, key=lambda i: tuple(int(part) for part in i.split("-")))

    async def dead_count(self) -> int:
        """Entries in the dead-letter stream."""
        with translate_redis_errors():
            return int(await self._client.xlen(self.dead_stream))

    # -- internals ------------------------------------------------------------------

    async def _with_group(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``call()``; if the group does not exist yet, create it and run it again."""
        try:
            return await call()
        except redis_exceptions.ResponseError as exc:
            if not str(exc).startswith("NOGROUP"):
                raise
        await self.ensure_group()
        return await call()

    async def _read_one(self, consumer: str, start: str) -> tuple[Any, Any] | None:
        reply = await self._with_group(
            lambda: self._client.xreadgroup(self.group, consumer, {self.stream: start}, count=1)
        )
        streams = list(reply.values()) if isinstance(reply, dict) else [s[1] for s in reply or []]
        for entries in streams:
            for entry_id, fields in entries:
                return entry_id, fields
        return None

    async def _deliveries(self, entry_id: Any) -> int:
        try:
            rows = await self._client.xpending_range(
                self.stream, self.group, min=entry_id, max=entry_id, count=1
            )
        except redis_exceptions.ResponseError as exc:
            if str(exc).startswith("NOGROUP"):
                return 0
            raise
        return int(rows[0]["times_delivered"]) if rows else 0

    async def _open_entry(self, entry_id: Any, fields: Any) -> QueuedTip | None:
        """Load a delivered entry's record. An entry deleted from the stream is just
        acknowledged; one whose record is missing or damaged is dead-lettered, so one bad
        entry cannot block a reviewer. Returns None in both cases."""
        if not fields:
            await self._client.xack(self.stream, self.group, entry_id)
            return None
        case_id = _text(fields.get(b"case", b""))
        if _CASE_ID.fullmatch(case_id) is None:
            await self._bury("invalid", "malformed stream entry", entry_id=entry_id)
            return None
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.prefix + case_id)
            pipe.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
            record, rows = await pipe.execute()
        deliveries = int(rows[0]["times_delivered"]) if rows else 1
        tip = _tip_from_record(_text(entry_id), case_id, record, deliveries)
        if tip is None:
            await self._bury(case_id, "record missing or damaged", entry_id=entry_id)
        return tip

    async def _bury(self, case_id: str, reason: str, *, entry_id: Any = "") -> bool:
        record = self.prefix + case_id if entry_id else self.record_key(case_id)
        with translate_redis_errors():
            moved = await self._dead(
                keys=[record, self.stream, self.dead_stream],
                args=[self.group, case_id, reason, FORMAT_VERSION, entry_id],
            )
        return bool(moved)


def _tip_from_record(
    entry_id: str, case_id: str, record: Any, deliveries: int
) -> QueuedTip | None:
    sealed = record.get(b"sealed")
    try:
        count = int(record.get(b"attachments", b""))
    except ValueError:
        return None
    attachments = [record.get(f"att:{i}".encode()) for i in range(count)]
    if sealed is None or any(a is None for a in attachments):
        return None
    return QueuedTip(
        entry_id=entry_id,
        case_id=case_id,
        sealed=bytes(sealed),
        attachments=tuple(bytes(a) for a in attachments),
        deliveries=deliveries,
    )
