"""Settings from the environment (and files it points to).

==========================  ==================================================================
``REDIS_URL``               the durable Redis (sealed tips, queue, follow-up records; AOF
                            on); unset: an embedded Redis in the data directory
``REDIS_EPHEMERAL_URL``     the ephemeral Redis (drafts, update marks, throttles), with
                            persistence off; unset: an embedded one that writes nothing
                            to disk. Never the same server as ``REDIS_URL``
``TIPLINE_DATA_DIR``        data directory (embedded Redis, spool, server secret);
                            default ``$XDG_DATA_HOME/tipline`` (``~/.local/share/tipline``)
``TIPLINE_RECIPIENTS``      reviewers' age recipients (``age1...``), separated by spaces,
                            commas or newlines
``TIPLINE_RECIPIENTS_FILE`` a recipients file (one ``age1...`` a line, ``#`` comments);
                            a running bot re-reads it when it changes (key rotation)
``TIPLINE_SECRET``          the server secret (as written by ``tipline secret generate``);
                            unset: ``<data dir>/server.secret``, created on first use
``TIPLINE_SECRET_FILE``     a file holding the server secret
``TIPLINE_QUESTIONNAIRE``   a questionnaire file to use instead of the default
``TIPLINE_DRAFT_TTL``       idle time after which a draft expires, in seconds (default 86400)
==========================  ==================================================================

Logging in to Redis, TLS and Sentinel (each ``*_PASSWORD`` may instead be given as a
file, ``*_PASSWORD_FILE``, as Docker and Compose secrets are):

================================  ============================================================
``REDIS_USERNAME``                the ACL user of the durable Redis (a URL's own user wins)
``REDIS_PASSWORD``                its password (a URL's own password wins)
``REDIS_EPHEMERAL_USERNAME``      the ACL user of the ephemeral Redis
``REDIS_EPHEMERAL_PASSWORD``      its password
``REDIS_TLS_CA_FILE``             the certificate authority of ``rediss://`` servers (and of
                                  TLS sentinels); unset: the system's trust store
``REDIS_SENTINELS``               ``host:port,host:port,...``: find the durable Redis through
                                  these sentinels instead of ``REDIS_URL``
``REDIS_SENTINEL_MASTER``         the name the sentinels monitor it under
``REDIS_EPHEMERAL_SENTINEL_MASTER``  the same for the ephemeral Redis (optional)
``REDIS_SENTINEL_USERNAME``       the sentinels' own ACL user
``REDIS_SENTINEL_PASSWORD``       and password
``REDIS_SENTINEL_TLS``            ``1``: the sentinels and the servers they name speak TLS
``REDIS_MIN_REPLICAS``            a tip counts as received only once this many replicas of
                                  the durable Redis have it (``WAIT``); else it is spooled
                                  and pushed again. Default 0; with Sentinel, 1 or more
================================  ============================================================
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path

from conversations import Questionnaire, parse_questionnaire
from privacy import AgeError, X25519Recipient
from privacy.secrets import ServerSecret, load_or_create
from storage import RedisTarget

__all__ = [
    "ConfigError",
    "RecipientsProvider",
    "Settings",
    "parse_recipients_text",
    "secret_from_env",
]

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """The configuration is incomplete or wrong; the message tells the admin what to fix."""


def secret_from_env(env: Mapping[str, str], name: str) -> str | None:
    """The value of ``name``, else the content of the file ``name_FILE`` names (a Docker
    or Compose secret; surrounding white space and the final newline dropped); None when
    neither is set. The value never appears in an error message."""
    value = env.get(name)
    if value:
        return value
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        text = Path(path).read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"cannot read {name}_FILE: {reason}") from exc
    if not text:
        raise ConfigError(f"{name}_FILE names an empty file")
    return text


def _sentinels(text: str) -> tuple[tuple[str, int], ...]:
    found = []
    for item in text.replace(" ", ",").split(","):
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(
                f"REDIS_SENTINELS: {item!r} is not host:port (give host:port,host:port,...)"
            )
        found.append((host.strip("[]"), int(port)))
    if not found:
        raise ConfigError("REDIS_SENTINELS is empty")
    return tuple(found)


def _redis_targets(env: Mapping[str, str]) -> tuple[RedisTarget | None, RedisTarget | None]:
    """The durable and the ephemeral Redis (None: embedded)."""
    ca_file = env.get("REDIS_TLS_CA_FILE") or None
    if ca_file is not None and not Path(ca_file).is_file():
        raise ConfigError("REDIS_TLS_CA_FILE names no readable file")
    sentinels_text = env.get("REDIS_SENTINELS", "").strip()
    sentinels = _sentinels(sentinels_text) if sentinels_text else ()
    master = env.get("REDIS_SENTINEL_MASTER") or None
    ephemeral_master = env.get("REDIS_EPHEMERAL_SENTINEL_MASTER") or None
    if sentinels and not master:
        raise ConfigError("REDIS_SENTINELS needs REDIS_SENTINEL_MASTER, the monitored name")
    if (master or ephemeral_master) and not sentinels:
        raise ConfigError("REDIS_SENTINEL_MASTER needs REDIS_SENTINELS (host:port,...)")
    if sentinels and env.get("REDIS_URL"):
        raise ConfigError("set REDIS_SENTINELS or REDIS_URL, not both")
    if ephemeral_master and env.get("REDIS_EPHEMERAL_URL"):
        raise ConfigError("set REDIS_EPHEMERAL_SENTINEL_MASTER or REDIS_EPHEMERAL_URL, not both")
    sentinel = {
        "sentinels": sentinels,
        "sentinel_username": env.get("REDIS_SENTINEL_USERNAME") or None,
        "sentinel_password": secret_from_env(env, "REDIS_SENTINEL_PASSWORD"),
        "tls": env.get("REDIS_SENTINEL_TLS", "") in ("1", "yes", "true"),
    }

    def target(prefix: str, url: str | None, name: str | None) -> RedisTarget | None:
        login = {
            "username": env.get(f"{prefix}_USERNAME") or None,
            "password": secret_from_env(env, f"{prefix}_PASSWORD"),
            "ca_file": ca_file,
        }
        try:
            if name is not None:
                return RedisTarget(master=name, **sentinel, **login)  # type: ignore[arg-type]
            if url is not None:
                return RedisTarget(url=url, **login)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ConfigError(f"{prefix}_URL: {exc}") from exc
        return None

    return (
        target("REDIS", env.get("REDIS_URL") or None, master),
        target("REDIS_EPHEMERAL", env.get("REDIS_EPHEMERAL_URL") or None, ephemeral_master),
    )


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    redis_url: str | None
    recipients_text: str
    secret_text: str | None
    secret_file: Path | None
    questionnaire_file: Path | None
    draft_ttl: timedelta
    #: The recipients file, kept so a running intake can reload it (recipients_provider);
    #: its content at start-up is part of ``recipients_text`` too, which also holds
    #: ``fixed_recipients_text``, the recipients given directly (TIPLINE_RECIPIENTS).
    recipients_file: Path | None = field(default=None)
    fixed_recipients_text: str = field(default="")
    #: The Redis for ephemeral state (drafts, marks, throttles); None: embedded.
    ephemeral_redis_url: str | None = field(default=None)
    #: How to reach and log in to the durable Redis (URL or Sentinel); None: embedded.
    redis: RedisTarget | None = field(default=None)
    #: The same for the ephemeral Redis.
    ephemeral_redis: RedisTarget | None = field(default=None)
    #: Replicas of the durable Redis that must have a tip before it counts (WAIT).
    redis_replicas: int = field(default=0)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        data_dir = Path(env.get("TIPLINE_DATA_DIR") or Path(data_home) / "tipline")
        fixed_recipients = recipients = env.get("TIPLINE_RECIPIENTS", "")
        recipients_file = env.get("TIPLINE_RECIPIENTS_FILE")
        if recipients_file:
            try:
                recipients += "\n" + Path(recipients_file).read_text("utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read TIPLINE_RECIPIENTS_FILE: {exc}") from exc
        ttl_text = env.get("TIPLINE_DRAFT_TTL", "86400")
        if not ttl_text.isdigit() or int(ttl_text) < 60:
            raise ConfigError("TIPLINE_DRAFT_TTL must be a number of seconds, at least 60")
        questionnaire = env.get("TIPLINE_QUESTIONNAIRE")
        secret_file = env.get("TIPLINE_SECRET_FILE")
        redis, ephemeral_redis = _redis_targets(env)
        replicas = env.get("REDIS_MIN_REPLICAS", "0") or "0"
        if not replicas.isdigit() or int(replicas) > 16:
            raise ConfigError("REDIS_MIN_REPLICAS must be a number of replicas, 0 to 16")
        return cls(
            data_dir=data_dir,
            redis_url=env.get("REDIS_URL") or None,
            recipients_text=recipients,
            secret_text=env.get("TIPLINE_SECRET") or None,
            secret_file=Path(secret_file) if secret_file else None,
            questionnaire_file=Path(questionnaire) if questionnaire else None,
            draft_ttl=timedelta(seconds=int(ttl_text)),
            recipients_file=Path(recipients_file) if recipients_file else None,
            fixed_recipients_text=fixed_recipients,
            ephemeral_redis_url=env.get("REDIS_EPHEMERAL_URL") or None,
            redis=redis,
            ephemeral_redis=ephemeral_redis,
            redis_replicas=int(replicas),
        )

    def recipients(self) -> list[X25519Recipient]:
        """The reviewers' recipients; an intake without any refuses to start."""
        return parse_recipients_text(self.recipients_text)

    def recipients_provider(self) -> RecipientsProvider:
        """The reviewers' recipients for a long-running intake: ``TIPLINE_RECIPIENTS`` plus
        the recipients file, re-read whenever that file changes."""
        if self.recipients_file is None:
            return RecipientsProvider(self.recipients_text)
        return RecipientsProvider(self.fixed_recipients_text, self.recipients_file)

    def secret(self) -> ServerSecret:
        try:
            if self.secret_text:
                return ServerSecret.from_text(self.secret_text)
            if self.secret_file:
                return ServerSecret.from_text(self.secret_file.read_text("utf-8"))
            return load_or_create(self.data_dir / "server.secret")
        except (OSError, ValueError) as exc:
            raise ConfigError(f"server secret: {exc}") from exc

    def questionnaire(self) -> Questionnaire:
        if self.questionnaire_file is None:
            text = (
                resources.files("conversations")
                .joinpath("default_questionnaire.yaml")
                .read_text("utf-8")
            )
        else:
            try:
                text = self.questionnaire_file.read_text("utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read TIPLINE_QUESTIONNAIRE: {exc}") from exc
        try:
            return parse_questionnaire(text)
        except ValueError as exc:
            raise ConfigError(f"questionnaire: {exc}") from exc


