"""The Telegram adapter on aiogram (v3).

Thin: a ``Dispatcher`` without FSM (no state storage, no per-chat keys in it) and one
router whose message and callback-query handlers turn aiogram's objects into an
:class:`~bots.telegram.common.Incoming` for the shared channel, and :class:`AiogramApi`,
the channel's Bot API calls made with aiogram's ``Bot``. Updates come from our own
polling loop (:mod:`bots.telegram.polling`), which calls ``dispatcher.feed_update``;
aiogram's ``start_polling`` is not used. Updates of one chat are put in order by that
loop's sequencer, the same for both frameworks (aiogram's event isolation belongs to its
FSM, which is off).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

import aiohttp
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.enums import ChatAction, ChatType, ParseMode
from aiogram.exceptions import (
    AiogramError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessages,
    DeleteWebhook,
    EditMessageReplyMarkup,
    GetFile,
    GetMe,
    GetUpdates,
    SendChatAction,
    SendMessage,
    SetMyCommands,
    SetWebhook,
)
from aiogram.methods.base import Response
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)

from .common import (
    ALLOWED_UPDATES,
    ApiError,
    ChatGone,
    Conflict,
    FileTooBig,
    Incoming,
    Keyboard,
    Rejected,
    RetryLater,
    Tap,
    TokenRefused,
    Unreachable,
    file_ref,
    guard_framework_logs,
)

__all__ = ["AiogramApi", "AiogramFramework", "incoming_from_aiogram"]

Handler = Callable[[Incoming], Awaitable[None]]
_CHUNK = 64 * 1024

#: aiogram reads every reply as pydantic's ``Response[T]`` for the call's result type, and
#: pydantic keeps those classes only weakly: once the garbage collector has taken one,
#: the next reply builds it again, about 10 ms of CPU each time (7 % of the bot's CPU
#: under load in bench/telegram_http.py). Holding the classes of the calls made here
#: keeps them built.
_REPLY_TYPES: Final = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]  # (as aiogram does)
    for method in (
        AnswerCallbackQuery,
        DeleteMessages,
        DeleteWebhook,
        EditMessageReplyMarkup,
        GetFile,
        GetMe,
        GetUpdates,
        SendChatAction,
        SendMessage,
        SetMyCommands,
        SetWebhook,
    )
)


def _translate(exc: Exception) -> ApiError:
    """aiogram's (or aiohttp's) error as ours."""
    if isinstance(exc, TelegramRetryAfter):
        return RetryLater(exc.retry_after)
    if isinstance(exc, TelegramEntityTooLarge):
        return FileTooBig("too large")
    if isinstance(exc, TelegramForbiddenError):
        return ChatGone(exc.message)
    if isinstance(exc, TelegramUnauthorizedError):
        return TokenRefused(exc.message)
    if isinstance(exc, TelegramConflictError):
        return Conflict(exc.message)
    if isinstance(exc, TelegramBadRequest | TelegramNotFound | TelegramMigrateToChat):
        if "file is too big" in exc.message.lower():
            return FileTooBig(exc.message)
        return Rejected(exc.message)
    return Unreachable(type(exc).__name__)  # network, 5xx, a reply that did not parse


_ERRORS = (AiogramError, aiohttp.ClientError, asyncio.TimeoutError)


def _markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.text, callback_data=b.data) for b in row]
            for row in keyboard
        ]
    )


_T = TypeVar("_T")


async def _api(call: Awaitable[_T]) -> _T:
    """Await a Bot API call, its errors translated to ours (:mod:`bots.telegram.common`)."""
    try:
        return await call
    except _ERRORS as exc:
        raise _translate(exc) from exc


class AiogramApi:
    """:class:`~bots.telegram.common.BotApi` with aiogram's ``Bot``."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_message(self, chat_id: int, html_text: str, keyboard: Keyboard | None) -> int:
        message = await _api(
            self.bot.send_message(
                chat_id=chat_id,
                text=html_text,
                parse_mode=ParseMode.HTML,
                reply_markup=_markup(keyboard),
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        return message.message_id

    async def remove_keyboard(self, chat_id: int, message_id: int) -> None:
        await _api(self.bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id))

    async def answer_callback(self, query_id: str) -> None:
        await _api(self.bot.answer_callback_query(query_id))

    async def delete_messages(self, chat_id: int, message_ids: Sequence[int]) -> bool:
        return bool(
            await _api(self.bot.delete_messages(chat_id=chat_id, message_ids=list(message_ids)))
        )

    async def send_typing(self, chat_id: int) -> None:
        await _api(self.bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING))

    async def download(self, file_id: str, limit: int) -> bytes:
        """getFile, then the bytes, read in chunks and given up past ``limit``."""
        try:
            file = await self.bot.get_file(file_id)
            if file.file_size is not None and file.file_size > limit:
                raise FileTooBig("over the download limit")
            if not file.file_path:
                raise Rejected("the file has no path")
            session = self.bot.session
            url = session.api.file_url(self.bot.token, file.file_path)
            data = bytearray()
            async for chunk in session.stream_content(url, timeout=120, chunk_size=_CHUNK):
                data += chunk
                if len(data) > limit:
                    raise FileTooBig("over the download limit")
        except _ERRORS as exc:
            raise _translate(exc) from exc
        return bytes(data)

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], language_code: str | None
    ) -> None:
        await _api(
            self.bot.set_my_commands(
                [BotCommand(command=name, description=text) for name, text in commands],
                language_code=language_code,
            )
        )

    async def set_webhook(self, url: str, secret: str) -> None:
        await _api(
            self.bot.set_webhook(
                url=url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
            )
        )

    async def delete_webhook(self) -> None:
        await _api(self.bot.delete_webhook(drop_pending_updates=False))


