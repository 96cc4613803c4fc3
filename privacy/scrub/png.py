"""PNG and APNG: copy the chunks that make the picture, drop the rest.

Kept (the allowlist): IHDR, PLTE, IDAT, IEND; transparency and colour (tRNS, gAMA,
cHRM, sRGB, sBIT, cICP, mDCv, cLLi, bKGD, pHYs, hIST); animation (acTL, fcTL, fdAT);
iCCP if :func:`icc.acceptable_profile` accepts it (renamed, recompressed); eXIf
replaced by Orientation alone when the orientation is not 1.

Dropped: tEXt, zTXt, iTXt (author, software, comments, XMP, creation time), tIME, eXIf,
sPLT, dSIG, caBX (C2PA), every other ancillary chunk, and data after IEND. An unknown
critical chunk (or Apple's CgBI) is refused: we could not know what it does.

Every image stream (IDAT, and each APNG frame's fdAT) is inflated with a cap and must
hold exactly the bytes its size calls for: that catches truncation, hidden data after
the stream, and decompression bombs. The image data itself is copied unchanged.
"""

from __future__ import annotations

import struct
import zlib

from . import exif, icc, images
from .errors import (
    DecompressionBombError,
    MalformedFileError,
    UnsupportedFormatError,
    VerifyFailedError,
)
from .limits import Budget
from .vocab import Cleaned, classify_xmp

__all__ = ["leftovers", "scrub"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_KEEP = {
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT",
    b"cICP", b"mDCv", b"cLLi", b"bKGD", b"pHYs", b"hIST", b"acTL", b"fcTL", b"fdAT",
}  # fmt: skip
_TEXT = {b"tEXt", b"zTXt", b"iTXt"}
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_PASSES = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
           (1, 0, 2, 2), (0, 1, 1, 2))  # fmt: skip
_TEXT_KINDS = {
    "author": "author", "artist": "author", "copyright": "author", "owner": "author",
    "software": "software", "creation time": "timestamps", "date": "timestamps",
    "comment": "comments", "description": "comments", "title": "comments",
    "disclaimer": "comments", "warning": "comments", "source": "camera",
    "make": "camera", "model": "camera", "location": "location", "gps": "location",
}  # fmt: skip


def _chunks(data: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """(type, data) for each chunk up to IEND, and what follows IEND."""
    if not data.startswith(SIGNATURE):
        raise MalformedFileError("not a PNG", kind="png")
    out: list[tuple[bytes, bytes]] = []
    pos = len(SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise MalformedFileError("PNG is truncated (no IEND)", kind="png")
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(data):
            raise MalformedFileError("PNG is truncated", kind="png")
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(ctype + body) != crc:
            raise MalformedFileError("PNG chunk checksum mismatch", kind="png")
        if not ctype.isalpha():
            raise MalformedFileError("PNG chunk with a bad name", kind="png")
        out.append((ctype, body))
        pos = end
        if ctype == b"IEND":
            return out, data[pos:]


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))
    )


