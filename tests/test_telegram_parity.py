"""The Telegram bots, both frameworks, over real HTTP against the fake Bot API.

Every test runs once with python-telegram-bot and once with aiogram: the same tipster, the
same answers, the same outcome. The bot runs in this process (our polling loop around the
framework's own Bot and dispatcher, pointed at the fake server by the framework's own
base-URL setting), on the test run's real Redis; tips are opened with a reviewer identity.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from aiogram.fsm.storage.memory import MemoryStorage

from bots.intake import Intake
from bots.render import Renderer
from bots.telegram import (
    FloodLimiter,
    TelegramChannel,
    WebhookOptions,
    run_bot,
    seen_updates,
)
from bots.telegram import messages as tm
from bots.telegram.aiogram_bot import AiogramFramework
from bots.telegram.common import BotApi, Framework, TokenRefused
from bots.telegram.ptb import PtbFramework
from conversations import Msg, Questionnaire
from conversations import messages as m
from conversations.answers import LocationAnswer
from privacy import X25519Identity, X25519Recipient, decrypt, encrypt
from privacy.secrets import ServerSecret
from storage import TipQueue
from tipline.runtime import Runtime, open_runtime
from tipline.settings import Settings

from .dialogue import default_questionnaire
from .fakebotapi import FakeBotApi, FakeUser, Script, secrets_of, walk
from .leaks import assert_absent, redis_contents
from .samples import decoded, marker_hits
from .samples.documents import pdf_sample
from .samples.images import camera_jpeg

SECRET_HEX = "5e" * 32
USER_ID = 7102938475
FIRST_NAME = "Kitoweo"
LAST_NAME = "Mbeleko"
USERNAME = "kito_ranger_77"
LANGUAGE_CODE = "en-KE"
DESCRIPTION = "Nine sacks of Kilindini-pangolin scales <b>loaded</b> at night & *sold* _fast_"
SPECIES = "Trenggiling-sisik-77 scales"
PLACE = "Warehouse behind the Makupa-fuel-depot"
WHEN_DETAILS = "Every Tuesday-after-the-ferry"
PHOTO = b"\xff\xd8\xff\xe0-pretend-jpeg-" + bytes(range(256)) * 40
DOCUMENT = b"%PDF-1.7 pretend-pdf " + bytes(reversed(range(256))) * 30
FRAMEWORKS = ["ptb", "aiogram"]


def english_only() -> Questionnaire:
    return replace(default_questionnaire(), languages=("en",), default_language="en")


@dataclass
class Bot:
    """The bot under test, on one framework, against the fake server."""

    fake: FakeBotApi
    framework: str
    runtime: Runtime
    reviewer: X25519Identity
    questionnaire: Questionnaire
    intake: Intake | None = None
    adapter: Framework[Any] | None = None
    _task: asyncio.Task[None] | None = None
    _stop: asyncio.Event | None = None

    async def start(
        self,
        *,
        flood: FloodLimiter | None = None,
        webhook: WebhookOptions | None = None,
        questionnaire: Questionnaire | None = None,
        max_in_flight: int = 100,
        patience: float = 1.0,
    ) -> None:
        q = questionnaire or self.questionnaire
        self.questionnaire = q
        intake = self.intake = self.runtime.intake("telegram", q)
        secret = ServerSecret.from_text(SECRET_HEX)
        framework: Framework[Any] = (
            PtbFramework(self.fake.token, self.fake.base_url)
            if self.framework == "ptb"
            else AiogramFramework(self.fake.token, self.fake.base_url)
        )
        self.adapter = framework
        client = self.runtime.drafts.client  # update marks: the ephemeral Redis

        def make_channel(api: BotApi, bot_id: int) -> TelegramChannel:
            seen = seen_updates(client, secret, bot_id)
            return TelegramChannel(intake, q, api, seen=seen, flood=flood)

        ready_method = "setWebhook" if webhook else "getUpdates"
        before = len(self.fake.calls_of(ready_method))
        self._stop = asyncio.Event()
        task = self._task = asyncio.create_task(
            run_bot(
                framework,
                make_channel,
                self._stop,
                webhook=webhook,
                poll_timeout=5,
                max_in_flight=max_in_flight,
                patience=patience,
            )
        )
        await self.fake.wait_for(
            lambda: len(self.fake.calls_of(ready_method)) > before or task.done(), what="the bot"
        )
        if task.done():
            task.result()

    async def stop(self) -> None:
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, 15)
            self._task = None

    async def tip(self) -> dict[str, Any]:
        """Claim the next tip and open it with the reviewer's identity."""
        queue = TipQueue(self.runtime.client)
        queued = await queue.claim_next("alice")
        assert queued is not None, "no tip in the queue"
        await queue.ack(queued.case_id)
        transcript: dict[str, Any] = json.loads(decrypt(queued.sealed, [self.reviewer]))
        transcript["_files"] = [decrypt(a, [self.reviewer]) for a in queued.attachments]
        return transcript


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture
async def bot(
    framework: str,
    redis_client: aioredis.Redis,
    redis_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    ephemeral_client: aioredis.Redis,
    ephemeral_url: str,
) -> AsyncIterator[Bot]:
    """The bot on one framework; afterwards, Redis and the logs are searched for every
    fake tipster's id, names, username, language code and every text they typed."""
    caplog.set_level("DEBUG")
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
    try:
        async with open_runtime(settings) as runtime:
            running = Bot(fake, framework, runtime, reviewer, english_only())
            try:
                yield running
            finally:
                await running.stop()
            # No message may let Telegram fetch a preview of a link it shows.
            assert fake.previews_left_on() == []
            needles = secrets_of(fake)
            assert_absent(await redis_contents(redis_client, ephemeral_client), needles, "Redis")
            assert_absent(caplog.text.encode(), [*needles, fake.token], "the logs")
    finally:
        await fake.stop()


