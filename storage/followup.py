"""Follow-up without linkage (rule P6): receipts, reviewers' questions, tipsters' answers.

Keys (no chat id, no user id, no time anywhere; nothing here expires, so it all belongs
in the durable Redis; wrong-code throttles live in the ephemeral one, `storage.throttle`):

================================  ====================================================
``tipline:receipt:{lookup}``      hash: ``case`` (the case id). ``lookup`` is derived
                                  from the receipt code by scrypt; the code is not kept
``tipline:followup:{case}``       hash: ``recipient``, the ``age1...`` key derived from
                                  the code, to which reviewers seal their questions
``tipline:questions:{case}``      list of questions, each age-sealed to that recipient
``tipline:answers:{case}``        the thread, age-sealed to reviewers: the tipster's answers
                                  and a reviewers' copy of each question asked
================================  ====================================================
"""

from __future__ import annotations

import redis.asyncio as aioredis

from storage.errors import translate_redis_errors
from storage.queue import validate_case_id

__all__ = ["FollowupStore"]

_LOOKUP_HEX = 64


def _lookup(lookup: str) -> str:
    if len(lookup) != _LOOKUP_HEX or any(c not in "0123456789abcdef" for c in lookup):
        raise ValueError("a receipt lookup is 64 lowercase hex characters")
    return lookup


class FollowupStore:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "tipline:") -> None:
        self._client = client
        self._prefix = prefix

    async def create(self, lookup: str, case_id: str, recipient: str) -> None:
        """Tie a receipt (by its lookup id) to a case; the case's questions are sealed to
        ``recipient``. Safe to repeat."""
        validate_case_id(case_id)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(f"{self._prefix}receipt:{_lookup(lookup)}", mapping={"case": case_id})
            pipe.hset(f"{self._prefix}followup:{case_id}", mapping={"recipient": recipient})
            with translate_redis_errors():
                await pipe.execute()

    async def case_for(self, lookup: str) -> str | None:
        with translate_redis_errors():
            value = await self._client.hget(f"{self._prefix}receipt:{_lookup(lookup)}", "case")
        return None if value is None else _text(value)

    async def recipient(self, case_id: str) -> str | None:
        """The recipient a reviewer seals a question to; None if the tipster gave no
        consent to follow-up (no receipt was issued)."""
        key = f"{self._prefix}followup:{validate_case_id(case_id)}"
        with translate_redis_errors():
            value = await self._client.hget(key, "recipient")
        return None if value is None else _text(value)

    async def ask(self, case_id: str, sealed_question: bytes) -> int:
        """Leave a sealed question for the tipster; returns how many wait now."""
        key = f"{self._prefix}questions:{validate_case_id(case_id)}"
        with translate_redis_errors():
            return int(await self._client.rpush(key, sealed_question))

    async def questions(self, case_id: str) -> list[bytes]:
        key = f"{self._prefix}questions:{validate_case_id(case_id)}"
        with translate_redis_errors():
            return [_bytes(v) for v in await self._client.lrange(key, 0, -1)]

    async def answer(self, case_id: str, sealed_answer: bytes) -> None:
        key = f"{self._prefix}answers:{validate_case_id(case_id)}"
        with translate_redis_errors():
            await self._client.rpush(key, sealed_answer)

    async def answers(self, case_id: str) -> list[bytes]:
        key = f"{self._prefix}answers:{validate_case_id(case_id)}"
        with translate_redis_errors():
            return [_bytes(v) for v in await self._client.lrange(key, 0, -1)]


def _text(value: bytes | str) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else value


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
