"""Metrics and health on a port of their own (off unless ``--metrics-port`` or
``TIPLINE_METRICS_PORT`` is given; loopback unless told otherwise).

``/metrics`` (Prometheus text format, from prometheus-client), ``/healthz`` (the process
answers) and ``/readyz`` (both Redis servers answer PING and the spool is writable).

Nothing here can identify anyone (P1): there are counters, one histogram and one gauge,
and every label value comes from a closed set fixed at start (outcomes, scrub reasons,
the offered languages, Redis error kinds, channels, the questionnaire's step ids);
anything else is counted as ``other``. Every series exists from the start at zero, so
the first appearance of a series tells nothing either. Tips are counted per UTC day and
published only once that day is over (P4: a day, never a time): ``tipline_tips_total``
jumps after midnight UTC, all at once, so a scrape never dates a tip more finely than
the transcript does. A restart loses the unpublished count of the current day, never a
tip.

Conversations (started, finished, cancelled and abandoned at a step) are counted in the
ephemeral Redis that every process of the bot shares (storage.tally), also per UTC day,
and published once the day is over; abandoned drafts are found by a sweep at each scrape
and every quarter of an hour. Those series are the same in every process: aggregate them
with ``max``, not ``sum``. The spool is counted at scrape time, also only for the days
that are over.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from bots.observe import API_ERRORS, Observer
from bots.progress import CHANNELS, FINISH_OUTCOMES, KINDS
from privacy.scrub.errors import REASONS
from storage import Spool, StorageError, TipQueue, translate_redis_errors
from storage.tally import ABANDONED, ConversationTally

__all__ = ["BUCKETS", "DayEndDepth", "Metrics", "MetricsServer", "redis_ready"]

log = logging.getLogger(__name__)

#: Coarse buckets (seconds) for the time to handle one update.
BUCKETS = (0.25, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
OTHER = "other"
UPDATE_OUTCOMES = ("ok", "failed")
TIP_OUTCOMES = ("queued", "spooled")
REDIS_ERRORS = ("unavailable", OTHER)
#: How often the metrics server looks for abandoned drafts when nobody scrapes.
SWEEP_EVERY = timedelta(minutes=15)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def next_midnight(now: datetime) -> datetime:
    """The next 00:00 UTC after ``now``."""
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(), UTC)


class DayEndDepth:
    """The queue's depth (tips claimed and not acknowledged, plus never delivered) at the
    end of each UTC day, taken at midnight UTC and kept in the ephemeral Redis for a
    week, so that every process of the bot serves the same value (the first process to
    take it wins).

    Why not live: a depth read at each scrape rises at the scrape after each tip and so
    dates it to within the scrape interval (P4 allows a day, never a time). Taken at
    midnight, it counts the whole of the day that ended. A process that was not running
    at a midnight does not take that day's value late, since a late value would count
    the first tips of the new day as well. The bot's Redis user counts the queue without
    reading it (``XINFO GROUPS``, :meth:`~storage.TipQueue.backlog`)."""

    KEEP = timedelta(days=8)

    def __init__(
        self,
        queue: TipQueue,
        client: aioredis.Redis,
        prefix: str = "tipline:metrics:queue-depth:",
        *,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.queue = queue
        self._client = client
        self._prefix = prefix
        self.now = now

    async def take(self, ended: date) -> None:
        """Record the depth now as that at the end of ``ended`` (unless recorded)."""
        depth = await self.queue.backlog()
        if depth is None:
            log.info("the queue's depth is not known (no consumer group yet)")
            return
        with translate_redis_errors():
            await self._client.set(
                self._prefix + ended.isoformat(),
                depth,
                nx=True,
                px=int(self.KEEP / timedelta(milliseconds=1)),
            )

    async def last(self) -> int | None:
        """The depth at the end of yesterday (UTC), if it was taken."""
        yesterday = self.now().astimezone(UTC).date() - timedelta(days=1)
        with translate_redis_errors():
            value = await self._client.get(self._prefix + yesterday.isoformat())
        try:
            return None if value is None else max(0, int(value))
        except ValueError:
            return None

    async def run(self) -> None:
        """Take the depth at every midnight UTC, for as long as the process runs."""
        while True:
            target = next_midnight(self.now())
            await asyncio.sleep((target - self.now()).total_seconds() + 0.05)
            if self.now() < target:
                continue  # woken early (the clock was set back): wait for it again
            try:
                await self.take(target.date() - timedelta(days=1))
            except StorageError:
                log.warning("the queue's depth at midnight could not be taken")


def _utc_today() -> date:
    return datetime.now(UTC).date()


def _closed(value: str, allowed: Iterable[str]) -> str:
    return value if value in allowed else OTHER


class _Shared(Collector):
    """The series read at scrape time: conversations (from the shared Redis) and the
    spool. Every series of the closed sets is there, at zero until counted; a count
    whose labels are not in them (a hand-edited Redis) is added to ``other``."""

    def __init__(self, steps: Iterable[str]) -> None:
        self.steps = (*dict.fromkeys([*steps, OTHER]),)
        self.totals: dict[tuple[str, str, str], int] = {}
        self.spooled = 0
        self.depth: int | None = None

    def _family(self, name: str, doc: str, label: str, values: Iterable[str]) -> Metric:
        family = CounterMetricFamily(name, doc, labels=["channel", label])
        allowed = tuple(values)
        found: Tally[tuple[str, str]] = Tally()
        for (kind, channel, value), count in self.totals.items():
            if kind == name.removeprefix("tipline_conversations_"):
                found[(_closed(channel, CHANNELS), _closed(value, allowed))] += max(0, count)
        for channel in (*CHANNELS, OTHER):
            for value in allowed:
                if channel != OTHER or found[(channel, value)]:
                    family.add_metric([channel, value], found[(channel, value)])
        return family

    def collect(self) -> Iterator[Metric]:
        yield self._family(
            "tipline_conversations_started",
            "Conversations begun, by kind (report, followup); a UTC day's are added once "
            "it is over",
            "kind",
            (*KINDS, OTHER),
        )
        yield self._family(
            "tipline_conversations_finished",
            "Conversations ended by the tipster or the bot, by outcome; a UTC day's are "
            "added once it is over",
            "outcome",
            (*FINISH_OUTCOMES, OTHER),
        )
        yield self._family(
            "tipline_conversations_cancelled",
            "Conversations the tipster cancelled, by the step given up at; a UTC day's "
            "are added once it is over",
            "step",
            self.steps,
        )
        yield self._family(
            f"tipline_conversations_{ABANDONED}",
            "Drafts that expired idle, by the step they were left at; counted on the UTC "
            "day they are found expired, added once that day is over",
            "step",
            self.steps,
        )
        spool = GaugeMetricFamily(
            "tipline_spool_tips",
            "Sealed tips waiting in the local spool for Redis, spooled before today (UTC)",
        )
        spool.add_metric([], self.spooled)
        yield spool
        if self.depth is not None:
            depth = GaugeMetricFamily(
                "tipline_queue_depth_day_end",
                "Tips claimed and not acknowledged, or never delivered, at the end of the "
                "last UTC day (taken at midnight; absent when no process was running then)",
            )
            depth.add_metric([], self.depth)
            yield depth


class Metrics(Observer):
    """The counters, in a registry of their own; an `Observer` for the channel and the
    intake."""

    def __init__(
        self,
        languages: Iterable[str],
        *,
        channel: str = "telegram",
        today: Callable[[], date] = _utc_today,
        steps: Iterable[str] = (),
        progress: ConversationTally | None = None,
        spool: Spool | None = None,
        day_end: DayEndDepth | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.progress = progress
        self.spool = spool
        self.day_end = day_end
        self._shared = _Shared(steps)
        self.registry.register(self._shared)
        self._languages = (*dict.fromkeys(languages), OTHER)
        self._today = today
        self._day = today()
        self._pending: Tally[tuple[str, str]] = Tally()
        self._channel = channel
        self.updates = Counter(
            "tipline_updates_handled",
            "Updates handled, by outcome (failed: to be delivered again)",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tipline_update_seconds",
            "Time to handle one update, coarse buckets",
            ["channel"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.floods = Counter(
            "tipline_flood_notices",
            "Chats told they went over the flood limit",
            ["channel"],
            registry=self.registry,
        )
        self.scrub_refusals = Counter(
            "tipline_scrub_refusals",
            "Attachments refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.redis_errors = Counter(
            "tipline_redis_errors",
            "Updates Redis failed, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.api_errors = Counter(
            "tipline_api_errors",
            "Bot API calls that failed, by kind (each attempt of a retried call counts)",
            ["channel", "kind"],
            registry=self.registry,
        )
        self.tips = Counter(
            "tipline_tips",
            "Tips made durable (queued, or spooled while Redis was away), by language; "
            "a UTC day's tips are added once that day is over",
            ["channel", "outcome", "language"],
            registry=self.registry,
        )
        for outcome in UPDATE_OUTCOMES:
            self.updates.labels(channel, outcome)
        self.latency.labels(channel)
        self.floods.labels(channel)
        for reason in (*REASONS, OTHER):
            self.scrub_refusals.labels(reason)
        for kind in REDIS_ERRORS:
            self.redis_errors.labels(kind)
        for kind in API_ERRORS:
            self.api_errors.labels(channel, kind)
        for outcome in TIP_OUTCOMES:
            for language in self._languages:
                self.tips.labels(channel, outcome, language)

    # -- Observer -------------------------------------------------------------------

    def update_handled(self, seconds: float, outcome: str) -> None:
        self.updates.labels(self._channel, _closed(outcome, UPDATE_OUTCOMES)).inc()
        self.latency.labels(self._channel).observe(max(0.0, seconds))

    def flood_notice(self) -> None:
        self.floods.labels(self._channel).inc()

    def scrub_refused(self, reason: str) -> None:
        self.scrub_refusals.labels(_closed(reason, REASONS)).inc()

    def api_error(self, kind: str) -> None:
        self.api_errors.labels(self._channel, _closed(kind, API_ERRORS)).inc()

    def storage_error(self, kind: str) -> None:
        self.redis_errors.labels(_closed(kind, REDIS_ERRORS)).inc()

    def tip(self, outcome: str, language: str) -> None:
        self.publish_finished_days()
        key = (_closed(outcome, TIP_OUTCOMES), _closed(language, self._languages))
        self._pending[key] += 1

    # -- publishing -------------------------------------------------------------------

    def publish_finished_days(self) -> None:
        """Add the tips of a day that is over to ``tipline_tips_total``."""
        today = self._today()
        if today == self._day:
            return
        for (outcome, language), count in self._pending.items():
            self.tips.labels(self._channel, outcome, language).inc(count)
        self._pending.clear()
        self._day = today

    async def refresh(self) -> None:
        """Sweep abandoned drafts and read the shared counts and the spool. When Redis
        does not answer, the counts read last are served again."""
        if self.progress is not None:
            try:
                await self.progress.sweep()
                self._shared.totals = await self.progress.totals()
            except StorageError:
                log.warning("the conversation counts could not be read")
        if self.day_end is not None:
            try:
                self._shared.depth = await self.day_end.last()
            except StorageError:
                log.warning("the queue's depth could not be read")
        if self.spool is not None:
            today = self._today()
            try:
                days = await asyncio.to_thread(self.spool.days)
            except OSError:
                log.warning("the spool could not be counted")
            else:
                self._shared.spooled = sum(1 for day in days if day < today)

    def scrape(self) -> bytes:
        self.publish_finished_days()
        return generate_latest(self.registry)


def _writable_directory(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def redis_ready(clients: Iterable[aioredis.Redis], spool: Path) -> Callable[[], Awaitable[bool]]:
    """A readiness check: every client answers PING, and the spool directory is
    writable (a sealed tip can wait there while Redis is away)."""
    servers = tuple(clients)

    async def ready() -> bool:
        try:
            with translate_redis_errors():
                for client in servers:
                    await client.ping()
        except StorageError:
            return False
        return await asyncio.to_thread(_writable_directory, spool)

    return ready


class MetricsServer:
    """``/metrics``, ``/healthz`` and ``/readyz`` on ``host:port``. No access log: a log
    line per request would be one more record of when someone looked."""

    def __init__(
        self,
        metrics: Metrics,
        ready: Callable[[], Awaitable[bool]],
        host: str = "127.0.0.1",
        port: int = 9464,
        sweep_every: timedelta = SWEEP_EVERY,
    ) -> None:
        self.metrics = metrics
        self._ready = ready
        self.host = host
        self.port = port
        self._sweep_every = sweep_every.total_seconds()
        self._runner: web.AppRunner | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._midnights: asyncio.Task[None] | None = None

    async def _sweep_forever(self) -> None:
        """Abandoned drafts are counted even when nobody scrapes, so the live counts
        never pile up."""
        while True:
            await asyncio.sleep(self._sweep_every)
            await self.metrics.refresh()

    async def _metrics(self, _: web.Request) -> web.Response:
        await self.metrics.refresh()
        body = self.metrics.scrape()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _: web.Request) -> web.Response:
        try:
            ready = await asyncio.wait_for(self._ready(), 10)
        except TimeoutError:
            ready = False
        if ready:
            return web.Response(text="ready\n")
        return web.Response(status=503, text="not ready\n")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self._sweeper = asyncio.create_task(self._sweep_forever())
        if self.metrics.day_end is not None:
            self._midnights = asyncio.create_task(self.metrics.day_end.run())
        log.info("metrics on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        for task in (self._sweeper, self._midnights):
            if task is not None:
                task.cancel()
                # Bounded: a cancel that lands inside a Redis command can be
                # swallowed (storage.locks says more), and the loop would go on.
                await asyncio.wait({task}, timeout=5)
        self._sweeper = self._midnights = None
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
