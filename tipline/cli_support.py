"""What every ``tipline`` subcommand shares: one way to fail, to read the settings, to
run a coroutine with storage errors explained, and to load reviewer identities."""

from __future__ import annotations

import asyncio
import getpass
import signal
import sys
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from privacy import (
    AgeError,
    PassphraseRequired,
    WrongPassphraseError,
    X25519Identity,
    identity_file_protected,
    parse_identity_file,
)
from storage import StorageError

from .settings import ConfigError, Settings

__all__ = [
    "MIN_PASSPHRASE_LENGTH",
    "fail",
    "load_identities",
    "new_passphrase",
    "run",
    "settings",
    "stop_on_signals",
    "tipline_option",
]

#: A passphrase that guards a reviewer's identity file is stretched with scrypt, but a
#: stolen file can be attacked offline: ask for a long one.
MIN_PASSPHRASE_LENGTH = 12

T = TypeVar("T")


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT, for a long-running command to stop cleanly
    (call it inside the running event loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def fail(message: str) -> click.ClickException:
    return click.ClickException(message)


#: Where ``--tipline`` leaves its value, in the command's context.
_TIPLINE = "tipline.name"


def _choose_tipline(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    # A group and its subcommand may both have the option: one given on the command
    # line wins over TIPLINE_NAME, which either of them may have read.
    given = ctx.get_parameter_source(param.name or "") is click.core.ParameterSource.COMMANDLINE
    if value is not None and (given or _TIPLINE not in ctx.meta):
        ctx.meta[_TIPLINE] = value


def tipline_option() -> click.Option:
    """``--tipline NAME`` (or ``TIPLINE_NAME``): the tipline whose keys a command uses,
    when a deployment runs several; :func:`settings` then gives that tipline's."""
    return click.Option(
        ["--tipline"],
        envvar="TIPLINE_NAME",
        metavar="NAME",
        expose_value=False,
        callback=_choose_tipline,
        help="The tipline to use, when several share the Redis (or TIPLINE_NAME).",
    )


def settings() -> Settings:
    """The settings, of the tipline chosen with ``--tipline`` if the command has it."""
    ctx = click.get_current_context(silent=True)
    tipline = None if ctx is None else ctx.meta.get(_TIPLINE)
    try:
        return Settings.from_env(tipline=tipline)
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


def _stdin_line(what: str) -> str:
    line = sys.stdin.readline()
    if not line:
        raise fail(f"no {what} on standard input (one line is read)")
    return line.rstrip("\r\n")


def new_passphrase() -> str:
    """A new passphrase: asked twice on a terminal, one line of standard input otherwise."""
    if sys.stdin.isatty():
        value: str = click.prompt(
            "Passphrase for the identity file", hide_input=True, confirmation_prompt=True
        )
    else:
        value = _stdin_line("passphrase")
    if len(value) < MIN_PASSPHRASE_LENGTH:
        raise fail(f"a passphrase needs at least {MIN_PASSPHRASE_LENGTH} characters")
    return value


def _passphrase_for(path: Path) -> str:
    """Asked on the terminal; one line of standard input when there is none."""
    if sys.stdin.isatty():
        return getpass.getpass(f"Passphrase for identity file {path}: ")
    return _stdin_line(f"passphrase for {path}")


def load_identities(paths: Iterable[Path]) -> list[X25519Identity]:
    """Every identity of the files, each once; a clear message on an unreadable file.
    A file protected by a passphrase asks for it (see :func:`_passphrase_for`)."""
    found: list[X25519Identity] = []
    for path in paths:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise fail(f"cannot read identity file {path}: {exc.strerror}") from exc
        try:
            asked = _passphrase_for(path) if identity_file_protected(raw) else None
            identities = parse_identity_file(raw, passphrase=asked, name=str(path))
        except (WrongPassphraseError, PassphraseRequired) as exc:
            raise fail(str(exc)) from exc
        except (AgeError, ValueError) as exc:
            raise fail(f"identity file {path}: {exc}") from exc
        found += [i for i in identities if i not in found]
    return found
