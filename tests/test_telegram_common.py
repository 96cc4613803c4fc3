"""The pieces both Telegram adapters share, on their own: callback data, texts, the flood
limiter, the per-chat sequencer, retries, the log guard, and the polling loop's rule that
an update is confirmed only once it is done."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import logging
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery, GetUpdates, SendMessage
from aiogram.methods.base import Response
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.telegram import aiogram_bot
from bots.telegram.common import (
    ARRIVAL,
    MAX_CALLBACK_DATA,
    Arrival,
    ChatSequencer,
    FloodLimiter,
    Incoming,
    LastUpdates,
    Rejected,
    RetryLater,
    Span,
    Unreachable,
    batched,
    decode_callback,
    encode_callback,
    guard_framework_logs,
    html_messages,
    parse_command,
    telegram_language,
    update_fingerprint,
    utf16_len,
    with_retries,
)
from bots.telegram.polling import GIVE_UP_AFTER, Poller
from storage import StorageUnavailableError

from .fakebotapi import parse_html

IDS = st.from_regex(r"_?[a-z][a-z0-9_]{0,22}", fullmatch=True)


# --------------------------------------------------------------------------- callback data
@given(
    IDS, st.one_of(IDS, st.from_regex(r"[A-Z]{2}|[a-z]{2}_[A-Z][a-z]{3}|[0-9]", fullmatch=True))
)
def test_callback_data_round_trips_within_64_bytes(step: str, option: str) -> None:
    data = encode_callback(step, option)
    assert len(data.encode()) <= MAX_CALLBACK_DATA
    assert decode_callback(data) == (step, option)


@given(st.one_of(st.text(max_size=200), st.binary(), st.integers(), st.none()))
def test_any_callback_data_decodes_or_is_refused_without_error(data: object) -> None:
    decoded = decode_callback(data)
    if decoded is not None:
        assert isinstance(data, str) and len(data.encode()) <= MAX_CALLBACK_DATA
        assert f"{decoded[0]}:{decoded[1]}" == data


@pytest.mark.parametrize(
    "data", ["", "nocolon", ":x", "x:", "x" * 60 + ":yyyy", "step:" + "é" * 30, "\ud800:x"]
)
def test_malformed_callback_data_is_refused(data: str) -> None:
    assert decode_callback(data) is None


def test_an_overlong_callback_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        encode_callback("a" * 40, "b" * 30)
    with pytest.raises(ValueError, match="step:option"):
        encode_callback("a:b", "c")


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/start", "start"),
        ("/start@tipline_bot", "start"),
        ("/start campaign-7", "start"),
        ("/Cancel", "cancel"),
        ("/followup\nmore", "followup"),
        ("/ help", None),
        ("help", None),
        ("/héllo", None),
        ("/", None),
        ("/start-now", None),
        ("//start", None),
    ],
)
def test_commands(text: str, command: str | None) -> None:
    assert parse_command(text) == command


@pytest.mark.parametrize(
    ("ours", "telegram"), [("en", "en"), ("zh_Hans", "zh"), ("pt", "pt"), ("fil", None)]
)
def test_telegram_language_codes(ours: str, telegram: str | None) -> None:
    assert telegram_language(ours) == telegram


def test_incoming_never_shows_its_content() -> None:
    incoming = Incoming(5, 7102938475, text="my name is Kitoweo")
    assert repr(incoming) == "Incoming(update 5)" and "Kitoweo" not in str(incoming)


# --------------------------------------------------------------------------- texts
TEXTS = st.text(
    alphabet=st.sampled_from([*list("ab <>&*_\n\"'"), "é", "😀", "ع", "\u2068"]), max_size=300
)


@settings(max_examples=200)
@given(st.lists(st.tuples(TEXTS, st.booleans()), max_size=5), st.integers(8, 120))
def test_split_messages_fit_parse_and_keep_every_character(
    spans: list[tuple[str, bool]], limit: int
) -> None:
    messages = html_messages([Span(text, bold) for text, bold in spans], limit)
    shown = [parse_html(message) for message in messages]  # valid Telegram HTML, each
    assert all(utf16_len(text) <= limit and text.strip() for text in shown)
    typed = "".join(text for text, _bold in spans)
    assert "".join("".join(shown).split()) == "".join(typed.split())


def test_markup_typed_by_a_tipster_is_shown_as_typed() -> None:
    typed = "<b>not bold</b> & *not* _italic_ <script>"
    [message] = html_messages([Span("Label", bold=True), Span("\n" + typed)])
    assert message == (
        "<b>Label</b>\n&lt;b&gt;not bold&lt;/b&gt; &amp; *not* _italic_ &lt;script&gt;"
    )
    assert parse_html(message) == "Label\n" + typed


def test_long_texts_split_at_line_breaks_then_spaces() -> None:
    text = "\n".join(["word " * 10] * 30)
    messages = html_messages([Span(text)], 120)
    assert len(messages) > 1 and all(len(m) <= 120 for m in messages)
    assert all(not m.startswith(" ") and not m.endswith(" ") for m in messages)
    assert html_messages([Span("  \n ")]) == []


def test_ids_are_deleted_in_batches_of_100() -> None:
    assert [len(b) for b in batched(list(range(250)))] == [100, 100, 50]


# --------------------------------------------------------------------------- flood
def test_the_flood_limiter() -> None:
    now = [0.0]
    flood = FloodLimiter(3, 10.0, clock=lambda: now[0])
    assert [flood.check("a") for _ in range(6)] == [
        "allow",
        "allow",
        "allow",
        "notify",
        "drop",
        "drop",
    ]
    assert flood.check("a", exempt=True) == "allow"  # the report being sent
    assert flood.check("b") == "allow"  # another chat
    now[0] = 10.5
    assert flood.check("a") == "allow"  # the window moved on
    assert [flood.check("a") for _ in range(3)] == ["allow", "allow", "notify"]


def test_the_flood_limiter_keeps_bounded_memory() -> None:
    now = [0.0]
    flood = FloodLimiter(1, 10.0, clock=lambda: now[0], max_chats=100)
    for chat in range(1000):
        flood.check(chat)
    assert len(flood._chats) <= 100


def test_a_press_repeated_while_the_first_is_held_is_no_flood() -> None:
    now = [0.0]
    flood = FloodLimiter(3, 10.0, repeats=4, clock=lambda: now[0])

    def check(arrival: Arrival | None) -> str:
        return contextvars.copy_context().run(lambda: (ARRIVAL.set(arrival), flood.check(1))[1])

    assert [check(None) for _ in range(2)] == ["allow", "allow"]
    # The bot was slow: the tipster pressed again, four times. Not counted...
    assert [check(Arrival(0.0, repeat=True)) for _ in range(4)] == ["allow"] * 4
    assert check(None) == "allow"  # ...so the third update of the chat is still allowed
    # Past the repeats forgiven in a window, a repeat counts like any other update.
    assert [check(Arrival(0.0, repeat=True)) for _ in range(2)] == ["notify", "drop"]


def test_the_flood_limit_counts_when_updates_came_not_when_they_were_handled() -> None:
    now = [100.0]
    flood = FloodLimiter(3, 10.0, clock=lambda: now[0])

    def check(waited: float) -> str:
        return contextvars.copy_context().run(
            lambda: (ARRIVAL.set(Arrival(waited)), flood.check(1))[1]
        )

    # Four updates sent 5 s apart, handled together after a backlog: no flood.
    assert [check(waited) for waited in (15.0, 10.0, 5.0, 0.0)] == ["allow"] * 4
    # Of those, two are still in the window: one more fits, then the notice.
    assert [check(0.0) for _ in range(3)] == ["allow", "notify", "drop"]
    # Without word of when they came, four at once are a flood.
    other = FloodLimiter(3, 10.0, clock=lambda: now[0])
    assert [other.check(1) for _ in range(4)] == ["allow", "allow", "allow", "notify"]


@dataclass
class _Message:
    text: str | None = None


@dataclass
class _Query:
    data: str | None = None


@dataclass
class _Raw:
    message: _Message | None = None
    callback_query: _Query | None = None


def test_fingerprints_tell_repeats() -> None:
    assert update_fingerprint(_Raw(_Message("Kenya"))) == update_fingerprint(
        _Raw(_Message("Kenya"))
    )
    assert update_fingerprint(_Raw(_Message("Kenya"))) != update_fingerprint(
        _Raw(_Message("Kenya!"))
    )
    tap = update_fingerprint(_Raw(callback_query=_Query("review:send")))
    assert tap is not None and tap == update_fingerprint(
        _Raw(callback_query=_Query("review:send"))
    )
    assert tap != update_fingerprint(_Raw(_Message("review:send")))  # a text is not a press
    assert update_fingerprint(_Raw(_Message(None))) is None  # a photo, a location
    assert update_fingerprint(object()) is None


def test_a_repeat_is_the_same_as_the_update_before_it_in_its_chat() -> None:
    last = LastUpdates()
    kenya, send = _Raw(_Message("Kenya")), _Raw(callback_query=_Query("review:send"))
    assert [last.repeats(1, u) for u in (kenya, kenya, send, send, send)] == [
        False,
        True,
        False,
        True,
        True,
    ]
    assert not last.repeats(2, send)  # another chat's
    assert not last.repeats(1, _Raw(_Message(None)))  # a photo in between
    assert not last.repeats(1, send)


# --------------------------------------------------------------------------- sequencer
async def test_one_chat_in_order_and_chats_concurrently() -> None:
    sequencer = ChatSequencer()
    log: list[str] = []
    gate = asyncio.Event()

    def job(name: str, wait: asyncio.Event | None = None) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            log.append(f"{name} start")
            if wait is not None:
                await wait.wait()
            await asyncio.sleep(0)
            log.append(f"{name} end")

        return run

    a1 = sequencer.submit("A", job("a1", gate))
    a2 = sequencer.submit("A", job("a2"))
    b1 = sequencer.submit("B", job("b1"))
    await b1
    assert "b1 end" in log and "a2 start" not in log  # B went on while A's first waited
    gate.set()
    await asyncio.gather(a1, a2)
    assert log.index("a1 end") < log.index("a2 start")
    assert sequencer.busy() == 0


async def test_a_failed_job_does_not_stop_the_next_of_its_chat() -> None:
    sequencer = ChatSequencer()
    done: list[int] = []

    async def fail() -> None:
        raise ValueError("boom")

    async def ok() -> None:
        done.append(1)

    first = sequencer.submit(1, fail)
    await sequencer.submit(1, ok)
    assert done == [1] and isinstance(first.exception(), ValueError)


# --------------------------------------------------------------------------- retries
async def test_retries_wait_as_told() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    outcomes: list[Exception | None] = [RetryLater(3), Unreachable(), Unreachable(), None]

    async def call() -> str:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return "sent"

    assert await with_retries(call, sleep=sleep) == "sent"
    assert slept == [3.0, 0.5, 1.0]

    async def rejected() -> str:
        raise Rejected("Bad Request: chat not found")

    with pytest.raises(Rejected):
        await with_retries(rejected, sleep=sleep)

    async def too_long() -> str:
        raise RetryLater(3600)

    slept.clear()
    with pytest.raises(RetryLater):
        await with_retries(too_long, sleep=sleep)
    assert slept == []


# --------------------------------------------------------------------------- logs
def test_framework_logs_lose_their_arguments(caplog: pytest.LogCaptureFixture) -> None:
    guard_framework_logs()
    caplog.set_level(logging.DEBUG)
    framework = logging.getLogger("telegram.ext.Application")
    framework.debug("Processing update %s", {"from": {"first_name": "Kitoweo"}})
    try:
        raise ValueError("user 7102938475 said hello")
    except ValueError:
        framework.critical("Error while handling update %s", "Kitoweo", exc_info=True)
    logging.getLogger("aiogram.event").info("Update id=%s by %s", 1, "Kitoweo")
    assert "Kitoweo" not in caplog.text and "7102938475" not in caplog.text
    assert caplog.messages == [
        "telegram.ext.Application: Error while handling update %s [ValueError]"
    ]


# --------------------------------------------------------------------------- polling
@dataclass
class _Update:
    update_id: int
    chat: int


@dataclass
class ScriptedTelegram:
    """A framework whose getUpdates behaves like Telegram's (an offset confirms what is
    below it) and whose dispatch runs the test's handler."""

    updates: list[_Update]
    handler: Callable[[_Update], Awaitable[None]]
    offsets: list[int | None] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    delivered: Counter[int] = field(default_factory=Counter)

    @property
    def api(self) -> Any:
        raise AssertionError("the loop makes no other call")

    @property
    def bot_id(self) -> int:
        return 1

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def bind(self, handler: Callable[[Incoming], Awaitable[None]]) -> None: ...

    async def get_updates(self, offset: int | None, wait: float, limit: int) -> Sequence[_Update]:
        self.offsets.append(offset)
        if offset is not None:
            self.updates = [u for u in self.updates if u.update_id >= offset]
        if not self.updates and wait:
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), wait)
        given = self.updates[:limit]
        self.delivered.update(u.update_id for u in given)
        return list(given)

    async def add(self, *updates: _Update) -> None:
        self.updates.extend(updates)
        self.changed.set()

    def update_id(self, update: _Update) -> int:
        return update.update_id

    def chat_key(self, update: _Update) -> int | None:
        return update.chat

    def parse(self, data: Mapping[str, Any]) -> _Update:
        raise AssertionError("not used")

    async def dispatch(self, update: _Update) -> None:
        await self.handler(update)


