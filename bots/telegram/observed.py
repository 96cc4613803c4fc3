"""Bot API failures counted for metrics, by kind: a :class:`BotApi` that passes every
call on to the adapter's and tells the observer the kind of each failure (never the
call's parameters: no chat id, no text)."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Final, TypeVar

from ..observe import Observer
from .common import (
    ApiError,
    BotApi,
    ChatGone,
    Conflict,
    FileTooBig,
    Keyboard,
    Rejected,
    RetryLater,
    TokenRefused,
    Unreachable,
)

__all__ = ["ObservedApi", "api_error_kind"]

T = TypeVar("T")

#: The kinds a failure is counted as: the closed set of the adapters' errors.
_KINDS: Final[dict[type[ApiError], str]] = {
    RetryLater: "flood_control",
    Unreachable: "unreachable",
    Rejected: "rejected",
    FileTooBig: "file_too_big",
    ChatGone: "chat_gone",
    Conflict: "conflict",
    TokenRefused: "token_refused",
}


def api_error_kind(error: ApiError) -> str:
    """The metric label of a Bot API failure."""
    for cls in type(error).__mro__:
        kind = _KINDS.get(cls)
        if kind is not None:
            return kind
    return "other"


class ObservedApi:
    """The adapter's :class:`BotApi`, each failure told to ``observer.api_error``."""

    def __init__(self, api: BotApi, observer: Observer) -> None:
        self._api = api
        self._observer = observer

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except ApiError as exc:
            self._observer.api_error(api_error_kind(exc))
            raise

    async def send_message(self, chat_id: int, html_text: str, keyboard: Keyboard | None) -> int:
        return await self._call(self._api.send_message(chat_id, html_text, keyboard))

    async def remove_keyboard(self, chat_id: int, message_id: int) -> None:
        await self._call(self._api.remove_keyboard(chat_id, message_id))

    async def answer_callback(self, query_id: str) -> None:
        await self._call(self._api.answer_callback(query_id))

    async def delete_messages(self, chat_id: int, message_ids: Sequence[int]) -> bool:
        return await self._call(self._api.delete_messages(chat_id, message_ids))

    async def send_typing(self, chat_id: int) -> None:
        await self._call(self._api.send_typing(chat_id))

    async def download(self, file_id: str, limit: int) -> bytes:
        return await self._call(self._api.download(file_id, limit))

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], language_code: str | None
    ) -> None:
        await self._call(self._api.set_commands(commands, language_code))

    async def set_webhook(self, url: str, secret: str) -> None:
        await self._call(self._api.set_webhook(url, secret))

    async def delete_webhook(self) -> None:
        await self._call(self._api.delete_webhook())
