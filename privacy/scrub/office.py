"""Office Open XML (docx, xlsx, pptx) and OpenDocument (odt, ods, odp): rebuild the zip.

The archive is read member by member under the limits (entry count, expanded size,
expansion ratio) and a new archive is written from what is kept: nothing of the old
one (unused members, data between members, comments, timestamps) carries over. Every
member must match a known part (:func:`_ooxml_part`, :func:`_odf_part`); an unknown one
refuses the file (mat2's rule: fail closed).

Dropped parts: core, app and custom properties (OOXML ``docProps/*``), ``meta.xml``
content (ODF keeps an empty one), thumbnails, printer settings, custom XML data,
digital signatures, shared-workbook user and revision logs, UI customisations,
``manifest.rdf``, layout caches.

Cleaned XML (:mod:`.xmlclean`): rsid values (Word's revision save ids and
LibreOffice's), comment and tracked-change authors, initials and dates, people and
person lists, the template path, document variables, document ids, Excel's absolute
path and file-sharing user, pivot-cache "refreshed by", ODF author and sender fields,
printer names, event listeners and scripts; links to local files (external
relationship targets that are not web addresses, ODF ``xlink:href``) are cut down to
the file name.

Embedded pictures and media are scrubbed like any attachment (and must be of a format
we clean), and so are pictures written inline (ODF ``office:binary-data``, ``data:``
URIs). Metafiles (EMF, WMF, SVM) are read record by record by :mod:`.metafile`: one that
carries a bitmap is refused, a vector one is kept without its description and comments.
SVG (:mod:`.svg`) loses its metadata, scripts and editor attributes, has its inline
pictures scrubbed and its local links cut down.

Refused: macros (``vbaProject.bin``, macro-enabled content types, ActiveX, ODF
``Basic``/``Scripts``), encrypted members or packages, embedded OLE objects.
"""

from __future__ import annotations

import base64
import binascii
import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from typing import ClassVar

from . import metafile, svg
from .errors import (
    DecompressionBombError,
    EncryptedError,
    MacrosError,
    MalformedFileError,
    ScrubError,
    UnsupportedFormatError,
    VerifyFailedError,
)
from .limits import Budget
from .vocab import Cleaned
from .xmlclean import Attr, Decision, Policy, rewrite

__all__ = ["scrub"]

Nested = Callable[[bytes, Budget], tuple[str, Cleaned]]

OOXML = ("docx", "xlsx", "pptx")
ODF = ("odt", "ods", "odp")

# -- namespaces -----------------------------------------------------------------------------
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
W15 = "http://schemas.microsoft.com/office/word/2012/wordml"
W16DU = "http://schemas.microsoft.com/office/word/2023/wordml/word16du"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
X15AC = "http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac"
XR = "http://schemas.microsoft.com/office/spreadsheetml/2014/revision"
TC = "http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"
P = "http://schemas.openxmlformats.org/presentationml/2006/main"
P188 = "http://schemas.microsoft.com/office/powerpoint/2018/8/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
PKG_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
CP = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
EXT = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
CONFIG = "urn:oasis:names:tc:opendocument:xmlns:config:1.0"
SCRIPT = "urn:oasis:names:tc:opendocument:xmlns:script:1.0"
LOEXT = "urn:org:documentfoundation:names:experimental:office:xmlns:loext:1.0"
OFFICEOOO = "http://openoffice.org/2009/office"
MANIFEST = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
XLINK = "http://www.w3.org/1999/xlink"

_TRACKED = {
    "ins", "del", "moveFrom", "moveTo", "rPrChange", "pPrChange", "sectPrChange",
    "tblPrChange", "tblGridChange", "trPrChange", "tcPrChange", "numberingChange",
    "cellIns", "cellDel", "cellMerge", "moveFromRangeStart", "moveToRangeStart",
    "customXmlInsRangeStart", "customXmlDelRangeStart", "tblPrExChange",
}  # fmt: skip
_URL = re.compile(r"^(https?|mailto|ftp|tel|news|onenote|ms-[a-z]+):", re.I)


