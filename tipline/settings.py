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
``TIPLINE_CONFIG``          a settings file naming several tiplines, each with its own bot
                            token, recipients, questionnaire, languages and Redis users
                            (:mod:`tipline.tiplines`); then the per-tipline variables
                            above (recipients, questionnaire, bot token) must be unset
``TIPLINE_NAME``            the tipline to serve or review (as ``--tipline``); unset: the
                            only one of ``TIPLINE_CONFIG``, or without it ``default``
==========================  ==================================================================

Each tipline's Redis keys have a prefix of their own and its pseudonyms, draft key and
receipt lookups come from its own subkey of the server secret (``storage.keys``,
``ServerSecret.scoped``); the ``default`` tipline keeps the names and keys a single
tipline has always had.

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
from dataclasses import dataclass, field, replace
from datetime import timedelta
from importlib import resources
from pathlib import Path

from conversations import Questionnaire, parse_questionnaire
from privacy import AgeError, X25519Recipient
from privacy.secrets import ServerSecret, load_or_create
from storage import RedisTarget
from storage.keys import DEFAULT_TIPLINE, KeySpace, validate_tipline_name

from .errors import ConfigError
from .tiplines import TiplineConfig, load_tiplines

__all__ = [
    "ConfigError",
    "RecipientsProvider",
    "Settings",
    "parse_recipients_text",
    "secret_from_env",
]

log = logging.getLogger(__name__)


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
    return _read_secret_file(f"{name}_FILE", Path(path))


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
    #: The tipline served or reviewed: its keys, its subkey of the server secret.
    tipline: str = field(default=DEFAULT_TIPLINE)
    #: The bot token's file named by the settings file (None: the environment's).
    token_file: Path | None = field(default=None)
    #: The languages the settings file offers (None: all the questionnaire's).
    languages: tuple[str, ...] | None = field(default=None)

    @property
    def keys(self) -> KeySpace:
        """Where this tipline's keys live in Redis."""
        return KeySpace(self.tipline)

    @property
    def spool_dir(self) -> Path:
        """This tipline's spool: never another's, or its tips would be pushed into the
        wrong queue when two tiplines share a data directory."""
        if self.tipline == DEFAULT_TIPLINE:
            return self.data_dir / "spool"
        return self.data_dir / "tiplines" / self.tipline / "spool"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, tipline: str | None = None
    ) -> Settings:
        """The settings of the environment; of the tipline ``tipline`` (else
        ``TIPLINE_NAME``) when several are configured (``TIPLINE_CONFIG``)."""
        env = os.environ if env is None else env
        name = tipline or env.get("TIPLINE_NAME") or None
        if name is not None:
            try:
                validate_tipline_name(name)
            except ValueError as exc:
                raise ConfigError(str(exc)) from exc
        config = env.get("TIPLINE_CONFIG")
        if config:
            return cls._from_config(env, Path(config), name)
        settings = cls._from_env(env)
        return settings if name is None else replace(settings, tipline=name)

    @classmethod
    def _from_config(cls, env: Mapping[str, str], path: Path, name: str | None) -> Settings:
        tiplines = load_tiplines(path)
        names = ", ".join(tiplines)
        if name is None:
            if len(tiplines) > 1:
                raise ConfigError(
                    f"TIPLINE_CONFIG names several tiplines ({names}): choose one with "
                    "--tipline NAME (or TIPLINE_NAME)"
                )
            name = next(iter(tiplines))
        if name not in tiplines:
            raise ConfigError(f"no tipline {name!r} in TIPLINE_CONFIG (it names {names})")
        mixed = [
            variable
            for variable in _PER_TIPLINE
            if env.get(variable) or env.get(f"{variable}_FILE")
        ]
        if mixed:
            # Which tipline would they belong to? A stray one would send a tipline's
            # tips to another organisation's reviewers, or its tipsters to another bot.
            raise ConfigError(
                f"TIPLINE_CONFIG names each tipline's own settings: unset "
                f"{', '.join(mixed)} (and their _FILE forms)"
            )
        try:
            return _apply(cls._from_env(env), tiplines[name])
        except ConfigError as exc:
            raise ConfigError(f"tipline {name!r}: {exc}") from exc

    @classmethod
    def _from_env(cls, env: Mapping[str, str]) -> Settings:
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
        """This tipline's secret: the server secret itself for the default tipline, its
        subkey for the tipline's name for any other (:meth:`ServerSecret.scoped`)."""
        try:
            if self.secret_text:
                secret = ServerSecret.from_text(self.secret_text)
            elif self.secret_file:
                secret = ServerSecret.from_text(self.secret_file.read_text("utf-8"))
            else:
                secret = load_or_create(self.data_dir / "server.secret")
        except (OSError, ValueError) as exc:
            raise ConfigError(f"server secret: {exc}") from exc
        return secret if self.tipline == DEFAULT_TIPLINE else secret.scoped(self.tipline)

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
                where = (
                    "TIPLINE_QUESTIONNAIRE"
                    if self.tipline == DEFAULT_TIPLINE
                    else (f"tipline {self.tipline!r}: questionnaire")
                )
                raise ConfigError(f"cannot read {where}: {exc}") from exc
        try:
            questionnaire = parse_questionnaire(text)
        except ValueError as exc:
            raise ConfigError(f"questionnaire: {exc}") from exc
        if self.languages is None:
            return questionnaire
        missing = [lang for lang in self.languages if lang not in questionnaire.languages]
        if missing:
            raise ConfigError(
                f"tipline {self.tipline!r}: languages {', '.join(missing)} are not in its "
                f"questionnaire (it has {', '.join(questionnaire.languages)})"
            )
        default = (
            questionnaire.default_language
            if questionnaire.default_language in self.languages
            else self.languages[0]
        )
        return replace(questionnaire, languages=self.languages, default_language=default)


