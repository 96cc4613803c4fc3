"""Exporting a case as evidence: a private directory of files that open anywhere.

``DIR/`` (mode 0700, files 0600; an existing ``DIR`` is never touched)::

    transcript.json        the transcript exactly as sealed (docs/transcript.md)
    transcript.txt         the same, readable, as ``tipline review show`` prints it
    followup.json          the follow-up thread, if there is one
    attachment-0.jpg ...   the attachments, decrypted, named by index and detected type
    SHA256SUMS             a checksum of every file above (``sha256sum -c SHA256SUMS``)

The directory is written under a temporary name next to ``DIR`` and renamed into place
once complete, so an interrupted export leaves no half-written ``DIR``.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CHUNK", "ExportedFile", "Progress", "detect_type", "export_case"]

#: Files are written this much at a time; ``progress`` hears after each piece.
CHUNK = 1024 * 1024
#: Told (bytes written so far, bytes to write in all) as an export goes.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ExportedFile:
    name: str
    size: int
    sha256: str


_ZIP_KINDS = (
    ("word/", "docx"),
    ("xl/", "xlsx"),
    ("ppt/", "pptx"),
)
_ODF = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


def _zip_type(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                kind = _ODF.get(archive.read("mimetype").strip())
                if kind:
                    return kind
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, NotImplementedError):
        return "zip"
    for prefix, kind in _ZIP_KINDS:
        if any(name.startswith(prefix) for name in names):
            return kind
    return "zip"


def _ftyp(data: bytes) -> str:
    brand = data[8:12]
    if brand in _HEIF_BRANDS:
        return "heic"
    if brand == b"avif":
        return "avif"
    if brand in (b"M4A ", b"M4B ", b"M4P "):
        return "m4a"
    if brand == b"qt  ":
        return "mov"
    if brand.startswith(b"3g"):
        return "3gp"
    return "mp4"


def detect_type(data: bytes) -> str:
    """A file name extension for ``data``, from its first bytes; ``bin`` if unknown."""
    signatures: tuple[tuple[bytes, str], ...] = (
        (b"\xff\xd8\xff", "jpg"),
        (b"\x89PNG\r\n\x1a\n", "png"),
        (b"GIF87a", "gif"),
        (b"GIF89a", "gif"),
        (b"%PDF-", "pdf"),
        (b"OggS", "ogg"),
        (b"ID3", "mp3"),
        (b"fLaC", "flac"),
        (b"II*\x00", "tiff"),
        (b"MM\x00*", "tiff"),
        (b"#!AMR", "amr"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
        (b"{\\rtf", "rtf"),
    )
    for magic, kind in signatures:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and len(data) >= 12:
        return {b"WEBP": "webp", b"WAVE": "wav", b"AVI ": "avi"}.get(data[8:12], "riff")
    if data[4:8] == b"ftyp":
        return _ftyp(data)
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in data[:64] else "mkv"
    if data.startswith(b"PK\x03\x04"):
        return _zip_type(data)
    if len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:
        return "mp3"
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return "bin"
    return "txt" if data else "bin"


def _write(
    directory: Path, name: str, data: bytes, written: Callable[[int], None] | None = None
) -> ExportedFile:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(directory / name, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb", closefd=False) as out:
            view = memoryview(data)
            for start in range(0, len(view), CHUNK):
                out.write(view[start : start + CHUNK])
                if written is not None:
                    written(len(view[start : start + CHUNK]))
            out.flush()
            os.fsync(fd)
    finally:
        os.close(fd)
    return ExportedFile(name, len(data), hashlib.sha256(data).hexdigest())


def export_case(
    out: Path,
    *,
    transcript_json: bytes,
    transcript_txt: str,
    attachments: Sequence[bytes],
    followup_json: bytes | None = None,
    progress: Progress | None = None,
) -> list[ExportedFile]:
    """Write a case into the new directory ``out``; FileExistsError if ``out`` exists
    (nothing is ever overwritten). Returns the files written, SHA256SUMS last.
    ``progress`` is told (bytes written, bytes in all) after every megabyte."""
    out = Path(out)
    if out.exists() or out.is_symlink():
        raise FileExistsError(f"{out} exists already")
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=parent))
    text = transcript_txt.encode("utf-8")
    total = len(transcript_json) + len(text) + sum(len(a) for a in attachments)
    total += len(followup_json) if followup_json is not None else 0
    done = 0

    def written_(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    try:
        os.chmod(staging, 0o700)
        written = [
            _write(staging, "transcript.json", transcript_json, written_),
            _write(staging, "transcript.txt", text, written_),
        ]
        if followup_json is not None:
            written.append(_write(staging, "followup.json", followup_json, written_))
        for index, data in enumerate(attachments):
            name = f"attachment-{index}.{detect_type(data)}"
            written.append(_write(staging, name, data, written_))
        sums = "".join(f"{f.sha256}  {f.name}\n" for f in written)
        written.append(_write(staging, "SHA256SUMS", sums.encode("ascii")))
        if out.exists() or out.is_symlink():
            raise FileExistsError(f"{out} exists already")
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    directory = os.open(parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return written