async def _until(check: Callable[[], bool]) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_the_offset_never_passes_an_update_that_is_not_done() -> None:
    slow = asyncio.Event()
    handled: list[int] = []

    async def handle(update: _Update) -> None:
        if update.update_id == 10:
            await slow.wait()
        handled.append(update.update_id)

    telegram = ScriptedTelegram([_Update(10, 1), _Update(11, 2)], handle)
    stop = asyncio.Event()
    poller = Poller(telegram, timeout=0.2, busy_interval=0.02)
    task = asyncio.create_task(poller.run(stop))
    await _until(lambda: 11 in handled)  # another chat went on while chat 1 was slow
    await _until(lambda: len(telegram.offsets) > 3)
    assert all(o is None or o <= 10 for o in telegram.offsets)
    telegram.updates.append(_Update(12, 2))  # and new updates still come in meanwhile
    await _until(lambda: 12 in handled)
    assert all(o is None or o <= 10 for o in telegram.offsets)
    slow.set()
    await _until(lambda: 13 in telegram.offsets)
    stop.set()
    await task
    assert sorted(handled) == [10, 11, 12]


async def test_a_failing_update_is_retried_and_its_chat_waits_for_it() -> None:
    handled: list[int] = []
    failures = {20: 2}

    async def handle(update: _Update) -> None:
        if failures.get(update.update_id):
            failures[update.update_id] -= 1
            raise StorageUnavailableError("Redis is down")
        handled.append(update.update_id)

    updates = [_Update(20, 1), _Update(21, 1), _Update(22, 2)]
    telegram = ScriptedTelegram(updates, handle)
    stop = asyncio.Event()
    poller = Poller(telegram, timeout=0.2, busy_interval=0.02, pause=lambda attempt: 0.05)
    task = asyncio.create_task(poller.run(stop))
    await _until(lambda: 21 in handled)
    stop.set()
    await task
    assert handled.index(20) < handled.index(21)  # chat 1 in order, after two failures
    assert handled.count(20) == 1 and 22 in handled
    assert telegram.offsets[-1] == 23  # all confirmed at the stop


