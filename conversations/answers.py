"""Answer values: what a tipster's answer to one question is, once validated.

Each is a small frozen dataclass with a stable JSON form (``to_json``/``answer_from_json``),
used both in the encrypted draft and in the sealed transcript.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "AnswerValue",
    "AttachmentInfo",
    "AttachmentsAnswer",
    "ChoiceAnswer",
    "CountryAnswer",
    "LocationAnswer",
    "Skipped",
    "TextAnswer",
    "answer_from_json",
    "answer_to_json",
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
class AttachmentInfo:
    ref: str
    kind: str
    size: int | None = None
    caption: str | None = None


@dataclass(frozen=True)
class AttachmentsAnswer:
    files: tuple[AttachmentInfo, ...] = ()


AnswerValue = (
    Skipped | ChoiceAnswer | TextAnswer | CountryAnswer | LocationAnswer | AttachmentsAnswer
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
        case AttachmentsAnswer(files):
            return {
                "type": "attachments",
                "files": [
                    {"ref": f.ref, "kind": f.kind, "size": f.size, "caption": f.caption}
                    for f in files
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
        if kind == "attachments":
            files = data["files"]
            if not isinstance(files, list):
                raise ValueError("files is not a list")
            return AttachmentsAnswer(tuple(_attachment(f) for f in files))
    except KeyError as exc:
        raise ValueError(f"answer lacks {exc}") from exc
    raise ValueError(f"unknown answer type {kind!r}")


def _attachment(data: Any) -> AttachmentInfo:
    if not isinstance(data, dict):
        raise ValueError("attachment is not an object")
    size = data.get("size")
    caption = data.get("caption")
    return AttachmentInfo(
        _str(data["ref"]),
        _str(data["kind"]),
        None if size is None else _int(size),
        None if caption is None else _str(caption),
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
