"""Conversation counts that every process of a bot shares, beside the drafts (in the
ephemeral Redis), and that never say who or when more finely than a day.

Two hashes:

``tipline:metrics:live``
    ``channel|step|hour`` -> how many drafts are at that step and expire, if left idle,
    by the end of that hour (an hour number since the epoch, UTC: the draft's idle
    deadline rounded *up* to the hour, so it is never earlier than the real expiry and
    no exact activity time is kept). A draft moves its count (−1 here, +1 there) in the
    same command as its own write (`DraftStore.put` with ``counts``), only when its step
    or its deadline hour changes. Redis expires drafts silently: a count whose hour is
    over (plus a grace, for a step in flight at that moment) belongs to drafts that
    expired there, left at that step. :meth:`ConversationTally.sweep` moves those to
    ``abandoned``, in one script, so two sweepers never count a draft twice.

``tipline:metrics:conversations``
    ``YYYY-MM-DD|name|channel|label`` -> count, for the current UTC day, and
    ``total|name|channel|label`` -> the sum of the days that are over. The sweep folds
    each finished day into the totals; only the totals are published (P4: a day, never
    a time).

No field holds an identifier or anything a tipster typed: channel, step and label come
from closed sets the caller fixes (see bots.progress), and the store refuses a ``|``
in them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from storage.drafts import Increment
from storage.errors import translate_redis_errors

__all__ = ["ABANDONED", "ConversationTally", "Filing"]

HOUR_S = 3600
#: The name the sweep counts expired drafts under.
ABANDONED = "abandoned"
_TOTAL = "total"

# KEYS: live, conversations. ARGV: the last hour that is over (with the grace), today
# ('YYYY-MM-DD'), the name to count expired drafts under. Returns how many were found.
_SWEEP_LUA = """
local found = 0
local live = redis.call('HGETALL', KEYS[1])
for i = 1, #live, 2 do
  local field, n = live[i], tonumber(live[i + 1])
  local channel, step, hour = string.match(field, '^([^|]+)|([^|]+)|(%d+)$')
  if not hour then
    redis.call('HDEL', KEYS[1], field)
  elseif n <= 0 or tonumber(hour) <= tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], field)
    if n > 0 and tonumber(hour) <= tonumber(ARGV[1]) then
      redis.call('HINCRBY', KEYS[2], ARGV[2] .. '|' .. ARGV[3] .. '|' .. channel .. '|' .. step, n)
      found = found + n
    end
  end
end
local counts = redis.call('HGETALL', KEYS[2])
for i = 1, #counts, 2 do
  local field = counts[i]
  local day, rest = string.match(field, '^([^|]+)|(.+)$')
  if day ~= 'total' and (not day or day < ARGV[2]) then
    redis.call('HDEL', KEYS[2], field)
    if day then
      redis.call('HINCRBY', KEYS[2], 'total|' .. rest, counts[i + 1])
    end
  end
end
return found
"""


@dataclass(frozen=True)
class Filing:
    """Where a draft is counted in the live hash: its step and its deadline hour."""

    step: str
    hour: int

    def to_json(self) -> list[str | int]:
        return [self.step, self.hour]

    @classmethod
    def from_json(cls, doc: object) -> Filing:
        if (
            isinstance(doc, list)
            and len(doc) == 2
            and isinstance(doc[0], str)
            and isinstance(doc[1], int)
            and not isinstance(doc[1], bool)
        ):
            return cls(doc[0], doc[1])
        raise ValueError("malformed filing")


def _word(value: str) -> str:
    if not value or "|" in value:
        raise ValueError("a count's channel, step or label must be a non-empty word")
    return value


class ConversationTally:
    """The shared conversation counts of the drafts in ``client`` (whose idle TTL is
    ``ttl``). ``clock`` gives seconds since the epoch (tests move it)."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        ttl: timedelta,
        clock: Callable[[], float] = time.time,
        grace: timedelta = timedelta(minutes=10),
        live: str = "tipline:metrics:live",
        counts: str = "tipline:metrics:conversations",
    ) -> None:
        self._client = client
        self._ttl_s = ttl.total_seconds()
        self._grace_s = grace.total_seconds()
        self.clock = clock
        self.live_key = live
        self.counts_key = counts
        self._sweep = client.register_script(_SWEEP_LUA)

    def _day(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).date().isoformat()

    def filing(self, step: str) -> Filing:
        """Where a draft at ``step`` written now is counted: the end of the hour its idle
        TTL runs out in (rounded up, so never before the draft really expires)."""
        deadline = self.clock() + self._ttl_s
        return Filing(_word(step), -int(-deadline // HOUR_S))

    def moves(
        self,
        channel: str,
        old: Filing | None,
        new: Filing | None,
        events: Sequence[tuple[str, str]] = (),
    ) -> list[Increment]:
        """The increments that move a draft of ``channel`` from ``old`` to ``new`` and
        count ``events`` ((name, label) pairs) today; empty when nothing changes."""
        out: list[Increment] = []
        if old != new:
            if old is not None:
                out.append((self.live_key, f"{_word(channel)}|{old.step}|{old.hour}", -1))
            if new is not None:
                out.append((self.live_key, f"{_word(channel)}|{new.step}|{new.hour}", 1))
        day = self._day()
        for name, label in events:
            field = f"{day}|{_word(name)}|{_word(channel)}|{_word(label)}"
            out.append((self.counts_key, field, 1))
        return out

    async def sweep(self) -> int:
        """Count the drafts whose deadline hour is over (plus the grace) as abandoned at
        their step, and fold the days that are over into the totals. Atomic: any number
        of sweepers count each expired draft once. Returns how many were found."""
        now = self.clock()
        over = int((now - self._grace_s) // HOUR_S)  # deadlines up to this hour are past
        with translate_redis_errors():
            found = await self._sweep(
                keys=[self.live_key, self.counts_key], args=[over, self._day(), ABANDONED]
            )
        return int(found)

    async def totals(self) -> dict[tuple[str, str, str], int]:
        """(name, channel, label) -> count, over the UTC days that are over."""
        with translate_redis_errors():
            raw = await self._client.hgetall(self.counts_key)
        found: dict[tuple[str, str, str], int] = {}
        for field, value in raw.items():
            text = field.decode() if isinstance(field, bytes) else str(field)
            parts = text.split("|")
            if len(parts) != 4 or parts[0] != _TOTAL:
                continue
            try:
                found[(parts[1], parts[2], parts[3])] = int(value)
            except ValueError:
                continue
        return found
