"""What a channel must do after the engine handled an event.

Every text is a :class:`~conversations.messages.Msg` (or a name the adapter looks up in
CLDR), rendered by the adapter in ``lang``. The engine never renders text itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .answers import AnswerValue
from .messages import Msg

__all__ = [
    "Action",
    "Ask",
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
    """Fetch this attachment's bytes and keep them (encrypted) with the draft."""

    ref: str


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
