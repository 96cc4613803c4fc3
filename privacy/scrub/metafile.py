"""Metafile pictures inside office documents: EMF (with EMF+), WMF and StarView (SVM).

A metafile is a list of drawing records, and some records carry a bitmap: a DIB, which
may itself be a JPEG or PNG file with its EXIF and GPS (``BI_JPEG``, ``BI_PNG``), or an
EMF+ image object. We do not rewrite bitmaps inside metafiles, so a metafile that
carries one is refused; a vector metafile is kept. Each format is read record by record
(type and size, every size checked against what is left), never searched for strings:

- EMF: the header's description (application and picture names) is blanked; bitmap
  records (``EMR_STRETCHDIBITS``, ``EMR_BITBLT`` with a source bitmap, DIB pattern
  brushes, ...) refuse the file, as do colour-profile and OpenGL records and record
  types we do not know. GDI comments are dropped (they draw nothing), except EMF+ ones,
  whose records are read in turn: an image object, a texture brush or an embedded file
  signature refuses the file. Nothing after ``EMR_EOF`` is kept.
- WMF: bitmap records refuse the file; comments (``MFCOMMENT`` escapes) are dropped;
  an escape with an embedded file signature refuses it.
- SVM: bitmap, mask, wallpaper, EPS and graphic actions refuse the file; the metafiles
  nested in transparency actions are read the same way; comments are read for EMF+
  records and embedded files. Nothing after the last action is kept.
"""

from __future__ import annotations

import re
import struct

from .errors import MalformedFileError, UnsupportedFormatError
from .limits import Budget

__all__ = ["is_metafile", "scrub"]

_BITMAP = "the document has a metafile picture that carries a bitmap"

# Signatures of files a metafile may embed (JPEG's SOI is followed by an APPn, DQT or
# COM marker: three bytes alone turn up in coordinates).
_EMBEDDED = re.compile(
    rb"\xff\xd8\xff[\xe0-\xef\xdb\xfe]|\x89PNG\r\n\x1a\n|GIF8[79]a|II\*\x00|MM\x00\*"
    rb"|RIFF....WEBP|ftyp(?:hei[cfmsx]|mif1|avif)| EMF|VCLMTF|%!PS|%PDF-",
    re.S,
)


def _refuse_embedded(data: bytes) -> None:
    if _EMBEDDED.search(data):
        raise UnsupportedFormatError(_BITMAP)


def is_metafile(body: bytes) -> bool:
    """Whether an embedded picture is an EMF, WMF or SVM (by its first bytes)."""
    return _is_emf(body) or _is_wmf(body) or body[:6] == b"VCLMTF"


def scrub(body: bytes, budget: Budget) -> tuple[bytes, set[str]]:
    """The metafile without its description and comments; refused if it has a bitmap."""
    if _is_emf(body):
        return _emf(body, budget)
    if _is_wmf(body):
        return _wmf(body, budget)
    return _svm(body, budget, 0), set()


# -- EMF (MS-EMF) ---------------------------------------------------------------------------
_EMR_HEADER, _EMR_EOF, _EMR_GDICOMMENT = 1, 14, 70
_EMR_BITBLT, _EMR_STRETCHBLT = 76, 77
_EMF_BITMAP = {
    78,  # EMR_MASKBLT
    79,  # EMR_PLGBLT
    80,  # EMR_SETDIBITSTODEVICE
    81,  # EMR_STRETCHDIBITS
    93,  # EMR_CREATEMONOBRUSH
    94,  # EMR_CREATEDIBPATTERNBRUSHPT
    114,  # EMR_ALPHABLEND
    116,  # EMR_TRANSPARENTBLT
}
_EMF_REFUSED = {
    99,  # EMR_CREATECOLORSPACE (a profile's file name)
    102,  # EMR_GLSRECORD (OpenGL)
    103,  # EMR_GLSBOUNDEDRECORD
    112,  # EMR_SETICMPROFILEA (a profile, or its file name)
    113,  # EMR_SETICMPROFILEW
    121,  # EMR_COLORMATCHTOTARGETW
    122,  # EMR_CREATECOLORSPACEW
}
_EMF_KNOWN = set(range(1, 123))  # EMR_HEADER to EMR_CREATECOLORSPACEW


def _is_emf(body: bytes) -> bool:
    return len(body) >= 88 and body[:4] == b"\x01\x00\x00\x00" and body[40:44] == b" EMF"


