"""Shared fixtures.

Redis: one real redis-server for the whole test run, started through our own
`storage.EmbeddedRedis` (so the tests exercise the launcher the app uses). Tests get
``redis_url`` and a fresh ``redis_client`` (database flushed before each test). There is
no skipping: without a redis-server the tests fail and say what to install.

Add fixtures for other areas below in their own section.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from storage import EmbeddedRedis, EmbeddedRedisError, connect

# -- Redis ------------------------------------------------------------------------------


def _server(
    tmp_path_factory: pytest.TempPathFactory, *, persistent: bool
) -> Iterator[EmbeddedRedis]:
    name = "redis" if persistent else "redis-ephemeral"
    server = EmbeddedRedis(tmp_path_factory.mktemp(name), persistent=persistent)
    problem = ""
    try:
        server.start()
    except EmbeddedRedisError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(f"the tests need a real redis-server: {problem}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


async def _flushed_client(url: str) -> AsyncIterator[aioredis.Redis]:
    client = await connect(url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def embedded_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A real redis-server for the whole test run, unix socket only, AOF on."""
    yield from _server(tmp_path_factory, persistent=True)


@pytest.fixture(scope="session")
def redis_url(embedded_redis: EmbeddedRedis) -> str:
    """URL (``unix://…``) of the test run's redis-server."""
    return embedded_redis.url


@pytest_asyncio.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client in the test's own event loop, on an empty database."""
    async for client in _flushed_client(redis_url):
        yield client


@pytest.fixture(scope="session")
def ephemeral_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A second real redis-server with persistence off: drafts, marks, throttles."""
    yield from _server(tmp_path_factory, persistent=False)


@pytest.fixture(scope="session")
def ephemeral_url(ephemeral_redis: EmbeddedRedis) -> str:
    """URL of the test run's ephemeral redis-server (REDIS_EPHEMERAL_URL)."""
    return ephemeral_redis.url


@pytest_asyncio.fixture
async def ephemeral_client(ephemeral_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client of the ephemeral server in the test's own event loop, flushed first."""
    async for client in _flushed_client(ephemeral_url):
        yield client