def tipster(fake: FakeBotApi, user_id: int = USER_ID, **kwargs: Any) -> FakeUser:
    kwargs.setdefault("username", USERNAME)
    kwargs.setdefault("last_name", LAST_NAME)
    kwargs.setdefault("language_code", LANGUAGE_CODE)
    return fake.user(user_id, kwargs.pop("first_name", FIRST_NAME), **kwargs)


def script(user: FakeUser, **answers: Callable[[], Any]) -> Script:
    """Plausible answers to every question of the default questionnaire."""
    base: dict[str, Callable[[], Any]] = {
        "_language_confirm": lambda: user.tap("keep"),
        "language": lambda: user.tap("en"),
        "safety": lambda: user.tap("continue"),
        "category": lambda: user.tap("trafficking"),
        "description": lambda: user.send(DESCRIPTION),
        "species": lambda: user.send(SPECIES),
        "_species_pick": lambda: user.tap("unsure"),
        "_species_more": lambda: user.tap("done"),
        "country": lambda: user.send("Kenya"),
        "place": lambda: user.send(PLACE),
        "location": lambda: user.location(-4.0435123, 39.6682377),
        "_precision": lambda: user.tap("exact"),
        "when": lambda: user.tap("ongoing"),
        "when_details": lambda: user.send(WHEN_DETAILS),
        "evidence": lambda: user.tap("done"),
        "followup": lambda: user.tap("no"),
    }
    base.update(answers)
    return base


async def begin(user: FakeUser) -> None:
    await user.send("/start")
    await user.api.settled()


def identities() -> list[str]:
    return [str(USER_ID), USERNAME, FIRST_NAME, LAST_NAME, LANGUAGE_CODE]


ANSWERS = [DESCRIPTION, SPECIES, PLACE, WHEN_DETAILS, "Kenya"]


def logged(caplog: pytest.LogCaptureFixture) -> bytes:
    return caplog.text.encode()


WEBHOOK_SECRET = "s3cret-Token_1-9f2c4e7a1b8d3e6f0a5c"


async def draft_keys(client: aioredis.Redis) -> list[bytes]:
    return [k async for k in client.scan_iter("tipline:draft:*")]


