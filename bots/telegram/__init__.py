"""Telegram tipster bots on python-telegram-bot or aiogram, one engine.

``bots.telegram.ptb`` and ``bots.telegram.aiogram_bot`` are the two thin adapters; they
share :mod:`~bots.telegram.channel` (updates to events, actions to Bot API calls),
:mod:`~bots.telegram.polling` (polling that loses nothing, the webhook) and
:mod:`~bots.telegram.common`. Import an adapter module only when it is used: each pulls
in its framework.
"""

from .channel import SEEN_TTL, SeenUpdates, TelegramChannel, seen_updates
from .common import FloodLimiter, Incoming
from .polling import Poller, WebhookOptions, run_bot

__all__ = [
    "SEEN_TTL",
    "FloodLimiter",
    "Incoming",
    "Poller",
    "SeenUpdates",
    "TelegramChannel",
    "WebhookOptions",
    "run_bot",
    "seen_updates",
]
