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
- embedded files, wherever they hang: ``/EmbeddedFiles``, ``/AF``, ``/Collection``,
  the ``/FS``, ``/EF`` and ``/RF`` keys, external stream data (a stream's ``/F``), and
  every reference, from any dictionary or array, to a file specification, an embedded
  file, a sound, or a file-attachment, sound, movie, screen, rich-media or 3D
  annotation. Cutting the reference (not only the page's ``/Annots`` entry) is what
  matters: a popup's ``/Parent``, the structure tree's ``/OBJR /Obj`` or a private key
  would otherwise keep the file reachable, and qpdf writes whatever is reachable;
- annotation authors and dates (``/T``, ``/M``, ``/CreationDate``; a form widget's
  ``/T`` is its field name and stays), signatures (``/V`` of signature fields,
  ``/Perms``, ``/DSS``), ``/SpiderInfo``, ``/Legal``;
- inside images, image XObjects and inline images (``BI ... ID ... EI`` in the content
  of pages, forms, patterns and Type 3 glyphs) alike: a JPEG's metadata segments
  (through :mod:`.jpeg`, keeping the image data) and a JPEG 2000 file's XML, UUID and
  info boxes.

Every stream this module decodes (the filters in front of a JPEG, content streams that
may hold inline images) goes through :class:`_Expansion`, which decodes incrementally
and refuses past ``Limits.max_ratio`` × the stored size, ``Limits.max_expanded`` in
total, and, for an image, a bound from its declared width and height.

The result is opened again and walked the same way, every object in the file (reachable
or not) included; anything found refuses the file.
"""

from __future__ import annotations

import base64
import io
import re
import struct
import zlib
from collections.abc import Iterable

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

from . import jpeg
from .errors import (
    DecompressionBombError,
    EncryptedError,
    MalformedFileError,
    UnsupportedFormatError,
    VerifyFailedError,
)
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
    "/FS": "embedded_files",
    "/EF": "embedded_files",
    "/RF": "embedded_files",
    "/Perms": "author",
    "/DSS": "author",
    "/SpiderInfo": "other",
    "/Legal": "other",
}
# A stream whose data lives in another file (ISO 32000-1, 7.3.8.2) names it here.
_EXTERNAL_STREAM_KEYS = ("/F", "/FFilter", "/FDecodeParms")
_SAFE_ACTIONS = {"/GoTo", "/URI", "/Named", "/SetOCGState", "/Thread", "/Trans", "/Hide"}
_DROP_ANNOTS = {
    "/FileAttachment": "embedded_files",
    "/Sound": "other",
    "/Movie": "other",
    "/Screen": "scripts",
    "/RichMedia": "scripts",
    "/3D": "other",
}
# Objects that are files (or recordings) by their /Type; no reference to one survives.
# ("/F" is the type some older writers give a file specification.)
_FILE_TYPES = {
    "/Filespec": "embedded_files",
    "/F": "embedded_files",
    "/EmbeddedFile": "embedded_files",
    "/Sound": "other",
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
_IMAGE_CODECS = ("/DCTDecode", "/JPXDecode")
# The short filter names inline images may use (ISO 32000-1, table 94).
_FILTER_ALIASES = {
    "/Fl": "/FlateDecode",
    "/AHx": "/ASCIIHexDecode",
    "/A85": "/ASCII85Decode",
    "/LZW": "/LZWDecode",
    "/RL": "/RunLengthDecode",
    "/CCF": "/CCITTFaxDecode",
    "/DCT": "/DCTDecode",
}
# Inline image keys that describe the stored data, rewritten when the data is.
_INLINE_DATA_KEYS = {"/F", "/Filter", "/DP", "/DecodeParms", "/L", "/Length", "/DL"}
_WHITESPACE = b"\x00\t\n\x0c\r "
# Where an inline image's data could be taken to end early: EI after white space.
_EARLY_EI = re.compile(rb"[\x00\t\n\x0c\r ]EI")
_STEP = 1 << 20  # bytes decoded at a time
_FLOOR = 1 << 20  # a stream may always expand to this much, whatever its ratio
# Bytes of JPEG (or JPEG 2000) data an image of w × h pixels may hold, at most: far more
# than any encoder writes for the pixels (four components, never compressed), plus
# room for its own metadata segments (which are then removed).
_PER_PIXEL = 8
_IMAGE_SLACK = 4 << 20


def _name(obj: object) -> str:
    if not isinstance(obj, Name):
        return ""
    try:
        return str(obj)
    except UnicodeError as exc:
        raise MalformedFileError("the PDF has unreadable names", kind="pdf") from exc


def _int(obj: object) -> int | None:
    if isinstance(obj, int) and not isinstance(obj, bool):
        return obj
    if isinstance(obj, pikepdf.Integer):
        return int(obj)
    return None


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


def _file_kind(obj: object) -> str | None:
    """The kind to report if ``obj`` is a file, a recording or an annotation carrying
    one: no reference to it may stay anywhere."""
    if not isinstance(obj, Dictionary | Stream):
        return None
    kind = _FILE_TYPES.get(_name(obj.get("/Type")))
    if kind is not None:
        return kind
    if "/EF" in obj or "/RF" in obj:  # a file specification without its /Type
        return "embedded_files"
    if _is_annotation(obj):
        return _DROP_ANNOTS.get(_name(obj.get("/Subtype")))
    return None


def _filters(value: object) -> list[str]:
    """Filter names, in order, with the inline-image abbreviations spelled out."""
    names = list(value) if isinstance(value, Array) else [value] if value is not None else []
    return [_FILTER_ALIASES.get(_name(item), _name(item)) for item in names]


def _parms(value: object, count: int) -> list[Dictionary | None]:
    """The decode parameters of each of ``count`` filters."""
    if isinstance(value, Array):
        found = [item if isinstance(item, Dictionary) else None for item in value]
        return (found + [None] * count)[:count]
    return [value if isinstance(value, Dictionary) else None] * count


class _Expansion:
    """Decodes stream data under the limits: each stream at most ``max_ratio`` × its
    stored size (never less than 1 MiB), all of them together at most
    ``max_expanded``; past either, :class:`DecompressionBombError`. Flate is inflated a
    step at a time with ``zlib.decompressobj(...).decompress(data, max_length)``, so a
    bomb is stopped at the limit, not after it has been inflated."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.total = 0

    def decode(
        self,
        data: bytes,
        filters: list[str],
        parms: list[Dictionary | None],
        *,
        bound: int | None = None,
    ) -> bytes:
        if not filters:
            return data
        limits = self.budget.limits
        cap = min(limits.max_expanded - self.total, max(_FLOOR, limits.max_ratio * len(data)))
        if bound is not None:
            cap = min(cap, bound)
        for name, parm in zip(filters, parms, strict=True):
            data = self._one(name, parm, data, cap)
        self.total += len(data)
        return data

    def _one(self, name: str, parm: Dictionary | None, data: bytes, cap: int) -> bytes:
        try:
            if name == "/FlateDecode":
                predictor = _int(parm.get("/Predictor")) if parm is not None else None
                if predictor is not None and predictor > 1:
                    raise UnsupportedFormatError(
                        "a PDF stream we must read uses a predictor", kind="pdf"
                    )
                return self._inflate(data, cap)
            if name == "/ASCIIHexDecode":
                digits = re.sub(rb"[\x00\t\n\x0c\r ]", b"", data.split(b">", 1)[0])
                return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
            if name == "/ASCII85Decode":
                text = re.sub(rb"[\x00\t\n\x0c\r ]", b"", data).split(b"~>", 1)[0]
                text = text.removeprefix(b"<~")
                zeros = text.count(b"z")  # each stands for four zero bytes
                if 4 * zeros + 4 * ((len(text) - zeros + 4) // 5) > cap:
                    raise self._bomb(cap)
                return base64.a85decode(text)
            if name == "/RunLengthDecode":
                return self._run_length(data, cap)
        except (ValueError, zlib.error) as exc:
            raise MalformedFileError("a PDF stream is corrupt", kind="pdf") from exc
        raise UnsupportedFormatError("a PDF stream we must read uses a filter we do not decode",
                                     kind="pdf")  # fmt: skip

    def _bomb(self, cap: int) -> DecompressionBombError:
        return DecompressionBombError(f"a PDF stream expands past {cap:,} bytes", kind="pdf")

    def _inflate(self, data: bytes, cap: int) -> bytes:
        inflater = zlib.decompressobj()
        out = bytearray()
        pending = data
        while True:
            chunk = inflater.decompress(pending, _STEP)
            out += chunk
            if len(out) > cap:
                raise self._bomb(cap)
            pending = inflater.unconsumed_tail
            if inflater.eof or (not pending and len(chunk) < _STEP):
                break
            self.budget.check()
        return bytes(out)

    def _run_length(self, data: bytes, cap: int) -> bytes:
        out = bytearray()
        pos = 0
        while pos < len(data) and data[pos] != 128:
            length = data[pos]
            if length < 128:
                out += data[pos + 1 : pos + 2 + length]
                pos += 2 + length
            else:
                out += data[pos + 1 : pos + 2] * (257 - length)
                pos += 2
            if len(out) > cap:
                raise self._bomb(cap)
        return bytes(out)


def _token(obj: object) -> bytes:
    """An inline image dictionary's key or value, as content stream syntax."""
    if isinstance(obj, pikepdf.Object):
        return obj.unparse()
    if isinstance(obj, bool):
        return b"true" if obj else b"false"
    return str(obj).encode("ascii")


class _Visitor:
    """Finds (and with ``fix``, removes) metadata, one object at a time."""

    def __init__(self, pdf: pikepdf.Pdf, budget: Budget, *, fix: bool) -> None:
        self.pdf = pdf
        self.budget = budget
        self.fix = fix
        self.found: set[str] = set()
        self.expansion = _Expansion(budget)
        self.pages = {page.obj.objgen for page in pdf.pages}
        self.content_done: set[tuple[int, int]] = set()

    def walk(self, roots: Iterable[pikepdf.Object]) -> None:
        """Visit every dictionary and stream reachable from ``roots``, once each; a
        visitor may delete keys before the walk goes on into what remains. A reference
        to a file (see :func:`_file_kind`) is cut wherever it is, never followed."""
        seen: set[tuple[int, int]] = set()
        count = 0
        for root in roots:
            if self._file(root):  # a root with nothing to cut it from: only on read-back
                continue
            stack: list[pikepdf.Object] = [root]
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
                    self.budget.check()
                if isinstance(obj, Array):
                    for index, item in enumerate(list(obj)):
                        if self._file(item):
                            if self.fix:
                                obj[index] = None  # null: keeps number-tree pairs in step
                        else:
                            stack.append(item)
                    continue
                self.visit(obj)
                for key in list(obj.keys()):
                    try:
                        value = obj.get(key)
                    except (TypeError, UnicodeError) as exc:  # a name that is not UTF-8
                        raise MalformedFileError(
                            "the PDF has unreadable names", kind="pdf"
                        ) from exc
                    if self._file(value):
                        if self.fix:
                            del obj[key]
                    elif value is not None:
                        stack.append(value)

    def _file(self, obj: object) -> bool:
        kind = _file_kind(obj)
        if kind is not None:
            self.found.add(kind)
        return kind is not None

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
        if _name(obj.get("/S")) == "/Thread" and "/F" in keys:  # the thread's other file
            self._drop(obj, "/F", "embedded_files")
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
        if isinstance(obj, Dictionary) and (
            _name(obj.get("/Type")) == "/Page" or (obj.is_indirect and obj.objgen in self.pages)
        ):
            self._page_contents(obj)
        procs = obj.get("/CharProcs")  # a Type 3 font's glyphs are content streams
        if isinstance(procs, Dictionary):
            for key in list(procs.keys()):
                glyph = procs.get(key)
                if isinstance(glyph, Stream):
                    self._content([glyph])
        if isinstance(obj, Stream):
            for key in _EXTERNAL_STREAM_KEYS:
                if key in keys:
                    self._drop(obj, key, "embedded_files")
            if _name(obj.get("/Subtype")) == "/Image":
                self._image(obj)
            elif _name(obj.get("/Subtype")) == "/Form" or "/BBox" in keys:  # form, pattern
                self._content([obj])

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

    # -- images -------------------------------------------------------------------------
    def _bound(self, image: pikepdf.Object) -> int | None:
        """The most JPEG data an image of its declared size may hold (see _PER_PIXEL)."""
        width, height = _int(image.get("/Width")), _int(image.get("/Height"))
        if width is None or height is None or width <= 0 or height <= 0:
            return None
        self.budget.pixels(width, height, "a PDF image")
        return _PER_PIXEL * width * height + _IMAGE_SLACK

    def _coded(
        self, raw: bytes, filters: list[str], parms: list[Dictionary | None], bound: int | None
    ) -> bytes:
        """The JPEG or JPEG 2000 data under the other filters of an image."""
        return self.expansion.decode(raw, filters[:-1], parms[:-1], bound=bound)

    def _clean_image_data(self, data: bytes, codec: str) -> bytes:
        """``data`` without its metadata (what was there is added to ``found``)."""
        if codec == "/DCTDecode":
            if not self.fix:
                self.found |= jpeg.leftovers(data)
                return data
            cleaned = jpeg.scrub(data, self.budget, keep_orientation=False)
            self.found |= cleaned.removed
            return cleaned.data
        new, kinds = _jp2(data)
        self.found |= kinds
        return new

    def _image(self, image: Stream) -> None:
        filters = _filters(image.get("/Filter"))
        if not filters or filters[-1] not in _IMAGE_CODECS:
            return
        parms = _parms(image.get("/DecodeParms"), len(filters))
        bound = self._bound(image) if len(filters) > 1 else None
        try:
            raw = image.read_raw_bytes()
        except pikepdf.PdfError as exc:
            raise MalformedFileError("a PDF image cannot be read", kind="pdf") from exc
        data = self._coded(raw, filters, parms, bound)
        new = self._clean_image_data(data, filters[-1])
        if self.fix and (new != data or len(filters) > 1):
            image.write(new, filter=Name(filters[-1]), decode_parms=parms[-1])

    # -- content streams and their inline images ----------------------------------------
    def _page_contents(self, page: Dictionary) -> None:
        contents = page.get("/Contents")
        if isinstance(contents, Stream):
            self._content([contents])
        elif isinstance(contents, Array):
            streams = [item for item in contents if isinstance(item, Stream)]
            if streams and len(streams) == len(contents):
                self._content(streams, page)
            elif streams:
                raise MalformedFileError("a PDF page's content is not all streams", kind="pdf")

    def _content(self, streams: list[Stream], page: Dictionary | None = None) -> None:
        """Clean the inline images of one content stream (or of a page's content, split
        over ``streams``). Only a stream holding a JPEG inline image is rewritten."""
        ids = [s.objgen for s in streams if s.is_indirect]
        if ids and all(i in self.content_done for i in ids):
            return
        self.content_done.update(ids)
        parts = []
        for stream in streams:
            filters = _filters(stream.get("/Filter"))
            parms = _parms(stream.get("/DecodeParms"), len(filters))
            try:
                raw = stream.read_raw_bytes()
            except pikepdf.PdfError as exc:
                raise MalformedFileError(
                    "a PDF content stream cannot be read", kind="pdf"
                ) from exc
            parts.append(self.expansion.decode(raw, filters, parms))
        data = b"\n".join(parts)
        if b"BI" not in data or b"ID" not in data:  # no inline image: nothing to parse
            return
        new = self._inline_images(data)
        if new is None or not self.fix:
            return
        if len(streams) == 1:
            streams[0].write(new)
        elif page is not None:
            page["/Contents"] = self.pdf.make_stream(new)

    def _inline_images(self, data: bytes) -> bytes | None:
        """The content stream with its JPEG inline images cleaned, or None if none
        changed. Inline images are rewritten, not removed: the page shows what it showed
        (a photo in the page is often the very evidence), and refusing the PDF would lose
        the tip for a construct some scanners write; the image data stays byte for byte,
        like an image XObject's. Other inline images (raw pixels, fax) hold no metadata."""
        scratch = Stream(self.pdf, data)  # referenced by nothing, so never written
        try:
            instructions = pikepdf.parse_content_stream(scratch)
        except pikepdf.PdfError as exc:
            raise MalformedFileError("a PDF content stream cannot be parsed", kind="pdf") from exc
        out: list[bytes] = []
        changed = False
        for instruction in instructions:
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                new = self._inline_image(instruction.iimage)
                if new is not None:
                    out.append(new)
                    changed = True
                    continue
            out.append(pikepdf.unparse_content_stream([instruction]))
        return b"\n".join(out) if changed else None

    def _inline_image(self, image: pikepdf.PdfInlineImage) -> bytes | None:
        """The ``BI ... EI`` of a cleaned JPEG inline image (None: leave it as it is)."""
        spec = image.obj
        filters = _filters(spec.get("/Filter"))
        if not filters or filters[-1] not in _IMAGE_CODECS:
            return None
        parms = _parms(spec.get("/DecodeParms"), len(filters))
        bound = self._bound(spec) if len(filters) > 1 else None
        # The data as stored runs to the white space before EI (dropped here: it is not
        # the image's); a JPEG ends at its EOI, so any further white space goes too.
        raw = image.read_raw_bytes()
        raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1] if raw[-1:] in _WHITESPACE else raw
        data = self._coded(raw, filters, parms, bound)
        if filters[-1] == "/DCTDecode":
            data = data.rstrip(_WHITESPACE)
        new = self._clean_image_data(data, filters[-1])
        if not self.fix or (new == data and len(filters) == 1):
            return None
        codec = b"/DCT" if filters[-1] == "/DCTDecode" else b"/JPXDecode"
        if _EARLY_EI.search(new):  # a reader could end the image there: write it in hex
            new, codec = new.hex().encode() + b">", b"[/AHx " + codec + b"]"
        tokens = list(image._image_object)
        pairs = [
            _token(key) + b" " + _token(value)
            for key, value in zip(tokens[::2], tokens[1::2], strict=True)
            if _name(key) not in _INLINE_DATA_KEYS
        ]
        pairs.append(b"/F " + codec)
        if parms[-1] is not None:
            pairs.append(b"/DP " + parms[-1].unparse())
        return b"BI " + b" ".join(pairs) + b" ID " + new + b"\nEI"


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
    """Clean (``fix``) or check a PDF. The check walks every object in the file too, so
    an object that the writer kept but nothing references cannot hide."""
    visitor = _Visitor(pdf, budget, fix=fix)
    visitor.found |= _info_kinds(pdf)
    if fix and "/Info" in pdf.trailer:
        del pdf.trailer["/Info"]
    roots: list[pikepdf.Object] = [pdf.trailer]
    if not fix:
        roots += list(pdf.objects)
    visitor.walk(roots)
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
    """Read a cleaned PDF back: the kinds of metadata still in it (empty when clean),
    looking at every object in the file, reachable or not."""
    with _open(data) as pdf:
        return _walk(pdf, budget, fix=False)
