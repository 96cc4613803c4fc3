"""HEIC/HEIF: rebuild the file around the primary image, without re-encoding it.

A HEIF file is a ``meta`` box that lists items (coded images, grids of tiles, Exif
blocks, XMP packets, thumbnails, depth and gain maps) and where their bytes are. The
new file holds ``ftyp``, a new ``meta`` and a new ``mdat`` with:

- the primary item and the items it is derived from (the tiles of a grid), and an alpha
  plane if it has one, their coded data copied unchanged;
- their properties from the allowlist :data:`_PROPERTIES` (decoder configuration, size,
  colour, rotation and mirroring, so the orientation is kept); a colour profile only if
  :func:`icc.acceptable_profile` accepts it;
- item names emptied, a neutral handler name.

Dropped: Exif and XMP (``mime``) items, thumbnails, depth maps, HDR gain maps and other
auxiliary images, item groups, every other top-level box (an image sequence's ``moov``
too), and the bytes of everything dropped (the ``mdat`` is written anew).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from . import exif, icc, images
from .errors import MalformedFileError, UnsupportedFormatError, VerifyFailedError
from .isobmff import Box, boxes, find, full_box
from .limits import Budget
from .vocab import Cleaned, classify_xmp

__all__ = ["leftovers", "scrub"]

_IMAGE_TYPES = {b"hvc1", b"grid", b"iden", b"iovl"}
_PROPERTIES = {
    b"hvcC", b"ispe", b"colr", b"pixi", b"irot", b"imir", b"clap", b"pasp", b"auxC",
    b"lsel", b"rloc", b"clli", b"mdcv",
}  # fmt: skip
_REFS = {b"dimg", b"auxl", b"prem"}
_ALPHA_URNS = (b"urn:mpeg:hevc:2015:auxid:1", b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha")
_META_CHILDREN = {b"hdlr", b"dinf", b"pitm", b"iinf", b"iref", b"iprp", b"iloc", b"idat"}


@dataclass
class Item:
    id: int
    type: bytes
    hidden: bool
    version: int  # of its infe box
    method: int = 0  # 0: bytes in the file, 1: bytes in idat
    extents: list[tuple[int, int]] = field(default_factory=list)
    props: list[tuple[int, bool]] = field(default_factory=list)  # (1-based index, essential)
    content_type: bytes = b""


@dataclass
class Meta:
    primary: int
    items: dict[int, Item]
    refs: list[tuple[bytes, int, list[int]]]  # (type, from, to)
    props: list[tuple[bytes, bytes]]  # (type, whole box) in ipco order
    idat: bytes
    self_refs: set[int]  # data reference indexes that mean "this file"


def _uint(data: bytes, pos: int, size: int) -> int:
    if size == 0:
        return 0
    if pos + size > len(data):
        raise MalformedFileError("HEIF box is truncated", kind="heic")
    return int.from_bytes(data[pos : pos + size], "big")


def _maybe(found: list[Box], btype: bytes) -> Box | None:
    matches = find(found, btype)
    if len(matches) > 1:
        raise MalformedFileError("HEIF has a box twice that may appear once", kind="heic")
    return matches[0] if matches else None


def _one(found: list[Box], btype: bytes) -> Box:
    box = _maybe(found, btype)
    if box is None:
        raise MalformedFileError("HEIF lacks a box it needs", kind="heic")
    return box


def _parse_meta(data: bytes, meta: Box) -> tuple[Meta, list[Box]]:
    _, _, pos = full_box(data, meta)
    children = boxes(data, pos, meta.end, kind="heic")
    pitm = _one(children, b"pitm")
    iinf = _one(children, b"iinf")
    iloc = _one(children, b"iloc")
    version, _, pos = full_box(data, pitm)
    primary = _uint(data, pos, 2 if version == 0 else 4)

    items: dict[int, Item] = {}
    version, _, pos = full_box(data, iinf)
    pos += 2 if version == 0 else 4
    for infe in boxes(data, pos, iinf.end, kind="heic"):
        if infe.type != b"infe":
            continue
        v, flags, p = full_box(data, infe)
        if v not in (2, 3):
            raise UnsupportedFormatError("HEIF item info of an old version", kind="heic")
        size = 2 if v == 2 else 4
        item_id = _uint(data, p, size)
        protection = _uint(data, p + size, 2)
        item_type = data[p + size + 2 : p + size + 6]
        if protection:
            raise UnsupportedFormatError("HEIF with protected items", kind="heic")
        rest = data[p + size + 6 : infe.end]
        rest = rest.partition(b"\x00")[2]  # the item name goes
        content_type = rest.partition(b"\x00")[0] if item_type == b"mime" else b""
        if item_id in items:
            raise MalformedFileError("HEIF item listed twice", kind="heic")
        items[item_id] = Item(item_id, item_type, bool(flags & 1), v, content_type=content_type)

    version, _, pos = full_box(data, iloc)
    if version > 2:
        raise UnsupportedFormatError("HEIF item locations of an unknown version", kind="heic")
    sizes = _uint(data, pos, 2)
    off_size, len_size = sizes >> 12, (sizes >> 8) & 15
    base_size, index_size = (sizes >> 4) & 15, (sizes & 15 if version else 0)
    if any(s not in (0, 4, 8) for s in (off_size, len_size, base_size, index_size)):
        raise MalformedFileError("HEIF item locations are invalid", kind="heic")
    pos += 2
    count = _uint(data, pos, 2 if version < 2 else 4)
    pos += 2 if version < 2 else 4
    located: dict[int, tuple[int, int, list[tuple[int, int]]]] = {}
    for _ in range(count):
        item_id = _uint(data, pos, 2 if version < 2 else 4)
        pos += 2 if version < 2 else 4
        method = 0
        if version:
            method = _uint(data, pos, 2) & 15
            pos += 2
        dref = _uint(data, pos, 2)
        base = _uint(data, pos + 2, base_size)
        pos += 2 + base_size
        n = _uint(data, pos, 2)
        pos += 2
        extents = []
        for _ in range(n):
            pos += index_size
            off = _uint(data, pos, off_size)
            length = _uint(data, pos + off_size, len_size)
            pos += off_size + len_size
            extents.append((base + off, length))
        located[item_id] = (method, dref, extents)
    if pos > iloc.end:
        raise MalformedFileError("HEIF item locations are truncated", kind="heic")

    self_refs = {0}
    dinf = _maybe(children, b"dinf")
    if dinf is not None:
        for refs_box in find(boxes(data, dinf.body, dinf.end, kind="heic"), b"dref"):
            _, _, p = full_box(data, refs_box)
            for i, entry in enumerate(boxes(data, p + 4, refs_box.end, kind="heic"), start=1):
                if entry.type in (b"url ", b"urn ") and full_box(data, entry)[1] & 1:
                    self_refs.add(i)

    refs: list[tuple[bytes, int, list[int]]] = []
    iref = _maybe(children, b"iref")
    if iref is not None:
        version, _, pos = full_box(data, iref)
        size = 2 if version == 0 else 4
        for ref in boxes(data, pos, iref.end, kind="heic"):
            p = ref.body
            src = _uint(data, p, size)
            n = _uint(data, p + size, 2)
            targets = [_uint(data, p + size + 2 + i * size, size) for i in range(n)]
            if p + size + 2 + n * size > ref.end:
                raise MalformedFileError("HEIF item reference is truncated", kind="heic")
            refs.append((ref.type, src, targets))

    props: list[tuple[bytes, bytes]] = []
    iprp = _maybe(children, b"iprp")
    if iprp is not None:
        inner = boxes(data, iprp.body, iprp.end, kind="heic")
        ipco = _one(inner, b"ipco")
        props = [(b.type, data[b.start : b.end]) for b in boxes(data, ipco.body, ipco.end)]
        for ipma in find(inner, b"ipma"):
            version, flags, pos = full_box(data, ipma)
            n = _uint(data, pos, 4)
            pos += 4
            for _ in range(n):
                item_id = _uint(data, pos, 2 if version < 1 else 4)
                pos += 2 if version < 1 else 4
                count = _uint(data, pos, 1)
                pos += 1
                for _ in range(count):
                    wide = bool(flags & 1)
                    raw = _uint(data, pos, 2 if wide else 1)
                    pos += 2 if wide else 1
                    index = raw & (0x7FFF if wide else 0x7F)
                    essential = bool(raw >> (15 if wide else 7))
                    if index and item_id in items:
                        if index > len(props):
                            raise MalformedFileError("HEIF property index", kind="heic")
                        items[item_id].props.append((index, essential))
            if pos > ipma.end:
                raise MalformedFileError("HEIF property associations are truncated", kind="heic")

    idat_box = _maybe(children, b"idat")
    idat = idat_box.payload(data) if idat_box is not None else b""
    for item_id, (method, dref, extents) in located.items():
        if item_id not in items:
            continue
        items[item_id].method = method
        items[item_id].extents = extents
        if method not in (0, 1) or (method == 0 and dref not in self_refs):
            items[item_id].method = -1  # data elsewhere: unusable, refused if needed
    if primary not in items:
        raise MalformedFileError("HEIF primary item is missing", kind="heic")
    return Meta(primary, items, refs, props, idat, self_refs), children


def _item_bytes(data: bytes, meta: Meta, item: Item) -> bytes:
    if item.method not in (0, 1):
        raise UnsupportedFormatError("HEIF image data stored outside the file", kind="heic")
    source = data if item.method == 0 else meta.idat
    parts = []
    for off, length in item.extents:
        if length == 0 or off + length > len(source):
            raise MalformedFileError("HEIF item data is out of range", kind="heic")
        parts.append(source[off : off + length])
    return b"".join(parts)


def _kept_items(meta: Meta) -> set[int]:
    """The primary item, what it is derived from, and its alpha plane."""
    keep = {meta.primary}
    for ref_type, src, targets in meta.refs:
        if ref_type == b"auxl" and meta.primary in targets and src in meta.items:
            for index, _ in meta.items[src].props:
                ptype, prop = meta.props[index - 1]
                if ptype == b"auxC" and any(urn in prop for urn in _ALPHA_URNS):
                    keep.add(src)
    changed = True
    while changed:
        changed = False
        for ref_type, src, targets in meta.refs:
            if ref_type == b"dimg" and src in keep and not set(targets) <= keep:
                keep |= set(targets)
                changed = True
    for item_id in keep:
        item = meta.items.get(item_id)
        if item is None:
            raise MalformedFileError("HEIF refers to a missing item", kind="heic")
        if item.type not in _IMAGE_TYPES:
            raise UnsupportedFormatError(
                "HEIF whose image is coded in a way we do not support", kind="heic"
            )
    return keep


def _dimensions(meta: Meta, item: Item) -> tuple[int, int] | None:
    for index, _ in item.props:
        ptype, box = meta.props[index - 1]
        if ptype == b"ispe" and len(box) >= 20:
            w, h = struct.unpack(">II", box[12:20])
            return w, h
    return None


def _box(btype: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), btype) + payload


def _full(btype: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return _box(btype, bytes([version]) + flags.to_bytes(3, "big") + payload)


def _removed_by_dropping(meta: Meta, data: bytes, keep: set[int]) -> set[str]:
    removed: set[str] = set()
    thumbs = {src for t, src, _ in meta.refs if t == b"thmb"}
    for item in meta.items.values():
        if item.id in keep:
            continue
        if item.type == b"Exif":
            try:
                block = _item_bytes(data, meta, item)
            except (MalformedFileError, UnsupportedFormatError):
                removed.add("other")
                continue
            # 4 bytes: offset of the TIFF header after them.
            skip = int.from_bytes(block[:4], "big") if len(block) >= 4 else 0
            removed |= exif.classify_exif(block[4 + skip :])
        elif item.type == b"mime":
            try:
                removed |= classify_xmp(_item_bytes(data, meta, item))
            except (MalformedFileError, UnsupportedFormatError):
                removed.add("xmp")
        elif item.id in thumbs:
            removed.add("thumbnail")
        else:
            removed.add("other")
    return removed


def _build(data: bytes, ftyp: bytes, meta: Meta, keep: set[int], removed: set[str]) -> bytes:
    ids = sorted(keep)
    wide = max(ids) > 0xFFFF
    id_fmt = ">I" if wide else ">H"
    # Properties in order of first use, renumbered from 1.
    new_props: list[bytes] = []
    mapping: dict[int, int] = {}
    assoc: dict[int, list[tuple[int, bool]]] = {}
    for item_id in ids:
        item = meta.items[item_id]
        assoc[item_id] = []
        for index, essential in item.props:
            ptype, box = meta.props[index - 1]
            if ptype == b"colr" and box[8:12] in (b"prof", b"rICC"):
                profile = icc.acceptable_profile(box[12:])
                if profile is None:
                    removed.add("other")
                    continue
                box = _box(b"colr", box[8:12] + profile)
            elif ptype not in _PROPERTIES:
                if essential:
                    raise UnsupportedFormatError(
                        "HEIF image needs a property we do not know", kind="heic"
                    )
                removed.add("other")
                continue
            key = index if ptype != b"colr" else -index
            if key not in mapping:
                new_props.append(box)
                mapping[key] = len(new_props)
            assoc[item_id].append((mapping[key], essential))
    many = len(new_props) > 127
    ipma = bytearray(struct.pack(">I", len(ids)))
    for item_id in ids:
        ipma += struct.pack(id_fmt, item_id) + bytes([len(assoc[item_id])])
        for index, essential in assoc[item_id]:
            if many:
                ipma += struct.pack(">H", index | (0x8000 if essential else 0))
            else:
                ipma += bytes([index | (0x80 if essential else 0)])
    iprp = _box(
        b"iprp",
        _box(b"ipco", b"".join(new_props))
        + _full(b"ipma", 1 if wide else 0, 1 if many else 0, bytes(ipma)),
    )

    infes = b"".join(
        _full(
            b"infe",
            3 if wide else 2,
            1 if meta.items[i].hidden else 0,
            struct.pack(id_fmt, i) + b"\x00\x00" + meta.items[i].type + b"\x00",
        )
        for i in ids
    )
    iinf = _full(
        b"iinf",
        0 if len(ids) <= 0xFFFF else 1,
        0,
        struct.pack(">H" if len(ids) <= 0xFFFF else ">I", len(ids)) + infes,
    )
    refs = b""
    for ref_type, src, targets in meta.refs:
        if ref_type in _REFS and src in keep and set(targets) <= keep:
            refs += _box(
                ref_type,
                struct.pack(id_fmt, src)
                + struct.pack(">H", len(targets))
                + b"".join(struct.pack(id_fmt, t) for t in targets),
            )
    iref = _full(b"iref", 1 if wide else 0, 0, refs) if refs else b""
    hdlr = _full(b"hdlr", 0, 0, bytes(4) + b"pict" + bytes(12) + b"\x00")
    dinf = _box(b"dinf", _full(b"dref", 0, 0, struct.pack(">I", 1) + _full(b"url ", 0, 1, b"")))
    pitm = _full(b"pitm", 1 if wide else 0, 0, struct.pack(id_fmt, meta.primary))

    blobs = {i: _item_bytes(data, meta, meta.items[i]) for i in ids}
    in_idat = [i for i in ids if meta.items[i].method == 1]
    in_mdat = [i for i in ids if meta.items[i].method == 0]
    idat = b"".join(blobs[i] for i in in_idat)

    def iloc(mdat_start: int) -> bytes:
        body = bytearray(struct.pack(">BB", 0x44, 0x00))  # 4-byte offsets and lengths
        body += struct.pack(">I" if wide else ">H", len(ids))
        pos_idat, pos_mdat = 0, mdat_start
        for i in ids:
            method = meta.items[i].method
            if method == 1:
                offset, pos_idat = pos_idat, pos_idat + len(blobs[i])
            else:
                offset, pos_mdat = pos_mdat, pos_mdat + len(blobs[i])
            body += struct.pack(id_fmt, i) + struct.pack(">HHH", method, 0, 1)
            body += struct.pack(">II", offset, len(blobs[i]))
        return _full(b"iloc", 2 if wide else 1, 0, bytes(body))

    def meta_box(mdat_start: int) -> bytes:
        parts = [hdlr, dinf, pitm, iinf, iref, iprp, iloc(mdat_start)]
        if idat:
            parts.append(_box(b"idat", idat))
        return _full(b"meta", 0, 0, b"".join(parts))

    mdat_payload = b"".join(blobs[i] for i in in_mdat)
    start = len(ftyp) + len(meta_box(0)) + 8
    return ftyp + meta_box(start) + _box(b"mdat", mdat_payload)


def scrub(data: bytes, budget: Budget) -> Cleaned:
    """A new HEIF file with the primary image's coded data and none of the metadata."""
    top = boxes(data, kind="heic")
    if not top or top[0].type != b"ftyp":
        raise MalformedFileError("HEIF does not start with its file type", kind="heic")
    meta, children = _parse_meta(data, _one(top, b"meta"))
    keep = _kept_items(meta)
    for item_id in keep:
        size = _dimensions(meta, meta.items[item_id])
        if size is None and meta.items[item_id].type == b"hvc1":
            raise MalformedFileError("HEIF image without a size", kind="heic")
        if size is not None:
            budget.pixels(*size, "the HEIF image")
    budget.check()
    removed = _removed_by_dropping(meta, data, keep)
    if any(b.type not in _META_CHILDREN for b in children):
        removed.add("other")
    if any(b.type not in (b"ftyp", b"meta", b"mdat", b"free", b"skip") for b in top):
        removed.add("other")
    ftyp = data[top[0].start : top[0].end]
    out = _build(data, ftyp, meta, keep, removed)
    problems = leftovers(out)
    if problems:
        raise VerifyFailedError(
            f"HEIF still carries {', '.join(sorted(problems))} after cleaning", kind="heic"
        )
    images.decode_check(out, "heic", budget)
    return Cleaned(out, frozenset(removed))


