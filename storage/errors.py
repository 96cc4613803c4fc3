"""Errors raised by the storage layer.

Callers only need to know two things: whether Redis could not be reached (the tip can
wait in the spool and be pushed later) or whether something else went wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis import exceptions as redis_exceptions

__all__ = [
    "ConversationBusy",
    "EmbeddedRedisError",
    "EphemeralRedisError",
    "SpoolCorruptError",
    "StorageError",
    "StorageUnavailableError",
    "translate_redis_errors",
]


class StorageError(Exception):
    """Base class of every storage error."""


class StorageUnavailableError(StorageError):
    """Redis cannot be reached, timed out, or refuses writes for now.

    The operation may be retried later; a sealed tip should go to the spool.
    """


class EmbeddedRedisError(StorageError):
    """The embedded redis-server cannot be started (binary missing, failed to come up)."""


class EphemeralRedisError(StorageError):
    """The Redis meant for ephemeral state would write it to disk, or is the durable one."""


class SpoolCorruptError(StorageError):
    """A spool file is truncated or damaged; it has been moved to quarantine."""


# Server replies that mean "not now" rather than "never": refused writes while a
# persistence error lasts (MISCONF), out of memory (OOM), a read-only replica (READONLY),
# or no healthy master (MASTERDOWN). A tip must be spooled, not dropped, in these cases.
_UNAVAILABLE_REPLY_PREFIXES = ("MISCONF", "NOREPLICAS")
_UNAVAILABLE_REPLY_TYPES: tuple[type[Exception], ...] = (
    redis_exceptions.OutOfMemoryError,
    redis_exceptions.ReadOnlyError,
    redis_exceptions.MasterDownError,
)
_UNAVAILABLE_TYPES: tuple[type[Exception], ...] = (
    redis_exceptions.ConnectionError,  # includes BusyLoadingError (server still loading)
    redis_exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)


@contextmanager
def translate_redis_errors() -> Iterator[None]:
    """Re-raise redis-py's connection, timeout and refused-write errors as
    `StorageUnavailableError` (chained with ``from``); everything else passes through."""
    try:
        yield
    except _UNAVAILABLE_TYPES as exc:
        raise StorageUnavailableError(f"Redis is unavailable: {type(exc).__name__}") from exc
    except _UNAVAILABLE_REPLY_TYPES as exc:
        raise StorageUnavailableError(f"Redis refused the write: {type(exc).__name__}") from exc
    except redis_exceptions.ResponseError as exc:
        if str(exc).startswith(_UNAVAILABLE_REPLY_PREFIXES):
            raise StorageUnavailableError(
                f"Redis refused the write: {str(exc).split(' ', 1)[0]}"
            ) from exc
        raise


class ConversationBusy(StorageError):
    """Another process holds the conversation (storage.locks): it held it for longer
    than we may wait, or our own hold expired while we worked. The input is to be
    delivered again."""
