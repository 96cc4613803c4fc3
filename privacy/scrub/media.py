"""Video and audio: ffmpeg copies the audio and video streams into a new file of the
same format, without re-encoding them and without any metadata.

ffmpeg (Debian's package) runs as a subprocess with a time limit, reading and writing
files in a private temporary directory (in RAM under ``/dev/shm`` when there is one),
with the demuxer named (no probing into playlist or concat formats) and
``-protocol_whitelist file`` (no network). Its options:

- ``-map 0:N`` for each audio and video stream; cover pictures, subtitles, data tracks
  (GPS and motion tracks, timecode, Apple's metadata track) and attachments are left out;
- ``-c copy``: stream copy, never a re-encode;
- ``-map_metadata -1 -map_metadata:s -1 -map_metadata:c -1 -map_chapters -1``: no
  container, stream or chapter metadata (title, artist, location atoms, ©xyz, the
  com.apple.quicktime.* keys, creation_time, make, model, software, encoder);
- ``-fflags +bitexact`` and ``-flags +bitexact``: no "Lavf"/"Lavc" version strings, no
  random ids; creation and modification times are written as zero;
- for MP3, ``-id3v2_version 0`` and no ID3v1 tag.

The rotation of a phone video is not metadata in ffmpeg's sense (it is the track
matrix, kept as stream side data), so the video still plays the right way up.

The result is read back twice: by ffprobe (tags outside :data:`_ALLOWED_TAGS`, stream
count, duration) and by our own box reader for MP4/MOV/3GP/M4A (``udta``, ``meta``,
``uuid`` and ``XMP_`` boxes, non-zero creation and modification times).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .errors import (
    MalformedFileError,
    ScrubTimeoutError,
    UnsupportedFormatError,
    VerifyFailedError,
)
from .isobmff import boxes, full_box
from .limits import Budget
from .vocab import Cleaned

__all__ = ["scrub"]

# kind -> (demuxer, muxer, file extension)
_FORMATS: dict[str, tuple[str, str, str]] = {
    "mp4": ("mov", "mp4", "mp4"),
    "mov": ("mov", "mov", "mov"),
    "3gp": ("mov", "3gp", "3gp"),
    "m4a": ("mov", "ipod", "m4a"),
    "mkv": ("matroska", "matroska", "mkv"),
    "webm": ("matroska", "webm", "webm"),
    "mp3": ("mp3", "mp3", "mp3"),
    "ogg": ("ogg", "ogg", "ogg"),
}
_ALLOWED_TAGS = {
    "major_brand", "minor_version", "compatible_brands", "language", "handler_name",
    "vendor_id", "duration", "encoder",
}  # fmt: skip
_ALLOWED_VALUES = {
    "handler_name": {"VideoHandler", "SoundHandler"},
    "encoder": {"Lavf", "Lavc"},
    "vendor_id": {"[0][0][0][0]", "FFMP"},
}
_TAG_KINDS = {
    "location": "location", "location-eng": "location", "xyz": "location", "gps": "location",
    "make": "camera", "model": "camera", "android/manufacturer": "camera",
    "android/model": "camera", "camera": "camera", "serial": "camera",
    "creation_time": "timestamps", "date": "timestamps", "year": "timestamps",
    "artist": "author", "author": "author", "album_artist": "author", "composer": "author",
    "copyright": "author", "performer": "author", "publisher": "author",
    "title": "comments", "comment": "comments", "description": "comments",
    "synopsis": "comments", "lyrics": "comments", "keywords": "comments",
    "encoder": "software", "software": "software", "encoded_by": "software",
    "handler_name": "software",
}  # fmt: skip
_ISO_KINDS = ("mp4", "mov", "3gp", "m4a")
# Plain media never touches a disk when this RAM-backed directory exists.
_RAM_DIR = Path("/dev/shm")  # noqa: S108 (a private directory is made inside it)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise UnsupportedFormatError(f"{name} is not installed, so media cannot be cleaned")
    return path


# One decoder thread and two malloc arenas: ffmpeg's address space stays well inside
# Limits.max_memory (an RLIMIT_AS under scrub_isolated) on a machine with many cores,
# where every thread would otherwise reserve its own stack and arena.
_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "MALLOC_ARENA_MAX": "2"}


def _run(args: list[str], budget: Budget, kind: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=budget.remaining(),
            env=_ENV,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ScrubTimeoutError(
            f"ffmpeg took longer than {budget.limits.seconds:g} s", kind=kind
        ) from exc


def _probe(path: Path, demuxer: str, budget: Budget, kind: str) -> dict[str, Any]:
    result = _run(
        [_tool("ffprobe"), "-v", "error", "-threads", "1", "-protocol_whitelist", "file",
         "-f", demuxer,
         "-print_format", "json", "-show_format", "-show_streams", "-show_chapters",
         "-i", str(path)],
        budget, kind,
    )  # fmt: skip
    if result.returncode != 0:
        raise MalformedFileError(f"the {kind} file cannot be read", kind=kind)
    try:
        info: dict[str, Any] = json.loads(result.stdout)
    except ValueError as exc:
        raise MalformedFileError(f"the {kind} file cannot be read", kind=kind) from exc
    return info


def _tag_kind(key: str) -> str:
    key = key.lower()
    if "location" in key or "gps" in key or key.endswith("xyz"):
        return "location"
    for name in (key, key.rsplit(".", 1)[-1], key.split("-", 1)[0]):
        if name in _TAG_KINDS:
            return _TAG_KINDS[name]
    return "other"


def _tags_kinds(tags: dict[str, str] | None, *, cleaned: bool) -> set[str]:
    found = set()
    for key, value in (tags or {}).items():
        low = key.lower()
        if low in _ALLOWED_TAGS and (
            not cleaned or low not in _ALLOWED_VALUES or value in _ALLOWED_VALUES[low]
        ):
            if not cleaned and low == "handler_name" and value not in _ALLOWED_VALUES[low]:
                found.add("software")
            continue
        if low.startswith("duration"):
            continue
        found.add(_tag_kind(key))
    return found


def _select(info: dict[str, Any]) -> tuple[list[int], set[str]]:
    """Indexes of the streams to keep, and what leaving out the others removes."""
    keep: list[int] = []
    removed: set[str] = set()
    for stream in info.get("streams", []):
        codec_type = stream.get("codec_type")
        attached = stream.get("disposition", {}).get("attached_pic", 0)
        if codec_type in ("video", "audio") and not attached:
            keep.append(int(stream["index"]))
        elif attached:
            removed.add("thumbnail")
        elif codec_type == "attachment":
            removed.add("embedded_files")
        elif stream.get("codec_tag_string") in ("gpmd", "camm") or "GPS" in str(
            stream.get("tags", {}).get("handler_name", "")
        ):
            removed.add("location")
        else:
            removed.add("other")
    return keep, removed


def _removed(info: dict[str, Any]) -> set[str]:
    found = _tags_kinds(info.get("format", {}).get("tags"), cleaned=False)
    for stream in info.get("streams", []):
        found |= _tags_kinds(stream.get("tags"), cleaned=False) - {"software"}
    if info.get("chapters"):
        found.add("other")
    return found


def _duration(info: dict[str, Any]) -> float:
    try:
        return float(info.get("format", {}).get("duration", 0.0))
    except (TypeError, ValueError):
        return 0.0


def scrub(data: bytes, kind: str, budget: Budget) -> Cleaned:
    """A new file of the same format with the same audio and video packets."""
    demuxer, muxer, ext = _FORMATS[kind]
    parent = str(_RAM_DIR) if _RAM_DIR.is_dir() and os.access(_RAM_DIR, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="scrub-", dir=parent) as tmp:
        source, target = Path(tmp) / "in", Path(tmp) / f"out.{ext}"
        source.write_bytes(data)
        info = _probe(source, demuxer, budget, kind)
        keep, removed = _select(info)
        if not keep:
            raise MalformedFileError(f"the {kind} file has no audio or video", kind=kind)
        removed |= _removed(info)
        args = [_tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
                "-protocol_whitelist", "file", "-f", demuxer, "-i", str(source)]  # fmt: skip
        for index in keep:
            args += ["-map", f"0:{index}"]
        args += ["-c", "copy", "-map_metadata", "-1", "-map_metadata:s", "-1",
                 "-map_metadata:c", "-1", "-map_chapters", "-1", "-fflags", "+bitexact",
                 "-flags:v", "+bitexact", "-flags:a", "+bitexact"]  # fmt: skip
        if muxer == "mp3":
            args += ["-id3v2_version", "0", "-write_id3v1", "0"]
        args += ["-f", muxer, "-y", str(target)]
        result = _run(args, budget, kind)
        if result.returncode != 0 or not target.exists():
            raise MalformedFileError(f"the {kind} file cannot be copied anew", kind=kind)
        out = target.read_bytes()
        check = _probe(target, demuxer, budget, kind)
    problems = _leftovers(out, kind, check)
    if problems:
        raise VerifyFailedError(
            f"{kind} still carries {', '.join(sorted(problems))} after cleaning", kind=kind
        )
    if len(check.get("streams", [])) != len(keep):
        raise VerifyFailedError(f"the cleaned {kind} file lost a stream", kind=kind)
    before, after = _duration(info), _duration(check)
    if before > 0 and abs(after - before) > max(0.5, 0.05 * before):
        raise VerifyFailedError(f"the cleaned {kind} file has another duration", kind=kind)
    return Cleaned(out, frozenset(removed))


def _leftovers(data: bytes, kind: str, info: dict[str, Any]) -> set[str]:
    """Read a cleaned file back: the kinds of metadata still in it (empty when clean)."""
    found = _tags_kinds(info.get("format", {}).get("tags"), cleaned=True)
    for stream in info.get("streams", []):
        found |= _tags_kinds(stream.get("tags"), cleaned=True)
        if stream.get("disposition", {}).get("attached_pic"):
            found.add("thumbnail")
    if info.get("chapters"):
        found.add("other")
    if kind in _ISO_KINDS:
        found |= _iso_leftovers(data)
    elif kind == "mp3" and (
        data[:3] == b"ID3" or data[-128:-125] == b"TAG" or b"APETAGEX" in data[-4096:]
    ):
        found.add("other")
    return found


_TIMED = {b"mvhd", b"tkhd", b"mdhd"}
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"moof", b"traf",
               b"mvex"}  # fmt: skip


def _iso_leftovers(data: bytes) -> set[str]:
    """Our own walk of an MP4/MOV box tree."""
    found: set[str] = set()
    try:
        top = boxes(data)
    except MalformedFileError:
        return {"other"}
    stack = [(b, 0) for b in top]
    while stack:
        box, depth = stack.pop()
        if box.type in (b"uuid", b"XMP_", b"meta", b"ilst", b"keys", b"\xa9xyz", b"loci"):
            found.add("other")
        elif box.type == b"udta":
            with contextlib.suppress(MalformedFileError):
                if not _empty_udta(data, box.body, box.end):
                    found.add("other")
        elif box.type in _TIMED:
            try:
                version, _, pos = full_box(data, box)
                size = 8 if version == 1 else 4
                created, modified = struct.unpack(
                    ">QQ" if version == 1 else ">II", data[pos : pos + 2 * size]
                )
            except (MalformedFileError, struct.error):
                found.add("other")
                continue
            if created or modified:
                found.add("timestamps")
        elif box.type in _CONTAINERS and depth < 16:
            try:
                stack += [(b, depth + 1) for b in boxes(data, box.body, box.end)]
            except MalformedFileError:
                found.add("other")
        elif depth == 0 and box.type not in (b"ftyp", b"mdat", b"free", b"skip", b"wide"):
            found.add("other")
    return found


def _empty_udta(data: bytes, start: int, end: int) -> bool:
    """True for the empty iTunes list ffmpeg's MP4 muxer writes (meta: hdlr + empty ilst)."""
    children = boxes(data, start, end)
    if not children:
        return True
    if len(children) != 1 or children[0].type != b"meta":
        return False
    meta = children[0]
    inner = boxes(data, meta.body + 4, meta.end)
    return [b.type for b in inner] == [b"hdlr", b"ilst"] and inner[1].end - inner[1].body == 0
