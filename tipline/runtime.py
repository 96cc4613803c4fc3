"""Wiring: settings -> Redis (given, or embedded) -> stores -> the intake service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import redis.asyncio as aioredis

from bots.intake import Intake
from bots.render import available_languages
from conversations import Engine, Questionnaire
from storage import DraftStore, EmbeddedRedis, Spool, TipQueue, connect
from storage.followup import FollowupStore

from .settings import Settings
from .species_loader import load_catalogue

__all__ = ["Runtime", "open_runtime"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    client: aioredis.Redis
    queue: TipQueue
    drafts: DraftStore
    spool: Spool

    def intake(self, channel: str, questionnaire: Questionnaire) -> Intake:
        return Intake(
            engine=Engine(questionnaire),
            drafts=self.drafts,
            queue=self.queue,
            spool=self.spool,
            secret=self.settings.secret(),
            recipients=self.settings.recipients_provider(),
            channel=channel,
            followups=FollowupStore(self.client),
        )


def offered_questionnaire(settings: Settings) -> Questionnaire:
    """The questionnaire, offering only the languages that have a complete catalogue, with
    the species catalogue for its species questions."""
    questionnaire = replace(settings.questionnaire(), species=load_catalogue())
    languages = available_languages(questionnaire.languages)
    default = (
        questionnaire.default_language
        if questionnaire.default_language in languages
        else languages[0]
    )
    return replace(questionnaire, languages=languages, default_language=default)


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """Connect to Redis (starting the embedded one when REDIS_URL is unset) and open the
    stores; spooled tips are pushed as soon as Redis answers."""
    embedded: EmbeddedRedis | None = None
    url = settings.redis_url
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if url is None:
        embedded = EmbeddedRedis(settings.data_dir)
        await asyncio.to_thread(embedded.start)
        url = embedded.url
    try:
        client = await connect(url)
        try:
            queue = TipQueue(client)
            spool = Spool(settings.data_dir / "spool")
            runtime = Runtime(
                settings, client, queue, DraftStore(client, ttl=settings.draft_ttl), spool
            )
            await queue.ensure_group()
            pushed = await spool.flush(queue)
            if pushed:
                log.info("pushed %d spooled tip(s) to the queue", pushed)
            yield runtime
        finally:
            await client.aclose()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
