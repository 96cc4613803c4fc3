"""Creating the asyncio Redis client used by every store."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
from redis import exceptions as redis_exceptions
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff

from storage.errors import EphemeralRedisError, translate_redis_errors

__all__ = ["RedisTarget", "check_ephemeral", "connect"]

log = logging.getLogger(__name__)

#: URL options that would turn certificate checking off: refused, never applied.
_UNCHECKED_TLS = ("ssl_cert_reqs", "ssl_check_hostname")


@dataclass(frozen=True)
class RedisTarget:
    """Where a Redis server is and how to log in to it.

    Either ``url`` (``redis://``, ``rediss://`` or ``unix://``) or, for Redis Sentinel,
    ``sentinels`` (``(host, port)`` pairs) and ``master`` (the name the sentinels
    monitor): the client asks the sentinels for the current master before each new
    connection, so it follows a failover. ``username`` and ``password`` log in to the
    server (a URL's own credentials win), ``sentinel_username`` and
    ``sentinel_password`` to the sentinels. ``ca_file`` is the certificate authority that
    signed the server's (and, with ``tls``, the sentinels') certificate; without it the
    system's trust store is used. With TLS the certificate and the host name are always
    checked: a URL that tries to turn that off is refused (ValueError).
    """

    url: str | None = None
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str | None = None
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    ca_file: str | None = None
    #: Sentinel only: talk TLS to the sentinels and to the master they name.
    tls: bool = False

    def __post_init__(self) -> None:
        if (self.url is None) == (not self.sentinels):
            raise ValueError("give either a Redis URL or sentinels, not both")
        if self.sentinels and not self.master:
            raise ValueError("with sentinels, name the master they monitor")
        if self.url is not None:
            parts = urlsplit(self.url)
            if parts.scheme not in ("redis", "rediss", "unix"):
                raise ValueError("a Redis URL starts with redis://, rediss:// or unix://")
            if any(name in parse_qs(parts.query) for name in _UNCHECKED_TLS):
                raise ValueError("certificate checking cannot be turned off in a Redis URL")

    @property
    def uses_tls(self) -> bool:
        return self.tls if self.url is None else self.url.startswith("rediss://")

    def __repr__(self) -> str:  # never show a password
        where = self.url.split("@")[-1] if self.url else f"sentinel master {self.master}"
        return f"RedisTarget({where!r})"


class _SentinelRedis(aioredis.Redis):
    """A client of the master the sentinels name; closing it closes the sentinels' too."""

    sentinel_manager: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        try:
            await super().aclose(close_connection_pool)
        finally:
            if self.sentinel_manager is not None:
                for client in self.sentinel_manager.sentinels:
                    await client.aclose()


def _tls_options(ca_file: str | None) -> dict[str, Any]:
    return {
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": True,
        "ssl_ca_certs": ca_file,
    }


async def connect(
    url: str | RedisTarget,
    *,
    socket_timeout: float = 5.0,
    connect_timeout: float = 2.0,
    retries: int = 2,
    check: bool = False,
) -> aioredis.Redis:
    """Return a client for ``url`` (``redis://``, ``rediss://`` or ``unix://``), or for
    a `RedisTarget` (credentials, a certificate authority, or Redis Sentinel).

    Replies stay raw bytes (``decode_responses=False``): storage only handles opaque
    blobs. Timeouts and the small retry budget are bounded so that a dead server is
    noticed within seconds and a sealed tip can go to the spool instead. No connection
    is made unless ``check`` is true, in which case the server must answer PING
    (`StorageUnavailableError` otherwise), so an application can start while Redis is
    down. With TLS (``rediss://``) the server's certificate and host name are checked.
    """
    target = url if isinstance(url, RedisTarget) else RedisTarget(url=url)
    options: dict[str, Any] = {
        "decode_responses": False,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": connect_timeout,
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), retries),
        "health_check_interval": 30,
    }
    if target.username is not None:
        options["username"] = target.username
    if target.password is not None:
        options["password"] = target.password
    if target.uses_tls:
        options.update(_tls_options(target.ca_file))
    client: aioredis.Redis
    if target.url is not None:
        client = aioredis.Redis.from_url(target.url, **options)
    else:
        sentinel_options: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": connect_timeout,
        }
        if target.sentinel_username is not None:
            sentinel_options["username"] = target.sentinel_username
        if target.sentinel_password is not None:
            sentinel_options["password"] = target.sentinel_password
        if target.tls:
            sentinel_options.update(ssl=True, **_tls_options(target.ca_file))
            options["ssl"] = True
        sentinel = Sentinel(list(target.sentinels), sentinel_kwargs=sentinel_options, **options)
        assert target.master is not None  # checked in RedisTarget
        client = sentinel.master_for(target.master, redis_class=_SentinelRedis)
        if isinstance(client, _SentinelRedis):
            client.sentinel_manager = sentinel
    if check:
        try:
            with translate_redis_errors():
                await client.ping()
        except BaseException:
            await client.aclose()
            raise
    return client


async def _run_id(client: aioredis.Redis) -> str:
    with translate_redis_errors():
        info = await client.info("server")
    value = info.get("run_id", "")
    return value.decode() if isinstance(value, bytes) else str(value)


async def check_ephemeral(ephemeral: aioredis.Redis, durable: aioredis.Redis) -> None:
    """Refuse an ephemeral Redis that would write what it holds to disk, or that is the
    durable server itself (`EphemeralRedisError`, saying what to change).

    Drafts, update marks and throttles expire; an append-only file would keep each of
    their writes, with absolute millisecond expiry times, long after they were deleted.
    A server whose ``CONFIG`` command is not allowed (a managed Redis, an ACL) cannot be
    checked: that is logged, and the admin's word is taken.
    """
    if await _run_id(ephemeral) == await _run_id(durable):
        raise EphemeralRedisError(
            "REDIS_EPHEMERAL_URL names the same server as REDIS_URL: drafts would reach "
            "its append-only file; give drafts a Redis with persistence off"
        )
    try:
        with translate_redis_errors():
            aof = await ephemeral.config_get("appendonly")
            save = await ephemeral.config_get("save")
    except redis_exceptions.ResponseError:
        log.warning("the ephemeral Redis does not allow CONFIG GET: its persistence is unchecked")
        return
    aof_on = _config_value(aof, "appendonly") == "yes"
    snapshots = _config_value(save, "save").strip()
    if aof_on or snapshots:
        raise EphemeralRedisError(
            "the ephemeral Redis (drafts, update marks, throttles) writes to disk "
            f"(appendonly {'yes' if aof_on else 'no'}, save {snapshots!r}); "
            'run it with `--appendonly no --save ""`'
        )


def _config_value(reply: object, name: str) -> str:
    if not isinstance(reply, dict):
        return ""
    for key, value in reply.items():
        k = key.decode() if isinstance(key, bytes) else str(key)
        if k == name:
            return value.decode() if isinstance(value, bytes) else str(value)
    return ""
