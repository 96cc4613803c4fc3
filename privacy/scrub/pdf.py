"""PDF: remove metadata and active content with pikepdf, then write the file anew.

qpdf writes every reachable object once, in a new file: no incremental update, no old
revision, no unreachable object, nothing after ``%%EOF`` survives. Streams are copied
without decompressing them (a compressed bomb stays compressed), and the file ID is
derived from the content (``deterministic_id``), not from the original.

Every dictionary reachable from the trailer is visited. Removed:

- the document information dictionary (author, creator, producer, dates, title);
- ``/Metadata`` (XMP) wherever it appears: catalog, pages, images, fonts, forms;
- ``/PieceInfo`` (private application data), ``/LastModified``, page ``/Thumb``;
- JavaScript: ``/JS``, the ``/JavaScript`` name tree, ``/AA`` additional actions,
  XFA forms, and every action whose type is not in :data:`_SAFE_ACTIONS` (``/A``,
  ``/Next``, ``/OpenAction``): Launch, SubmitForm, ImportData, GoToR, ...;
- embedded files: ``/EmbeddedFiles``, ``/AF``, ``/Collection``, and file-attachment,
  sound, movie, screen and rich-media annotations;
- annotation authors and dates (``/T``, ``/M``, ``/CreationDate``; a form widget's
  ``/T`` is its field name and stays), signatures (``/V`` of signature fields,
  ``/Perms``, ``/DSS``), ``/SpiderInfo``, ``/Legal``;
- inside images: a JPEG's metadata segments (through :mod:`.jpeg`, keeping the image
  data) and a JPEG 2000 file's XML, UUID and info boxes.

The result is opened again and walked the same way; anything found refuses the file.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

from . import jpeg
from .errors import EncryptedError, MalformedFileError, VerifyFailedError
from .limits import Budget
from .vocab import Cleaned

__all__ = ["leftovers", "scrub"]

_DROP_KEYS: dict[str, str] = {
    "/Metadata": "xmp",
    "/PieceInfo": "other",
    "/LastModified": "timestamps",
    "/Thumb": "thumbnail",
    "/AA": "scripts",
    "/JS": "scripts",
    "/JavaScript": "scripts",
    "/XFA": "scripts",
    "/EmbeddedFiles": "embedded_files",
    "/AF": "embedded_files",
    "/Collection": "embedded_files",
    "/Perms": "author",
    "/DSS": "author",
    "/SpiderInfo": "other",
    "/Legal": "other",
}
_SAFE_ACTIONS = {"/GoTo", "/URI", "/Named", "/SetOCGState", "/Thread", "/Trans", "/Hide"}
_DROP_ANNOTS = {
    "/FileAttachment": "embedded_files",
    "/Sound": "other",
    "/Movie": "other",
    "/Screen": "scripts",
    "/RichMedia": "scripts",
    "/3D": "other",
}
_INFO_KINDS = {
    "/Author": "author",
    "/Creator": "software",
    "/Producer": "software",
    "/CreationDate": "timestamps",
    "/ModDate": "timestamps",
    "/Title": "comments",
    "/Subject": "comments",
    "/Keywords": "comments",
    "/Trapped": "other",
}
_JP2_KEEP = {b"jP  ", b"ftyp", b"rreq", b"jp2h", b"jp2c"}


def _objects(root: pikepdf.Object, budget: Budget) -> Iterator[Dictionary | Stream]:
    """Every dictionary and stream reachable from ``root``, once each. A visitor may
    delete keys before the walk goes on into what remains."""
    seen: set[tuple[int, int]] = set()
    stack: list[pikepdf.Object] = [root]
    count = 0
    while stack:
        obj = stack.pop()
        if not isinstance(obj, Dictionary | Stream | Array):
            continue
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        count += 1
        if count % 1000 == 0:
            budget.check()
        if isinstance(obj, Array):
            stack.extend(obj)
            continue
        yield obj
        for key in list(obj.keys()):
            try:
                value = obj.get(key)
            except (TypeError, UnicodeError) as exc:  # a name that is not valid UTF-8
                raise MalformedFileError("the PDF has unreadable names", kind="pdf") from exc
            if value is not None:
                stack.append(value)


def _name(obj: pikepdf.Object | None) -> str:
    if not isinstance(obj, Name):
        return ""
    try:
        return str(obj)
    except UnicodeError as exc:
        raise MalformedFileError("the PDF has unreadable names", kind="pdf") from exc


def _unsafe_action(obj: pikepdf.Object | None) -> bool:
    if isinstance(obj, Array):
        return any(_unsafe_action(item) for item in obj)
    if not isinstance(obj, Dictionary | Stream):
        return False
    subtype = obj.get("/S")
    if subtype is None:
        return False
    return _name(subtype) not in _SAFE_ACTIONS


def _is_annotation(obj: Dictionary | Stream) -> bool:
    return _name(obj.get("/Type")) == "/Annot" or (
        "/Rect" in obj and "/Subtype" in obj and not isinstance(obj, Stream)
    )


class _Visitor:
    """Finds (and with ``fix``, removes) metadata in one dictionary at a time."""

    def __init__(self, budget: Budget, *, fix: bool) -> None:
        self.budget = budget
        self.fix = fix
        self.found: set[str] = set()

    def _drop(self, obj: Dictionary | Stream, key: str, kind: str) -> None:
        self.found.add(kind)
        if self.fix:
            del obj[key]

    def visit(self, obj: Dictionary | Stream) -> None:
        keys = obj.keys()
        for key in keys & _DROP_KEYS.keys():
            self._drop(obj, key, _DROP_KEYS[key])
        for key in ("/A", "/OpenAction", "/Next", "/PA"):
            if key in keys and _unsafe_action(obj.get(key)):
                self._drop(obj, key, "scripts")
        if "/Annots" in keys:
            self._annotations(obj)
        if _is_annotation(obj):
            if _name(obj.get("/Subtype")) != "/Widget" and "/T" in keys:
                self._drop(obj, "/T", "author")
            for key in ("/M", "/CreationDate"):
                if key in keys:
                    self._drop(obj, key, "timestamps")
        if _name(obj.get("/FT")) == "/Sig" and "/V" in keys:
            self._drop(obj, "/V", "author")
        if isinstance(obj, Stream) and _name(obj.get("/Subtype")) == "/Image":
            self._image(obj)

    def _annotations(self, page: Dictionary | Stream) -> None:
        annots = page.get("/Annots")
        if not isinstance(annots, Array):
            return
        kept = []
        for annot in annots:
            subtype = _name(annot.get("/Subtype")) if isinstance(annot, Dictionary) else ""
            if subtype in _DROP_ANNOTS:
                self.found.add(_DROP_ANNOTS[subtype])
            else:
                kept.append(annot)
        if self.fix and len(kept) != len(annots):
            page["/Annots"] = Array(kept)

    def _filters(self, image: Stream) -> list[str]:
        filters = image.get("/Filter")
        if isinstance(filters, Array):
            return [_name(f) for f in filters]
        return [_name(filters)] if filters is not None else []

    def _image(self, image: Stream) -> None:
        filters = self._filters(image)
        if not filters or filters[-1] not in ("/DCTDecode", "/JPXDecode"):
            return
        try:
            if len(filters) == 1:
                data = image.read_raw_bytes()
            else:
                data = image.read_bytes(pikepdf.StreamDecodeLevel.generalized)
        except pikepdf.PdfError as exc:
            raise MalformedFileError("a PDF image cannot be read", kind="pdf") from exc
        if filters[-1] == "/DCTDecode":
            if not self.fix:
                self.found |= jpeg.leftovers(data)
                return
            cleaned = jpeg.scrub(data, self.budget, keep_orientation=False)
            new = cleaned.data
            self.found |= cleaned.removed
        else:
            new, kinds = _jp2(data)
            self.found |= kinds
        if self.fix and (new != data or len(filters) > 1):
            parms = image.get("/DecodeParms")
            if isinstance(parms, Array):
                parms = parms[len(parms) - 1] if len(parms) else None
            image.write(
                new,
                filter=Name(filters[-1]),
                decode_parms=parms if isinstance(parms, Dictionary) else None,
            )


def _jp2(data: bytes) -> tuple[bytes, set[str]]:
    """A JPEG 2000 file without its XML, UUID and other non-image boxes."""
    if data[:4] == b"\xff\x4f\xff\x51":
        return data, set()  # a bare codestream: no boxes
    out, found, pos = [], set(), 0
    while pos + 8 <= len(data):
        size, btype = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1 and pos + 16 <= len(data):
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
        elif size == 0:
            size = len(data) - pos
        if size < 8 or pos + size > len(data):
            raise MalformedFileError("a JPEG 2000 image in the PDF is truncated", kind="pdf")
        if btype in _JP2_KEEP:
            out.append(data[pos : pos + size])
        else:
            found.add("xmp" if btype == b"xml " else "other")
        pos += size
    return b"".join(out), found


def _open(data: bytes) -> pikepdf.Pdf:
    try:
        return pikepdf.open(io.BytesIO(data), conversion_mode="explicit")
    except pikepdf.PasswordError as exc:
        raise EncryptedError("the PDF is password-protected", kind="pdf") from exc
    except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
        raise MalformedFileError("the PDF cannot be read", kind="pdf") from exc


def _info_kinds(pdf: pikepdf.Pdf) -> set[str]:
    info = pdf.trailer.get("/Info")
    if not isinstance(info, Dictionary):
        return set() if info is None else {"other"}
    keys: set[str] = info.keys()
    return {_INFO_KINDS.get(key, "other") for key in keys}


def _walk(pdf: pikepdf.Pdf, budget: Budget, *, fix: bool) -> set[str]:
    visitor = _Visitor(budget, fix=fix)
    visitor.found |= _info_kinds(pdf)
    if fix and "/Info" in pdf.trailer:
        del pdf.trailer["/Info"]
    for obj in _objects(pdf.trailer, budget):
        visitor.visit(obj)
    return visitor.found


def scrub(data: bytes, budget: Budget) -> Cleaned:
    """A new PDF with the same pages and none of the metadata or active content."""
    with _open(data) as pdf:
        if len(pdf.pages) == 0:
            raise MalformedFileError("the PDF has no pages", kind="pdf")
        removed = _walk(pdf, budget, fix=True)
        budget.check()
        out = io.BytesIO()
        try:
            pdf.save(
                out,
                preserve_pdfa=False,
                fix_metadata_version=False,
                compress_streams=True,
                stream_decode_level=pikepdf.StreamDecodeLevel.none,
                object_stream_mode=pikepdf.ObjectStreamMode.generate,
                encryption=False,
                deterministic_id=True,
            )
        except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
            raise MalformedFileError("the PDF cannot be written anew", kind="pdf") from exc
    result = out.getvalue()
    problems = leftovers(result, budget)
    if problems:
        raise VerifyFailedError(
            f"PDF still carries {', '.join(sorted(problems))} after cleaning", kind="pdf"
        )
    return Cleaned(result, frozenset(removed))


def leftovers(data: bytes, budget: Budget) -> set[str]:
    """Read a cleaned PDF back: the kinds of metadata still in it (empty when clean)."""
    with _open(data) as pdf:
        return _walk(pdf, budget, fix=False)
