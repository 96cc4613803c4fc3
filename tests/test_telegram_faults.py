"""A crash at any point of a step: the step is applied once, its replies reach the tipster.

Fault injection, not luck. The real framework (python-telegram-bot, then aiogram) parses
each update and dispatches it to the channel, which talks HTTP to the fake Bot API server
and stores in the test run's real Redis servers. For a chosen step (an answer typed, the
press on "Send the report", the press on "yes, delete this chat"), every call the step
makes (each Bot API call, each Redis command) is counted in a clean run. Then, for every
one of those calls, the step is run again from the same starting point (both Redis
servers restored) and the process "dies" at that call: an exception no code catches is
raised just before the call, or just after it took effect. A new channel with an empty
memory (a restarted process) is then given the same update again, as Telegram delivers it
again after a crash. Checked each time: the conversation is where the clean run left it
(the step taken once), the tipster's newest messages are the step's replies as in the
clean run (a reply may have been sent twice, never lost), the queue holds exactly as many
tips as in the clean run, and no button press was called stale.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bots.intake import Intake
from bots.telegram import TelegramChannel, seen_updates
from bots.telegram import messages as tm
from bots.telegram.aiogram_bot import AiogramFramework
from bots.telegram.common import BotApi, Framework, Incoming
from bots.telegram.ptb import PtbFramework
from conversations import State
from conversations import messages as m
from privacy import X25519Identity, decrypt
from privacy.secrets import ServerSecret
from storage import TipQueue
from storage.locks import ConversationBusy, ConversationLocks
from tipline.runtime import Runtime, open_runtime
from tipline.settings import Settings

from .fakebotapi import FakeBotApi, FakeUser
from .samples.images import camera_jpeg
from .test_telegram_parity import FRAMEWORKS, SECRET_HEX, english_only, script, tipster


class Crash(BaseException):
    """The process dies here: nothing in the bot catches a BaseException."""


@dataclass
class Faults:
    """Counts the step's calls; when armed, dies at call ``at`` (before or after it)."""

    at: int | None = None
    after: bool = False
    count: int = 0
    log: list[str] = field(default_factory=list)

    async def call(self, name: str, run: Callable[[], Awaitable[Any]]) -> Any:
        if self.at is None:
            return await run()
        self.count += 1
        self.log.append(name)
        if self.count == self.at and not self.after:
            self.at = None
            raise Crash(name)
        try:
            return await run()
        finally:
            if self.count == self.at:  # after the call, whether it worked or failed
                self.at = None
                raise Crash(name)


class FaultyApi:
    """The framework's own BotApi with every call counted (and one of them fatal)."""

    def __init__(self, api: BotApi, faults: Faults) -> None:
        self._api = api
        self._faults = faults

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._api, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._faults.call(name, lambda: method(*args, **kwargs))

        return call


def count_redis(client: aioredis.Redis, faults: Faults, name: str) -> None:
    """Every command of this client goes through ``faults`` (Lua scripts too)."""
    original: Callable[..., Awaitable[Any]] = client.execute_command

    async def execute(*args: Any, **options: Any) -> Any:
        command = str(args[0]) if args else "?"
        return await faults.call(f"{name} {command}", lambda: original(*args, **options))

    client.execute_command = execute  # type: ignore[method-assign]


async def snapshot(client: aioredis.Redis) -> list[tuple[bytes, int, bytes]]:
    out = []
    async for key in client.scan_iter(count=1000):
        dumped = await client.dump(key)
        if dumped is not None:
            out.append((key, max(0, await client.pttl(key)), dumped))
    return out


async def restore(client: aioredis.Redis, keys: list[tuple[bytes, int, bytes]]) -> None:
    await client.flushdb()
    for key, ttl, dumped in keys:
        await client.restore(key, ttl, dumped, replace=True)


