"""Metrics and health on a port of their own (off unless ``--metrics-port`` or
``TIPLINE_METRICS_PORT`` is given; loopback unless told otherwise).

``/metrics`` (Prometheus text format, from prometheus-client), ``/healthz`` (the process
answers) and ``/readyz`` (both Redis servers answer PING and the spool is writable).

Nothing here can identify anyone (P1): there are counters and one histogram, and every
label value comes from a closed set fixed at start (outcomes, scrub reasons, the
offered languages, Redis error kinds); anything else is counted as ``other``. Every
series exists from the start at zero, so the first appearance of a series tells
nothing either. Tips are counted per UTC day and published only once that day is over
(P4: a day, never a time): ``tipline_tips_total`` jumps after midnight UTC, all at once,
so a scrape never dates a tip more finely than the transcript does. A restart loses the
unpublished count of the current day, never a tip.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from bots.observe import Observer
from privacy.scrub.errors import REASONS
from storage import StorageError, translate_redis_errors

__all__ = ["BUCKETS", "Metrics", "MetricsServer", "redis_ready"]

log = logging.getLogger(__name__)

#: Coarse buckets (seconds) for the time to handle one update.
BUCKETS = (0.25, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
OTHER = "other"
UPDATE_OUTCOMES = ("ok", "failed")
TIP_OUTCOMES = ("queued", "spooled")
REDIS_ERRORS = ("unavailable", OTHER)


def _utc_today() -> date:
    return datetime.now(UTC).date()


def _closed(value: str, allowed: Iterable[str]) -> str:
    return value if value in allowed else OTHER


class Metrics(Observer):
    """The counters, in a registry of their own; an `Observer` for the channel and the
    intake."""

    def __init__(
        self,
        languages: Iterable[str],
        *,
        channel: str = "telegram",
        today: Callable[[], date] = _utc_today,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
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
    ) -> None:
        self.metrics = metrics
        self._ready = ready
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def _metrics(self, _: web.Request) -> web.Response:
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
        log.info("metrics on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
