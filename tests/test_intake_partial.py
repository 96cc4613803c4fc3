"""A video cut short, sent by a tipster through the intake (real Redis, the isolated
scrub, real ffmpeg): the readable part is kept and sealed, the tipster is told at once
in their language how much was kept, and the transcript marks the attachment."""

from __future__ import annotations

import json
from pathlib import Path

from bots.render import Renderer
from conversations import Attachment, Choose, Say
from conversations import messages as m
from privacy import decrypt

from .dialogue import default_questionnaire
from .samples import assert_clean, exiftool_tags
from .samples.media import LONG_SECONDS, long_sample, probe
from .test_intake import CHAT_ID, Harness, _to_review, harness

__all__ = ["harness"]  # the fixture, shared with test_intake


async def test_a_cut_video_is_kept_partial_and_the_tipster_told(
    harness: Harness,
    tmp_path: Path,
) -> None:
    h = harness
    _, whole = long_sample("mp4", tmp_path)
    cut = whole[: len(whole) // 2]
    await _to_review(h)
    await h.send(Choose("review", "edit"))
    await h.send(Choose("_edit", "evidence"))
    await h.send(Attachment("file-VID", "video", len(cut)))
    await h.send(Choose("_voice", "other"))  # a recording kept as evidence, as it is

    told = await h.intake.attach(CHAT_ID, "file-VID", cut, keep_voice=True)
    said = [a for a in told if isinstance(a, Say)]
    assert [s.msg.id for s in said] == [m.FILE_PARTIAL_VIDEO, m.FILE_CLEANED]
    assert said[0].lang == "en"  # the tipster's language, rendered by the adapter
    values = dict(said[0].msg.values)
    assert values["total"] == "0:04"
    assert values["kept"] in ("0:01", "0:02", "0:03")
    shown = Renderer("en", default_questionnaire()).text(said[0].msg)
    assert shown.startswith(f"Your video seems damaged: only the first {values['kept']} of 0:04")

    await h.send(Choose("evidence", "done"))
    await h.send(Choose("review", "send"))
    tip = await h.queue.claim_next("alice")
    assert tip is not None and len(tip.attachments) == 1
    sealed = decrypt(tip.attachments[0], [h.reviewer])
    clean = tmp_path / "sealed.mp4"
    clean.write_bytes(sealed)
    (tags,) = exiftool_tags(clean)
    assert_clean(sealed, tags)
    transcript = json.loads(decrypt(tip.sealed, [h.reviewer]))
    [entry] = transcript["attachments"]
    partial = entry["partial"]
    assert partial["declared_seconds"] == LONG_SECONDS
    assert partial["kept_seconds"] == round(float(probe(clean)["format"]["duration"]), 3)
    assert transcript["answers"]["evidence"]["files"][0]["partial"] == partial


async def test_a_whole_video_is_not_partial(harness: Harness, tmp_path: Path) -> None:
    h = harness
    _, whole = long_sample("mp4", tmp_path)
    await _to_review(h)
    await h.send(Choose("review", "edit"))
    await h.send(Choose("_edit", "evidence"))
    await h.send(Attachment("file-VID", "video", len(whole)))
    await h.send(Choose("_voice", "other"))
    told = await h.intake.attach(CHAT_ID, "file-VID", whole, keep_voice=True)
    assert [a.msg.id for a in told if isinstance(a, Say)] == [m.FILE_CLEANED]