# -- OOXML policies -------------------------------------------------------------------------
class _OoxmlPolicy(Policy):
    _DROP: ClassVar[dict[tuple[str, str], str]] = {
        (W, "rsids"): "revisions",
        (W, "rsid"): "revisions",
        (W, "attachedTemplate"): "author",
        (W, "docVars"): "other",
        (W, "mailMerge"): "other",
        (W14, "docId"): "other",
        (W15, "docId"): "other",
        (W15, "presenceInfo"): "author",
        (X15AC, "absPath"): "author",
        (XR, "revisionPtr"): "revisions",
    }
    _BLANK: ClassVar[dict[tuple[str, str], dict[tuple[str, str], str]]] = {
        (W15, "person"): {(W15, "author"): "author"},
        (TC, "person"): {("", "displayName"): "author", ("", "userId"): "author",
                         ("", "providerId"): "author"},
        (P, "cmAuthor"): {("", "name"): "author", ("", "initials"): "author"},
        (P188, "author"): {("", "name"): "author", ("", "initials"): "author",
                           ("", "userId"): "author", ("", "providerId"): "author"},
    }  # fmt: skip
    _DROP_ATTRS: ClassVar[dict[tuple[str, str], dict[tuple[str, str], str]]] = {
        (S, "fileVersion"): {("", "lastEdited"): "software", ("", "lowestEdited"): "software",
                             ("", "rupBuild"): "software"},
        (S, "fileSharing"): {("", "userName"): "author"},
        (S, "pivotCacheDefinition"): {("", "refreshedBy"): "author",
                                      ("", "refreshedDate"): "timestamps",
                                      ("", "refreshedDateIso"): "timestamps"},
        (S, "pageSetup"): {(R, "id"): "printer"},
        (TC, "threadedComment"): {("", "dT"): "timestamps"},
        (P, "cm"): {("", "dt"): "timestamps"},
        (P188, "cm"): {("", "created"): "timestamps"},
        (P188, "reply"): {("", "created"): "timestamps"},
    }  # fmt: skip

    def element(
        self, ns: str, local: str, attrs: list[Attr], parents: list[tuple[str, str]]
    ) -> Decision | None:
        if (ns, local) in self._DROP:
            return Decision(drop=True, kind=self._DROP[(ns, local)])
        if (ns, local) == (S, "author") and parents and parents[-1] == (S, "authors"):
            return Decision(empty=True, kind="author")
        return None

    def attribute(self, ns: str, local: str, attr: Attr) -> tuple[str | None, str] | None:
        key = (attr.ns, attr.local)
        if attr.ns == W:
            if attr.local.startswith("rsid"):
                return None, "revisions"
            if attr.local in ("author", "initials"):
                return "", "revisions" if local in _TRACKED else "author"
            if attr.local == "date":
                return None, "timestamps"
        if key == (W16DU, "dateUtc"):
            return None, "timestamps"
        blank = self._BLANK.get((ns, local))
        if blank and key in blank:
            return "", blank[key]
        drop = self._DROP_ATTRS.get((ns, local))
        if drop and key in drop:
            return None, drop[key]
        return None


_DROPPED_REL_TYPES = (
    "/attachedTemplate", "/metadata/core-properties", "/extended-properties",
    "/custom-properties", "/metadata/thumbnail", "/digital-signature/origin", "/customXml",
    "/printerSettings", "/mailMergeSource", "/mailMergeHeaderSource", "/recipientData",
    "/ui/extensibility", "/usernames", "/revisionHeaders", "/revisionLog",
)  # fmt: skip