def parse_recipients_text(text: str) -> list[X25519Recipient]:
    """``age1...`` recipients separated by spaces, commas or newlines, ``#`` comments;
    ConfigError for a malformed one or for none at all."""
    found: list[X25519Recipient] = []
    for line in text.splitlines():
        for token in re.split(r"[,\s]+", line.split("#", 1)[0]):
            if not token:
                continue
            try:
                found.append(X25519Recipient.parse(token))
            except AgeError as exc:
                raise ConfigError(f"reviewer recipient {token[:12]}...: {exc}") from exc
    if not found:
        raise ConfigError(
            "no reviewer recipients: set TIPLINE_RECIPIENTS to the age1... recipients that "
            "`tipline keys generate` printed on the reviewers' own machines"
        )
    return found


class RecipientsProvider:
    """The reviewers' recipients, reloaded from the recipients file when it changes.

    Called with no argument, it returns the recipients to seal to now: the fixed ones
    (``TIPLINE_RECIPIENTS``) and those in the file. The file is checked on every call
    (one ``stat``) and re-read when its modification time, size or inode changed, so a
    key rotation takes effect at the next tip without restarting the bot. Replace the
    file atomically (write a new file, then rename it over the old one). A file that has
    become unreadable, malformed or empty is not applied: the last good recipients stay
    in use and a warning is logged, so a botched edit never stops the intake.
    """

    def __init__(self, fixed_text: str = "", path: Path | None = None) -> None:
        self._fixed_text = fixed_text
        self._path = path
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int, int] | None = None
        self._current: tuple[X25519Recipient, ...] = ()
        self._load(initial=True)

    @property
    def path(self) -> Path | None:
        return self._path

    def __call__(self) -> tuple[X25519Recipient, ...]:
        if self._path is not None:
            with self._lock:
                self._load(initial=False)
        return self._current

    def _load(self, *, initial: bool) -> None:
        if self._path is None:
            if initial:
                self._current = tuple(parse_recipients_text(self._fixed_text))
            return
        try:
            info = self._path.stat()
        except OSError as exc:
            if initial:
                raise ConfigError(f"cannot read TIPLINE_RECIPIENTS_FILE: {exc}") from exc
            log.warning("the recipients file cannot be read; keeping the recipients in use")
            return
        signature = (info.st_mtime_ns, info.st_size, info.st_ino, info.st_dev)
        if signature == self._signature:
            return
        try:
            text = self._path.read_text("utf-8")
            found = tuple(parse_recipients_text(self._fixed_text + "\n" + text))
        except (OSError, UnicodeDecodeError, ConfigError) as exc:
            if initial:
                raise ConfigError(f"TIPLINE_RECIPIENTS_FILE: {exc}") from exc
            log.warning("the recipients file is not valid; keeping the recipients in use")
            return
        if not initial and found != self._current:
            log.info("reviewer recipients reloaded: %d in use", len(found))
        self._signature = signature
        self._current = found