# --------------------------------------------------------------------------- conversations
async def test_a_whole_conversation_becomes_a_tip_a_reviewer_opens(
    bot: Bot,
    redis_client: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
    ephemeral_client: aioredis.Redis,
) -> None:
    caplog.set_level("DEBUG")
    await bot.start()
    fake = bot.fake
    user = tipster(fake)
    await begin(user)
    assert m.WELCOME in user.texts()[0]
    await walk(user, script(user), until="review")

    # The summary shows the tipster's words exactly as typed: escaped for HTML, not markup.
    summary = next(s for s in user.from_bot() if s.text.startswith(m.SUMMARY_INTRO))
    assert DESCRIPTION in summary.text and PLACE in summary.text
    assert summary.html is not None and "&lt;b&gt;loaded&lt;/b&gt;" in summary.html
    assert "<b>Description</b>" in summary.html
    # Mid-conversation, Redis holds the draft encrypted under a pseudonym only, and beside
    # it the note of the messages its last step sent, the same way.
    assert len(await draft_keys(ephemeral_client)) == 2
    assert_absent(
        await redis_contents(redis_client, ephemeral_client),
        identities() + ANSWERS,
        "Redis mid-way",
    )

    await user.tap("send")
    await fake.settled()
    assert any(m.SUBMITTED in t for t in user.texts())
    assert user.step() == "_wipe"
    await user.tap("no")
    await fake.settled()
    assert user.texts()[-1] == m.GOODBYE
    assert await draft_keys(ephemeral_client) == []

    tip = await bot.tip()
    assert tip["channel"] == "telegram"
    answers = tip["answers"]
    assert answers["category"] == {"type": "choice", "option": "trafficking"}
    assert answers["description"] == {"type": "text", "text": DESCRIPTION}
    assert SPECIES in json.dumps(answers["species"], ensure_ascii=False)
    assert answers["country"]["code"] == "KE"
    assert answers["place"]["text"] == PLACE
    assert answers["location"] == {
        "type": "location",
        "precision": "exact",
        "latitude": -4.04351,
        "longitude": 39.66824,
    }
    assert answers["when_details"]["text"] == WHEN_DETAILS
    assert [e["question"] for e in tip["transcript"]].count("description") == 1

    # Every button press was answered; nothing the bot sent was refused.
    assert fake.calls_of("answerCallbackQuery")
    assert all(fake._queries.values())
    assert [(c.method, c.status) for c in fake.calls if c.status != 200] == []
    # The command menu, in the default language and in English.
    assert set(fake.commands) == {"", "en"}
    assert [c["command"] for c in fake.commands["en"]] == [
        "start",
        "cancel",
        "language",
        "help",
        "safety",
        "followup",
    ]
    assert fake.commands["en"][1]["description"] == tm.COMMAND_CANCEL

    # The framework keeps no conversation state and no list of chats or users.
    if isinstance(bot.adapter, PtbFramework):
        app = bot.adapter.application
        assert not app.chat_data and not app.user_data
        assert not app._chat_ids_to_be_updated_in_persistence
        assert not app._user_ids_to_be_updated_in_persistence
    else:
        assert isinstance(bot.adapter, AiogramFramework)
        storage = bot.adapter.dispatcher.storage
        assert isinstance(storage, MemoryStorage) and not storage.storage

    needles = identities() + ANSWERS
    assert_absent(
        await redis_contents(redis_client, ephemeral_client), needles, "Redis after the tip"
    )
    assert_absent(logged(caplog), [*needles, fake.token], "the logs")


async def test_a_location_pin_at_each_precision(bot: Bot) -> None:
    await bot.start()
    expected = {
        "exact": (-4.04351, 39.66824),
        "1km": (-4.04, 39.67),
        "10km": (-4.0, 39.7),
        "country": (None, None),
    }
    users = {}
    for n, precision in enumerate(expected):
        user = users[precision] = tipster(bot.fake, USER_ID + n)
        await begin(user)
        await walk(user, script(user), until="_precision")
        await user.tap(precision)
    await bot.fake.settled()
    assert bot.intake is not None
    for precision, (lat, lon) in expected.items():
        user = users[precision]
        assert user.step() == "when"
        state = await bot.intake.state(str(user.id))
        assert state is not None
        assert state.answer("location") == LocationAnswer(precision, lat, lon)
    # Typed coordinates work as a pin does.
    user = tipster(bot.fake, USER_ID + 10)
    await begin(user)
    await walk(user, script(user, location=lambda: user.send("-1.2921, 36.8219")), "_precision")
    await user.tap("10km")
    await bot.fake.settled()
    state = await bot.intake.state(str(user.id))
    assert state is not None and state.answer("location") == LocationAnswer("10km", -1.3, 36.8)


