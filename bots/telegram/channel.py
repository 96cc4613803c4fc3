"""The Telegram channel: an update becomes an engine event, an action becomes Bot API calls.

Both adapters (python-telegram-bot and aiogram) turn their framework's update into an
:class:`~bots.telegram.common.Incoming` and call :meth:`TelegramChannel.handle`, and both
implement :class:`~bots.telegram.common.BotApi`; everything in between is here, once, so
the two behave the same. The conversation's state lives in the Intake's encrypted,
pseudonymous draft, never in a framework's own conversation state.

Per update, in order:

1. a chat that is not private is not served (a pressed button is still answered);
2. an update already done (in memory, or marked in Redis by an earlier run) is skipped;
3. the flood limit: over it, one short notice, then the excess is dropped (never the
   tipster's "send the report");
4. a button is answered (answerCallbackQuery) at once: the tipster's phone stops showing
   it as pending;
5. the event goes to the Intake, which saves the step and its replies (the *outbox*) in
   one write of the draft. A chat without a draft gets ``Start`` (with Telegram's
   language_code as a hint, used for that one choice), or ``FollowUp`` when it asked for
   /followup, but a pressed button there starts nothing: the tipster is told the
   conversation has ended and how to begin again. A /command becomes its event; typed
   text is read by :func:`bots.render.interpret` against the question last shown (after
   a restart, the question the engine is at); a button's data ``step:option`` becomes
   ``Choose`` (malformed data a ``Choose`` no step has, which the engine answers as a
   stale button);
6. the replies are carried out (messages; a file fetched and handed to the Intake, which
   scrubs it and puts what it told in the fetch's place in the outbox; the chat wiped,
   and the tipster told whether every message went), then the ids of the tipster's and
   the bot's messages are noted for a later wipe together with the update's token (its
   replies went out): one write, a note beside the draft that the draft's next read
   applies and its next write takes in (:meth:`~bots.intake.Intake.remember`). An update
   after which no draft remains (the conversation ended, or a press on one that is over)
   is marked done in :class:`SeenUpdates` instead;
7. the keyboard of the message a button was pressed on is removed only when that
   keyboard answers nothing any more: the press did not answer its question (a stale
   press on an earlier question, forged data, a press on a conversation that is over),
   or it ended the conversation (the last question, "delete this chat?", answered "no":
   its "yes" could no longer delete anything). A keyboard the chat wipe deletes anyway is
   left alone.

Why not remove every used keyboard, as this channel once did: it cost a Bot API call on
every press, made before the step, so the next question came later, and the phone had
one more change to fetch, which on a slow line is one more wait before the question the
tipster is waiting for. It did not stop double presses either: a tipster on a slow phone
who presses twice has sent both presses before the edit reaches the phone. What keeps a
press safe is the engine: a press on an earlier question is answered, told it belongs to
an earlier question, and the current question is asked again; nothing is changed. An
answered question keeping its buttons is what the usual bots show, and the summary
before sending shows every answer given.

The note is written before the update is confirmed to Telegram, and cannot wait for the
chat's next step: Telegram's offset confirms an update only by asking for those after
it, so the chat's next update cannot even be fetched before this one is confirmed, and
ids then only in memory would die with the process, leaving those messages out of the
wipe. What could be folded into the next step's write is: that the update was done (the
next step's write moves the token of the outbox it replaces among the done ones).

An update delivered again after a crash is recognised by the draft: if its step was
saved, the outbox is carried out again (the same texts and keyboards), never the step;
if its replies went out too, nothing is sent. The crash tests in
``tests/test_telegram_faults.py`` die at every call of a step to show it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from itertools import pairwise
from typing import Final

import redis.asyncio as aioredis

from conversations import (
    BACK_OPTION,
    SKIP_OPTION,
    Action,
    Ask,
    Attachment,
    Back,
    Cancel,
    ChangeLanguage,
    Choose,
    End,
    Event,
    FetchAttachment,
    FollowUp,
    Help,
    Location,
    Msg,
    Questionnaire,
    Say,
    ShowSafety,
    ShowSummary,
    Skip,
    Start,
    State,
    Text,
)
from conversations import messages as m
from conversations.answers import AttachmentsAnswer
from privacy.secrets import ServerSecret
from storage import DraftStore, StorageError, StorageUnavailableError

from ..intake import Intake, WipeChat
from ..observe import Observer
from ..render import Renderer, interpret
from . import messages as tm
from .common import (
    MAX_DOWNLOAD,
    ApiError,
    BotApi,
    Button,
    ChatGone,
    FileTooBig,
    FloodLimiter,
    Incoming,
    Keyboard,
    Recent,
    Rejected,
    Span,
    Tap,
    batched,
    decode_callback,
    encode_callback,
    html_messages,
    parse_command,
    telegram_language,
    with_retries,
)

__all__ = ["COMMAND_MENU", "SEEN_TTL", "SeenUpdates", "TelegramChannel", "seen_updates"]

log = logging.getLogger(__name__)

#: How long an update is remembered as seen: Telegram keeps an unconfirmed update for
#: 24 hours, so a redelivery after a restart falls within it.
SEEN_TTL: Final = timedelta(hours=24)
HOLE: Final = 100  # the widest gap between known message ids a wipe fills (_holes)
CHANNEL: Final = "telegram"
COMMAND_MENU: Final = (
    ("start", tm.COMMAND_START),
    ("cancel", tm.COMMAND_CANCEL),
    ("language", tm.COMMAND_LANGUAGE),
    ("help", tm.COMMAND_HELP),
    ("safety", tm.COMMAND_SAFETY),
    ("followup", tm.COMMAND_FOLLOWUP),
)
_COMMANDS: Final[dict[str, Callable[[], Event]]] = {
    "start": Start,
    "cancel": Cancel,
    "language": ChangeLanguage,
    "help": Help,
    "safety": ShowSafety,
    "back": Back,
    "skip": Skip,
    "followup": FollowUp,
}
#: Callback data that is no step's: the engine answers it as a stale button (re-asks).
_FORGED: Final = Choose("", "")
_MAX_UNREMEMBERED = 2000
_MEMORY_CHATS = 10_000


class SeenUpdates:
    """Updates done after which no draft remains (the conversation ended with them, or a
    press on one that was over was answered), in Redis under an HMAC of the update id
    (never the id itself), for :data:`SEEN_TTL`. Every other update is known by its
    draft, under :meth:`token`: its outbox until the replies went out, then among the
    draft's recent done tokens."""

    DONE: Final = b"d"

    def __init__(self, store: DraftStore, secret: ServerSecret, scope: str) -> None:
        self._store = store
        self._secret = secret
        self._scope = f"{CHANNEL}-update:{scope}"

    def token(self, update_id: int) -> str:
        """The update's name in Redis and in the draft's outbox: an HMAC of its id."""
        return self._secret.pseudonym(self._scope, str(update_id))

    async def status(self, update_id: int) -> bytes | None:
        return await self._store.get(self.token(update_id))

    async def mark(self, update_id: int, status: bytes) -> None:
        await self._store.put(self.token(update_id), status)


