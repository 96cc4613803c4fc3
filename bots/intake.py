"""The intake service every channel shares: drafts in, sealed tips out.

An adapter calls :meth:`Intake.handle` with the channel's own conversation id and a
normalised event. The service loads the conversation's draft (keyed by a pseudonym, its
content encrypted: rule P1), runs the engine, carries out the actions that concern
storage (submit, discard), saves the draft, and hands back the actions that concern the
channel (say, ask, show the summary, fetch an attachment, wipe, end).

Submitting seals the transcript and every attachment to the reviewers (P2), makes them
durable in the queue or the local spool (P7), and only then tells the engine, which tells
the tipster "received". The plaintext draft and its attachments are deleted at once.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bots.observe import Observer
from bots.progress import CHANNELS, active, label, lifecycle, step_labels
from conversations import (
    Action,
    Ask,
    AttachmentFailed,
    AttachmentScrubbed,
    CheckReceipt,
    Discard,
    End,
    Engine,
    Event,
    FetchAttachment,
    FollowupFailed,
    FollowupSent,
    ReceiptChecked,
    Say,
    SendFollowup,
    ShowSummary,
    State,
    Submit,
    SubmitFailed,
    Submitted,
    Wipe,
    action_from_json,
    action_to_json,
    build_transcript,
    state_from_json,
    state_to_json,
)
from conversations.answers import AttachmentsAnswer, ChoiceAnswer
from privacy import AgeError, X25519Recipient, decrypt, encrypt
from privacy.receipt import ReceiptKeys, new_code
from privacy.scrub import DEFAULT_LIMITS, Limits, ScrubError, scrub_isolated
from privacy.secrets import RECEIPT_LABEL, DraftCipher, DraftDecryptError, ServerSecret
from storage import DraftStore, Spool, StorageError, TipQueue, submit_durably
from storage.drafts import Increment
from storage.followup import FollowupStore
from storage.locks import ConversationLocks
from storage.tally import ConversationTally, Filing
from storage.throttle import Throttle, ThrottleRule

__all__ = ["Intake", "WipeChat", "new_case_id"]

log = logging.getLogger(__name__)

_DRAFT_VERSION = 1
_MAX_REMEMBERED = 2000  # message ids kept for a wipe; a longer chat wipes its newest
# Done inputs remembered per conversation: more than a channel can have delivered again
# at once (Telegram redelivers only what was not confirmed, a batch at most).
_DONE_KEPT = 32
# Conversations whose draft this process has just written with an update's outbox, and
# for which nothing was noted since (see Intake.remember): bounded memory.
_FRESH_KEPT = 10_000
# A state the engine does not know: it restarts the conversation and says so.
_UNREADABLE = State(phase="asking", step="_unreadable")


#: Wrong receipt codes: 5 an hour per conversation, each followed by a doubling wait
#: (1 s, 2 s, 4 s, ...); overall 600 a minute, enough for every honest tipster at once.
RECEIPT_RULES: tuple[ThrottleRule, ThrottleRule] = (
    ThrottleRule(limit=5, window=timedelta(hours=1), backoff=timedelta(seconds=1)),
    ThrottleRule(limit=600, window=timedelta(minutes=1)),
)


def new_case_id() -> str:
    """A random case id: 120 bits, lowercase base32 (24 characters)."""
    return base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()


def _utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class WipeChat:
    """The engine's Wipe, with the channel's message ids noted for this conversation
    (:meth:`Intake.remember`): the channel deletes those messages, then says so in
    ``lang``."""

    message_ids: tuple[int, ...] = ()
    lang: str | None = None


Reply = Action | WipeChat


@dataclass
class _Outbox:
    """The replies of one step, kept with the draft in the same write as the step, until
    the channel says they went out: a crash in between replays them, never the step.
    ``update`` is the channel's token for the input that made the step."""

    update: str
    replies: list[Reply]

    def to_json(self) -> dict[str, Any]:
        return {"update": self.update, "replies": [_reply_to_json(r) for r in self.replies]}

    @classmethod
    def from_json(cls, doc: Any) -> _Outbox:
        if not isinstance(doc, dict) or not isinstance(doc.get("update"), str):
            raise ValueError("malformed outbox")
        replies = doc.get("replies")
        if not isinstance(replies, list):
            raise ValueError("malformed outbox replies")
        return cls(doc["update"], [_reply_from_json(r) for r in replies])


