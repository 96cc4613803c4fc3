"""Getting updates from Telegram without losing any (rule P7) and without fetching any
twice: our own long polling, and an optional webhook, around either framework.

The frameworks' own polling confirms a batch of updates to Telegram (the next
``getUpdates`` offset) before their handlers have finished, so a crash loses them. Here
the offset sent to Telegram is never past the oldest update that is not yet done: an
update is confirmed only once its effect is durable (the draft saved in Redis). After a
crash Telegram delivers the unconfirmed updates again, and the channel recognises those
it had already handled.

Telegram's ``offset`` is both "confirm everything below" and "send from here": there is no
way to ask for the updates after the ones held without confirming those. So the loop asks
for more only when what it holds is done (the offset then confirms all of it), and each
update is delivered once. Fetching does not wait for the updates in flight when they
become slow: once the oldest one has been held for ``patience`` seconds, or three times as
long as updates have lately been held if that is longer (so that a busy process does not
take its whole backlog for slowness), the loop asks again from the oldest unfinished
update, every ``busy_interval`` seconds, skipping those it already holds, so one slow
chat (a large file on a slow line, an update waiting for its retry while Redis is down)
does not hold up the others. That, and only that, fetches an update twice.
(Journalling fetched updates in Redis and confirming at once would avoid even that, but
would put chat ids and texts in Redis, even if encrypted, for every update.)

At most ``max_in_flight`` updates are held at once (queued or being handled): with that
many, the loop fetches nothing more and Telegram keeps the rest, in order, so a process
that falls behind answers the oldest first and its memory stays bounded. Updates of one
chat are handled one at a time and in order; different chats run concurrently
(:class:`~bots.telegram.common.ChatSequencer`). Each update is handled with its
:class:`~bots.telegram.common.Arrival` set (how long it waited here, whether it repeats
the update before it in its chat), so that the flood limit counts what a tipster sent,
when it was sent, and not the second press of a tipster who pressed again because the bot
was slow.

An update whose handling fails (Redis unreachable) is retried after a growing pause, and
the later updates of its chat wait for it. One that keeps failing for any other reason
is given up after a few attempts, so that it cannot block every chat. Since Telegram
returns at most 100 updates from the offset, no more than about 100 updates can be
handled past one that is not done.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import socket
import time
from collections import deque
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
    ARRIVAL,
    ApiError,
    Arrival,
    BotApi,
    ChatSequencer,
    Conflict,
    Framework,
    LastUpdates,
    RetryLater,
    TokenRefused,
    guard_framework_logs,
    with_retries,
)

__all__ = ["MAX_IN_FLIGHT", "Poller", "WebhookOptions", "run_bot", "serve_webhook"]

log = logging.getLogger(__name__)

U = TypeVar("U")

GIVE_UP_AFTER: Final = 5  # attempts, for failures other than storage
MAX_PAUSE: Final = 30.0
MAX_LIMIT: Final = 100  # updates per getUpdates, Telegram's maximum
MAX_IN_FLIGHT: Final = 100  # updates held at once (queued or being handled)
PATIENCE: Final = 1.0  # seconds before asking past updates still held
SLOW: Final = 3.0  # ... or this many times as long as updates are lately held
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


def _pause(attempt: int) -> float:
    return float(min(MAX_PAUSE, 0.5 * 2 ** (attempt - 1)))


def _key(chat: int | None, update_id: int) -> Hashable:
    """Updates without a chat get a key of their own."""
    return chat if chat is not None else ("update", update_id)


@dataclass
class _Held(Generic[U]):
    """An update fetched and not yet done. Without a task it waits: for its retry
    (``retry_at``), or behind an earlier update of its chat that failed."""

    update: U
    key: Hashable
    fetched: float
    repeat: bool
    attempts: int = 0
    task: asyncio.Task[None] | None = None
    retry_at: float = math.inf


class Poller(Generic[U]):
    """Long polling that confirms an update only once it is done, and fetches it once."""

    def __init__(
        self,
        framework: Framework[U],
        *,
        timeout: float = 25.0,
        busy_interval: float = 0.5,
        patience: float = PATIENCE,
        limit: int = MAX_LIMIT,
        max_in_flight: int = MAX_IN_FLIGHT,
        sequencer: ChatSequencer | None = None,
        clock: Callable[[], float] = time.monotonic,
        pause: Callable[[int], float] = _pause,
        grace: float = 20.0,
    ) -> None:
        if max_in_flight < 1 or not 1 <= limit <= MAX_LIMIT:
            raise ValueError("max_in_flight must be at least 1, limit 1 to 100")
        self.framework = framework
        self.grace = grace
        self._pause = pause
        self.timeout = timeout
        self.busy_interval = busy_interval
        self.patience = patience
        self.limit = limit
        self.max_in_flight = max_in_flight
        self.sequencer = sequencer or ChatSequencer()
        self._clock = clock
        self._next = 0  # one past the newest update id taken; 0: none yet
        self._held: dict[int, _Held[U]] = {}  # in update id order
        self._known: deque[int] = deque()  # ids taken, from the offset on
        self._blocked: dict[Hashable, int] = {}  # chat -> its failed update, which goes first
        self._last = LastUpdates()
        self._polled = -math.inf  # when the last getUpdates was sent
        self._usual = 0.0  # how long updates have lately been held (a moving average)
        self._wake = asyncio.Event()
        self.deliveries = 0  # updates Telegram gave us, counting redeliveries
        self.most_held = 0  # the most updates held at once

    @property
    def offset(self) -> int | None:
        """The offset to send: the oldest update not done, else one past the newest."""
        for update_id in self._held:
            return update_id
        return self._next or None

    @property
    def held(self) -> int:
        return len(self._held)

    async def run(self, stop: asyncio.Event) -> None:
        fetch_failures = 0
        while not stop.is_set():
            self._wake.clear()
            self._retry_due()
            wait = self._poll_wait()
            if wait is None:
                await self._idle(stop)
                continue
            try:
                updates = await self._fetch(stop, wait)
            except TokenRefused:
                raise
            except ApiError as exc:
                fetch_failures += 1
                if isinstance(exc, RetryLater):
                    log.warning("Telegram asked to slow down; waiting %g s", exc.seconds)
                    pause = exc.seconds
                elif isinstance(exc, Conflict):
                    log.warning(
                        "another instance is getting this bot's updates, or a webhook is set"
                    )
                    pause = self._pause(fetch_failures + 2)
                else:
                    log.warning("getting updates failed (%s)", type(exc).__name__)
                    pause = self._pause(fetch_failures)
                await _sleep_unless(stop, pause)
                continue
            except Exception as exc:  # a reply the framework could not read
                fetch_failures += 1
                log.error("getting updates failed (%s)", type(exc).__name__)
                await _sleep_unless(stop, self._pause(fetch_failures))
                continue
            if updates is None:
                break  # stopped while waiting
            fetch_failures = 0
            self._take(updates)
        await self._drain()

    def _room(self) -> int:
        return self.max_in_flight - len(self._held)

    def _poll_wait(self) -> float | None:
        """How long the next getUpdates may wait for updates; None: do not ask now."""
        if not self._held:
            return self.timeout  # nothing held: the offset confirms everything so far
        return 0.0 if self._slow_poll_at() <= self._clock() else None

    def _slow_poll_at(self) -> float:
        """When the loop may ask again while it holds updates (infinity: not before one
        of them is done)."""
        if self._room() <= 0 or len(self._known) >= self.limit:
            # At the cap Telegram keeps the rest, in order; past the limit a reply would
            # hold only updates already taken.
            return math.inf
        oldest = next(iter(self._held.values()))
        patience = max(self.patience, SLOW * self._usual)
        return max(oldest.fetched + patience, self._polled + self.busy_interval)

    async def _idle(self, stop: asyncio.Event) -> None:
        """Wait until an update is done, a retry is due, the oldest update held turns
        slow, or the loop is stopped."""
        due = min([self._slow_poll_at(), *(h.retry_at for h in self._held.values())])
        timeout = None if math.isinf(due) else max(0.0, due - self._clock())
        waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def _fetch(self, stop: asyncio.Event, wait: float) -> list[U] | None:
        offset = self.offset
        while self._known and offset is not None and self._known[0] < offset:
            self._known.popleft()  # confirmed by this offset
        limit = min(self.limit, len(self._known) + self._room())
        self._polled = self._clock()
        fetch = asyncio.ensure_future(self.framework.get_updates(offset, wait, limit))
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

    def _take(self, updates: list[U]) -> None:
        """Hold and submit the updates not taken yet, as many as there is room for."""
        self.deliveries += len(updates)
        now = self._clock()
        for update in updates:
            update_id = self.framework.update_id(update)
            if update_id < self._next:
                continue  # held already, or done
            if self._room() <= 0:
                break  # fetched again later, when there is room
            self._next = update_id + 1
            self._known.append(update_id)
            key = _key(self.framework.chat_key(update), update_id)
            held = _Held(update, key, now, self._last.repeats(key, update))
            self._held[update_id] = held
            if key not in self._blocked:
                self._submit(update_id, held)
        self.most_held = max(self.most_held, len(self._held))

    def _submit(self, update_id: int, held: _Held[U]) -> None:
        held.retry_at = math.inf
        held.task = self.sequencer.submit(held.key, partial(self._handle, update_id, held))

    def _retry_due(self) -> None:
        now = self._clock()
        for update_id, held in list(self._held.items()):
            if held.task is None and held.retry_at <= now:
                self._submit(update_id, held)

    async def _handle(self, update_id: int, held: _Held[U]) -> None:
        blocker = self._blocked.get(held.key)
        if blocker is not None and blocker != update_id:
            held.task = None  # an earlier update of this chat failed: this one waits for it
            return
        ARRIVAL.set(Arrival(max(0.0, self._clock() - held.fetched), held.repeat))
        try:
            await self.framework.dispatch(held.update)
        except Exception as exc:
            held.attempts += 1
            if held.attempts >= GIVE_UP_AFTER and not isinstance(exc, StorageError):
                log.error(
                    "an update was given up after %d attempts (%s)",
                    held.attempts,
                    type(exc).__name__,
                )
                self._done(update_id, held)
            else:
                log.warning("an update failed and will be retried (%s)", type(exc).__name__)
                held.task = None
                held.retry_at = self._clock() + self._pause(held.attempts)
                self._blocked[held.key] = update_id
        else:
            self._done(update_id, held)
        finally:
            self._wake.set()  # (cut short by a stop, it stays held: not confirmed)

    def _done(self, update_id: int, held: _Held[U]) -> None:
        self._held.pop(update_id, None)
        self._usual += 0.05 * (self._clock() - held.fetched - self._usual)
        if self._blocked.get(held.key) == update_id:
            del self._blocked[held.key]
            for later_id, later in list(self._held.items()):  # its chat goes on, in order
                if later.key == held.key and later.task is None:
                    self._submit(later_id, later)

    async def _drain(self) -> None:
        """On a stop: let the updates in flight finish (for a while), then confirm what is
        done. What did not finish stays unconfirmed, so Telegram delivers it again."""
        running = [h.task for h in self._held.values() if h.task is not None]
        if running:
            _done, late = await asyncio.wait(running, timeout=self.grace)
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
    #: A listening socket inherited from a supervisor (``--workers``), used instead of
    #: ``host:port``: several worker processes accept from the one socket.
    fd: int | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"


async def serve_webhook(
    framework: Framework[U],
    options: WebhookOptions,
    stop: asyncio.Event,
    *,
    sequencer: ChatSequencer | None = None,
    announce: bool = True,
) -> None:
    """Answer Telegram's posts: 200 only once the update is done, so that Telegram posts
    again what failed or was cut short (P7). A post without the secret gets 403.
    ``announce``: tell Telegram the URL (setWebhook); one worker of several does."""
    chats = sequencer or ChatSequencer()
    wanted = options.secret.encode()
    last = LastUpdates()

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
        key = _key(framework.chat_key(update), update_id)
        repeat = last.repeats(key, update)
        arrived = time.monotonic()

        async def handle() -> None:
            ARRIVAL.set(Arrival(time.monotonic() - arrived, repeat))
            await framework.dispatch(update)

        try:
            await asyncio.shield(chats.submit(key, handle))
        except Exception as exc:
            log.warning("an update failed; Telegram will post it again (%s)", type(exc).__name__)
            return web.Response(status=500)
        return web.json_response({})

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post(options.path, receive)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site: web.BaseSite
        if options.fd is not None:
            site = web.SockSite(runner, socket.socket(fileno=options.fd))
        else:
            site = web.TCPSite(runner, options.host, options.port)
        await site.start()
        if announce:
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
    max_in_flight: int = MAX_IN_FLIGHT,
    patience: float = PATIENCE,
    announce: bool = True,
) -> None:
    """Open the framework's bot, set up the channel (``make_channel(api, bot_id)``, whose
    ``handle`` the framework's handlers call and whose ``setup`` sets the command menu),
    then poll (holding at most ``max_in_flight`` updates at once, and asking past them
    after ``patience`` seconds), or serve the webhook, until ``stop`` is set.
    ``announce``: set the command menu and the webhook (one of several workers does;
    the others only serve)."""
    guard_framework_logs()
    try:
        await framework.open()
        channel = make_channel(framework.api, framework.bot_id)
        framework.bind(channel.handle)
        if announce:
            await channel.setup()
        if webhook is not None:
            await serve_webhook(framework, webhook, stop, announce=announce)
            return
        try:
            await with_retries(framework.api.delete_webhook)
        except ApiError as exc:
            log.warning("the webhook could not be removed (%s)", type(exc).__name__)
        log.info("polling for updates")
        poller = Poller(
            framework, timeout=poll_timeout, max_in_flight=max_in_flight, patience=patience
        )
        await poller.run(stop)
    finally:
        await framework.close()