def leftovers(data: bytes) -> set[str]:
    """Read a cleaned HEIF back: the kinds of metadata still in it (empty when clean)."""
    try:
        top = boxes(data, kind="heic")
        meta, children = _parse_meta(data, _one(top, b"meta"))
    except (MalformedFileError, UnsupportedFormatError, IndexError, struct.error):
        return {"other"}
    found: set[str] = set()
    if [b.type for b in top] != [b"ftyp", b"meta", b"mdat"]:
        found.add("other")
    if any(b.type not in _META_CHILDREN for b in children):
        found.add("other")
    for item in meta.items.values():
        if item.type == b"Exif":
            found.add("camera")
        elif item.type == b"mime":
            found.add("xmp")
        elif item.type not in _IMAGE_TYPES:
            found.add("other")
    for ref_type, _, _ in meta.refs:
        if ref_type not in _REFS:
            found.add("other")
    for ptype, box in meta.props:
        if ptype not in _PROPERTIES:
            found.add("other")
        elif ptype == b"colr" and box[8:12] in (b"prof", b"rICC"):
            found |= set() if icc.acceptable_profile(box[12:]) == box[12:] else {"other"}
    hdlr = _maybe(children, b"hdlr")
    if hdlr is not None and data[hdlr.body + 24 : hdlr.end].strip(b"\x00"):
        found.add("other")
    return found
