"""Messages only the Telegram channel shows, as gettext message ids (English source text).

They are extracted with the rest (``babel.cfg`` reads ``bots/**.py``) and rendered through
the same catalogues as the engine's messages.
"""

from __future__ import annotations

from conversations.messages import N_

__all__ = [
    "COMMAND_CANCEL",
    "COMMAND_FOLLOWUP",
    "COMMAND_HELP",
    "COMMAND_LANGUAGE",
    "COMMAND_SAFETY",
    "COMMAND_START",
    "FLOOD",
]

FLOOD = N_("You are sending messages very fast. Please wait a minute, then go on.")

# Descriptions of the bot's commands, shown in Telegram's command menu.
COMMAND_START = N_("Start a report, or continue yours")
COMMAND_CANCEL = N_("Stop and delete your report")
COMMAND_LANGUAGE = N_("Change the language")
COMMAND_HELP = N_("How to answer")
COMMAND_SAFETY = N_("Safety advice")
COMMAND_FOLLOWUP = N_("Check for questions with your receipt code")
