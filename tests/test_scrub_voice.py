"""The tipster's own voice, disguised: speech made by espeak-ng in several languages is
shifted by at least 3 semitones (the median fundamental frequency, measured here), keeps
its length within 2%, and comes out as one audio track with no metadata (ffprobe and
exiftool agree). Hostile files are refused as the scrubber refuses them."""

from __future__ import annotations

import array
import json
import math
import operator
import statistics
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from privacy.scrub import ScrubError, scrub_isolated
from privacy.scrub.voice import MAX_SHIFT, MIN_SHIFT, disguise_voice, random_shift
from tipline.cli import main

from .test_review_cli import _png

SENTENCES = {
    "en": "Two trucks loaded with pangolin scales left the depot at night, going north.",
    "sw": "Malori mawili yenye magamba ya kakakuona yaliondoka usiku, yakielekea kaskazini.",
    "fr": "Deux camions chargés d'écailles de pangolin sont partis de nuit vers le nord.",
    "hi": "दो ट्रक पैंगोलिन के शल्क लेकर रात में उत्तर की ओर निकले।",
    "vi": "Hai xe tải chở vảy tê tê rời kho vào ban đêm, đi về phía bắc.",
}
RATE = 8000


def _speech(tmp: Path, lang: str) -> Path:
    wav = tmp / f"{lang}.wav"
    subprocess.run(["espeak-ng", "-v", lang, "-w", str(wav), SENTENCES[lang]], check=True)
    return wav


def _encode(tmp: Path, wav: Path, name: str, *args: str) -> bytes:
    out = tmp / name
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", *args[:-1], "-i", str(wav), *args[-1].split(),
         "-metadata", "title=Recorded by Amani Kiprono", "-metadata", "artist=Amani",
         str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


def _pcm(data: bytes, tmp: Path) -> array.array[int]:
    path = tmp / "probe.bin"
    path.write_bytes(data)
    raw = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1",
         "-ar", str(RATE), "-f", "s16le", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    samples = array.array("h")
    samples.frombytes(raw)
    return samples


def median_f0(samples: array.array[int]) -> float:
    """The median fundamental frequency of the voiced frames, by normalised
    autocorrelation (60 to 400 Hz): enough to compare a voice before and after."""
    frame, hop = 320, 320
    low, high = RATE // 400, RATE // 60
    loudest = max((abs(s) for s in samples), default=0)
    found = []
    for start in range(0, len(samples) - frame - high, hop):
        head = samples[start : start + frame]
        energy = sum(map(operator.mul, head, head))
        if energy < frame * (0.05 * loudest) ** 2:
            continue  # silence or a breath
        best, lag_at = 0.0, 0
        for lag in range(low, high + 1):
            shifted = samples[start + lag : start + lag + frame]
            num = sum(map(operator.mul, head, shifted))
            if num <= 0:
                continue
            ratio = num / math.sqrt(energy * sum(map(operator.mul, shifted, shifted)))
            if ratio > best:
                best, lag_at = ratio, lag
        if best > 0.6:
            found.append(RATE / lag_at)
    assert len(found) > 10, "too few voiced frames to measure"
    return statistics.median(found)


def _seconds(data: bytes, tmp: Path) -> float:
    path = tmp / "len.bin"
    path.write_bytes(data)
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
         str(path)],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return float(json.loads(out)["format"]["duration"])


def _streams(data: bytes, tmp: Path) -> tuple[list[str], dict[str, str]]:
    path = tmp / "streams.bin"
    path.write_bytes(data)
    info = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
             "-show_streams", str(path)],
            capture_output=True, check=True,
        ).stdout
    )  # fmt: skip
    tags = dict(info["format"].get("tags", {}))
    for stream in info["streams"]:
        tags.update(stream.get("tags", {}))
    return [s["codec_type"] for s in info["streams"]], tags


