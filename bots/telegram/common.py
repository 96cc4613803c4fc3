"""What both Telegram adapters share, free of either framework.

* the neutral shape of an update (:class:`Incoming`) that each adapter builds from its
  framework's objects, and the small Bot API surface (:class:`BotApi`) each implements;
* one error tree for that surface, so retries and give-ups are decided once::

      ApiError
       +-- RetryLater      429: wait ``seconds``, then call again
       +-- Unreachable     network trouble, timeouts, 5xx
       +-- Rejected        400/404: this call will never work as it is
       +-- FileTooBig      the file is over what the Bot API lets a bot download
       +-- ChatGone        403: the tipster blocked the bot or deleted the account
       +-- Conflict        409: another instance polls, or a webhook is set
       +-- TokenRefused    401: the bot token is wrong

* callback data (``step:option``, at most 64 bytes), keyboards, splitting texts at
  Telegram's 4096 characters, HTML escaping of everything shown;
* the per-chat flood limiter (which counts what a tipster sent, as the polling loop tells
  it through :data:`ARRIVAL`, not a press repeated because the bot was slow), the
  per-chat sequencer (one update of a chat at a time, in
  order; chats run concurrently), a small LRU, and the guard that keeps the frameworks'
  own log lines free of identities and texts (rule P1).

Nothing here stores or logs a chat id, user id, name or text.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Literal, Protocol, TypeVar

__all__ = [
    "ALLOWED_UPDATES",
    "ARRIVAL",
    "DELETE_BATCH",
    "MAX_CALLBACK_DATA",
    "MAX_DOWNLOAD",
    "MAX_TEXT",
    "ApiError",
    "Arrival",
    "BotApi",
    "Button",
    "ChatGone",
    "ChatSequencer",
    "Conflict",
    "FileRef",
    "FileTooBig",
    "FloodLimiter",
    "Framework",
    "Incoming",
    "Keyboard",
    "LastUpdates",
    "Recent",
    "Rejected",
    "RetryLater",
    "Span",
    "Tap",
    "TokenRefused",
    "Unreachable",
    "batched",
    "decode_callback",
    "encode_callback",
    "file_ref",
    "guard_framework_logs",
    "html_messages",
    "parse_command",
    "telegram_language",
    "update_fingerprint",
    "utf16_len",
    "with_retries",
]

log = logging.getLogger(__name__)

MAX_TEXT: Final = 4096  # characters of a message, after entities are parsed (UTF-16 units)
MAX_CALLBACK_DATA: Final = 64  # bytes
MAX_DOWNLOAD: Final = 20 * 1024 * 1024  # what getFile lets a bot download
DELETE_BATCH: Final = 100  # message ids per deleteMessages
ALLOWED_UPDATES: Final = ("message", "callback_query")
MAX_RETRY_WAIT: Final = 120.0  # a longer retry_after gives the call up rather than wait


# --------------------------------------------------------------------------- errors
class ApiError(Exception):
    """A Bot API call failed. Messages never carry the call's parameters."""


class RetryLater(ApiError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"flood control: retry in {seconds:g} s")
        self.seconds = max(0.0, float(seconds))


class Unreachable(ApiError):
    pass


class Rejected(ApiError):
    pass


class FileTooBig(ApiError):
    pass


class ChatGone(ApiError):
    pass


class Conflict(ApiError):
    pass


class TokenRefused(ApiError):
    pass


