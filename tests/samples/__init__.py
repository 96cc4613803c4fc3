"""Sample files for the scrub tests, built at test time with planted metadata.

Nothing binary is committed: every sample is made here with Pillow, pillow-heif,
pikepdf, python-docx, zipfile, ffmpeg and exiftool in a temporary directory. Each
builder returns the file's bytes; the strings in :data:`MARKERS` are planted in them
and must not survive a scrub (neither in exiftool's reading nor in the raw bytes).

``exiftool_tags`` is the independent reader the design calls for (Debian's exiftool,
``-j -a -G1 -ee``); :func:`assert_clean` applies the rules every format is held to.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from PIL import Image

__all__ = [
    "MARKERS",
    "assert_clean",
    "decoded",
    "exif_block",
    "exiftool",
    "exiftool_tags",
    "icc_profile",
    "identifying_tags",
    "marker_hits",
    "need",
    "photo",
    "unzipped",
    "zip_bytes",
]

NAME = "Jane Tipster"
SERIAL = "SN-7731-XYZ"
MAKE = "AcmeCam"
MODEL = "Phone9-Trafficker"
SOFTWARE = "SecretSoft"
CITY = "Mombasa-Secret"
COMMENT = "secret comment 4242"
YEAR = "2019"
#: Strings planted in the samples; none may remain after a scrub.
MARKERS = (NAME, SERIAL, MAKE, MODEL, SOFTWARE, CITY, COMMENT, "LENS-4455", "MAKERNOTE-SECRET",
           "JaneTipster", "jane@example.org", "HP-Jane-Office", "00A1B2C3", "+12.34",
           "12.3456", "56.789")  # fmt: skip

# exiftool tag names (after the group) that must not appear in a cleaned file.
_FORBIDDEN_TAG = re.compile(
    r"GPS|^Make$|^Model$|Serial|Artist|Author|Creator|Copyright|By-line|Comment|Thumbnail"
    r"|Software|DateTimeOriginal|OwnerName|Lens(Model|Make)|MakerNote|Location|Producer"
    r"|LastModifiedBy|Keywords|Description|Title|Company|Manager|Initial|Generator"
    r"|UserComment|City|Country|PrinterName|Revision|Template|Application|AppVersion"
    r"|ImageDescription|Subject|HostComputer|Encoder|MuxingApp|WritingApp|Vendor"
)
# Values that say nothing about anyone (what ffmpeg writes in place of the originals).
_NEUTRAL_VALUES = {
    "VideoHandler", "SoundHandler", "DataHandler", "Lavf", "Lavc", "ffmpeg", "FFmpeg", "Apple",
    "[0][0][0][0]", "False",
}  # fmt: skip
# Groups exiftool fills from the file system or computes itself.
_OWN_GROUPS = ("SourceFile", "ExifTool:", "System:", "File:", "Composite:", "ZIP:")
# Dates a cleaned file may still show: none, or zero (MP4 creation times).
_ZERO_DATE = re.compile(r"^0000:00:00 00:00:00")


def need(tool: str) -> str:
    """The path of a tool the tests need (from Debian's packages); fail if missing."""
    path = shutil.which(tool)
    if path is None:
        raise RuntimeError(f"the scrub tests need {tool} (Debian package); install it")
    return path


def exiftool(*args: str | Path) -> None:
    subprocess.run(
        [need("exiftool"), "-q", "-q", "-overwrite_original", *map(str, args)],
        check=True,
        capture_output=True,
    )


def exiftool_tags(*paths: Path) -> list[dict[str, Any]]:
    """exiftool's reading of each file: ``exiftool -j -a -G1 -ee``."""
    out = subprocess.run(
        [need("exiftool"), "-j", "-a", "-G1", "-ee", *map(str, paths)],
        check=False,
        capture_output=True,
    )
    tags: list[dict[str, Any]] = json.loads(out.stdout)
    for entry in tags:
        warning = str(entry.get("ExifTool:Warning", ""))
        if "Archive::Zip" in warning:
            raise RuntimeError(
                "exiftool cannot read office files without Archive::Zip: install Debian's "
                "libarchive-zip-perl"
            )
    return tags


def marker_hits(text: str | bytes) -> list[str]:
    """Which planted strings ``text`` contains (as UTF-8, or bytes also as UTF-16)."""
    if isinstance(text, str):
        return [m for m in MARKERS if m in text]
    found = []
    for marker in MARKERS:
        forms = (marker.encode(), marker.encode("utf-16-le"), marker.encode("utf-16-be"))
        if any(form in text for form in forms):
            found.append(marker)
    return found


def identifying_tags(tags: dict[str, Any]) -> dict[str, Any]:
    """The tags in one exiftool reading that must not be in a cleaned file."""
    bad = {}
    for key, value in tags.items():
        if key.startswith(_OWN_GROUPS) or key.startswith("ICC_Profile:"):
            continue
        group, _, name = key.partition(":")
        if str(value) in _NEUTRAL_VALUES:
            continue
        if (
            _FORBIDDEN_TAG.search(name)
            or group.startswith(("XMP", "IPTC", "Photoshop", "GPS"))
            or ("Date" in name and not _ZERO_DATE.match(str(value)))
        ):
            bad[key] = value
    return bad


def assert_clean(data: bytes, tags: dict[str, Any], *, members: bytes = b"") -> None:
    """The rules for every cleaned file: exiftool finds nothing identifying, and no
    planted string is left in the bytes (``members``: decompressed archive content)."""
    assert identifying_tags(tags) == {}, identifying_tags(tags)
    assert marker_hits(json.dumps(tags, ensure_ascii=False)) == []
    assert marker_hits(data) == []
    assert marker_hits(members) == []


def decoded(data: bytes, *, transpose: bool = True) -> tuple[str, tuple[int, int], bytes]:
    """Mode, size and pixels of an image as Pillow decodes it, orientation applied."""
    from PIL import ImageOps

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        shown = ImageOps.exif_transpose(image) if transpose else image
        return shown.mode, shown.size, shown.tobytes()


def unzipped(data: bytes) -> bytes:
    """Every member of an archive, decompressed, concatenated."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return b"".join(archive.read(name) for name in archive.namelist())


# -- ICC profiles ---------------------------------------------------------------------------
def icc_profile(description: str, copyright_text: str = "No copyright, use freely") -> bytes:
    """A small ICC v2 RGB profile whose description and copyright we choose."""

    def text_desc(text: str) -> bytes:
        raw = text.encode("latin-1") + b"\x00"
        return b"desc" + bytes(4) + struct.pack(">I", len(raw)) + raw + bytes(4 + 4 + 2 + 1 + 67)

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + bytes(4) + struct.pack(">iii", *(round(v * 65536) for v in (x, y, z)))

    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, 0x0233) + bytes(2)
    tags = [
        (b"desc", text_desc(description)),
        (b"cprt", b"text" + bytes(4) + copyright_text.encode("latin-1") + b"\x00"),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += bytes(-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = bytearray(128)
    header[0:4] = struct.pack(">I", size)
    header[4:8] = b"lcms"
    header[8:12] = bytes([2, 0x10, 0, 0])
    header[12:16], header[16:20], header[20:24] = b"mntr", b"RGB ", b"XYZ "
    header[24:36] = struct.pack(">6H", 2019, 7, 21, 10, 11, 12)
    header[36:40] = b"acsp"
    header[48:56] = b"ACMEJANE"
    header[68:80] = xyz(0.9642, 1.0, 0.8249)[8:]
    return bytes(header) + struct.pack(">I", len(tags)) + table + body


# -- helpers for builders -------------------------------------------------------------------
def photo(size: tuple[int, int] = (96, 64)) -> Image.Image:
    """A small picture with some structure (a gradient under noise)."""
    base = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 30)
    return Image.merge("RGB", (base, noise, base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))


def exif_block(orientation: int = 6) -> bytes:
    """EXIF with camera, owner, GPS, dates and a maker note (written by Pillow)."""
    exif = Image.Exif()
    exif[0x010F] = MAKE
    exif[0x0110] = MODEL
    exif[0x013B] = NAME
    exif[0x0131] = SOFTWARE
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (12.0, 20.0, 44.16), "E", (56.0, 47.0, 20.4)
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = f"{YEAR}:07:21 10:11:12"
    sub[0xA431] = SERIAL
    sub[0x927C] = b"MAKERNOTE-SECRET-9931"
    return exif.tobytes()


def zip_bytes(members: list[tuple[str, bytes]], *, stored: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members:
            method = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            archive.writestr(name, body, compress_type=method)
    return buf.getvalue()
