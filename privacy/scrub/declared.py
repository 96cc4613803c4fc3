"""How long a video or audio file says it is, and whether it visibly ends too early.

A file cut short in transfer (a download that stopped, a phone that ran out of space
while it recorded) can still hold a readable first part. ffmpeg copies that part; to
tell the tipster and the reviewer that it is only a part, we need what the file
*declared* before it was cut, read from its own header by our own small readers (never
ffprobe's guess from the bit rate):

- MP4, MOV, 3GP, M4A: the movie header (``moov``/``mvhd``: duration ÷ time scale), when
  the ``moov`` box is whole; a fragmented file whose header says 0 declares nothing;
- Matroska, WebM: ``Segment``/``Info``/``Duration`` × ``TimestampScale`` (a live
  recording, as browsers make, has no ``Duration``);
- MP3: the frame count of the Xing/Info or VBRI header in the first frame (LAME and
  ffmpeg write one); a bare MP3 stream declares nothing;
- an MP3 whose last frame stops before its end is cut short (:func:`mp3_whole_frames`),
  whatever it declared;
- Ogg (Opus, Vorbis voice notes): nothing is declared. :func:`ogg_cut_short` tells a
  file whose last page stops before its end: ffmpeg drops such a page without a word.

Every reader is bounds-checked and returns ``None`` when it finds nothing it trusts.
"""

from __future__ import annotations

import math
import struct

from .detect import mp3_frame_length

__all__ = ["declared_seconds", "mp3_whole_frames", "ogg_cut_short"]

# Anything longer than this is not a phone's recording: ignored as nonsense.
_MAX_SECONDS = 10 * 24 * 3600.0
_MAX_ELEMENTS = 10_000


def declared_seconds(data: bytes, kind: str) -> float | None:
    """The duration ``data`` (a file of ``kind``) declares in its header, in seconds."""
    if kind in ("mp4", "mov", "3gp", "m4a"):
        seconds = _iso(data)
    elif kind in ("mkv", "webm"):
        seconds = _matroska(data)
    elif kind == "mp3":
        seconds = _mp3(data)
    else:
        seconds = None
    if seconds is None or not math.isfinite(seconds) or not 0 < seconds <= _MAX_SECONDS:
        return None
    return seconds


# ----------------------------------------------------------------------------- ISO
def _iso_boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, body start, end) of the whole boxes laid end to end in data[start:end];
    stops at the first box that runs past ``end`` (a cut file's ``mdat``)."""
    found: list[tuple[bytes, int, int]] = []
    pos = start
    while pos + 8 <= end and len(found) < _MAX_ELEMENTS:
        size, btype = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                break
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            break
        found.append((btype, pos + header, pos + size))
        pos += size
    return found


def _iso(data: bytes) -> float | None:
    for btype, body, end in _iso_boxes(data, 0, len(data)):
        if btype != b"moov":
            continue
        for child, cbody, cend in _iso_boxes(data, body, end):
            if child != b"mvhd" or cbody + 4 > cend:
                continue
            version = data[cbody]
            layout = ">QQIQ" if version == 1 else ">IIII"
            size = struct.calcsize(layout)
            if cbody + 4 + size > cend:
                return None
            _, _, timescale, duration = struct.unpack(layout, data[cbody + 4 : cbody + 4 + size])
            unknown = duration == (1 << (64 if version == 1 else 32)) - 1
            if not timescale or not duration or unknown:
                return None
            return float(duration / timescale)
        return None
    return None


# ----------------------------------------------------------------------------- Matroska
_EBML = 0x1A45DFA3
_SEGMENT = 0x18538067
_INFO = 0x1549A966
_CLUSTER = 0x1F43B675
_TIMESTAMP_SCALE = 0x2AD7B1
_DURATION = 0x4489


def _vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int, bool] | None:
    """(value, position after it, all value bits set) of the EBML variable-size integer
    at ``pos``."""
    if pos >= len(data) or data[pos] == 0:
        return None
    length = 8 - data[pos].bit_length() + 1
    if length > 8 or pos + length > len(data):
        return None
    value = int.from_bytes(data[pos : pos + length], "big")
    if not keep_marker:
        value &= (1 << (7 * length)) - 1
    every = value == (1 << (7 * length)) - 1
    return value, pos + length, every


def _element(data: bytes, pos: int) -> tuple[int, int, int | None] | None:
    """(id, body start, body end or None for an unknown size) of the element at ``pos``."""
    ident = _vint(data, pos, keep_marker=True)
    if ident is None:
        return None
    size = _vint(data, ident[1], keep_marker=False)
    if size is None:
        return None
    value, body, unknown = size
    return ident[0], body, None if unknown else body + value


