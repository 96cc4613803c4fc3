"""Opening a queued tip on the reviewer's machine: decrypt, parse, check.

:func:`open_tip` either returns an :class:`OpenedTip` or raises :class:`TipUnreadable`
whose ``reason`` names what is wrong without quoting any of the tip (it may end up in the
dead-letter stream, which is not sealed). ``key_problem`` tells a tip that none of the
given identities opens (it may still be fine for another reviewer) from one that is
broken for everybody (a damaged age file, or a document that is not a transcript).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from privacy import AgeError, NoIdentityMatchError, X25519Identity, decrypt
from storage.queue import QueuedTip

__all__ = [
    "SUPPORTED_SCHEMA",
    "OpenedTip",
    "TipUnreadable",
    "check_transcript",
    "open_blob",
    "open_tip",
]

#: The transcript ``schema_version`` this tool reads (docs/transcript.md).
SUPPORTED_SCHEMA = 1


class TipUnreadable(Exception):
    """A tip that cannot be opened or is not a transcript."""

    def __init__(self, reason: str, *, key_problem: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.key_problem = key_problem


@dataclass(frozen=True)
class OpenedTip:
    """A decrypted tip. ``plaintext`` is the transcript exactly as sealed (JSON, UTF-8);
    the attachments stay sealed until they are exported."""

    case_id: str
    entry_id: str
    transcript: dict[str, Any]
    plaintext: bytes
    sealed_attachments: tuple[bytes, ...]

    @property
    def language(self) -> str:
        return str(self.transcript.get("language") or "")

    @property
    def received_on(self) -> date | None:
        try:
            return date.fromisoformat(str(self.transcript.get("received_on")))
        except ValueError:
            return None

    @property
    def answers(self) -> dict[str, Any]:
        answers = self.transcript.get("answers")
        return answers if isinstance(answers, dict) else {}

    @property
    def listed_attachments(self) -> list[dict[str, Any]]:
        listed = self.transcript.get("attachments")
        return [a for a in listed if isinstance(a, dict)] if isinstance(listed, list) else []


def open_blob(sealed: bytes, identities: Sequence[X25519Identity]) -> bytes:
    """Decrypt one age file; TipUnreadable (``key_problem`` when no identity matched)."""
    if not identities:
        raise TipUnreadable("no identity to decrypt with", key_problem=True)
    try:
        return decrypt(sealed, identities)
    except NoIdentityMatchError as exc:
        raise TipUnreadable("not sealed to any of these identities", key_problem=True) from exc
    except AgeError as exc:
        raise TipUnreadable(f"cannot be decrypted: {type(exc).__name__}: {exc}") from exc


def check_transcript(doc: Any, case_id: str) -> dict[str, Any]:
    """``doc`` if it is a transcript of ``case_id`` this tool can read; ValueError naming
    the first problem otherwise."""
    if not isinstance(doc, dict):
        raise ValueError("the document is not a JSON object")
    version = doc.get("schema_version")
    if version != SUPPORTED_SCHEMA or isinstance(version, bool):
        raise ValueError(f"unsupported schema_version {str(version)[:20]!r}")
    if doc.get("case_id") != case_id:
        raise ValueError("the transcript belongs to another case")
    for name, kind in (("answers", dict), ("transcript", list), ("attachments", list)):
        if not isinstance(doc.get(name, kind()), kind):
            raise ValueError(f"{name} has the wrong type")
    if not isinstance(doc.get("language", ""), str):
        raise ValueError("language has the wrong type")
    return doc


def open_tip(tip: QueuedTip, identities: Sequence[X25519Identity]) -> OpenedTip:
    """Decrypt and check a queued tip (not its attachments)."""
    plaintext = open_blob(tip.sealed, identities)
    try:
        doc = json.loads(plaintext.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise TipUnreadable("not a transcript: not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise TipUnreadable(f"not a transcript: invalid JSON ({exc.msg})") from exc
    try:
        transcript = check_transcript(doc, tip.case_id)
    except ValueError as exc:
        raise TipUnreadable(f"not a transcript: {exc}") from exc
    return OpenedTip(tip.case_id, tip.entry_id, transcript, plaintext, tip.attachments)
