"""The ``tipline`` command."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from bots.console import ConsoleChannel
from privacy import (
    X25519Identity,
    write_identity_file,
)
from privacy.age import DEFAULT_WORK_FACTOR, MAX_WORK_FACTOR

from .cli_support import fail as _fail
from .cli_support import load_identities, new_passphrase, tipline_option
from .cli_support import run as _run
from .cli_support import settings as _settings
from .commands import discovered
from .runtime import offered_questionnaire, open_runtime
from .settings import ConfigError

__all__ = ["main"]


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more (never identities or answers).")
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A settings file naming several tiplines (or TIPLINE_CONFIG).",
)
def main(verbose: bool, config: Path | None) -> None:
    """Tipline: secure, multilingual tip intake for wildlife and forest crime."""
    if config is not None:
        # Through the environment, as TIPLINE_CONFIG: read by the settings, and passed
        # on to the processes a command starts (the webhook workers).
        os.environ["TIPLINE_CONFIG"] = str(config.resolve())
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


console.params.append(tipline_option())  # a hotline takes calls for one tipline


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
@click.option(
    "--passphrase",
    is_flag=True,
    help="Protect the file with a passphrase (age's own format: `age -d -i FILE` asks "
    "for it). Asked twice on a terminal, else read from one line of standard input.",
)
@click.option(
    "--work-factor",
    type=click.IntRange(10, MAX_WORK_FACTOR),
    default=DEFAULT_WORK_FACTOR,
    show_default=True,
    help="With --passphrase: scrypt's log2 N (the stock age tool uses 18).",
)
def keys_generate(out: Path, passphrase: bool, work_factor: int) -> None:
    """Write a new reviewer identity file and print its age1... recipient.

    Run this on the reviewer's own machine: the identity never goes to the bot host.
    """
    identity = X25519Identity.generate()
    secret = new_passphrase() if passphrase else None
    try:
        write_identity_file(out, identity, passphrase=secret, work_factor=work_factor)
    except FileExistsError as exc:
        raise _fail(f"{out} exists already; refusing to overwrite a key") from exc
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror}") from exc
    click.echo(str(identity.recipient))
    click.echo(
        f"Identity written to {out} (owner-only"
        + (", protected by your passphrase" if secret else "")
        + "). Give the bot host only the recipient "
        "above (TIPLINE_RECIPIENTS); keep the identity file on this machine and back it up.",
        err=True,
    )


@keys.command("recipient")
@click.argument("identity_file", type=click.Path(path_type=Path, dir_okay=False))
def keys_recipient(identity_file: Path) -> None:
    """Print the age1... recipient of each identity in an identity file."""
    for identity in load_identities([identity_file]):
        click.echo(str(identity.recipient))


for _command in discovered():
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