class _RelsPolicy(Policy):
    """A part's relationships: drop those to dropped parts; cut links to local files
    (external targets that are not web addresses) down to the file name."""

    def __init__(self, source_dir: str, dropped: set[str]) -> None:
        self.source_dir = source_dir
        self.dropped = dropped
        self.external = False  # the relationship being read points outside the package

    def element(
        self, ns: str, local: str, attrs: list[Attr], parents: list[tuple[str, str]]
    ) -> Decision | None:
        if (ns, local) != (PKG_REL, "Relationship"):
            return None
        values = {a.local: a.value for a in attrs if not a.ns}
        self.external = values.get("TargetMode") == "External"
        if values.get("Type", "").endswith(_DROPPED_REL_TYPES):
            return Decision(drop=True, kind="")
        if values.get("TargetMode") != "External":
            target = values.get("Target", "")
            path = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(self.source_dir, target))
            )
            if path.lower() in self.dropped:
                return Decision(drop=True, kind="")
        return None

    def attribute(self, ns: str, local: str, attr: Attr) -> tuple[str | None, str] | None:
        if (ns, local, attr.local, attr.ns) != (PKG_REL, "Relationship", "Target", ""):
            return None
        name = svg.local_link(attr.value)
        if name is None and self.external and not _URL.match(attr.value.strip()):
            name = re.split(r"[\\/]", attr.value.strip())[-1]  # relative to the author's disk
        if name is not None and name != attr.value:
            return name, "author"
        return None


class _TypesPolicy(Policy):
    def __init__(self, dropped: set[str]) -> None:
        self.dropped = dropped

    def element(
        self, ns: str, local: str, attrs: list[Attr], parents: list[tuple[str, str]]
    ) -> Decision | None:
        if (ns, local) == (PKG_CT, "Override"):
            part = next((a.value for a in attrs if a.local == "PartName"), "")
            if part.lstrip("/").lower() in self.dropped:
                return Decision(drop=True, kind="")
        return None


class _PropertiesPolicy(Policy):
    """docProps/core.xml and app.xml: only to report what they held (they are dropped)."""

    _KINDS: ClassVar[dict[tuple[str, str], str]] = {
        (DC, "creator"): "author", (CP, "lastModifiedBy"): "author",
        (DCTERMS, "created"): "timestamps", (DCTERMS, "modified"): "timestamps",
        (CP, "lastPrinted"): "printer", (CP, "revision"): "revisions",
        (DC, "title"): "comments", (DC, "subject"): "comments", (DC, "description"): "comments",
        (CP, "keywords"): "comments", (CP, "category"): "comments",
        (EXT, "Application"): "software", (EXT, "AppVersion"): "software",
        (EXT, "Company"): "author", (EXT, "Manager"): "author", (EXT, "Template"): "other",
        (EXT, "TotalTime"): "revisions", (EXT, "HyperlinkBase"): "other",
    }  # fmt: skip

    def element(
        self, ns: str, local: str, attrs: list[Attr], parents: list[tuple[str, str]]
    ) -> Decision | None:
        if len(parents) == 1:
            return Decision(drop=True, kind=self._KINDS.get((ns, local), ""))
        return None


# -- ODF policies ---------------------------------------------------------------------------
_SENDER = {
    "author-name", "author-initials", "creator", "initial-creator", "sender-firstname",
    "sender-lastname", "sender-initials", "sender-title", "sender-position", "sender-email",
    "sender-phone-private", "sender-fax", "sender-company", "sender-phone-work",
    "sender-street", "sender-city", "sender-postal-code", "sender-country",
    "sender-state-or-province",
}  # fmt: skip
_ODF_DATES = {
    "creation-date", "creation-time", "modification-date", "modification-time",
    "print-date", "print-time", "editing-duration",
}  # fmt: skip


_VALUES = ("date-value", "time-value", "duration")


