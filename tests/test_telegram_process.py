"""``tipline run telegram`` as the admin runs it: a process against the fake Bot API (found
through TELEGRAM_API_BASE) and the test run's Redis (REDIS_URL), killed with SIGKILL in the
middle of a conversation and started again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bots.telegram.common import telegram_language
from conversations import messages as m
from privacy import X25519Identity, decrypt
from storage import TipQueue
from tipline.runtime import offered_questionnaire
from tipline.settings import Settings

from .dialogue import default_questionnaire
from .fakebotapi import FakeBotApi, walk
from .leaks import assert_absent, redis_contents
from .test_telegram_parity import (
    ANSWERS,
    DESCRIPTION,
    FRAMEWORKS,
    SECRET_HEX,
    SPECIES,
    begin,
    identities,
    script,
    tipster,
)

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Process:
    """One ``tipline run telegram`` at a time, its log in a file."""

    fake: FakeBotApi
    framework: str
    env: dict[str, str]
    log: Path
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        polls = len(self.fake.calls_of("getUpdates"))
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tipline",
                "-v",
                "run",
                "telegram",
                "--framework",
                self.framework,
                env=self.env,
                cwd=ROOT,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        process = self.process
        await self.fake.wait_for(
            lambda: (
                len(self.fake.calls_of("getUpdates")) > polls or process.returncode is not None
            ),
            seconds=60,
            what="the bot process to poll",
        )
        assert process.returncode is None, self.log.read_text()

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert await self.process.wait() == -signal.SIGKILL

    async def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 30)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "TIPLINE_SECRET": SECRET_HEX,
        **extra,
    }


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_killed_mid_conversation_it_resumes_and_loses_nothing(
    framework: str,
    fake: FakeBotApi,
    redis_client: aioredis.Redis,
    redis_url: str,
    tmp_path: Path,
    ephemeral_client: aioredis.Redis,
    ephemeral_url: str,
) -> None:
    reviewer = X25519Identity.generate()
    env = _env(
        tmp_path,
        REDIS_URL=redis_url,
        REDIS_EPHEMERAL_URL=ephemeral_url,
        TIPLINE_RECIPIENTS=str(reviewer.recipient),
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE=fake.base_url,
    )
    bot = Process(fake, framework, env, tmp_path / "bot.log")
    await bot.start()
    # The command menu, in every language offered (as Telegram's two-letter codes).
    offered = offered_questionnaire(Settings.from_env(env)).languages
    assert set(fake.commands) == {""} | {telegram_language(lang) for lang in offered}
    english = fake.commands["en"][0]["description"]
    for code in set(fake.commands) - {"", "en"}:
        assert fake.commands[code][0]["description"] != english, code
    user = tipster(fake)
    await begin(user)
    await walk(user, script(user), until="description")

    # Two messages arrive together. The bot is killed after the first one was saved but
    # before it could reply, and before it started on the second.
    held = fake.hold("sendMessage", chat_id=user.id)
    await user.send(DESCRIPTION, SPECIES)
    await asyncio.wait_for(held.arrived.wait(), 30)
    await bot.kill()
    held.release(drop=True)
    assert len(fake.pending) == 2, "an update was confirmed before the bot was done with it"
    await bot.start()
    await fake.settled()
    # The first is not taken twice (it would have become the species) and its reply, the
    # species question that never went out, is sent now; the second is not lost.
    species_prompt = default_questionnaire().get("species")
    assert species_prompt is not None
    assert user.texts().count(species_prompt.prompt) == 1
    assert m.WELCOME_BACK not in user.texts()
    assert user.step() in ("_species_pick", "_species_more", "country")
    await walk(user, script(user), until="review")
    await user.tap("send")
    await fake.settled()
    await user.tap("yes")  # wipe the chat
    await fake.settled()
    assert [s.text for s in user.shown()] == [m.WIPED]
    assert await bot.stop() == 0

    queue = TipQueue(redis_client)
    tip = await queue.claim_next("alice")
    assert tip is not None
    transcript = json.loads(decrypt(tip.sealed, [reviewer]))
    answers = transcript["answers"]
    assert answers["description"]["text"] == DESCRIPTION
    assert SPECIES in json.dumps(answers["species"], ensure_ascii=False)
    steps = [e["question"] for e in transcript["transcript"]]
    assert steps.count("description") == 1
    needles = identities() + ANSWERS + [fake.token]
    assert_absent(await redis_contents(redis_client, ephemeral_client), needles, "Redis")
    assert_absent(bot.log.read_bytes(), needles, "the bot's log")


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_killed_after_the_tip_is_durable_the_tipster_still_hears_received(
    fake: FakeBotApi,
    framework: str,
    redis_client: aioredis.Redis,
    redis_url: str,
    tmp_path: Path,
    ephemeral_client: aioredis.Redis,  # flushed: no update marks of an earlier test
    ephemeral_url: str,
) -> None:
    """SIGKILL between the tip reaching the queue and "received" reaching the tipster:
    after the restart the tipster is told, and the queue holds the tip once."""
    env = _env(
        tmp_path,
        REDIS_URL=redis_url,
        REDIS_EPHEMERAL_URL=ephemeral_url,
        TIPLINE_RECIPIENTS=str(X25519Identity.generate().recipient),
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE=fake.base_url,
    )
    bot = Process(fake, framework, env, tmp_path / "bot.log")
    await bot.start()
    user = tipster(fake)
    await begin(user)
    await walk(user, script(user), until="review")
    queue = TipQueue(redis_client)
    held = fake.hold("sendMessage", chat_id=user.id)
    await user.tap("send")
    await asyncio.wait_for(held.arrived.wait(), 30)
    assert await queue.depth() == 1  # durable, and "received" not yet out
    await bot.kill()
    held.release(drop=True)
    assert m.SUBMITTED not in user.texts()
    await bot.start()
    await fake.settled()
    assert user.texts().count(m.SUBMITTED) == 1
    assert m.REASON_STALE not in user.texts() and m.REASON_CHOOSE not in user.texts()
    assert user.step() == "_wipe"
    assert await queue.depth() == 1
    assert await bot.stop() == 0


async def test_a_refused_token_is_a_clear_error(
    fake: FakeBotApi, redis_url: str, tmp_path: Path, ephemeral_url: str
) -> None:
    """(Both adapters map the 401 the same way: test_telegram_parity checks that.)"""
    reviewer = X25519Identity.generate()
    wrong = "987654321:AAF-not-the-right-token-000000000000"
    env = _env(
        tmp_path,
        TIPLINE_RECIPIENTS=str(reviewer.recipient),
        REDIS_URL=redis_url,
        REDIS_EPHEMERAL_URL=ephemeral_url,
        TELEGRAM_BOT_TOKEN=wrong,
        TELEGRAM_API_BASE=fake.base_url,
    )
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tipline",
        "run",
        "telegram",
        "--framework",
        "ptb",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(run.communicate(), 60)
    assert run.returncode == 1
    assert b"Telegram refused the bot token" in err, err
    assert wrong.encode() not in out + err


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({}, [], "no bot token"),
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, [], "does not look like a bot token"),
        (
            {"TELEGRAM_BOT_TOKEN_FILE": "/nonexistent/token"},
            [],
            "cannot read TELEGRAM_BOT_TOKEN_FILE",
        ),
        ({}, ["--webhook", "https://example.org/hook"], "--webhook-secret"),
        (
            {"TELEGRAM_WEBHOOK_SECRET": "short-secret_123"},
            ["--webhook", "https://example.org/hook"],
            "random secret of 32",
        ),
        (
            {"TELEGRAM_WEBHOOK_SECRET": "ab" * 20},
            ["--webhook", "https://example.org/hook"],
            "random secret of 32",
        ),
        ({}, ["--framework", "telethon"], "'telethon' is not one of"),
    ],
)
def test_configuration_errors_are_clear(
    env: dict[str, str], args: list[str], expected: str, tmp_path: Path
) -> None:
    reviewer = X25519Identity.generate()
    full = _env(tmp_path, TIPLINE_RECIPIENTS=str(reviewer.recipient), **env)
    run = subprocess.run(
        [sys.executable, "-m", "tipline", "run", "telegram", *args],
        env=full,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode != 0
    assert expected in run.stderr, run.stderr
