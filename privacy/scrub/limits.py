"""Limits on what one file may cost, and the budget that enforces them during a scrub."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .errors import DecompressionBombError, ScrubTimeoutError

__all__ = ["DEFAULT_LIMITS", "Budget", "Limits"]


@dataclass(frozen=True)
class Limits:
    """How much a single file may cost before it is refused.

    ``max_bytes``: the input size (Telegram lets a bot download at most 20 MB).
    ``max_pixels``: width × height of any image, frame or page raster we look at.
    ``max_members``: entries in an archive (office documents are zip archives).
    ``max_ratio``: expanded size ÷ compressed size, for a whole archive and for any
    member that expands past 1 MiB.
    ``max_expanded``: bytes an archive or an image stream may expand to, in total.
    ``seconds``: wall-clock time for one file, including ffmpeg.
    ``max_memory``: address space of the process that scrubs one file, ffmpeg included
    (enforced only by :func:`privacy.scrub.scrub_isolated`, as ``RLIMIT_AS``).
    """

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 50_000_000
    max_members: int = 2000
    max_ratio: int = 100
    max_expanded: int = 200 * 1024 * 1024
    seconds: float = 30.0
    max_memory: int = 1024 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in (
            "max_bytes",
            "max_pixels",
            "max_members",
            "max_ratio",
            "max_expanded",
            "max_memory",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive integer")
        if not self.seconds > 0:
            raise ValueError("Limits.seconds must be positive")


DEFAULT_LIMITS = Limits()


@dataclass
class Budget:
    """The limits of one scrub plus its deadline; passed down to every format module."""

    limits: Limits
    deadline: float = field(default=0.0)
    depth: int = 0

    def __post_init__(self) -> None:
        if not self.deadline:
            self.deadline = time.monotonic() + self.limits.seconds

    def remaining(self) -> float:
        """Seconds left; raises once none are."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ScrubTimeoutError(f"took longer than {self.limits.seconds:g} s")
        return left

    def check(self) -> None:
        """Raise :class:`ScrubTimeoutError` when the time is up."""
        self.remaining()

    def pixels(self, width: int, height: int, what: str) -> None:
        """Refuse an image (or frame) larger than ``max_pixels``."""
        if width * height > self.limits.max_pixels:
            raise DecompressionBombError(
                f"{what} is {width}×{height} pixels, more than {self.limits.max_pixels:,}"
            )

    def nested(self) -> Budget:
        """The budget for a file inside this one (same deadline, one level deeper)."""
        if self.depth >= 2:
            raise DecompressionBombError("files nested too deeply")
        return Budget(self.limits, self.deadline, self.depth + 1)
