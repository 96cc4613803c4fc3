"""Where one tipline's keys live in Redis.

A deployment may run several tiplines (one bot each, its own reviewers) on the same two
Redis servers. Each tipline's keys share one prefix, so that an ACL user can be given
that tipline's keys and nothing else:

==================  ==========================================================
``default``         ``tipline:`` (the names a single tipline has always used:
                    ``tipline:tips``, ``tipline:draft:...``)
any other name      ``tipline:t:{name}:`` (``tipline:t:{name}:tips``, ...)
==================  ==========================================================

The ``t:`` keeps a named tipline out of every pattern of the default one: a tipline
called ``tip`` or ``draft`` would otherwise have its keys under ``tipline:tip:*`` or
``tipline:draft:*``, which the default tipline's users may reach.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_TIPLINE", "KeySpace", "validate_tipline_name"]

#: The name of the tipline configured by the environment alone.
DEFAULT_TIPLINE: Final = "default"

#: Lowercase letters, digits and inner or trailing hyphens, at most 32; not starting
#: with a hyphen, which would read as an option on a command line.
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


def validate_tipline_name(name: str) -> str:
    """Return ``name`` if it is a tipline name (1-32 of ``a-z``, ``0-9`` and ``-``, not
    starting with ``-``), else raise ValueError."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise ValueError(
            f"{str(name)[:40]!r} is not a tipline name: use 1-32 lowercase letters, digits "
            "and hyphens, starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class KeySpace:
    """The key names of one tipline (see the module's documentation)."""

    name: str = DEFAULT_TIPLINE

    def __post_init__(self) -> None:
        validate_tipline_name(self.name)

    @property
    def root(self) -> str:
        """The prefix of every key of this tipline."""
        return "tipline:" if self.name == DEFAULT_TIPLINE else f"tipline:t:{self.name}:"

    # The durable Redis
    @property
    def stream(self) -> str:
        return self.root + "tips"

    @property
    def records(self) -> str:
        return self.root + "tip:"

    @property
    def dead(self) -> str:
        return self.root + "dead"

    @property
    def verdicts(self) -> str:
        return self.root + "verdicts"

    @property
    def custody(self) -> str:
        return self.root + "custody"

    @property
    def desk(self) -> str:
        """Desk accounts (durable) and desk sign-ins and open calls (ephemeral)."""
        return self.root + "desk:"

    # The ephemeral Redis
    @property
    def drafts(self) -> str:
        return self.root + "draft:"

    @property
    def telegram_updates(self) -> str:
        return self.root + "telegram-update:"

    @property
    def throttle(self) -> str:
        return self.root + "throttle:"

    @property
    def desk_throttle(self) -> str:
        return self.desk + "throttle:"

    @property
    def locks(self) -> str:
        """Conversation locks shared by a bot's webhook workers (storage.locks)."""
        return self.root + "lock:"

    @property
    def metrics_live(self) -> str:
        """Drafts per step, for the conversation counts (storage.tally)."""
        return self.root + "metrics:live"

    @property
    def metrics_conversations(self) -> str:
        """Conversations started, finished and left, per day (storage.tally)."""
        return self.root + "metrics:conversations"

    @property
    def metrics_queue(self) -> str:
        """The queue's depth at the end of each UTC day (tipline.metrics), by day."""
        return self.root + "metrics:queue-depth:"
