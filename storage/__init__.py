"""Storage: encrypted drafts, the reviewer queue, the local spool, the embedded Redis.

Everything here handles opaque bytes only (drafts arrive encrypted, tips arrive sealed)
and talks to Redis through ``redis.asyncio``. See docs/storage.md.
"""

from storage.client import RedisTarget, check_ephemeral, connect
from storage.drafts import DraftStore, validate_draft_key
from storage.embedded import EmbeddedRedis, find_redis_server
from storage.errors import (
    EmbeddedRedisError,
    EphemeralRedisError,
    SpoolCorruptError,
    StorageError,
    StorageUnavailableError,
    translate_redis_errors,
)
from storage.queue import FORMAT_VERSION, QueuedTip, TipQueue, validate_case_id
from storage.spool import Spool, submit_durably

__all__ = [
    "FORMAT_VERSION",
    "DraftStore",
    "EmbeddedRedis",
    "EmbeddedRedisError",
    "EphemeralRedisError",
    "QueuedTip",
    "RedisTarget",
    "Spool",
    "SpoolCorruptError",
    "StorageError",
    "StorageUnavailableError",
    "TipQueue",
    "check_ephemeral",
    "connect",
    "find_redis_server",
    "submit_durably",
    "translate_redis_errors",
    "validate_case_id",
    "validate_draft_key",
]
