"""What every ``tipline`` subcommand shares: one way to fail, to read the settings, to
run a coroutine with storage errors explained, and to load reviewer identities."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from privacy import AgeError, X25519Identity, read_identity_file
from storage import StorageError

from .settings import ConfigError, Settings

__all__ = ["fail", "load_identities", "run", "settings"]

T = TypeVar("T")


def fail(message: str) -> click.ClickException:
    return click.ClickException(message)


def settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise fail(str(exc)) from exc


def run(coro: Coroutine[Any, Any, T], *explained: type[Exception]) -> T:
    """Run ``coro``; configuration and storage errors (and ``explained`` ones) become a
    clear message and a non-zero exit instead of a traceback."""
    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        raise fail(str(exc)) from exc
    except StorageError as exc:
        raise fail(f"storage: {exc}") from exc
    except explained as exc:
        raise fail(str(exc)) from exc


def load_identities(paths: Iterable[Path]) -> list[X25519Identity]:
    """Every identity of the files, each once; a clear message on an unreadable file."""
    found: list[X25519Identity] = []
    for path in paths:
        try:
            identities = read_identity_file(path)
        except OSError as exc:
            raise fail(f"cannot read identity file {path}: {exc.strerror}") from exc
        except (AgeError, ValueError) as exc:
            raise fail(f"identity file {path}: {exc}") from exc
        found += [i for i in identities if i not in found]
    return found
