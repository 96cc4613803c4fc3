"""``tipline run``: the long-running channels.

``tipline run telegram --framework ptb|aiogram`` serves tipsters on Telegram until it gets
SIGTERM or SIGINT (then it finishes the updates in flight and confirms them). It polls by
default; ``--webhook URL --webhook-secret TOKEN`` has Telegram post the updates instead,
and ``--workers N`` then serves them with N processes on the one listening socket (see
:mod:`tipline.workers`), a conversation held by one process at a time through a lock in
Redis. Several processes on one host:port behind the proxy work too, started by hand or
by Compose, each with ``--webhook``: the lock is taken in webhook mode whatever started
them.

==============================  =============================================================
``TELEGRAM_BOT_TOKEN``          the bot's token from BotFather
``TELEGRAM_BOT_TOKEN_FILE``     or a file holding it
``TELEGRAM_API_BASE``           the Bot API server's root URL (methods at
                                ``{base}/bot{token}/{method}``, files at
                                ``{base}/file/bot{token}/{path}``); unset: Telegram's own
``TELEGRAM_WEBHOOK_SECRET``     the webhook's secret token (instead of ``--webhook-secret``)
``TELEGRAM_WEBHOOK_SECRET_FILE`` or a file holding it
``TIPLINE_METRICS_PORT``         serve /metrics, /healthz and /readyz on this port (instead
                                of ``--metrics-port``); off when unset
``TIPLINE_METRICS_HOST``         where they listen (instead of ``--metrics-host``);
                                default 127.0.0.1
``TELEGRAM_MAX_IN_FLIGHT``       updates held at once when polling (``--max-in-flight``)
``TELEGRAM_WORKERS``             webhook worker processes (``--workers``); default 1. With
                                metrics on, worker *i* serves them on the metrics port + *i*
==============================  =============================================================
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import socket
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bots.observe import Observer
from storage import StorageError

from ..cli_support import stop_on_signals
from ..runtime import offered_questionnaire, open_runtime
from ..settings import ConfigError, Settings, secret_from_env

if TYPE_CHECKING:  # the Telegram code is imported when the command runs, not for every command
    from bots.intake import Intake
    from bots.telegram import TelegramChannel, WebhookOptions
    from bots.telegram.common import BotApi, Framework
    from conversations import Questionnaire

    from ..metrics import MetricsServer
    from ..runtime import Runtime

__all__ = ["command"]

_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{20,}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{32,256}")
#: A secret this short in distinct characters is a word or a pattern, not random.
_MIN_DISTINCT = 12
FRAMEWORKS = ("ptb", "aiogram")


def telegram_token(env: Mapping[str, str]) -> str:
    """The bot token from TELEGRAM_BOT_TOKEN or TELEGRAM_BOT_TOKEN_FILE (never echoed)."""
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    path = env.get("TELEGRAM_BOT_TOKEN_FILE")
    if not token and path:
        try:
            token = Path(path).read_text("utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read TELEGRAM_BOT_TOKEN_FILE: {exc.strerror}") from exc
    if not token:
        raise ConfigError(
            "no bot token: set TELEGRAM_BOT_TOKEN (or TELEGRAM_BOT_TOKEN_FILE) to the token "
            "BotFather gave you"
        )
    if not _TOKEN.fullmatch(token):
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters)")
    return token


def _token_file(path: Path, tipline: str) -> str:
    """The bot token of a tipline of TIPLINE_CONFIG, from its token_file (never echoed)."""
    try:
        token = path.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(
            f"tipline {tipline!r}: cannot read token_file ({path}): {reason}"
        ) from exc
    if not _TOKEN.fullmatch(token):
        raise ConfigError(
            f"tipline {tipline!r}: token_file ({path}) does not hold a bot token (digits:letters)"
        )
    return token


def _webhook(url: str | None, secret: str | None, listen: str) -> WebhookOptions | None:
    from bots.telegram import WebhookOptions

    if url is None:
        return None
    if not url.startswith(("https://", "http://")):
        raise click.BadParameter(
            "the webhook URL must start with https://", param_hint="--webhook"
        )
    if not secret or not _SECRET.fullmatch(secret) or len(set(secret)) < _MIN_DISTINCT:
        # Anyone who knows it can post forged updates as any tipster.
        raise click.BadParameter(
            "give a random secret of 32 to 256 letters, digits, _ or - (for example "
            "`openssl rand -hex 32`), or set TELEGRAM_WEBHOOK_SECRET",
            param_hint="--webhook-secret",
        )
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(
            "give HOST:PORT, for example 127.0.0.1:8080", param_hint="--listen"
        )
    return WebhookOptions(url, secret, host.strip("[]"), int(port))


def _framework(name: str, token: str, api_base: str | None) -> Framework[Any]:
    """The adapter, imported only when chosen (each pulls in its framework)."""
    if name == "ptb":
        from bots.telegram.ptb import PtbFramework

        return PtbFramework(token, api_base)
    from bots.telegram.aiogram_bot import AiogramFramework

    return AiogramFramework(token, api_base)


async def _metrics(
    runtime: Runtime, intake: Intake, questionnaire: Questionnaire, host: str, port: int | None
) -> tuple[Observer, MetricsServer | None]:
    """The metrics and their server, started; a no-op observer when they are off. With
    metrics on, the intake counts its conversations in the shared Redis too."""
    if port is None:
        return Observer(), None
    from bots.progress import step_labels
    from storage.tally import ConversationTally

    from ..metrics import DayEndDepth, Metrics, MetricsServer, redis_ready

    keys = runtime.settings.keys
    progress = ConversationTally(
        runtime.drafts.client,
        ttl=runtime.drafts.ttl,
        live=keys.metrics_live,
        counts=keys.metrics_conversations,
    )
    metrics = Metrics(
        questionnaire.languages,
        steps=step_labels(questionnaire),
        progress=progress,
        spool=runtime.spool,
        day_end=DayEndDepth(runtime.queue, runtime.drafts.client, keys.metrics_queue),
    )
    ready = redis_ready([runtime.client, runtime.drafts.client], runtime.spool.directory)
    server = MetricsServer(metrics, ready, host, port)
    try:
        await server.start()
    except OSError as exc:
        raise ConfigError(f"the metrics cannot listen on {host}:{port}: {exc.strerror}") from exc
    intake.progress = progress
    return metrics, server


@click.group("run")
def command() -> None:
    """Run a channel until it is stopped (SIGTERM or Ctrl-C)."""


@command.command("telegram")
@click.option(
    "--tipline",
    envvar="TIPLINE_NAME",
    metavar="NAME",
    help="The tipline to serve, when TIPLINE_CONFIG names several (or TIPLINE_NAME).",
)
@click.option(
    "--framework",
    type=click.Choice(FRAMEWORKS),
    default="ptb",
    show_default=True,
    help="The bot framework: python-telegram-bot or aiogram. Both behave the same.",
)
@click.option("--webhook", "webhook_url", metavar="URL", help="Have Telegram post updates here.")
@click.option(
    "--webhook-secret",
    envvar="TELEGRAM_WEBHOOK_SECRET",
    help="Secret token Telegram sends with each post (or TELEGRAM_WEBHOOK_SECRET[_FILE]).",
)
@click.option(
    "--listen",
    default="127.0.0.1:8080",
    show_default=True,
    help="Where the webhook server listens (put your TLS proxy in front).",
)
@click.option(
    "--metrics-port",
    envvar="TIPLINE_METRICS_PORT",
    type=click.IntRange(1, 65535),
    help="Serve /metrics, /healthz and /readyz on this port (or TIPLINE_METRICS_PORT).",
)
@click.option(
    "--metrics-host",
    envvar="TIPLINE_METRICS_HOST",
    default="127.0.0.1",
    show_default=True,
    help="Where the metrics listen (or TIPLINE_METRICS_HOST).",
)
@click.option(
    "--max-in-flight",
    envvar="TELEGRAM_MAX_IN_FLIGHT",
    type=click.IntRange(1, 10_000),
    default=100,
    show_default=True,
    help="Polling: at most this many updates fetched and not yet done; the rest wait at "
    "Telegram, oldest first (or TELEGRAM_MAX_IN_FLIGHT).",
)
@click.option(
    "--workers",
    envvar="TELEGRAM_WORKERS",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Webhook: serve with this many processes (or TELEGRAM_WORKERS).",
)
@click.option("--worker-fd", type=int, hidden=True)
@click.option("--worker-index", type=click.IntRange(0, 63), hidden=True)
@click.pass_context
def telegram(
    ctx: click.Context,
    tipline: str | None,
    framework: str,
    webhook_url: str | None,
    webhook_secret: str | None,
    listen: str,
    metrics_port: int | None,
    metrics_host: str,
    max_in_flight: int,
    workers: int,
    worker_fd: int | None,
    worker_index: int | None,
) -> None:
    """Serve tipsters on Telegram (long polling unless --webhook is given)."""
    from bots.telegram import FloodLimiter, TelegramChannel, run_bot, seen_updates
    from bots.telegram.common import ApiError, TokenRefused
    from bots.telegram.observed import ObservedApi

    try:
        if webhook_url is not None and not webhook_secret:
            webhook_secret = secret_from_env(os.environ, "TELEGRAM_WEBHOOK_SECRET")
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    webhook = _webhook(webhook_url, webhook_secret, listen)
    if workers > 1 and webhook is None:
        raise click.UsageError(
            "--workers needs --webhook: Telegram gives polled updates to one process only"
        )
    try:
        settings = Settings.from_env(tipline=tipline)
        token = (
            telegram_token(os.environ)
            if settings.token_file is None
            else _token_file(settings.token_file, settings.tipline)
        )
        questionnaire = offered_questionnaire(settings)
        settings.recipients()
        secret = settings.secret()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    api_base = os.environ.get("TELEGRAM_API_BASE") or None
    if workers > 1 and webhook is not None:
        ctx.exit(_supervise(ctx, webhook, workers, framework, max_in_flight, metrics_port))
    if worker_fd is not None:
        if webhook is None:
            raise click.UsageError("--worker-fd is for webhook workers")
        webhook = replace(webhook, fd=worker_fd)
    announce = not worker_index  # the only process, or the first worker
    if worker_index and metrics_port is not None:
        metrics_port += worker_index
        if metrics_port > 65535:
            raise click.ClickException("the metrics port of this worker is past 65535")

    async def serve() -> None:
        stop = stop_on_signals()
        loop = asyncio.get_running_loop()
        orphaned = loop.create_task(_orphaned(stop)) if worker_index is not None else None
        bot = _framework(framework, token, api_base)
        async with open_runtime(settings) as runtime:
            intake = runtime.intake("telegram", questionnaire)
            if webhook is not None:
                # Other processes may serve this bot too: one holds a conversation at a time.
                from storage.locks import ConversationLocks

                intake.shared_locks = ConversationLocks(
                    runtime.drafts.client, prefix=settings.keys.locks
                )
            metrics, server = await _metrics(
                runtime, intake, questionnaire, metrics_host, metrics_port
            )
            intake.observer = metrics

            def make_channel(api: BotApi, bot_id: int) -> TelegramChannel:
                seen = seen_updates(
                    runtime.drafts.client, secret, bot_id, prefix=settings.keys.telegram_updates
                )
                return TelegramChannel(
                    intake,
                    questionnaire,
                    ObservedApi(api, metrics),
                    seen=seen,
                    flood=FloodLimiter(),
                    observer=metrics,
                )

            # What was made so far (modules, the frameworks' models, the questionnaire)
            # lives as long as the process: the collector need never look at it again.
            gc.freeze()
            try:
                await run_bot(
                    bot,
                    make_channel,
                    stop,
                    webhook=webhook,
                    max_in_flight=max_in_flight,
                    announce=announce,
                )
            finally:
                if server is not None:
                    await server.stop()
                if orphaned is not None:
                    orphaned.cancel()

    try:
        asyncio.run(serve())
    except TokenRefused as exc:
        raise click.ClickException("Telegram refused the bot token (TELEGRAM_BOT_TOKEN)") from exc
    except ApiError as exc:
        raise click.ClickException(
            f"the Bot API could not be used ({type(exc).__name__}); check TELEGRAM_API_BASE "
            "and the network"
        ) from exc
    except StorageError as exc:
        raise click.ClickException(f"storage: {exc}") from exc
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _supervise(
    ctx: click.Context,
    webhook: WebhookOptions,
    workers: int,
    framework: str,
    max_in_flight: int,
    metrics_port: int | None,
) -> int:
    """Open the webhook's socket and keep ``workers`` processes serving it."""
    from ..workers import supervise

    family = socket.AF_INET6 if ":" in webhook.host else socket.AF_INET
    try:
        listener = socket.create_server((webhook.host, webhook.port), family=family, backlog=1024)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {webhook.host}:{webhook.port}: {exc.strerror}"
        ) from exc
    verbose = bool(ctx.find_root().params.get("verbose"))
    host = f"[{webhook.host}]" if ":" in webhook.host else webhook.host

    def command(index: int) -> list[str]:
        argv = [sys.executable, "-m", "tipline", *(["-v"] if verbose else []), "run"]
        argv += ["telegram", "--framework", framework, "--webhook", webhook.url]
        argv += ["--listen", f"{host}:{webhook.port}", "--max-in-flight", str(max_in_flight)]
        argv += ["--workers", "1", "--worker-fd", str(listener.fileno())]
        argv += ["--worker-index", str(index)]
        if ctx.params.get("tipline"):  # the workers serve the same tipline
            argv += ["--tipline", str(ctx.params["tipline"])]
        if metrics_port is not None:  # worker i serves them on metrics_port + i
            argv += ["--metrics-port", str(metrics_port)]
            argv += ["--metrics-host", str(ctx.params["metrics_host"])]
        return argv

    # The secret goes by the environment, never on a command line others can read.
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_WEBHOOK_SECRET_FILE"}
    env["TELEGRAM_WEBHOOK_SECRET"] = webhook.secret

    async def run() -> int:
        stop = stop_on_signals()
        return await supervise(command, workers, stop, env=env, pass_fds=(listener.fileno(),))

    with listener:
        return asyncio.run(run())


async def _orphaned(stop: asyncio.Event) -> None:
    """A worker stops when its supervisor is gone (killed): nothing would restart it,
    and the next supervisor must be able to listen."""
    parent = os.getppid()
    while not stop.is_set():
        await asyncio.sleep(1.0)
        if os.getppid() != parent:
            stop.set()
