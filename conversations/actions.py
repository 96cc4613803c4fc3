"""What a channel must do after the engine handled an event.

Every text is a :class:`~conversations.messages.Msg` (or a name the adapter looks up in
CLDR), rendered by the adapter in ``lang``. The engine never renders text itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .answers import AnswerValue, answer_from_json, answer_to_json
from .messages import Msg, MsgList

__all__ = [
    "Action",
    "Ask",
    "ChannelAction",
    "CheckReceipt",
    "CountryName",
    "Discard",
    "End",
    "FetchAttachment",
    "Label",
    "LanguageName",
    "Option",
    "Plain",
    "Say",
    "SendFollowup",
    "ShowSummary",
    "Submit",
    "SummaryItem",
    "Wipe",
    "action_from_json",
    "action_to_json",
]


@dataclass(frozen=True)
class LanguageName:
    """A language's name, shown in that language itself (from CLDR)."""

    code: str


@dataclass(frozen=True)
class CountryName:
    """A country's name in the tipster's language (from CLDR)."""

    code: str


@dataclass(frozen=True)
class Plain:
    """Text shown as it is: a species' common name from the catalogue, already in the
    tipster's language."""

    text: str


Label = Msg | LanguageName | CountryName | Plain


@dataclass(frozen=True)
class Option:
    id: str
    label: Label


Expects = Literal["choice", "text", "location", "attachments"]


@dataclass(frozen=True)
class Say:
    msg: Msg
    lang: str


@dataclass(frozen=True)
class Ask:
    """Ask a question. ``step`` goes into callback data and comes back in
    :class:`~conversations.events.Choose`; ``expects`` tells the adapter which input the
    question wants besides the options (free text, a location pin, files)."""

    step: str
    prompt: Msg
    options: tuple[Option, ...]
    expects: Expects
    lang: str
    skippable: bool = False
    can_go_back: bool = False


@dataclass(frozen=True)
class SummaryItem:
    step: str
    label: Msg
    value: AnswerValue


@dataclass(frozen=True)
class ShowSummary:
    items: tuple[SummaryItem, ...]
    lang: str


@dataclass(frozen=True)
class FetchAttachment:
    """Fetch this attachment's bytes and keep them (encrypted) with the draft, scrubbed,
    and with any voice in it disguised unless ``keep_voice`` (the tipster said it is
    someone else's voice: evidence, kept as recorded)."""

    ref: str
    keep_voice: bool = False


@dataclass(frozen=True)
class Submit:
    """Build the transcript from the state, seal it, make it durable, then send back
    :class:`~conversations.events.Submitted` or :class:`~conversations.events.SubmitFailed`."""


@dataclass(frozen=True)
class CheckReceipt:
    """Look the receipt code up (rate-limited), then send back ReceiptChecked. The code
    travels in this action only; it is never part of the state."""

    code: str


@dataclass(frozen=True)
class SendFollowup:
    """Seal the tipster's follow-up text to the reviewers and add it to the case found by
    the last CheckReceipt, then send back FollowupSent or FollowupFailed."""

    text: str


@dataclass(frozen=True)
class Discard:
    """Delete the draft and every attachment kept with it, now."""


@dataclass(frozen=True)
class Wipe:
    """Delete the conversation from the tipster's device, as far as the channel allows."""


@dataclass(frozen=True)
class End:
    """The conversation is over; the channel forgets it."""


Action = (
    Say
    | Ask
    | ShowSummary
    | FetchAttachment
    | Submit
    | Discard
    | Wipe
    | End
    | CheckReceipt
    | SendFollowup
)


# --------------------------------------------------------------------------- JSON form
#: The actions a channel carries out. Only these are kept in an outbox (see
#: :func:`action_to_json`): storage actions are the intake's and never replayed.
ChannelAction = Say | Ask | ShowSummary | FetchAttachment | End