async def test_an_update_that_always_fails_is_given_up() -> None:
    attempts: list[int] = []

    async def handle(update: _Update) -> None:
        attempts.append(update.update_id)
        if update.update_id == 30:
            raise ValueError("a bug")

    telegram = ScriptedTelegram([_Update(30, 1), _Update(31, 1)], handle)
    stop = asyncio.Event()
    poller = Poller(telegram, timeout=0.2, busy_interval=0.02, pause=lambda attempt: 0.01)
    task = asyncio.create_task(poller.run(stop))
    await _until(lambda: 31 in attempts)
    stop.set()
    await task
    assert attempts.count(30) == GIVE_UP_AFTER and attempts[-1] == 31


async def test_each_update_is_fetched_once_and_confirmed_once_done() -> None:
    """Updates keep coming while others are being handled: none is fetched twice."""
    handled: list[int] = []

    async def handle(update: _Update) -> None:
        await asyncio.sleep(0.01 * (update.update_id % 3))
        handled.append(update.update_id)

    telegram = ScriptedTelegram([], handle)
    stop = asyncio.Event()
    poller = Poller(telegram, timeout=0.5, busy_interval=0.02, patience=5.0)
    task = asyncio.create_task(poller.run(stop))
    for i in range(60):
        await telegram.add(_Update(100 + i, i % 7))
        await asyncio.sleep(0.003)
    await _until(lambda: len(handled) == 60 and telegram.offsets[-1] == 160)
    stop.set()
    await task
    assert set(telegram.delivered) == set(range(100, 160))
    assert max(telegram.delivered.values()) == 1 and poller.deliveries == 60
    assert sorted(handled) == list(range(100, 160))
    # Every offset sent was past only updates done: never past one held.
    assert all(o is None or o <= 160 for o in telegram.offsets)


