"""A streaming XML rewriter for office documents, on the standard library's expat.

It copies a document event by event, keeping namespace prefixes exactly as written
(Office applications read ``mc:Ignorable`` by prefix), and lets a :class:`Policy` drop
elements, drop or blank attributes, empty an element's content and rewrite its text
(each run of text between two tags is handed over whole: the comments and processing
instructions that may split it are dropped). A document type declaration (and with it every
entity declaration: the "billion laughs") is refused, as OOXML and ODF forbid them.

``rewrite`` returns the new bytes (always UTF-8) and the kinds of metadata the policy
reported; run on an already clean document it reports nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.parsers import expat

from .errors import MalformedFileError

__all__ = ["Attr", "Decision", "Policy", "rewrite"]

_XMLNS = "http://www.w3.org/XML/1998/namespace"


@dataclass(frozen=True)
class Attr:
    name: str  # as written, with its prefix
    ns: str
    local: str
    value: str


@dataclass(frozen=True)
class Decision:
    """What to do with an element: drop it whole, or empty its content (keeping the
    element), and which kind of metadata that removes ("" to report nothing)."""

    drop: bool = False
    empty: bool = False
    kind: str = "other"


class Policy:
    """Override to decide. The defaults keep everything."""

    def element(
        self, ns: str, local: str, attrs: list[Attr], parents: list[tuple[str, str]]
    ) -> Decision | None:
        """What to do with an element; ``parents`` are its ancestors, outermost first."""
        return None

    def attribute(self, ns: str, local: str, attr: Attr) -> tuple[str | None, str] | None:
        """``None`` keeps the attribute; ``(new value or None to drop it, kind)`` changes it."""
        return None

    def text(self, ns: str, local: str, text: str) -> tuple[str, str] | None:
        """``None`` keeps a run of text inside element ``(ns, local)``; ``(new text, kind)``
        changes it."""
        return None


def _escape_text(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _escape_attr(value: str) -> str:
    return _escape_text(value).replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")


class _Rewriter:
    def __init__(self, policy: Policy, max_depth: int) -> None:
        self.policy = policy
        self.max_depth = max_depth
        self.out: list[str] = []
        self.found: set[str] = set()
        self.scopes: list[dict[str, str]] = [{"xml": _XMLNS}]
        self.names: list[tuple[str, str]] = []  # (namespace, local name) of open elements
        self.skip = 0  # depth inside a dropped element
        self.empty = 0  # depth inside an emptied element
        self.open_tag = False  # a start tag is written without its closing '>'
        self.pending: list[str] = []  # the text run being read, not yet written
        self.empty_kind = "other"
        self.decl = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

    def _resolve(self, name: str, scope: dict[str, str], *, attribute: bool) -> tuple[str, str]:
        prefix, _, local = name.rpartition(":")
        if not prefix:
            return ("" if attribute else scope.get("", "")), local
        return scope.get(prefix, "?" + prefix), local

    def _close_tag(self) -> None:
        if self.open_tag:
            self.out.append(">")
            self.open_tag = False

    def _flush_text(self) -> None:
        if not self.pending:
            return
        data = "".join(self.pending)
        self.pending = []
        ns, local = self.names[-1] if self.names else ("", "")
        change = self.policy.text(ns, local, data)
        if change is not None:
            new, kind = change
            if new != data and kind:
                self.found.add(kind)
            data = new
        self._close_tag()
        self.out.append(_escape_text(data))

    def start(self, name: str, raw: list[str]) -> None:
        self._flush_text()
        if self.skip or self.empty:
            if self.skip:
                self.skip += 1
            else:
                self.empty += 1
                if self.empty_kind:
                    self.found.add(self.empty_kind)
            self.scopes.append(self.scopes[-1])
            return
        if len(self.scopes) > self.max_depth:
            raise MalformedFileError("XML nested too deeply")
        scope = self.scopes[-1]
        pairs = list(zip(raw[::2], raw[1::2], strict=True))
        if any(key.startswith("xmlns") for key in raw[::2]):
            scope = dict(scope)
            for key, declared in pairs:
                if key == "xmlns":
                    scope[""] = declared
                elif key.startswith("xmlns:"):
                    scope[key[6:]] = declared
        self.scopes.append(scope)
        ns, local = self._resolve(name, scope, attribute=False)
        attrs = []
        for key, raw_value in pairs:
            if key == "xmlns" or key.startswith("xmlns:"):
                attrs.append(Attr(key, "xmlns", key, raw_value))
                continue
            ans, alocal = self._resolve(key, scope, attribute=True)
            attrs.append(Attr(key, ans, alocal, raw_value))
        decision = self.policy.element(ns, local, attrs, self.names)
        if decision is not None and decision.drop:
            if decision.kind:
                self.found.add(decision.kind)
            self.skip = 1
            return
        self.names.append((ns, local))
        self._close_tag()
        parts = ["<", name]
        for attr in attrs:
            value: str | None = attr.value
            change = None if attr.ns == "xmlns" else self.policy.attribute(ns, local, attr)
            if change is not None:
                value, kind = change
                if value != attr.value and kind:
                    self.found.add(kind)
            if value is not None:
                parts.append(f' {attr.name}="{_escape_attr(value)}"')
        self.out.append("".join(parts))
        self.open_tag = True
        if decision is not None and decision.empty:
            self.empty = 1
            self.empty_kind = decision.kind

    def end(self, name: str) -> None:
        self._flush_text()
        self.scopes.pop()
        if self.skip:
            self.skip -= 1
            return
        if self.empty > 1:
            self.empty -= 1
            return
        if self.empty == 1:
            self.empty = 0
        self.names.pop()
        if self.open_tag:
            self.out.append("/>")
            self.open_tag = False
        else:
            self.out.append(f"</{name}>")

    def text(self, data: str) -> None:
        if self.skip:
            return
        if self.empty:
            if data.strip() and self.empty_kind:
                self.found.add(self.empty_kind)
            return
        self.pending.append(data)

    def xml_decl(self, version: str | None, encoding: str | None, standalone: int) -> None:
        flag = {1: ' standalone="yes"', 0: ' standalone="no"'}.get(standalone, "")
        self.decl = f'<?xml version="1.0" encoding="UTF-8"{flag}?>\n'


def _refuse_doctype(*_: object) -> None:
    raise MalformedFileError("XML with a document type declaration")


def rewrite(data: bytes, policy: Policy, *, max_depth: int = 512) -> tuple[bytes, set[str]]:
    """``data`` rewritten under ``policy``, and the kinds of metadata it removed."""
    state = _Rewriter(policy, max_depth)
    parser = expat.ParserCreate()
    parser.ordered_attributes = True
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    parser.StartElementHandler = state.start
    parser.EndElementHandler = state.end
    parser.CharacterDataHandler = state.text
    parser.XmlDeclHandler = state.xml_decl
    parser.CommentHandler = lambda _text: None
    parser.ProcessingInstructionHandler = lambda _target, _data: None
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise MalformedFileError("a broken XML part") from exc
    if state.skip or state.empty or len(state.scopes) != 1:
        raise MalformedFileError("a broken XML part")
    return (state.decl + "".join(state.out)).encode("utf-8"), state.found
