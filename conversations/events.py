"""Normalised inputs to the engine.

An adapter turns whatever its channel delivers (a Telegram update, a console line, an
operator's keystroke) into exactly one of these. They carry no platform identifiers:
no user id, chat id, username, name, phone number or timestamp (rule P1).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Attachment",
    "AttachmentFailed",
    "AttachmentScrubbed",
    "Back",
    "Cancel",
    "ChangeLanguage",
    "Choose",
    "Event",
    "FollowUp",
    "FollowupFailed",
    "FollowupSent",
    "Help",
    "Location",
    "ReceiptChecked",
    "ShowSafety",
    "Skip",
    "Start",
    "SubmitFailed",
    "Submitted",
    "Text",
]


@dataclass(frozen=True)
class Start:
    """The tipster opened the conversation (/start, or a first message).

    ``language_hint`` is the channel's guess (Telegram's language_code), used once for the
    language question and never stored. ``language`` is a choice already made (an operator
    who started the console with ``--lang``): the language question is then not asked.
    """

    language_hint: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Choose:
    """An option picked. ``step`` is the question the option was offered for, so a stale
    button from an earlier message, or forged callback data, is recognised."""

    step: str
    option: str


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Attachment:
    """A file the tipster sent. ``ref`` is the adapter's own opaque handle for fetching it
    (never a platform user or chat identifier)."""

    ref: str
    kind: str
    size: int | None = None
    caption: str | None = None


@dataclass(frozen=True)
class AttachmentFailed:
    """An attachment the engine accepted could not be fetched or kept. ``reason``:
    ``failed`` (fetching it failed), ``too_large``, or why it could not be scrubbed
    (``unsupported``, ``macros``, ``encrypted``, ``malformed``, ``bomb``, ``timeout``,
    ``verify_failed``): it is never kept unscrubbed."""

    ref: str
    reason: str = "failed"


@dataclass(frozen=True)
class AttachmentScrubbed:
    """An attachment was scrubbed and kept: its detected ``kind``, the scrubbed ``size``
    and ``sha256``, and the kinds of identifying metadata ``removed``. A video or audio
    file cut short, of which only the readable part was kept, has ``kept_seconds`` (and
    ``declared_seconds``, the length its header announced, when it announced one).
    ``voice_disguised``: the voice in it was changed before it was kept."""

    ref: str
    kind: str
    size: int
    sha256: str
    removed: tuple[str, ...] = ()
    kept_seconds: float | None = None
    declared_seconds: float | None = None
    voice_disguised: bool = False


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Back:
    pass


@dataclass(frozen=True)
class Skip:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class ChangeLanguage:
    pass


@dataclass(frozen=True)
class ShowSafety:
    pass


@dataclass(frozen=True)
class Submitted:
    """The sealed tip is durable (in the queue, or in the local spool). ``receipt`` is the
    follow-up code issued for it, when the tipster asked for one: shown once, not kept."""

    receipt: str | None = None


@dataclass(frozen=True)
class SubmitFailed:
    """Sealing or storing failed; the draft is intact and the tipster may retry."""


@dataclass(frozen=True)
class FollowUp:
    """The tipster wants to check for reviewers' questions with a receipt code."""

    language_hint: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class ReceiptChecked:
    """The result of a CheckReceipt: ``questions`` waiting for the tipster when the code
    is known; ``throttled`` when too many wrong codes were tried."""

    ok: bool
    questions: tuple[str, ...] = ()
    throttled: bool = False


@dataclass(frozen=True)
class FollowupSent:
    """The tipster's follow-up answer is sealed and stored."""


@dataclass(frozen=True)
class FollowupFailed:
    """The follow-up answer could not be stored; the tipster may try again."""


Event = (
    Start
    | Text
    | Choose
    | Location
    | Attachment
    | AttachmentFailed
    | AttachmentScrubbed
    | Cancel
    | Back
    | Skip
    | Help
    | ChangeLanguage
    | ShowSafety
    | Submitted
    | SubmitFailed
    | FollowUp
    | ReceiptChecked
    | FollowupSent
    | FollowupFailed
)

EVENT_TYPES: tuple[type[Event], ...] = (
    Start,
    Text,
    Choose,
    Location,
    Attachment,
    AttachmentFailed,
    AttachmentScrubbed,
    Cancel,
    Back,
    Skip,
    Help,
    ChangeLanguage,
    ShowSafety,
    Submitted,
    SubmitFailed,
    FollowUp,
    ReceiptChecked,
    FollowupSent,
    FollowupFailed,
)
