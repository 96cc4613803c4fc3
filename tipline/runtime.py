"""Wiring: settings -> Redis (given, or embedded) -> stores -> the intake service.

Two Redis servers, never one: the durable one (append-only file on) holds only sealed
tips, the queue and the follow-up records; the ephemeral one (no persistence at all)
holds drafts, their attachments, update marks and throttles, whose every write an
append-only file would otherwise keep (P1, P2, P4). See docs/storage.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import redis.asyncio as aioredis

from bots.intake import Intake
from bots.render import available_languages
from conversations import Engine, Questionnaire
from storage import (
    DraftStore,
    EmbeddedRedis,
    RedisTarget,
    Spool,
    StorageError,
    TipQueue,
    check_ephemeral,
    connect,
)
from storage.followup import FollowupStore
from storage.throttle import Throttle

from .settings import ConfigError, Settings
from .species_loader import load_catalogue

__all__ = ["Runtime", "open_runtime"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    #: The durable Redis: queue and follow-up records.
    client: aioredis.Redis
    queue: TipQueue
    spool: Spool
    #: The ephemeral Redis: drafts, update marks, throttles. Nothing here reaches a disk.
    #: None for the reviewers' commands, which need none of it.
    ephemeral: aioredis.Redis | None = None
    draft_store: DraftStore | None = None

    @property
    def drafts(self) -> DraftStore:
        """Drafts, in the ephemeral Redis."""
        if self.draft_store is None:
            raise RuntimeError("this runtime was opened without the ephemeral Redis")
        return self.draft_store

    def followups(self) -> FollowupStore:
        """This tipline's follow-up records, in the durable Redis."""
        return FollowupStore(self.client, prefix=self.settings.keys.root)

    def intake(self, channel: str, questionnaire: Questionnaire) -> Intake:
        """The intake of this tipline: its keys, its secret, its reviewers."""
        return Intake(
            engine=Engine(questionnaire),
            drafts=self.drafts,
            queue=self.queue,
            spool=self.spool,
            secret=self.settings.secret(),
            recipients=self.settings.recipients_provider(),
            channel=channel,
            followups=self.followups(),
            throttle=Throttle(self.drafts.client, prefix=self.settings.keys.throttle),
        )


def offered_questionnaire(settings: Settings) -> Questionnaire:
    """The questionnaire, offering only the languages that have a complete catalogue, with
    the species catalogue for its species questions. Languages the settings file asks for
    by name must all have one."""
    questionnaire = replace(settings.questionnaire(), species=load_catalogue())
    languages = available_languages(questionnaire.languages)
    if settings.languages is not None and languages != questionnaire.languages:
        missing = [lang for lang in questionnaire.languages if lang not in languages]
        raise ConfigError(
            f"tipline {settings.tipline!r}: no complete translation for {', '.join(missing)}"
        )
    default = (
        questionnaire.default_language
        if questionnaire.default_language in languages
        else languages[0]
    )
    return replace(questionnaire, languages=languages, default_language=default)


@asynccontextmanager
async def _server(
    settings: Settings, target: RedisTarget | None, *, persistent: bool
) -> AsyncIterator[aioredis.Redis]:
    """A client for ``target`` (a URL or Sentinel, with its login), or for an embedded
    server started (and stopped) here."""
    embedded: EmbeddedRedis | None = None
    if target is None:
        embedded = EmbeddedRedis(settings.data_dir, persistent=persistent)
        await asyncio.to_thread(embedded.start)
        target = RedisTarget(url=embedded.url)
    try:
        client = await connect(target)
        try:
            yield client
        finally:
            await client.aclose()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


@asynccontextmanager
async def open_runtime(settings: Settings, *, intake: bool = True) -> AsyncIterator[Runtime]:
    """Connect to the durable Redis and, for an intake, the ephemeral one (starting
    embedded servers for what is not configured); open the stores; spooled tips are
    pushed as soon as Redis answers. ``intake=False`` (the reviewers' commands) opens
    only the durable one."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            _server(settings, settings.redis, persistent=True)
        )
        ephemeral: aioredis.Redis | None = None
        drafts: DraftStore | None = None
        if intake:
            target = settings.ephemeral_redis
            ephemeral = await stack.enter_async_context(
                _server(settings, target, persistent=False)
            )
            if target is not None:
                try:
                    await check_ephemeral(ephemeral, client)
                except StorageError as exc:
                    raise ConfigError(str(exc)) from exc
            drafts = DraftStore(ephemeral, ttl=settings.draft_ttl, prefix=settings.keys.drafts)
        keys = settings.keys
        queue = TipQueue.of(client, keys, replicas=settings.redis_replicas)
        spool = Spool(settings.spool_dir)
        runtime = Runtime(settings, client, queue, spool, ephemeral, drafts)
        await queue.ensure_group()
        pushed = await spool.flush(queue)
        if pushed:
            log.info("pushed %d spooled tip(s) to the queue", pushed)
        yield runtime