def _matroska(data: bytes) -> float | None:
    head = _element(data, 0)
    if head is None or head[0] != _EBML or head[2] is None:
        return None
    segment = _element(data, head[2])
    if segment is None or segment[0] != _SEGMENT:
        return None
    pos, end = segment[1], min(segment[2] or len(data), len(data))
    for _ in range(_MAX_ELEMENTS):
        found = _element(data, pos)
        if found is None:
            return None
        ident, body, stop = found
        if ident == _CLUSTER or stop is None or stop > end:
            return None  # Info comes before the first cluster, or not at all
        if ident == _INFO:
            return _info_duration(data, body, stop)
        pos = stop
    return None


def _info_duration(data: bytes, pos: int, end: int) -> float | None:
    scale, duration = 1_000_000, None
    while pos < end:
        found = _element(data, pos)
        if found is None:
            return None
        ident, body, stop = found
        if stop is None or stop > end:
            return None
        value = data[body:stop]
        if ident == _TIMESTAMP_SCALE and 1 <= len(value) <= 8:
            scale = int.from_bytes(value, "big")
        elif ident == _DURATION and len(value) in (4, 8):
            (duration,) = struct.unpack(">f" if len(value) == 4 else ">d", value)
        pos = stop
    return None if duration is None else duration * scale / 1e9


# ----------------------------------------------------------------------------- MP3
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_start(data: bytes) -> int:
    """Where the first frame is: after an ID3v2 tag (and the padding some writers leave)."""
    pos = 0
    if data[:3] == b"ID3" and len(data) >= 10 and not any(b & 0x80 for b in data[6:10]):
        size = data[6:10]
        pos = 10 + ((size[0] << 21) | (size[1] << 14) | (size[2] << 7) | size[3])
        pos += 10 if data[5] & 0x10 else 0
        while pos < len(data) and data[pos] == 0:
            pos += 1
    return pos


def _mp3(data: bytes) -> float | None:
    pos = _mp3_start(data)
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    version = (data[pos + 1] >> 3) & 3
    layer = (data[pos + 1] >> 1) & 3
    rate_index = (data[pos + 2] >> 2) & 3
    if version == 1 or layer != 1 or rate_index == 3:
        return None
    sample_rate = _MP3_RATES[version][rate_index]
    samples = 1152 if version == 3 else 576
    mono = data[pos + 3] >> 6 == 3
    side = (17 if mono else 32) if version == 3 else (9 if mono else 17)
    frames: int | None = None
    xing = pos + 4 + side
    if data[xing : xing + 4] in (b"Xing", b"Info") and xing + 12 <= len(data):
        (flags,) = struct.unpack(">I", data[xing + 4 : xing + 8])
        if flags & 1:
            (frames,) = struct.unpack(">I", data[xing + 8 : xing + 12])
    vbri = pos + 4 + 32
    if frames is None and data[vbri : vbri + 4] == b"VBRI" and vbri + 18 <= len(data):
        (frames,) = struct.unpack(">I", data[vbri + 14 : vbri + 18])
    return frames * samples / sample_rate if frames else None


# ----------------------------------------------------------------------------- Ogg
def ogg_cut_short(data: bytes) -> bool:
    """True when the last Ogg page of ``data`` stops before its end: the file was cut
    inside a page. Something other than a page after the last one (data an app
    appended) is not a cut: ffmpeg skips it and nothing is lost."""
    pos = 0
    while pos < len(data):
        if data[pos : pos + 4] != b"OggS":
            return b"OggS".startswith(data[pos:])  # cut inside the next page's mark
        if pos + 27 > len(data):
            return True
        count = data[pos + 26]
        if pos + 27 + count > len(data):
            return True
        pos += 27 + count + sum(data[pos + 27 : pos + 27 + count])
        if pos > len(data):
            return True
    return False


def mp3_whole_frames(data: bytes) -> int | None:
    """The length of ``data`` up to the end of its last whole frame, when its last frame
    stops before its end (the file was cut inside a frame, which ffmpeg would copy as
    it is); ``None`` when the frames end with the file, or the walk meets something that
    is not a frame (an ID3v1 or APE tag, garbage: left to ffmpeg)."""
    pos = _mp3_start(data)
    while pos < len(data):
        length = mp3_frame_length(data, pos)
        if not length:
            return pos if len(data) - pos < 4 and data[pos] == 0xFF else None
        if pos + length > len(data):
            return pos
        pos += length
    return None