def action_to_json(action: ChannelAction) -> dict[str, Any]:
    """A channel action as JSON, so that the replies of a step can be kept with the draft
    and carried out again after a crash, exactly as they were."""
    match action:
        case Say(msg, lang):
            return {"do": "say", "msg": _msg_to_json(msg), "lang": lang}
        case Ask():
            return {
                "do": "ask",
                "step": action.step,
                "prompt": _msg_to_json(action.prompt),
                "options": [[o.id, _label_to_json(o.label)] for o in action.options],
                "expects": action.expects,
                "lang": action.lang,
                "skippable": action.skippable,
                "back": action.can_go_back,
            }
        case ShowSummary(items, lang):
            return {
                "do": "summary",
                "items": [[i.step, _msg_to_json(i.label), answer_to_json(i.value)] for i in items],
                "lang": lang,
            }
        case FetchAttachment(ref, keep_voice):
            return {"do": "fetch", "ref": ref, "keep_voice": keep_voice}
        case End():
            return {"do": "end"}


def action_from_json(data: Any) -> ChannelAction:
    """Inverse of :func:`action_to_json`; raises ``ValueError`` on anything malformed."""
    if not isinstance(data, dict):
        raise ValueError("action is not an object")
    kind = data.get("do")
    try:
        if kind == "say":
            return Say(_msg_from_json(data["msg"]), _text(data["lang"]))
        if kind == "ask":
            expects = data["expects"]
            if expects not in ("choice", "text", "location", "attachments"):
                raise ValueError("unknown expectation")
            return Ask(
                _text(data["step"]),
                _msg_from_json(data["prompt"]),
                tuple(Option(_text(i), _label_from_json(lb)) for i, lb in _pairs(data["options"])),
                expects,
                _text(data["lang"]),
                _flag(data["skippable"]),
                _flag(data["back"]),
            )
        if kind == "summary":
            items = []
            for entry in _items(data["items"]):
                if not isinstance(entry, list) or len(entry) != 3:
                    raise ValueError("summary item is not a triple")
                step, label, value = entry
                items.append(
                    SummaryItem(_text(step), _msg_from_json(label), answer_from_json(value))
                )
            return ShowSummary(tuple(items), _text(data["lang"]))
        if kind == "fetch":
            return FetchAttachment(_text(data["ref"]), _flag(data.get("keep_voice", False)))
        if kind == "end":
            return End()
    except KeyError as exc:
        raise ValueError(f"action lacks {exc}") from exc
    raise ValueError(f"unknown action {kind!r}")


def _msg_to_json(msg: Msg) -> dict[str, Any]:
    values: list[list[Any]] = []
    for name, value in msg.values:
        if isinstance(value, MsgList):
            values.append([name, {"list": list(value.ids)}])
        else:
            values.append([name, value])
    return {"id": msg.id, "values": values, "plural": msg.plural, "n": msg.n}


def _msg_from_json(data: Any) -> Msg:
    if not isinstance(data, dict):
        raise ValueError("message is not an object")
    values: list[tuple[str, str | int | MsgList]] = []
    for name, value in _pairs(data.get("values", [])):
        if isinstance(value, dict):
            values.append((_text(name), MsgList(tuple(_text(i) for i in _items(value["list"])))))
        elif isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            values.append((_text(name), value))
        else:
            raise ValueError("message value is neither text, number nor list")
    plural, n = data.get("plural"), data.get("n")
    if plural is not None:
        plural = _text(plural)
    if n is not None and (not isinstance(n, int) or isinstance(n, bool)):
        raise ValueError("plural count is not a number")
    return Msg(_text(data["id"]), tuple(values), plural, n)


def _label_to_json(label: Label) -> dict[str, Any]:
    match label:
        case Msg():
            return {"msg": _msg_to_json(label)}
        case LanguageName(code):
            return {"language": code}
        case CountryName(code):
            return {"country": code}
        case Plain(text):
            return {"plain": text}


def _label_from_json(data: Any) -> Label:
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError("label is not a one-key object")
    ((kind, value),) = data.items()
    if kind == "msg":
        return _msg_from_json(value)
    if kind == "language":
        return LanguageName(_text(value))
    if kind == "country":
        return CountryName(_text(value))
    if kind == "plain":
        return Plain(_text(value))
    raise ValueError(f"unknown label {kind!r}")


def _items(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError("expected a list")
    return value


def _pairs(value: Any) -> list[tuple[Any, Any]]:
    out = []
    for item in _items(value):
        if not isinstance(item, list) or len(item) != 2:
            raise ValueError("expected a pair")
        out.append((item[0], item[1]))
    return out


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value
