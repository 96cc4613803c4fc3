"""Answer values: what a tipster's answer to one question is, once validated.

Each is a small frozen dataclass with a stable JSON form (``to_json``/``answer_from_json``),
used both in the encrypted draft and in the sealed transcript.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "VOICE_CHOICES",
    "AnswerValue",
    "AttachmentInfo",
    "AttachmentsAnswer",
    "ChoiceAnswer",
    "CountryAnswer",
    "LinkItem",
    "LinksAnswer",
    "LocationAnswer",
    "Skipped",
    "SpeciesAnswer",
    "SpeciesItem",
    "TextAnswer",
    "answer_from_json",
    "answer_to_json",
    "partial_json",
]


@dataclass(frozen=True)
class Skipped:
    """The tipster chose "I don't know / prefer not to say"."""


@dataclass(frozen=True)
class ChoiceAnswer:
    option: str


@dataclass(frozen=True)
class TextAnswer:
    text: str


@dataclass(frozen=True)
class CountryAnswer:
    code: str
    typed: str


@dataclass(frozen=True)
class LocationAnswer:
    """A pin after the tipster's precision was applied. ``precision`` is one of
    ``exact``, ``1km``, ``10km``, ``country``; for ``country`` no coordinates are kept."""

    precision: str
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class SpeciesItem:
    """One species or product the tipster named. ``typed`` is always kept, as written.
    ``status``: ``chosen`` (the tipster picked ``taxon`` with ``product``), ``none`` (none
    of the proposals), ``unsure``, or ``unmatched`` (the catalogue proposed nothing).
    ``shown`` is the name the tipster picked, in their language; ``proposed`` the taxa
    offered when the tipster was not sure."""

    typed: str
    status: str
    taxon: str | None = None
    product: str | None = None
    shown: str | None = None
    proposed: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpeciesAnswer:
    items: tuple[SpeciesItem, ...] = ()


#: Whose voice a recording holds, as the tipster said: their own (disguised), someone
#: else's (kept as evidence), or they do not know (disguised).
VOICE_CHOICES: Final = ("own", "other", "unsure")


@dataclass(frozen=True)
class AttachmentInfo:
    """A file sent. Once scrubbed: the detected ``kind``, the scrubbed ``size``, its
    ``sha256`` and the kinds of metadata ``removed`` (``scrubbed`` is then true). A
    video or audio file of which only a part could be kept is ``partial``: the seconds
    kept, and the seconds its header declared (``None`` when it declared none)."""

    ref: str
    kind: str
    size: int | None = None
    caption: str | None = None
    sha256: str | None = None
    removed: tuple[str, ...] = ()
    scrubbed: bool = False
    kept_seconds: float | None = None
    declared_seconds: float | None = None
    #: For a voice note, audio file or video: whose voice the tipster said it is
    #: (VOICE_CHOICES), and whether the voice was disguised before it was kept.
    voice: str | None = None
    disguised: bool = False

    @property
    def partial(self) -> bool:
        return self.kept_seconds is not None


def partial_json(info: AttachmentInfo) -> dict[str, float | None] | None:
    """The ``partial`` field of an attachment (draft and transcript): ``None`` for a
    whole file."""
    if info.kept_seconds is None:
        return None
    return {"kept_seconds": info.kept_seconds, "declared_seconds": info.declared_seconds}


@dataclass(frozen=True)
class AttachmentsAnswer:
    files: tuple[AttachmentInfo, ...] = ()


@dataclass(frozen=True)
class LinkItem:
    """One web address as the tipster typed it, in its parts, each kept as typed (no
    lowercasing, no percent-decoding). ``scheme`` is ``http``, ``https`` or None (none
    typed); ``onion`` says the host is a Tor onion service. Never fetched."""

    typed: str
    host: str
    scheme: str | None = None
    port: int | None = None
    path: str = ""
    query: str | None = None
    fragment: str | None = None
    onion: bool = False


@dataclass(frozen=True)
class LinksAnswer:
    """The links of one message (``typed``, the whole text as written)."""

    typed: str
    links: tuple[LinkItem, ...] = ()


AnswerValue = (
    Skipped
    | ChoiceAnswer
    | TextAnswer
    | CountryAnswer
    | LocationAnswer
    | AttachmentsAnswer
    | SpeciesAnswer
    | LinksAnswer
)


def answer_to_json(value: AnswerValue) -> dict[str, Any]:
    match value:
        case Skipped():
            return {"type": "skipped"}
        case ChoiceAnswer(option):
            return {"type": "choice", "option": option}
        case TextAnswer(text):
            return {"type": "text", "text": text}
        case CountryAnswer(code, typed):
            return {"type": "country", "code": code, "typed": typed}
        case LocationAnswer(precision, latitude, longitude):
            out: dict[str, Any] = {"type": "location", "precision": precision}
            if latitude is not None and longitude is not None:
                out["latitude"] = latitude
                out["longitude"] = longitude
            return out
        case SpeciesAnswer(items):
            return {
                "type": "species",
                "items": [
                    {
                        "typed": i.typed,
                        "status": i.status,
                        "taxon": i.taxon,
                        "product": i.product,
                        "shown": i.shown,
                        "proposed": list(i.proposed),
                    }
                    for i in items
                ],
            }
        case AttachmentsAnswer(files):
            return {
                "type": "attachments",
                "files": [
                    {
                        "ref": f.ref,
                        "kind": f.kind,
                        "size": f.size,
                        "caption": f.caption,
                        "sha256": f.sha256,
                        "removed": list(f.removed),
                        "scrubbed": f.scrubbed,
                        "partial": partial_json(f),
                        "voice": f.voice,
                        "disguised": f.disguised,
                    }
                    for f in files
                ],
            }
        case LinksAnswer(typed, links):
            return {
                "type": "links",
                "typed": typed,
                "links": [
                    {
                        "typed": link.typed,
                        "scheme": link.scheme,
                        "host": link.host,
                        "port": link.port,
                        "path": link.path,
                        "query": link.query,
                        "fragment": link.fragment,
                        "onion": link.onion,
                    }
                    for link in links
                ],
            }


def answer_from_json(data: Any) -> AnswerValue:
    """Inverse of :func:`answer_to_json`; raises ``ValueError`` on anything malformed."""
    if not isinstance(data, dict):
        raise ValueError("answer is not an object")
    kind = data.get("type")
    try:
        if kind == "skipped":
            return Skipped()
        if kind == "choice":
            return ChoiceAnswer(_str(data["option"]))
        if kind == "text":
            return TextAnswer(_str(data["text"]))
        if kind == "country":
            return CountryAnswer(_str(data["code"]), _str(data["typed"]))
        if kind == "location":
            lat, lon = data.get("latitude"), data.get("longitude")
            if (lat is None) != (lon is None):
                raise ValueError("location needs both coordinates or neither")
            return LocationAnswer(
                _str(data["precision"]),
                None if lat is None else _float(lat),
                None if lon is None else _float(lon),
            )
        if kind == "species":
            items = data["items"]
            if not isinstance(items, list):
                raise ValueError("items is not a list")
            return SpeciesAnswer(tuple(_species_item(i) for i in items))
        if kind == "attachments":
            files = data["files"]
            if not isinstance(files, list):
                raise ValueError("files is not a list")
            return AttachmentsAnswer(tuple(_attachment(f) for f in files))
        if kind == "links":
            links = data["links"]
            if not isinstance(links, list):
                raise ValueError("links is not a list")
            return LinksAnswer(_str(data["typed"]), tuple(_link(i) for i in links))
    except KeyError as exc:
        raise ValueError(f"answer lacks {exc}") from exc
    raise ValueError(f"unknown answer type {kind!r}")


def _species_item(data: Any) -> SpeciesItem:
    if not isinstance(data, dict):
        raise ValueError("species item is not an object")
    proposed = data.get("proposed", [])
    if not isinstance(proposed, list):
        raise ValueError("proposed is not a list")
    return SpeciesItem(
        _str(data["typed"]),
        _str(data["status"]),
        _opt(data.get("taxon")),
        _opt(data.get("product")),
        _opt(data.get("shown")),
        tuple(_str(p) for p in proposed),
    )


def _opt(value: Any) -> str | None:
    return None if value is None else _str(value)


def _attachment(data: Any) -> AttachmentInfo:
    if not isinstance(data, dict):
        raise ValueError("attachment is not an object")
    size = data.get("size")
    caption = data.get("caption")
    removed = data.get("removed", [])
    if not isinstance(removed, list):
        raise ValueError("removed is not a list")
    scrubbed = data.get("scrubbed", False)
    if not isinstance(scrubbed, bool):
        raise ValueError("scrubbed is not a boolean")
    kept: float | None = None
    declared: float | None = None
    partial = data.get("partial")
    if partial is not None:
        if not isinstance(partial, dict):
            raise ValueError("partial is not an object")
        kept = _float(partial["kept_seconds"])
        declared_value = partial.get("declared_seconds")
        declared = None if declared_value is None else _float(declared_value)
    voice = data.get("voice")
    if voice is not None and voice not in VOICE_CHOICES:
        raise ValueError("unknown voice choice")
    disguised = data.get("disguised", False)
    if not isinstance(disguised, bool):
        raise ValueError("disguised is not a boolean")
    return AttachmentInfo(
        _str(data["ref"]),
        _str(data["kind"]),
        None if size is None else _int(size),
        None if caption is None else _str(caption),
        _opt(data.get("sha256")),
        tuple(_str(r) for r in removed),
        scrubbed,
        kept,
        declared,
        voice,
        disguised,
    )


def _link(data: Any) -> LinkItem:
    if not isinstance(data, dict):
        raise ValueError("link is not an object")
    port = data.get("port")
    onion = data.get("onion", False)
    if not isinstance(onion, bool):
        raise ValueError("onion is not a boolean")
    return LinkItem(
        _str(data["typed"]),
        _str(data["host"]),
        _opt(data.get("scheme")),
        None if port is None else _int(port),
        _str(data.get("path", "")),
        _opt(data.get("query")),
        _opt(data.get("fragment")),
        onion,
    )


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("expected an integer")
    return value


def _float(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError("expected a number")
    return float(value)
