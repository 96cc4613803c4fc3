"""The reviewer's desk: what ``tipline review`` does with the queue, on this machine.

Tips are decrypted here, with the reviewer's own identities; the queue only ever sees
sealed bytes. The rules that keep the queue healthy:

- **One reviewer per tip.** :meth:`Desk.next` hands out, in this order: the tip this
  reviewer already holds (its claim is renewed), a tip another reviewer claimed and left
  idle for longer than ``reclaim_after`` (XAUTOCLAIM), a tip never delivered.
- **Nothing dropped, nothing retried forever.** A tip that cannot be decrypted (a damaged
  age file) or is not a transcript goes to the dead-letter stream with the reason. A tip
  that none of this reviewer's identities opens stays claimed (the reviewer may have the
  wrong key) until it was delivered ``max_deliveries`` times; then it is dead-lettered.
  A dead-lettered tip's record stays: ``show``, ``export`` and ``verdict`` still work.
- **Safe to repeat.** A tip that already has a verdict is acknowledged, not shown again;
  recording the same verdict again changes nothing; acknowledging twice is harmless.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from privacy import X25519Identity, X25519Recipient, encrypt
from storage.followup import FollowupStore
from storage.queue import PendingEntry, QueuedTip, TipQueue, entry_day

from .custody import CustodyLog
from .share import Bundle, build_bundle, recipient_fingerprint
from .tip import OpenedTip, TipUnreadable, open_blob, open_tip
from .verdicts import Verdict, verdict_from_json, verdict_to_json

__all__ = [
    "Claimed",
    "Desk",
    "HighRisk",
    "NextResult",
    "NoFollowup",
    "Stats",
    "ThreadItem",
    "UnknownCase",
    "VerdictOutcome",
    "utc_today",
]

ClaimKind = Literal["new", "again", "reclaimed"]


def utc_today() -> date:
    return datetime.now(UTC).date()


class UnknownCase(LookupError):
    """No tip was ever queued under this case id."""

    def __init__(self, case_id: str) -> None:
        super().__init__(f"no tip was queued under {case_id}")
        self.case_id = case_id


class NoFollowup(LookupError):
    """The tipster of this case did not ask for follow-up: no question can reach them."""

    def __init__(self, case_id: str) -> None:
        super().__init__(f"the tipster of {case_id} did not ask for follow-up")
        self.case_id = case_id


@dataclass(frozen=True)
class Claimed:
    """A tip handed to this reviewer: ``new`` (first delivery), ``again`` (this reviewer
    held it already), or ``reclaimed`` (another reviewer's claim had gone idle)."""

    opened: OpenedTip
    how: ClaimKind
    deliveries: int


@dataclass
class NextResult:
    claimed: Claimed | None = None
    #: (case id, reason) of entries moved to the dead-letter stream on the way.
    buried: list[tuple[str, str]] = field(default_factory=list)
    #: Cases acknowledged on the way because they already had a verdict.
    skipped: list[str] = field(default_factory=list)
    #: (case id, deliveries) of a tip none of the identities opens; it stays claimed.
    unopened: tuple[str, int] | None = None


@dataclass(frozen=True)
class ThreadItem:
    """One message of a case's follow-up thread, as far as this reviewer can read it."""

    kind: Literal["question", "answer", "unreadable"]
    text: str
    day: str | None = None
    language: str | None = None
    reviewer: str | None = None


@dataclass(frozen=True)
class VerdictOutcome:
    verdict: Verdict
    changed: bool  # False: the same assessment was on record already
    acknowledged: bool  # the entry was pending and is acknowledged now


class HighRisk(Exception):
    """Sharing this case could endanger its source: refused without a stated reason."""

    def __init__(self, case_id: str, reason: str | None) -> None:
        super().__init__(case_id)
        self.case_id = case_id
        self.reason = reason


@dataclass(frozen=True)
class Stats:
    depth: int
    claimed: dict[str, int]
    oldest_waiting: date | None
    oldest_waiting_days: int | None
    dead_letters: int
    window_days: int
    tips: int
    unreadable: int
    by_language: dict[str, int]
    by_category: dict[str, int]
    verdicts: dict[str, int]
    by_risk: dict[str, int] = field(default_factory=dict)
    #: Tips per day received (ISO date), days without a tip left out, oldest first.
    by_day: dict[str, int] = field(default_factory=dict)


class Desk:
    """One reviewer (``reviewer`` is their consumer name in the group) with their
    identities (several: an old identity still opens old tips)."""

    def __init__(
        self,
        queue: TipQueue,
        identities: Sequence[X25519Identity],
        *,
        reviewer: str,
        followups: FollowupStore | None = None,
        reclaim_after: timedelta = timedelta(hours=1),
        max_deliveries: int = 3,
        today: Callable[[], date] = utc_today,
        custody: CustodyLog | None = None,
    ) -> None:
        if max_deliveries < 1:
            raise ValueError("max_deliveries must be at least 1")
        self.queue = queue
        self.identities = tuple(identities)
        self.reviewer = reviewer
        self.followups = followups
        self.reclaim_after = reclaim_after
        self.max_deliveries = max_deliveries
        self._today = today
        self.custody = custody

    # ------------------------------------------------------------------ claiming
    async def next(self) -> NextResult:
        """Claim a tip for this reviewer and open it (see the module's rules)."""
        result = NextResult()
        steps: list[tuple[ClaimKind, Callable[[str], Awaitable[QueuedTip | None]]]] = [
            ("again", self.queue.claim_own),
            ("reclaimed", self._reclaim),
            ("new", self.queue.claim_new),
        ]
        seen: set[str] = set()
        while True:
            found: tuple[ClaimKind, QueuedTip] | None = None
            for kind, claim in steps:
                queued = await claim(self.reviewer)
                if queued is not None:
                    found = (kind, queued)
                    break
            if found is None:
                return result
            how, tip = found
            if tip.entry_id in seen:
                # Only a queue changed under our feet gets here; never loop on it.
                raise RuntimeError(f"entry {tip.entry_id} came back while claiming")
            seen.add(tip.entry_id)
            if await self.queue.verdict(tip.case_id) is not None:
                await self.queue.ack(tip.case_id)
                result.skipped.append(tip.case_id)
                continue
            try:
                opened = open_tip(tip, self.identities)
            except TipUnreadable as exc:
                if exc.key_problem and tip.deliveries < self.max_deliveries:
                    result.unopened = (tip.case_id, tip.deliveries)
                    return result
                reason = exc.reason
                if exc.key_problem:
                    reason = f"no reviewer's identity opened it in {tip.deliveries} deliveries"
                if await self.queue.dead_letter(tip.case_id, reason):
                    result.buried.append((tip.case_id, reason))
                continue
            result.claimed = Claimed(opened, how, tip.deliveries)
            return result

    async def _reclaim(self, consumer: str) -> QueuedTip | None:
        return await self.queue.reclaim_idle(consumer, self.reclaim_after)

    # ------------------------------------------------------------------ reading
    async def show(self, case_id: str) -> OpenedTip:
        """A case's tip, whoever holds it and whether done or dead-lettered.
        UnknownCase if it was never queued; TipUnreadable if it does not open."""
        tip = await self.queue.get(case_id)
        if tip is None:
            raise UnknownCase(case_id)
        return open_tip(tip, self.identities)

    def attachments(self, opened: OpenedTip) -> list[bytes]:
        """The tip's attachments, decrypted, in order (TipUnreadable if one does not open)."""
        return [self.attachment(opened, i) for i in range(len(opened.sealed_attachments))]

    def attachment(self, opened: OpenedTip, index: int) -> bytes:
        """One attachment, decrypted (IndexError if there is none with that index)."""
        if not 0 <= index < len(opened.sealed_attachments):
            raise IndexError(f"the tip has no attachment {index}")
        try:
            return open_blob(opened.sealed_attachments[index], self.identities)
        except TipUnreadable as exc:
            raise TipUnreadable(f"attachment {index}: {exc.reason}") from exc

    async def thread(self, case_id: str) -> tuple[int, list[ThreadItem]]:
        """How many questions reviewers left for the tipster, and the thread as sealed
        to the reviewers: the tipster's answers and additions, and the copies of the
        questions that ``tipline review ask`` keeps for reviewers."""
        if self.followups is None:
            return 0, []
        asked = len(await self.followups.questions(case_id))
        items = [self._thread_item(blob) for blob in await self.followups.answers(case_id)]
        return asked, items

    def _thread_item(self, blob: bytes) -> ThreadItem:
        try:
            doc: Any = json.loads(open_blob(blob, self.identities).decode("utf-8"))
        except (TipUnreadable, UnicodeDecodeError, json.JSONDecodeError) as exc:
            reason = exc.reason if isinstance(exc, TipUnreadable) else "not a JSON document"
            return ThreadItem("unreadable", reason)
        if not isinstance(doc, dict):
            return ThreadItem("unreadable", "not a JSON object")
        kind: Literal["question", "answer"] = (
            "question" if doc.get("type") == "followup_question" else "answer"
        )
        day = doc.get("received_on") or doc.get("asked_on")
        return ThreadItem(
            kind,
            str(doc.get("text", "")),
            day=str(day) if day else None,
            language=str(doc["language"]) if doc.get("language") else None,
            reviewer=str(doc["reviewer"]) if doc.get("reviewer") else None,
        )

    async def ask(self, case_id: str, text: str, copy_to: Sequence[X25519Recipient]) -> int:
        """Leave a question for the tipster of the case, sealed to the key only their
        receipt code opens, and (with ``copy_to``) a copy sealed to the reviewers in the
        case's thread. How many questions wait for the tipster now. NoFollowup if the
        tipster did not ask for follow-up; ValueError for an empty question."""
        text = text.strip()
        if not text:
            raise ValueError("the question is empty")
        if self.followups is None:
            raise RuntimeError("this desk was opened without the follow-up store")
        recipient = await self.followups.recipient(case_id)
        if recipient is None:
            raise NoFollowup(case_id)
        sealed = encrypt(text.encode("utf-8"), [X25519Recipient.parse(recipient)])
        waiting = await self.followups.ask(case_id, sealed)
        if copy_to:
            await self.followups.answer(case_id, self.seal_question_copy(case_id, text, copy_to))
        return waiting

    def seal_question_copy(
        self, case_id: str, text: str, recipients: Sequence[X25519Recipient]
    ) -> bytes:
        """A reviewers' copy of a question for the thread (the tipster's copy is sealed
        to the receipt key, which reviewers do not have)."""
        document = {
            "schema_version": 1,
            "type": "followup_question",
            "case_id": case_id,
            "asked_on": self._today().isoformat(),
            "reviewer": self.reviewer,
            "text": text,
        }
        plaintext = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
        return encrypt(plaintext, list(recipients))

    # ------------------------------------------------------------------ verdicts
    async def verdict_of(self, case_id: str) -> Verdict | None:
        """The case's verdict; None if there is none. TipUnreadable if it does not open
        with these identities (or is damaged)."""
        sealed = await self.queue.verdict(case_id)
        return None if sealed is None else self._open_verdict(sealed)

    def _open_verdict(self, sealed: bytes) -> Verdict:
        plaintext = open_blob(sealed, self.identities)
        try:
            return verdict_from_json(plaintext)
        except ValueError as exc:
            raise TipUnreadable(f"not a verdict: {exc}") from exc

    async def record_verdict(
        self,
        case_id: str,
        verdict: str,
        note: str | None,
        recipients: Sequence[X25519Recipient],
        *,
        risk: str = "unknown",
        risk_reason: str | None = None,
    ) -> VerdictOutcome:
        """Seal the verdict to ``recipients`` and store it with the case, acknowledging
        the case's entry. The same verdict, note and risk again only acknowledges (safe
        to repeat); a different one replaces it and keeps the earlier one as history,
        and is entered in the custody log. UnknownCase if no tip was queued under
        ``case_id``."""
        if not recipients:
            raise ValueError("a verdict needs at least one recipient to be sealed to")
        new = Verdict(
            case_id,
            verdict,
            note or None,
            self.reviewer,
            self._today(),
            risk=risk,
            risk_reason=risk_reason or None,
        )
        try:
            previous = await self.verdict_of(case_id)
        except TipUnreadable:
            previous = None  # sealed to keys we lack: ours replaces it, theirs is lost
        if previous is not None and previous.same_assessment(new):
            if await self.queue.get(case_id) is None:
                raise UnknownCase(case_id)
            return VerdictOutcome(previous, False, await self.queue.ack(case_id))
        current = new.replacing(previous)
        sealed = encrypt(verdict_to_json(current), list(recipients))
        try:
            acknowledged = await self.queue.record_verdict(case_id, sealed)
        except LookupError as exc:
            raise UnknownCase(case_id) from exc
        if self.custody is not None:
            details = {"verdict": verdict, "risk": risk}
            await self.custody.append("verdict", case_id, self.reviewer, details, recipients)
        return VerdictOutcome(current, True, acknowledged)

    # ------------------------------------------------------------------ custody
    async def record_export(
        self, case_id: str, files: int, recipients: Sequence[X25519Recipient]
    ) -> None:
        """Enter an export of the case (``files`` written) in the custody log."""
        if self.custody is not None:
            details = {"files": files}
            await self.custody.append("export", case_id, self.reviewer, details, recipients)

    async def share(
        self,
        case_id: str,
        to: X25519Recipient,
        recipients: Sequence[X25519Recipient],
        *,
        redact: Sequence[str] = (),
        never: Sequence[str] = (),
        override_risk: str | None = None,
    ) -> Bundle:
        """A bundle of the case sealed to the partner ``to`` only, entered in the
        custody log (sealed to ``recipients``) before it is handed back. HighRisk when
        the case's verdict says the source is at high risk and no ``override_risk``
        reason is given; UnknownCase, TipUnreadable and ShareError as their names say."""
        opened = await self.show(case_id)
        try:
            verdict = await self.verdict_of(case_id)
        except TipUnreadable:
            verdict = None
        override = (override_risk or "").strip() or None
        if verdict is not None and verdict.risk == "high" and override is None:
            raise HighRisk(case_id, verdict.risk_reason)
        files = self.attachments(opened)
        asked, items = await self.thread(case_id)
        thread = None
        if asked or items:
            # The thread without reviewer names: a partner learns what was asked, not who.
            thread = {
                "questions_asked": asked,
                "items": [
                    {
                        k: v
                        for k, v in (
                            ("kind", i.kind),
                            ("text", i.text),
                            ("day", i.day),
                            ("language", i.language),
                        )
                        if v is not None
                    }
                    for i in items
                ],
            }
        bundle = build_bundle(
            opened.plaintext,
            files,
            to=to,
            redact=redact,
            thread=thread,
            never=never,
            shared_on=self._today(),
        )
        if self.custody is not None:
            details: dict[str, Any] = {
                "to": recipient_fingerprint(to),
                "shared": list(bundle.shared),
                "withheld": list(bundle.withheld),
                "bundle_sha256": bundle.sha256,
            }
            if verdict is not None and verdict.risk == "high":
                details["override_risk"] = override
            await self.custody.append("share", case_id, self.reviewer, details, recipients)
        return bundle

    async def done(self) -> list[tuple[str, Verdict | None]]:
        """Every case with a verdict (None: not readable with these identities), the
        latest decisions first."""
        rows: list[tuple[str, Verdict | None]] = []
        for case_id, sealed in (await self.queue.verdicts()).items():
            try:
                rows.append((case_id, self._open_verdict(sealed)))
            except TipUnreadable:
                rows.append((case_id, None))
        rows.sort(key=lambda r: (r[1].decided_on if r[1] else date.min, r[0]), reverse=True)
        return rows

    # ------------------------------------------------------------------ lists, counts
    async def mine(self) -> list[PendingEntry]:
        """The tips this reviewer holds claimed and not acknowledged, oldest first."""
        return await self.queue.pending_for(self.reviewer)

    async def stats(self, category_question: str | None, window_days: int = 30) -> Stats:
        """Queue numbers, and tips per language and per category over the last
        ``window_days`` days (today included), decrypted here."""
        today = self._today()
        oldest_id = await self.queue.oldest_waiting()
        oldest = entry_day(oldest_id) if oldest_id else None
        languages: Counter[str] = Counter()
        categories: Counter[str] = Counter()
        days: Counter[str] = Counter()
        tips = unreadable = 0
        since = today - timedelta(days=window_days - 1)
        for entry_id, case_id, sealed in await self.queue.sealed_since(since):
            tips += 1
            days[entry_day(entry_id).isoformat()] += 1
            try:
                opened = open_tip(QueuedTip(entry_id, case_id, sealed, (), 0), self.identities)
            except TipUnreadable:
                unreadable += 1
                continue
            languages[opened.language or "?"] += 1
            if category_question is not None:
                categories[_option(opened.answers.get(category_question))] += 1
        done = await self.done()
        verdicts = Counter(v.verdict if v else "?" for _case, v in done)
        risks = Counter(v.risk if v else "?" for _case, v in done)
        return Stats(
            depth=await self.queue.depth(),
            claimed=await self.queue.claimed_per_consumer(),
            oldest_waiting=oldest,
            oldest_waiting_days=None if oldest is None else (today - oldest).days,
            dead_letters=await self.queue.dead_count(),
            window_days=window_days,
            tips=tips,
            unreadable=unreadable,
            by_language=dict(languages.most_common()),
            by_category=dict(categories.most_common()),
            verdicts=dict(verdicts.most_common()),
            by_risk=dict(risks.most_common()),
            by_day=dict(sorted(days.items())),
        )


def _option(answer: Any) -> str:
    """The option id of a choice answer; ``skipped`` or ``none`` otherwise."""
    if isinstance(answer, dict):
        if answer.get("type") == "choice" and isinstance(answer.get("option"), str):
            return str(answer["option"])
        if answer.get("type") == "skipped":
            return "skipped"
    return "none"