class _OdfContentPolicy(Policy):
    """content.xml and styles.xml. Pictures written inline (``office:binary-data``, or
    an ``xlink:href`` with a ``data:`` URI) are scrubbed like the files in Pictures/."""

    def __init__(self, budget: Budget, nested: Nested) -> None:
        self.budget = budget
        self.nested = nested
        self.removed: set[str] = set()

    def element(
        self, ns: str, local: str, attrs: list[Attr], parents: list[tuple[str, str]]
    ) -> Decision | None:
        if (ns, local) in ((OFFICE, "event-listeners"), (OFFICE, "scripts")):
            return Decision(drop=True, kind="scripts")
        if (ns, local) == (SCRIPT, "event-listener"):
            return Decision(drop=True, kind="scripts")
        if (ns, local) in (
            (DC, "creator"),
            (META, "creator-initials"),
            (LOEXT, "sender-initials"),
        ):
            return Decision(empty=True, kind="author")
        if (ns, local) == (DC, "date"):
            return Decision(empty=True, kind="timestamps")
        if ns == TEXT and local in _SENDER:
            return Decision(empty=True, kind="author")
        if ns == TEXT and local in _ODF_DATES:
            return Decision(empty=True, kind="timestamps")
        if (ns, local) == (TEXT, "printed-by"):
            return Decision(empty=True, kind="printer")
        if (ns, local) == (TEXT, "user-defined"):
            return Decision(empty=True, kind="other")
        return None

    def attribute(self, ns: str, local: str, attr: Attr) -> tuple[str | None, str] | None:
        if attr.ns == OFFICEOOO and attr.local in ("rsid", "paragraph-rsid"):
            return None, "revisions"
        if ns == TEXT and local in _ODF_DATES and attr.ns == TEXT and attr.local in _VALUES:
            return None, "timestamps"
        if (attr.ns, attr.local) == (XLINK, "href"):
            if attr.value.strip()[:5].lower() == "data:":
                value, removed = svg.data_uri(attr.value, self.budget, self.nested)
                self.removed |= removed
                return value, ""
            name = svg.local_link(attr.value)
            if name is None and attr.value.strip().startswith("../"):
                name = attr.value.strip().rsplit("/", 1)[-1]  # beside the document, on disk
            if name is not None:
                return name, "author"
        return None

    def text(self, ns: str, local: str, text: str) -> tuple[str, str] | None:
        if (ns, local) != (OFFICE, "binary-data"):
            return None
        try:
            raw = base64.b64decode(re.sub(r"\s+", "", text), validate=True)
        except binascii.Error as exc:
            raise MalformedFileError("an inline picture that does not decode") from exc
        try:
            _, cleaned = self.nested(raw, self.budget)
        except UnsupportedFormatError as exc:
            raise UnsupportedFormatError(
                "the document embeds a picture of a kind we cannot clean"
            ) from exc
        self.removed |= cleaned.removed
        return base64.b64encode(cleaned.data).decode("ascii"), ""


class _OdfMetaPolicy(Policy):
    _KINDS: ClassVar[dict[tuple[str, str], str]] = {
        (DC, "creator"): "author", (META, "initial-creator"): "author",
        (META, "creation-date"): "timestamps", (DC, "date"): "timestamps",
        (META, "print-date"): "printer", (META, "printed-by"): "printer",
        (META, "generator"): "software", (META, "user-defined"): "other",
        (META, "template"): "author", (DC, "title"): "comments", (DC, "subject"): "comments",
        (DC, "description"): "comments", (META, "keyword"): "comments",
        (META, "editing-cycles"): "revisions", (META, "editing-duration"): "revisions",
        (META, "document-statistic"): "", (DC, "language"): "",
    }  # fmt: skip

    def element(
        self, ns: str, local: str, attrs: list[Attr], parents: list[tuple[str, str]]
    ) -> Decision | None:
        if parents and parents[-1] == (OFFICE, "meta"):
            return Decision(drop=True, kind=self._KINDS.get((ns, local), "other"))
        return None