@dataclass
class Rig:
    """A framework, opened once, and channels built and thrown away like processes."""

    fake: FakeBotApi
    framework: Framework[Any]
    runtime: Runtime
    faults: Faults
    reviewer: X25519Identity
    intake: Intake | None = None

    def restart(self) -> TelegramChannel:
        """A new channel and Intake: the memory of a fresh process, the same Redis."""
        q = english_only()
        self.intake = self.runtime.intake("telegram", q)
        secret = ServerSecret.from_text(SECRET_HEX)
        seen = seen_updates(self.runtime.drafts.client, secret, self.framework.bot_id)
        api = FaultyApi(self.framework.api, self.faults)
        channel = TelegramChannel(self.intake, q, api, seen=seen)
        self.framework.bind(channel.handle)
        return channel

    async def deliver(self, update: dict[str, Any]) -> None:
        await self.framework.dispatch(self.framework.parse(update))

    async def pending(self) -> list[dict[str, Any]]:
        """The updates the tipster made since the last call (not yet dispatched)."""
        updates, self.fake.pending[:] = list(self.fake.pending), []
        return updates

    async def drive(self) -> None:
        for update in await self.pending():
            await self.deliver(update)

    async def walk(self, user: FakeUser, until: str) -> None:
        answers = script(user)
        for _ in range(40):
            step = user.step()
            if step == until:
                return
            assert step is not None and step in answers, user.texts()[-3:]
            await answers[step]()
            await self.drive()
        raise AssertionError(f"never reached {until!r}")

    async def state(self, user: FakeUser) -> State | None:
        assert self.intake is not None
        return await self.intake.state(str(user.id))

    async def queued(self) -> int:
        return int(await self.runtime.client.xlen("tipline:tips"))


@pytest_asyncio.fixture(params=FRAMEWORKS)
async def rig(
    request: pytest.FixtureRequest,
    redis_url: str,
    ephemeral_url: str,
    tmp_path: Path,
    redis_client: aioredis.Redis,
    ephemeral_client: aioredis.Redis,
) -> AsyncIterator[Rig]:
    """Both Redis servers empty (the fixtures flush them), a fake server, a framework."""
    fake = FakeBotApi()
    await fake.start()
    reviewer = X25519Identity.generate()
    settings = Settings.from_env(
        {
            "REDIS_URL": redis_url,
            "REDIS_EPHEMERAL_URL": ephemeral_url,
            "TIPLINE_DATA_DIR": str(tmp_path / "data"),
            "TIPLINE_RECIPIENTS": str(reviewer.recipient),
            "TIPLINE_SECRET": SECRET_HEX,
        }
    )
    framework: Framework[Any] = (
        PtbFramework(fake.token, fake.base_url)
        if request.param == "ptb"
        else AiogramFramework(fake.token, fake.base_url)
    )
    faults = Faults()
    try:
        async with open_runtime(settings) as runtime:
            count_redis(runtime.client, faults, "durable")
            count_redis(runtime.drafts.client, faults, "ephemeral")
            await framework.open()
            try:
                yield Rig(fake, framework, runtime, faults, reviewer)
            finally:
                await framework.close()
    finally:
        await fake.stop()


Step = Callable[[FakeUser], Awaitable[None]]


@dataclass
class Outcome:
    state: State | None
    replies: list[str]
    queued: int


_users = itertools.count(7_300_000_001)


def newest(user: FakeUser, after: int) -> list[str]:
    """The bot's messages the tipster sees that came after message ``after``."""
    return [s.text for s in user.from_bot() if s.message_id > after]


async def crash_everywhere(
    rig: Rig,
    until: str,
    step: Step,
    *,
    before: Step | None = None,
    wipes: bool = False,
    only: Callable[[str], bool] | None = None,
    then: Step | None = None,
) -> int:
    """Walk a new tipster to ``until`` (then take ``before``, a step ahead of the one
    under test), then take ``step`` once cleanly and once per call with a crash before
    and after that call; check every crashed run against the clean one. ``wipes``: the
    step deletes the chat, and every earlier message must be gone each time. The number
    of calls the step makes. ``only``: crash only at the calls whose names it accepts.
    ``then``: a step that wipes the chat, taken after each run by a process that did not
    crash (the platform was told the update under test was done): every message of the
    conversation must be gone, the replies of the step under test too."""
    user = tipster(rig.fake, next(_users))
    rig.restart()
    await user.send("/start")
    await rig.drive()
    await rig.walk(user, until)
    if before is not None:
        await before(user)
        await rig.drive()
    start = (await snapshot(rig.runtime.client), await snapshot(rig.runtime.drafts.client))
    earlier = set(user.chat.messages)
    await step(user)
    (update,) = await rig.pending()  # delivered in every run, as Telegram delivers it again

    async def run(at: int | None, after: bool) -> Outcome | None:
        """The step, dying at call ``at``; None when the step made fewer calls."""
        await restore(rig.runtime.client, start[0])
        await restore(rig.runtime.drafts.client, start[1])
        for shown in user.chat.messages.values():
            shown.deleted = False
        rig.restart()
        mark = max(user.chat.messages)
        rig.faults.at, rig.faults.after, rig.faults.count = at or 10**9, after, 0
        rig.faults.log.clear()
        try:
            await rig.deliver(update)
        except Crash:
            rig.restart()  # a new process, and Telegram delivers the update again
            await rig.deliver(update)
        else:
            if at is not None:
                return None
        finally:
            rig.faults.at = None
        if wipes:
            left = [i for i in earlier if not user.chat.messages[i].deleted]
            assert not left, f"{len(left)} messages were not deleted"
        outcome = Outcome(await rig.state(user), newest(user, mark), await rig.queued())
        if then is not None:
            rig.restart()
            last = max(user.chat.messages)
            await then(user)
            await rig.drive()
            # What the dying process sent is gone too, even when it died before noting
            # the ids: they lie between the ids noted before and after (the replies
            # sent again), and the wipe fills such holes.
            left = [
                i
                for i, message in user.chat.messages.items()
                if (i in earlier or mark < i <= last) and not message.deleted
            ]
            assert not left, f"{len(left)} messages were not deleted"
        return outcome

    names: list[str] = []
    clean = await run(None, False)
    assert clean is not None
    names += rig.faults.log
    assert then is None or names[-1] == "ephemeral SET", names  # the note is the last call
    assert clean.replies, "the step under test says nothing"
    for after in (False, True):
        for at in itertools.count(1):
            if only is not None and at <= len(names) and not only(names[at - 1]):
                continue
            got = await run(at, after)
            if got is None:
                break
            where = f"{'after' if after else 'before'} call {at} ({rig.faults.log[at - 1]})"
            assert got.state == clean.state, where
            assert got.queued == clean.queued, where
            # The step's replies, as the clean run sent them, are the newest messages;
            # anything before them is a reply sent twice (at worst), never a stale notice.
            assert got.replies[-len(clean.replies) :] == clean.replies, (where, got.replies)
            assert set(got.replies) <= set(clean.replies), (where, got.replies)
    return len(names)


