"""What a channel tells about its work, for metrics: counts and durations, never who.

An `Observer` is handed to the channel and the intake; this one does nothing, so a
channel without metrics pays nothing. `tipline.metrics` turns the calls into a
Prometheus endpoint. Every argument is a word from a closed set (an outcome, a scrub
reason, an offered language) or a duration: no chat id, no text a tipster typed, no
case id, so nothing that reaches a metric can identify anyone (P1).
"""

from __future__ import annotations

__all__ = ["API_ERRORS", "Observer"]

#: The kinds of Bot API failure (bots.telegram.observed), a closed set.
API_ERRORS = (
    "flood_control",
    "unreachable",
    "rejected",
    "file_too_big",
    "chat_gone",
    "conflict",
    "token_refused",
    "other",
)


class Observer:
    """No-op hooks; override the ones to count."""

    def update_handled(self, seconds: float, outcome: str) -> None:
        """One update handled in ``seconds``; ``outcome``: ``ok``, or ``failed`` (its
        effect could not be made durable: it will be delivered again)."""

    def flood_notice(self) -> None:
        """A chat went over the flood limit and was told so once."""

    def scrub_refused(self, reason: str) -> None:
        """An attachment was refused; ``reason`` is one of privacy.scrub's REASONS."""

    def tip(self, outcome: str, language: str) -> None:
        """A tip was made durable: ``outcome`` ``queued`` or ``spooled``; ``language`` the
        conversation's."""

    def api_error(self, kind: str) -> None:
        """A Bot API call failed: ``kind`` is one of :data:`API_ERRORS`."""

    def storage_error(self, kind: str) -> None:
        """Redis failed: ``unavailable`` (down, timed out, refusing writes) or ``other``."""