class _OdfSettingsPolicy(Policy):
    _ITEMS: ClassVar[dict[str, str]] = {
        "PrinterName": "printer", "PrinterSetup": "printer", "PrinterPaperFromSetup": "printer",
        "PrintFaxName": "printer", "Rsid": "revisions", "RsidRoot": "revisions",
        "CurrentDatabaseDataSource": "other", "CurrentDatabaseCommand": "other",
        "CurrentDatabaseCommandType": "other",
    }  # fmt: skip

    def element(
        self, ns: str, local: str, attrs: list[Attr], parents: list[tuple[str, str]]
    ) -> Decision | None:
        if (ns, local) == (CONFIG, "config-item"):
            name = next((a.value for a in attrs if (a.ns, a.local) == (CONFIG, "name")), "")
            if name in self._ITEMS:
                return Decision(drop=True, kind=self._ITEMS[name])
        return None


class _ManifestPolicy(Policy):
    def __init__(self, dropped: set[str]) -> None:
        self.dropped = dropped

    def element(
        self, ns: str, local: str, attrs: list[Attr], parents: list[tuple[str, str]]
    ) -> Decision | None:
        if (ns, local) == (MANIFEST, "encryption-data"):
            raise EncryptedError("an OpenDocument file with encrypted parts")
        if (ns, local) == (MANIFEST, "file-entry"):
            path = next((a.value for a in attrs if a.local == "full-path"), "")
            if path in self.dropped or any(path.startswith(d + "/") for d in self.dropped):
                return Decision(drop=True, kind="")
        return None


# -- the archive ----------------------------------------------------------------------------
def _members(data: bytes, kind: str, budget: Budget) -> list[tuple[str, bytes]]:
    """Every file in the archive, read under the limits."""
    limits = budget.limits
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, struct.error) as exc:
        raise MalformedFileError("a broken zip archive", kind=kind) from exc
    if len(infos) > limits.max_members:
        raise DecompressionBombError(
            f"the archive has {len(infos)} entries, more than {limits.max_members}", kind=kind
        )
    declared = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if declared > limits.max_expanded:
        raise DecompressionBombError("the archive expands past the size limit", kind=kind)
    if declared > 1 << 20 and declared > limits.max_ratio * packed:
        raise DecompressionBombError("the archive expands too much (zip bomb)", kind=kind)
    out: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        if (
            name.lower() in seen
            or name.startswith("/")
            or "\\" in name
            or "\x00" in name
            or ".." in name.split("/")
        ):
            raise MalformedFileError("an archive entry with a bad or repeated name", kind=kind)
        seen.add(name.lower())
        if info.flag_bits & 0x1:
            raise EncryptedError("an archive with encrypted entries", kind=kind)
        if info.is_dir():
            continue
        if info.file_size > 1 << 20 and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise DecompressionBombError("an archive entry expands too much", kind=kind)
        try:
            with archive.open(info) as member:
                body = member.read(info.file_size + 1)
        except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError,
                zlib.error) as exc:  # fmt: skip
            raise MalformedFileError("a broken archive entry", kind=kind) from exc
        if len(body) != info.file_size:
            raise MalformedFileError("an archive entry of the wrong size", kind=kind)
        total += len(body)
        if total > limits.max_expanded:
            raise DecompressionBombError("the archive expands past the size limit", kind=kind)
        out.append((name, body))
        budget.check()
    return out


