"""Metrics that identify nobody: ``tipline run telegram --metrics-port`` serves
``/metrics``, ``/healthz`` and ``/readyz`` on loopback. After a whole conversation (with
hostile text and a refused file) the scrape holds counts, a coarse histogram and label
values from closed sets only: no chat id, name, username, answer or token. A tip is
counted once its UTC day is over, never at the moment it arrived (P4). ``/readyz`` is
unready while Redis is down and ready again when it is back."""

from __future__ import annotations

import asyncio
import os
from collections import Counter as Tally
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from bots.intake import Intake
from bots.observe import API_ERRORS
from bots.progress import CHANNELS, FINISH_OUTCOMES, KINDS, lifecycle, step_labels
from conversations import Ask, Cancel, Choose, Event, FollowUp, Help, Skip, Start, State, Text
from conversations import messages as m
from privacy import X25519Identity
from privacy.scrub.errors import REASONS
from storage import Spool, TipQueue, connect
from storage.tally import ConversationTally
from tipline.metrics import BUCKETS, DayEndDepth, Metrics, MetricsServer, redis_ready
from tipline.runtime import offered_questionnaire
from tipline.settings import Settings

from .fakebotapi import FakeBotApi, walk
from .leaks import assert_absent, redis_contents
from .redis_processes import RedisProcess, free_port, running
from .test_intake import PLACE, SPECIES, _intake
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


_CONVERSATION_LABELS = {*CHANNELS, *KINDS, *FINISH_OUTCOMES}