T = TypeVar("T")


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = 4,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Call, waiting out a 429 for as long as Telegram says (``retry_after``) and network
    trouble with a short backoff; anything else is raised at once."""
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryLater as exc:
            if attempt == attempts or exc.seconds > MAX_RETRY_WAIT:
                raise
            log.warning("Telegram asked to slow down; waiting %g s", exc.seconds)
            await sleep(exc.seconds)
        except Unreachable:
            if attempt == attempts:
                raise
            await sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover


# --------------------------------------------------------------------------- updates
@dataclass(frozen=True, repr=False)
class FileRef:
    """A file the tipster sent: the Bot API's file id (to fetch it), what kind it is, its
    size when Telegram says, and the caption."""

    file_id: str
    kind: Literal["photo", "document", "video", "voice", "audio"]
    size: int | None = None
    caption: str | None = None


def file_ref(message: Any) -> FileRef | None:
    """The file of a Bot API message, as both frameworks model it (the same field names):
    the largest photo size, a video (an animation also comes as a document), a
    document, a voice note or an audio file."""
    caption = message.caption
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return FileRef(largest.file_id, "photo", largest.file_size, caption)
    for video in (message.animation, message.video, message.video_note):
        if video is not None:
            return FileRef(video.file_id, "video", video.file_size, caption)
    if message.document is not None:
        return FileRef(message.document.file_id, "document", message.document.file_size, caption)
    if message.voice is not None:
        return FileRef(message.voice.file_id, "voice", message.voice.file_size, caption)
    if message.audio is not None:
        return FileRef(message.audio.file_id, "audio", message.audio.file_size, caption)
    return None


@dataclass(frozen=True, repr=False)
class Tap:
    """A button pressed: the callback query to answer, its data, the message it was on."""

    query_id: str
    data: str | None
    message_id: int | None


@dataclass(frozen=True, repr=False)
class Incoming:
    """One update, as the channel needs it. ``chat_id`` is set only for a private chat (the
    bot serves no group). Its ``repr`` shows the update id only, so that no log line or
    traceback can carry a chat id or a text by accident."""

    update_id: int
    chat_id: int | None = None
    message_id: int | None = None
    language_code: str | None = None
    text: str | None = None
    tap: Tap | None = None
    location: tuple[float, float] | None = None
    file: FileRef | None = None

    def __repr__(self) -> str:
        return f"Incoming(update {self.update_id})"


def update_fingerprint(update: Any) -> bytes | None:
    """What a repeat of an update has in common with it: the text typed, or the data of
    the button pressed, as a digest (kept in memory only); None for anything else. Both
    frameworks' updates have the Bot API's field names, as have their messages."""
    query = getattr(update, "callback_query", None)
    message = getattr(update, "message", None)
    if query is not None and isinstance(query.data, str):
        content = "button\0" + query.data
    elif message is not None and isinstance(message.text, str):
        content = "text\0" + message.text
    else:
        return None
    return hashlib.blake2b(content.encode("utf-8", "replace"), digest_size=16).digest()


@dataclass(frozen=True)
class Arrival:
    """How an update came in, for the flood limit: how long it waited between being
    fetched and being handled, and whether it repeats the update before it in its chat
    (the same text, the same button: sent again because the bot was slow to answer)."""

    waited: float = 0.0
    repeat: bool = False


#: Set by the polling loop (and the webhook) around the handling of each update.
ARRIVAL: ContextVar[Arrival | None] = ContextVar("tipline_telegram_arrival", default=None)


@dataclass(frozen=True)
class Button:
    text: str
    data: str


Keyboard = tuple[tuple[Button, ...], ...]


class BotApi(Protocol):
    """The Bot API calls the channel makes; each adapter implements them with its
    framework's bot and raises only :class:`ApiError` subclasses."""

    async def send_message(self, chat_id: int, html_text: str, keyboard: Keyboard | None) -> int:
        """Send an HTML message; the new message's id."""

    async def remove_keyboard(self, chat_id: int, message_id: int) -> None: ...

    async def answer_callback(self, query_id: str) -> None: ...

    async def delete_messages(self, chat_id: int, message_ids: Sequence[int]) -> bool:
        """deleteMessages: True when Telegram deleted them (ids not found are skipped);
        :class:`Rejected` when it refused, as it does for the whole call when one of the
        messages is too old."""

    async def send_typing(self, chat_id: int) -> None: ...

    async def download(self, file_id: str, limit: int) -> bytes:
        """getFile, then the file's bytes; :class:`FileTooBig` over ``limit``."""

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], language_code: str | None
    ) -> None: ...

    async def set_webhook(self, url: str, secret: str) -> None: ...

    async def delete_webhook(self) -> None: ...


U = TypeVar("U")


class Framework(Protocol[U]):
    """A framework's bot and dispatcher, as the polling loop and the webhook drive them.
    ``U`` is the framework's own update type."""

    @property
    def api(self) -> BotApi: ...

    @property
    def bot_id(self) -> int: ...

    async def open(self) -> None:
        """Initialise (getMe); :class:`TokenRefused` for a wrong token."""

    async def close(self) -> None: ...

    def bind(self, handler: Callable[[Incoming], Awaitable[None]]) -> None:
        """Route the framework's handlers to ``handler``."""

    async def get_updates(self, offset: int | None, wait: float, limit: int) -> Sequence[U]: ...

    def update_id(self, update: U) -> int: ...

    def chat_key(self, update: U) -> int | None: ...

    def parse(self, data: Mapping[str, Any]) -> U: ...

    async def dispatch(self, update: U) -> None:
        """Run the framework's own dispatch for one update; raise what the handler raised."""


# --------------------------------------------------------------------------- callback data
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s|$)")


def encode_callback(step: str, option: str) -> str:
    """``step:option``. Questionnaire ids are short (at most 24 characters), so this
    always fits in Telegram's 64 bytes; anything longer is a programming error."""
    data = f"{step}:{option}"
    if ":" in step or not step or not option or len(data.encode()) > MAX_CALLBACK_DATA:
        raise ValueError("callback data must be step:option in at most 64 bytes")
    return data


