"""Over Telegram (each framework, real HTTP against the fake Bot API): a Swahili-speaking
tipster sends a video and a voice note that were cut short. Each is told at once, in
Swahili, how much of it could be kept; the sealed tip holds the cleaned parts and its
transcript marks them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bots.render import Renderer
from conversations import messages as m

from .dialogue import default_questionnaire
from .fakebotapi import walk
from .samples import marker_hits
from .samples.media import long_sample
from .test_telegram_parity import Bot, begin, bot, framework, script, tipster

__all__ = ["bot", "framework"]  # the fixtures, shared with test_telegram_parity


def _prefix(renderer: Renderer, msgid: str) -> str:
    """The translated message up to its first value."""
    return renderer.msgid(msgid).split("{")[0]


async def test_a_cut_video_and_voice_note_are_kept_and_the_tipster_told_in_swahili(
    bot: Bot, tmp_path: Path
) -> None:
    two = replace(default_questionnaire(), languages=("en", "sw"), default_language="en")
    await bot.start(questionnaire=two)
    user = tipster(bot.fake, language_code="sw-KE")
    await begin(user)
    await user.tap("keep")
    await bot.fake.settled()
    await walk(user, script(user), until="evidence")
    sw = Renderer("sw", two)
    assert _prefix(sw, m.FILE_PARTIAL_VIDEO).startswith("Inaonekana video yako")

    _, video = long_sample("mp4", tmp_path)
    assert marker_hits(video)
    await user.document(video[: len(video) // 2], name="VID_2041.mp4", mime="video/mp4")
    await bot.fake.settled()
    # Sent as a file, nobody was asked whose voice it holds: it is disguised, and said.
    told = user.texts()[-4]
    assert told.startswith(_prefix(sw, m.FILE_PARTIAL_VIDEO)) and "0:04" in told
    assert user.texts()[-3] == sw.msgid(m.VOICE_DISGUISED)
    assert user.texts()[-2].startswith(_prefix(sw, m.FILE_CLEANED))

    _, voice = long_sample("opus", tmp_path)
    await user.document(voice[: len(voice) // 2], name="voice.ogg", mime="audio/ogg")
    await bot.fake.settled()
    texts = user.texts()
    assert any(t.startswith(_prefix(sw, m.FILE_PARTIAL_AUDIO_UNKNOWN)) for t in texts[-5:])

    await walk(user, script(user), until="review")
    await user.tap("send")
    await bot.fake.settled()
    tip = await bot.tip()
    files = tip.pop("_files")
    assert [marker_hits(f) for f in files] == [[], []]
    video_entry, voice_entry = tip["attachments"]
    assert video_entry["kind"] == "mp4" and video_entry["partial"]["declared_seconds"] == 4.0
    assert voice_entry["kind"] == "ogg" and voice_entry["partial"]["declared_seconds"] is None
    assert 1.0 < voice_entry["partial"]["kept_seconds"] < 4.0