async def test_at_most_max_in_flight_updates_are_held_and_the_oldest_go_first() -> None:
    release = asyncio.Event()
    started: list[int] = []
    running = [0, 0]  # now, most

    async def handle(update: _Update) -> None:
        started.append(update.update_id)
        running[0] += 1
        running[1] = max(running)
        await release.wait()
        running[0] -= 1

    telegram = ScriptedTelegram([_Update(200 + i, i) for i in range(30)], handle)
    stop = asyncio.Event()
    poller = Poller(telegram, timeout=0.2, busy_interval=0.01, patience=0.01, max_in_flight=5)
    task = asyncio.create_task(poller.run(stop))
    await _until(lambda: len(started) == 5)
    await asyncio.sleep(0.1)  # slow updates: the loop may ask again, but takes no more
    assert started == list(range(200, 205)) and poller.held == 5
    assert all(o is None or o <= 200 for o in telegram.offsets)
    release.set()
    await _until(lambda: len(started) == 30 and poller.held == 0)
    stop.set()
    await task
    assert started == list(range(200, 230))  # the oldest first, all along
    assert running[1] <= 5 and poller.most_held <= 5
    assert telegram.offsets[-1] == 230


async def test_an_update_cut_short_by_a_stop_is_not_confirmed() -> None:
    async def handle(update: _Update) -> None:
        if update.update_id == 41:
            await asyncio.sleep(30)

    telegram = ScriptedTelegram([_Update(40, 1), _Update(41, 2), _Update(42, 3)], handle)
    stop = asyncio.Event()
    poller = Poller(telegram, timeout=0.2, busy_interval=0.01, grace=0.1)
    task = asyncio.create_task(poller.run(stop))
    await _until(lambda: poller.held == 1)
    stop.set()
    await task
    assert telegram.offsets[-1] == 41  # 40 confirmed; 41 comes again after the restart