def _raw_size(width: int, height: int, bits: int, interlaced: bool) -> int:
    """Bytes of filtered scanlines for an image of this size."""

    def size(w: int, h: int) -> int:
        return 0 if w == 0 or h == 0 else h * (1 + (w * bits + 7) // 8)

    if not interlaced:
        return size(width, height)
    total = 0
    for x0, y0, dx, dy in _PASSES:
        total += size((width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy)
    return total


def _check_stream(parts: list[bytes], expected: int, budget: Budget) -> None:
    """The zlib stream split over ``parts`` inflates to exactly ``expected`` bytes."""
    inflater = zlib.decompressobj()
    produced = 0
    step = 1 << 20
    try:
        for part in parts:
            chunk = inflater.decompress(part, step)
            produced += len(chunk)
            while inflater.unconsumed_tail:
                if produced > expected:
                    break
                budget.check()
                chunk = inflater.decompress(inflater.unconsumed_tail, step)
                produced += len(chunk)
            if produced > expected:
                raise MalformedFileError("PNG image data is larger than the image", kind="png")
            if inflater.eof and (inflater.unused_data or part is not parts[-1]):
                raise MalformedFileError("PNG has data after its image stream", kind="png")
        produced += len(inflater.flush())
    except zlib.error as exc:
        raise MalformedFileError("PNG image data is corrupt", kind="png") from exc
    if not inflater.eof or produced != expected:
        raise MalformedFileError("PNG image data is truncated or too long", kind="png")


def _text_kinds(ctype: bytes, body: bytes) -> set[str]:
    keyword = body.split(b"\x00", 1)[0].decode("latin-1").strip().lower()
    if keyword == "xml:com.adobe.xmp":
        return classify_xmp(body)
    if keyword.startswith("raw profile type"):
        return {"iptc"} if "iptc" in keyword or "8bim" in keyword else {"other"}
    for word, kind in _TEXT_KINDS.items():
        if word in keyword:
            return {kind}
    return {"comments"}


def _header(chunks: list[tuple[bytes, bytes]], budget: Budget) -> tuple[int, int, int, bool]:
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        raise MalformedFileError("PNG does not start with its header", kind="png")
    width, height, depth, color, method, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if color not in _DEPTHS or depth not in _DEPTHS[color] or method or filt or interlace > 1:
        raise MalformedFileError("PNG header is invalid", kind="png")
    if width == 0 or height == 0:
        raise MalformedFileError("PNG has no pixels", kind="png")
    budget.pixels(width, height, "the PNG image")
    return width, height, depth * _CHANNELS[color], bool(interlace)


def _check_images(chunks: list[tuple[bytes, bytes]], budget: Budget) -> None:
    width, height, bits, interlaced = _header(chunks, budget)
    idat = [body for ctype, body in chunks if ctype == b"IDAT"]
    if not idat:
        raise MalformedFileError("PNG has no image data", kind="png")
    types = [ctype for ctype, _ in chunks]
    first, last = types.index(b"IDAT"), len(types) - 1 - types[::-1].index(b"IDAT")
    if any(t != b"IDAT" for t in types[first : last + 1]):
        raise MalformedFileError("PNG image data is not contiguous", kind="png")
    total = _raw_size(width, height, bits, interlaced)
    streams: list[tuple[list[bytes], int]] = [(idat, total)]
    # APNG frames: each fcTL is followed by its fdAT chunks (or by the IDAT, frame 0).
    frame: list[bytes] | None = None
    for ctype, body in chunks:
        if ctype == b"fcTL":
            if len(body) != 26:
                raise MalformedFileError("APNG frame header is invalid", kind="png")
            fw, fh, fx, fy = struct.unpack(">IIII", body[4:20])
            if fw == 0 or fh == 0 or fx + fw > width or fy + fh > height:
                raise MalformedFileError("APNG frame is outside the image", kind="png")
            frame = []
            streams.append((frame, _raw_size(fw, fh, bits, interlaced)))
        elif ctype == b"fdAT":
            if frame is None or len(body) < 4:
                raise MalformedFileError("APNG frame data without a frame", kind="png")
            frame.append(body[4:])
        elif ctype == b"IDAT" and frame is not None and not frame:
            streams.pop()  # the IDAT is this frame
            frame = None
    for parts, expected in streams:
        total += expected if parts is not idat else 0
    if total > budget.limits.max_expanded:
        raise DecompressionBombError("PNG frames expand past the limit", kind="png")
    for parts, expected in streams:
        if not parts:
            raise MalformedFileError("APNG frame without data", kind="png")
        _check_stream(parts, expected, budget)


def _iccp(body: bytes) -> bytes | None:
    """A kept iCCP chunk body (normalised profile, neutral name), or None to drop it."""
    name, sep, rest = body.partition(b"\x00")
    if not sep or not rest or rest[0] != 0 or not 1 <= len(name) <= 79:
        return None
    inflater = zlib.decompressobj()
    try:
        profile = inflater.decompress(rest[1:], 4 * 1024 * 1024 + 1)
    except zlib.error:
        return None
    if not inflater.eof:
        return None
    kept = icc.acceptable_profile(profile)
    if kept is None:
        return None
    return b"ICC Profile\x00\x00" + zlib.compress(kept, 9)


def scrub(data: bytes, budget: Budget) -> Cleaned:
    """A new PNG with the same image data and none of the metadata."""
    chunks, trailing = _chunks(data)
    _check_images(chunks, budget)
    removed: set[str] = set()
    out = [SIGNATURE]
    for ctype, body in chunks:
        if ctype in _KEEP:
            out.append(_chunk(ctype, body))
        elif ctype == b"iCCP":
            kept = _iccp(body)
            if kept is None:
                removed.add("other")
            else:
                out.append(_chunk(ctype, kept))
        elif ctype == b"eXIf":
            removed |= exif.classify_exif(body)
            orientation = exif.exif_orientation(body)
            if orientation != 1:
                out.append(_chunk(b"eXIf", exif.orientation_only(orientation)))
        elif ctype in _TEXT:
            removed |= _text_kinds(ctype, body)
        elif ctype == b"tIME":
            removed.add("timestamps")
        elif ctype[0:1].isupper():
            raise UnsupportedFormatError("PNG with a critical chunk we do not know", kind="png")
        else:
            removed.add("other")
    if trailing:
        removed.add("other")
    result = b"".join(out)
    problems = leftovers(result)
    if problems:
        raise VerifyFailedError(
            f"PNG still carries {', '.join(sorted(problems))} after cleaning", kind="png"
        )
    images.decode_check(result, "png", budget)
    return Cleaned(result, frozenset(removed))


def leftovers(data: bytes) -> set[str]:
    """Read a cleaned PNG back: the kinds of metadata still in it (empty when clean)."""
    try:
        chunks, trailing = _chunks(data)
    except MalformedFileError:
        return {"other"}
    found: set[str] = set()
    for ctype, body in chunks:
        if ctype in _KEEP:
            continue
        if ctype == b"iCCP" and body.startswith(b"ICC Profile\x00\x00"):
            profile = zlib.decompress(body[13:])
            if icc.acceptable_profile(profile) == profile:
                continue
        if ctype == b"eXIf" and exif.only_orientation(body):
            continue
        found.add("comments" if ctype in _TEXT else "other")
    if trailing:
        found.add("other")
    return found