async def test_a_crash_anywhere_in_an_answer_applies_it_once(rig: Rig) -> None:
    async def describe(user: FakeUser) -> None:
        await user.send("Sacks of scales loaded at the depot at night")

    calls = await crash_everywhere(rig, "description", describe)
    # The draft read and written, a sendMessage, the note of its id: crash points.
    assert calls >= 4


async def test_a_crash_anywhere_in_sending_tells_received_and_queues_once(rig: Rig) -> None:
    async def send(user: FakeUser) -> None:
        await user.tap("send")

    calls = await crash_everywhere(rig, "review", send)
    assert calls >= 8  # with the queue's script already loaded in Redis
    assert await rig.queued() == 1  # each run started from an empty queue
    tip = await TipQueue(rig.runtime.client).claim_next("alice")
    assert tip is not None
    assert b"Sacks" not in tip.sealed and decrypt(tip.sealed, [rig.reviewer])


async def test_a_crash_anywhere_in_sending_leaves_every_message_to_the_wipe(rig: Rig) -> None:
    """The ids of the replies to "send" are noted durably before the update is confirmed:
    whatever the crash, the wipe that follows deletes them."""

    async def send(user: FakeUser) -> None:
        await user.tap("send")

    async def wipe(user: FakeUser) -> None:
        await user.tap("yes")

    calls = await crash_everywhere(rig, "review", send, then=wipe)
    assert calls >= 8


async def test_a_crash_anywhere_in_the_wipe_still_confirms_it(rig: Rig) -> None:
    async def send(user: FakeUser) -> None:
        await user.tap("send")

    async def wipe(user: FakeUser) -> None:
        await user.tap("yes")

    calls = await crash_everywhere(rig, "review", wipe, before=send, wipes=True)
    assert calls >= 6


async def test_a_crash_while_a_photo_is_kept_keeps_it_once_and_says_so(
    rig: Rig, tmp_path: Path
) -> None:
    jpeg = camera_jpeg(tmp_path)

    async def photo(user: FakeUser) -> None:
        await user.photo(jpeg)

    # Each run scrubs the photo in a child process: crash only around the draft's writes
    # and the replies, where a lost or doubled step would show.
    calls = await crash_everywhere(
        rig, "evidence", photo, only=lambda name: name in ("ephemeral SET", "send_message")
    )
    assert calls >= 8


