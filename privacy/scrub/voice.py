"""Disguise the tipster's own voice in a voice note, audio file or video.

A voice identifies a person as surely as a name. When the tipster says a recording is
their own voice (or does not know), the audio is changed before anything is stored:

1. the file is scrubbed like any other (:func:`privacy.scrub.scrub`), so a hostile or
   damaged file is refused the same way, and only a clean file is touched;
2. its first audio track is re-encoded with the pitch **and** the formants shifted by a
   random amount between :data:`MIN_SHIFT` and :data:`MAX_SHIFT` semitones, up or down,
   chosen anew for every file and never stored (ffmpeg's ``rubberband`` filter, which
   keeps the tempo, so the words and the duration stay the same). Audio becomes Opus in
   Ogg with nothing but that track; a video keeps its picture (copied, as the scrubber
   left it) with the new audio in the same container;
3. the result is scrubbed again and checked: one audio track (and for a video, its
   picture), no metadata, and the same duration within 2%.

The original bytes never leave this function: no file outside the tmpfs scratch
directory, no log line. A recording of somebody else (evidence) is not disguised: the
caller decides, by asking the tipster.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from .errors import MalformedFileError, VerifyFailedError
from .limits import DEFAULT_LIMITS, Budget, Limits
from .media import _run, _tool
from .scratch import memory_dir
from .vocab import ScrubResult

__all__ = [
    "AUDIO_KINDS",
    "MAX_SHIFT",
    "MIN_SHIFT",
    "VIDEO_KINDS",
    "disguise_voice",
    "random_shift",
]

MIN_SHIFT: Final = 3.0  # semitones: enough to change how a voice sounds
MAX_SHIFT: Final = 5.0  # and not so much that the words get hard to follow
DURATION_TOLERANCE: Final = 0.02
AUDIO_KINDS: Final = frozenset({"ogg", "mp3", "m4a"})
VIDEO_KINDS: Final = frozenset({"mp4", "mov", "3gp", "mkv", "webm"})
# Per video container: the audio codec its players expect, and ffmpeg's muxer.
_VIDEO_AUDIO: Final = {
    "mp4": ("aac", "mp4"),
    "mov": ("aac", "mov"),
    "3gp": ("aac", "3gp"),
    "mkv": ("libopus", "matroska"),
    "webm": ("libopus", "webm"),
}


def random_shift() -> float:
    """A shift in semitones, 3 to 5 up or down, from the system's secure random source
    (so that nobody can undo it by guessing the generator's state)."""
    rng = secrets.SystemRandom()
    size = rng.uniform(MIN_SHIFT, MAX_SHIFT)
    return size if rng.random() < 0.5 else -size


def disguise_voice(
    data: bytes, *, limits: Limits = DEFAULT_LIMITS, semitones: float | None = None
) -> ScrubResult:
    """Scrub ``data``, then shift the voice in its first audio track (``voice_disguised``
    set). A file without sound (a photo, a document, a silent video) is only scrubbed.
    ``semitones`` is for tests; by default the shift is :func:`random_shift`. ScrubError
    when the file cannot be cleaned or the result fails its checks."""
    from . import scrub  # the package's scrub; imported here to avoid a cycle

    cleaned = scrub(data, limits=limits)
    if cleaned.kind not in AUDIO_KINDS | VIDEO_KINDS:
        return cleaned  # no voice in it
    shift = random_shift() if semitones is None else semitones
    if not MIN_SHIFT - 1e-9 <= abs(shift) <= 12:
        raise ValueError("a disguise shifts the voice by at least 3 semitones")
    budget = Budget(limits)
    with tempfile.TemporaryDirectory(prefix="voice-", dir=memory_dir()) as tmp:
        source = Path(tmp) / f"in.{cleaned.kind}"
        source.write_bytes(cleaned.data)
        before = _probe(source, budget, cleaned.kind)
        if not any(s.get("codec_type") == "audio" for s in before.get("streams", [])):
            return cleaned  # a silent video: no voice in it
        video = cleaned.kind in VIDEO_KINDS and any(
            s.get("codec_type") == "video" for s in before.get("streams", [])
        )
        ratio = 2 ** (shift / 12)
        args = [_tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error",
                "-threads", "1", "-protocol_whitelist", "file", "-i", str(source)]  # fmt: skip
        if video:
            codec, muxer = _VIDEO_AUDIO[cleaned.kind]
            target = Path(tmp) / f"out.{cleaned.kind}"
            args += ["-map", "0:v:0", "-map", "0:a:0", "-c:v", "copy"]
        else:
            codec, muxer = "libopus", "ogg"
            target = Path(tmp) / "out.ogg"
            args += ["-map", "0:a:0", "-vn"]
        args += ["-sn", "-dn", "-af", f"rubberband=pitch={ratio:.6f}:formant=shifted",
                 "-c:a", codec, "-b:a", "64k", "-map_metadata", "-1", "-map_metadata:s", "-1",
                 "-map_chapters", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
                 "-f", muxer, "-y", str(target)]  # fmt: skip
        done = _run(args, budget, cleaned.kind)
        if done.returncode != 0 or not target.exists():
            raise MalformedFileError("the recording could not be disguised", kind=cleaned.kind)
        changed = target.read_bytes()
    again = scrub(changed, limits=limits)
    expected = "ogg" if not video else cleaned.kind
    if again.kind != expected:
        raise VerifyFailedError("the disguised recording is not what was made", kind=again.kind)
    _check(again, before, video, limits)
    removed = cleaned.removed | again.removed
    # A recording cut short stays marked as such: the disguise re-encodes the part kept.
    return replace(
        again, removed=frozenset(removed), partial=cleaned.partial, voice_disguised=True
    )


def _check(result: ScrubResult, before: dict[str, Any], video: bool, limits: Limits) -> None:
    budget = Budget(limits)
    with tempfile.TemporaryDirectory(prefix="voice-", dir=memory_dir()) as tmp:
        path = Path(tmp) / f"check.{result.kind}"
        path.write_bytes(result.data)
        after = _probe(path, budget, result.kind)
    streams = [s.get("codec_type") for s in after.get("streams", [])]
    if streams.count("audio") != 1 or len(streams) != 1 + int(video):
        raise VerifyFailedError("the disguised recording has other tracks", kind=result.kind)
    old, new = _seconds(before), _seconds(after)
    if old > 0 and abs(new - old) > DURATION_TOLERANCE * old + 0.05:
        raise VerifyFailedError(
            f"the disguised recording lasts {new:.2f} s, not {old:.2f} s", kind=result.kind
        )


def _seconds(info: dict[str, Any]) -> float:
    try:
        return float(info.get("format", {}).get("duration", 0) or 0)
    except (TypeError, ValueError):
        return 0.0


def _probe(path: Path, budget: Budget, kind: str) -> dict[str, Any]:
    done = _run(
        [_tool("ffprobe"), "-v", "error", "-threads", "1", "-protocol_whitelist", "file",
         "-print_format", "json", "-show_format", "-show_streams", "-i", str(path)],
        budget, kind,
    )  # fmt: skip
    if done.returncode != 0:
        raise MalformedFileError(f"the {kind} file cannot be read", kind=kind)
    try:
        info: dict[str, Any] = json.loads(done.stdout)
    except ValueError as exc:
        raise MalformedFileError(f"the {kind} file cannot be read", kind=kind) from exc
    return info
