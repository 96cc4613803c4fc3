"""The fixed vocabularies: the formats we clean, their MIME types, and the kinds of
metadata a scrub reports as removed. Also what a format module hands back."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "KINDS",
    "MIME_TYPES",
    "REMOVED_KINDS",
    "Cleaned",
    "Partial",
    "ScrubResult",
    "classify_xmp",
]

#: The kinds of metadata a scrub can report as removed, in the order a message lists them.
REMOVED_KINDS: tuple[str, ...] = (
    "location",
    "camera",
    "author",
    "timestamps",
    "software",
    "thumbnail",
    "comments",
    "xmp",
    "iptc",
    "embedded_files",
    "scripts",
    "revisions",
    "printer",
    "other",
)

#: Detected format -> the MIME type of the scrubbed file (always the same format).
MIME_TYPES: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "tiff": "image/tiff",
    "heic": "image/heic",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "3gp": "video/3gpp",
    "mkv": "video/x-matroska",
    "webm": "video/webm",
    "m4a": "audio/mp4",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
}

#: Every format a scrub can return.
KINDS: tuple[str, ...] = tuple(MIME_TYPES)


@dataclass(frozen=True)
class Partial:
    """A video or audio file of which only a part could be kept (it was cut short or
    damaged): ``kept`` seconds are in the cleaned file, of ``declared`` seconds that the
    original's header announced (``None`` when it announced nothing, and the damage was
    seen while reading it)."""

    kept: float
    declared: float | None = None


@dataclass(frozen=True)
class Cleaned:
    """What a format module returns: the new bytes, what it took out, and whether only
    a part of the original could be kept."""

    data: bytes
    removed: frozenset[str]
    partial: Partial | None = None


@dataclass(frozen=True)
class ScrubResult:
    """A cleaned file: its bytes, detected format, MIME type, what was removed (kinds from
    :data:`REMOVED_KINDS`), the SHA-256 (hex) of ``data``, and for a video or audio file
    of which only the readable part was kept, :class:`Partial` (else ``None``)."""

    data: bytes
    kind: str
    mime: str
    removed: frozenset[str]
    sha256: str
    partial: Partial | None = None
    #: The speaker's voice was disguised (:mod:`privacy.scrub.voice`).
    voice_disguised: bool = False

    def __repr__(self) -> str:
        return (
            f"ScrubResult(kind={self.kind!r}, size={len(self.data)}, "
            f"removed={sorted(self.removed)!r}, sha256={self.sha256[:16]}…"
            + (f", partial={self.partial!r}" if self.partial else "")
            + (", voice disguised" if self.voice_disguised else "")
            + ")"
        )


_XMP_HINTS: tuple[tuple[str, re.Pattern[bytes]], ...] = (
    ("location", re.compile(rb"GPS|[Ll]ocation|[Ll]atitude|[Ll]ongitude|City|Country")),
    ("camera", re.compile(rb"tiff:(Make|Model)|SerialNumber|aux:Lens|exif(EX)?:")),
    ("author", re.compile(rb"dc:creator|dc:rights|Artist|[Aa]uthor|xmpRights|Owner")),
    ("timestamps", re.compile(rb"Date")),
    ("software", re.compile(rb"CreatorTool|[Ss]oftware|pdf:Producer")),
    ("revisions", re.compile(rb"xmpMM:(History|DerivedFrom|InstanceID|DocumentID)")),
)


def classify_xmp(packet: bytes) -> set[str]:
    """What an XMP packet probably told about its file, for the report (it is dropped
    whole either way)."""
    found = {"xmp"}
    for kind, pattern in _XMP_HINTS:
        if pattern.search(packet):
            found.add(kind)
    return found
