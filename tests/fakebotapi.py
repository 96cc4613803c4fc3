"""A fake Telegram Bot API server for the tests: aiohttp on loopback.

The bots under test reach it through their framework's own base-URL setting, so the real
framework code runs over real HTTP. It answers as Telegram does (``{"ok": true,
"result": ...}``, or ``{"ok": false, "error_code": ..., "description": ...}`` with the
HTTP status, and ``parameters.retry_after`` on a 429) for the methods the bots call:
getMe, getUpdates (offset, limit, long-poll timeout), sendMessage, editMessageText,
editMessageReplyMarkup, answerCallbackQuery, deleteMessage, deleteMessages, getFile and
the file download, sendChatAction, setMyCommands, getMyCommands, setWebhook,
deleteWebhook, getWebhookInfo. It checks what Telegram checks where it matters here:
HTML markup (``parse_mode=HTML``), the 4096-character limit, callback data of 1 to 64
bytes, at most 100 ids per deleteMessages, the 20 MB getFile limit, answering a callback
query once, and the 48 hours after which a bot can no longer delete a message of a private
chat: deleteMessage then fails, and so does a whole deleteMessages call with such a message
among its ids ("message can't be deleted for everyone"), as Telegram's server does. Time
is simulated: :meth:`FakeBotApi.advance` makes every message so far that much older.

Tests act as tipsters through :class:`FakeUser` (send text, commands, locations, photos,
documents; press buttons) and read what the bot showed. With a webhook set, the server
posts the updates to it like Telegram: several at once, but one chat's one at a time
and in order (retrying what is not answered 200).

``settled()`` waits until every update so far is confirmed (polling: a later offset was
asked for; webhook: the post was answered 200), which is when the bot is done with it.

The server counts how often each update was delivered (returned by getUpdates, or posted
to the webhook): :meth:`FakeBotApi.deliveries_per_update` is 1.0 when no update was
fetched twice; ``most_outstanding`` is the most updates delivered and not yet confirmed
at one time. Observers (``on_message``) see each message the bot sends as it arrives,
which is how a benchmark times replies without polling the chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import aiohttp
from aiohttp import web

TOKEN = "123456789:AAF-fake-token-for-the-tests_0123456789"
BOT_ID = 123456789
MAX_TEXT = 4096
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_DELETE_AGE = 48 * 3600  # seconds a bot may delete a message of a private chat
_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "code",
    "pre",
    "a",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}


class ApiFailure(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> ApiFailure:
    return ApiFailure(400, f"Bad Request: {description}")


class _TelegramHTML(HTMLParser):
    """Telegram's HTML: a few tags, properly nested; &lt; &gt; &amp; &quot; and numeric
    entities; a bare < or & is an error."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.text: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            raise _bad(f'can\'t parse entities: Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise _bad(f'can\'t parse entities: Unexpected end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            raise _bad("can't parse entities: Unexpected character")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        known = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
        if name not in known:
            raise _bad(f'can\'t parse entities: Unsupported entity "{name}"')
        self.text.append(known[name])

    def handle_charref(self, name: str) -> None:
        self.text.append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))


def parse_html(markup: str) -> str:
    """The text Telegram would show for ``markup``; ApiFailure for what it refuses."""
    if re.search(r"&(?![A-Za-z]+;|#[0-9]+;|#[xX][0-9a-fA-F]+;)", markup):
        raise _bad("can't parse entities: Character '&' is reserved")
    if re.search(r"<(?![A-Za-z/])", markup):
        raise _bad("can't parse entities: Character '<' is reserved")
    parser = _TelegramHTML()
    parser.feed(markup)
    parser.close()
    if parser.stack:
        tag = parser.stack[-1]
        raise _bad(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{tag}\""
        )
    return "".join(parser.text)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Shown:
    """A message in a chat, as the tipster's phone shows it."""

    message_id: int
    from_bot: bool
    text: str
    keyboard: list[list[tuple[str, str]]] | None = None  # (label, callback data)
    html: str | None = None
    deleted: bool = False
    typed: bool = False  # text a tipster typed
    date: float = 0.0  # when it was sent, on the server's (simulated) clock

    def buttons(self) -> list[tuple[str, str]]:
        return [b for row in self.keyboard or [] for b in row]


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200


