"""ISO base media file format boxes (HEIF images, MP4/MOV/3GP): a small, bounds-checked
reader shared by the HEIC rewrite and the read-back of cleaned videos."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import MalformedFileError

__all__ = ["Box", "boxes", "find", "full_box"]

_MAX_BOXES = 100_000


@dataclass(frozen=True)
class Box:
    type: bytes
    start: int  # where the box header starts
    body: int  # where the payload starts
    end: int

    def payload(self, data: bytes) -> bytes:
        return data[self.body : self.end]


def boxes(data: bytes, start: int = 0, end: int | None = None, *, kind: str = "") -> list[Box]:
    """The boxes laid end to end in ``data[start:end]``."""
    end = len(data) if end is None else end
    out: list[Box] = []
    pos = start
    while pos < end:
        if pos + 8 > end:
            raise MalformedFileError("box header is truncated", kind=kind or None)
        size, btype = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise MalformedFileError("box header is truncated", kind=kind or None)
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        if btype == b"uuid":
            header += 16
        if size < header or pos + size > end:
            raise MalformedFileError("box runs past its container", kind=kind or None)
        out.append(Box(btype, pos, pos + header, pos + size))
        pos += size
        if len(out) > _MAX_BOXES:
            raise MalformedFileError("too many boxes", kind=kind or None)
    return out


def full_box(data: bytes, box: Box) -> tuple[int, int, int]:
    """(version, flags, offset of what follows) for a FullBox."""
    if box.body + 4 > box.end:
        raise MalformedFileError("box is truncated")
    version = data[box.body]
    flags = int.from_bytes(data[box.body + 1 : box.body + 4], "big")
    return version, flags, box.body + 4


def find(found: list[Box], btype: bytes) -> list[Box]:
    return [b for b in found if b.type == btype]
