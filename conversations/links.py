"""Web addresses in what a tipster typed: found, split into parts, defanged. Never fetched.

Nothing here resolves a name or opens a connection (the engine does no I/O at all); a link
is text that is parsed, kept and shown. Two readings:

* :func:`parse_links` reads the answer to a ``links`` question, where the tipster was
  asked for addresses: any word that is a host (a domain name with a top-level domain of
  letters, an IPv4 address, a bracketed IPv6 address, or any host after ``http://`` or
  ``https://``), with an optional port, path, query and fragment, is a link.
* :func:`mentions_link` reads free text (a description), where a dotted word is more often
  an abbreviation than an address: there a word counts only when it carries a scheme,
  starts with ``www.``, is an onion address, an IP address with a port or path, or ends in
  one of the common top-level domains below.

:func:`defang` writes a link so that no app or terminal makes it clickable
(``hxxps://example[.]com/path``); :func:`defang_text` does that to every link in a text.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .answers import LinkItem

__all__ = [
    "MAX_LINKS",
    "ParsedLinks",
    "defang",
    "defang_text",
    "mentions_link",
    "parse_links",
]

#: At most this many links are kept from one answer.
MAX_LINKS = 20
_SCHEMES = ("http", "https")
_LINK = re.compile(
    r"^(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s/?#:@\[\]]+)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>/[^\s?#]*)?"
    r"(?:\?(?P<query>[^\s#]*))?"
    r"(?:#(?P<fragment>\S*))?$"
)
# A word in a text: what is between spaces, less the punctuation around it.
_WORD = re.compile(r"[^\s<>\"'«»“”‘’，。、；：]+")
_TRAILING = ".,;:!?…)]}"
_LEADING = "([{"
_LABEL = re.compile(r"^(?!-)[\w-]{1,63}(?<!-)$")
# Common top-level domains: enough to recognise an address mentioned in passing.
_COMMON_TLDS = frozenset(
    """
    com net org info biz io co me app shop store online site xyz top club live market
    asia mobi tv cc ly gl be to ws pro link click blog news page web ke tz ug rw bi cd
    cg cm ng gh za zm zw mw mz ao na bw ls sz mg mu et so sd ss er dj sn ci ml bf ne td
    cf ga gq st lr sl gn gw gm mr ma dz tn ly eg in pk bd lk np mm th la kh vn my sg id
    ph cn hk mo tw jp kr mn ru ua by kz uz br ar cl pe mx es pt fr de it nl uk us ca au
    nz ae sa qa tr ir
    """.split()  # noqa: SIM905
)


@dataclass(frozen=True)
class ParsedLinks:
    """The links found in a text, and the words that looked like links with a scheme
    other than http or https (``refused``)."""

    links: tuple[LinkItem, ...] = ()
    refused: tuple[str, ...] = ()


def _words(text: str) -> list[str]:
    out = []
    for match in _WORD.finditer(text):
        word = match.group(0).lstrip(_LEADING).rstrip(_TRAILING)
        if word:
            out.append(word)
    return out


def _host_kind(host: str) -> str | None:
    """``ip``, ``name``, ``single`` (one label, like ``localhost``) or None if not a host."""
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
        return "ip"
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return None
        return "ip"
    labels = host.rstrip(".").split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return None
    if len(labels) == 1:
        return "single"
    tld = labels[-1]
    if tld.lower().startswith("xn--") or (tld.isalpha() and len(tld) >= 2):
        return "name"
    return None


def _parse(word: str, *, strict: bool) -> LinkItem | str | None:
    """A word as a link, or the word itself when its scheme is refused, or None."""
    found = _LINK.match(word)
    if found is None:
        return None
    scheme, host = found.group("scheme"), found.group("host")
    kind = _host_kind(host)
    if kind is None or (kind == "single" and scheme is None):
        return None
    port_text, path = found.group("port"), found.group("path") or ""
    query, fragment = found.group("query"), found.group("fragment")
    port = int(port_text) if port_text else None
    if port is not None and not 1 <= port <= 65535:
        return None
    onion = kind == "name" and host.lower().rstrip(".").endswith(".onion")
    if strict and scheme is None:
        tld = host.rstrip(".").rsplit(".", 1)[-1].lower()
        common = kind == "name" and (tld in _COMMON_TLDS or host.lower().startswith("www."))
        addressed = kind == "ip" and (port is not None or bool(path))
        if not (common or addressed or onion):
            return None
    if scheme is not None and scheme.lower() not in _SCHEMES:
        return word
    return LinkItem(word, host, scheme, port, path, query, fragment, onion)


def parse_links(text: str) -> ParsedLinks:
    """Every link in the answer to a ``links`` question (at most :data:`MAX_LINKS`)."""
    links: list[LinkItem] = []
    refused: list[str] = []
    for word in _words(text):
        parsed = _parse(word, strict=False)
        if isinstance(parsed, LinkItem):
            if parsed not in links:
                links.append(parsed)
        elif isinstance(parsed, str):
            refused.append(parsed)
    return ParsedLinks(tuple(links[:MAX_LINKS]), tuple(refused))


def _may_link(word: str) -> bool:
    """Whether ``word`` can be a link read strictly: every such word has a scheme
    (``://``) or a dotted host (a name, an IPv4 address, an onion). Most words of a text
    have neither, and are not parsed at all."""
    return "." in word or "://" in word


def mentions_link(text: str) -> bool:
    """Does free text mention a web address (read strictly, see the module's docs)?"""
    return any(
        isinstance(_parse(word, strict=True), LinkItem) for word in _words(text) if _may_link(word)
    )


def _defang_rest(text: str) -> str:
    return re.sub(r"(?i)\bhttp", lambda m: "hxxp" if m.group(0) == "http" else "hXXp", text)


def defang(link: LinkItem) -> str:
    """The link as text nobody's app will open: ``hxxps://example[.]com/path?q``. Every dot
    of the host is bracketed, and any address inside the path or query is defanged too."""
    out = ""
    if link.scheme is not None:
        out = link.scheme.replace("t", "x").replace("T", "X") + "://"
    out += link.host.replace(".", "[.]")
    if link.port is not None:
        out += f":{link.port}"
    rest = link.path
    if link.query is not None:
        rest += "?" + link.query
    if link.fragment is not None:
        rest += "#" + link.fragment
    return out + _defang_rest(rest).replace(".", "[.]")


def defang_text(text: str) -> str:
    """Free text with every link in it (read as :func:`mentions_link` reads) defanged; a
    word with another scheme (``ftp://``) is defanged as well."""
    out: list[str] = []
    last = 0
    for match in _WORD.finditer(text):
        raw = match.group(0)
        word = raw.lstrip(_LEADING).rstrip(_TRAILING)
        parsed = _parse(word, strict=True) if _may_link(word) else None
        if parsed is None:
            continue
        shown = (
            defang(parsed)
            if isinstance(parsed, LinkItem)
            else _defang_rest(parsed).replace("://", "[://]").replace(".", "[.]")
        )
        start = match.start() + len(raw) - len(raw.lstrip(_LEADING))
        out += [text[last:start], shown]
        last = start + len(word)
    out.append(text[last:])
    return "".join(out)