async def test_a_photo_and_a_document_are_scrubbed_and_sealed(
    bot: Bot, redis_client: aioredis.Redis, tmp_path: Path, ephemeral_client: aioredis.Redis
) -> None:
    await bot.start()
    fake = bot.fake
    user = tipster(fake)
    await begin(user)
    await walk(user, script(user), until="evidence")
    photo = camera_jpeg(tmp_path)  # GPS, camera serial, owner's name...
    document = pdf_sample()
    assert marker_hits(photo) and marker_hits(document)
    await user.photo(photo, caption="Scales in sacks")
    await fake.settled()
    told = user.texts()[-2:]
    assert told[0].startswith("To protect you, we removed from your file:")
    assert "the location" in told[0] and told[1] == "1 file received so far."
    await user.document(document, name=f"{FIRST_NAME}-notes.pdf")
    await fake.settled()
    assert user.texts()[-1] == "2 files received so far."
    assert marker_hits(await redis_contents(redis_client, ephemeral_client)) == []

    # A file the scrubber cannot clean is refused, never kept raw.
    await user.document(b"\x00\x01 not a format we know", name="notes.bin")
    await fake.settled()
    assert user.texts()[-1] == m.REASON_FILE_REFUSED
    # Over Telegram's 20 MB, whether the update says its size or only getFile does.
    for say_size in (True, False):
        await user.document(b"big", size=25 * 1024 * 1024, say_size=say_size)
        await fake.settled()
        assert user.texts()[-1] == m.REASON_FILE_TOO_BIG
    # Something no question takes (a sticker) is answered with the question again.
    await user.sticker()
    await fake.settled()
    assert user.texts()[-2] == m.REASON_SEND_FILE
    assert user.step() == "evidence"
    assert len(fake.calls_of("download")) == 3  # the two too big were never downloaded

    await walk(user, script(user), until="review")
    await user.tap("send")
    await fake.settled()
    tip = await bot.tip()
    files = tip.pop("_files")
    assert len(files) == 2
    assert decoded(files[0]) == decoded(photo)  # the largest size, same pixels
    assert files[1].startswith(b"%PDF")
    assert [marker_hits(f) for f in files] == [[], []]
    assert [a["caption"] for a in tip["attachments"]] == ["Scales in sacks", None]
    assert FIRST_NAME not in json.dumps(tip)  # the document's file name is not kept


async def test_cancel_midway_deletes_the_draft(
    bot: Bot, redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis
) -> None:
    await bot.start()
    user = tipster(bot.fake)
    await begin(user)
    await walk(user, script(user), until="place")
    assert len(await draft_keys(ephemeral_client)) == 2  # the draft, the note beside it
    await user.send("/cancel")
    await bot.fake.settled()
    assert user.step() == "_cancel"
    await user.tap("yes")
    await bot.fake.settled()
    assert user.texts()[-2:] == [m.CANCELLED, m.WIPE_OFFER]
    await user.tap("no")
    await bot.fake.settled()
    assert await draft_keys(ephemeral_client) == []
    assert await TipQueue(redis_client).depth() == 0
    # Writing again starts a new report.
    await user.send("hello")
    await bot.fake.settled()
    assert user.texts()[-2] == m.WELCOME


async def test_the_language_hint_and_a_switch_midway(
    bot: Bot,
    redis_client: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
    ephemeral_client: aioredis.Redis,
) -> None:
    caplog.set_level("DEBUG")
    two = replace(default_questionnaire(), languages=("en", "pt"), default_language="en")
    await bot.start(questionnaire=two)
    user = tipster(bot.fake, language_code="pt-BR")
    await begin(user)
    assert bot.intake is not None
    # Telegram's language_code preselects Portuguese; the tipster is asked to confirm it.
    assert user.step() == "_language_confirm"
    question = user.question()
    assert question is not None and question.buttons()[0][0] == "Português"
    await user.tap("keep")
    await bot.fake.settled()
    state = await bot.intake.state(str(user.id))
    assert state is not None and state.language == "pt"
    await walk(user, script(user), until="place")

    await user.send("/language")
    await bot.fake.settled()
    assert user.step() == "language"
    await user.tap("en")
    await bot.fake.settled()
    assert user.step() == "place"  # back where the tipster was
    state = await bot.intake.state(str(user.id))
    assert state is not None and state.language == "en"
    assert state.answer("description") is not None  # nothing answered was lost
    stored = await redis_contents(redis_client, ephemeral_client)
    assert_absent(stored + logged(caplog), ["pt-BR", str(USER_ID)], "Redis and the logs")


async def test_a_press_that_answers_is_answered_then_the_next_question_comes(
    bot: Bot,
) -> None:
    """Two Bot API calls for a press that answers its question: the press is answered at
    once, then the next question is sent. The keyboard that was used is not edited away
    (a press on it again is answered as stale); the last one of a conversation is."""
    await bot.start()
    fake = bot.fake
    user = tipster(fake)
    await begin(user)
    await walk(user, script(user), until="category")
    category = user.question()
    assert category is not None
    mark = len(fake.calls)
    await user.tap("trafficking")
    await fake.settled()
    made = [c.method for c in fake.calls[mark:] if c.method != "getUpdates"]
    assert made == ["answerCallbackQuery", "sendMessage"]
    assert user.step() == "description" and category.keyboard

    await walk(user, script(user), until="review")
    await user.tap("send")
    await fake.settled()
    wipe = user.question()
    assert wipe is not None
    await user.tap("no")
    await fake.settled()
    assert user.texts()[-1] == m.GOODBYE
    assert wipe.keyboard is None  # "yes" could no longer delete anything