def seen_updates(
    client: aioredis.Redis,
    secret: ServerSecret,
    bot_id: int,
    ttl: timedelta = SEEN_TTL,
    *,
    prefix: str = "tipline:telegram-update:",
) -> SeenUpdates:
    """The seen-updates record of one bot, in the Redis the drafts use (under the
    tipline's own ``prefix`` when a deployment runs several)."""
    store = DraftStore(client, ttl=ttl, prefix=prefix)
    return SeenUpdates(store, secret, str(bot_id))


@dataclass
class _Chat:
    """What the channel keeps of a chat in memory: the last question (to read a typed
    option), the language last used, message ids not yet noted in the draft."""

    ask: Ask | None = None
    lang: str | None = None
    unremembered: list[int] = field(default_factory=list)
    gone: bool = False


class TelegramChannel:
    def __init__(
        self,
        intake: Intake,
        questionnaire: Questionnaire,
        api: BotApi,
        *,
        seen: SeenUpdates,
        flood: FloodLimiter | None = None,
        max_file_bytes: int = MAX_DOWNLOAD,
        observer: Observer | None = None,
    ) -> None:
        self.observer = observer or Observer()
        self.intake = intake
        self.questionnaire = questionnaire
        self.api = api
        self.seen = seen
        self.flood = flood
        self.max_file_bytes = max_file_bytes
        self._chats: Recent[int, _Chat] = Recent(_MEMORY_CHATS)
        self._done: Recent[int, bool] = Recent(_MEMORY_CHATS)

    # ------------------------------------------------------------------ setup
    async def setup(self) -> None:
        """The command menu, in the default language and in every offered language."""
        q = self.questionnaire
        targets: list[tuple[str, str | None]] = [(q.default_language, None)]
        codes: set[str] = set()
        for lang in q.languages:
            code = telegram_language(lang)
            if code is not None and code not in codes:
                codes.add(code)
                targets.append((lang, code))
        for lang, code in targets:
            renderer = Renderer(lang, q)
            commands = [(name, renderer.msgid(msgid)[:256]) for name, msgid in COMMAND_MENU]
            try:
                await with_retries(partial(self.api.set_commands, commands, code))
            except ApiError as exc:
                log.warning("the command menu could not be set (%s)", type(exc).__name__)

    # ------------------------------------------------------------------ updates
    async def handle(self, incoming: Incoming) -> None:
        """Handle one update. Raises only when its effect could not be made durable (the
        Intake or Redis failed): the update must then be delivered again. Timed and
        counted by outcome for metrics, never by chat."""
        started = time.monotonic()
        outcome = "failed"
        try:
            if incoming.chat_id is None:
                await self._handle(incoming)
            else:
                # Across processes too (webhook workers), one update of a chat at a time.
                async with self.intake.exclusive(str(incoming.chat_id)):
                    await self._handle(incoming)
            outcome = "ok"
        except StorageError as exc:
            unavailable = isinstance(exc, StorageUnavailableError)
            self.observer.storage_error("unavailable" if unavailable else "other")
            raise
        finally:
            self.observer.update_handled(time.monotonic() - started, outcome)

    async def _handle(self, incoming: Incoming) -> None:
        tap = incoming.tap
        chat_id = incoming.chat_id
        if chat_id is None:
            if tap is not None:
                await self._answer(tap)
            return
        update_id = incoming.update_id
        if update_id in self._done:
            return
        chat = self._chat(chat_id)
        chat.gone = False
        if await self._flooded(incoming, chat):
            self._done.put(update_id, True)
            return
        if tap is not None:
            await self._answer(tap)  # at once, before anything can fail or take time
        conversation = str(chat_id)
        token = self.seen.token(update_id)
        if incoming.message_id is not None:
            chat.unremembered.insert(0, incoming.message_id)  # a typed "yes" to a wipe too

        stale = False

        def decide(state: State | None) -> Event | None:
            nonlocal stale
            # A button of a conversation that is over (or expired) starts nothing.
            if state is None and tap is not None:
                return None
            event = self._event(incoming, chat, state)
            # A press on an earlier question's keyboard (or forged data): not an answer.
            stale = state is not None and isinstance(event, Choose) and event.step != state.step
            return event

        # One read of the draft: whether this update was taken already (a crash after its
        # step was saved: its saved replies go out again), else its event, applied.
        async def done_elsewhere() -> bool:
            return await self.seen.status(update_id) == SeenUpdates.DONE

        replies = await self.intake.take(
            conversation, decide, update=token, done_elsewhere=done_elsewhere
        )
        sent: list[int] = []
        if replies is None:
            # A button of a conversation that is over (or expired) starts nothing by
            # itself: say so, and how to begin again.
            lang = chat.lang or self.intake.engine.language_for(incoming.language_code)
            chat.lang = lang
            sent = await self._say(chat_id, chat, Msg(tm.ENDED))
            chat.unremembered.clear()
            await self.seen.mark(update_id, SeenUpdates.DONE)
            self._done.put(update_id, True)
            await self._spent(chat_id, tap)
            return
        sent = await self._perform(chat_id, replies, chat, token)
        ids = [*chat.unremembered, *sent]
        chat.unremembered.clear()
        ended = any(isinstance(reply, End) for reply in replies)
        if ended:
            # The conversation is over, and remember() forgets its draft: the update is
            # marked done first, so that a crash in between cannot leave it unknown.
            await self.seen.mark(update_id, SeenUpdates.DONE)
            await self.intake.remember(conversation, ids, done=token)
        else:
            # The draft records the update done (its outbox emptied): no other mark.
            await self.intake.remember(conversation, ids, done=token)
        self._done.put(update_id, True)
        wiped = any(isinstance(reply, WipeChat) for reply in replies)
        if stale or (ended and not wiped):
            await self._spent(chat_id, tap)

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = _Chat()
            self._chats.put(chat_id, chat)
        return chat

    def _lang(self, chat: _Chat) -> str:
        return chat.lang or self.questionnaire.default_language

    async def _flooded(self, incoming: Incoming, chat: _Chat) -> bool:
        """True when the update is over the flood limit (and was answered or dropped)."""
        if self.flood is None or incoming.chat_id is None:
            return False
        tap = incoming.tap
        exempt = False
        review = self.questionnaire.review.id
        if tap is not None and decode_callback(tap.data) == (review, "send"):
            # Only a chat really at the summary may send over the limit: callback data is
            # the client's to forge, the draft's step is not.
            state = await self.intake.state(str(incoming.chat_id))
            exempt = state is not None and state.phase == "asking" and state.step == review
        verdict = self.flood.check(incoming.chat_id, exempt=exempt)
        if verdict == "allow":
            return False
        if tap is not None:
            await self._answer(tap)
        if incoming.message_id is not None:
            chat.unremembered.append(incoming.message_id)
        if verdict == "notify":
            log.info("a chat went over the flood limit")
            self.observer.flood_notice()
            chat.unremembered += await self._say(incoming.chat_id, chat, Msg(tm.FLOOD))
        del chat.unremembered[:-_MAX_UNREMEMBERED]
        return True

    def _event(self, incoming: Incoming, chat: _Chat, state: State | None) -> Event:
        """The engine event for an update."""
        if state is None:
            # A chat without a draft starts a report (or, asked for, a follow-up); the
            # platform's language guess is used for this one choice and goes nowhere else.
            hint = incoming.language_code
            wanted = self._typed(incoming, chat, None)
            return FollowUp(language_hint=hint) if wanted == FollowUp() else Start(hint)
        if incoming.tap is not None:
            decoded = decode_callback(incoming.tap.data)
            return _FORGED if decoded is None else Choose(*decoded)
        if incoming.location is not None:
            return Location(*incoming.location)
        if incoming.file is not None:
            f = incoming.file
            return Attachment(f.file_id, f.kind, f.size, f.caption)
        typed = self._typed(incoming, chat, state)
        # A sticker, a contact, a poll: nothing a question takes. The engine re-asks.
        return Text("") if typed is None else typed

    def _typed(self, incoming: Incoming, chat: _Chat, state: State | None) -> Event | None:
        """A text message as an event: a /command, else read as the console reads a line
        (a command word, an option's number or label, or free text)."""
        if incoming.text is None:
            return None
        command = parse_command(incoming.text)
        if command is not None:
            return _COMMANDS.get(command, Help)()
        lang = state.language if state is not None else self._lang(chat)
        ask: Ask | None = None
        if state is not None:
            # The question as last shown; after a restart, as the engine asks it now.
            remembered = chat.ask if chat.ask is not None and chat.ask.step == state.step else None
            ask = remembered or self.intake.engine.question(state)
        return interpret(ask, incoming.text, Renderer(lang, self.questionnaire))

    # ------------------------------------------------------------------ actions
    async def _perform(
        self, chat_id: int, actions: Sequence[Action | WipeChat], chat: _Chat, token: str
    ) -> list[int]:
        """Carry out the actions; the ids of the messages sent."""
        sent: list[int] = []
        queue: list[Action | WipeChat] = list(actions)
        while queue:
            action = queue.pop(0)
            match action:
                case Say(msg, lang):
                    chat.lang = lang
                    sent += await self._say(chat_id, chat, msg)
                case Ask():
                    chat.lang, chat.ask = action.lang, action
                    spans, keyboard = self._render_ask(action)
                    sent += await self._send(chat_id, chat, spans, keyboard)
                case ShowSummary(_, lang):
                    chat.lang = lang
                    sent += await self._send(chat_id, chat, self._render_summary(action))
                case FetchAttachment(ref, keep_voice):
                    queue = await self._fetch(chat_id, ref, queue, token, keep_voice)
                case WipeChat(message_ids, lang):
                    chat.lang = lang or chat.lang
                    refused = await self._wipe(chat_id, [*message_ids, *chat.unremembered], chat)
                    chat.unremembered.clear()
                    done = Msg(m.WIPED) if not refused else Msg.plural_of(tm.WIPE_REFUSED, refused)
                    sent += await self._say(chat_id, chat, done)
                case End():
                    chat.ask = None
                case _:
                    pass
        return sent

    def _render_ask(self, ask: Ask) -> tuple[list[Span], Keyboard]:
        renderer = Renderer(ask.lang, self.questionnaire)
        rows = [
            (Button(renderer.label(option.label), encode_callback(ask.step, option.id)),)
            for option in ask.options
        ]
        if ask.skippable:
            rows.append((Button(renderer.msgid(m.SKIP), encode_callback(ask.step, SKIP_OPTION)),))
        if ask.can_go_back:
            rows.append((Button(renderer.msgid(m.BACK), encode_callback(ask.step, BACK_OPTION)),))
        return [Span(renderer.text(ask.prompt))], tuple(rows)

    def _render_summary(self, summary: ShowSummary) -> list[Span]:
        renderer = Renderer(summary.lang, self.questionnaire)
        spans = [Span(renderer.msgid(m.SUMMARY_INTRO) + "\n\n")]
        for label, value in renderer.summary(summary):
            spans += [Span(label, bold=True), Span(f"\n{value}\n\n")]
        return spans

    async def _say(self, chat_id: int, chat: _Chat, msg: Msg) -> list[int]:
        text = Renderer(self._lang(chat), self.questionnaire).text(msg)
        return await self._send(chat_id, chat, [Span(text)])

    async def _send(
        self, chat_id: int, chat: _Chat, spans: list[Span], keyboard: Keyboard | None = None
    ) -> list[int]:
        """Send the spans (split at Telegram's limit, the keyboard on the last part)."""
        texts = html_messages(spans)
        ids: list[int] = []
        for i, text in enumerate(texts):
            if chat.gone:
                break
            markup = keyboard if i == len(texts) - 1 else None
            try:
                ids.append(
                    await with_retries(partial(self.api.send_message, chat_id, text, markup))
                )
            except ChatGone:
                log.info("a tipster blocked the bot; nothing more is sent to that chat")
                chat.gone = True
            except ApiError as exc:
                log.warning("a message could not be sent (%s)", type(exc).__name__)
        return ids

    async def _answer(self, tap: Tap) -> None:
        try:
            await with_retries(lambda: self.api.answer_callback(tap.query_id), attempts=2)
        except ApiError as exc:
            log.debug("a button press could not be answered (%s)", type(exc).__name__)

    async def _spent(self, chat_id: int, tap: Tap | None) -> None:
        """Remove the keyboard of the message a button was pressed on: it answers nothing
        any more (see the module's docstring for when)."""
        if tap is None or tap.message_id is None:
            return
        message_id = tap.message_id
        with suppress(ApiError):
            await with_retries(lambda: self.api.remove_keyboard(chat_id, message_id), attempts=2)

    async def _fetch(
        self,
        chat_id: int,
        ref: str,
        rest: list[Action | WipeChat],
        token: str,
        keep_voice: bool = False,
    ) -> list[Action | WipeChat]:
        """Fetch a file (getFile, then the download) and hand it to the Intake, which
        scrubs it (P3) and keeps it with the draft; what to carry out next. When the file
        is not kept (too big, not fetched, refused by the scrubber) the engine's reason
        replaces the "received" that followed, which is no longer true."""
        conversation = str(chat_id)
        with suppress(ApiError):
            await self.api.send_typing(chat_id)
        reason = "failed"
        try:
            data = await with_retries(partial(self.api.download, ref, self.max_file_bytes))
        except FileTooBig:
            reason = "too_large"
        except ApiError as exc:
            log.warning("a file could not be fetched (%s)", type(exc).__name__)
        else:
            told = await self.intake.attach(
                conversation, ref, data, update=token, keep_voice=keep_voice
            )
            if ref in _attachment_refs(await self.intake.state(conversation)):
                return [*told, *rest]
            return list(told)
        return await self.intake.fetch_failed(conversation, ref, reason, update=token)

    async def _wipe(self, chat_id: int, message_ids: Sequence[int], chat: _Chat) -> int:
        """Delete both sides of the conversation, up to 100 messages a call; how many
        messages are left. Telegram lets a bot delete a private chat's messages for 48
        hours, and refuses a whole call for one older message: a refused call is made
        again one message at a time, to delete the rest and count what stays.

        A private chat numbers its messages, both sides', one after another, so every id
        between two of the conversation's is the conversation too. The holes are deleted
        with it (ids not found are skipped): a process that died after sending a reply
        and before noting its id leaves such a hole, and the reply sent again after the
        restart is noted above it. Only what is known is counted as left."""
        known = sorted(set(message_ids))
        holes = set(_holes(known))
        left = 0
        for batch in batched(sorted(holes.union(known))):
            done = await self._delete(chat_id, batch, chat)
            if done is None and len(batch) > 1:  # refused: one at a time
                each = [await self._delete(chat_id, [i], chat) for i in batch if i not in holes]
                left += sum(result is not True for result in each)
                if unknown := [i for i in batch if i in holes]:
                    await self._delete(chat_id, unknown, chat)  # once: not counted
            elif done is not True:
                left += sum(i not in holes for i in batch)
        if left:
            log.info("%d messages could not be deleted", left)
        return left

    async def _delete(self, chat_id: int, ids: list[int], chat: _Chat) -> bool | None:
        """One deleteMessages call: True when done, None when Telegram refused it,
        False when it failed otherwise (no point trying each message)."""
        if chat.gone:
            return False
        try:
            if await with_retries(partial(self.api.delete_messages, chat_id, ids)):
                return True
        except ChatGone:
            chat.gone = True
            return False
        except Rejected:
            pass
        except ApiError as exc:
            log.warning("some messages could not be deleted (%s)", type(exc).__name__)
            return False
        return None


def _holes(known: Sequence[int]) -> Iterator[int]:
    """The ids missing between two neighbours of ``known`` (sorted), for holes of at
    most HOLE; a wider one is not a crash's few replies, and would cost calls."""
    for below, above in pairwise(known):
        if above - below - 1 <= HOLE:
            yield from range(below + 1, above)


def _attachment_refs(state: State | None) -> set[str]:
    """The refs of the files a draft lists."""
    if state is None:
        return set()
    return {
        f.ref
        for _question, value in state.answers
        if isinstance(value, AttachmentsAnswer)
        for f in value.files
    }
