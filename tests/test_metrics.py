"""Metrics that identify nobody: ``tipline run telegram --metrics-port`` serves
``/metrics``, ``/healthz`` and ``/readyz`` on loopback. After a whole conversation (with
hostile text and a refused file) the scrape holds counts, a coarse histogram and label
values from closed sets only: no chat id, name, username, answer or token. A tip is
counted once its UTC day is over, never at the moment it arrived (P4). ``/readyz`` is
unready while Redis is down and ready again when it is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from conversations import messages as m
from privacy import X25519Identity
from privacy.scrub.errors import REASONS
from storage import Spool, TipQueue, connect
from tipline.metrics import BUCKETS, Metrics, MetricsServer, redis_ready
from tipline.runtime import offered_questionnaire
from tipline.settings import Settings

from .fakebotapi import FakeBotApi, walk
from .leaks import assert_absent
from .redis_processes import RedisProcess, free_port, running
from .test_telegram_parity import ANSWERS, FIRST_NAME, begin, identities, script, tipster
from .test_telegram_process import Process, _env

#: Text a tipster might type to forge a metric line or a label.
HOSTILE = 'x"} 1\ntipline_tips_total{language="7102938475"} 99\n# HELP evil'


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _get(port: int, path: str) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.read()


def _samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _allowed_labels(languages: tuple[str, ...]) -> set[str]:
    buckets = {str(b) for b in BUCKETS} | {"+Inf"}
    return (
        {"telegram", "ok", "failed", "queued", "spooled", "unavailable", "other"}
        | set(REASONS)
        | set(languages)
        | buckets
    )


def _value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def test_a_conversation_leaves_counts_and_no_identity(
    fake: FakeBotApi,
    redis_client: aioredis.Redis,
    redis_url: str,
    ephemeral_client: aioredis.Redis,
    ephemeral_url: str,
    tmp_path: Path,
) -> None:
    port = free_port()
    env = _env(
        tmp_path,
        REDIS_URL=redis_url,
        REDIS_EPHEMERAL_URL=ephemeral_url,
        TIPLINE_RECIPIENTS=str(X25519Identity.generate().recipient),
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE=fake.base_url,
        TIPLINE_METRICS_PORT=str(port),
    )
    bot = Process(fake, "ptb", env, tmp_path / "bot.log")
    await bot.start()
    try:
        assert await _get(port, "/healthz") == (200, b"ok\n")
        assert await _get(port, "/readyz") == (200, b"ready\n")
        user = tipster(fake)
        await begin(user)
        answers = script(user, place=lambda: user.send(HOSTILE))
        await walk(user, answers, until="evidence")
        await user.document(b"\x00\x01 not a format we know", name=f"{FIRST_NAME}-notes.bin")
        await fake.settled()
        assert user.texts()[-1] == m.REASON_FILE_REFUSED
        await walk(user, answers, until="review")
        await user.tap("send")
        await fake.settled()
        assert m.SUBMITTED in user.texts()
        assert await TipQueue(redis_client).depth() == 1
        status, body = await _get(port, "/metrics")
    finally:
        await bot.stop()
    assert status == 200
    needles = [*identities(), *ANSWERS, HOSTILE, "7102938475", fake.token, FIRST_NAME]
    assert_absent(body, needles, "the metrics")
    samples = _samples(body)
    languages = offered_questionnaire(Settings.from_env(env)).languages
    allowed = _allowed_labels(languages)
    for (name, labels), _ in samples.items():
        for key, value in labels:
            assert value in allowed, f"{name} has {key}={value!r}"
    handled = _value(samples, "tipline_updates_handled_total", channel="telegram", outcome="ok")
    assert handled >= 15  # every message and button press of the conversation
    assert _value(samples, "tipline_update_seconds_count", channel="telegram") == handled + _value(
        samples, "tipline_updates_handled_total", channel="telegram", outcome="failed"
    )
    assert _value(samples, "tipline_scrub_refusals_total", reason="unsupported") == 1
    assert _value(samples, "tipline_redis_errors_total", kind="unavailable") == 0
    # The tip is queued, but today's tips are published only after midnight UTC.
    for language in (*languages, "other"):
        for outcome in ("queued", "spooled"):
            tip = {"channel": "telegram", "outcome": outcome, "language": language}
            assert _value(samples, "tipline_tips_total", **tip) == 0


def test_tips_are_published_when_their_day_is_over() -> None:
    day = [date(2026, 3, 1)]
    metrics = Metrics(["en", "sw"], today=lambda: day[0])

    def tips(outcome: str, language: str) -> float:
        samples = _samples(metrics.scrape())
        return _value(
            samples, "tipline_tips_total", channel="telegram", outcome=outcome, language=language
        )

    metrics.tip("queued", "sw")
    metrics.tip("queued", "sw")
    metrics.tip("spooled", "en")
    metrics.tip("queued", HOSTILE)  # not an offered language: counted, as "other"
    assert tips("queued", "sw") == 0
    day[0] += timedelta(days=1)
    assert (tips("queued", "sw"), tips("spooled", "en"), tips("queued", "other")) == (2, 1, 1)
    metrics.tip("queued", "sw")
    assert tips("queued", "sw") == 2  # today's again waits for tomorrow
    day[0] += timedelta(days=1)
    assert tips("queued", "sw") == 3


def test_label_values_stay_in_their_closed_sets() -> None:
    metrics = Metrics(["en"])
    metrics.scrub_refused(HOSTILE)
    metrics.storage_error(HOSTILE)
    metrics.update_handled(0.3, HOSTILE)
    metrics.update_handled(-1.0, "ok")
    metrics.flood_notice()
    body = metrics.scrape()
    assert HOSTILE.encode() not in body
    samples = _samples(body)
    assert _value(samples, "tipline_scrub_refusals_total", reason="other") == 1
    assert _value(samples, "tipline_redis_errors_total", kind="other") == 1
    assert (
        _value(samples, "tipline_updates_handled_total", channel="telegram", outcome="other") == 1
    )
    assert _value(samples, "tipline_flood_notices_total", channel="telegram") == 1
    for (name, labels), _ in samples.items():
        for key, value in labels:
            assert value in _allowed_labels(("en",)), f"{name} has {key}={value!r}"


async def test_readyz_follows_redis(tmp_path: Path) -> None:
    server = RedisProcess(tmp_path / "redis", ["--appendonly", "no"])
    with running(server):
        client = await connect(
            f"redis://127.0.0.1:{server.port}/0", connect_timeout=0.5, retries=0
        )
        spool = Spool(tmp_path / "spool")
        metrics_port = free_port()
        http = MetricsServer(
            Metrics(["en"]), redis_ready([client], spool.directory), port=metrics_port
        )
        await http.start()
        try:
            assert await _get(metrics_port, "/readyz") == (200, b"ready\n")
            server.stop()
            assert await _get(metrics_port, "/readyz") == (503, b"not ready\n")
            assert (await _get(metrics_port, "/healthz"))[0] == 200  # alive all the same
            server.start()
            assert await _get(metrics_port, "/readyz") == (200, b"ready\n")
            spool.directory.rmdir()  # the spool's volume is gone: not ready either
            assert (await _get(metrics_port, "/readyz"))[0] == 503
            spool.directory.mkdir(mode=0o700)
            assert (await _get(metrics_port, "/readyz"))[0] == 200
        finally:
            await http.stop()
            await client.aclose()


async def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()
    first = MetricsServer(Metrics(["en"]), _always_ready, port=port)
    await first.start()
    try:
        with pytest.raises(OSError, match="in use"):
            await MetricsServer(Metrics(["en"]), _always_ready, port=port).start()
    finally:
        await first.stop()


async def _always_ready() -> bool:
    await asyncio.sleep(0)
    return True
