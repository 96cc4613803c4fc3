"""Scrub identifying metadata from attachments (design rule P3).

``scrub(data)`` detects the format from the bytes themselves, rewrites the file anew
without its metadata, reads the result back to check that nothing identifying remains,
and returns a :class:`ScrubResult`. A file that cannot be cleaned raises a
:class:`ScrubError` with a stable ``reason``; it is never passed on raw.

One module per format family, each with an allowlist of what it keeps::

    detect.py   the format, from content only
    jpeg.py     JPEG (marker segments rewritten, image data copied)
    png.py      PNG and APNG (chunks)          webp.py  WebP (RIFF chunks)
    gif.py      GIF (blocks)                   tiff.py  TIFF (IFDs rebuilt)
    heic.py     HEIC/HEIF (ISO boxes rebuilt)  images.py  the Pillow read-back
    pdf.py      PDF (pikepdf, written anew)    office.py  OOXML and ODF (zip rebuilt)
    media.py    video and audio (ffmpeg stream copy)
    declared.py  how long a video or audio file says it is (cut-short files)
    svg.py      SVG inside documents           metafile.py  EMF, WMF and SVM inside documents

Shared: ``exif.py`` (TIFF/EXIF structures), ``icc.py`` (colour profiles), ``xmlclean.py``
(a streaming XML rewriter), ``scratch.py`` (the tmpfs directory ffmpeg works in),
``limits.py``, ``errors.py``, ``vocab.py``.

``scrub`` is synchronous and CPU- or subprocess-bound, and a single call into a C
library cannot be stopped. The bot calls ``scrub_isolated`` (``isolate.py``), which runs
``scrub`` in a child process (``worker.py``) under memory, CPU and file limits and
kills it when the time is up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from . import gif, heic, jpeg, media, office, pdf, png, tiff, webp
from .detect import detect
from .errors import (
    REASONS,
    DecompressionBombError,
    EncryptedError,
    FileTooLargeError,
    MacrosError,
    MalformedFileError,
    ScrubError,
    ScrubTimeoutError,
    UnsupportedFormatError,
    VerifyFailedError,
)
from .isolate import scrub_isolated
from .limits import DEFAULT_LIMITS, Budget, Limits
from .vocab import KINDS, MIME_TYPES, REMOVED_KINDS, Cleaned, Partial, ScrubResult

__all__ = [
    "DEFAULT_LIMITS",
    "KINDS",
    "MIME_TYPES",
    "REASONS",
    "REMOVED_KINDS",
    "DecompressionBombError",
    "EncryptedError",
    "FileTooLargeError",
    "Limits",
    "MacrosError",
    "MalformedFileError",
    "Partial",
    "ScrubError",
    "ScrubResult",
    "ScrubTimeoutError",
    "UnsupportedFormatError",
    "VerifyFailedError",
    "detect_kind",
    "scrub",
    "scrub_isolated",
]


_Scrubber = Callable[[bytes, str, Budget], Cleaned]

_FAMILIES: dict[str, _Scrubber] = {
    "jpeg": lambda data, kind, budget: jpeg.scrub(data, budget),
    "png": lambda data, kind, budget: png.scrub(data, budget),
    "webp": lambda data, kind, budget: webp.scrub(data, budget),
    "gif": lambda data, kind, budget: gif.scrub(data, budget),
    "tiff": lambda data, kind, budget: tiff.scrub(data, budget),
    "heic": lambda data, kind, budget: heic.scrub(data, budget),
    "pdf": lambda data, kind, budget: pdf.scrub(data, budget),
    **{
        k: (lambda data, kind, budget: office.scrub(data, kind, budget, _nested))
        for k in ("docx", "xlsx", "pptx", "odt", "ods", "odp")
    },
    **{
        k: (lambda data, kind, budget: media.scrub(data, kind, budget))
        for k in ("mp4", "mov", "3gp", "mkv", "webm", "m4a", "mp3", "ogg")
    },
}
assert set(_FAMILIES) == set(KINDS)


def detect_kind(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> str:
    """The format of ``data`` as :func:`scrub` would see it (or a ScrubError)."""
    return detect(data, limits)


def _run(data: bytes, budget: Budget) -> tuple[str, Cleaned]:
    if len(data) > budget.limits.max_bytes:
        raise FileTooLargeError(
            f"the file is {len(data):,} bytes, more than {budget.limits.max_bytes:,}"
        )
    kind: str | None = None
    try:
        kind = detect(data, budget.limits)
        cleaned = _FAMILIES[kind](data, kind, budget)
        budget.check()
    except ScrubError as exc:
        if exc.kind is None:
            exc.kind = kind
        raise
    except RecursionError as exc:
        raise MalformedFileError("the file is nested too deeply", kind=kind) from exc
    except Exception as exc:  # fail closed: a file we cannot read is refused, never passed
        raise MalformedFileError(f"the {kind or ''} file could not be read", kind=kind) from exc
    if cleaned.removed - set(REMOVED_KINDS):
        raise AssertionError("a format module reported a kind outside the vocabulary")
    return kind, cleaned


def _nested(data: bytes, budget: Budget) -> tuple[str, Cleaned]:
    """Scrub a file found inside another one (an image in a document)."""
    return _run(data, budget.nested())


def scrub(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> ScrubResult:
    """Detect the format of ``data``, clean it and check the result.

    Raises :class:`ScrubError` (see :mod:`privacy.scrub.errors` for the reasons) when the
    file cannot be cleaned; nothing of it may then be passed on.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("scrub() takes bytes")
    kind, cleaned = _run(bytes(data), Budget(limits))
    return ScrubResult(
        data=cleaned.data,
        kind=kind,
        mime=MIME_TYPES[kind],
        removed=cleaned.removed,
        sha256=hashlib.sha256(cleaned.data).hexdigest(),
        partial=cleaned.partial,
    )