async def test_stale_and_forged_buttons_are_answered_and_reasked(bot: Bot) -> None:
    await bot.start()
    fake = bot.fake
    user = tipster(fake)
    await begin(user)
    await walk(user, script(user), until="description")
    category = next(s for s in user.from_bot() if s.text.startswith("What happened?"))
    assert category.keyboard  # an answered question keeps its buttons
    stale = [await user.tap_data(category, "category:poaching")]
    await fake.settled()
    assert user.texts()[-2] == m.REASON_STALE and user.step() == "description"
    assert category.keyboard is None  # a press on it answers nothing now: its buttons went

    question = user.question()
    assert question is not None
    forged = [
        "no-colon",
        "description:",
        ":_back",
        "x" * 62 + ":y",
        "category:" + "é" * 40,
        "review:send",
        "description:_skip",
        "_wipe:yes",
    ]
    for data in forged:
        stale.append(await user.tap_data(question, data))
    raw = user.tap_update(question, "ignored")
    del raw["callback_query"]["data"]  # a press without data (a game button)
    stale.append(raw["callback_query"]["id"])
    await fake.inject(raw)
    await fake.settled()
    assert all(fake._queries[q] for q in stale), "every press is answered"
    assert user.step() == "description"
    assert bot.intake is not None
    state = await bot.intake.state(str(user.id))
    assert state is not None and state.step == "description"
    answered = state.answer("category")
    assert answered is not None and getattr(answered, "option", None) == "trafficking"
    assert await TipQueue(bot.runtime.client).depth() == 0
    # The bot is still well: the conversation goes on.
    await user.send(DESCRIPTION)
    await fake.settled()
    assert user.step() == "species"


async def test_a_repeated_update_is_handled_once(bot: Bot) -> None:
    await bot.start()
    user = tipster(bot.fake)
    await begin(user)
    await walk(user, script(user), until="description")
    update = user.text_update(DESCRIPTION)
    await bot.fake.inject(update, update)
    await bot.fake.settled()
    assert user.step() == "species"
    assert bot.intake is not None
    state = await bot.intake.state(str(user.id))
    assert state is not None and state.answer("species") is None


async def test_the_chat_is_wiped_after_the_tip(
    bot: Bot, redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis
) -> None:
    await bot.start(flood=None)
    fake = bot.fake
    user = tipster(fake)
    await begin(user)
    await user.send(*["/help"] * 40)  # a long chat: more than 100 messages to delete
    await fake.settled()
    await walk(user, script(user), until="review")
    await user.tap("send")
    await fake.settled()
    everything = {s.message_id for s in user.shown()}
    assert len(everything) > 130
    assert user.step() == "_wipe"
    await user.tap("yes")
    await fake.settled()
    # Both sides, every message; only the (neutral) confirmation stays.
    assert [(s.from_bot, s.text) for s in user.shown()] == [(True, m.WIPED)]
    batches = fake.deleted_batches
    assert len(batches) >= 2 and all(1 <= len(b) <= 100 for b in batches)
    assert {i for b in batches for i in b} == everything
    assert await draft_keys(ephemeral_client) == []
    assert await TipQueue(redis_client).depth() == 1


async def test_the_chat_is_wiped_after_a_cancel(
    bot: Bot, redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis
) -> None:
    """P5: a cancelled report left its answers in the chat; the wipe is offered and
    deletes both sides, the cancel and the offer included."""
    await bot.start()
    fake = bot.fake
    user = tipster(fake)
    await begin(user)
    await walk(user, script(user), until="place")
    await user.send("/cancel")
    await fake.settled()
    await user.tap("yes")
    await fake.settled()
    assert user.texts()[-2:] == [m.CANCELLED, m.WIPE_OFFER]
    everything = {s.message_id for s in user.shown()}
    assert any(s.text == DESCRIPTION for s in user.shown())
    await user.tap("yes")
    await fake.settled()
    [left] = user.shown()
    assert left.from_bot and left.text == m.WIPED and left.message_id not in everything
    assert {i for b in fake.deleted_batches for i in b} == everything
    assert await draft_keys(ephemeral_client) == []
    assert await TipQueue(redis_client).depth() == 0
    # What stays in the chat says nothing of what the chat was for.
    assert not re.search(r"report|tip|wildlife|crime|poach", m.WIPED, re.I)