async def test_a_busy_process_does_not_take_its_backlog_for_slowness() -> None:
    """Every update takes a while (a busy process): after the first few, the loop learns
    how long updates take and stops fetching again past them; one update far slower than
    the rest still lets the others go on."""
    slow = asyncio.Event()
    handled: list[int] = []

    async def handle(update: _Update) -> None:
        await (slow.wait() if update.update_id == 500 else asyncio.sleep(0.06))
        handled.append(update.update_id)

    telegram = ScriptedTelegram([], handle)
    stop = asyncio.Event()
    poller = Poller(telegram, timeout=0.5, busy_interval=0.01, patience=0.02)
    task = asyncio.create_task(poller.run(stop))
    for i in range(0, 300, 3):
        await telegram.add(*(_Update(100 + i + j, i + j) for j in range(3)))
        await asyncio.sleep(0.02)
    await _until(lambda: len(handled) == 300)
    learnt = [n for i, n in telegram.delivered.items() if i >= 300]
    assert learnt and max(learnt) == 1  # no update fetched twice once it had learnt
    await telegram.add(_Update(500, 1), _Update(501, 2))
    await _until(lambda: 501 in handled)  # the slow one did not hold up the other chat
    await telegram.add(_Update(502, 3))
    await _until(lambda: 502 in handled)  # nor what came after it
    slow.set()
    await _until(lambda: 500 in handled and telegram.offsets[-1] == 503)
    stop.set()
    await task


def test_the_aiogram_adapter_keeps_the_reply_types_it_reads_built() -> None:
    """aiogram reads each reply as pydantic's ``Response[T]``, and pydantic keeps those
    classes only weakly: without the adapter holding them, a collection would make the
    next reply build its class again (about 10 ms of CPU each time)."""
    assert aiogram_bot is not None  # imported: the adapter holds them
    kept = [
        weakref.ref(Response[method.__returning__])  # type: ignore[name-defined]
        for method in (SendMessage, AnswerCallbackQuery, GetUpdates)
    ]
    gc.collect()
    assert all(ref() is not None for ref in kept)