def _private(chat: Any) -> int | None:
    return int(chat.id) if chat is not None and chat.type == ChatType.PRIVATE else None


def incoming_from_aiogram(update_id: int, event: Message | CallbackQuery) -> Incoming:
    """aiogram's message or callback query as the channel needs it; a chat that is not
    private has no chat id."""
    user = event.from_user
    language = user.language_code if user is not None else None
    if isinstance(event, CallbackQuery):
        message = event.message
        chat_id = _private(message.chat) if message is not None else None
        message_id = message.message_id if message is not None else None
        return Incoming(
            update_id, chat_id, language_code=language, tap=Tap(event.id, event.data, message_id)
        )
    location = event.location
    return Incoming(
        update_id,
        _private(event.chat),
        message_id=event.message_id,
        language_code=language,
        text=event.text,
        location=(location.latitude, location.longitude) if location is not None else None,
        file=file_ref(event),
    )


class AiogramFramework:
    """aiogram's ``Bot`` and ``Dispatcher``, driven by our polling loop or webhook."""

    def __init__(self, token: str, api_base: str | None = None) -> None:
        guard_framework_logs()  # before the framework logs its URLs, token included
        api = TelegramAPIServer.from_base(api_base) if api_base else PRODUCTION
        self.bot = Bot(token, session=AiohttpSession(api=api))
        self.dispatcher = Dispatcher(disable_fsm=True)
        router = Router(name="tipline")
        router.message.register(self._on_message)
        router.callback_query.register(self._on_callback)
        self.dispatcher.include_router(router)
        self._api = AiogramApi(self.bot)
        self._handler: Handler | None = None

    @property
    def api(self) -> AiogramApi:
        return self._api

    @property
    def bot_id(self) -> int:
        return self.bot.id

    def bind(self, handler: Handler) -> None:
        self._handler = handler

    async def open(self) -> None:
        try:
            await self.bot.get_me()
        except _ERRORS as exc:
            raise _translate(exc) from exc

    async def close(self) -> None:
        await self.bot.session.close()

    async def get_updates(self, offset: int | None, wait: float, limit: int) -> Sequence[Update]:
        method = GetUpdates(
            offset=offset, timeout=int(wait), limit=limit, allowed_updates=list(ALLOWED_UPDATES)
        )
        try:
            return await self.bot(method, request_timeout=int(wait) + 10)
        except _ERRORS as exc:
            raise _translate(exc) from exc

    def update_id(self, update: Update) -> int:
        return update.update_id

    def chat_key(self, update: Update) -> int | None:
        if update.message is not None:
            return update.message.chat.id
        query = update.callback_query
        if query is not None and query.message is not None:
            return query.message.chat.id
        return None

    def parse(self, data: Mapping[str, Any]) -> Update:
        return Update.model_validate(dict(data), context={"bot": self.bot})

    async def dispatch(self, update: Update) -> None:
        """aiogram's own dispatch; what our handler raised comes back out of it."""
        await self.dispatcher.feed_update(self.bot, update)

    async def _on_message(self, message: Message, event_update: Update) -> None:
        await self._call(incoming_from_aiogram(event_update.update_id, message))

    async def _on_callback(self, query: CallbackQuery, event_update: Update) -> None:
        await self._call(incoming_from_aiogram(event_update.update_id, query))

    async def _call(self, incoming: Incoming) -> None:
        if self._handler is None:
            raise RuntimeError("the adapter is not bound to a channel")
        await self._handler(incoming)