async def test_messages_older_than_48_hours_are_counted_and_left_to_the_tipster(
    bot: Bot,
) -> None:
    """Telegram lets a bot delete a private chat's messages for 48 hours only: the older
    ones stay, and the tipster is told how many, and to delete the chat themselves."""
    await bot.start()
    fake = bot.fake
    user = tipster(fake)
    await begin(user)
    await walk(user, script(user), until="country")
    old = {s.message_id for s in user.shown()}
    fake.advance(hours=49)  # the tipster comes back two days later
    await walk(user, script(user), until="review")
    await user.tap("send")
    await fake.settled()
    await user.tap("yes")
    await fake.settled()
    *kept, notice = user.shown()
    assert {s.message_id for s in kept} == old  # every newer message was deleted
    expected = Renderer("en", bot.questionnaire).text(Msg.plural_of(tm.WIPE_REFUSED, len(old)))
    assert notice.from_bot and notice.text == expected
    assert f"{len(old)} messages could not be deleted" in notice.text
    assert not re.search(r"report|tip|wildlife|crime|poach", notice.text, re.I)
    assert await TipQueue(bot.runtime.client).depth() == 1


async def test_a_429_is_waited_out_as_telegram_asks(bot: Bot) -> None:
    fake = bot.fake
    fake.fail("getUpdates", 429, "Too Many Requests: retry after 1", retry_after=1)
    await bot.start()
    await fake.wait_for(lambda: len(fake.calls_of("getUpdates")) >= 2, what="a second poll")
    polls = fake.calls_of("getUpdates")
    assert polls[0].status == 429 and polls[1].at - polls[0].at >= 1.0
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    user = tipster(fake)
    await begin(user)
    sends = fake.calls_of("sendMessage")
    assert [c.status for c in sends[:2]] == [429, 200]
    assert sends[1].at - sends[0].at >= 1.0
    assert sends[0].params["text"] == sends[1].params["text"]
    assert [t for t in user.texts() if m.WELCOME in t] == [user.texts()[0]]  # sent once
    await walk(user, script(user), until="description")


async def test_two_chats_interleaved_without_cross_talk(bot: Bot) -> None:
    await bot.start()
    fake = bot.fake
    alice = tipster(fake, USER_ID, first_name="Amani")
    bea = tipster(fake, USER_ID + 1, first_name="Baraka")
    await begin(alice)
    await walk(alice, script(alice), until="description")

    # While Alice's reply is stuck, Bea is served, and Alice's update is not confirmed.
    held = fake.hold("sendMessage", chat_id=alice.id)
    await alice.send("Alice saw ivory in a truck")
    await held.arrived.wait()
    alice_update = fake.pending[0]["update_id"]
    await bea.send("/start")
    await fake.wait_for(lambda: len(bea.from_bot()) >= 2, what="Bea's welcome")
    assert fake.confirmed <= alice_update
    held.release()
    await fake.settled()
    assert alice.step() == "species"

    # Three messages of one chat in one batch are taken in order.
    await walk(alice, script(alice), until="country")
    await alice.send("Kenya", "Alice's market in Mombasa", "-4.0435, 39.6682")
    await fake.settled()
    assert alice.step() == "_precision"

    alice_script = script(alice, description=lambda: alice.send("unused"))
    bea_script = script(
        bea,
        category=lambda: bea.tap("logging"),
        description=lambda: bea.send("Bea saw rosewood logs at the sawmill"),
        species=lambda: bea.send("Dalbergia rosewood planks"),
        place=lambda: bea.send("Bea's sawmill by the river"),
        _precision=lambda: bea.tap("country"),
    )
    for _ in range(30):
        moved = False
        for user, answers in ((alice, alice_script), (bea, bea_script)):
            step = user.step()
            if step != "review":
                assert step is not None
                await answers[step]()
                await fake.settled()
                moved = True
        if not moved:
            break
    for user in (alice, bea):
        await user.tap("send")
    await fake.settled()
    tips = {
        tip["answers"]["category"]["option"]: tip for tip in [await bot.tip(), await bot.tip()]
    }
    assert tips["trafficking"]["answers"]["description"]["text"] == "Alice saw ivory in a truck"
    assert tips["trafficking"]["answers"]["place"]["text"] == "Alice's market in Mombasa"
    assert (
        tips["logging"]["answers"]["description"]["text"] == "Bea saw rosewood logs at the sawmill"
    )
    assert tips["logging"]["answers"]["location"] == {"type": "location", "precision": "country"}
    assert not any("Bea" in t for t in alice.texts())
    assert not any("Alice" in t for t in bea.texts())


