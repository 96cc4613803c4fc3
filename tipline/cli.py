"""The ``tipline`` command."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from bots.console import ConsoleChannel
from privacy import (
    AgeError,
    X25519Identity,
    read_identity_file,
    write_identity_file,
)
from storage import StorageError

from .commands import discovered
from .runtime import offered_questionnaire, open_runtime
from .settings import ConfigError, Settings

__all__ = ["main"]


def _fail(message: str) -> click.ClickException:
    return click.ClickException(message)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise _fail(str(exc)) from exc


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        raise _fail(str(exc)) from exc
    except StorageError as exc:
        raise _fail(f"storage: {exc}") from exc


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more (never identities or answers).")
def main(verbose: bool) -> None:
    """Tipline: secure, multilingual tip intake for wildlife and forest crime."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


# ----------------------------------------------------------------------------- console
@main.command()
@click.option("--lang", help="Conversation language (skips the language question).")
@click.option(
    "--followup",
    is_flag=True,
    help="Check for reviewers' questions with a receipt code instead of reporting.",
)
def console(lang: str | None, followup: bool) -> None:
    """Run the intake as a terminal chat (reads one answer a line when piped)."""
    settings = _settings()
    try:
        questionnaire = offered_questionnaire(settings)
        settings.recipients()
    except ConfigError as exc:
        raise _fail(str(exc)) from exc
    if lang is not None and lang not in questionnaire.languages:
        raise click.BadParameter(
            f"{lang!r} is not available; choose one of {', '.join(questionnaire.languages)}",
            param_hint="--lang",
        )

    async def session() -> int:
        async with open_runtime(settings) as runtime:
            intake = runtime.intake("console", questionnaire)
            return await ConsoleChannel(intake, questionnaire).run(lang, followup=followup)

    code = _run(session())
    sys.exit(code)


# ----------------------------------------------------------------------------- keys
@main.group()
def keys() -> None:
    """Reviewer keys (age X25519 identities)."""


@keys.command("generate")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="Where to write the identity file (must not exist).",
)
def keys_generate(out: Path) -> None:
    """Write a new reviewer identity file and print its age1... recipient.

    Run this on the reviewer's own machine: the identity never goes to the bot host.
    """
    identity = X25519Identity.generate()
    try:
        write_identity_file(out, identity)
    except FileExistsError as exc:
        raise _fail(f"{out} exists already; refusing to overwrite a key") from exc
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror}") from exc
    click.echo(str(identity.recipient))
    click.echo(
        f"Identity written to {out} (owner-only). Give the bot host only the recipient "
        "above (TIPLINE_RECIPIENTS); keep the identity file on this machine and back it up.",
        err=True,
    )


@keys.command("recipient")
@click.argument("identity_file", type=click.Path(path_type=Path, dir_okay=False))
def keys_recipient(identity_file: Path) -> None:
    """Print the age1... recipient of each identity in an identity file."""
    for identity in _identities(identity_file):
        click.echo(str(identity.recipient))


def _identities(path: Path | None) -> list[X25519Identity]:
    if path is None:
        env = os.environ.get("TIPLINE_IDENTITY")
        if not env:
            raise _fail("give --identity FILE (or set TIPLINE_IDENTITY)")
        path = Path(env)
    try:
        return read_identity_file(path)
    except OSError as exc:
        raise _fail(f"cannot read identity file {path}: {exc.strerror}") from exc
    except (AgeError, ValueError) as exc:
        raise _fail(f"identity file {path}: {exc}") from exc


for _command in discovered():
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
