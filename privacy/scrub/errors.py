"""Why a file was refused.

Every refusal is a :class:`ScrubError` whose ``reason`` is a stable code, so a caller
can pick the tipster's message from it without parsing English::

    ScrubError                      reason
    ├── FileTooLargeError           "too_large"      more bytes than Limits.max_bytes
    ├── UnsupportedFormatError      "unsupported"    not a format we can clean
    ├── MalformedFileError          "malformed"      empty, truncated or inconsistent
    ├── DecompressionBombError      "bomb"           would expand past a limit
    ├── ScrubTimeoutError           "timeout"        took longer than Limits.seconds
    ├── MacrosError                 "macros"         an office file that carries macros
    ├── EncryptedError              "encrypted"      password-protected, cannot be read
    └── VerifyFailedError           "verify_failed"  metadata found after cleaning

The message (``str(exc)``) is English, for logs and the command line. It names the
format and the problem, never a value read from the file: a refusal must not leak the
metadata it refused.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "REASONS",
    "DecompressionBombError",
    "EncryptedError",
    "FileTooLargeError",
    "MacrosError",
    "MalformedFileError",
    "ScrubError",
    "ScrubTimeoutError",
    "UnsupportedFormatError",
    "VerifyFailedError",
]


class ScrubError(Exception):
    """A file that is refused: nothing of it may be passed on.

    ``reason`` is one of :data:`REASONS`; ``kind`` is the detected format when detection
    got that far (``"pdf"``, ``"docx"``, ...), else ``None``.
    """

    default_reason: ClassVar[str] = "unsupported"

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        self.reason: str = self.default_reason
        self.kind: str | None = kind

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, reason={self.reason!r}, kind={self.kind!r})"


class FileTooLargeError(ScrubError):
    default_reason = "too_large"


class UnsupportedFormatError(ScrubError):
    default_reason = "unsupported"


class MalformedFileError(ScrubError):
    default_reason = "malformed"


class DecompressionBombError(ScrubError):
    default_reason = "bomb"


class ScrubTimeoutError(ScrubError):
    default_reason = "timeout"


class MacrosError(ScrubError):
    default_reason = "macros"


class EncryptedError(ScrubError):
    default_reason = "encrypted"


class VerifyFailedError(ScrubError):
    default_reason = "verify_failed"


REASONS: tuple[str, ...] = (
    "too_large",
    "unsupported",
    "malformed",
    "bomb",
    "timeout",
    "macros",
    "encrypted",
    "verify_failed",
)
