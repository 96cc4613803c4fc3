"""Video and audio (rule P3): container and stream metadata, location atoms included,
are gone; the audio and video packets are copied (same hashes), not re-encoded; the
duration and the number of audio and video streams are the same."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from privacy.scrub import Limits, ScrubError, scrub

from .samples import assert_clean, exiftool_tags
from .samples.media import media_sample, packet_hashes, probe

KINDS = ["mp4", "mov", "3gp", "mkv", "webm", "m4a", "mp3", "ogg"]


def _av_streams(info: dict[str, object]) -> list[int]:
    streams = info["streams"]
    assert isinstance(streams, list)
    return [
        s["index"]
        for s in streams
        if s["codec_type"] in ("audio", "video") and not s["disposition"]["attached_pic"]
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_media_formats(tmp_path: Path, kind: str) -> None:
    original = media_sample(kind, tmp_path)
    source = tmp_path / f"sample.{kind}"
    (before,) = exiftool_tags(source)
    assert any("Jane Tipster" in str(v) or "12.34" in str(v) for v in before.values())

    result = scrub(original)
    assert result.kind == kind
    out = tmp_path / f"clean.{kind}"
    out.write_bytes(result.data)
    (tags,) = exiftool_tags(out)
    assert_clean(result.data, tags)
    assert {"location", "timestamps"} <= result.removed

    info_in, info_out = probe(source), probe(out)
    kept = _av_streams(info_in)
    assert len(info_out["streams"]) == len(kept)
    assert float(info_out["format"]["duration"]) == pytest.approx(
        float(info_in["format"]["duration"]), abs=0.05
    )
    assert packet_hashes(out, list(range(len(kept)))) == packet_hashes(source, kept)
    if kind == "mp3":
        assert "thumbnail" in result.removed  # the cover picture
    if kind == "mkv":
        assert "embedded_files" in result.removed  # the attachment


def test_rotation_of_a_phone_video_is_kept(tmp_path: Path) -> None:
    original = media_sample("mp4", tmp_path)
    rotated = tmp_path / "rotated.mp4"

    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(tmp_path / "sample.mp4"), "-c", "copy",
         "-metadata:s:v:0", "rotate=90", "-y", str(rotated)],
        check=True, capture_output=True,
    )  # fmt: skip
    assert rotated.read_bytes() != original
    out = tmp_path / "clean.mp4"
    out.write_bytes(scrub(rotated.read_bytes()).data)
    (before,) = exiftool_tags(rotated)
    (tags,) = exiftool_tags(out)
    assert tags["Composite:Rotation"] == before["Composite:Rotation"] != 0


def test_ffmpeg_runs_under_the_time_limit(tmp_path: Path) -> None:
    original = media_sample("webm", tmp_path)
    with pytest.raises(ScrubError) as refused:
        scrub(original, limits=Limits(seconds=0.01))
    assert refused.value.reason == "timeout"