async def test_a_press_on_a_finished_conversation_says_it_ended(rig: Rig) -> None:
    user = tipster(rig.fake, next(_users))
    rig.restart()
    await user.send("/start")
    await rig.drive()
    await rig.walk(user, "review")
    summary = user.question()
    assert summary is not None
    send = dict(summary.buttons())[m.SEND]
    await user.tap("send")
    await rig.drive()
    await user.tap("no")  # keep the chat; the conversation is over
    await rig.drive()
    assert await rig.state(user) is None
    mark = max(user.chat.messages)
    assert summary.keyboard  # an answered question keeps its buttons

    # "Send the report" pressed again on the old summary, after a restart: nothing starts
    # silently, nothing is sent twice; the tipster is told how to begin a new report, and
    # the buttons that answer nothing now go.
    rig.restart()
    await user.tap_data(summary, send)
    await rig.drive()
    assert newest(user, mark) == [tm.ENDED]
    assert summary.keyboard is None
    assert await rig.state(user) is None
    assert await rig.queued() == 1

    # Typing starts a new report, as it always does.
    await user.send("hello")
    await rig.drive()
    assert m.WELCOME in newest(user, mark)[1]
    assert await rig.state(user) is not None


async def test_after_a_restart_a_typed_option_answers_the_question_it_is_at(rig: Rig) -> None:
    user = tipster(rig.fake, next(_users))
    rig.restart()
    await user.send("/start")
    await rig.drive()
    await rig.walk(user, "category")
    rig.restart()  # the new process never showed the category question
    await user.send("2")  # its second option, by number, as the console reads it
    await rig.drive()
    state = await rig.state(user)
    assert state is not None and state.step == "description"
    assert state.answer("category") is not None
    assert m.REASON_CHOOSE not in user.texts()


async def test_updates_delivered_again_after_a_restart_are_not_taken_twice(rig: Rig) -> None:
    """Telegram delivers again every update it was not told of: several of one chat, done
    before the crash, come back in order and change nothing (the draft knows them)."""
    user = tipster(rig.fake, next(_users))
    rig.restart()
    await user.send("/start")
    await rig.drive()
    await rig.walk(user, "description")
    await user.send("Sacks of scales at the depot")
    first = await rig.pending()
    for update in first:
        await rig.deliver(update)
    await user.send("pangolin scales")
    second = await rig.pending()
    for update in second:
        await rig.deliver(update)
    before = await rig.state(user)
    shown = len(user.from_bot())
    rig.restart()
    for update in [*first, *second]:
        await rig.deliver(update)
    assert await rig.state(user) == before
    assert len(user.from_bot()) == shown
    # And a conversation that ended: its last update again says nothing either.
    await rig.walk(user, "review")
    await user.tap("send")
    await rig.drive()
    await user.tap("no")
    (closing,) = await rig.pending()
    await rig.deliver(closing)
    assert await rig.state(user) is None
    shown = len(user.from_bot())
    rig.restart()
    await rig.deliver(closing)
    assert len(user.from_bot()) == shown and await rig.state(user) is None


async def test_a_second_process_keeps_off_a_chat_another_is_on(rig: Rig) -> None:
    """Webhook workers: Telegram posts an update again when the answer is late, and
    another process gets it while the first is still on it. With the conversation held in
    Redis, the second leaves it alone (to be posted again) instead of sending the replies
    a second time and writing the draft under the first; once the first is done, the
    update again changes nothing, and the next one is taken."""
    user = tipster(rig.fake, next(_users))
    rig.restart()
    await user.send("/start")
    await rig.drive()
    await rig.walk(user, "description")
    first = rig.restart()
    assert rig.intake is not None
    rig.intake.shared_locks = ConversationLocks(rig.runtime.drafts.client)
    second = rig.restart()
    assert rig.intake is not None
    rig.intake.shared_locks = ConversationLocks(
        rig.runtime.drafts.client, wait=timedelta(milliseconds=300)
    )
    await user.send("Sacks of scales at the depot")
    (update,) = await rig.pending()
    incoming = Incoming(
        update["update_id"],
        user.id,
        update["message"]["message_id"],
        text=("Sacks of scales at the depot"),
    )
    held = rig.fake.hold("sendMessage", chat_id=user.id)
    on_it = asyncio.ensure_future(first.handle(incoming))
    await asyncio.wait_for(held.arrived.wait(), 10)
    shown = len(user.from_bot())
    with pytest.raises(ConversationBusy):
        await second.handle(incoming)  # the same update, posted again to another worker
    assert len(user.from_bot()) == shown
    held.release()
    await on_it
    asked = len(user.from_bot())
    state = await rig.state(user)
    await second.handle(incoming)
    assert len(user.from_bot()) == asked and await rig.state(user) == state
    await user.send("pangolin scales")
    (nxt,) = await rig.pending()
    await second.handle(
        Incoming(nxt["update_id"], user.id, nxt["message"]["message_id"], text="pangolin scales")
    )
    after = await rig.state(user)
    assert state is not None and after is not None
    assert state.step == "species" and after.step != "species"