def decode_callback(data: object) -> tuple[str, str] | None:
    """``(step, option)`` from callback data, or None for anything malformed."""
    if not isinstance(data, str) or not data:
        return None
    try:
        if len(data.encode()) > MAX_CALLBACK_DATA:
            return None
    except UnicodeEncodeError:  # a lone surrogate: not text Telegram would send
        return None
    step, sep, option = data.partition(":")
    if not sep or not step or not option:
        return None
    return step, option


def parse_command(text: str) -> str | None:
    """The command of ``/name``, ``/name@bot`` or ``/name payload`` (lowercase), else None."""
    found = _COMMAND.match(text)
    return found.group(1).lower() if found else None


def telegram_language(code: str) -> str | None:
    """Telegram's two-letter language code for one of ours (``zh_Hans`` -> ``zh``)."""
    base = code.split("_", 1)[0].lower()
    return base if len(base) == 2 and base.isascii() and base.isalpha() else None


# --------------------------------------------------------------------------- texts
def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


@dataclass(frozen=True)
class Span:
    """A run of plain text, shown bold or not. It is escaped when turned into HTML."""

    text: str
    bold: bool = False


def _fit(text: str, room: int) -> int:
    """How many characters of ``text`` fit in ``room`` UTF-16 units."""
    used = 0
    for i, c in enumerate(text):
        used += 2 if ord(c) > 0xFFFF else 1
        if used > room:
            return i
    return len(text)


def _cut(text: str, room: int, *, fresh: bool) -> int:
    """Where to cut ``text`` to fill ``room``: at a line break or a space if one is in the
    second half, else anywhere in a fresh message, else nowhere (start a new message)."""
    fits = _fit(text, room)
    for sep in ("\n", " "):
        at = text.rfind(sep, 0, fits + 1)
        if at > 0 and (at >= fits // 2 or not fresh):
            return at
    return fits if fresh else 0


def html_messages(spans: Sequence[Span], limit: int = MAX_TEXT) -> list[str]:
    """The spans as HTML messages, each at most ``limit`` characters once Telegram has
    parsed the markup. Every piece of text is escaped, so a tipster's ``<b>``, ``&`` or
    ``*`` shows as typed. Messages that would be blank are left out."""
    chunks: list[list[Span]] = []
    current: list[Span] = []
    room = limit
    for span in spans:
        text = span.text
        while text:
            if utf16_len(text) <= room:
                current.append(Span(text, span.bold))
                room -= utf16_len(text)
                break
            cut = _cut(text, room, fresh=not current)
            if cut == 0 and not current:
                cut = 1  # not even one character fits: cannot happen with a sane limit
            if cut > 0:
                current.append(Span(text[:cut], span.bold))
            chunks.append(current)
            current, room = [], limit
            text = text[cut:].lstrip("\n ")
    chunks.append(current)
    out = []
    for chunk in chunks:
        if not "".join(s.text for s in chunk).strip():
            continue
        # Telegram trims a message; trim here so that what is sent is what is shown.
        chunk[0] = Span(chunk[0].text.lstrip(), chunk[0].bold)
        chunk[-1] = Span(chunk[-1].text.rstrip(), chunk[-1].bold)
        out.append(
            "".join(
                f"<b>{_escape(s.text)}</b>" if s.bold and s.text.strip() else _escape(s.text)
                for s in chunk
            )
        )
    return out


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def batched(items: Sequence[int], size: int = DELETE_BATCH) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


# --------------------------------------------------------------------------- memory
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    """A small LRU mapping, in memory only."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def pop(self, key: K) -> V | None:
        return self._items.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


Verdict = Literal["allow", "notify", "drop"]


@dataclass
class _Counts:
    sent: deque[float] = field(default_factory=deque)  # when counted updates were sent
    repeats: deque[float] = field(default_factory=deque)  # when forgiven repeats were
    notified: bool = False


class FloodLimiter:
    """At most ``limit`` updates of a chat per ``window`` seconds, in memory only.

    Over the limit, the first update gets ``notify`` (the channel answers once with a short
    notice) and the rest ``drop`` until the window has room again. An exempt update (the
    tipster sending the report) is always allowed.

    What is counted is what the tipster sent, when it was sent: when the polling loop says
    (:data:`ARRIVAL`) that an update waited in this process, its time is when it came, not
    when it was handled, so a backlog handled at once is no flood. An update that repeats
    the one before it in its chat (the same button pressed again, the same text sent
    again, as people do when a bot is slow) is not counted, up to ``repeats`` of them per
    window; past those, repeats count like the rest, so sending one text over and over is
    still a flood.
    """

    def __init__(
        self,
        limit: int = 20,
        window: float = 60.0,
        *,
        repeats: int = 10,
        clock: Callable[[], float] = time.monotonic,
        max_chats: int = 10_000,
    ) -> None:
        if limit < 1 or window <= 0 or repeats < 0:
            raise ValueError("the flood limit needs limit >= 1, window > 0, repeats >= 0")
        self.limit = limit
        self.window = window
        self.repeats = repeats
        self._clock = clock
        self._max_chats = max_chats
        self._chats: dict[Hashable, _Counts] = {}

    def check(self, key: Hashable, *, exempt: bool = False) -> Verdict:
        arrival = ARRIVAL.get()
        now = self._clock() - (arrival.waited if arrival is not None else 0.0)
        counts = self._chats.get(key)
        if counts is None:
            if len(self._chats) >= self._max_chats:
                self._sweep(now)
            counts = self._chats[key] = _Counts()
        for events in (counts.sent, counts.repeats):
            while events and events[0] <= now - self.window:
                events.popleft()
        if arrival is not None and arrival.repeat and len(counts.repeats) < self.repeats:
            counts.repeats.append(now)
            return "allow"
        if exempt or len(counts.sent) < self.limit:
            counts.sent.append(now)
            counts.notified = False
            return "allow"
        if counts.notified:
            return "drop"
        counts.notified = True
        return "notify"

    def _sweep(self, now: float) -> None:
        def idle(counts: _Counts) -> bool:
            return all(not e or e[-1] <= now - self.window for e in (counts.sent, counts.repeats))

        for key in [k for k, counts in self._chats.items() if idle(counts)]:
            del self._chats[key]
        while len(self._chats) >= self._max_chats:
            del self._chats[next(iter(self._chats))]


class ChatSequencer:
    """Runs jobs one at a time and in submission order per key (a chat), while jobs of
    different keys run concurrently, at most ``concurrency`` at once."""

    def __init__(self, concurrency: int = 64) -> None:
        self._tails: dict[Hashable, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(concurrency)

    def submit(self, key: Hashable, job: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Queue ``job`` behind the key's earlier jobs; the task ends when the job has run."""
        previous = self._tails.get(key)
        task = asyncio.ensure_future(self._run(previous, job))
        self._tails[key] = task

        def forget(done: asyncio.Task[None], key: Hashable = key) -> None:
            if self._tails.get(key) is done:
                del self._tails[key]

        task.add_done_callback(forget)
        return task

    async def _run(
        self, previous: asyncio.Task[None] | None, job: Callable[[], Awaitable[None]]
    ) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])  # its failure is its own; order is what matters
        async with self._slots:
            await job()

    def busy(self) -> int:
        return len(self._tails)