def _reply_to_json(reply: Reply) -> dict[str, Any]:
    if isinstance(reply, WipeChat):
        return {"do": "wipe", "ids": list(reply.message_ids), "lang": reply.lang}
    if isinstance(reply, Say | Ask | ShowSummary | FetchAttachment | End):
        return action_to_json(reply)
    raise TypeError(f"{type(reply).__name__} is not a reply")


def _reply_from_json(doc: Any) -> Reply:
    if isinstance(doc, dict) and doc.get("do") == "wipe":
        ids, lang = doc.get("ids"), doc.get("lang")
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise ValueError("malformed wipe")
        if lang is not None and not isinstance(lang, str):
            raise ValueError("malformed wipe language")
        return WipeChat(tuple(ids), lang)
    return action_from_json(doc)


@dataclass(frozen=True)
class _Sent:
    """The note :meth:`Intake.remember` keeps beside a draft just written with the outbox
    of ``update``: those replies went out, and the channel's message ids to wipe. It
    counts only for the draft whose outbox is that update's (the next read applies it,
    the next write of the draft takes it in); any other draft ignores it."""

    update: str
    ids: tuple[int, ...]

    def to_bytes(self) -> bytes:
        doc = {"update": self.update, "ids": list(self.ids)}
        return json.dumps(doc, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> _Sent:
        doc: Any = json.loads(data)
        if not isinstance(doc, dict) or not isinstance(doc.get("update"), str):
            raise ValueError("malformed note")
        ids = doc.get("ids")
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise ValueError("malformed note ids")
        return cls(doc["update"], tuple(ids))


@dataclass
class _Draft:
    #: The case id of the report in progress; None once it was submitted, so that the
    #: chat's pseudonym no longer leads to the case, and a new report gets a new id.
    case_id: str | None
    state: State
    files: dict[str, str] = field(default_factory=dict)  # attachment ref -> storage key
    messages: list[int] = field(default_factory=list)  # the channel's ids, for a wipe
    followup_case: str | None = None  # the case a receipt code opened, until the answer
    outbox: _Outbox | None = None  # the last step's replies, until they went out
    #: The channel's tokens of the latest inputs whose replies went out (newest last), so
    #: that an input delivered again after a crash is known without another record.
    done: list[str] = field(default_factory=list)
    #: Where the conversation is counted for metrics (its step, its deadline hour), to
    #: move the count when either changes; None when not counted (bots.progress).
    filing: Filing | None = None

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "v": _DRAFT_VERSION,
                "case": self.case_id,
                "state": state_to_json(self.state),
                "files": self.files,
                "messages": self.messages,
                "followup_case": self.followup_case,
                "outbox": None if self.outbox is None else self.outbox.to_json(),
                "done": self.done,
                "filing": None if self.filing is None else self.filing.to_json(),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> _Draft:
        doc: Any = json.loads(data)
        if not isinstance(doc, dict) or doc.get("v") != _DRAFT_VERSION:
            raise ValueError("unknown draft version")
        files = doc.get("files")
        case_id = doc.get("case")
        if not (case_id is None or isinstance(case_id, str)) or not isinstance(files, dict):
            raise ValueError("malformed draft")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
            raise ValueError("malformed draft files")
        messages = doc.get("messages", [])
        if not isinstance(messages, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in messages
        ):
            raise ValueError("malformed draft messages")
        followup_case = doc.get("followup_case")
        if followup_case is not None and not isinstance(followup_case, str):
            raise ValueError("malformed draft follow-up")
        outbox = doc.get("outbox")
        done = doc.get("done")
        if done is None:
            done = []
        elif isinstance(done, str):
            done = [done]  # a draft written before several were kept
        if not isinstance(done, list) or not all(isinstance(t, str) for t in done):
            raise ValueError("malformed draft tokens")
        filing = doc.get("filing")
        state = state_from_json(doc.get("state"))
        return cls(
            case_id,
            state,
            dict(files),
            messages,
            followup_case,
            None if outbox is None else _Outbox.from_json(outbox),
            done,
            None if filing is None else Filing.from_json(filing),
        )

    def note(self, message_ids: Sequence[int], done: str | None) -> bool:
        """Note the channel's message ids (for a wipe) and that the replies of ``done``
        went out (its outbox emptied); whether anything changed."""
        changed = False
        if done is not None and done not in self.done:
            if self.outbox is not None and self.outbox.update == done:
                self.outbox = None
            self.done = [*self.done, done][-_DONE_KEPT:]
            changed = True
        if self.state.phase not in ("new", "closed") and message_ids:
            self.messages.extend(i for i in message_ids if i not in self.messages)
            del self.messages[:-_MAX_REMEMBERED]
            changed = True
        return changed


class Intake:
    """One channel's intake: ``channel`` names it in pseudonyms and transcripts."""

    #: Counts for metrics (bots.observe); the default counts nothing.
    observer: Observer = Observer()
    #: Conversations started, finished, left at a step (storage.tally); None: not counted.
    progress: ConversationTally | None = None

    def __init__(
        self,
        *,
        engine: Engine,
        drafts: DraftStore,
        queue: TipQueue,
        spool: Spool,
        secret: ServerSecret,
        recipients: Sequence[X25519Recipient] | Callable[[], Sequence[X25519Recipient]],
        channel: str,
        followups: FollowupStore | None = None,
        today: Callable[[], date] = _utc_today,
        throttle: Throttle | None = None,
        receipt_rules: tuple[ThrottleRule, ThrottleRule] = RECEIPT_RULES,
        scrub_limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        # A callable is asked again at every seal, so a reloaded recipients file (key
        # rotation) takes effect without a restart.
        self._recipients_source = recipients
        if not self._current_recipients():
            raise ValueError("at least one reviewer recipient is needed")
        self.engine = engine
        self.drafts = drafts
        self.queue = queue
        self.spool = spool
        self.channel = channel
        self._secret = secret
        self._cipher: DraftCipher = secret.draft_cipher()
        self._today = today
        self.followups = followups
        self.scrub_limits = scrub_limits
        # Wrong receipt codes: per conversation (with backoff) and overall. The counters
        # expire, so they live beside the drafts, in the Redis that never writes to disk.
        self.throttle = throttle if throttle is not None else Throttle(drafts.client)
        self.receipt_rules = receipt_rules
        self._pepper = secret.derive(RECEIPT_LABEL)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._steps = step_labels(engine.questionnaire)
        #: Set when several processes serve the channel (webhook workers): a conversation
        #: is then held in Redis for the whole of an input (:meth:`exclusive`).
        self.shared_locks: ConversationLocks | None = None
        # key -> the update whose outbox this process just wrote in that draft (remember).
        self._fresh: dict[str, str] = {}

    # ------------------------------------------------------------------ public
    @asynccontextmanager
    async def exclusive(self, conversation_id: str) -> AsyncIterator[None]:
        """Hold the conversation against other processes while the channel handles one
        input (which takes several calls here, and Bot API calls in between); a no-op
        without :attr:`shared_locks`. Raises
        :class:`~storage.locks.ConversationBusy` (a StorageError) when another process
        held it too long: the input is to be delivered again."""
        if self.shared_locks is None:
            yield
            return
        async with self.shared_locks.hold(self._secret.pseudonym(self.channel, conversation_id)):
            yield

    async def handle(
        self,
        conversation_id: str,
        event: Event,
        *,
        update: str | None = None,
        taken_by: str | None = None,
    ) -> list[Reply]:
        """Handle one event of one conversation; events of a conversation run one at a time.

        ``update`` is the channel's token for the input (a Telegram update). The step and
        its replies are saved in one write; ``taken_by`` (the desk's operator, when the
        organisation records it) goes into the transcript if this event sends the
        report. The same ``update`` again, before
        :meth:`remember` said the replies went out, gets those replies back without the
        step being taken again (a crash in between); after, it gets nothing."""
        key = self._secret.pseudonym(self.channel, conversation_id)
        async with self._lock(key):
            self._fresh.pop(key, None)
            draft = await self._load(key)
            if update is not None and draft is not None:
                replayed = _replayed(draft, update)
                if replayed is not None:
                    return replayed
            if draft is None or draft.state.phase == "closed":
                draft = _Draft(None, self.engine.initial())
            return await self._run(key, draft, event, update=update, taken_by=taken_by)

    async def take(
        self,
        conversation_id: str,
        decide: Callable[[State | None], Event | None],
        *,
        update: str,
        done_elsewhere: Callable[[], Awaitable[bool]] | None = None,
    ) -> list[Reply] | None:
        """An input of a channel that delivers again after a crash, with one read of the
        draft: the replies of ``update`` when it was taken already (see :meth:`handle`);
        else the event ``decide`` makes of the conversation's state (None when there is
        no draft, or it is over), applied. None when ``decide`` gives no event. Where no
        draft remembers the input (the conversation ended with it), ``done_elsewhere``
        says whether the channel recorded it done; then nothing is replayed."""
        key = self._secret.pseudonym(self.channel, conversation_id)
        async with self._lock(key):
            self._fresh.pop(key, None)
            draft = await self._load(key)
            if draft is not None:
                replayed = _replayed(draft, update)
                if replayed is not None:
                    return replayed
            state = None if draft is None or draft.state.phase == "closed" else draft.state
            if state is None and done_elsewhere is not None and await done_elsewhere():
                return []
            event = decide(state)
            if event is None:
                return None
            if draft is None or state is None:
                draft = _Draft(None, self.engine.initial())
            return await self._run(key, draft, event, update=update)

    async def state(self, conversation_id: str) -> State | None:
        """The conversation's current state, or None when it has no draft (or is over)."""
        state, _replies = await self.view(conversation_id)
        return state

    async def view(
        self, conversation_id: str, update: str | None = None
    ) -> tuple[State | None, list[Reply] | None]:
        """The conversation's state (None when there is none, or it is over) and, when
        ``update`` was already handled, the replies to carry out again (None when not)."""
        key = self._secret.pseudonym(self.channel, conversation_id)
        draft = await self._load(key)
        if draft is None:
            return None, None
        state = None if draft.state.phase == "closed" else draft.state
        return state, None if update is None else _replayed(draft, update)

    async def attach(
        self,
        conversation_id: str,
        ref: str,
        data: bytes,
        *,
        update: str | None = None,
        keep_voice: bool = False,
    ) -> list[Reply]:
        """Scrub an accepted attachment's bytes (P3) and keep the result, encrypted, with
        the draft; the raw bytes are never stored. Returns what to tell the tipster: what
        was removed, or why the file was refused. Nothing if the draft no longer lists
        that attachment (cancelled, expired, removed). In the outbox of ``update``, the
        fetch is replaced by what it told (and by nothing more once the file is gone)."""
        key = self._secret.pseudonym(self.channel, conversation_id)
        async with self._lock(key):
            draft = await self._load(key)
            if draft is None or ref not in _refs(draft.state):
                return []
            event: Event
            try:
                # A child process under memory and CPU limits, killed at the deadline:
                # a hostile file costs that process, never this one (P8).
                # A voice in it is disguised unless the tipster said it is someone
                # else's (evidence): the original sound is never stored (P3).
                result = await scrub_isolated(
                    data, limits=self.scrub_limits, disguise_voice=not keep_voice
                )
            except ScrubError as exc:
                log.info("an attachment was refused: %s", exc.reason)
                self.observer.scrub_refused(exc.reason)
                event = AttachmentFailed(ref, exc.reason)
            else:
                blob_key = self._secret.pseudonym(f"{self.channel}:attachment", f"{key}:{ref}")
                sealed = self._cipher.encrypt(result.data, blob_key.encode())
                await self.drafts.put(blob_key, sealed)
                draft.files[ref] = blob_key
                event = AttachmentScrubbed(
                    ref,
                    result.kind,
                    len(result.data),
                    result.sha256,
                    tuple(sorted(result.removed)),
                    result.partial.kept if result.partial else None,
                    result.partial.declared if result.partial else None,
                    voice_disguised=result.voice_disguised,
                )
            return await self._run(key, draft, event, splice=(update, ref))

    async def fetch_failed(
        self, conversation_id: str, ref: str, reason: str, *, update: str | None = None
    ) -> list[Reply]:
        """An attachment could not be fetched: the engine drops it and says why; in the
        outbox of ``update`` that replaces the fetch and what followed it."""
        key = self._secret.pseudonym(self.channel, conversation_id)
        async with self._lock(key):
            draft = await self._load(key)
            if draft is None or draft.state.phase == "closed":
                return []
            return await self._run(key, draft, AttachmentFailed(ref, reason), splice=(update, ref))

    async def remember(
        self, conversation_id: str, message_ids: Sequence[int], *, done: str | None = None
    ) -> None:
        """Note the channel's message ids of this conversation (both sides), kept only
        encrypted, so that the wipe offered when a report is sent or cancelled or a
        follow-up is over can delete them. Nothing is kept once the wipe offer is
        answered. ``done``: the replies of that update went out; its outbox is emptied
        (and a conversation that is over is forgotten).

        Made durable before it returns, as before the update is confirmed to the
        platform: after that, nothing would bring these ids back. When this process has
        just written the draft with the outbox of ``done`` (the usual case: a step, then
        its replies), the note is one write of its own beside the draft (:class:`_Sent`),
        with no read and without writing the whole draft again; the next read of the
        draft applies it and the next step's write takes it in. Otherwise (after a
        restart, a replay) the draft is read, noted and written."""
        if not message_ids and done is None:
            return
        key = self._secret.pseudonym(self.channel, conversation_id)
        async with self._lock(key):
            if done is not None and self._fresh.pop(key, None) == done:
                note_key = self._note_key(key)
                note = _Sent(done, tuple(message_ids)).to_bytes()
                await self.drafts.put(note_key, self._cipher.encrypt(note, note_key.encode()))
                return
            draft = await self._load(key)
            if draft is None:
                return
            changed = draft.note(message_ids, done)
            if draft.state.phase == "closed":
                if draft.outbox is None:
                    await self.drafts.delete(key, self._note_key(key))
                return
            if changed:
                await self._save(key, draft)

    # ------------------------------------------------------------------ internals
    def _current_recipients(self) -> tuple[X25519Recipient, ...]:
        source = self._recipients_source
        return tuple(source() if callable(source) else source)

    def _note_key(self, key: str) -> str:
        """Where :meth:`remember` keeps its note beside the draft under ``key``."""
        return self._secret.pseudonym(f"{self.channel}:sent", key)

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def _run(
        self,
        key: str,
        draft: _Draft,
        event: Event,
        *,
        update: str | None = None,
        splice: tuple[str | None, str] | None = None,
        taken_by: str | None = None,
    ) -> list[Reply]:
        """Run one event through the engine, carry out its storage actions, and save the
        new state with the replies (the outbox of ``update``) in one write. ``splice``
        (update, ref): the event answers that update's FetchAttachment(ref), whose place
        in that outbox its replies take."""
        before, counted, replaced = draft.state, draft.filing is not None, False
        previous = draft.outbox
        state, actions = self.engine.handle(draft.state, event)
        if draft.case_id is None and state.phase in ("asking", "submitting"):
            # A report begins: its case id is fixed now, before anything is saved, so a
            # retried or replayed submission reuses it (the submit is idempotent by id).
            draft.case_id = new_case_id()
        out: list[Reply] = []
        obsolete: list[str] = []  # attachment blobs to delete once the step is saved
        pending = list(actions)
        ended = False
        while pending:
            action = pending.pop(0)
            if isinstance(action, CheckReceipt):
                checked = await self._check_receipt(key, draft, action.code)
                state, more = self.engine.handle(state, checked)
                pending[:0] = more
            elif isinstance(action, SendFollowup):
                sent = await self._send_followup(draft, action.text, state.language)
                state, more = self.engine.handle(state, sent)
                pending[:0] = more
            elif isinstance(action, Submit):
                missing = await self._missing_files(draft, state)
                result = SubmitFailed() if missing else await self._submit(draft, state, taken_by)
                state, more = self.engine.handle(state, result)
                for ref in missing:
                    # The engine drops the file and tells the tipster to send it again.
                    state, notice = self.engine.handle(state, AttachmentFailed(ref))
                    more = [*notice, *more]
                if isinstance(result, Submitted):
                    # Keep only what the wipe needs: no files, no case id. The files go
                    # once the new state is saved: a crash before must find them.
                    obsolete.extend(draft.files.values())
                    draft.files.clear()
                    draft.case_id = None
                pending[:0] = more
            elif isinstance(action, Discard):
                # Nothing of the report is kept, but the chat's message ids are: the wipe
                # the engine offers next must still find them (P5). The new draft takes
                # the old one's place in one write, below.
                obsolete.extend(draft.files.values())
                draft = _Draft(
                    None, state, messages=draft.messages, done=draft.done, filing=draft.filing
                )
                replaced = True
            elif isinstance(action, Wipe):
                out.append(WipeChat(tuple(draft.messages), state.language))
                draft.messages.clear()
            else:
                out.append(action)
                ended = ended or isinstance(action, End)
        draft = replace(draft, state=state)
        if update is not None:
            if previous is not None and previous.update != update:
                # Its step was taken: whether or not its replies were noted as sent, that
                # input stays known, should it come again.
                draft.note((), previous.update)
            draft.outbox = _Outbox(update, out)
        elif splice is not None:
            _splice(draft, splice, out, still_listed=splice[1] in _refs(state))
        events: list[tuple[str, str]] = []
        if self.progress is not None:
            events = lifecycle(
                before, state, event, replaced=replaced, counted=counted, steps=self._steps
            )
        # Every write of the step is one SET of the draft; what it no longer needs is
        # deleted after it, so a crash at any point leaves either the step before (taken
        # again when the input comes again) or the step with its replies (replayed).
        if ended or state.phase == "closed":
            # The report is over: nothing of it stays. Until its last replies went out
            # (the wipe, the goodbye), a closed draft keeps only them, to replay.
            self._fresh.pop(key, None)
            obsolete.extend(draft.files.values())
            if draft.outbox is not None and draft.outbox.replies:
                closed = State(phase="closed", language=state.language)
                await self._save(
                    key, _Draft(None, closed, outbox=draft.outbox, filing=draft.filing), events
                )
            else:
                await self.drafts.delete(
                    key, self._note_key(key), counts=self._count(draft, events)
                )
        else:
            # Forget files the engine no longer lists (a failed fetch, a restart).
            for ref in set(draft.files) - _refs(state):
                obsolete.append(draft.files.pop(ref))
            await self._save(key, draft, events)
            if update is not None:
                # The draft holds this update's outbox, and any note beside it is older:
                # remember() may write its note alone.
                self._fresh.pop(key, None)
                self._fresh[key] = update
                if len(self._fresh) > _FRESH_KEPT:
                    del self._fresh[next(iter(self._fresh))]
        for blob_key in obsolete:
            await self.drafts.delete(blob_key)
        return out

    async def _load(self, key: str) -> _Draft | None:
        """The draft, with the note remember() kept beside it applied (one read of both)."""
        note_key = self._note_key(key)
        blob, note = await self.drafts.get_many(key, note_key)
        if blob is None:
            return None
        try:
            draft = _Draft.from_bytes(self._cipher.decrypt(blob, key.encode()))
        except (DraftDecryptError, ValueError, UnicodeDecodeError):
            log.warning("a draft could not be read; the conversation starts again")
            return _Draft(None, _UNREADABLE)
        if note is not None and draft.outbox is not None:
            try:
                sent = _Sent.from_bytes(self._cipher.decrypt(note, note_key.encode()))
            except (DraftDecryptError, ValueError, UnicodeDecodeError):
                log.warning("a note of sent messages could not be read")
            else:
                if sent.update == draft.outbox.update:
                    draft.note(sent.ids, sent.update)
        return draft

    def _count(self, draft: _Draft, events: Sequence[tuple[str, str]]) -> list[Increment]:
        """The metric counts this write of ``draft`` moves (in the same command): its
        filing follows its step and deadline hour, ``events`` are added."""
        if self.progress is None:
            return []
        filing = None
        if active(draft.state):
            filing = self.progress.filing(label(draft.state.step, self._steps))
        channel = label(self.channel, CHANNELS)
        moves = self.progress.moves(channel, draft.filing, filing, events)
        draft.filing = filing
        return moves

    async def _save(self, key: str, draft: _Draft, events: Sequence[tuple[str, str]] = ()) -> None:
        counts = self._count(draft, events)
        blob = self._cipher.encrypt(draft.to_bytes(), key.encode())
        await self.drafts.put(key, blob, counts=counts)
        for blob_key in draft.files.values():
            await self.drafts.touch(blob_key)

    async def _submit(
        self, draft: _Draft, state: State, taken_by: str | None = None
    ) -> Submitted | SubmitFailed:
        if draft.case_id is None:  # `_run` fixes it when a report begins; never lose a tip
            draft.case_id = new_case_id()
        case_id = draft.case_id
        recipients = self._current_recipients()
        if not recipients:
            log.error("a tip could not be sealed: no reviewer recipients")
            return SubmitFailed()
        try:
            files = await self._attachments(draft, state)
            transcript = build_transcript(
                self.engine.questionnaire,
                state,
                case_id=case_id,
                received_on=self._today(),
                channel=self.channel,
                taken_by=taken_by,
            )
            plaintext = json.dumps(transcript, ensure_ascii=False, indent=2).encode("utf-8")
            sealed = await asyncio.to_thread(encrypt, plaintext, recipients)
            sealed_files = [await asyncio.to_thread(encrypt, f, recipients) for f in files]
            # Queued or spooled, either is durable. Neither is logged: a log line per tip
            # would keep the moment it was received (P4).
            outcome = await submit_durably(self.queue, self.spool, case_id, sealed, sealed_files)
            self.observer.tip(outcome, state.language)  # counted per day, never timed
        except (StorageError, OSError, DraftDecryptError) as exc:
            log.error("a tip could not be submitted: %s", type(exc).__name__)
            return SubmitFailed()
        return Submitted(receipt=await self._issue_receipt(case_id, state))

    # ------------------------------------------------------------------ follow-up (P6)
    async def _issue_receipt(self, case_id: str, state: State) -> str | None:
        """A receipt code for a tipster who asked for one. Only a slow hash of the code is
        kept; the tip is already durable, so a failure here costs the receipt, not the tip."""
        question = self.engine.questionnaire.receipt_question()
        if self.followups is None or question is None:
            return None
        if state.answer(question.id) != ChoiceAnswer(question.receipt_option or ""):
            return None
        code = new_code()
        keys = await asyncio.to_thread(ReceiptKeys.derive, code, self._pepper)
        try:
            await self.followups.create(keys.lookup, case_id, str(keys.recipient))
        except StorageError:
            log.error("a receipt could not be registered")
            return None
        return code

    async def _check_receipt(self, key: str, draft: _Draft, code: str) -> ReceiptChecked:
        if self.followups is None:
            return ReceiptChecked(ok=False)
        per_chat, overall = self.receipt_rules
        scopes = ((f"receipt:{key}", per_chat), ("receipt:all", overall))
        try:
            for scope, rule in scopes:
                if await self.throttle.blocked(scope, rule):
                    return ReceiptChecked(ok=False, throttled=True)
            keys = await asyncio.to_thread(ReceiptKeys.derive, code, self._pepper)
            case_id = await self.followups.case_for(keys.lookup)
            if case_id is None:
                # Only wrong codes count, so guessing cannot use up a real tipster's tries.
                for scope, rule in scopes:
                    await self.throttle.failed(scope, rule)
                return ReceiptChecked(ok=False)
            sealed = await self.followups.questions(case_id)
        except StorageError:
            return ReceiptChecked(ok=False)
        questions = []
        for blob in sealed:
            try:
                questions.append(decrypt(blob, [keys.identity]).decode("utf-8"))
            except (AgeError, UnicodeDecodeError):
                log.warning("a follow-up question could not be opened")
        draft.followup_case = case_id
        return ReceiptChecked(ok=True, questions=tuple(questions))

    async def _send_followup(
        self, draft: _Draft, text: str, language: str
    ) -> FollowupSent | FollowupFailed:
        case_id = draft.followup_case
        if self.followups is None or case_id is None:
            return FollowupFailed()
        document = {
            "schema_version": 1,
            "type": "followup_answer",
            "case_id": case_id,
            "received_on": self._today().isoformat(),
            "channel": self.channel,
            "language": language,
            "text": text,
        }
        plaintext = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
        recipients = self._current_recipients()
        if not recipients:
            return FollowupFailed()
        try:
            sealed = await asyncio.to_thread(encrypt, plaintext, recipients)
            await self.followups.answer(case_id, sealed)
        except StorageError:
            return FollowupFailed()
        draft.followup_case = None
        return FollowupSent()

    async def _missing_files(self, draft: _Draft, state: State) -> list[str]:
        """Attachments the engine lists whose bytes were never kept or have expired."""
        missing = []
        for ref in _ordered_refs(state):
            blob_key = draft.files.get(ref)
            if blob_key is None or not await self.drafts.touch(blob_key):
                missing.append(ref)
        return missing

    async def _attachments(self, draft: _Draft, state: State) -> list[bytes]:
        """The kept bytes of every attachment the transcript lists, in its order."""
        found: list[bytes] = []
        for ref in _ordered_refs(state):
            blob = await self.drafts.get(draft.files[ref])
            if blob is None:
                raise StorageError("an attachment expired while the tip was sealed")
            found.append(self._cipher.decrypt(blob, draft.files[ref].encode()))
        return found


def _replayed(draft: _Draft, update: str) -> list[Reply] | None:
    """The replies to carry out again for an input the draft already took: its outbox,
    or nothing when they went out. None when the input is new."""
    if draft.outbox is not None and draft.outbox.update == update:
        return list(draft.outbox.replies)
    if update in draft.done:
        return []
    return None


def _splice(
    draft: _Draft, splice: tuple[str | None, str], told: list[Reply], *, still_listed: bool
) -> None:
    """Put what an attachment's fetch told in the place of that fetch in the outbox, and
    drop what followed it when the file is no longer listed (its "received" is not true)."""
    update, ref = splice
    outbox = draft.outbox
    if update is None or outbox is None or outbox.update != update:
        return
    replies = outbox.replies
    for i, reply in enumerate(replies):
        if isinstance(reply, FetchAttachment) and reply.ref == ref:
            rest = replies[i + 1 :] if still_listed else []
            outbox.replies = [*replies[:i], *told, *rest]
            return


def _ordered_refs(state: State) -> list[str]:
    refs: list[str] = []
    for _qid, value in state.answers:
        if isinstance(value, AttachmentsAnswer):
            refs.extend(f.ref for f in value.files)
    return refs


def _refs(state: State) -> set[str]:
    return set(_ordered_refs(state))
