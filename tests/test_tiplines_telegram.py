"""Two tiplines' bots (``tipline run telegram --tipline NAME``), each its own process
against its own fake Bot API, on one pair of Redis servers: the same person writes to
both. Their drafts sit under unrelated pseudonyms, their tips in two streams, each sealed
to its own tipline's reviewers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from privacy import NoIdentityMatchError, X25519Identity, decrypt
from privacy.secrets import ServerSecret
from storage import TipQueue
from storage.keys import KeySpace

from .fakebotapi import FakeBotApi, walk
from .test_desk_cli import _free_port
from .test_telegram_parity import (
    DESCRIPTION,
    SECRET_HEX,
    USER_ID,
    WEBHOOK_SECRET,
    begin,
    script,
    tipster,
)
from .test_telegram_process import Process, _env
from .test_telegram_workers import _tipster, webhook_workers

NAMES = ("alpha", "beta")


@pytest_asyncio.fixture
async def fakes() -> AsyncIterator[dict[str, FakeBotApi]]:
    servers = {
        "alpha": FakeBotApi("111111111:AAF-alpha-token-for-the-tests_01234567"),
        "beta": FakeBotApi("222222222:AAF-beta-token-for-the-tests_012345678"),
    }
    for server in servers.values():
        await server.start()
    try:
        yield servers
    finally:
        for server in servers.values():
            await server.stop()


def _queue(client: aioredis.Redis, name: str) -> TipQueue:
    return TipQueue.of(client, KeySpace(name))


async def test_one_person_two_tiplines_two_pseudonyms_two_queues(
    fakes: dict[str, FakeBotApi],
    redis_client: aioredis.Redis,
    redis_url: str,
    ephemeral_client: aioredis.Redis,
    ephemeral_url: str,
    tmp_path: Path,
) -> None:
    reviewers = {name: X25519Identity.generate() for name in NAMES}
    config = ["tiplines:"]
    for name in NAMES:
        (tmp_path / f"{name}.token").write_text(fakes[name].token + "\n")
        config += [
            f"  {name}:",
            f"    token_file: {name}.token",
            f"    recipients: [{reviewers[name].recipient}]",
        ]
    (tmp_path / "tiplines.yaml").write_text("\n".join(config) + "\n")
    bots = {}
    for name in NAMES:
        env = _env(
            tmp_path,
            REDIS_URL=redis_url,
            REDIS_EPHEMERAL_URL=ephemeral_url,
            TIPLINE_CONFIG=str(tmp_path / "tiplines.yaml"),
            TIPLINE_NAME=name,
            TELEGRAM_API_BASE=fakes[name].base_url,
            # With metrics on, the bot counts conversations in the ephemeral Redis.
            TIPLINE_METRICS_PORT=str(_free_port()),
        )
        bots[name] = Process(fakes[name], "ptb", env, tmp_path / f"{name}.log")
        await bots[name].start()
    try:
        users = {name: tipster(fakes[name]) for name in NAMES}  # the same Telegram user
        for name in NAMES:
            await begin(users[name])
            await walk(users[name], script(users[name]), until="description")
        drafts = sorted(
            key.decode() if isinstance(key, bytes) else key
            for key in await ephemeral_client.keys("tipline:t:*:draft:*")
        )
        # Each tipline keeps the chat's draft (and the note of its sent messages) under
        # pseudonyms of its own.
        names = {
            name: {d.rsplit(":", 1)[1] for d in drafts if d.startswith(f"tipline:t:{name}:")}
            for name in NAMES
        }
        assert all(names.values()) and not names["alpha"] & names["beta"], drafts
        # None is the pseudonym a single tipline would give that chat.
        single = ServerSecret.from_text(SECRET_HEX).pseudonym("telegram", str(USER_ID))
        assert single not in "".join(drafts)
        assert not await ephemeral_client.keys("tipline:draft:*")

        for name in NAMES:
            await walk(users[name], script(users[name]), until="review")
            await users[name].tap("send")
            await fakes[name].settled()
        for name in NAMES:
            assert await bots[name].stop() == 0
    finally:
        for bot in bots.values():
            if bot.process is not None and bot.process.returncode is None:
                await bot.kill()

    assert not await redis_client.exists("tipline:tips")
    for name, other in (("alpha", "beta"), ("beta", "alpha")):
        tip = await _queue(redis_client, name).claim_next("reviewer")
        assert tip is not None, (await redis_client.keys("*"), bots[name].log.read_text())
        transcript = json.loads(decrypt(tip.sealed, [reviewers[name]]))
        assert transcript["answers"]["description"]["text"] == DESCRIPTION
        with pytest.raises(NoIdentityMatchError):
            decrypt(tip.sealed, [reviewers[other]])
        assert await _queue(redis_client, name).claim_next("another") is None  # one tip each
    # The seen-update marks and the conversation counts, too, are each tipline's own.
    assert not await ephemeral_client.keys("tipline:telegram-update:*")
    assert not await ephemeral_client.keys("tipline:metrics:*")
    for name in NAMES:
        counts = await ephemeral_client.hgetall(KeySpace(name).metrics_conversations)
        started = sum(
            int(v)
            for k, v in counts.items()
            if (k.decode() if isinstance(k, bytes) else k).split("|")[1:3]
            == ["started", "telegram"]
        )
        assert started == 1, counts


async def test_webhook_workers_serve_the_tipline_named_on_the_command_line(
    fakes: dict[str, FakeBotApi],
    redis_client: aioredis.Redis,
    redis_url: str,
    ephemeral_client: aioredis.Redis,
    ephemeral_url: str,
    tmp_path: Path,
) -> None:
    """The supervisor passes --tipline on to its workers: without it they would refuse
    (the file names two tiplines) and stop the supervisor."""
    fake = fakes["beta"]
    reviewer = X25519Identity.generate()
    (tmp_path / "beta.token").write_text(fake.token)
    (tmp_path / "tiplines.yaml").write_text(
        "tiplines:\n"
        f"  alpha:\n    token_file: alpha.token\n    recipients: [{reviewer.recipient}]\n"
        f"  beta:\n    token_file: beta.token\n    recipients: [{reviewer.recipient}]\n"
    )
    env = _env(
        tmp_path,
        REDIS_URL=redis_url,
        REDIS_EPHEMERAL_URL=ephemeral_url,
        TIPLINE_CONFIG=str(tmp_path / "tiplines.yaml"),
        TELEGRAM_API_BASE=fake.base_url,
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
    async with webhook_workers(fake, env, tmp_path / "bot.log", 2, "--tipline", "beta"):
        await asyncio.gather(*(_tipster(fake, i) for i in range(3)))
    assert await _queue(redis_client, "beta").depth() == 3
    assert not await redis_client.exists("tipline:tips", "tipline:t:alpha:tips")
    assert not await ephemeral_client.keys("tipline:lock:*")