class LastUpdates:
    """The fingerprint of each recent chat's latest update, in memory only, to tell a
    repeat (:func:`update_fingerprint`)."""

    def __init__(self, size: int = 10_000) -> None:
        self._last: Recent[Hashable, bytes] = Recent(size)

    def repeats(self, key: Hashable, update: object) -> bool:
        """Whether ``update`` repeats the chat's latest update; it becomes the latest."""
        fingerprint = update_fingerprint(update)
        if fingerprint is None:
            self._last.pop(key)
            return False
        repeat = self._last.get(key) == fingerprint
        self._last.put(key, fingerprint)
        return repeat


# --------------------------------------------------------------------------- logging
FRAMEWORK_LOGGERS: Final = ("telegram", "aiogram", "httpx", "httpcore", "aiohttp", "hpack")
_framework_log = logging.getLogger("bots.telegram.framework")


class _Redacting(logging.Handler):
    """Re-logs a framework's warnings and errors without their arguments or exception
    text: the frameworks log whole updates and request parameters (chat ids, names,
    texts) when something fails. What is kept is the static message and the error type."""

    def emit(self, record: logging.LogRecord) -> None:
        template = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
        text = f"{record.name}: {template.splitlines()[0] if template else ''}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" [{type(record.exc_info[1]).__name__}]"
        _framework_log.log(record.levelno, "%s", text)


def guard_framework_logs() -> None:
    """Keep the frameworks' debug and info lines (request parameters, updates) out of the
    logs altogether, and pass their warnings on redacted. Safe to call more than once."""
    for name in FRAMEWORK_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.WARNING)
        logger.propagate = False
        # Only the redacting handler may see a framework's raw records: any other handler
        # put on these loggers (by a library, or a test harness) would get them whole.
        for handler in [h for h in logger.handlers if not isinstance(h, _Redacting)]:
            logger.removeHandler(handler)
        if not logger.handlers:
            logger.addHandler(_Redacting())
