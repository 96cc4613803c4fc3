"""TIFF structures: the IFD reader shared by EXIF blocks (JPEG APP1, PNG eXIf, WebP EXIF,
HEIC Exif items) and TIFF files, what an EXIF block tells (for the report), and the one
EXIF block we ever write: Orientation alone.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import MalformedFileError, UnsupportedFormatError

__all__ = [
    "TYPE_SIZES",
    "Entry",
    "classify_entries",
    "classify_exif",
    "exif_orientation",
    "only_orientation",
    "orientation_only",
    "read_header",
    "read_ifd",
]

# TIFF field type -> bytes per value.
TYPE_SIZES: dict[int, int] = {
    1: 1,  # BYTE
    2: 1,  # ASCII
    3: 2,  # SHORT
    4: 4,  # LONG
    5: 8,  # RATIONAL
    6: 1,  # SBYTE
    7: 1,  # UNDEFINED
    8: 2,  # SSHORT
    9: 4,  # SLONG
    10: 8,  # SRATIONAL
    11: 4,  # FLOAT
    12: 8,  # DOUBLE
    13: 4,  # IFD
}

ORIENTATION = 0x0112
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
INTEROP_IFD = 0xA005
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class Entry:
    """One IFD entry; ``value`` holds the raw bytes of its values (empty if unreadable)."""

    tag: int
    type: int
    count: int
    value: bytes
    offset: int | None  # where the values were, when they did not fit in the entry

    def ints(self, order: str) -> list[int]:
        """SHORT/LONG/BYTE values as integers (empty for other types)."""
        fmt = {1: "B", 3: "H", 4: "I", 13: "I"}.get(self.type)
        if fmt is None or not self.value:
            return []
        size = TYPE_SIZES[self.type]
        return list(struct.unpack(f"{order}{self.count}{fmt}", self.value[: self.count * size]))


def read_header(data: bytes, base: int = 0) -> tuple[str, int]:
    """Byte order (``"<"`` or ``">"``) and the offset of IFD0, for TIFF bytes at ``base``."""
    head = data[base : base + 8]
    if len(head) < 8:
        raise MalformedFileError("TIFF header is truncated")
    if head[:4] == b"II*\x00":
        order = "<"
    elif head[:4] == b"MM\x00*":
        order = ">"
    elif head[:4] in (b"II+\x00", b"MM\x00+"):
        raise UnsupportedFormatError("BigTIFF is not supported")
    else:
        raise MalformedFileError("not a TIFF header")
    (first,) = struct.unpack(order + "I", head[4:8])
    return order, first


def read_ifd(data: bytes, offset: int, order: str, base: int = 0) -> tuple[list[Entry], int]:
    """The entries of the IFD at ``offset`` (relative to ``base``) and the next IFD's offset.

    Offsets are checked against the data; an entry whose values lie outside it gets an
    empty ``value`` (the caller decides whether that matters)."""
    start = base + offset
    if offset < 8 or start + 2 > len(data):
        raise MalformedFileError("IFD offset out of range")
    (count,) = struct.unpack(order + "H", data[start : start + 2])
    if count > MAX_ENTRIES:
        raise MalformedFileError("IFD has too many entries")
    end = start + 2 + 12 * count
    if end + 4 > len(data):
        raise MalformedFileError("IFD is truncated")
    entries: list[Entry] = []
    for i in range(count):
        raw = data[start + 2 + 12 * i : start + 14 + 12 * i]
        tag, typ, n = struct.unpack(order + "HHI", raw[:8])
        size = TYPE_SIZES.get(typ, 0) * n
        where: int | None = None
        if size == 0:
            value = b""
        elif size <= 4:
            value = raw[8 : 8 + size]
        else:
            (where,) = struct.unpack(order + "I", raw[8:12])
            lo = base + where
            value = data[lo : lo + size] if lo + size <= len(data) else b""
        entries.append(Entry(tag, typ, n, value, where))
    (next_ifd,) = struct.unpack(order + "I", data[end : end + 4])
    return entries, next_ifd


# -- what an EXIF block tells -------------------------------------------------------------

_IFD0_KINDS: dict[int, str] = {
    0x010E: "comments",  # ImageDescription
    0x010F: "camera",  # Make
    0x0110: "camera",  # Model
    0x0131: "software",
    0x0132: "timestamps",  # DateTime
    0x013B: "author",  # Artist
    0x013C: "other",  # HostComputer
    0x8298: "author",  # Copyright
    0x9C9B: "comments",  # XPTitle
    0x9C9C: "comments",  # XPComment
    0x9C9D: "author",  # XPAuthor
    0x9C9E: "comments",  # XPKeywords
    0x9C9F: "comments",  # XPSubject
    0x02BC: "xmp",
    0x83BB: "iptc",
    0x8649: "iptc",  # Photoshop resources
    0xC4A5: "printer",  # PrintIM
    0xA430: "author",  # CameraOwnerName
    0xA431: "camera",  # BodySerialNumber
    0xA433: "camera",  # LensMake
    0xA434: "camera",  # LensModel
    0xA435: "camera",  # LensSerialNumber
    0x9003: "timestamps",  # DateTimeOriginal
    0x9004: "timestamps",  # DateTimeDigitized (CreateDate)
    0x9010: "timestamps",  # OffsetTime
    0x9011: "timestamps",
    0x9012: "timestamps",
    0x9290: "timestamps",  # SubSecTime
    0x9291: "timestamps",
    0x9292: "timestamps",
    0x927C: "camera",  # MakerNote
    0x9286: "comments",  # UserComment
    0xA420: "other",  # ImageUniqueID
}
# Tags that say nothing about who or where (they describe the pixels).
_NEUTRAL = {
    0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x0112, 0x0115, 0x011A, 0x011B, 0x011C,
    0x0128, 0x0213, 0x0214, 0x0211, 0x0212, 0xA001, 0xA002, 0xA003, 0x9000, 0xA000,
    0x9101, 0xEA1C, 0xEA1D, 0x0201, 0x0202,
}  # fmt: skip


def classify_exif(tiff: bytes) -> set[str]:
    """The kinds of metadata in an EXIF/TIFF block (a best effort: it is dropped anyway)."""
    try:
        order, first = read_header(tiff)
        entries, next_ifd = read_ifd(tiff, first, order)
    except (MalformedFileError, UnsupportedFormatError, struct.error):
        return {"other"}
    found = classify_entries(tiff, entries, order)
    if next_ifd:
        found.add("thumbnail")  # IFD1 holds the embedded thumbnail
    return found


def classify_entries(
    tiff: bytes, entries: list[Entry], order: str, where: str = "ifd0"
) -> set[str]:
    """The kinds of metadata these IFD entries hold, following EXIF and GPS pointers."""
    found: set[str] = set()
    seen: set[int] = set()
    pending: list[tuple[list[Entry], str]] = [(entries, where)]
    while pending:
        batch, where = pending.pop()
        for entry in batch:
            if entry.tag in (EXIF_IFD, GPS_IFD, INTEROP_IFD):
                pointers = entry.ints(order)
                if not pointers or pointers[0] in seen:
                    continue
                seen.add(pointers[0])
                try:
                    sub, _ = read_ifd(tiff, pointers[0], order)
                except (MalformedFileError, struct.error):
                    found.add("other")
                    continue
                if entry.tag == GPS_IFD:
                    if sub:
                        found.add("location")
                    continue
                pending.append((sub, "exif" if entry.tag == EXIF_IFD else "interop"))
            elif entry.tag in _IFD0_KINDS:
                found.add(_IFD0_KINDS[entry.tag])
            elif entry.tag in _NEUTRAL:
                continue
            elif where == "exif":
                found.add("camera")  # exposure, lens, flash: the camera's settings
            else:
                found.add("other")
    return found


def exif_orientation(tiff: bytes) -> int:
    """The Orientation (1-8) of an EXIF/TIFF block, 1 when absent or unreadable."""
    try:
        order, first = read_header(tiff)
        entries, _ = read_ifd(tiff, first, order)
    except (MalformedFileError, UnsupportedFormatError, struct.error):
        return 1
    for entry in entries:
        if entry.tag == ORIENTATION and entry.type == 3 and entry.count == 1:
            value = entry.ints(order)[0]
            return value if 1 <= value <= 8 else 1
    return 1


def orientation_only(orientation: int) -> bytes:
    """A TIFF block (big-endian) whose IFD0 holds only ``Orientation``, and no next IFD."""
    if not 1 <= orientation <= 8:
        raise ValueError("orientation is 1..8")
    return b"MM\x00*" + struct.pack(">IHHHIHHI", 8, 1, ORIENTATION, 3, 1, orientation, 0, 0)


def only_orientation(tiff: bytes) -> bool:
    """True if an EXIF/TIFF block holds nothing but Orientation (the verifying read)."""
    try:
        order, first = read_header(tiff)
        entries, next_ifd = read_ifd(tiff, first, order)
    except (MalformedFileError, UnsupportedFormatError, struct.error):
        return False
    return next_ifd == 0 and all(e.tag == ORIENTATION for e in entries) and len(entries) <= 1