@dataclass
class _Fault:
    method: str
    status: int
    description: str
    retry_after: int | None
    times: int
    chat_id: int | None


@dataclass
class Hold:
    """Keeps the matching request waiting until released; ``drop`` then answers it with
    an error instead of carrying it out (the caller is assumed dead)."""

    method: str
    chat_id: int | None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    drop: bool = False

    def release(self, *, drop: bool = False) -> None:
        self.drop = drop
        self.released.set()


@dataclass
class _File:
    data: bytes
    size: int  # what Telegram says (may be more than the bytes we bother to keep)
    path: str


@dataclass
class _Chat:
    id: int
    type: str
    user: dict[str, Any]
    messages: dict[int, Shown] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    blocked: bool = False

    def as_json(self) -> dict[str, Any]:
        if self.type == "private":
            fields = {
                k: v for k, v in self.user.items() if k in ("first_name", "last_name", "username")
            }
            return {"id": self.id, "type": "private", **fields}
        return {"id": self.id, "type": self.type, "title": "Market traders"}


class FakeBotApi:
    """The fake server. ``base_url`` is what TELEGRAM_API_BASE points to."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.bot_user = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "Tipline",
            "username": "tipline_test_bot",
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[Call] = []
        self.pending: list[dict[str, Any]] = []  # updates not yet confirmed
        self._unconfirmed: Counter[object] = Counter()  # chat -> its updates in pending
        self.confirmed = 0  # every update below this id is confirmed
        self.chats: dict[int, _Chat] = {}
        self.files: dict[str, _File] = {}
        self.commands: dict[str, list[dict[str, str]]] = {}
        self.webhook: tuple[str, str | None] | None = None
        self.max_connections = 40  # webhook posts at once (setWebhook's max_connections)
        self.deleted_batches: list[list[int]] = []
        self.deliveries: Counter[int] = Counter()  # update id -> times delivered
        self.most_outstanding = 0  # the most updates delivered and unconfirmed at once
        self.on_message: list[Callable[[int, Shown], None]] = []  # (chat id, message)
        self._clock_offset = 0.0  # simulated time: seconds ahead of the real clock
        self._queries: dict[str, bool] = {}  # issued query id -> answered
        self._update_ids = itertools.count(700_001)
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._faults: list[_Fault] = []
        self._holds: list[Hold] = []
        self._changed = asyncio.Condition()
        self._poll_generation = 0
        self._runner: web.AppRunner | None = None
        self._delivery: asyncio.Task[None] | None = None
        self.base_url = ""

    # ------------------------------------------------------------------ server
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for hold in self._holds:
            hold.release(drop=True)
        if self._delivery is not None:
            self._delivery.cancel()
            await asyncio.gather(self._delivery, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(
        self, check: Callable[[], bool], seconds: float = 10.0, what: str = ""
    ) -> None:
        """Wait until ``check()`` holds (re-checked whenever the server sees something)."""
        deadline = time.monotonic() + seconds
        async with self._changed:
            while not check():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what or check}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(left, 0.2))

    async def settled(self, seconds: float = 15.0) -> None:
        """Wait until every update injected so far is confirmed (the bot is done with it)."""
        await self.wait_for(lambda: not self.pending, seconds, "the bot to confirm every update")

    async def chat_settled(self, chat_id: int, seconds: float = 15.0) -> None:
        """Wait until every update of one chat so far is confirmed (many tipsters at once
        each wait for their own)."""
        await self.wait_for(
            lambda: self._unconfirmed[chat_id] <= 0, seconds, "the bot to confirm a chat's updates"
        )

    # ------------------------------------------------------------------ test controls
    def now(self) -> float:
        """The server's clock (real time, moved on by :meth:`advance`)."""
        return time.time() + self._clock_offset

    def advance(self, hours: float) -> None:
        """Let ``hours`` pass: every message so far is that much older."""
        self._clock_offset += hours * 3600

    def fail(
        self,
        method: str,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with this error."""
        self._faults.append(_Fault(method, status, description, retry_after, times, chat_id))

    def hold(self, method: str, chat_id: int | None = None) -> Hold:
        hold = Hold(method, chat_id)
        self._holds.append(hold)
        return hold

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def previews_left_on(self) -> list[Call]:
        """The sendMessage and editMessageText calls that did not disable link previews
        (``link_preview_options`` with ``is_disabled: true``): Telegram would fetch a
        preview of any link in the text, telling that site someone is looking."""
        left_on = []
        for call in self.calls:
            if call.method not in ("sendMessage", "editMessageText"):
                continue
            options = _json(call.params.get("link_preview_options"))
            if not (isinstance(options, dict) and options.get("is_disabled") is True):
                left_on.append(call)
        return left_on

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        chat = self.chats.setdefault(user_id, _Chat(user_id, "private", user))
        return FakeUser(self, chat)

    def group(self, chat_id: int, member: FakeUser) -> FakeUser:
        """A group chat that ``member`` writes in (the bot serves none)."""
        chat = self.chats.setdefault(chat_id, _Chat(chat_id, "group", member.chat.user))
        return FakeUser(self, chat)

    def add_file(self, data: bytes, *, size: int | None = None, path: str = "documents") -> str:
        n = next(self._file_ids)
        file_id = f"AgAC-fake-file-{n:06d}-" + "x" * 40
        self.files[file_id] = _File(data, len(data) if size is None else size, f"{path}/file_{n}")
        return file_id

    async def inject(self, *updates: dict[str, Any]) -> None:
        """Queue updates (one batch when given together) for getUpdates or the webhook."""
        self.pending.extend(updates)
        self._unconfirmed.update(_chat_of(u) for u in updates)
        await self._notify()

    def new_update_id(self) -> int:
        return next(self._update_ids)

    def deliveries_per_update(self) -> float:
        """Deliveries (getUpdates results, webhook posts) per distinct update delivered."""
        return self.deliveries.total() / len(self.deliveries) if self.deliveries else 0.0

    # ------------------------------------------------------------------ HTTP
    async def _method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params = await _params(request)
        except ValueError:
            return _error(_bad("can't parse request"))
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                raise ApiFailure(401, "Unauthorized")
            await self._gate(method, params)
            handler = _METHODS.get(method)
            if handler is None:
                raise ApiFailure(404, "Not Found")
            result = await handler(self, params)
        except ApiFailure as failure:
            call.status = failure.status
            await self._notify()
            return _error(failure)
        await self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _gate(self, method: str, params: dict[str, Any]) -> None:
        chat_id = _opt_int(params.get("chat_id"))
        for fault in list(self._faults):
            if fault.method == method and fault.chat_id in (None, chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                raise ApiFailure(fault.status, fault.description, fault.retry_after)
        for hold in list(self._holds):
            if hold.method == method and hold.chat_id in (None, chat_id):
                self._holds.remove(hold)
                hold.arrived.set()
                await self._notify()
                await hold.released.wait()
                if hold.drop:
                    raise ApiFailure(500, "Internal Server Error: the caller went away")

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        self.calls.append(Call("download", {"path": path}, time.monotonic()))
        for file in self.files.values():
            if file.path == path:
                return web.Response(body=file.data, content_type="application/octet-stream")
        return web.Response(status=404)

    # ------------------------------------------------------------------ methods
    def _chat(self, params: Mapping[str, Any]) -> _Chat:
        chat = self.chats.get(_int(params, "chat_id"))
        if chat is None:
            raise _bad("chat not found")
        if chat.blocked:
            raise ApiFailure(403, "Forbidden: bot was blocked by the user")
        return chat

    def _bot_message(self, chat: _Chat, params: Mapping[str, Any]) -> Shown:
        shown = chat.messages.get(_int(params, "message_id"))
        if shown is None or shown.deleted or not shown.from_bot:
            raise _bad("message to edit not found")
        return shown

    def message_json(self, chat: _Chat, shown: Shown) -> dict[str, Any]:
        sender = self.bot_user if shown.from_bot else chat.user
        out: dict[str, Any] = {
            "message_id": shown.message_id,
            "from": sender,
            "chat": chat.as_json(),
            "date": int(shown.date),
            "text": shown.text,
        }
        if shown.keyboard:
            out["reply_markup"] = {
                "inline_keyboard": [
                    [{"text": t, "callback_data": d} for t, d in row] for row in shown.keyboard
                ]
            }
        return out

    async def get_me(self, params: dict[str, Any]) -> Any:
        return self.bot_user

    async def get_updates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise ApiFailure(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _opt_int(params.get("offset"))
        limit = _opt_int(params.get("limit")) or 100
        timeout = float(_opt_int(params.get("timeout")) or 0)
        self._poll_generation += 1
        generation = self._poll_generation
        if offset is not None:
            for update in self.pending:
                if update["update_id"] < offset:
                    self._unconfirmed[_chat_of(update)] -= 1
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
            self.confirmed = max(self.confirmed, offset)
            await self._notify()
        deadline = time.monotonic() + timeout
        while True:
            ready = [u for u in self.pending if offset is None or u["update_id"] >= offset]
            if ready or time.monotonic() >= deadline:
                given = ready[:limit]
                self.deliveries.update(u["update_id"] for u in given)
                outstanding = sum(u["update_id"] in self.deliveries for u in self.pending)
                self.most_outstanding = max(self.most_outstanding, outstanding)
                return given
            if generation != self._poll_generation:
                raise ApiFailure(409, "Conflict: terminated by other getUpdates request")
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait(), max(0.01, deadline - time.monotonic())
                    )

    async def send_message(self, params: dict[str, Any]) -> Any:
        chat = self._chat(params)
        text, html = _text(params)
        keyboard = _keyboard(params.get("reply_markup"))
        shown = Shown(next(chat.ids), True, text, keyboard, html, date=self.now())
        chat.messages[shown.message_id] = shown
        for observer in self.on_message:
            observer(chat.id, shown)
        return self.message_json(chat, shown)

    async def edit_message_text(self, params: dict[str, Any]) -> Any:
        chat = self._chat(params)
        shown = self._bot_message(chat, params)
        text, html = _text(params)
        keyboard = _keyboard(params.get("reply_markup"))
        if (text, keyboard) == (shown.text, shown.keyboard):
            raise _bad("message is not modified")
        shown.text, shown.html, shown.keyboard = text, html, keyboard
        return self.message_json(chat, shown)

    async def edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        chat = self._chat(params)
        shown = self._bot_message(chat, params)
        keyboard = _keyboard(params.get("reply_markup"))
        if keyboard == shown.keyboard:
            raise _bad(
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        shown.keyboard = keyboard
        return self.message_json(chat, shown)

    async def answer_callback_query(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id", ""))
        if self._queries.get(query_id, True):
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._queries[query_id] = True
        return True

    async def delete_message(self, params: dict[str, Any]) -> Any:
        chat = self._chat(params)
        shown = chat.messages.get(_int(params, "message_id"))
        if shown is None or shown.deleted:
            raise _bad("message to delete not found")
        self._deletable(chat, [shown])
        shown.deleted = True
        return True

    def _deletable(self, chat: _Chat, messages: list[Shown]) -> None:
        """Telegram refuses the whole call when one message is past the 48 hours."""
        if chat.type == "private" and any(
            self.now() - shown.date > MAX_DELETE_AGE for shown in messages
        ):
            raise _bad("message can't be deleted for everyone")

    async def delete_messages(self, params: dict[str, Any]) -> Any:
        chat = self._chat(params)
        ids = _json(params.get("message_ids"))
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad("message_ids must contain 1-100 message identifiers")
        found = [chat.messages.get(int(i)) for i in ids]
        alive = [m for m in found if m is not None and not m.deleted]  # the rest: skipped
        self._deletable(chat, alive)
        self.deleted_batches.append([int(i) for i in ids])
        for message in alive:
            message.deleted = True
        return True

    async def get_file(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id", ""))
        file = self.files.get(file_id)
        if file is None:
            raise _bad("invalid file_id")
        if file.size > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": "u" + file_id[-8:],
            "file_size": file.size,
            "file_path": file.path,
        }

    async def send_chat_action(self, params: dict[str, Any]) -> Any:
        self._chat(params)
        return True

    async def set_my_commands(self, params: dict[str, Any]) -> Any:
        commands = _json(params.get("commands"))
        if not isinstance(commands, list) or not commands:
            raise _bad("commands must be a non-empty list")
        for command in commands:
            name, description = command.get("command", ""), command.get("description", "")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name) or not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_INVALID")
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("invalid language code")
        self.commands[language] = commands
        return True

    async def get_my_commands(self, params: dict[str, Any]) -> Any:
        return self.commands.get(str(params.get("language_code") or ""), [])

    async def set_webhook(self, params: dict[str, Any]) -> Any:
        url = str(params.get("url", ""))
        secret = params.get("secret_token")
        if not url:
            return await self.delete_webhook(params)
        self.webhook = (url, str(secret) if secret else None)
        self.max_connections = int(params.get("max_connections") or 40)
        if self._delivery is None or self._delivery.done():
            self._delivery = asyncio.ensure_future(self._deliver())
        return True

    async def delete_webhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        if self._delivery is not None:
            self._delivery.cancel()
            self._delivery = None
        return True

    async def get_webhook_info(self, params: dict[str, Any]) -> Any:
        url = self.webhook[0] if self.webhook else ""
        return {
            "url": url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }

    async def _deliver(self) -> None:
        """Post the pending updates to the webhook as Telegram does: up to
        ``max_connections`` posts at once (setWebhook's parameter, 40 by default), but the
        updates of one chat one at a time and in order (the next only once the one before
        was answered 200). What is not answered 200 is posted again after a pause."""
        in_flight: dict[int, asyncio.Task[None]] = {}
        async with aiohttp.ClientSession() as session:

            async def post(update: dict[str, Any], url: str, secret: str | None) -> None:
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                self.deliveries[update["update_id"]] += 1
                try:
                    async with session.post(url, json=update, headers=headers) as response:
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    self.pending.remove(update)
                    self._unconfirmed[_chat_of(update)] -= 1
                    first = min((u["update_id"] for u in self.pending), default=None)
                    self.confirmed = max(
                        self.confirmed, update["update_id"] + 1 if first is None else first
                    )
                else:
                    await asyncio.sleep(0.1)
                in_flight.pop(update["update_id"], None)
                await self._notify()

            try:
                while self.webhook is not None:
                    url, secret = self.webhook
                    chats: set[object] = set()
                    for update in list(self.pending):
                        if len(in_flight) >= self.max_connections:
                            break
                        chat = _chat_of(update)
                        if chat is not None:
                            if chat in chats:
                                continue  # an earlier update of this chat goes first
                            chats.add(chat)
                        update_id = update["update_id"]
                        if update_id in in_flight:
                            continue
                        in_flight[update_id] = asyncio.ensure_future(post(update, url, secret))
                    async with self._changed:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._changed.wait(), 0.2)
            finally:
                for task in in_flight.values():
                    task.cancel()
                await asyncio.gather(*in_flight.values(), return_exceptions=True)


def _chat_of(update: Mapping[str, Any]) -> object:
    """The chat an update belongs to (None for an update of no chat)."""
    for kind in ("message", "edited_message", "callback_query"):
        body = update.get(kind)
        if isinstance(body, dict):
            message = body.get("message", body) if kind == "callback_query" else body
            chat = message.get("chat") if isinstance(message, dict) else None
            if isinstance(chat, dict):
                return chat.get("id")
            sender = body.get("from")
            return sender.get("id") if isinstance(sender, dict) else None
    return None


class FakeUser:
    """A tipster (or a group) on the fake server: sends updates, reads the bot's replies."""

    def __init__(self, api: FakeBotApi, chat: _Chat) -> None:
        self.api = api
        self.chat = chat

    @property
    def id(self) -> int:
        return int(self.chat.user["id"])

    # ------------------------------------------------------------------ sending
    def _message(
        self, content: dict[str, Any], shown_text: str, *, typed: bool = False
    ) -> dict[str, Any]:
        shown = Shown(next(self.chat.ids), False, shown_text, typed=typed, date=self.api.now())
        self.chat.messages[shown.message_id] = shown
        return {
            "update_id": self.api.new_update_id(),
            "message": {
                "message_id": shown.message_id,
                "from": self.chat.user,
                "chat": self.chat.as_json(),
                "date": int(shown.date),
                **content,
            },
        }

    def text_update(self, text: str) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._message(content, text, typed=True)

    async def send(self, *texts: str) -> None:
        """Send texts (together, as one batch of updates)."""
        await self.api.inject(*(self.text_update(t) for t in texts))

    async def location(self, latitude: float, longitude: float) -> None:
        await self.api.inject(
            self._message({"location": {"latitude": latitude, "longitude": longitude}}, "📍")
        )

    async def photo(self, data: bytes, caption: str | None = None) -> str:
        """A photo in three sizes (the largest is ``data``); the largest's file id."""
        sizes = []
        for scale, body in ((90, data[:64]), (320, data[:512]), (1280, data)):
            file_id = self.api.add_file(body, path="photos")
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": "u" + file_id[-10:],
                    "width": scale,
                    "height": scale * 3 // 4,
                    "file_size": len(body),
                }
            )
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        await self.api.inject(self._message(content, "[photo]"))
        return str(sizes[-1]["file_id"])

    async def document(
        self,
        data: bytes,
        *,
        name: str = "report.pdf",
        mime: str = "application/pdf",
        size: int | None = None,
        say_size: bool = True,
    ) -> str:
        file_id = self.api.add_file(data, size=size)
        document: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": "u" + file_id[-10:],
            "file_name": name,
            "mime_type": mime,
        }
        if say_size:
            document["file_size"] = len(data) if size is None else size
        await self.api.inject(self._message({"document": document}, "[document]"))
        return file_id

    async def voice(self, data: bytes, *, duration: int = 5) -> str:
        """A voice note (Opus in Ogg, as Telegram's apps record them); its file id."""
        file_id = self.api.add_file(data, path="voice")
        voice = {
            "file_id": file_id,
            "file_unique_id": "u" + file_id[-10:],
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        await self.api.inject(self._message({"voice": voice}, "[voice]"))
        return file_id

    async def sticker(self) -> None:
        sticker = {
            "file_id": "CAACAgIAAxk-fake-sticker",
            "file_unique_id": "AgADfake",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        await self.api.inject(self._message({"sticker": sticker}, "[sticker]"))

    def tap_update(self, message: Shown, data: str) -> dict[str, Any]:
        query_id = f"{next(self.api._query_ids)}{self.id % 1000:03d}"
        self.api._queries[query_id] = False
        return {
            "update_id": self.api.new_update_id(),
            "callback_query": {
                "id": query_id,
                "from": self.chat.user,
                "message": self.api.message_json(self.chat, message),
                "chat_instance": "-4242",
                "data": data,
            },
        }

    async def tap(self, option: str) -> None:
        """Press the button for ``option`` (its id) on the newest question."""
        question = self.question()
        assert question is not None, f"no buttons to press; the bot said {self.texts()[-3:]}"
        for _label, data in question.buttons():
            if data.rsplit(":", 1)[-1] == option:
                await self.api.inject(self.tap_update(question, data))
                return
        raise AssertionError(f"no button {option!r} in {question.buttons()}")

    async def tap_data(self, message: Shown, data: str) -> str:
        """Press a button with any data on any message (a stale or forged press); the
        callback query id."""
        update = self.tap_update(message, data)
        await self.api.inject(update)
        return str(update["callback_query"]["id"])

    # ------------------------------------------------------------------ reading
    def shown(self) -> list[Shown]:
        """The chat as the phone shows it (both sides, without deleted messages)."""
        return [m for m in self.chat.messages.values() if not m.deleted]

    def from_bot(self) -> list[Shown]:
        return [m for m in self.shown() if m.from_bot]

    def texts(self) -> list[str]:
        return [m.text for m in self.from_bot()]

    def question(self) -> Shown | None:
        """The newest bot message that still has buttons."""
        for shown in reversed(self.from_bot()):
            if shown.keyboard:
                return shown
        return None

    def step(self) -> str | None:
        question = self.question()
        if question is None or not question.buttons():
            return None
        return question.buttons()[0][1].split(":", 1)[0]


def secrets_of(api: FakeBotApi, *, min_length: int = 5) -> list[str]:
    """What must never be stored or logged: every fake user's id, names, username and
    language code, and every text they typed (but commands)."""
    found: set[str] = set()
    for chat in api.chats.values():
        user = chat.user
        found.add(str(user["id"]))
        found.update(
            str(user[k])
            for k in ("first_name", "last_name", "username", "language_code")
            if k in user
        )
        found.update(
            m.text for m in chat.messages.values() if m.typed and not m.text.startswith("/")
        )
    return sorted(n for n in found if len(n) >= min_length)


Script = Mapping[str, Callable[[], Awaitable[object]]]


async def walk(user: FakeUser, script: Script, until: str, limit: int = 40) -> None:
    """Answer the bot's questions with ``script`` (by step) until it asks ``until``."""
    for _ in range(limit):
        step = user.step()
        if step == until:
            return
        assert step is not None and step in script, (
            f"nothing to answer at {step!r}; the bot said {user.texts()[-3:]}"
        )
        await script[step]()
        await user.api.settled()
    raise AssertionError(f"never reached {until!r}")


# ------------------------------------------------------------------ helpers
def _error(failure: ApiFailure) -> web.Response:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": failure.status,
        "description": failure.description,
    }
    if failure.retry_after is not None:
        body["parameters"] = {"retry_after": failure.retry_after}
    return web.json_response(body, status=failure.status)


async def _params(request: web.Request) -> dict[str, Any]:
    """Parameters as the Bot API takes them: query string, JSON, url-encoded or multipart
    form (where objects and lists arrive as JSON text)."""
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("not an object")
            params.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                params[key] = value if isinstance(value, str) else "<file>"
    return params


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _bad("can't parse JSON") from None
    return value


def _opt_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad("invalid integer") from None


def _int(params: Mapping[str, Any], name: str) -> int:
    value = _opt_int(params.get(name))
    if value is None:
        raise _bad(f"{name} is required")
    return value


def _text(params: Mapping[str, Any]) -> tuple[str, str | None]:
    raw = str(params.get("text", ""))
    mode = str(params.get("parse_mode") or "")
    if mode.upper() == "HTML":
        text, html = parse_html(raw), raw
    elif mode:
        raise _bad("unsupported parse_mode in this fake")
    else:
        text, html = raw, None
    if not text.strip():
        raise _bad("message text is empty")
    if utf16_len(text) > MAX_TEXT:
        raise _bad("message is too long")
    return text, html


def _keyboard(markup: Any) -> list[list[tuple[str, str]]] | None:
    markup = _json(markup)
    if markup is None or markup == "":
        return None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        raise _bad("unsupported reply markup")
    out = []
    for row in rows:
        buttons = []
        for button in row:
            text, data = button.get("text", ""), button.get("callback_data")
            if not text:
                raise _bad("button text is empty")
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                raise _bad("BUTTON_DATA_INVALID")
            buttons.append((text, data))
        out.append(buttons)
    return out or None


_METHODS: dict[str, Callable[[FakeBotApi, dict[str, Any]], Awaitable[Any]]] = {
    "getMe": FakeBotApi.get_me,
    "getUpdates": FakeBotApi.get_updates,
    "sendMessage": FakeBotApi.send_message,
    "editMessageText": FakeBotApi.edit_message_text,
    "editMessageReplyMarkup": FakeBotApi.edit_message_reply_markup,
    "answerCallbackQuery": FakeBotApi.answer_callback_query,
    "deleteMessage": FakeBotApi.delete_message,
    "deleteMessages": FakeBotApi.delete_messages,
    "getFile": FakeBotApi.get_file,
    "sendChatAction": FakeBotApi.send_chat_action,
    "setMyCommands": FakeBotApi.set_my_commands,
    "getMyCommands": FakeBotApi.get_my_commands,
    "setWebhook": FakeBotApi.set_webhook,
    "deleteWebhook": FakeBotApi.delete_webhook,
    "getWebhookInfo": FakeBotApi.get_webhook_info,
}