def _write(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, body in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            archive.writestr(info, body, compresslevel=6)
    return buf.getvalue()


# -- embedded pictures and media ------------------------------------------------------------
def _media(body: bytes, budget: Budget, nested: Nested) -> tuple[bytes, set[str]]:
    if metafile.is_metafile(body):
        return metafile.scrub(body, budget)
    if svg.is_svg(body):
        return svg.scrub(body, budget, nested)
    try:
        _, cleaned = nested(body, budget)
    except UnsupportedFormatError as exc:
        raise UnsupportedFormatError(
            "the document embeds a file of a kind we cannot clean"
        ) from exc
    return cleaned.data, set(cleaned.removed)


# -- OOXML ----------------------------------------------------------------------------------
_OOXML_DROP: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"docprops/custom\.xml"), "other"),
    (re.compile(r"docprops/thumbnail\.[a-z]+"), "thumbnail"),
    (re.compile(r"customxml/.*"), "other"),
    (re.compile(r"docmetadata/.*"), "other"),  # sensitivity labels (tenant and label ids)
    (re.compile(r"(word|xl|ppt)/printersettings/.*"), "printer"),
    (re.compile(r"_xmlsignatures/.*"), "author"),
    (re.compile(r"xl/usernames\.xml|xl/revisions/.*"), "revisions"),
    (re.compile(r"ppt/revisioninfo\.xml|ppt/changesinfos/.*"), "revisions"),
    (re.compile(r"customui/.*|usercustomization/.*"), "scripts"),
)
_MACROS = re.compile(r"(^|/)(vbaproject\.bin|vbadata\.xml|activex/.*|.*\.bas)$")
_OOXML_XML = re.compile(r"(word|xl|ppt)/.*\.(xml|vml)")
_OOXML_MEDIA = re.compile(r"(word|xl|ppt)/(media|embeddings)/[^/]+")
_OOXML_FONT = re.compile(r"(word|xl|ppt)/fonts/[^/]+\.(odttf|fntdata|ttf)")
_OOXML_RELS = re.compile(r"(.*/)?_rels/[^/]*\.rels")


def _ooxml(
    members: list[tuple[str, bytes]], budget: Budget, nested: Nested
) -> tuple[list[tuple[str, bytes]], set[str]]:
    removed: set[str] = set()
    dropped: set[str] = set()
    kept: list[tuple[str, bytes]] = []
    later: list[tuple[str, bytes]] = []
    for name, body in members:
        low = name.lower()
        if _MACROS.search(low) or ("vba" in low and low.endswith(".bin")):
            raise MacrosError("the document contains macros")
        if low in ("docprops/core.xml", "docprops/app.xml"):
            dropped.add(low)
            removed |= rewrite(body, _PropertiesPolicy())[1]
            continue
        drop_kind = next((k for pattern, k in _OOXML_DROP if pattern.fullmatch(low)), None)
        if drop_kind is not None:
            dropped.add(low)
            removed.add(drop_kind)
        elif low == "[content_types].xml" or _OOXML_RELS.fullmatch(low):
            later.append((name, body))
        elif _OOXML_XML.fullmatch(low):
            body, found = rewrite(body, _OoxmlPolicy())
            removed |= found
            kept.append((name, body))
        elif _OOXML_MEDIA.fullmatch(low):
            if low.endswith(".bin"):
                raise UnsupportedFormatError("the document embeds an OLE object")
            body, found = _media(body, budget, nested)
            removed |= found
            kept.append((name, body))
        elif _OOXML_FONT.fullmatch(low):
            kept.append((name, body))
        else:
            raise UnsupportedFormatError("the document has a part we do not know")
        budget.check()
    if b"macroEnabled" in next((b for n, b in later if n == "[Content_Types].xml"), b""):
        raise MacrosError("the document is macro-enabled")
    head: list[tuple[str, bytes]] = []
    for name, body in later:
        if name == "[Content_Types].xml":
            body, found = rewrite(body, _TypesPolicy(dropped))
            head.insert(0, (name, body))
        else:
            source = name.rsplit("_rels/", 1)[0]
            owner = posixpath.join(source, name.rsplit("/", 1)[-1][: -len(".rels")])
            if owner.lower() in dropped:
                continue
            body, found = rewrite(body, _RelsPolicy(source.rstrip("/"), dropped))
            head.append((name, body))
        removed |= found
    if not head or head[0][0] != "[Content_Types].xml":
        raise MalformedFileError("an Office document without its content types")
    return head + kept, removed


