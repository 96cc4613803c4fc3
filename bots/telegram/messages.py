"""Messages only the Telegram channel shows, as gettext message ids (English source text).

They are extracted with the rest (``babel.cfg`` reads ``bots/**.py``) and rendered through
the same catalogues as the engine's messages.
"""

from __future__ import annotations

from conversations.messages import N_, NP_

__all__ = [
    "COMMAND_CANCEL",
    "COMMAND_FOLLOWUP",
    "COMMAND_HELP",
    "COMMAND_LANGUAGE",
    "COMMAND_SAFETY",
    "COMMAND_START",
    "ENDED",
    "FLOOD",
    "WIPE_REFUSED",
]

FLOOD = N_("You are sending messages very fast. Please wait a minute, then go on.")
# A button pressed in a conversation that is over (sent, cancelled, wiped): it starts
# nothing by itself, so the tipster is told how to begin a new report.
ENDED = N_("This conversation has ended. To make a new report, send /start.")
# After a wipe, when Telegram kept some messages (a bot may delete them for 48 hours only).
# This message stays in the chat: it must not say what the chat was about.
WIPE_REFUSED = NP_(
    "{n} message could not be deleted because it is more than two days old. "
    "Please delete this chat yourself in the Telegram app.",
    "{n} messages could not be deleted because they are more than two days old. "
    "Please delete this chat yourself in the Telegram app.",
)

# Descriptions of the bot's commands, shown in Telegram's command menu.
COMMAND_START = N_("Start a report, or continue yours")
COMMAND_CANCEL = N_("Stop and delete your report")
COMMAND_LANGUAGE = N_("Change the language")
COMMAND_HELP = N_("How to answer")
COMMAND_SAFETY = N_("Safety advice")
COMMAND_FOLLOWUP = N_("Check for questions with your receipt code")
