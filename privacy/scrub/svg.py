"""SVG pictures inside office documents, and the links and inline files of their XML.

An SVG is rewritten by :mod:`.xmlclean` (comments and processing instructions go):
``<metadata>`` and everything in the RDF, Dublin Core, Creative Commons, Inkscape and
Sodipodi namespaces are dropped, as are scripts and event attributes.

A picture can sit inside the SVG as a ``data:`` URI (``<image href="data:image/jpeg;
base64,...">``), with its own EXIF and GPS: every ``data:`` URI in a link attribute
(``href``, ``xlink:href``, ``src``) is decoded and scrubbed like any file found inside
another one (``nested``, under the same budget, one level deeper), then encoded again.
One that cannot be scrubbed refuses the document. A ``data:`` URI anywhere else (in a
style, a CSS ``url()``, text of a ``<style>``), a ``url()`` that points outside the
picture, and CSS escapes (which could spell either) refuse it too: we do not parse CSS.

Links to local files (``file:`` URLs, absolute and UNC paths) name the author's
account and folders; :func:`local_link` cuts them down to the file name.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from .errors import MalformedFileError, UnsupportedFormatError
from .limits import Budget
from .vocab import MIME_TYPES, Cleaned
from .xmlclean import Attr, Decision, Policy, rewrite

__all__ = ["data_uri", "is_svg", "local_link", "scrub"]

Nested = Callable[[bytes, Budget], tuple[str, Cleaned]]

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
XML = "http://www.w3.org/XML/1998/namespace"
_DROPPED_NS = {
    "http://www.inkscape.org/namespaces/inkscape": "software",
    "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd": "software",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "xmp",
    "http://purl.org/dc/elements/1.1/": "author",
    "http://purl.org/dc/terms/": "author",
    "http://creativecommons.org/ns#": "author",
    "http://web.resource.org/cc/": "author",
    "http://ns.adobe.com/xap/1.0/": "xmp",
}
_LINK_ATTRS = {("", "href"), (XLINK, "href"), ("", "src"), (XML, "base")}
_LOCAL_PATH = re.compile(r"^(file:|/|\\\\|[A-Za-z]:[\\/])", re.I)
_URL = re.compile(r"^(https?|mailto|ftp|tel|news|onenote|ms-[a-z]+):", re.I)
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*(.?)", re.I)


def is_svg(body: bytes) -> bool:
    """Whether an embedded picture is an SVG (by its first bytes)."""
    head = body[:512].removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in body[:4096])


def local_link(value: str) -> str | None:
    """The file name alone when ``value`` is a link to a local file (which may name a
    user's folder), else ``None``."""
    link = value.strip()
    if _URL.match(link) or not _LOCAL_PATH.match(link):
        return None
    return _file_name(link)


def _file_name(link: str) -> str:
    """What follows the last slash: empty for a folder (whose name may be the user's)."""
    return re.split(r"[\\/]", link)[-1]


def data_uri(value: str, budget: Budget, nested: Nested) -> tuple[str, frozenset[str]]:
    """A ``data:`` URI whose file is scrubbed (its format must be one we clean), written
    anew as base64, and what the scrub removed."""
    header, comma, payload = value.strip()[5:].partition(",")
    if not comma:
        raise MalformedFileError("a data: URI without data")
    try:
        raw = unquote_to_bytes(payload)
        if header.lower().replace(" ", "").endswith(";base64"):
            raw = base64.b64decode(re.sub(rb"\s+", b"", raw), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedFileError("a data: URI that does not decode") from exc
    try:
        kind, cleaned = nested(raw, budget)
    except UnsupportedFormatError as exc:
        raise UnsupportedFormatError(
            "the document embeds a picture of a kind we cannot clean"
        ) from exc
    encoded = base64.b64encode(cleaned.data).decode("ascii")
    return f"data:{MIME_TYPES[kind]};base64,{encoded}", cleaned.removed


def _refuse_css(value: str, *, style: bool) -> None:
    """Refuse what would let CSS or an attribute load a file we do not scrub."""
    squeezed = re.sub(r"\s+", "", value).lower()
    if "data:" in squeezed:
        raise UnsupportedFormatError("an SVG picture with inline data we cannot clean")
    if style and ("\\" in value or "@import" in squeezed):
        raise UnsupportedFormatError("an SVG picture with a style we cannot check")
    if any(target != "#" for target in _CSS_URL.findall(value)):
        raise UnsupportedFormatError("an SVG picture that refers to a file outside it")


class _SvgPolicy(Policy):
    def __init__(self, budget: Budget, nested: Nested) -> None:
        self.budget = budget
        self.nested = nested
        self.removed: set[str] = set()

    def element(
        self, ns: str, local: str, attrs: list[Attr], parents: list[tuple[str, str]]
    ) -> Decision | None:
        if ns in _DROPPED_NS:
            return Decision(drop=True, kind=_DROPPED_NS[ns])
        if local == "metadata":
            return Decision(drop=True, kind="xmp")
        if local == "script":
            return Decision(drop=True, kind="scripts")
        return None

    def attribute(self, ns: str, local: str, attr: Attr) -> tuple[str | None, str] | None:
        if attr.ns in _DROPPED_NS:
            return None, _DROPPED_NS[attr.ns]
        if attr.local.lower().startswith("on") and not attr.ns:
            return None, "scripts"
        if (attr.ns, attr.local) in _LINK_ATTRS:
            link = attr.value.strip()
            if link[:5].lower() == "data:":
                value, removed = data_uri(link, self.budget, self.nested)
                self.removed |= removed
                return value, ""
            if attr.ns == XML:  # xml:base, which relative links would resolve against
                return None, "author" if local_link(link) is not None else ""
            if link[:11].lower() == "javascript:":
                return None, "scripts"
            _refuse_css(link, style=False)
            if link.startswith("#") or _URL.match(link):
                return None
            # Any other link is to a file on the author's disk, relative or absolute.
            name = _file_name(link)
            return (name, "author") if name != attr.value else None
        _refuse_css(attr.value, style=attr.local == "style")
        return None

    def text(self, ns: str, local: str, text: str) -> tuple[str, str] | None:
        if local == "style":
            _refuse_css(text, style=True)
        return None


def scrub(body: bytes, budget: Budget, nested: Nested) -> tuple[bytes, set[str]]:
    """The SVG rewritten without its metadata, its inline pictures scrubbed."""
    policy = _SvgPolicy(budget, nested)
    out, found = rewrite(body, policy)
    return out, found | policy.removed