# -- ODF ------------------------------------------------------------------------------------
_ODF_OBJECT = r"(?:object \d+/|[^/]+/)?"
_ODF_MACROS = re.compile(rf"{_ODF_OBJECT}(basic|scripts)/.*")
_ODF_DROP: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"thumbnails/.*"), "thumbnail"),
    (re.compile(r"configurations2/.*"), ""),
    (re.compile(rf"{_ODF_OBJECT}layout-cache"), ""),
    (re.compile(rf"{_ODF_OBJECT}manifest\.rdf"), "other"),
    (re.compile(r"meta-inf/(document|macro)signatures\.xml"), "author"),
)
_ODF_CONTENT = re.compile(rf"{_ODF_OBJECT}(content|styles)\.xml")
_ODF_META = re.compile(rf"{_ODF_OBJECT}meta\.xml")
_ODF_SETTINGS = re.compile(rf"{_ODF_OBJECT}settings\.xml")
_ODF_MEDIA = re.compile(rf"{_ODF_OBJECT}(pictures|media|objectreplacements)/[^/]+")


def _odf(
    members: list[tuple[str, bytes]], budget: Budget, nested: Nested
) -> tuple[list[tuple[str, bytes]], set[str]]:
    removed: set[str] = set()
    dropped: set[str] = set()
    kept: list[tuple[str, bytes]] = []
    mimetype: bytes | None = None
    manifest: bytes | None = None
    for name, body in members:
        low = name.lower()
        if _ODF_MACROS.fullmatch(low):
            raise MacrosError("the document contains macros")
        drop_kind = next((k for pattern, k in _ODF_DROP if pattern.fullmatch(low)), None)
        found: set[str] = set()
        if name == "mimetype":
            mimetype = body
            continue
        if name == "META-INF/manifest.xml":
            manifest = body
            continue
        if drop_kind is not None:
            dropped.add(name)
            if drop_kind:
                removed.add(drop_kind)
            continue
        if _ODF_CONTENT.fullmatch(low):
            content = _OdfContentPolicy(budget, nested)
            body, found = rewrite(body, content)
            found |= content.removed
        elif _ODF_META.fullmatch(low):
            body, found = rewrite(body, _OdfMetaPolicy())
        elif _ODF_SETTINGS.fullmatch(low):
            body, found = rewrite(body, _OdfSettingsPolicy())
        elif _ODF_MEDIA.fullmatch(low):
            body, found = _media(body, budget, nested)
        else:
            raise UnsupportedFormatError("the document has a part we do not know")
        removed |= found
        kept.append((name, body))
        budget.check()
    if mimetype is None or manifest is None:
        raise MalformedFileError("an OpenDocument file without its mimetype or manifest")
    for prefix in ("Thumbnails", "Configurations2"):
        dropped.add(prefix)
    manifest, found = rewrite(manifest, _ManifestPolicy(dropped))
    removed |= found
    return [("mimetype", mimetype), ("META-INF/manifest.xml", manifest), *kept], removed


def _clean(
    data: bytes, kind: str, budget: Budget, nested: Nested
) -> tuple[list[tuple[str, bytes]], set[str]]:
    members = _members(data, kind, budget)
    if kind in OOXML:
        return _ooxml(members, budget, nested)
    return _odf(members, budget, nested)


def scrub(data: bytes, kind: str, budget: Budget, nested: Nested) -> Cleaned:
    """A new archive with the same content and none of the metadata."""
    try:
        members, removed = _clean(data, kind, budget, nested)
    except ScrubError as exc:
        exc.kind = kind
        raise
    out = _write(members)
    _, problems = _clean(out, kind, budget, nested)
    if problems:
        raise VerifyFailedError(
            f"{kind} still carries {', '.join(sorted(problems))} after cleaning", kind=kind
        )
    return Cleaned(out, frozenset(removed))