def _emf(body: bytes, budget: Budget) -> tuple[bytes, set[str]]:
    removed: set[str] = set()
    kept: list[bytes] = []
    pos = 0
    while True:
        if pos + 8 > len(body):
            raise MalformedFileError("an EMF picture without its end record")
        rtype, size = struct.unpack_from("<II", body, pos)
        if size < 8 or size % 4 or size > len(body) - pos:
            raise MalformedFileError("an EMF record of a bad size")
        record = body[pos : pos + size]
        pos += size
        if len(kept) % 4096 == 4095:
            budget.check()
        if not kept:
            if rtype != _EMR_HEADER or size < 88:
                raise MalformedFileError("an EMF picture without its header")
            record, found = _emf_header(record)
            removed |= found
        elif rtype == _EMR_HEADER:
            raise MalformedFileError("an EMF picture with a second header")
        elif rtype in _EMF_BITMAP:
            raise UnsupportedFormatError(_BITMAP)
        elif rtype in (_EMR_BITBLT, _EMR_STRETCHBLT):
            # A raster operation that may or may not have a source bitmap.
            if size < 100:
                raise MalformedFileError("an EMF record of a bad size")
            cb_bmi, cb_bits = struct.unpack_from("<I4xI", record, 88)
            if cb_bmi or cb_bits:
                raise UnsupportedFormatError(_BITMAP)
        elif rtype == _EMR_GDICOMMENT:
            if size < 12 or struct.unpack_from("<I", record, 8)[0] > size - 12:
                raise MalformedFileError("an EMF comment of a bad size")
            length = struct.unpack_from("<I", record, 8)[0]
            data = record[12 : 12 + length]
            if data[:4] == b"EMF+":
                _emf_plus(data[4:], budget)
            else:
                if data.strip(b"\x00"):
                    removed.add("other")
                continue  # comments draw nothing
        elif rtype in _EMF_REFUSED or rtype not in _EMF_KNOWN:
            raise UnsupportedFormatError("the document has a metafile picture we cannot clean")
        kept.append(record)
        if rtype == _EMR_EOF:
            break
    total = sum(len(r) for r in kept)
    header = bytearray(kept[0])
    struct.pack_into("<II", header, 48, total, len(kept))  # nBytes, nRecords
    return bytes(header) + b"".join(kept[1:]), removed


def _emf_header(record: bytes) -> tuple[bytes, set[str]]:
    """The header record with its description (the application's and the picture's
    names) zeroed and no longer pointed to."""
    count, offset = struct.unpack_from("<II", record, 60)
    if not count:
        return record, set()
    if offset < 88 or offset + 2 * count > len(record):
        raise MalformedFileError("an EMF header with a bad description")
    description = record[offset : offset + 2 * count]
    header = bytearray(record)
    header[offset : offset + 2 * count] = bytes(2 * count)
    struct.pack_into("<II", header, 60, 0, 0)
    return bytes(header), {"software"} if description.strip(b"\x00") else set()


_EMFPLUS_OBJECT = 0x4008
_EMFPLUS_COMMENT = 0x4003
_OBJECT_BRUSH, _OBJECT_IMAGE = 1, 5
_BRUSH_TEXTURE = 2


def _emf_plus(data: bytes, budget: Budget) -> None:
    """Refuse EMF+ records (MS-EMFPLUS) that carry an image or a private comment."""
    pos = 0
    while pos < len(data):
        if pos + 12 > len(data):
            raise MalformedFileError("an EMF+ record of a bad size")
        rtype, flags, size, length = struct.unpack_from("<HHII", data, pos)
        if size < 12 or size % 4 or size > len(data) - pos or length > size - 12:
            raise MalformedFileError("an EMF+ record of a bad size")
        payload = data[pos + 12 : pos + 12 + length]
        pos += size
        if rtype == _EMFPLUS_COMMENT:
            raise UnsupportedFormatError("the document has a metafile picture we cannot clean")
        if rtype == _EMFPLUS_OBJECT:
            kind = (flags >> 8) & 0x7F
            if flags & 0x8000:  # continued: the total size comes first
                payload = payload[4:]
            if kind == _OBJECT_IMAGE:
                raise UnsupportedFormatError(_BITMAP)
            brush = payload[4:8] if kind == _OBJECT_BRUSH else b""
            if brush == struct.pack("<I", _BRUSH_TEXTURE):
                raise UnsupportedFormatError(_BITMAP)
        _refuse_embedded(payload)
    budget.check()


# -- WMF (MS-WMF) ---------------------------------------------------------------------------
_WMF_PLACEABLE = b"\xd7\xcd\xc6\x9a"
_META_EOF, _META_ESCAPE, _MFCOMMENT = 0x0000, 0x0626, 0x000F
_WMF_BLITS = {0x0922, 0x0B23, 0x0940, 0x0B41}  # (DIB)BITBLT, (DIB)STRETCHBLT
_WMF_BITMAP = {
    0x0F43,  # META_STRETCHDIB
    0x0D33,  # META_SETDIBTODEV
    0x0142,  # META_DIBCREATEPATTERNBRUSH
    0x01F9,  # META_CREATEPATTERNBRUSH
}


def _is_wmf(body: bytes) -> bool:
    return body[:4] == _WMF_PLACEABLE or (
        body[:2] in (b"\x01\x00", b"\x02\x00") and body[2:4] == b"\x09\x00"
    )


