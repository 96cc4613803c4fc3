"""``tipline desk``: the hotline operator desk in the browser, and its accounts.

``tipline desk [--host HOST] [--port PORT]`` serves the desk (default 127.0.0.1:8480)
until SIGTERM or Ctrl-C. It listens on loopback unless ``--allow-remote`` is given,
and then only over TLS (``--tls-cert`` and ``--tls-key``).

``tipline desk --role reviewer --identity FILE [--export-dir DIR]`` serves the reviewer
desk (default 127.0.0.1:8481) on the reviewer's own machine, on loopback only: it shows
decrypted tips, so it never listens on a network, not even over TLS (a reviewer on
another machine runs a desk there, with their own identity).

===========================  ==============================================================
``TIPLINE_DESK_IDLE``        minutes without a request after which a desk session ends
                             (default 30)
``TIPLINE_DESK_RECORD_OPERATOR``  ``yes`` to write the operator's account name into each
                             tip (``taken_by``); by default no operator is named
``TIPLINE_DESK_LOCK``        reviewer desk: minutes without a request after which the
                             identity is forgotten and the passphrase asked again
                             (default 10)
``TIPLINE_RECLAIM_AFTER``    reviewer desk: as for ``tipline review next`` (default 1h)
===========================  ==============================================================

``tipline desk users add NAME --role operator`` creates an account; the password is asked
twice on a terminal, or read from one line of standard input otherwise.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import sys
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import cast

import click

from privacy import X25519Recipient

from ..cli_support import fail, run, settings, stop_on_signals, tipline_option
from ..runtime import offered_questionnaire, open_runtime
from ..settings import ConfigError
from ..species_loader import load_catalogue
from .review import parse_duration

__all__ = ["command"]

DEFAULT_PORT = 8480
REVIEWER_PORT = 8481


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _idle(env: dict[str, str] | os._Environ[str]) -> timedelta:
    text = env.get("TIPLINE_DESK_IDLE", "30")
    if not text.isdigit() or not 1 <= int(text) <= 24 * 60:
        raise ConfigError("TIPLINE_DESK_IDLE must be a number of minutes from 1 to 1440")
    return timedelta(minutes=int(text))


def _lock(env: dict[str, str] | os._Environ[str]) -> timedelta:
    text = env.get("TIPLINE_DESK_LOCK", "10")
    if not text.isdigit() or not 1 <= int(text) <= 24 * 60:
        raise ConfigError("TIPLINE_DESK_LOCK must be a number of minutes from 1 to 1440")
    return timedelta(minutes=int(text))


def _record_operator(env: dict[str, str] | os._Environ[str]) -> bool:
    text = env.get("TIPLINE_DESK_RECORD_OPERATOR", "no").strip().lower()
    if text not in ("yes", "no", "true", "false", "1", "0", ""):
        raise ConfigError("TIPLINE_DESK_RECORD_OPERATOR must be yes or no")
    return text in ("yes", "true", "1")


def tls_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise click.UsageError("give both --tls-cert and --tls-key")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise fail(f"cannot use the TLS certificate and key: {exc}") from exc
    return context


def check_listen(host: str, allow_remote: bool, tls: ssl.SSLContext | None) -> None:
    """Loopback, or an explicit --allow-remote with TLS: refused plainly otherwise."""
    if _loopback(host):
        return
    if not allow_remote:
        raise click.UsageError(
            f"{host} is not a loopback address: the desk would be reachable from the "
            "network. Give --allow-remote with --tls-cert and --tls-key to do that, or "
            "keep the default 127.0.0.1 (and put the operators' machines on it through SSH)."
        )
    if tls is None:
        raise click.UsageError(
            f"the desk listens on {host} only over TLS: give --tls-cert and --tls-key "
            "(passwords and calls never cross a network in clear text)"
        )


@click.group("desk", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=None,
    type=click.IntRange(1, 65535),
    help=f"Port (default {DEFAULT_PORT}; the reviewer desk {REVIEWER_PORT}).",
)
@click.option(
    "--role",
    type=click.Choice(["operator", "reviewer"]),
    default="operator",
    show_default=True,
    help="Which desk: the hotline operators' (intake side) or a reviewer's (own machine).",
)
@click.option(
    "--identity",
    "identity_file",
    envvar="TIPLINE_IDENTITY",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Reviewer desk: your age identity file (plain, or protected by a passphrase).",
)
@click.option(
    "--export-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="TIPLINE_EXPORT_DIR",
    help="Reviewer desk: exports go into new folders here (unset: no export).",
)
@click.option(
    "--lang",
    envvar="TIPLINE_REVIEW_LANG",
    default="en",
    show_default=True,
    help="Reviewer desk: your language for labels, dates and names.",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a non-loopback --host (needs --tls-cert and --tls-key).",
)
@click.option("--tls-cert", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--tls-key", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_context
def command(
    ctx: click.Context,
    host: str,
    port: int | None,
    role: str,
    identity_file: Path | None,
    export_dir: Path | None,
    lang: str,
    allow_remote: bool,
    tls_cert: Path | None,
    tls_key: Path | None,
) -> None:
    """The hotline operator desk, or a reviewer's desk, in the browser (and their
    accounts: `desk users`)."""
    if ctx.invoked_subcommand is not None:
        return
    if role == "reviewer":
        if tls_cert is not None or tls_key is not None:
            raise click.UsageError(
                "the reviewer desk listens on loopback only and has no TLS (its pages never "
                "cross a network); leave out --tls-cert and --tls-key"
            )
        _serve_reviewer(host, port or REVIEWER_PORT, identity_file, export_dir, lang, allow_remote)
        return
    port = port or DEFAULT_PORT
    tls = tls_context(tls_cert, tls_key)
    check_listen(host, allow_remote, tls)
    current = settings()
    try:
        questionnaire = offered_questionnaire(current)
        current.recipients()
        idle = _idle(os.environ)
        record_operator = _record_operator(os.environ)
    except ConfigError as exc:
        raise fail(str(exc)) from exc

    async def serve() -> None:
        from aiohttp import web

        from desk import Accounts, DeskConfig, Hotline, create_app

        stop = stop_on_signals()
        async with open_runtime(current) as runtime:
            assert runtime.ephemeral is not None
            app = create_app(
                hotline=Hotline(runtime.intake("hotline", questionnaire), questionnaire),
                accounts=Accounts(runtime.client, prefix=current.keys.desk),
                ephemeral=runtime.ephemeral,
                config=DeskConfig(tls=tls is not None, idle=idle, record_operator=record_operator),
                draft_ttl=current.draft_ttl,
                keys=current.keys,
            )
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            try:
                site = web.TCPSite(runner, host.strip("[]"), port, ssl_context=tls)
                await site.start()
                scheme = "https" if tls else "http"
                shown = f"[{host.strip('[]')}]" if ":" in host else host
                click.echo(f"desk: serving on {scheme}://{shown}:{port}/", err=True)
                await stop.wait()
            finally:
                await runner.cleanup()

    run(serve(), OSError)


def _serve_reviewer(
    host: str,
    port: int,
    identity_file: Path | None,
    export_dir: Path | None,
    lang: str,
    allow_remote: bool,
) -> None:
    """The reviewer desk: loopback only, the identity read here and kept in memory."""
    if allow_remote or not _loopback(host):
        raise click.UsageError(
            "the reviewer desk shows decrypted tips and listens on loopback only "
            "(127.0.0.1 or ::1), even with TLS: decryption stays on this machine. A "
            "reviewer on another machine runs a desk there, with their own identity."
        )
    if identity_file is None:
        raise click.UsageError("the reviewer desk needs --identity FILE (your age identity file)")
    try:
        raw = identity_file.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read identity file {identity_file}: {exc.strerror}") from exc
    current = settings()
    try:
        questionnaire = current.questionnaire()
        idle = _idle(os.environ)
        lock = _lock(os.environ)
    except ConfigError as exc:
        raise fail(str(exc)) from exc
    try:  # as `tipline review next` takes it
        reclaim_after = parse_duration(os.environ.get("TIPLINE_RECLAIM_AFTER", "1h"))
    except ValueError as exc:
        raise fail(f"TIPLINE_RECLAIM_AFTER: {exc}") from exc
    recipients: tuple[X25519Recipient, ...] = ()
    with suppress(ConfigError):
        recipients = tuple(current.recipients())

    from desk.reviewer import Keyring, ReviewerConfig, create_reviewer_app
    from privacy import AgeError

    try:
        keyring = Keyring(raw, str(identity_file), lock_after=lock)
    except (AgeError, ValueError) as exc:
        raise fail(f"identity file {identity_file}: {exc}") from exc
    if export_dir is not None:
        export_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    species = None
    with suppress(ValueError, OSError):
        species = load_catalogue()

    async def serve() -> None:
        from aiohttp import web

        from desk import DeskConfig

        stop = stop_on_signals()
        async with open_runtime(current) as runtime:
            assert runtime.ephemeral is not None
            app = create_reviewer_app(
                queue=runtime.queue,
                keys=current.keys,
                durable=runtime.client,
                ephemeral=runtime.ephemeral,
                keyring=keyring,
                questionnaire=questionnaire,
                species=species,
                config=ReviewerConfig(
                    lock_after=lock,
                    reclaim_after=reclaim_after,
                    export_dir=export_dir,
                    lang=lang,
                    recipients=recipients,
                    desk=DeskConfig(idle=idle),
                ),
            )
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            try:
                site = web.TCPSite(runner, host.strip("[]"), port)
                await site.start()
                shown = f"[{host.strip('[]')}]" if ":" in host else host
                state = "protected: the page asks" if keyring.protected else "plain"
                click.echo(
                    f"reviewer desk: serving on http://{shown}:{port}/ (identity {state})",
                    err=True,
                )
                await stop.wait()
            finally:
                await runner.cleanup()

    run(serve(), OSError)


# ----------------------------------------------------------------------------- accounts
@command.group("users")
def users() -> None:
    """Desk accounts (kept in Redis; passwords only as Argon2id hashes)."""


def _password(prompt: str) -> str:
    """Asked twice on a terminal; one line of standard input otherwise."""
    if sys.stdin.isatty():
        value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=True)
        return value
    line = sys.stdin.readline()
    if not line:
        raise fail("no password on standard input (one line is read)")
    return line.rstrip("\r\n")


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["operator", "reviewer"]), required=True)
@click.option("--lang", default="en", show_default=True, help="The account's own language.")
def users_add(name: str, role: str, lang: str) -> None:
    """Create an account."""
    from desk import AccountError, Accounts, Role
    from desk.accounts import check_password, valid_name

    if not valid_name(name):
        raise fail("an account name is 1 to 32 lowercase letters, digits, '.', '_' or '-'")
    password = _password(f"Password for {name}")
    try:
        check_password(password)
    except AccountError as exc:
        raise fail(str(exc)) from exc

    async def add() -> None:
        current = settings()
        async with open_runtime(current, intake=False) as runtime:
            await Accounts(runtime.client, prefix=current.keys.desk).add(
                name, cast(Role, role), password, lang=lang
            )

    run(add(), AccountError)
    click.echo(f"account {name} ({role}) created", err=True)


@users.command("list")
def users_list() -> None:
    """Every account, its role, and whether it is disabled."""
    from desk import Accounts

    async def show() -> None:
        current = settings()
        async with open_runtime(current, intake=False) as runtime:
            accounts = Accounts(runtime.client, prefix=current.keys.desk)
            for name in await accounts.names():
                account = await accounts.get(name)
                if account is not None:
                    state = "disabled" if account.disabled else "active"
                    click.echo(f"{name}\t{account.role}\t{state}")

    run(show())


@users.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
def users_disable(name: str, enable: bool) -> None:
    """Disable an account (its sessions end at once)."""
    from desk import AccountError, Accounts

    async def change() -> None:
        current = settings()
        async with open_runtime(current, intake=False) as runtime:
            await Accounts(runtime.client, prefix=current.keys.desk).set_disabled(name, not enable)

    run(change(), AccountError)
    click.echo(f"account {name} {'enabled' if enable else 'disabled'}", err=True)


@users.command("reset-password")
@click.argument("name")
def users_reset_password(name: str) -> None:
    """Set a new password (the account's sessions end)."""
    from desk import AccountError, Accounts
    from desk.accounts import check_password

    password = _password(f"New password for {name}")
    try:
        check_password(password)
    except AccountError as exc:
        raise fail(str(exc)) from exc

    async def change() -> None:
        current = settings()
        async with open_runtime(current, intake=False) as runtime:
            await Accounts(runtime.client, prefix=current.keys.desk).set_password(name, password)

    run(change(), AccountError)
    click.echo(f"password of {name} changed", err=True)


# The desk and its accounts belong to one tipline: ``--tipline NAME`` (or TIPLINE_NAME)
# when a deployment runs several (`tipline desk --tipline NAME users add ...` or
# `tipline desk users add ... --tipline NAME`).
command.params.append(tipline_option())
for _subcommand in users.commands.values():
    _subcommand.params.append(tipline_option())