#: Variables that configure one tipline; with TIPLINE_CONFIG its file does.
_PER_TIPLINE = (
    "TIPLINE_RECIPIENTS",
    "TIPLINE_QUESTIONNAIRE",
    "TELEGRAM_BOT_TOKEN",
)


def _read_secret_file(what: str, path: Path) -> str:
    try:
        text = path.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"cannot read {what} ({path}): {reason}") from exc
    if not text:
        raise ConfigError(f"{what} ({path}) is an empty file")
    return text


def _login(
    target: RedisTarget | None, username: str | None, password_file: Path | None, what: str
) -> RedisTarget | None:
    """``target`` logging in as the tipline's own user, when it names one."""
    if username is None and password_file is None:
        return target
    if target is None:
        raise ConfigError(
            f"{what}_username and _password_file need a Redis server to log in to "
            f"({'REDIS_URL' if what == 'redis' else 'REDIS_EPHEMERAL_URL'} or Sentinel), not "
            "the embedded one"
        )
    password = (
        None
        if password_file is None
        else _read_secret_file(f"{what}_password_file", password_file)
    )
    return replace(
        target,
        username=username if username is not None else target.username,
        password=password if password is not None else target.password,
    )


def _apply(settings: Settings, tipline: TiplineConfig) -> Settings:
    """``settings`` (from the environment) for the tipline of the settings file."""
    recipients = tipline.recipients
    if tipline.recipients_file is not None:
        try:
            recipients += "\n" + tipline.recipients_file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(
                f"cannot read recipients_file ({tipline.recipients_file}): {reason}"
            ) from exc
    parse_recipients_text(recipients)  # a malformed or missing recipient: said now
    return replace(
        settings,
        tipline=tipline.name,
        recipients_text=recipients,
        fixed_recipients_text=tipline.recipients,
        recipients_file=tipline.recipients_file,
        questionnaire_file=tipline.questionnaire_file,
        languages=tipline.languages,
        token_file=tipline.token_file,
        redis=_login(
            settings.redis,
            tipline.redis_username,
            tipline.redis_password_file,
            "redis",
        ),
        ephemeral_redis=_login(
            settings.ephemeral_redis,
            tipline.redis_ephemeral_username,
            tipline.redis_ephemeral_password_file,
            "redis_ephemeral",
        ),
    )


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