def _wmf(body: bytes, budget: Budget) -> tuple[bytes, set[str]]:
    start = 22 if body[:4] == _WMF_PLACEABLE else 0
    if len(body) < start + 18 or body[start + 2 : start + 4] != b"\x09\x00":
        raise MalformedFileError("a WMF picture without its header")
    removed: set[str] = set()
    kept: list[bytes] = []
    pos = start + 18
    while True:
        if pos + 6 > len(body):
            raise MalformedFileError("a WMF picture without its end record")
        words, function = struct.unpack_from("<IH", body, pos)
        size = 2 * words
        if size < 6 or size > len(body) - pos:
            raise MalformedFileError("a WMF record of a bad size")
        record = body[pos : pos + size]
        pos += size
        if len(kept) % 4096 == 4095:
            budget.check()
        if function in _WMF_BITMAP:
            raise UnsupportedFormatError(_BITMAP)
        if function in _WMF_BLITS and words != (function >> 8) + 3:
            raise UnsupportedFormatError(_BITMAP)  # not the form without a bitmap
        if function == _META_ESCAPE:
            if size >= 8 and struct.unpack_from("<H", record, 6)[0] == _MFCOMMENT:
                removed.add("other")
                continue  # a comment, or a copy of the picture as an EMF: draws nothing
            _refuse_embedded(record[6:])
        kept.append(record)
        if function == _META_EOF:
            break
    records = b"".join(kept)
    header = bytearray(body[start : start + 18])
    total_words = (18 + len(records)) // 2
    largest = max(len(r) for r in kept) // 2
    struct.pack_into("<I", header, 6, total_words)  # Size
    struct.pack_into("<I", header, 12, largest)  # MaxRecord
    return body[:start] + bytes(header) + records, removed


# -- SVM (LibreOffice's GDIMetaFile) --------------------------------------------------------
_SVM_BITMAP = {
    116, 117, 118,  # META_BMP(SCALE)(PART)_ACTION
    119, 120, 121,  # META_BMPEX(SCALE)(PART)_ACTION
    122, 123, 124,  # META_MASK(SCALE)(PART)_ACTION
    127,  # META_WALLPAPER_ACTION (a bitmap)
    143,  # META_EPS_ACTION (a PostScript file and its preview)
    152,  # META_RENDERGRAPHIC_ACTION
}  # fmt: skip
_SVM_FLOATTRANSPARENT = 147
_SVM_COMMENT = 512
_SVM_KNOWN = {0, *range(100, 153), _SVM_COMMENT}


def _svm(body: bytes, budget: Budget, depth: int) -> bytes:
    """The metafile up to its last action; nested ones are read the same way."""
    if depth > 3:
        raise UnsupportedFormatError("the document has a metafile picture we cannot clean")
    if len(body) < 12 or body[:6] != b"VCLMTF":
        raise MalformedFileError("a StarView metafile without its header")
    _, length = struct.unpack_from("<HI", body, 6)
    header = body[12 : 12 + length]
    if len(header) != length or length < 10:
        raise MalformedFileError("a StarView metafile with a bad header")
    _, map_length = struct.unpack_from("<HI", header, 4)
    if length < 10 + map_length + 12:
        raise MalformedFileError("a StarView metafile with a bad header")
    (count,) = struct.unpack_from("<I", header, 10 + map_length + 8)
    pos = 12 + length
    if count > (len(body) - pos) // 2:
        raise MalformedFileError("a StarView metafile with too many actions")
    for index in range(count):
        if pos + 2 > len(body):
            raise MalformedFileError("a StarView action of a bad size")
        (action,) = struct.unpack_from("<H", body, pos)
        pos += 2
        if action == 0:
            continue  # META_NULL_ACTION: nothing follows
        if pos + 6 > len(body):
            raise MalformedFileError("a StarView action of a bad size")
        _, size = struct.unpack_from("<HI", body, pos)
        data = body[pos + 6 : pos + 6 + size]
        if len(data) != size:
            raise MalformedFileError("a StarView action of a bad size")
        pos += 6 + size
        if index % 4096 == 4095:
            budget.check()
        if action in _SVM_BITMAP:
            raise UnsupportedFormatError(_BITMAP)
        if action not in _SVM_KNOWN:
            raise UnsupportedFormatError("the document has a metafile picture we cannot clean")
        if action == _SVM_FLOATTRANSPARENT:
            nested = _svm(data, budget, depth + 1)
            _refuse_embedded(data[len(nested) :])
        elif action == _SVM_COMMENT:
            _svm_comment(data, budget)
    return body[:pos]


def _svm_comment(data: bytes, budget: Budget) -> None:
    if len(data) < 2:
        raise MalformedFileError("a StarView comment of a bad size")
    (name_length,) = struct.unpack_from("<H", data, 0)
    if len(data) < 2 + name_length + 8:
        raise MalformedFileError("a StarView comment of a bad size")
    name = data[2 : 2 + name_length]
    _, size = struct.unpack_from("<iI", data, 2 + name_length)
    payload = data[2 + name_length + 8 : 2 + name_length + 8 + size]
    if len(payload) != size:
        raise MalformedFileError("a StarView comment of a bad size")
    if name.startswith(b"EMF_PLUS") and name != b"EMF_PLUS_HEADER_INFO":
        _emf_plus(payload.removeprefix(b"EMF+"), budget)
    _refuse_embedded(payload)
