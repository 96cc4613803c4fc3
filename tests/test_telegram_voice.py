"""Voice notes over Telegram, both frameworks: the tipster's own voice is sealed
disguised, someone else's is sealed as recorded (only its metadata gone), and the
original sound is in no Redis value and no log."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from conversations import messages as m
from privacy.scrub import scrub
from privacy.scrub.voice import MIN_SHIFT

from .fakebotapi import walk
from .leaks import redis_contents
from .test_scrub_voice import _pcm, _speech, median_f0
from .test_telegram_parity import Bot, begin, bot, framework, script, tipster

__all__ = ["bot", "framework"]  # the fixtures, imported for pytest


def _voice_note(tmp: Path, lang: str, name: str) -> bytes:
    wav = _speech(tmp, lang)
    out = tmp / name
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-c:a", "libopus",
         "-metadata", "title=Voice of Amani Kiprono", str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


async def test_own_voice_is_disguised_and_evidence_is_kept(
    bot: Bot,
    tmp_path: Path,
    redis_client: aioredis.Redis,
    ephemeral_client: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    await bot.start()
    user = tipster(bot.fake)
    await begin(user)
    await walk(user, script(user), until="evidence")
    own = _voice_note(tmp_path, "sw", "own.ogg")
    trader = _voice_note(tmp_path, "en", "trader.ogg")

    await user.voice(own)
    await bot.fake.settled()
    assert user.step() == "_voice"
    await user.tap("own")
    await bot.fake.settled()
    assert m.VOICE_DISGUISED in user.texts()
    # Mid-conversation the disguised note waits in the ephemeral Redis: not the original.
    middle = own[len(own) // 2 : len(own) // 2 + 48]
    assert middle not in await redis_contents(redis_client, ephemeral_client)

    await user.voice(trader)
    await bot.fake.settled()
    await user.tap("other")
    await bot.fake.settled()
    assert user.texts().count(m.VOICE_DISGUISED) == 1

    await walk(user, script(user), until="review")
    await user.tap("send")
    await bot.fake.settled()
    tip = await bot.tip()
    sealed_own, sealed_trader = tip["_files"]
    moved = 12 * math.log2(median_f0(_pcm(sealed_own, tmp_path)) / median_f0(_pcm(own, tmp_path)))
    assert abs(moved) >= MIN_SHIFT - 0.5
    assert sealed_trader == scrub(trader).data  # the recording as it was, metadata gone
    assert b"Amani" not in sealed_own and b"Amani" not in sealed_trader
    voices = [a.get("voice") for a in tip["attachments"]]
    assert voices == [
        {"said": "own", "disguised": True},
        {"said": "other", "disguised": False},
    ]
    assert middle not in caplog.text.encode()
    assert middle not in await redis_contents(redis_client, ephemeral_client)
