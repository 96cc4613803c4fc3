"""The settings file of a deployment that runs several tiplines (``TIPLINE_CONFIG``).

One file names each tipline (a bot of its own, reviewers of its own) by a short name::

    tiplines:
      wildleaks:
        token_file: secrets/wildleaks_token         # required: this tipline's bot token
        recipients_file: recipients/wildleaks.txt   # and/or recipients: [age1..., ...]
        questionnaire: questionnaires/wildleaks.yaml  # optional: the default one
        languages: [en, fr, sw]                     # optional: a subset to offer
        redis_username: tipline-wildleaks-bot       # optional: this tipline's own
        redis_password_file: secrets/redis_wildleaks_bot     # Redis users
        redis_ephemeral_username: tipline-wildleaks-bot
        redis_ephemeral_password_file: secrets/redis_wildleaks_ephemeral
      forest-watch:
        token_file: secrets/forest_watch_token
        recipients: [age1...]

Relative paths are relative to the file's own directory. Only the structure is checked
here; the files a tipline names are read when that tipline is used (a bot's container
holds its own secrets only, not those of the other tiplines). Unknown keys, a name
given twice (YAML would silently keep the last), bad names and wrong types are refused
with the line to fix. See docs/deploy.md, "Several tiplines on one deployment".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from storage.keys import validate_tipline_name

from .errors import ConfigError

__all__ = ["TiplineConfig", "load_tiplines", "parse_tiplines"]

_LANGUAGE = re.compile(r"[a-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*")
_USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_FILES = (
    "token_file",
    "recipients_file",
    "questionnaire",
    "redis_password_file",
    "redis_ephemeral_password_file",
)
_KEYS = frozenset(
    {*_FILES, "recipients", "languages", "redis_username", "redis_ephemeral_username"}
)


@dataclass(frozen=True)
class TiplineConfig:
    """One tipline of the settings file (paths made absolute)."""

    name: str
    token_file: Path
    #: Recipients given in the file itself (``age1...`` separated by newlines).
    recipients: str
    recipients_file: Path | None
    questionnaire_file: Path | None
    languages: tuple[str, ...] | None
    redis_username: str | None
    redis_password_file: Path | None
    redis_ephemeral_username: str | None
    redis_ephemeral_password_file: Path | None


class _Loader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            twice = key in seen
        except TypeError:
            raise ConfigError(f"line {key_node.start_mark.line + 1}: a key must be text") from None
        if twice:
            raise ConfigError(f"line {key_node.start_mark.line + 1}: {key!r} is given twice")
        seen.add(key)
    loader.flatten_mapping(node)
    return dict(loader.construct_pairs(node, deep=True))


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_tiplines(path: Path) -> dict[str, TiplineConfig]:
    """The tiplines of the settings file at ``path``; ConfigError naming what to fix."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"cannot read TIPLINE_CONFIG ({path}): {reason}") from exc
    try:
        return parse_tiplines(text, path.parent)
    except ConfigError as exc:
        raise ConfigError(f"TIPLINE_CONFIG ({path}): {exc}") from exc


def parse_tiplines(text: str, base: Path) -> dict[str, TiplineConfig]:
    """The tiplines of a settings file's ``text``; relative paths are taken from ``base``."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or set(data) != {"tiplines"}:
        raise ConfigError("the file must hold one mapping, 'tiplines:', of name: settings")
    entries = data["tiplines"]
    if not isinstance(entries, dict) or not entries:
        raise ConfigError("'tiplines' must map each tipline's name to its settings")
    found: dict[str, TiplineConfig] = {}
    for name, entry in entries.items():
        if not isinstance(name, str):
            raise ConfigError(f"tipline name {name!r} must be text (quote it)")
        try:
            validate_tipline_name(name)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        try:
            found[name] = _entry(name, entry, base)
        except ConfigError as exc:
            raise ConfigError(f"tipline {name!r}: {exc}") from exc
    return found


def _entry(name: str, entry: object, base: Path) -> TiplineConfig:
    if not isinstance(entry, dict):
        raise ConfigError("its settings must be a mapping (token_file: ..., recipients: ...)")
    unknown = sorted(str(key) for key in entry if key not in _KEYS)
    if unknown:
        raise ConfigError(
            f"unknown setting {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})"
        )
    files: dict[str, Path | None] = {}
    for key in _FILES:
        value = entry.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{key} must be a file name")
        files[key] = None if value is None else base / value.strip()
    token_file = files["token_file"]
    if token_file is None:
        raise ConfigError("token_file is missing: the file holding this tipline's bot token")
    recipients = entry.get("recipients", [])
    if isinstance(recipients, str):
        recipients = [recipients]
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        raise ConfigError("recipients must be a list of age1... recipients")
    if not recipients and files["recipients_file"] is None:
        raise ConfigError("no reviewer recipients: give recipients (age1...) or recipients_file")
    languages = entry.get("languages")
    if languages is not None:
        if (
            not isinstance(languages, list)
            or not languages
            or not all(isinstance(x, str) and _LANGUAGE.fullmatch(x) for x in languages)
        ):
            raise ConfigError("languages must be a non-empty list of codes like [en, fr]")
        if len(set(languages)) != len(languages):
            raise ConfigError("languages lists a language twice")
    usernames: dict[str, str | None] = {}
    for key in ("redis_username", "redis_ephemeral_username"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, str) or not _USERNAME.fullmatch(value)):
            raise ConfigError(f"{key} must be a Redis user name (letters, digits, - _ .)")
        usernames[key] = value
    return TiplineConfig(
        name=name,
        token_file=token_file,
        recipients="\n".join(recipients),
        recipients_file=files["recipients_file"],
        questionnaire_file=files["questionnaire"],
        languages=None if languages is None else tuple(languages),
        redis_username=usernames["redis_username"],
        redis_password_file=files["redis_password_file"],
        redis_ephemeral_username=usernames["redis_ephemeral_username"],
        redis_ephemeral_password_file=files["redis_ephemeral_password_file"],
    )