async def test_a_flood_from_one_chat_is_capped_but_the_tip_still_goes(bot: Bot) -> None:
    await bot.start(flood=FloodLimiter(limit=16, window=60))
    fake = bot.fake
    user = tipster(fake)
    other = tipster(fake, USER_ID + 1)
    await begin(user)
    await walk(user, script(user), until="review")
    sent_before = len(user.texts())
    await user.send(*[f"spam {i}" for i in range(25)])
    await fake.settled()
    replies = user.texts()[sent_before:]
    assert replies.count(tm.FLOOD) == 1
    assert len(replies) < 12  # most of the 25 were dropped unanswered
    await user.send("more spam")
    await fake.settled()
    assert user.texts()[sent_before:] == replies  # still dropped, no second notice
    await begin(other)  # another chat is not affected
    assert m.WELCOME in other.texts()[0]
    await user.tap("send")  # over the limit, and still the tip is sent
    await fake.settled()
    assert any(m.SUBMITTED in t for t in user.texts())
    assert await TipQueue(bot.runtime.client).depth() == 1


async def test_forged_send_presses_do_not_escape_the_flood_limit(bot: Bot) -> None:
    """The exemption for "send the report" holds only at the summary: the same callback
    data forged at another question is counted like any other update."""
    # The same press over and over is forgiven only a few times (here 2) as a repeat.
    await bot.start(flood=FloodLimiter(limit=8, window=60, repeats=2))
    fake = bot.fake
    user = tipster(fake)
    await begin(user)
    await walk(user, script(user), until="description")
    question = user.question()
    assert question is not None
    before = len(user.texts())
    for _ in range(20):
        await user.tap_data(question, "review:send")
    await fake.settled()
    replies = user.texts()[before:]
    assert replies.count(tm.FLOOD) == 1
    assert len(replies) <= 2 * (8 + 2) + 1  # the rest were dropped, not answered one by one
    assert await TipQueue(bot.runtime.client).depth() == 0


async def test_many_chats_at_once_no_flood_notice_order_kept_cap_held(bot: Bot) -> None:
    """Twelve tipsters at once through a bot that holds at most five updates at a time;
    each presses every button twice, as people do when a bot is slow, and sends three
    answers in one go. Nobody gets the flood notice (the default limit), each chat's
    answers land in order, every update is fetched once, and the cap holds."""
    await bot.start(flood=FloodLimiter(), max_in_flight=5, patience=60.0)
    fake = bot.fake
    users = [tipster(fake, USER_ID + i, first_name=f"Tipster{i:02d}") for i in range(12)]
    taps = {
        "_language_confirm": "keep",
        "safety": "continue",
        "category": "trafficking",
        "_species_pick": "unsure",
        "_species_more": "done",
        "_precision": "exact",
        "when": "ongoing",
        "evidence": "done",
        "followup": "no",
        "review": "send",
    }

    def place(i: int) -> str:
        return f"Godown {i} behind the Makupa-fuel-depot"

    def texts(i: int, step: str) -> list[str]:
        return {
            "description": [f"Tipster {i} saw ivory loaded at night"],
            "species": [SPECIES],
            "country": ["Kenya", place(i), "-4.0435, 39.6682"],  # one chat, one batch
            "when_details": [WHEN_DETAILS],
        }[step]

    def updates(i: int, user: FakeUser) -> list[dict[str, Any]]:
        step = user.step()
        assert step is not None, user.texts()[-3:]
        if step not in taps:
            return [user.text_update(text) for text in texts(i, step)]
        question = user.question()
        assert question is not None
        data = next(d for _label, d in question.buttons() if d.endswith(":" + taps[step]))
        return [user.tap_update(question, data), user.tap_update(question, data)]

    await fake.inject(*(u.text_update("/start") for u in users))
    await fake.settled()
    for _ in range(20):
        batch = [u for i, user in enumerate(users) for u in updates(i, user)]
        await fake.inject(*batch)
        await fake.settled()
        if all(any(m.SUBMITTED in t for t in user.texts()) for user in users):
            break
    assert not [user.id for user in users if tm.FLOOD in user.texts()]
    assert all(any(m.SUBMITTED in t for t in user.texts()) for user in users)
    assert fake.deliveries_per_update() == 1.0
    assert 1 < fake.most_outstanding <= 5
    queue = TipQueue(bot.runtime.client)
    assert await queue.depth() == len(users)  # a second "send" made no second tip
    for _ in users:
        answers = (await bot.tip())["answers"]
        i = int(answers["description"]["text"].split()[1])
        assert answers["place"]["text"] == place(i)  # its chat's answers, in order
        assert answers["country"]["code"] == "KE" and answers["location"]["precision"] == "exact"


