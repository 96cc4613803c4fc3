"""The chain of custody: who shared, exported or judged which case, and when.

Every share, export and verdict appends an entry, sealed to the reviewers like a tip, so
the bot host and whoever reads Redis learn only how many entries there are::

    {
      "schema_version": 1,
      "type": "custody",
      "seq": 12,                        # its place in the log, from 0
      "prev": "9f2c...",                # SHA-256 of the sealed entry 11 (zeros for 0)
      "action": "share",                # share | export | verdict
      "case_id": "7mjmvml2yydjclcjogmqgl3u",
      "reviewer": "alice",
      "day": "2026-12-05",              # the day only, never the time
      "details": {...}                  # per action, below
    }

``details``: for a share, ``to`` (the partner key's fingerprint, never the key),
``shared`` and ``withheld`` (field names), ``bundle_sha256`` and, when a high source risk
was overridden, ``override_risk`` (the reason given); for an export, ``files`` (how
many); for a verdict, ``verdict`` and ``risk``.

Because each entry holds the hash of the one before, changing an entry (which also
breaks its seal), removing one or reordering them shows at the next entry, and
:func:`verify` names where. Removing the newest entries leaves a shorter chain that is
still whole: compare the count and head hash that ``--verify`` prints with a copy kept
elsewhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from privacy import AgeError, X25519Identity, X25519Recipient, decrypt, encrypt
from storage.custody import CustodyStore

__all__ = [
    "ACTIONS",
    "CustodyBreak",
    "CustodyEntry",
    "CustodyLog",
    "CustodyReport",
]

ACTIONS: Final = ("share", "export", "verdict")
GENESIS: Final = "0" * 64
_SCHEMA = 1
_ATTEMPTS = 20


@dataclass(frozen=True)
class CustodyEntry:
    seq: int
    prev: str
    action: str
    case_id: str
    reviewer: str
    day: date
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        document = {
            "schema_version": _SCHEMA,
            "type": "custody",
            "seq": self.seq,
            "prev": self.prev,
            "action": self.action,
            "case_id": self.case_id,
            "reviewer": self.reviewer,
            "day": self.day.isoformat(),
            "details": dict(self.details),
        }
        return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> CustodyEntry:
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError("not JSON") from exc
        if not isinstance(doc, dict) or doc.get("type") != "custody":
            raise ValueError("not a custody entry")
        if doc.get("schema_version") != _SCHEMA:
            raise ValueError("a custody entry of an unknown version")
        seq, details = doc.get("seq"), doc.get("details")
        texts = [doc.get(k) for k in ("prev", "action", "case_id", "reviewer", "day")]
        if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(details, dict):
            raise ValueError("a custody field has the wrong type")
        if not all(isinstance(t, str) for t in texts):
            raise ValueError("a custody field has the wrong type")
        prev, action, case_id, reviewer, day = (str(t) for t in texts)
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        return cls(seq, prev, action, case_id, reviewer, date.fromisoformat(day), details)


@dataclass(frozen=True)
class CustodyBreak:
    position: int  # the entry's place in the stored log, from 0
    reason: str


@dataclass(frozen=True)
class CustodyReport:
    entries: tuple[CustodyEntry | None, ...]  # None: that entry does not open
    breaks: tuple[CustodyBreak, ...]
    head: str  # SHA-256 of the newest sealed entry (GENESIS when empty)

    @property
    def whole(self) -> bool:
        return not self.breaks


def _digest(sealed: bytes | None) -> str:
    return GENESIS if sealed is None else hashlib.sha256(sealed).hexdigest()


class CustodyLog:
    """The log, read with a reviewer's identities and appended sealed to ``recipients``."""

    def __init__(
        self,
        store: CustodyStore,
        identities: Sequence[X25519Identity],
        today: Callable[[], date],
    ) -> None:
        self.store = store
        self.identities = tuple(identities)
        self._today = today

    async def append(
        self,
        action: str,
        case_id: str,
        reviewer: str,
        details: Mapping[str, Any],
        recipients: Sequence[X25519Recipient],
    ) -> CustodyEntry:
        """Seal and append an entry chained to the newest one (retried when another
        reviewer appended meanwhile)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        if not recipients:
            raise ValueError("a custody entry needs at least one recipient")
        for _ in range(_ATTEMPTS):
            length, last = await self.store.tail()
            entry = CustodyEntry(
                length, _digest(last), action, case_id, reviewer, self._today(), details
            )
            sealed = encrypt(entry.to_json(), list(recipients))
            if await self.store.append_if(length, sealed):
                return entry
        raise RuntimeError("the custody log kept changing; try again")

    async def report(self) -> CustodyReport:
        """Every entry opened and the chain checked from the first."""
        blobs = await self.store.entries()
        entries: list[CustodyEntry | None] = []
        breaks: list[CustodyBreak] = []
        previous: bytes | None = None
        for position, sealed in enumerate(blobs):
            entry: CustodyEntry | None = None
            try:
                entry = CustodyEntry.from_json(decrypt(sealed, list(self.identities)))
            except AgeError:
                reason = "it does not open with these keys, or it was changed"
                breaks.append(CustodyBreak(position, reason))
            except ValueError as exc:
                breaks.append(CustodyBreak(position, f"it is not a custody entry ({exc})"))
            if entry is not None:
                if entry.seq != position:
                    breaks.append(
                        CustodyBreak(
                            position,
                            f"it says it is entry {entry.seq}: entries were removed, "
                            "added or moved before it",
                        )
                    )
                elif entry.prev != _digest(previous):
                    breaks.append(
                        CustodyBreak(
                            position,
                            f"entry {position - 1} before it is not the one it was "
                            "chained to: that entry was changed or replaced",
                        )
                    )
            entries.append(entry)
            previous = sealed
        return CustodyReport(tuple(entries), tuple(breaks), _digest(previous))

    async def of_case(self, case_id: str) -> list[CustodyEntry]:
        report = await self.report()
        return [e for e in report.entries if e is not None and e.case_id == case_id]