def _exiftool(data: bytes, tmp: Path) -> str:
    path = tmp / "exif.bin"
    path.write_bytes(data)
    return subprocess.run(
        ["exiftool", "-a", "-G1", "-s", str(path)], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize(
    ("lang", "shift"),
    [("en", MIN_SHIFT), ("sw", -MIN_SHIFT), ("fr", MAX_SHIFT), ("hi", -MAX_SHIFT), ("vi", 4.0)],
)
def test_the_voice_moves_by_the_shift_and_keeps_its_length(
    tmp_path: Path, lang: str, shift: float
) -> None:
    original = _encode(tmp_path, _speech(tmp_path, lang), "note.ogg", "-c:a libopus")
    disguised = disguise_voice(original, semitones=shift)
    before = median_f0(_pcm(original, tmp_path))
    after = median_f0(_pcm(disguised.data, tmp_path))
    moved = 12 * math.log2(after / before)
    assert math.copysign(1, moved) == math.copysign(1, shift), (before, after)
    assert abs(moved) >= MIN_SHIFT - 0.5, (lang, before, after)  # the estimator's grain
    assert abs(_seconds(disguised.data, tmp_path) / _seconds(original, tmp_path) - 1) <= 0.02
    assert disguised.kind == "ogg"
    kinds, tags = _streams(disguised.data, tmp_path)
    assert kinds == ["audio"]
    assert not any("Amani" in v for v in tags.values())
    assert "Amani" not in _exiftool(disguised.data, tmp_path)
    assert disguised.voice_disguised


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("note.m4a", "-c:a aac"),
        ("note.mp3", "-c:a libmp3lame"),
    ],
)
def test_other_audio_formats_become_a_clean_opus_note(
    tmp_path: Path, name: str, args: str
) -> None:
    original = _encode(tmp_path, _speech(tmp_path, "sw"), name, args)
    disguised = disguise_voice(original)  # a random shift
    assert disguised.kind == "ogg" and disguised.mime == "audio/ogg"
    assert _streams(disguised.data, tmp_path)[0] == ["audio"]
    before = median_f0(_pcm(original, tmp_path))
    after = median_f0(_pcm(disguised.data, tmp_path))
    assert abs(12 * math.log2(after / before)) >= MIN_SHIFT - 0.5
    assert b"Amani" not in disguised.data


def test_a_video_keeps_its_picture_and_gets_the_disguised_voice(tmp_path: Path) -> None:
    wav = _speech(tmp_path, "fr")
    video = tmp_path / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "color=c=green:s=64x48:r=10", "-i", str(wav), "-shortest", "-c:v", "libx264",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-metadata", "artist=Amani", str(video)],
        check=True,
    )  # fmt: skip
    original = video.read_bytes()
    disguised = disguise_voice(original, semitones=4.0)
    assert disguised.kind == "mp4"
    assert sorted(_streams(disguised.data, tmp_path)[0]) == ["audio", "video"]
    moved = 12 * math.log2(
        median_f0(_pcm(disguised.data, tmp_path)) / median_f0(_pcm(original, tmp_path))
    )
    assert moved >= MIN_SHIFT - 0.5
    assert abs(_seconds(disguised.data, tmp_path) / _seconds(original, tmp_path) - 1) <= 0.02
    assert b"Amani" not in disguised.data


def test_the_shift_is_random_and_within_the_range() -> None:
    shifts = [random_shift() for _ in range(200)]
    assert all(MIN_SHIFT <= abs(s) <= MAX_SHIFT for s in shifts)
    assert any(s > 0 for s in shifts) and any(s < 0 for s in shifts)
    assert len(set(shifts)) == len(shifts)


async def test_the_isolated_scrub_disguises_and_refuses_hostile_audio(tmp_path: Path) -> None:
    original = _encode(tmp_path, _speech(tmp_path, "en"), "note.ogg", "-c:a libopus")
    result = await scrub_isolated(original, disguise_voice=True)
    assert result.kind == "ogg" and result.data != original and result.voice_disguised
    photo = await scrub_isolated(_png(), disguise_voice=True)  # nothing to disguise
    assert photo.kind == "png" and not photo.voice_disguised
    plain = await scrub_isolated(original)  # without the flag the voice is kept
    assert median_f0(_pcm(plain.data, tmp_path)) == pytest.approx(
        median_f0(_pcm(original, tmp_path)), rel=0.03
    )
    hostile = [
        original[:40],  # cut inside the first page: nothing to keep
        b"OggS" + bytes(range(256)) * 8,  # an Ogg page header and noise
        b"\x89PNG\r\n\x1a\n" + b"\0" * 64,  # a broken picture
    ]
    for data in hostile:
        with pytest.raises(ScrubError) as refused:
            await scrub_isolated(data, disguise_voice=True)
        assert refused.value.reason in ("malformed", "unsupported", "verify_failed")


def test_the_command_line_disguises_on_request(tmp_path: Path) -> None:
    note = tmp_path / "note.ogg"
    note.write_bytes(_encode(tmp_path, _speech(tmp_path, "en"), "n.ogg", "-c:a libopus"))
    out = tmp_path / "safe.ogg"
    run = CliRunner().invoke(
        main, ["scrub", str(note), "--out", str(out), "--disguise-voice", "--json"]
    )
    assert run.exit_code == 0, run.output
    summary = json.loads(run.stdout)
    assert summary["voice_disguised"] is True and summary["kind"] == "ogg"
    shifted = 12 * math.log2(
        median_f0(_pcm(out.read_bytes(), tmp_path)) / median_f0(_pcm(note.read_bytes(), tmp_path))
    )
    assert abs(shifted) >= MIN_SHIFT - 0.5
