"""TIFF: rebuild every page from the tags that describe its pixels.

Each page (IFD) keeps only the tags in :data:`_KEEP` (size, sample layout, compression,
strips or tiles, colour, orientation) and an ICC profile that
:func:`icc.acceptable_profile` accepts; its strips or tiles are copied unchanged into a
new file. Dropped: Make, Model, Artist, Copyright, DateTime, Software, HostComputer,
ImageDescription, DocumentName, the EXIF and GPS IFDs, XMP, IPTC, Photoshop resources,
SubIFDs and reduced-resolution pages (thumbnails and previews), and every other tag.

Refused: BigTIFF, old-style JPEG compression (6) and compressions we do not know.
"""

from __future__ import annotations

import struct

from . import exif, icc, images
from .errors import MalformedFileError, UnsupportedFormatError, VerifyFailedError
from .limits import Budget
from .vocab import Cleaned

__all__ = ["leftovers", "scrub"]

_STRIP_OFFSETS, _STRIP_COUNTS, _TILE_OFFSETS, _TILE_COUNTS = 273, 279, 324, 325
_ICC = 34675
_KEEP = {
    254, 255, 256, 257, 258, 259, 262, 263, 264, 265, 266, 274, 277, 278, 280, 281, 282,
    283, 284, 290, 291, 292, 293, 296, 301, 317, 318, 319, 320, 321, 322, 323, 332, 334,
    338, 339, 340, 341, 347, 529, 530, 531, 532,
    _STRIP_OFFSETS, _STRIP_COUNTS, _TILE_OFFSETS, _TILE_COUNTS,
}  # fmt: skip
_COMPRESSIONS = {1, 2, 3, 4, 5, 7, 8, 32773, 32946}
_MAX_PAGES = 1000

Page = list[exif.Entry]


def _pages(data: bytes, order: str, first: int, budget: Budget | None) -> list[Page]:
    pages: list[Page] = []
    seen: set[int] = set()
    offset = first
    while offset:
        if offset in seen or len(pages) >= _MAX_PAGES:
            raise MalformedFileError("TIFF pages loop or are too many", kind="tiff")
        seen.add(offset)
        entries, offset = exif.read_ifd(data, offset, order)
        pages.append(entries)
        if budget is not None:
            budget.check()
    if not pages:
        raise MalformedFileError("TIFF has no pages", kind="tiff")
    return pages


def _value(page: Page, tag: int, order: str) -> list[int]:
    for entry in page:
        if entry.tag == tag:
            return entry.ints(order)
    return []


def _is_reduced(page: Page, order: str) -> bool:
    subfile = _value(page, 254, order)
    return bool(subfile and subfile[0] & 1)


def _rebuild(
    data: bytes, order: str, page: Page, budget: Budget, removed: set[str]
) -> tuple[list[exif.Entry], list[bytes], int]:
    """Kept entries, the strip/tile blobs, and which tag holds their offsets."""
    width, height = _value(page, 256, order)[:1], _value(page, 257, order)[:1]
    if not width or not height or width[0] == 0 or height[0] == 0:
        raise MalformedFileError("TIFF page without a size", kind="tiff")
    budget.pixels(width[0], height[0], "a TIFF page")
    compression = (_value(page, 259, order) or [1])[0]
    if compression not in _COMPRESSIONS:
        raise UnsupportedFormatError(f"TIFF compression {compression}", kind="tiff")
    tiled = any(e.tag == _TILE_OFFSETS for e in page)
    off_tag, count_tag = (
        (_TILE_OFFSETS, _TILE_COUNTS) if tiled else (_STRIP_OFFSETS, _STRIP_COUNTS)
    )
    offsets, counts = _value(page, off_tag, order), _value(page, count_tag, order)
    if not offsets or len(offsets) != len(counts):
        raise MalformedFileError("TIFF strips are inconsistent", kind="tiff")
    blobs = []
    for off, n in zip(offsets, counts, strict=True):
        if off + n > len(data):
            raise MalformedFileError("TIFF is truncated", kind="tiff")
        blobs.append(data[off : off + n])
    kept: list[exif.Entry] = []
    for entry in page:
        if entry.tag in (off_tag, count_tag):
            continue
        if entry.tag in _KEEP:
            if entry.type not in exif.TYPE_SIZES or (entry.count and not entry.value):
                raise MalformedFileError("TIFF tag values are out of range", kind="tiff")
            kept.append(entry)
        elif entry.tag == _ICC:
            profile = icc.acceptable_profile(entry.value)
            if profile is None:
                removed.add("other")
            else:
                kept.append(exif.Entry(_ICC, 7, len(profile), profile, None))
        elif entry.tag == 330:
            removed.add("thumbnail")  # SubIFDs: previews and thumbnails
        else:
            removed |= exif.classify_entries(data, [entry], order)
    counts_entry = exif.Entry(
        count_tag, 4, len(blobs), struct.pack(f"{order}{len(blobs)}I", *map(len, blobs)), None
    )
    kept.append(counts_entry)
    return kept, blobs, off_tag