def _allowed_labels(languages: tuple[str, ...]) -> set[str]:
    buckets = {str(b) for b in BUCKETS} | {"+Inf"}
    return (
        {"telegram", "ok", "failed", "queued", "spooled", "unavailable", "other"}
        | set(REASONS)
        | set(languages)
        | buckets
        | _CONVERSATION_LABELS
        | set(API_ERRORS)
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
        # The bot counted the conversation in the shared Redis, for today (not yet shown).
        today: Tally[str] = Tally()
        for field, count in (
            await ephemeral_client.hgetall("tipline:metrics:conversations")
        ).items():
            today[(field if isinstance(field, str) else field.decode()).split("|", 1)[1]] += int(
                count
            )
        assert today == {"started|telegram|report": 1, "finished|telegram|submitted": 1}
    finally:
        await bot.stop()
    assert status == 200
    needles = [*identities(), *ANSWERS, HOSTILE, "7102938475", fake.token, FIRST_NAME]
    assert_absent(body, needles, "the metrics")
    samples = _samples(body)
    questionnaire = offered_questionnaire(Settings.from_env(env))
    languages = questionnaire.languages
    steps = step_labels(questionnaire)
    allowed = _allowed_labels(languages) | set(steps)
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
    # So are today's conversations; every series is there from the start, at zero.
    for kind in KINDS:
        started = {"channel": "telegram", "kind": kind}
        assert _value(samples, "tipline_conversations_started_total", **started) == 0
    for step in steps:
        left = {"channel": "telegram", "step": step}
        assert _value(samples, "tipline_conversations_abandoned_total", **left) == 0
    assert _value(samples, "tipline_spool_tips") == 0


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


# -- conversations: started, finished, left at a step --------------------------------

#: 09:30 UTC on the day the intake tests' tips are received.
MORNING = datetime(2026, 5, 17, 9, 30, tzinfo=UTC).timestamp()
HOUR = 3600.0
SCRIPT: dict[str, Event] = {
    "_language_confirm": Choose("_language_confirm", "keep"),
    "safety": Choose("safety", "continue"),
    "category": Choose("category", "trafficking"),
    "description": Text(HOSTILE),  # free text a tipster typed: never a label
    "species": Text(SPECIES),
    "country": Text("Kenya"),
    "place": Text(PLACE),
    "location": Skip(),
    "when": Choose("when", "ongoing"),
    "when_details": Text("Every Tuesday"),
    "evidence": Choose("evidence", "done"),
    "followup": Choose("followup", "no"),
}


class Clock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _walk_to(intake: Intake, chat: str, step: str) -> None:
    """Begin a conversation and answer until ``step`` is asked; a forged button with
    hostile step and option ids on the way changes nothing."""
    actions = await intake.handle(chat, Start(language_hint="en-GB"))
    await intake.handle(chat, Choose(HOSTILE, HOSTILE))
    while True:
        asks = [a for a in actions if isinstance(a, Ask)]
        assert asks, actions
        if asks[-1].step == step:
            return
        actions = await intake.handle(chat, SCRIPT[asks[-1].step])


def _totals_for(totals: dict[tuple[str, str, str], int], name: str) -> dict[str, int]:
    return {label: n for (kind, channel, label), n in totals.items() if kind == name and n}


async def test_a_conversation_left_at_a_step_is_counted_there_once(
    ephemeral_client: aioredis.Redis,
    ephemeral_url: str,
    redis_client: aioredis.Redis,
    tmp_path: Path,
) -> None:
    ttl = timedelta(seconds=2)  # real expiry, so the left draft is really gone
    clock = Clock(MORNING)
    intake, queue = _intake(
        ephemeral_client, tmp_path, X25519Identity.generate(), ttl=ttl, queue_client=redis_client
    )
    await queue.ensure_group()
    tally = ConversationTally(ephemeral_client, ttl=ttl, clock=clock)
    intake.progress = tally
    await _walk_to(intake, "left", "place")
    await _walk_to(intake, "sent", "review")
    await intake.handle("sent", Choose("review", "send"))
    await intake.handle("sent", Choose("_wipe", "no"))
    await _walk_to(intake, "gave-up", "species")
    await intake.handle("gave-up", Cancel())
    await intake.handle("gave-up", Choose("_cancel", "yes"))
    assert await tally.sweep() == 0  # nobody's deadline has passed

    await asyncio.sleep(ttl.total_seconds() + 0.2)
    assert await intake.state("left") is None  # Redis expired it, silently
    clock.now += ttl.total_seconds() + HOUR + 600  # its deadline hour, and the grace, over
    other = await connect(ephemeral_url)
    try:
        second = ConversationTally(other, ttl=ttl, clock=clock)
        found = await asyncio.gather(tally.sweep(), second.sweep(), tally.sweep())
    finally:
        await other.aclose()
    assert sum(found) == 1
    assert await tally.sweep() == 0
    assert await tally.totals() == {}  # today's counts wait for the day to be over (P4)

    clock.now += 24 * HOUR
    await tally.sweep()
    totals = await tally.totals()
    assert _totals_for(totals, "abandoned") == {"place": 1}
    assert _totals_for(totals, "started") == {"report": 3}
    assert _totals_for(totals, "finished") == {"submitted": 1, "cancelled": 1}
    assert _totals_for(totals, "cancelled") == {"species": 1}
    assert {channel for (_, channel, _) in totals} == {"telegram"}
    assert await ephemeral_client.hgetall(tally.live_key) == {}  # nobody is left counted

    # The tipster who left comes back: a new conversation, not the old one's end.
    await intake.handle("left", Start(language_hint="en-GB"))
    clock.now += 24 * HOUR
    await tally.sweep()
    totals = await tally.totals()
    assert _totals_for(totals, "started") == {"report": 4}
    assert _totals_for(totals, "abandoned") == {"place": 1}

    stored = await redis_contents(ephemeral_client)
    assert_absent(stored, ["left", "gave-up", HOSTILE, SPECIES, PLACE, "Kenya"], "Redis")


async def test_a_draft_in_use_moves_its_deadline_and_is_never_counted_left(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    clock = Clock(MORNING)
    ttl = timedelta(hours=1)
    intake, _queue = _intake(redis_client, tmp_path, X25519Identity.generate(), ttl=ttl)
    tally = ConversationTally(redis_client, ttl=ttl, clock=clock)
    intake.progress = tally
    await _walk_to(intake, "chat", "country")
    for _ in range(5):  # an answer now and then, at the same step, hours apart
        clock.now += 50 * 60
        await intake.handle("chat", Help())
        assert await tally.sweep() == 0
    live = await redis_client.hgetall(tally.live_key)
    assert list(live.values()) == [b"1"], live  # one draft, counted at one place
    # Nothing more: an hour after its last deadline it is counted as left there.
    clock.now += 2 * HOUR + 600
    assert await tally.sweep() == 1
    clock.now += 24 * HOUR
    await tally.sweep()
    assert _totals_for(await tally.totals(), "abandoned") == {"country": 1}


async def test_two_processes_agree_on_one_conversation(
    ephemeral_client: aioredis.Redis, ephemeral_url: str, tmp_path: Path
) -> None:
    """Two workers of one bot, each with its own client and tally: a conversation that
    begins in one and ends in the other is counted once, and leaves nothing live."""
    clock = Clock(MORNING)
    ttl = timedelta(hours=24)
    reviewer = X25519Identity.generate()
    other = await connect(ephemeral_url)
    try:
        first, _ = _intake(ephemeral_client, tmp_path / "a", reviewer, ttl=ttl)
        second, _ = _intake(other, tmp_path / "b", reviewer, ttl=ttl)
        first.progress = ConversationTally(ephemeral_client, ttl=ttl, clock=clock)
        second.progress = ConversationTally(other, ttl=ttl, clock=clock)
        await _walk_to(first, "chat", "species")
        await second.handle("chat", SCRIPT["species"])
        await first.handle("chat", Cancel())
        await second.handle("chat", Choose("_cancel", "yes"))
        live = await ephemeral_client.hgetall(first.progress.live_key)
        assert set(live.values()) == {b"0"}  # moved step by step, and out at the end
        clock.now += 24 * HOUR
        assert await second.progress.sweep() == 0
        totals = await first.progress.totals()
    finally:
        await other.aclose()
    assert _totals_for(totals, "started") == {"report": 1}
    assert _totals_for(totals, "finished") == {"cancelled": 1}
    assert _totals_for(totals, "cancelled") == {"country": 1}
    assert _totals_for(totals, "abandoned") == {}


async def test_the_scrape_shows_conversations_in_closed_sets_only(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    clock = Clock(MORNING)
    ttl = timedelta(hours=24)
    intake, _queue = _intake(redis_client, tmp_path, X25519Identity.generate(), ttl=ttl)
    tally = ConversationTally(redis_client, ttl=ttl, clock=clock)
    intake.progress = tally
    await _walk_to(intake, "chat", "place")
    await intake.handle("chat", Cancel())
    await intake.handle("chat", Choose("_cancel", "yes"))
    # A hand-edited Redis cannot put its words in a label either.
    await redis_client.hset(tally.counts_key, f"total|cancelled|{HOSTILE}|x", 5)
    await redis_client.hset(tally.counts_key, "total|cancelled|telegram|not-a-step", 2)
    day = [date(2026, 5, 17)]
    steps = step_labels(intake.engine.questionnaire)
    metrics = Metrics(["en"], today=lambda: day[0], steps=steps, progress=tally)

    async def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        await metrics.refresh()
        body = metrics.scrape()
        assert HOSTILE.encode() not in body and b"not-a-step" not in body
        return _samples(body)

    samples = await scrape()
    cancelled = "tipline_conversations_cancelled_total"
    assert _value(samples, cancelled, channel="telegram", step="place") == 0  # not yet
    assert _value(samples, cancelled, channel="telegram", step="other") == 2
    assert _value(samples, cancelled, channel="other", step="other") == 5
    for channel in ("telegram", "console", "hotline"):
        for step in steps:  # every series from the start
            assert (cancelled, (("channel", channel), ("step", step))) in samples
    clock.now += 24 * HOUR
    samples = await scrape()
    assert _value(samples, cancelled, channel="telegram", step="place") == 1
    started = "tipline_conversations_started_total"
    assert _value(samples, started, channel="telegram", kind="report") == 1
    finished = "tipline_conversations_finished_total"
    assert _value(samples, finished, channel="telegram", outcome="cancelled") == 1
    allowed = _allowed_labels(("en",)) | set(steps)
    for (name, labels), _ in samples.items():
        for key, value in labels:
            assert value in allowed, f"{name} has {key}={value!r}"


async def test_the_spool_is_counted_once_its_day_is_over(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.put("case0001", b"sealed")
    spool.put("case0002", b"sealed")
    yesterday = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday -= timedelta(days=1)
    stamp = yesterday.timestamp()
    os.utime(spool.directory / "case0001.tip", (stamp, stamp))
    metrics = Metrics(["en"], spool=spool)
    await metrics.refresh()
    assert _value(_samples(metrics.scrape()), "tipline_spool_tips") == 1


def test_how_a_step_ends_a_conversation() -> None:
    steps = ("description", "_receipt", "_followup", "other")
    asking = State(phase="asking", step="description")
    ended = State(phase="ended", step="_wipe")

    def counts(before: State, after: State, event: Event, **kw: bool) -> list[tuple[str, str]]:
        flags = {"replaced": False, "counted": True, **kw}
        return lifecycle(before, after, event, steps=steps, **flags)

    assert counts(State(), asking, Start()) == [("started", "report")]
    assert counts(asking, asking, Text(HOSTILE)) == []
    followup = State(phase="asking", step="_followup")
    receipt = State(phase="asking", step="_receipt")
    assert counts(followup, ended, Text(HOSTILE)) == [("finished", "answered")]
    assert counts(receipt, ended, Text(HOSTILE)) == [("finished", "refused")]
    assert counts(receipt, ended, Skip()) == [("finished", "cancelled"), ("cancelled", "_receipt")]
    cancel = State(phase="asking", step="_cancel", cancel_from="description")
    assert counts(cancel, ended, Choose("_cancel", "yes")) == [
        ("finished", "cancelled"),
        ("cancelled", "description"),
    ]
    forged = State(phase="asking", step="_cancel", cancel_from=HOSTILE)
    assert counts(forged, ended, Cancel())[1] == ("cancelled", "other")
    submitted = State(phase="submitted", step="_wipe")
    assert counts(asking, submitted, Choose("review", "send")) == [("finished", "submitted")]
    assert counts(asking, receipt, FollowUp(), replaced=True) == [
        ("finished", "restarted"),
        ("started", "followup"),
    ]
    # A conversation not counted when it began (metrics were off) is not counted ending.
    assert counts(asking, submitted, Choose("review", "send"), counted=False) == []
    assert counts(asking, receipt, FollowUp(), replaced=True, counted=False) == [
        ("started", "followup")
    ]
    assert counts(submitted, asking, Start(), replaced=True) == [("started", "report")]


async def test_the_queue_is_counted_without_reading_it(redis_client: aioredis.Redis) -> None:
    queue = TipQueue(redis_client)
    assert await queue.backlog() == 0  # no stream yet
    await queue.ensure_group()
    for n in range(3):
        await queue.submit(f"case-depth-{n}", b"sealed")
    assert await queue.backlog() == 3 == await queue.depth()
    claimed = await queue.claim_next("alice")
    assert claimed is not None
    assert await queue.backlog() == 3 == await queue.depth()
    await queue.ack(claimed.case_id)
    assert await queue.backlog() == 2 == await queue.depth()


async def test_the_depth_is_that_at_the_end_of_a_day_never_live(
    redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis
) -> None:
    """A depth served live would date each tip to a scrape (P4): the scrape shows the
    depth taken at the last midnight UTC, the same in every process, or nothing."""
    queue = TipQueue(redis_client)
    await queue.ensure_group()
    clock = {"now": datetime(2026, 3, 4, 23, 59, 59, 970000, UTC)}
    day_end = DayEndDepth(queue, ephemeral_client, now=lambda: clock["now"])
    metrics = Metrics(["en"], day_end=day_end)
    await queue.submit("case-day-0", b"sealed")
    await metrics.refresh()
    assert "tipline_queue_depth_day_end" not in metrics.scrape().decode()

    # At midnight (the process running, its clock moving on) the depth is taken once.
    running = asyncio.create_task(day_end.run())
    await asyncio.sleep(0.01)
    clock["now"] = datetime(2026, 3, 5, 0, 0, 0, 10000, UTC)
    await asyncio.sleep(0.2)
    running.cancel()
    await queue.submit("case-day-1", b"sealed")  # a tip of the new day: not counted
    await metrics.refresh()
    assert _value(_samples(metrics.scrape()), "tipline_queue_depth_day_end") == 1
    # Another process taking it again (later, with more tips) changes nothing.
    await DayEndDepth(queue, ephemeral_client, now=lambda: clock["now"]).take(date(2026, 3, 4))
    other = Metrics(["en"], day_end=DayEndDepth(queue, ephemeral_client, now=lambda: clock["now"]))
    await other.refresh()
    assert _value(_samples(other.scrape()), "tipline_queue_depth_day_end") == 1
    # A day later, with no process running at that midnight: nothing, not a late value.
    clock["now"] = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
    await metrics.refresh()
    assert "tipline_queue_depth_day_end" not in metrics.scrape().decode()


async def test_bot_api_failures_are_counted_by_kind(fake: FakeBotApi) -> None:
    """Through the real adapter and the fake server: a blocked chat, a flood-control
    answer and a refused call are counted by kind, in a closed set, naming nobody."""
    from bots.telegram.aiogram_bot import AiogramFramework
    from bots.telegram.common import ApiError
    from bots.telegram.observed import ObservedApi, api_error_kind

    framework = AiogramFramework(fake.token, fake.base_url)
    await framework.open()
    try:
        metrics = Metrics(["en"])
        api = ObservedApi(framework.api, metrics)
        user = tipster(fake)
        assert await api.send_message(user.id, "hello", None) > 0
        fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
        fake.fail("deleteMessages", 400, "Bad Request: message can't be deleted for everyone")
        with pytest.raises(ApiError):
            await api.send_message(user.id, "again", None)
        with pytest.raises(ApiError):
            await api.delete_messages(user.id, [1, 2])
        fake.chats[user.id].blocked = True
        with pytest.raises(ApiError):
            await api.send_message(user.id, "blocked", None)
    finally:
        await framework.close()
    samples = _samples(metrics.scrape())
    counted = {
        kind: _value(samples, "tipline_api_errors_total", channel="telegram", kind=kind)
        for kind in API_ERRORS
    }
    assert counted == {
        **dict.fromkeys(API_ERRORS, 0.0),
        "flood_control": 1.0,
        "rejected": 1.0,
        "chat_gone": 1.0,
    }
    assert str(user.id) not in metrics.scrape().decode()
    assert api_error_kind(ApiError("?")) == "other"
    # Every kind the adapters raise has its label.
    from bots.telegram import common

    raised: list[type[ApiError]] = [
        c for c in vars(common).values() if isinstance(c, type) and issubclass(c, ApiError)
    ]
    made = [c(1.0) if issubclass(c, common.RetryLater) else c("x") for c in raised]
    assert {api_error_kind(error) for error in made} == set(API_ERRORS)
