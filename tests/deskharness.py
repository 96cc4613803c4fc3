"""A desk over real Redis servers, for the HTTP and the browser tests."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import redis.asyncio as aioredis
from aiohttp import CookieJar, web
from aiohttp.test_utils import TestClient, TestServer

from bots.intake import Intake
from conversations import Engine, Questionnaire
from desk import Accounts, DeskConfig, Hotline, create_app
from privacy import X25519Identity, decrypt
from privacy.secrets import ServerSecret
from storage import DraftStore, Spool, TipQueue
from storage.followup import FollowupStore
from tipline.runtime import offered_questionnaire
from tipline.settings import Settings

PASSWORD = "Kiboko-Lake-Naivasha-41"
OTHER_PASSWORD = "Mamba-River-Tana-Delta-77"
SECRET = b"d" * 32
DESCRIPTION = "Two lorries with Mkomazi-rosewood-4471 logs crossed at night"
PLACE = "Sawmill beside the Lunga Lunga checkpoint"


@cache
def questionnaire() -> Questionnaire:
    """The questionnaire as the desk offers it: complete languages, species catalogue."""
    return offered_questionnaire(Settings.from_env({"TIPLINE_DATA_DIR": "/nonexistent"}))


@dataclass
class DeskParts:
    app: web.Application
    queue: TipQueue
    accounts: Accounts
    reviewer: X25519Identity


async def build_desk(
    durable: aioredis.Redis,
    ephemeral: aioredis.Redis,
    tmp_path: Path,
    config: DeskConfig | None = None,
    *,
    ensure_group: bool = True,
) -> DeskParts:
    q = questionnaire()
    reviewer = X25519Identity.generate()
    queue = TipQueue(durable)
    if ensure_group:
        await queue.ensure_group()
    intake = Intake(
        engine=Engine(q),
        drafts=DraftStore(ephemeral, ttl=timedelta(hours=1)),
        queue=queue,
        spool=Spool(tmp_path / "spool"),
        secret=ServerSecret(SECRET),
        recipients=[reviewer.recipient],
        channel="hotline",
        followups=FollowupStore(durable),
        today=lambda: date(2026, 12, 5),
    )
    accounts = Accounts(durable)
    app = create_app(
        hotline=Hotline(intake, q),
        accounts=accounts,
        ephemeral=ephemeral,
        config=config or DeskConfig(),
        draft_ttl=timedelta(hours=1),
    )
    return DeskParts(app, queue, accounts, reviewer)


async def sealed_tips(parts: DeskParts) -> list[dict[str, object]]:
    """Every tip in the queue, opened with the reviewer's identity."""
    tips = []
    while (tip := await parts.queue.claim_next("test-reviewer")) is not None:
        tips.append(json.loads(decrypt(tip.sealed, [parts.reviewer])))
        await parts.queue.ack(tip.case_id)
    return tips


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, f"no {name} field in the page"
    return found.group(1)


def step_of(html: str) -> str | None:
    found = re.search(r'id="question" data-step="([^"]*)"', html)
    return None if found is None else found.group(1)


Client = TestClient[web.Request, web.Application]


async def serve(app: web.Application) -> AsyncIterator[Client]:
    """A desk served on loopback and one browser's client of it (cookies kept, for
    an address given by number), closed after its one use."""
    client: Client = TestClient(TestServer(app), cookie_jar=CookieJar(unsafe=True))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
