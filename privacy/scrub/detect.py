"""Which format a file is, from its first bytes (and, for archives and containers, from
their own directory): never from a file name or a declared MIME type.

Every format is recognised at offset 0 only. Data in front of a format's signature
(one way to build a polyglot) makes the file unrecognised; data after the end of a
format is dropped by the rewrite.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

from .errors import (
    DecompressionBombError,
    EncryptedError,
    MacrosError,
    MalformedFileError,
    UnsupportedFormatError,
)
from .limits import Limits

__all__ = ["detect", "mp3_frame_length"]

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"heif"}
_MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9",
    b"mp41", b"mp42", b"avc1", b"mmp4", b"M4V ", b"M4VH", b"M4VP", b"MSNV", b"XAVC",
    b"mp71", b"dash", b"f4v ",
}  # fmt: skip
_M4A_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
_3GP_BRAND = re.compile(rb"3g[2gp][0-9a-z]|3ge[0-9]|3gs[0-9]|3gr[0-9]|kddi")
_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.ms-word.document.macroEnabled.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": "docx",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xlsx",
    "application/vnd.ms-excel.template.macroEnabled.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml": "pptx",
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": "pptx",
    "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml": "pptx",
    "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml": "pptx",
    "application/vnd.ms-powerpoint.template.macroEnabled.main+xml": "pptx",
}
_ODF_MIME = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}
_MAIN_PART = re.compile(r'<Override\b[^>]*PartName="/(?:word|xl|ppt)/[^"]*"[^>]*>')
_CONTENT_TYPE = re.compile(r'ContentType="([^"]+)"')


def detect(data: bytes, limits: Limits) -> str:
    """The kind of ``data`` (one of :data:`vocab.KINDS`), or a ScrubError saying why not."""
    if not data:
        raise MalformedFileError("the file is empty")
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:4] in (b"II+\x00", b"MM\x00+"):
        raise UnsupportedFormatError("BigTIFF is not supported", kind="tiff")
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head[:4] == b"PK\x03\x04":
        return _zip_kind(data, limits)
    if head[:4] == b"PK\x05\x06":
        raise UnsupportedFormatError("an empty zip archive")
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return _compound_file(data)
    if head[4:8] == b"ftyp":
        return _isobmff_kind(data)
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip") and len(data) >= 16:
        return "mov"  # QuickTime before ftyp existed
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return _ebml_kind(data)
    if head[:4] == b"OggS":
        return "ogg"
    if _is_mp3(data):
        return "mp3"
    raise UnsupportedFormatError("not a format we can clean")


def _isobmff_kind(data: bytes) -> str:
    (size,) = struct.unpack(">I", data[:4])
    if size < 16 or size > min(len(data), 4096) or size % 4:
        raise MalformedFileError("broken file type box")
    major = data[8:12]
    brands = {major} | {data[i : i + 4] for i in range(16, size, 4)}
    if major in _HEIF_BRANDS or (brands & {b"heic", b"heix"} and major not in _MP4_BRANDS):
        return "heic"
    if brands & {b"avif", b"avis"}:
        raise UnsupportedFormatError("AVIF images are not supported")
    if major == b"qt  ":
        return "mov"
    if major in _M4A_BRANDS:
        return "m4a"
    if _3GP_BRAND.fullmatch(major):
        return "3gp"
    if major in _MP4_BRANDS or brands & {b"isom", b"mp41", b"mp42"}:
        return "mp4"
    if b"qt  " in brands:
        return "mov"
    raise UnsupportedFormatError("an ISO media file of a kind we do not know")


def _ebml_kind(data: bytes) -> str:
    header = data[:256]
    if b"\x42\x82\x84webm" in header:
        return "webm"
    if b"\x42\x82\x88matroska" in header:
        return "mkv"
    raise UnsupportedFormatError("an EBML file that is neither Matroska nor WebM")


_MP3_BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def mp3_frame_length(data: bytes, pos: int) -> int:
    """Length of the MPEG audio layer III frame at ``pos`` (0 if none is there)."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return 0
    version = (data[pos + 1] >> 3) & 3
    layer = (data[pos + 1] >> 1) & 3
    bitrate = data[pos + 2] >> 4
    rate = (data[pos + 2] >> 2) & 3
    if version == 1 or layer != 1 or bitrate in (0, 15) or rate == 3:
        return 0
    kbps = (
        _MP3_BITRATES[bitrate]
        if version == 3
        else (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)[bitrate]
    )
    sample_rate = _MP3_RATES[version][rate]
    padding = (data[pos + 2] >> 1) & 1
    factor = 144 if version == 3 else 72
    return factor * kbps * 1000 // sample_rate + padding


def _is_mp3(data: bytes) -> bool:
    pos = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        size = data[6:10]
        if any(b & 0x80 for b in size):
            return False
        pos = 10 + ((size[0] << 21) | (size[1] << 14) | (size[2] << 7) | size[3])
        pos += 10 if data[5] & 0x10 else 0  # footer
        while pos < len(data) and data[pos] == 0:
            pos += 1  # padding some writers leave after the tag
    first = mp3_frame_length(data, pos)
    if not first:
        return False
    second = mp3_frame_length(data, pos + first)
    return bool(second) or pos + first >= len(data)


def _compound_file(data: bytes) -> str:
    # An OLE2 compound file: either an encrypted OOXML package or a legacy Office file.
    if "EncryptedPackage".encode("utf-16-le") in data:
        raise EncryptedError("a password-protected office document", kind=None)
    raise UnsupportedFormatError("legacy Office files (.doc, .xls, .ppt) are not supported")


def _zip_kind(data: bytes, limits: Limits) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, struct.error) as exc:
        raise MalformedFileError("a broken zip archive") from exc
    if len(infos) > limits.max_members:
        raise DecompressionBombError(
            f"the archive has {len(infos)} entries, more than {limits.max_members}"
        )
    names = {info.filename: info for info in infos}
    if "mimetype" in names:
        info = names["mimetype"]
        if info.file_size > 200:
            raise MalformedFileError("an OpenDocument mimetype entry that is too long")
        mime = _read(archive, info, 200).strip()
        if mime in _ODF_MIME:
            return _ODF_MIME[mime]
        raise UnsupportedFormatError("an OpenDocument file of a kind we do not clean")
    if "[Content_Types].xml" in names:
        info = names["[Content_Types].xml"]
        if info.file_size > 1024 * 1024:
            raise DecompressionBombError("an oversized content type list")
        types = _read(archive, info, 1024 * 1024).decode("utf-8", "replace")
        for override in _MAIN_PART.findall(types):
            found = _CONTENT_TYPE.search(override)
            if found and found.group(1) in _OOXML_MAIN:
                return _OOXML_MAIN[found.group(1)]
        if "macroEnabled" in types and ".binary." not in types:
            raise MacrosError("a macro-enabled Office file")
        raise UnsupportedFormatError("an Office Open XML file of a kind we do not clean")
    raise UnsupportedFormatError("a zip archive that is not an office document")


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    if info.flag_bits & 0x1:
        raise EncryptedError("a password-protected archive")
    try:
        with archive.open(info) as member:
            return member.read(cap)
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, zlib.error) as exc:
        raise MalformedFileError("a broken zip archive") from exc
