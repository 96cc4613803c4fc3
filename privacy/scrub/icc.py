"""ICC colour profiles: keep one only if every text in it is known to be impersonal.

A profile is needed for correct colour (a Display P3 photo looks dull without it), but
its description, copyright and device texts are free text, and a profile made by an
application carries the moment it was made in its header. A profile is kept when:

- it parses (size, signature, tag table inside the data);
- it has only tags from :data:`_NUMERIC_TAGS` (colorimetry, curves, lookup tables) and
  :data:`_TEXT_TAGS`;
- every word of every text is in :data:`_WORDS` (the vocabulary of standard profiles:
  "sRGB IEC61966-2.1", "Display P3", "Copyright Apple Inc., 2017", "No copyright, use
  freely", ...) or a number.

A kept profile is normalised: the header's creation date, CMM, device manufacturer and
model, creator and profile ID are zeroed. Anything else drops the profile (fail closed).
"""

from __future__ import annotations

import re
import struct

__all__ = ["acceptable_profile"]

_NUMERIC_TAGS = {
    b"wtpt", b"bkpt", b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC", b"kTRC",
    b"chad", b"chrm", b"lumi", b"meas", b"tech", b"view", b"gamt", b"cicp",
    b"A2B0", b"A2B1", b"A2B2", b"B2A0", b"B2A1", b"B2A2", b"pre0", b"pre1", b"pre2",
    b"D2B0", b"D2B1", b"D2B2", b"D2B3", b"B2D0", b"B2D1", b"B2D2", b"B2D3",
}  # fmt: skip
_TEXT_TAGS = {b"desc", b"cprt", b"dmnd", b"dmdd", b"vued"}

_WORDS = frozenset(
    """
    srgb rgb cmyk gray grey display p p3 d v r dci adobe apple generic gamma linear profile
    iec black scaled built in builtin v2 v4 icc preference perceptual intent beta itu bt rec
    hlg pq prophoto romm eci coated uncoated fogra swop web us u s japan color colour space
    default reference viewing condition conditions for the of and c2 d50 d65 d60 wide gamut
    dot gain sgray srgb2014 hdr sdr extended scrgb copyright c inc incorporated llc ltd co
    corporation company systems computer google hewlett packard hp microsoft international
    consortium facebook meta samsung electronics sony canon nikon fujifilm huawei xiaomi oppo
    vivo lg motorola no use freely public domain all rights reserved www ch http https org
    com lcms little cms science ecirgb euroscale isocoated newsprint sheetfed emulation
    simulation
    """.split()  # noqa: SIM905 (a vocabulary reads better as prose)
)
_TOKEN = re.compile(r"[A-Za-z]+|\d+")
_MAX_PROFILE = 4 * 1024 * 1024


def _texts(tag: bytes) -> list[str] | None:
    """Every string in a text-typed tag, or None when the type is not a text type."""
    kind = tag[:4]
    if kind == b"text":
        return [tag[8:].split(b"\x00", 1)[0].decode("latin-1")]
    if kind == b"desc":
        if len(tag) < 12:
            return None
        (n,) = struct.unpack(">I", tag[8:12])
        ascii_part = tag[12 : 12 + n].split(b"\x00", 1)[0].decode("latin-1")
        texts = [ascii_part]
        pos = 12 + n
        if pos + 8 <= len(tag):
            (count,) = struct.unpack(">I", tag[pos + 4 : pos + 8])
            raw = tag[pos + 8 : pos + 8 + 2 * count]
            texts.append(raw.decode("utf-16-be", "replace").split("\x00", 1)[0])
            pos += 8 + 2 * count
            if pos + 3 <= len(tag):
                count = tag[pos + 2]
                texts.append(tag[pos + 3 : pos + 3 + min(count, 67)].decode("latin-1"))
        return texts
    if kind == b"mluc":
        if len(tag) < 16:
            return None
        records, size = struct.unpack(">II", tag[8:16])
        if size < 12 or records > 256 or 16 + records * size > len(tag):
            return None
        texts = []
        for i in range(records):
            rec = tag[16 + i * size : 16 + i * size + 12]
            length, offset = struct.unpack(">II", rec[4:12])
            if offset + length > len(tag):
                return None
            texts.append(tag[offset : offset + length].decode("utf-16-be", "replace"))
        return texts
    return None


def _impersonal(text: str) -> bool:
    text = text.replace("\x00", "")
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        return False
    for token in _TOKEN.findall(text):
        if not token.isdigit() and token.lower() not in _WORDS:
            return False
    # Only letters, digits, spaces and the punctuation of profile names.
    return re.fullmatch(r"[\w\s.,:;()/\-+%'&©®]*", text) is not None


def acceptable_profile(profile: bytes) -> bytes | None:
    """The normalised profile if it is safe to keep, else ``None`` (drop it)."""
    if len(profile) < 132 or len(profile) > _MAX_PROFILE or profile[36:40] != b"acsp":
        return None
    (size,) = struct.unpack(">I", profile[:4])
    if size < 132 or size > len(profile):
        return None
    profile = profile[:size]
    (count,) = struct.unpack(">I", profile[128:132])
    if count > 100 or 132 + 12 * count > size:
        return None
    for i in range(count):
        sig, offset, length = struct.unpack(">4sII", profile[132 + 12 * i : 144 + 12 * i])
        if offset + length > size or length < 8:
            return None
        if sig in _NUMERIC_TAGS:
            continue
        if sig not in _TEXT_TAGS:
            return None
        texts = _texts(profile[offset : offset + length])
        if texts is None or not all(_impersonal(t) for t in texts):
            return None
    out = bytearray(profile)
    out[4:8] = bytes(4)  # preferred CMM
    out[24:36] = bytes(12)  # creation date and time
    out[48:56] = bytes(8)  # device manufacturer and model
    out[80:100] = bytes(20)  # creator and profile ID (ID zero: not computed)
    return bytes(out)
