"""Video and audio: ffmpeg copies the audio and video streams into a new file of the
same format, without re-encoding them and without any metadata.

ffmpeg (Debian's package) runs as a subprocess with a time limit, reading and writing
files in a private temporary directory in memory (see :mod:`.scratch`: a tmpfs, never
a disk; media are refused when there is none),
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
- for MP3, ``-id3v2_version 0`` and no ID3v1 tag;
- for H.264 and HEVC video, ``filter_units=pass_types=...``: only the NAL units a
  decoder needs (slices, parameter sets, delimiters) are copied; SEI messages (x264's
  and x265's version and settings, a camera's time or place, any user data) and
  unspecified unit types are left out. HEVC can also carry SEI in its decoder
  configuration (the ``hvcC`` box), which ``filter_units`` does not touch: for
  MP4/MOV/3GP we rebuild that box with its parameter sets only (Matroska's
  ``CodecPrivate`` is not rebuilt: such a file fails the read-back and is refused).

Other video codecs: VP8 and VP9 have no place for text or user data in the bitstream
and are copied as they are; the rest are refused as ``unsupported``: MPEG-4 part 2 and
MPEG-2 (user-data start codes, where encoders write their names), H.263 (picture
messages with text, Annex W), Motion JPEG (EXIF in every frame), AV1 (metadata OBUs),
ProRes and others not inspected.

The rotation of a phone video is not metadata in ffmpeg's sense (it is the track
matrix, kept as stream side data), so the video still plays the right way up.

A file cut short (a download that stopped) keeps its readable part, marked as
partial (:class:`~.vocab.Partial`): the seconds in the cleaned file against the seconds
its header declared (:mod:`.declared`), or, when it declared none, against the read
errors ffmpeg reports (and our own finding of an Ogg page or MP3 frame cut off). Packets
the demuxer marks corrupt (``-fflags +discardcorrupt``) and an MP3's cut last frame are
left out. A file whose index is past the cut (an MP4 with ``moov`` at the end) cannot
be read and is refused.

The result is read back three times: by ffprobe (tags outside :data:`_ALLOWED_TAGS`,
stream count, duration), by our own box reader for MP4/MOV/3GP/M4A (``udta``, ``meta``,
``uuid`` and ``XMP_`` boxes, non-zero creation and modification times), and, for H.264
and HEVC, by our own reader of the NAL unit types in the video as ffmpeg writes it out as
an Annex B byte stream, decoder configuration included (any type outside the kept ones,
SEI first of all, refuses the file).
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

from .declared import declared_seconds, mp3_whole_frames, ogg_cut_short
from .errors import (
    MalformedFileError,
    ScrubTimeoutError,
    UnsupportedFormatError,
    VerifyFailedError,
)
from .isobmff import Box, boxes, full_box
from .limits import Budget
from .scratch import memory_dir
from .vocab import Cleaned, Partial

__all__ = ["SHORT_SECONDS", "SHORT_SHARE", "scrub"]

#: A cleaned file shorter than its original declared by more than this many seconds,
#: and more than this share of the declared duration, is partial (a cut or damaged file
#: of which the readable part was kept). Less is the usual slack of a stream copy
#: (encoder delay, the last frame's duration).
SHORT_SECONDS = 0.5
SHORT_SHARE = 0.02

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

# H.264 and HEVC carry data of their own inside the video stream, in SEI messages
# (x264 and x265 write their version and settings; cameras may write times or places)
# and in NAL unit types the standards leave unspecified (Dolby Vision's RPU, anything a
# vendor likes). Only the NAL unit types a decoder needs are kept: slices, parameter
# sets, delimiters (and H.264's SVC/MVC/3D extensions).
_H264_KEEP = frozenset([*range(1, 6), *range(7, 12), 13, 14, 15, 19, 20, 21])
_HEVC_KEEP = frozenset([*range(0, 10), *range(16, 22), *range(32, 38)])
_NAL_KEEP = {"h264": _H264_KEEP, "hevc": _HEVC_KEEP}
# Video codecs with nowhere in the bitstream for text or user data, copied as they are.
# Others (MPEG-4 part 2 and MPEG-2 user data, H.263 picture messages, Motion JPEG's
# EXIF, AV1 metadata OBUs, ProRes vendor fields, ...) are refused.
_PLAIN_VIDEO = frozenset({"vp8", "vp9"})
# HEVC parameter sets, the only arrays kept in an hvcC box.
_HVCC_KEEP = frozenset({32, 33, 34})


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


def _video_codecs(info: dict[str, Any], keep: list[int], kind: str) -> dict[int, str]:
    """Output index -> codec of each kept video stream; refuses codecs we cannot clean."""
    streams = {int(s["index"]): s for s in info.get("streams", [])}
    codecs: dict[int, str] = {}
    for position, index in enumerate(keep):
        stream = streams[index]
        if stream.get("codec_type") != "video":
            continue
        codec = str(stream.get("codec_name", ""))
        if codec not in _NAL_KEEP and codec not in _PLAIN_VIDEO:
            raise UnsupportedFormatError(
                f"the {kind} file has {codec or 'unknown'} video, which cannot be cleaned",
                kind=kind,
            )
        codecs[position] = codec
    return codecs


def scrub(data: bytes, kind: str, budget: Budget) -> Cleaned:
    """A new file of the same format with the same audio and video packets (H.264 and
    HEVC less the NAL units a decoder does not need)."""
    demuxer, muxer, ext = _FORMATS[kind]
    with tempfile.TemporaryDirectory(prefix="scrub-", dir=memory_dir()) as tmp:
        source, target = Path(tmp) / "in", Path(tmp) / f"out.{ext}"
        # An MP3 cut inside a frame: ffmpeg would copy the broken frame, so it goes.
        whole = mp3_whole_frames(data) if kind == "mp3" else None
        source.write_bytes(data if whole is None else data[:whole])
        info = _probe(source, demuxer, budget, kind)
        keep, removed = _select(info)
        if not keep:
            raise MalformedFileError(f"the {kind} file has no audio or video", kind=kind)
        codecs = _video_codecs(info, keep, kind)
        removed |= _removed(info)
        args = [_tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
                "-protocol_whitelist", "file", "-fflags", "+discardcorrupt", "-f", demuxer,
                "-i", str(source)]  # fmt: skip
        for index in keep:
            args += ["-map", f"0:{index}"]
        args += ["-c", "copy", "-map_metadata", "-1", "-map_metadata:s", "-1",
                 "-map_metadata:c", "-1", "-map_chapters", "-1", "-fflags", "+bitexact",
                 "-flags:v", "+bitexact", "-flags:a", "+bitexact"]  # fmt: skip
        for position, codec in codecs.items():
            if codec in _NAL_KEEP:
                if (
                    _nal_types(source, keep[position], codec, demuxer, budget, kind)
                    - _NAL_KEEP[codec]
                ):
                    removed.add("other")
                passed = "|".join(str(t) for t in sorted(_NAL_KEEP[codec]))
                args += [f"-bsf:{position}", f"filter_units=pass_types={passed}"]
        if muxer == "mp3":
            args += ["-id3v2_version", "0", "-write_id3v1", "0"]
        args += ["-f", muxer, "-y", str(target)]
        result = _run(args, budget, kind)
        if result.returncode != 0 or not target.exists():
            raise MalformedFileError(f"the {kind} file cannot be copied anew", kind=kind)
        out = target.read_bytes()
        if kind in _ISO_KINDS and "hevc" in codecs.values():
            out = _without_hvcc_sei(out, kind)
            target.write_bytes(out)
        check = _probe(target, demuxer, budget, kind)
        problems = _leftovers(out, kind, check)
        for index, codec in codecs.items():
            if codec in _NAL_KEEP and (
                _nal_types(target, index, codec, demuxer, budget, kind) - _NAL_KEEP[codec]
            ):
                problems.add("other")
    if problems:
        raise VerifyFailedError(
            f"{kind} still carries {', '.join(sorted(problems))} after cleaning", kind=kind
        )
    if len(check.get("streams", [])) != len(keep):
        raise VerifyFailedError(f"the cleaned {kind} file lost a stream", kind=kind)
    partial = _partial(
        kind,
        probed=_duration(info),
        kept=_duration(check),
        declared=declared_seconds(data, kind),
        damaged=_read_errors(result.stderr, demuxer)
        or whole is not None
        or (kind == "ogg" and ogg_cut_short(data)),
    )
    return Cleaned(out, frozenset(removed), partial)


def _read_errors(stderr: bytes, demuxer: str) -> bool:
    """True when ffmpeg, copying the file, said it could not read all of it: an error
    from the demuxer ("File ended prematurely", "partial file", "Packet corrupt") or a
    corrupt input packet."""
    for line in stderr.decode("utf-8", "replace").splitlines():
        if "corrupt input packet" in line:
            return True
        if line.startswith("[") and " @ " in line:
            names = line[1 : line.index(" @ ")].split(",")
            if demuxer in names:
                return True
    return False


def _partial(
    kind: str, *, probed: float, kept: float, declared: float | None, damaged: bool
) -> Partial | None:
    """Whether the cleaned file holds only a part of the original, or refuses it.

    Against what the original declared (else what ffprobe read of it): a cleaned file
    that is longer is refused as ``verify_failed``; one that is shorter by more than
    :data:`SHORT_SECONDS` or :data:`SHORT_SHARE` of it is partial. When nothing was
    declared, read errors mark it partial; a shorter file without them is refused. A
    partial file with nothing in it is refused as ``malformed``."""
    reference = declared if declared is not None else probed
    if reference > 0 and kept - reference > max(0.5, 0.05 * reference):
        raise VerifyFailedError(f"the cleaned {kind} file has another duration", kind=kind)
    partial = None
    if declared is not None:
        if declared - kept > max(SHORT_SECONDS, SHORT_SHARE * declared):
            partial = Partial(round(kept, 3), round(declared, 3))
    elif damaged:
        partial = Partial(round(kept, 3))
    elif probed > 0 and probed - kept > max(0.5, 0.05 * probed):
        raise VerifyFailedError(f"the cleaned {kind} file has another duration", kind=kind)
    if partial is not None and not kept > 0:
        raise MalformedFileError(f"nothing of the {kind} file could be read", kind=kind)
    return partial


def _nal_types(
    path: Path, stream: int, codec: str, demuxer: str, budget: Budget, kind: str
) -> set[int]:
    """The NAL unit types in one H.264 or HEVC stream, its decoder configuration (avcC,
    hvcC) included: ffmpeg writes the stream out as an Annex B byte stream, with the
    configuration's NAL units in front of each key frame, and we read the types after
    each start code. Emulation prevention keeps 00 00 01 out of a NAL unit's payload, so
    every unit is found. A type outside 0-63 (-1) marks a damaged unit."""
    result = _run(
        [_tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error",
         "-protocol_whitelist", "file", "-f", demuxer, "-i", str(path), "-map", f"0:{stream}",
         "-c", "copy", "-bsf", f"{codec}_mp4toannexb", "-f", codec, "pipe:1"],
        budget, kind,
    )  # fmt: skip
    if result.returncode != 0:
        raise MalformedFileError(f"the {kind} file's video cannot be read", kind=kind)
    return annexb_types(result.stdout, codec)


def annexb_types(stream: bytes, codec: str) -> set[int]:
    """The NAL unit types in an H.264 or HEVC Annex B byte stream (-1: a unit that is
    not one: data before the first start code, a set forbidden bit, an empty unit)."""
    found: set[int] = set()
    if not stream.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")):
        found.add(-1)
    pos = stream.find(b"\x00\x00\x01")
    while pos >= 0:
        header = pos + 3
        if header >= len(stream):
            found.add(-1)
            break
        byte = stream[header]
        if byte & 0x80:
            found.add(-1)
        found.add(byte & 0x1F if codec == "h264" else (byte >> 1) & 0x3F)
        pos = stream.find(b"\x00\x00\x01", header)
    return found


_TO_SAMPLE_ENTRY = {b"moov": 0, b"trak": 0, b"mdia": 0, b"minf": 0, b"stbl": 0, b"stsd": 8,
                    b"hvc1": 78, b"hev1": 78}  # fmt: skip


def _without_hvcc_sei(data: bytes, kind: str) -> bytes:
    """The MP4/MOV file with SEI arrays dropped from every hvcC box.

    ffmpeg's filter_units leaves the decoder configuration as it is, and x265 (and
    others) put an SEI message there, which every key frame then carries. ffmpeg writes
    the ``moov`` box last, so it can be rebuilt at another size without moving any
    sample: a ``moov`` elsewhere is refused."""
    try:
        top = boxes(data, kind=kind)
        rebuilt = [_rebuilt(data, box, kind) for box in top]
    except MalformedFileError as exc:
        raise VerifyFailedError(f"the cleaned {kind} file cannot be read", kind=kind) from exc
    changed = [box for box, new in zip(top, rebuilt, strict=True) if new is not None]
    if not changed:
        return data
    last = rebuilt[-1]
    if changed != [top[-1]] or top[-1].type != b"moov" or last is None:
        raise VerifyFailedError(f"the cleaned {kind} file has its index first", kind=kind)
    return data[: top[-1].start] + last


def _rebuilt(data: bytes, box: Box, kind: str) -> bytes | None:
    """``box`` anew without hvcC SEI arrays, or None when nothing in it changes."""
    if box.type == b"hvcC":
        body = _hvcc_parameter_sets(box.payload(data), kind)
        return None if body == box.payload(data) else _box(b"hvcC", body)
    skip = _TO_SAMPLE_ENTRY.get(box.type)
    if skip is None or box.body + skip > box.end:
        return None
    children = boxes(data, box.body + skip, box.end, kind=kind)
    parts = [_rebuilt(data, child, kind) for child in children]
    if all(part is None for part in parts):
        return None
    body = data[box.body : box.body + skip] + b"".join(
        data[c.start : c.end] if part is None else part
        for c, part in zip(children, parts, strict=True)
    )
    return _box(box.type, body)


def _box(btype: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), btype) + body


def _hvcc_parameter_sets(body: bytes, kind: str) -> bytes:
    """An HEVCDecoderConfigurationRecord with only its VPS, SPS and PPS arrays."""
    if len(body) < 23:
        raise MalformedFileError("the hvcC box is truncated", kind=kind)
    arrays: list[bytes] = []
    pos = 23
    for _ in range(body[22]):
        if pos + 3 > len(body):
            raise MalformedFileError("the hvcC box is truncated", kind=kind)
        nal_type, count = body[pos] & 0x3F, int.from_bytes(body[pos + 1 : pos + 3], "big")
        end = pos + 3
        for _ in range(count):
            if end + 2 > len(body):
                raise MalformedFileError("the hvcC box is truncated", kind=kind)
            end += 2 + int.from_bytes(body[end : end + 2], "big")
        if end > len(body):
            raise MalformedFileError("the hvcC box is truncated", kind=kind)
        if nal_type in _HVCC_KEEP:
            arrays.append(body[pos:end])
        pos = end
    return body[:22] + bytes([len(arrays)]) + b"".join(arrays)


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
