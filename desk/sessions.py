"""Desk sessions and each operator's calls, in the ephemeral Redis (nothing on disk).

Keys::

    tipline:desk:session:{sha256(token)}   JSON {user, generation, csrf}; expires when
                                           idle (every request restarts the clock)
    tipline:desk:calls:{user}              list of the operator's open call ids, newest
                                           first; expires with the drafts

Only a hash of the session token is stored, so whoever reads this Redis cannot take
over a session. A call id names a conversation of the ``hotline`` channel; its draft
is keyed by a pseudonym of it and encrypted, like every other draft.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis

from storage import translate_redis_errors

__all__ = ["CallBook", "Session", "SessionStore", "new_call_id"]

_PREFIX = "tipline:desk:"


def new_call_id() -> str:
    """A random call id (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class Session:
    token: str
    user: str
    generation: int
    csrf: str


class SessionStore:
    def __init__(self, client: aioredis.Redis, *, idle: timedelta, prefix: str = _PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._idle_ms = int(idle.total_seconds() * 1000)
        if self._idle_ms < 1:
            raise ValueError("the idle timeout must be positive")

    def _key(self, token: str) -> str:
        return f"{self._prefix}session:{hashlib.sha256(token.encode()).hexdigest()}"

    async def create(self, user: str, generation: int) -> Session:
        session = Session(secrets.token_urlsafe(32), user, generation, secrets.token_urlsafe(32))
        doc = {"user": user, "generation": generation, "csrf": session.csrf}
        with translate_redis_errors():
            await self._client.set(self._key(session.token), json.dumps(doc), px=self._idle_ms)
        return session

    async def get(self, token: str) -> Session | None:
        """The session, its idle clock restarted; None when unknown or expired."""
        if not token or len(token) > 128:
            return None
        key = self._key(token)
        with translate_redis_errors():
            raw = await self._client.get(key)
            if raw is None:
                return None
            await self._client.pexpire(key, self._idle_ms)
        try:
            doc: Any = json.loads(raw)
            return Session(token, str(doc["user"]), int(doc["generation"]), str(doc["csrf"]))
        except (ValueError, KeyError, TypeError):
            return None

    async def end(self, token: str) -> None:
        with translate_redis_errors():
            await self._client.delete(self._key(token))


class CallBook:
    """Which calls belong to which operator: an operator reaches only their own."""

    def __init__(self, client: aioredis.Redis, *, ttl: timedelta, prefix: str = _PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_ms = int(ttl.total_seconds() * 1000)

    def _key(self, user: str) -> str:
        return f"{self._prefix}calls:{user}"

    async def add(self, user: str, call_id: str) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.lpush(self._key(user), call_id)
            pipe.pexpire(self._key(user), self._ttl_ms)
            with translate_redis_errors():
                await pipe.execute()

    async def owns(self, user: str, call_id: str) -> bool:
        with translate_redis_errors():
            found = await self._client.lpos(self._key(user), call_id)
        return found is not None

    async def touch(self, user: str) -> None:
        with translate_redis_errors():
            await self._client.pexpire(self._key(user), self._ttl_ms)

    async def calls(self, user: str) -> list[str]:
        with translate_redis_errors():
            raw = await self._client.lrange(self._key(user), 0, -1)
        return [v.decode() if isinstance(v, bytes) else str(v) for v in raw]

    async def remove(self, user: str, call_id: str) -> None:
        with translate_redis_errors():
            await self._client.lrem(self._key(user), 0, call_id)
