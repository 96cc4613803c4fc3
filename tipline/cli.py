"""The ``tipline`` command."""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from bots.console import ConsoleChannel
from privacy import (
    AgeError,
    NoIdentityMatchError,
    X25519Identity,
    X25519Recipient,
    decrypt,
    encrypt,
    read_identity_file,
    write_identity_file,
)
from review.render import render_tip
from storage import StorageError
from storage.followup import FollowupStore

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


# ----------------------------------------------------------------------------- review
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


@main.group()
def review() -> None:
    """Reviewer tools: claim, decrypt locally, acknowledge."""


@review.command("next")
@click.option(
    "--identity",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Your age identity file (or TIPLINE_IDENTITY).",
)
@click.option("--reviewer", default=None, help="Your name in the queue (default: login name).")
@click.option("--json", "as_json", is_flag=True, help="Print the decrypted transcript as JSON.")
def review_next(identity: Path | None, reviewer: str | None, as_json: bool) -> None:
    """Claim the next tip, decrypt it on this machine and show it."""
    identities = _identities(identity)
    settings = _settings()
    consumer = reviewer or os.environ.get("TIPLINE_REVIEWER") or getpass.getuser()

    async def claim() -> tuple[str, bytes, int] | None:
        async with open_runtime(settings) as runtime:
            tip = await runtime.queue.claim_next(consumer)
            return None if tip is None else (tip.case_id, tip.sealed, len(tip.attachments))

    claimed = _run(claim())
    if claimed is None:
        click.echo("No tip is waiting.")
        return
    case_id, sealed, attachments = claimed
    try:
        transcript = json.loads(decrypt(sealed, identities))
    except NoIdentityMatchError as exc:
        raise _fail(f"case {case_id} is not sealed to this identity") from exc
    except (AgeError, ValueError) as exc:
        raise _fail(f"case {case_id} cannot be opened: {exc}") from exc
    if as_json:
        click.echo(json.dumps(transcript, ensure_ascii=False, indent=2))
    else:
        click.echo(render_tip(transcript, offered_questionnaire(settings), attachments))
        click.echo(f"\nWhen you are done: tipline review ack {case_id}")


@review.command("ask")
@click.argument("case_id")
@click.argument("question")
def review_ask(case_id: str, question: str) -> None:
    """Leave a question for the tipster of a case (who asked for follow-up). It is sealed
    to the key only the tipster's receipt code opens; the tipster reads it with /followup."""
    settings = _settings()
    text = question.strip()
    if not text:
        raise _fail("the question is empty")

    async def ask() -> int:
        async with open_runtime(settings) as runtime:
            store = FollowupStore(runtime.client)
            try:
                recipient = await store.recipient(case_id)
            except ValueError as exc:
                raise _fail(str(exc)) from exc
            if recipient is None:
                raise _fail(f"the tipster of {case_id} did not ask for follow-up")
            sealed = encrypt(text.encode("utf-8"), [X25519Recipient.parse(recipient)])
            return await store.ask(case_id, sealed)

    waiting = _run(ask())
    click.echo(f"Question left for {case_id} ({waiting} waiting in all).")


@review.command("thread")
@click.argument("case_id")
@click.option(
    "--identity",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Your age identity file (or TIPLINE_IDENTITY).",
)
def review_thread(case_id: str, identity: Path | None) -> None:
    """Show the tipster's follow-up answers for a case, decrypted on this machine."""
    identities = _identities(identity)
    settings = _settings()

    async def answers() -> tuple[int, list[bytes]]:
        async with open_runtime(settings) as runtime:
            store = FollowupStore(runtime.client)
            try:
                return len(await store.questions(case_id)), await store.answers(case_id)
            except ValueError as exc:
                raise _fail(str(exc)) from exc

    asked, sealed = _run(answers())
    click.echo(f"Case {case_id}: {asked} question(s) asked, {len(sealed)} answer(s).")
    for number, blob in enumerate(sealed, start=1):
        try:
            doc = json.loads(decrypt(blob, identities))
        except (AgeError, ValueError) as exc:
            click.echo(f"  answer {number}: cannot be opened ({exc})")
            continue
        click.echo(
            f"  answer {number}, received {doc.get('received_on')} ({doc.get('language')}):"
        )
        for line in str(doc.get("text", "")).splitlines():
            click.echo(f"    {line}")


@review.command("ack")
@click.argument("case_id")
def review_ack(case_id: str) -> None:
    """Acknowledge a tip: it leaves the pending list. Safe to repeat."""
    settings = _settings()

    async def ack() -> bool:
        async with open_runtime(settings) as runtime:
            try:
                return await runtime.queue.ack(case_id)
            except ValueError as exc:
                raise _fail(str(exc)) from exc

    done = _run(ack())
    click.echo(f"Acknowledged {case_id}." if done else f"Nothing to acknowledge for {case_id}.")


for _command in discovered():
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
