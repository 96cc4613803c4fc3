"""GIF: rebuild the block stream from the blocks that make the picture.

Kept: the header and logical screen, colour tables, image descriptors with their LZW
data, graphic control extensions, and the NETSCAPE2.0/ANIMEXTS1.0 loop extension.
Dropped: comment extensions, plain text extensions, every other application extension
(XMP, ICC, vendor data), and anything after the trailer.
"""

from __future__ import annotations

import struct

from . import images
from .errors import MalformedFileError, VerifyFailedError
from .limits import Budget
from .vocab import Cleaned, classify_xmp

__all__ = ["leftovers", "scrub"]

_LOOP_APPS = {b"NETSCAPE2.0", b"ANIMEXTS1.0"}


def _sub_blocks(data: bytes, pos: int) -> int:
    """The position after the data sub-blocks that start at ``pos``."""
    while True:
        if pos >= len(data):
            raise MalformedFileError("GIF is truncated", kind="gif")
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos


def _blocks(data: bytes, budget: Budget | None) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
    """(header with screen and global colour table, [(what, raw block)], trailing bytes)."""
    if len(data) < 13 or data[:6] not in (b"GIF87a", b"GIF89a"):
        raise MalformedFileError("not a GIF", kind="gif")
    width, height, packed = struct.unpack("<HHB", data[6:11])
    if budget is not None:
        if width == 0 or height == 0:
            raise MalformedFileError("GIF has no pixels", kind="gif")
        budget.pixels(width, height, "the GIF image")
    pos = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    header = data[:pos]
    blocks: list[tuple[str, bytes]] = []
    while True:
        if pos >= len(data):
            raise MalformedFileError("GIF is truncated (no trailer)", kind="gif")
        start, intro = pos, data[pos]
        if intro == 0x3B:
            return header, blocks, data[pos + 1 :]
        if intro == 0x2C:
            if pos + 10 > len(data):
                raise MalformedFileError("GIF is truncated", kind="gif")
            w, h, flags = struct.unpack("<HHB", data[pos + 5 : pos + 10])
            if budget is not None:
                budget.pixels(w, h, "a GIF frame")
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            pos = _sub_blocks(data, pos + 1)  # after the LZW minimum code size
            blocks.append(("image", data[start:pos]))
        elif intro == 0x21:
            if pos + 2 > len(data):
                raise MalformedFileError("GIF is truncated", kind="gif")
            label = data[pos + 1]
            end = _sub_blocks(data, pos + 2)
            raw = data[start:end]
            if label == 0xF9 and raw[2:3] == b"\x04" and len(raw) >= 8:
                what, raw = "control", raw[:7] + b"\x00"  # its four bytes, nothing after
            elif label == 0xFE:
                what = "comment"
            elif label == 0x01:
                what = "text"
            elif label == 0xFF and raw[2:3] == b"\x0b" and raw[3:14] in _LOOP_APPS:
                what = "loop"
                if raw[14:16] == b"\x03\x01" and len(raw) >= 19:
                    raw = raw[:18] + b"\x00"  # the loop count, nothing after
                else:
                    what = "other"
            elif label == 0xFF and raw[3:14] == b"XMP DataXMP":
                what = "xmp"
            else:
                what = "other"
            blocks.append((what, raw))
            pos = end
        else:
            raise MalformedFileError("GIF block of unknown type", kind="gif")
        if budget is not None and len(blocks) % 256 == 0:
            budget.check()


def scrub(data: bytes, budget: Budget) -> Cleaned:
    """A new GIF with the same frames and none of the metadata."""
    header, blocks, trailing = _blocks(data, budget)
    if not any(what == "image" for what, _ in blocks):
        raise MalformedFileError("GIF has no image", kind="gif")
    removed: set[str] = set()
    out = [header]
    for what, raw in blocks:
        if what in ("image", "control", "loop"):
            out.append(raw)
        elif what == "comment":
            removed.add("comments")
        elif what == "xmp":
            removed |= classify_xmp(raw)
        else:
            removed.add("other")
    if trailing:
        removed.add("other")
    result = b"".join(out) + b"\x3b"
    problems = leftovers(result)
    if problems:
        raise VerifyFailedError(
            f"GIF still carries {', '.join(sorted(problems))} after cleaning", kind="gif"
        )
    images.decode_check(result, "gif", budget)
    return Cleaned(result, frozenset(removed))


def leftovers(data: bytes) -> set[str]:
    """Read a cleaned GIF back: the kinds of metadata still in it (empty when clean)."""
    try:
        _, blocks, trailing = _blocks(data, None)
    except MalformedFileError:
        return {"other"}
    found = {
        "comments" if what == "comment" else "other"
        for what, _ in blocks
        if what not in ("image", "control", "loop")
    }
    if trailing:
        found.add("other")
    return found
