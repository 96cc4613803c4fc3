"""Getting updates from Telegram without losing any (rule P7): our own long polling, and
an optional webhook, around either framework.

The frameworks' own polling confirms a batch of updates to Telegram (the next
``getUpdates`` offset) before their handlers have finished, so a crash loses them. Here
the offset sent to Telegram is never past the oldest update that is not yet done: an
update is confirmed only once its effect is durable (the draft saved in Redis). After a
crash Telegram delivers the unconfirmed updates again, and the channel recognises those
it had already handled.

Updates of one chat are handled one at a time and in order; different chats run
concurrently (:class:`~bots.telegram.common.ChatSequencer`). While updates are in flight
the loop keeps asking Telegram for new ones (from the oldest unfinished offset, without
waiting), so one slow chat, say a large file on a slow line, does not hold up the others.

An update whose handling fails (Redis unreachable) is retried after a growing pause, and
the later updates of its chat wait for it. One that keeps failing for any other reason
is given up after a few attempts, so that it cannot block every chat.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable, Hashable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, Generic, TypeVar
from urllib.parse import urlsplit

from aiohttp import web

from storage import StorageError

from .channel import TelegramChannel
from .common import (
    ApiError,
    BotApi,
    ChatSequencer,
    Conflict,
    Framework,
    Recent,
    RetryLater,
    TokenRefused,
    guard_framework_logs,
    with_retries,
)

__all__ = ["Poller", "WebhookOptions", "run_bot", "serve_webhook"]

log = logging.getLogger(__name__)

U = TypeVar("U")

GIVE_UP_AFTER: Final = 5  # attempts, for failures other than storage
MAX_PAUSE: Final = 30.0
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


def _pause(attempt: int) -> float:
    return float(min(MAX_PAUSE, 0.5 * 2 ** (attempt - 1)))


@dataclass
class _Failed:
    key: Hashable
    attempts: int
    retry_at: float


def _key(chat: int | None, update_id: int) -> Hashable:
    """Updates without a chat get a key of their own."""
    return chat if chat is not None else ("update", update_id)


class Poller(Generic[U]):
    """Long polling that confirms an update only once it is done."""

    def __init__(
        self,
        framework: Framework[U],
        *,
        timeout: float = 25.0,
        busy_interval: float = 0.5,
        limit: int = 100,
        sequencer: ChatSequencer | None = None,
        clock: Callable[[], float] = time.monotonic,
        pause: Callable[[int], float] = _pause,
        grace: float = 20.0,
    ) -> None:
        self.framework = framework
        self.grace = grace
        self._pause = pause
        self.timeout = timeout
        self.busy_interval = busy_interval
        self.limit = limit
        self.sequencer = sequencer or ChatSequencer()
        self._clock = clock
        self._next = 0  # one past the newest update id seen; 0: none yet
        self._pending: dict[int, asyncio.Task[None]] = {}
        self._failed: dict[int, _Failed] = {}
        self._blocked: dict[Hashable, int] = {}  # chat -> its failed update, which goes first
        self._done: Recent[int, bool] = Recent(10_000)
        self._wake = asyncio.Event()

    @property
    def offset(self) -> int | None:
        """The offset to send: the oldest update not done, else one past the newest."""
        unfinished = [*self._pending, *self._failed]
        if unfinished:
            return min(unfinished)
        return self._next or None

    async def run(self, stop: asyncio.Event) -> None:
        fetch_failures = 0
        while not stop.is_set():
            busy = bool(self._pending or self._failed)
            self._wake.clear()
            try:
                updates = await self._fetch(stop, 0.0 if busy else self.timeout)
            except TokenRefused:
                raise
            except ApiError as exc:
                fetch_failures += 1
                if isinstance(exc, RetryLater):
                    log.warning("Telegram asked to slow down; waiting %g s", exc.seconds)
                    wait = exc.seconds
                elif isinstance(exc, Conflict):
                    log.warning(
                        "another instance is getting this bot's updates, or a webhook is set"
                    )
                    wait = self._pause(fetch_failures + 2)
                else:
                    log.warning("getting updates failed (%s)", type(exc).__name__)
                    wait = self._pause(fetch_failures)
                await _sleep_unless(stop, wait)
                continue
            except Exception as exc:  # a reply the framework could not read
                fetch_failures += 1
                log.error("getting updates failed (%s)", type(exc).__name__)
                await _sleep_unless(stop, self._pause(fetch_failures))
                continue
            if updates is None:
                break  # stopped while waiting
            fetch_failures = 0
            self._submit(updates)
            if self._pending or self._failed:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake_or_stop(stop), self.busy_interval)
        await self._drain()

    async def _fetch(self, stop: asyncio.Event, wait: float) -> list[U] | None:
        fetch = asyncio.ensure_future(self.framework.get_updates(self.offset, wait, self.limit))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([fetch, stopped], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not fetch.done():
            fetch.cancel()
            with suppress(asyncio.CancelledError, ApiError):
                await fetch
            return None
        return list(fetch.result())

    async def _wake_or_stop(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    def _submit(self, updates: list[U]) -> None:
        now = self._clock()
        for update in updates:
            update_id = self.framework.update_id(update)
            self._next = max(self._next, update_id + 1)
            if update_id in self._done or update_id in self._pending:
                continue
            key = _key(self.framework.chat_key(update), update_id)
            blocker = self._blocked.get(key)
            if blocker is not None and blocker != update_id:
                continue  # its chat waits for an earlier update to go through
            failed = self._failed.get(update_id)
            if failed is not None:
                if now < failed.retry_at:
                    continue
                del self._failed[update_id]
                self._blocked.pop(key, None)
            attempts = failed.attempts if failed else 0
            self._pending[update_id] = self.sequencer.submit(
                key, partial(self._handle, update, key, attempts)
            )

    async def _handle(self, update: U, key: Hashable, attempts: int) -> None:
        update_id = self.framework.update_id(update)
        try:
            if key in self._blocked:
                return  # an earlier update of this chat failed: this one waits for it
            await self.framework.dispatch(update)
        except Exception as exc:
            attempts += 1
            if attempts >= GIVE_UP_AFTER and not isinstance(exc, StorageError):
                log.error(
                    "an update was given up after %d attempts (%s)", attempts, type(exc).__name__
                )
                self._done.put(update_id, True)
            else:
                log.warning("an update failed and will be retried (%s)", type(exc).__name__)
                retry_at = self._clock() + self._pause(attempts)
                self._failed[update_id] = _Failed(key, attempts, retry_at)
                self._blocked[key] = update_id
        else:
            self._done.put(update_id, True)
        finally:
            self._pending.pop(update_id, None)
            self._wake.set()

    async def _drain(self) -> None:
        """On a stop: let the updates in flight finish (for a while), then confirm what is
        done. What did not finish stays unconfirmed, so Telegram delivers it again."""
        if self._pending:
            _done, late = await asyncio.wait(list(self._pending.values()), timeout=self.grace)
            for task in late:
                task.cancel()
            if late:
                log.warning("%d update(s) did not finish before the stop", len(late))
                await asyncio.wait(late)
        offset = self.offset
        if offset is not None:
            with suppress(ApiError):
                await self.framework.get_updates(offset, 0.0, 1)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


# --------------------------------------------------------------------------- webhook
@dataclass(frozen=True)
class WebhookOptions:
    """Telegram posts updates to ``url`` (behind your TLS proxy) with ``secret`` in the
    ``X-Telegram-Bot-Api-Secret-Token`` header; we listen on ``host:port`` at the URL's
    path."""

    url: str
    secret: str
    host: str = "127.0.0.1"
    port: int = 8080

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"


async def serve_webhook(
    framework: Framework[U],
    options: WebhookOptions,
    stop: asyncio.Event,
    *,
    sequencer: ChatSequencer | None = None,
) -> None:
    """Answer Telegram's posts: 200 only once the update is done, so that Telegram posts
    again what failed or was cut short (P7). A post without the secret gets 403."""
    chats = sequencer or ChatSequencer()
    wanted = options.secret.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, wanted):
            return web.Response(status=403)
        try:
            data: Any = await request.json()
            if not isinstance(data, dict):
                raise ValueError("an update is a JSON object")
            update = framework.parse(data)
            update_id = framework.update_id(update)
        except Exception:
            log.warning("a webhook post was not an update")
            return web.Response(status=400)
        task = chats.submit(
            _key(framework.chat_key(update), update_id), lambda: framework.dispatch(update)
        )
        try:
            await asyncio.shield(task)
        except Exception as exc:
            log.warning("an update failed; Telegram will post it again (%s)", type(exc).__name__)
            return web.Response(status=500)
        return web.json_response({})

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post(options.path, receive)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, options.host, options.port)
        await site.start()
        await with_retries(lambda: framework.api.set_webhook(options.url, options.secret))
        log.info("receiving updates by webhook")
        await stop.wait()
    finally:
        await runner.cleanup()


# --------------------------------------------------------------------------- running
async def run_bot(
    framework: Framework[U],
    make_channel: Callable[[BotApi, int], TelegramChannel],
    stop: asyncio.Event,
    *,
    webhook: WebhookOptions | None = None,
    poll_timeout: float = 25.0,
) -> None:
    """Open the framework's bot, set up the channel (``make_channel(api, bot_id)``, whose
    ``handle`` the framework's handlers call and whose ``setup`` sets the command menu),
    then poll (or serve the webhook) until ``stop`` is set."""
    guard_framework_logs()
    try:
        await framework.open()
        channel = make_channel(framework.api, framework.bot_id)
        framework.bind(channel.handle)
        await channel.setup()
        if webhook is not None:
            await serve_webhook(framework, webhook, stop)
            return
        try:
            await with_retries(framework.api.delete_webhook)
        except ApiError as exc:
            log.warning("the webhook could not be removed (%s)", type(exc).__name__)
        log.info("polling for updates")
        await Poller(framework, timeout=poll_timeout).run(stop)
    finally:
        await framework.close()