def _write(order: str, pages: list[tuple[list[exif.Entry], list[bytes], int]]) -> bytes:
    out = bytearray(b"II*\x00" if order == "<" else b"MM\x00*")
    out += bytes(4)
    link = 4  # where the offset of the next IFD goes
    for entries, blobs, off_tag in pages:
        offsets = []
        for blob in blobs:
            offsets.append(len(out))
            out += blob
            if len(out) & 1:
                out += b"\x00"
        entries = [
            *entries,
            exif.Entry(
                off_tag, 4, len(offsets), struct.pack(f"{order}{len(offsets)}I", *offsets), None
            ),
        ]
        entries.sort(key=lambda e: e.tag)
        ifd_at = len(out)
        struct.pack_into(order + "I", out, link, ifd_at)
        extra_at = ifd_at + 2 + 12 * len(entries) + 4
        table = bytearray(struct.pack(order + "H", len(entries)))
        extra = bytearray()
        for e in entries:
            if len(e.value) <= 4:
                inline = e.value.ljust(4, b"\x00")
            else:
                inline = struct.pack(order + "I", extra_at + len(extra))
                extra += e.value
                if len(extra) & 1:
                    extra += b"\x00"
            table += struct.pack(order + "HHI", e.tag, e.type, e.count) + inline
        link = ifd_at + len(table)
        table += bytes(4)
        out += table + extra
    return bytes(out)


def scrub(data: bytes, budget: Budget) -> Cleaned:
    """A new TIFF with the same strips or tiles and none of the metadata."""
    order, first = exif.read_header(data)
    pages = _pages(data, order, first, budget)
    removed: set[str] = set()
    rebuilt: list[tuple[list[exif.Entry], list[bytes], int]] = []
    for page in pages:
        if _is_reduced(page, order) and rebuilt:
            removed.add("thumbnail")
            continue
        rebuilt.append(_rebuild(data, order, page, budget, removed))
    out = _write(order, rebuilt)
    problems = leftovers(out)
    if problems:
        raise VerifyFailedError(
            f"TIFF still carries {', '.join(sorted(problems))} after cleaning", kind="tiff"
        )
    images.decode_check(out, "tiff", budget)
    return Cleaned(out, frozenset(removed))


def leftovers(data: bytes) -> set[str]:
    """Read a cleaned TIFF back: the kinds of metadata still in it (empty when clean)."""
    try:
        order, first = exif.read_header(data)
        pages = _pages(data, order, first, None)
    except (MalformedFileError, UnsupportedFormatError):
        return {"other"}
    found: set[str] = set()
    for page in pages:
        for entry in page:
            if entry.tag in _KEEP:
                continue
            if entry.tag == _ICC and icc.acceptable_profile(entry.value) == entry.value:
                continue
            found.add("other")
    return found
