"""JPEG: rewrite the marker segments, never the image data.

The entropy-coded data is copied byte for byte, so the pixels are exactly the same.
What is kept (the allowlist) and how:

- the frame and its tables: SOFn, DHT, DAC, DQT, DRI, SOS with its scan data, DNL, EOI;
- APP0 JFIF, rewritten with the version and pixel density only (no thumbnail);
- APP2 ICC profile, only if :func:`icc.acceptable_profile` accepts it, then normalised;
- APP14 Adobe, rewritten to its fixed fields (decoders need its colour transform);
- the orientation: a new APP1 EXIF holding Orientation alone, when it is not 1, so
  viewers keep turning the photo the right way. Rotating the pixels instead would mean
  re-encoding (or a lossless transform that does not exist for every size).

Everything else goes: APP1 EXIF (with GPS, maker notes, the thumbnail in IFD1), APP1
XMP and extended XMP, APP13 Photoshop/IPTC, COM, every other APPn (MPF, FlashPix,
Ducky, C2PA, ...), and whatever follows EOI (appended files, MPF secondary images).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from . import exif, icc
from .errors import MalformedFileError, UnsupportedFormatError, VerifyFailedError
from .limits import Budget
from .vocab import Cleaned, classify_xmp

__all__ = ["leftovers", "scrub"]

_EOI = 0xD9
_SOS = 0xDA
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
# Non-APP segments copied as they are (SOFn, DHT, DAC, DQT, DRI, SOS, DNL).
_TABLES = _SOF | {0xC4, 0xCC, 0xDB, 0xDD, _SOS, 0xDC}
_COM = 0xFE
_APP0, _APP1, _APP2, _APP13, _APP14 = 0xE0, 0xE1, 0xE2, 0xED, 0xEE
# The first marker after entropy-coded data: 0xFF then anything but stuffing (00), a
# restart marker (D0-D7) or a fill byte (FF).
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")

_EXIF = b"Exif\x00\x00"
_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXT = b"http://ns.adobe.com/xmp/extension/\x00"
_ICC = b"ICC_PROFILE\x00"
_ICC_CHUNK = 65519  # 65535 - 2 (length) - 12 (signature) - 2 (sequence, count)


@dataclass(frozen=True)
class Segment:
    marker: int
    payload: bytes  # without the length field
    scan: bytes = b""  # entropy-coded data that follows an SOS


def parse(data: bytes, budget: Budget | None = None) -> tuple[list[Segment], bytes]:
    """The segments of a JPEG up to EOI, and whatever follows EOI."""
    if data[:3] != b"\xff\xd8\xff":
        raise MalformedFileError("not a JPEG", kind="jpeg")
    segments: list[Segment] = []
    pos, end = 2, len(data)
    while True:
        if pos + 2 > end:
            raise MalformedFileError("JPEG is truncated (no end of image)", kind="jpeg")
        if data[pos] != 0xFF:
            raise MalformedFileError("JPEG marker expected", kind="jpeg")
        while pos + 2 < end and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes
        marker = data[pos + 1]
        pos += 2
        if marker == _EOI:
            return segments, data[pos:]
        if 0xD0 <= marker <= 0xD8 or marker in (0x00, 0x01):
            raise MalformedFileError("unexpected JPEG marker", kind="jpeg")
        if pos + 2 > end:
            raise MalformedFileError("JPEG is truncated", kind="jpeg")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if length < 2 or pos + length > end:
            raise MalformedFileError("JPEG is truncated", kind="jpeg")
        payload = data[pos + 2 : pos + length]
        pos += length
        scan = b""
        if marker == _SOS:
            found = _NEXT_MARKER.search(data, pos)
            if found is None:
                raise MalformedFileError("JPEG is truncated (scan never ends)", kind="jpeg")
            scan = data[pos : found.start()].rstrip(b"\xff")
            pos = found.start()
            if budget is not None:
                budget.check()
        segments.append(Segment(marker, payload, scan))


def _check_frame(segments: list[Segment], budget: Budget) -> None:
    frames = [s for s in segments if s.marker in _SOF]
    if len(frames) != 1:
        raise UnsupportedFormatError("JPEG without exactly one frame header", kind="jpeg")
    sof = frames[0].payload
    if len(sof) < 6:
        raise MalformedFileError("JPEG frame header is truncated", kind="jpeg")
    height, width = struct.unpack(">HH", sof[1:5])
    if width == 0:
        raise MalformedFileError("JPEG frame has no width", kind="jpeg")
    if height == 0:
        raise UnsupportedFormatError("JPEG with a height defined later (DNL)", kind="jpeg")
    budget.pixels(width, height, "the JPEG image")
    if not any(s.marker == _SOS for s in segments):
        raise MalformedFileError("JPEG has no image data", kind="jpeg")
    unknown = [s for s in segments if not (s.marker in _TABLES or 0xE0 <= s.marker <= 0xEF)]
    if any(s.marker != _COM for s in unknown):
        raise UnsupportedFormatError("JPEG uses markers we do not know", kind="jpeg")


def _photoshop_kinds(payload: bytes) -> set[str]:
    """Image resources in APP13: IPTC, thumbnails, EXIF, XMP, ..."""
    found: set[str] = set()
    pos = payload.find(b"8BIM")
    while pos >= 0 and pos + 12 <= len(payload) and payload[pos : pos + 4] == b"8BIM":
        (rid,) = struct.unpack(">H", payload[pos + 4 : pos + 6])
        name_len = payload[pos + 6]
        name_end = pos + 7 + name_len + ((name_len + 1) % 2)
        if name_end + 4 > len(payload):
            break
        (size,) = struct.unpack(">I", payload[name_end : name_end + 4])
        found.add(
            {0x0404: "iptc", 0x0409: "thumbnail", 0x040C: "thumbnail", 0x0424: "xmp"}.get(
                rid, "other"
            )
        )
        pos = name_end + 4 + size + (size % 2)
    return found or {"iptc"}


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _icc_profile(chunks: list[bytes]) -> bytes | None:
    """Reassemble an ICC profile from its APP2 chunks (None if they are inconsistent)."""
    parts: dict[int, bytes] = {}
    total = 0
    for chunk in chunks:
        if len(chunk) < 14:
            return None
        seq, count = chunk[12], chunk[13]
        if total and count != total:
            return None
        total = count
        if seq in parts or not 1 <= seq <= count:
            return None
        parts[seq] = chunk[14:]
    if len(parts) != total:
        return None
    return b"".join(parts[i] for i in range(1, total + 1))


def _icc_segments(profile: bytes) -> list[bytes]:
    pieces = [profile[i : i + _ICC_CHUNK] for i in range(0, len(profile), _ICC_CHUNK)]
    return [
        _segment(_APP2, _ICC + bytes([i + 1, len(pieces)]) + piece)
        for i, piece in enumerate(pieces)
    ]


def scrub(data: bytes, budget: Budget, *, keep_orientation: bool = True) -> Cleaned:
    """A new JPEG with the same image data and none of the metadata.

    ``keep_orientation=False`` is for a JPEG inside a PDF, whose viewer ignores EXIF."""
    segments, trailing = parse(data, budget)
    _check_frame(segments, budget)
    removed: set[str] = set()
    jfif: bytes | None = None
    adobe: bytes | None = None
    icc_chunks: list[bytes] = []
    orientation = 1
    body: list[bytes] = []
    for seg in segments:
        m, p = seg.marker, seg.payload
        if m in _TABLES:
            body.append(_segment(m, p) + seg.scan)
        elif m == _APP0 and p.startswith(b"JFIF\x00") and len(p) >= 14 and jfif is None:
            if p[12] or p[13] or len(p) > 14:
                removed.add("thumbnail")
            jfif = p[:12] + b"\x00\x00"
        elif m == _APP1 and p.startswith(_EXIF):
            removed |= exif.classify_exif(p[6:])
            if orientation == 1:
                orientation = exif.exif_orientation(p[6:])
        elif m == _APP1 and (p.startswith(_XMP) or p.startswith(_XMP_EXT)):
            removed |= classify_xmp(p)
        elif m == _APP2 and p.startswith(_ICC):
            icc_chunks.append(p)
        elif m == _APP13:
            removed |= _photoshop_kinds(p)
        elif m == _APP14 and p.startswith(b"Adobe") and len(p) >= 12 and adobe is None:
            # Version, two flag words (zeroed), colour transform.
            adobe = p[:7] + bytes(4) + p[11:12]
        elif m == _COM:
            removed.add("comments")
        elif m == _APP0 and p.startswith(b"JFXX"):
            removed.add("thumbnail")
        else:
            removed.add("other")
    profile = None
    if icc_chunks:
        assembled = _icc_profile(icc_chunks)
        profile = icc.acceptable_profile(assembled) if assembled else None
        if profile is None:
            removed.add("other")
    if trailing.strip(b"\x00"):
        removed.add("other")
    head = [b"\xff\xd8"]
    if jfif is not None:
        head.append(_segment(_APP0, jfif))
    if keep_orientation and orientation != 1:
        head.append(_segment(_APP1, _EXIF + exif.orientation_only(orientation)))
    if profile is not None:
        head += _icc_segments(profile)
    if adobe is not None:
        head.append(_segment(_APP14, adobe))
    out = b"".join(head + body) + b"\xff\xd9"
    problems = leftovers(out)
    if problems:
        raise VerifyFailedError(
            f"JPEG still carries {', '.join(sorted(problems))} after cleaning", kind="jpeg"
        )
    return Cleaned(out, frozenset(removed))


def leftovers(data: bytes) -> set[str]:
    """Read a cleaned JPEG back: the kinds of metadata still in it (empty when clean)."""
    try:
        segments, trailing = parse(data)
    except MalformedFileError:
        return {"other"}
    found: set[str] = set()
    icc_chunks: list[bytes] = []
    for seg in segments:
        m, p = seg.marker, seg.payload
        if m in _TABLES:
            continue
        if m == _APP0 and p.startswith(b"JFIF\x00") and len(p) == 14 and p[12:] == b"\0\0":
            continue
        if m == _APP1 and p.startswith(_EXIF) and exif.only_orientation(p[6:]):
            continue
        if m == _APP2 and p.startswith(_ICC):
            icc_chunks.append(p)
            continue
        if m == _APP14 and p.startswith(b"Adobe") and len(p) == 12 and p[7:11] == bytes(4):
            continue
        found.add("comments" if m == _COM else "other")
    if icc_chunks:
        profile = _icc_profile(icc_chunks)
        if profile is None or icc.acceptable_profile(profile) != profile:
            found.add("other")
    if trailing:
        found.add("other")
    return found
