"""The reviewer desk over real Redis servers, with tips that arrived through the intake
(as from Telegram: every answer typed, a photo scrubbed, a receipt code for follow-up),
for the HTTP and the browser tests."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import redis.asyncio as aioredis
from aiohttp import web

from bots.intake import Intake, Reply
from conversations import Ask, Choose, Engine, Event, Location, Say, Start, Text
from conversations import messages as m
from conversations.events import Attachment, FollowUp
from desk import Accounts, DeskConfig
from desk.reviewer import Keyring, ReviewerConfig, create_reviewer_app
from privacy import X25519Identity, write_identity_file
from privacy.secrets import ServerSecret
from storage import DraftStore, Spool, TipQueue
from storage.followup import FollowupStore
from tipline.species_loader import load_catalogue

from .deskharness import questionnaire
from .fakebotapi import FakeBotApi, walk

PASSPHRASE = "Tsavo-East-Galana-River-2026"
#: Low for test speed; the desk opens whatever work factor the file has.
WORK_FACTOR = 10
DESCRIPTION = "Forty-two tusks packed in Voi-charcoal-sacks-7713 behind the market"
LISTING = "https://ivory-carvings.example/listing/5521?ref=tg"
ARABIC = "رأيت شاحنة محملة بقشور آكل النمل الحرشفي قرب الميناء"
PLACE = "Godown 14, Kipevu road"
REPLY = "The lorry is white, plate ending 4471-Mwatate"
#: The intake's server secret (the receipt codes' pepper): a console run with it finds
#: the tipster's case from the receipt code.
SECRET = ServerSecret(b"r" * 32)


@dataclass
class Tipster:
    """Tipsters reporting through the intake (the telegram channel)."""

    intake: Intake
    sent: list[str] = field(default_factory=list)

    async def _handle(self, chat: str, event: Event) -> list[Reply]:
        return await self.intake.handle(chat, event)

    async def report(
        self,
        *,
        lang: str = "en",
        description: str = DESCRIPTION,
        photo: bytes | None = None,
        files: Sequence[tuple[str, bytes]] = (),
        followup: bool = False,
        category: str = "trafficking",
    ) -> str | None:
        """One whole report (with a photo, and other files as (kind, bytes): voice,
        video, document); the receipt code shown when follow-up was asked for."""
        chat = secrets.token_hex(6)
        replies = await self._handle(chat, Start(language_hint=lang))
        script: dict[str, Event] = {
            "_language_confirm": Choose("_language_confirm", "keep"),
            "safety": Choose("safety", "continue"),
            "category": Choose("category", category),
            "description": Text(description),
            "species": Text("pangolin scales"),
            "_species_more": Choose("_species_more", "done"),
            "country": Text("Kenya"),
            "place": Text(PLACE),
            "location": Location(-4.0435123, 39.6682377),
            "_precision": Choose("_precision", "1km"),
            "when": Choose("when", "ongoing"),
            "when_details": Text("Every Tuesday night"),
            "followup": Choose("followup", "yes" if followup else "no"),
            "listing_links": Text(LISTING),
        }
        sending = ([("photo", photo)] if photo is not None else []) + list(files)
        attached = not sending
        code: str | None = None
        for _ in range(40):
            ask = _last_ask(replies)
            if ask.step == "review":
                replies = await self._handle(chat, Choose("review", "send"))
                for reply in replies:
                    if isinstance(reply, Say) and reply.msg.id == m.RECEIPT_GIVEN:
                        code = str(dict(reply.msg.values)["code"])
                await self._handle(chat, Choose("_wipe", "no"))
                return code
            if ask.step == "evidence" and not attached:
                for number, (kind, data) in enumerate(sending):
                    ref = f"file-{number}"
                    await self._handle(chat, Attachment(ref, kind, len(data)))
                    await self.intake.attach(chat, ref, data)
                attached = True
                replies = await self._handle(chat, Choose("evidence", "done"))
                continue
            if ask.step == "evidence":
                replies = await self._handle(chat, Choose("evidence", "done"))
                continue
            event = script.get(ask.step) or Choose(ask.step, ask.options[0].id)
            replies = await self._handle(chat, event)
        raise AssertionError("the report never reached the summary")

    async def answer(self, code: str, text: str, lang: str = "en") -> list[str]:
        """Come back with the receipt code, read the questions, answer; what was said."""
        chat = secrets.token_hex(6)
        await self._handle(chat, FollowUp(language_hint=lang))
        said = await self._handle(chat, Text(code))
        await self._handle(chat, Text(text))
        await self._handle(chat, Choose("_wipe", "no"))
        return [str(dict(r.msg.values).get("question", "")) for r in said if isinstance(r, Say)]


async def telegram_report(intake: Intake, *, lang: str, description: str) -> None:
    """One whole report the way a tipster sends it: over Telegram (the real aiogram
    framework talking HTTP to the fake Bot API server), into ``intake``."""
    from bots.telegram import TelegramChannel, run_bot, seen_updates
    from bots.telegram.aiogram_bot import AiogramFramework
    from bots.telegram.common import BotApi

    from .test_telegram_parity import script, tipster

    fake = FakeBotApi()
    await fake.start()
    stop = asyncio.Event()
    framework = AiogramFramework(fake.token, fake.base_url)

    def make_channel(api: BotApi, bot_id: int) -> TelegramChannel:
        seen = seen_updates(intake.drafts.client, SECRET, bot_id)
        return TelegramChannel(intake, intake.engine.questionnaire, api, seen=seen)

    task = asyncio.create_task(run_bot(framework, make_channel, stop, poll_timeout=5))
    try:
        await fake.wait_for(lambda: bool(fake.calls_of("getUpdates")) or task.done())
        user = tipster(fake, 7_400_000_000 + secrets.randbelow(10**8), language_code=lang)
        await user.send("/start")
        await fake.settled()
        answers = script(user, description=lambda: user.send(description))
        await walk(user, answers, until="review")
        await user.tap("send")
        await fake.settled()
        await user.tap("no")  # keep the chat
        await fake.settled()
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await fake.stop()


def _last_ask(replies: list[Reply]) -> Ask:
    asks = [r for r in replies if isinstance(r, Ask)]
    assert asks, replies
    return asks[-1]


@dataclass
class ReviewerParts:
    app: web.Application
    queue: TipQueue
    accounts: Accounts
    identity: X25519Identity
    key_file: Path
    keyring: Keyring
    tipster: Tipster
    export_dir: Path


async def build_reviewer_desk(
    durable: aioredis.Redis,
    ephemeral: aioredis.Redis,
    tmp_path: Path,
    *,
    lock_after: timedelta = timedelta(minutes=10),
    clock: Callable[[], float] = time.monotonic,
    protected: bool = True,
    lang: str = "en",
    desk: DeskConfig | None = None,
    sweep_every: float = 5.0,
    reclaim_after: timedelta = timedelta(hours=1),
) -> ReviewerParts:
    identity = X25519Identity.generate()
    key_file = tmp_path / "reviewer.key"
    write_identity_file(
        key_file,
        identity,
        passphrase=PASSPHRASE if protected else None,
        work_factor=WORK_FACTOR,
    )
    queue = TipQueue(durable)
    await queue.ensure_group()
    q = questionnaire()
    intake = Intake(
        engine=Engine(q),
        drafts=DraftStore(ephemeral, ttl=timedelta(hours=1)),
        queue=queue,
        spool=Spool(tmp_path / "spool"),
        secret=SECRET,
        recipients=[identity.recipient],
        channel="telegram",
        followups=FollowupStore(durable),
    )
    keyring = Keyring(key_file.read_bytes(), str(key_file), lock_after=lock_after, clock=clock)
    export_dir = tmp_path / "exports"
    export_dir.mkdir(mode=0o700)
    app = create_reviewer_app(
        queue=queue,
        durable=durable,
        ephemeral=ephemeral,
        keyring=keyring,
        questionnaire=q,
        species=load_catalogue(),
        config=ReviewerConfig(
            lock_after=lock_after,
            reclaim_after=reclaim_after,
            export_dir=export_dir,
            lang=lang,
            recipients=(identity.recipient,),
            desk=desk or DeskConfig(),
        ),
        sweep_every=sweep_every,
    )
    return ReviewerParts(
        app, queue, Accounts(durable), identity, key_file, keyring, Tipster(intake), export_dir
    )