async def test_groups_blocked_chats_and_long_texts(bot: Bot) -> None:
    await bot.start()
    fake = bot.fake
    user = tipster(fake)
    group = fake.group(-100777, user)
    await group.send("/start")
    await fake.settled()
    assert group.from_bot() == []  # the bot serves private chats only

    await begin(user)
    await walk(user, script(user), until="description")
    long_text = ("Lorry KBX-123 with hidden compartments. " * 99)[:3990]
    await user.send(long_text)
    await fake.settled()
    await walk(user, script(user, place=lambda: user.send(long_text)), until="review")
    summary = [s for s in user.from_bot() if s.html is not None and "Lorry" in s.text]
    assert len(summary) >= 2  # over 4096 characters: split, and every part accepted
    assert all(len(s.text) <= 4096 for s in summary)

    blocked = tipster(fake, USER_ID + 5)
    blocked.chat.blocked = True
    await blocked.send("/start")
    await fake.settled()  # a 403 is not an error that stops the bot
    assert fake.calls_of("sendMessage")[-1].status == 403
    await user.tap("send")
    await fake.settled()
    assert any(m.SUBMITTED in t for t in user.texts())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_webhook_checks_its_secret_and_serves_tipsters(bot: Bot) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    await bot.start(webhook=WebhookOptions(url, WEBHOOK_SECRET, "127.0.0.1", port))
    fake = bot.fake
    assert fake.webhook == (url, WEBHOOK_SECRET)
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with session.post(url, json={"update_id": 1}, headers=headers) as response:
                assert response.status == 403
        secret = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with session.post(url, data=b"[1,", headers=secret) as response:
            assert response.status == 400
    user = tipster(fake)
    await begin(user)
    assert m.WELCOME in user.texts()[0]
    await walk(user, script(user), until="review")
    await user.tap("send")
    await fake.settled()
    assert any(m.SUBMITTED in t for t in user.texts())
    assert fake.calls_of("getUpdates") == []


async def test_a_receipt_code_then_a_follow_up_from_another_chat(
    bot: Bot,
    redis_client: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
    ephemeral_client: aioredis.Redis,
) -> None:
    caplog.set_level("DEBUG")
    await bot.start()
    fake = bot.fake
    user = tipster(fake)
    await begin(user)
    await walk(user, script(user, followup=lambda: user.tap("yes")), until="review")
    await user.tap("send")
    await fake.settled()
    shown = next(t for t in user.texts() if t.startswith("Your receipt code is"))
    found = re.search(r"\d{4} \d{4} \d{4} \d{4}", shown)
    assert found is not None
    code = found.group(0)
    await user.tap("yes")  # the chat is wiped, the code with it (written down by now)
    await fake.settled()
    assert [s.text for s in user.shown()] == [m.WIPED]
    case_id = (await bot.tip())["case_id"]
    assert bot.intake is not None and bot.intake.followups is not None
    recipient = await bot.intake.followups.recipient(case_id)
    assert recipient is not None
    question = "Which company owns the <warehouse> & the trucks?"
    sealed = encrypt(question.encode(), [X25519Recipient.parse(recipient)])
    await bot.intake.followups.ask(case_id, sealed)

    # Days later, from another account, with the code: /followup opens no new report.
    other = tipster(fake, USER_ID + 9, first_name="Zawadi", language_code="en")
    await other.send("/followup")
    await fake.settled()
    assert other.texts()[-1] == m.FOLLOWUP_ASK_CODE
    await other.send(code.replace(" ", ""))
    await fake.settled()
    assert any(question in t for t in other.texts())  # escaped, shown as written
    await other.send("Kilimanjaro Freight <Ltd>, the blue gate")
    await fake.settled()
    assert other.texts()[-2:] == [m.FOLLOWUP_SENT, m.WIPE_OFFER]
    # The code, the question and the answer are on this phone too: wiped on request.
    await other.tap("yes")
    await fake.settled()
    assert [s.text for s in other.shown()] == [m.WIPED]
    assert await draft_keys(ephemeral_client) == []
    answers = await bot.intake.followups.answers(case_id)
    assert len(answers) == 1
    assert json.loads(decrypt(answers[0], [bot.reviewer]))["text"].startswith("Kilimanjaro")
    needles = [*identities(), code, code.replace(" ", ""), "Kilimanjaro", "Zawadi"]
    assert_absent(await redis_contents(redis_client, ephemeral_client), needles, "Redis")
    assert_absent(logged(caplog), needles, "the logs")


async def test_a_wrong_token_is_refused(framework: str) -> None:
    fake = FakeBotApi()
    await fake.start()
    wrong = "987654321:AAF-not-the-right-token-000000000000"
    adapter: Framework[Any] = (
        PtbFramework(wrong, fake.base_url)
        if framework == "ptb"
        else AiogramFramework(wrong, fake.base_url)
    )
    try:
        with pytest.raises(TokenRefused):
            await run_bot(adapter, lambda api, bot_id: pytest.fail("no channel"), asyncio.Event())
    finally:
        await fake.stop()
    assert [c.status for c in fake.calls] == [401]
