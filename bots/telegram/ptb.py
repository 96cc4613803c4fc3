"""The Telegram adapter on python-telegram-bot (v21/v22).

Thin: an ``Application`` with one message handler and one callback-query handler, each
turning ptb's ``Update`` into an :class:`~bots.telegram.common.Incoming` for the shared
channel, and :class:`PtbApi`, the channel's Bot API calls made with ptb's ``Bot``. No
``ConversationHandler``, no persistence, no ``Updater``: the conversation lives in the
Intake's drafts, and updates come from our own polling loop
(:mod:`bots.telegram.polling`), which calls ``application.process_update``. Updates of
one chat are put in order by that loop's sequencer, the same for both frameworks
(``process_update`` does not go through ptb's update processor).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.error import Conflict as PtbConflict
from telegram.ext import (
    Application,
    CallbackContext,
    CallbackQueryHandler,
    MessageHandler,
    filters,
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

__all__ = ["PtbApi", "PtbFramework", "incoming_from_ptb"]

TELEGRAM_API = "https://api.telegram.org"

Handler = Callable[[Incoming], Awaitable[None]]


def _translate(exc: TelegramError) -> ApiError:
    """ptb's error as ours (its message is Telegram's description, never our data)."""
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ptb is moving retry_after to a timedelta
            after: Any = exc.retry_after
        seconds = after.total_seconds() if isinstance(after, timedelta) else float(after)
        return RetryLater(seconds)
    if isinstance(exc, Forbidden):
        return ChatGone(exc.message)
    if isinstance(exc, InvalidToken):
        return TokenRefused(exc.message)
    if isinstance(exc, PtbConflict):
        return Conflict(exc.message)
    if isinstance(exc, BadRequest):
        if "file is too big" in exc.message.lower():
            return FileTooBig(exc.message)
        return Rejected(exc.message)
    if isinstance(exc, EndPointNotFound | ChatMigrated):
        return Rejected(exc.message)
    return Unreachable(exc.message)  # NetworkError, TimedOut, 5xx


def _markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in keyboard]
    )


_T = TypeVar("_T")


async def _api(call: Awaitable[_T]) -> _T:
    """Await a Bot API call, its errors translated to ours (:mod:`bots.telegram.common`)."""
    try:
        return await call
    except TelegramError as exc:
        raise _translate(exc) from exc


class PtbApi:
    """:class:`~bots.telegram.common.BotApi` with ptb's ``Bot``."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self.bot: Bot = application.bot

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
        try:
            file = await self.bot.get_file(file_id)
            if file.file_size is not None and file.file_size > limit:
                raise FileTooBig("over the download limit")
            data = await file.download_as_bytearray()
        except TelegramError as exc:
            raise _translate(exc) from exc
        if len(data) > limit:
            raise FileTooBig("over the download limit")
        return bytes(data)

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], language_code: str | None
    ) -> None:
        await _api(
            self.bot.set_my_commands(
                [BotCommand(name, description) for name, description in commands],
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


def incoming_from_ptb(update: Update) -> Incoming:
    """ptb's update as the channel needs it; a chat that is not private has no chat id."""
    chat = update.effective_chat
    chat_id = chat.id if chat is not None and chat.type == ChatType.PRIVATE else None
    user = update.effective_user
    language = user.language_code if user is not None else None
    query = update.callback_query
    if query is not None:
        message_id = query.message.message_id if query.message is not None else None
        return Incoming(
            update.update_id,
            chat_id,
            language_code=language,
            tap=Tap(query.id, query.data, message_id),
        )
    message = update.message
    if message is None:
        return Incoming(update.update_id)
    location = message.location
    return Incoming(
        update.update_id,
        chat_id,
        message_id=message.message_id,
        language_code=language,
        text=message.text,
        location=(location.latitude, location.longitude) if location is not None else None,
        file=file_ref(message),
    )


class PtbFramework:
    """python-telegram-bot's ``Application``, driven by our polling loop or webhook."""

    def __init__(self, token: str, api_base: str | None = None) -> None:
        guard_framework_logs()  # before the framework logs its URLs, token included
        # Time periods as timedelta, ptb's coming default (else it warns on every 429).
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        base = (api_base or TELEGRAM_API).rstrip("/")
        self.application = (
            Application.builder()
            .token(token)
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            .updater(None)
            .build()
        )
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self._on_update))
        self.application.add_handler(CallbackQueryHandler(self._on_update))
        self.application.add_error_handler(self._on_error)
        self._api = PtbApi(self.application)
        self._handler: Handler | None = None
        self._errors: dict[int, BaseException] = {}

    @property
    def api(self) -> PtbApi:
        return self._api

    @property
    def bot_id(self) -> int:
        return self.application.bot.id

    def bind(self, handler: Handler) -> None:
        self._handler = handler

    async def open(self) -> None:
        try:
            await self.application.initialize()
        except TelegramError as exc:
            raise _translate(exc) from exc

    async def close(self) -> None:
        await self.application.shutdown()

    async def get_updates(self, offset: int | None, wait: float, limit: int) -> Sequence[Update]:
        try:
            return await self.application.bot.get_updates(
                offset=offset,
                timeout=int(wait),
                limit=limit,
                allowed_updates=list(ALLOWED_UPDATES),
            )
        except TelegramError as exc:
            raise _translate(exc) from exc

    def update_id(self, update: Update) -> int:
        return update.update_id

    def chat_key(self, update: Update) -> int | None:
        chat = update.effective_chat
        return chat.id if chat is not None else None

    def parse(self, data: Mapping[str, Any]) -> Update:
        update = Update.de_json(dict(data), self.application.bot)
        if update is None:
            raise ValueError("not an update")
        return update

    async def dispatch(self, update: Update) -> None:
        """ptb's own dispatch; what our handler raised (ptb hands it to the error
        handler, which keeps it here) is raised again to the polling loop."""
        try:
            await self.application.process_update(update)
        finally:
            # ptb notes every chat and user id it saw for a persistence we do not use;
            # keep no such list in memory.
            for name in (
                "_chat_ids_to_be_updated_in_persistence",
                "_user_ids_to_be_updated_in_persistence",
            ):
                noted = getattr(self.application, name, None)
                if isinstance(noted, set):
                    noted.clear()
        error = self._errors.pop(update.update_id, None)
        if error is not None:
            raise error

    async def _on_update(
        self, update: Update, context: CallbackContext[Any, Any, Any, Any]
    ) -> None:
        if self._handler is None:
            raise RuntimeError("the adapter is not bound to a channel")
        await self._handler(incoming_from_ptb(update))

    async def _on_error(
        self, update: object, context: CallbackContext[Any, Any, Any, Any]
    ) -> None:
        if isinstance(update, Update) and context.error is not None:
            self._errors[update.update_id] = context.error
