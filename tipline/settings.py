"""Settings from the environment (and files it points to).

==========================  ==================================================================
``REDIS_URL``               Redis to use; unset: an embedded Redis in the data directory
``TIPLINE_DATA_DIR``        data directory (embedded Redis, spool, server secret);
                            default ``$XDG_DATA_HOME/tipline`` (``~/.local/share/tipline``)
``TIPLINE_RECIPIENTS``      reviewers' age recipients (``age1...``), separated by spaces,
                            commas or newlines
``TIPLINE_RECIPIENTS_FILE`` a recipients file (one ``age1...`` a line, ``#`` comments)
``TIPLINE_SECRET``          the server secret (as written by ``tipline secret generate``);
                            unset: ``<data dir>/server.secret``, created on first use
``TIPLINE_SECRET_FILE``     a file holding the server secret
``TIPLINE_QUESTIONNAIRE``   a questionnaire file to use instead of the default
``TIPLINE_DRAFT_TTL``       idle time after which a draft expires, in seconds (default 86400)
==========================  ==================================================================
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path

from conversations import Questionnaire, parse_questionnaire
from privacy import AgeError, X25519Recipient
from privacy.secrets import ServerSecret, load_or_create

__all__ = ["ConfigError", "Settings"]


class ConfigError(Exception):
    """The configuration is incomplete or wrong; the message tells the admin what to fix."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    redis_url: str | None
    recipients_text: str
    secret_text: str | None
    secret_file: Path | None
    questionnaire_file: Path | None
    draft_ttl: timedelta

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        data_dir = Path(env.get("TIPLINE_DATA_DIR") or Path(data_home) / "tipline")
        recipients = env.get("TIPLINE_RECIPIENTS", "")
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
        return cls(
            data_dir=data_dir,
            redis_url=env.get("REDIS_URL") or None,
            recipients_text=recipients,
            secret_text=env.get("TIPLINE_SECRET") or None,
            secret_file=Path(secret_file) if secret_file else None,
            questionnaire_file=Path(questionnaire) if questionnaire else None,
            draft_ttl=timedelta(seconds=int(ttl_text)),
        )

    def recipients(self) -> list[X25519Recipient]:
        """The reviewers' recipients; an intake without any refuses to start."""
        found: list[X25519Recipient] = []
        for line in self.recipients_text.splitlines():
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
