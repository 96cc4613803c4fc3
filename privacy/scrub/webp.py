"""WebP: rebuild the RIFF container from the chunks that make the picture.

Kept: VP8, VP8L, ALPH, ANIM, ANMF (its sub-chunks filtered the same way), ICCP if
:func:`icc.acceptable_profile` accepts it, VP8X with its flags recomputed, and an EXIF
chunk holding Orientation alone when the orientation is not 1. Dropped: EXIF, XMP,
every unknown chunk, and anything after the RIFF data.
"""

from __future__ import annotations

import struct

from . import exif, icc, images
from .errors import MalformedFileError, VerifyFailedError
from .limits import Budget
from .vocab import Cleaned, classify_xmp

__all__ = ["leftovers", "scrub"]

_IMAGE = {b"VP8 ", b"VP8L", b"ALPH"}
_F_ANIM, _F_XMP, _F_EXIF, _F_ALPHA, _F_ICC = 0x02, 0x04, 0x08, 0x10, 0x20


def _chunks(data: bytes, start: int, end: int) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    pos = start
    while pos < end:
        if pos + 8 > end:
            raise MalformedFileError("WebP is truncated", kind="webp")
        fourcc, size = struct.unpack("<4sI", data[pos : pos + 8])
        if pos + 8 + size > end:
            raise MalformedFileError("WebP is truncated", kind="webp")
        out.append((fourcc, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
        if len(out) > 100_000:
            raise MalformedFileError("WebP has too many chunks", kind="webp")
    return out


def _container(data: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    if len(data) < 20 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise MalformedFileError("not a WebP file", kind="webp")
    (size,) = struct.unpack("<I", data[4:8])
    if size < 12 or 8 + size > len(data):
        raise MalformedFileError("WebP is truncated", kind="webp")
    return _chunks(data, 12, 8 + size), data[8 + size :]


def _chunk(fourcc: bytes, body: bytes) -> bytes:
    return struct.pack("<4sI", fourcc, len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def _dimensions(fourcc: bytes, body: bytes) -> tuple[int, int]:
    if fourcc == b"VP8X" and len(body) >= 10:
        w = int.from_bytes(body[4:7], "little") + 1
        h = int.from_bytes(body[7:10], "little") + 1
        return w, h
    if fourcc == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", body[6:10])
        return w & 0x3FFF, h & 0x3FFF
    if fourcc == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
        bits = int.from_bytes(body[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    raise MalformedFileError("WebP image header is invalid", kind="webp")


def _frame(body: bytes, budget: Budget, removed: set[str]) -> bytes:
    """An ANMF body with only image sub-chunks."""
    if len(body) < 16:
        raise MalformedFileError("WebP animation frame is truncated", kind="webp")
    w = int.from_bytes(body[6:9], "little") + 1
    h = int.from_bytes(body[9:12], "little") + 1
    budget.pixels(w, h, "a WebP frame")
    kept = []
    for fourcc, sub in _chunks(body, 16, len(body)):
        if fourcc in _IMAGE:
            kept.append(_chunk(fourcc, sub))
        else:
            removed.add("other")
    if not kept:
        raise MalformedFileError("WebP animation frame without an image", kind="webp")
    return body[:16] + b"".join(kept)


def scrub(data: bytes, budget: Budget) -> Cleaned:
    """A new WebP with the same image data and none of the metadata."""
    chunks, trailing = _container(data)
    if not chunks:
        raise MalformedFileError("WebP has no image", kind="webp")
    removed: set[str] = set()
    first, head = chunks[0]
    budget.pixels(*_dimensions(first, head), "the WebP image")
    body: list[bytes] = []
    profile: bytes | None = None
    orientation = 1
    has_image = False
    for fourcc, chunk in chunks[1:] if first == b"VP8X" else chunks:
        if fourcc in _IMAGE:
            if fourcc != b"ALPH":
                budget.pixels(*_dimensions(fourcc, chunk), "the WebP image")
                has_image = True
            body.append(_chunk(fourcc, chunk))
        elif fourcc == b"ANIM":
            body.append(_chunk(fourcc, chunk))
        elif fourcc == b"ANMF":
            body.append(_chunk(fourcc, _frame(chunk, budget, removed)))
            has_image = True
        elif fourcc == b"ICCP" and profile is None:
            profile = icc.acceptable_profile(chunk)
            if profile is None:
                removed.add("other")
        elif fourcc == b"EXIF":
            tiff = chunk[6:] if chunk.startswith(b"Exif\x00\x00") else chunk
            removed |= exif.classify_exif(tiff)
            orientation = exif.exif_orientation(tiff)
        elif fourcc == b"XMP ":
            removed |= classify_xmp(chunk)
        else:
            removed.add("other")
    if not has_image:
        raise MalformedFileError("WebP has no image", kind="webp")
    if trailing:
        removed.add("other")
    if first == b"VP8X":
        flags = head[0] & (_F_ANIM | _F_ALPHA)
        extra: list[bytes] = []
        if profile is not None:
            flags |= _F_ICC
            extra.append(_chunk(b"ICCP", profile))
        tail: list[bytes] = []
        if orientation != 1:
            flags |= _F_EXIF
            tail.append(_chunk(b"EXIF", exif.orientation_only(orientation)))
        vp8x = _chunk(b"VP8X", bytes([flags]) + bytes(3) + head[4:10])
        payload = b"WEBP" + vp8x + b"".join(extra + body + tail)
    else:
        payload = b"WEBP" + b"".join(body)
    out = b"RIFF" + struct.pack("<I", len(payload)) + payload
    problems = leftovers(out)
    if problems:
        raise VerifyFailedError(
            f"WebP still carries {', '.join(sorted(problems))} after cleaning", kind="webp"
        )
    images.decode_check(out, "webp", budget)
    return Cleaned(out, frozenset(removed))


def leftovers(data: bytes) -> set[str]:
    """Read a cleaned WebP back: the kinds of metadata still in it (empty when clean)."""
    try:
        chunks, trailing = _container(data)
    except MalformedFileError:
        return {"other"}
    found: set[str] = set()
    for fourcc, chunk in chunks:
        if fourcc in _IMAGE or fourcc in (b"VP8X", b"ANIM"):
            continue
        if fourcc == b"ANMF":
            try:
                subs = _chunks(chunk, 16, len(chunk))
            except MalformedFileError:
                found.add("other")
                continue
            if any(f not in _IMAGE for f, _ in subs):
                found.add("other")
            continue
        if fourcc == b"ICCP" and icc.acceptable_profile(chunk) == chunk:
            continue
        if fourcc == b"EXIF" and exif.only_orientation(chunk):
            continue
        found.add("xmp" if fourcc == b"XMP " else "other")
    if trailing:
        found.add("other")
    return found
