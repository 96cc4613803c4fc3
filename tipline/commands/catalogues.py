"""``tipline catalogues check``: what a translator runs before sending a catalogue."""

from __future__ import annotations

import click

from tipline.catalogues import check_all
from tipline.cli_support import settings, tipline_option
from tipline.settings import ConfigError

__all__ = ["command"]


@click.group("catalogues")
def command() -> None:
    """The gettext catalogues of the supported languages."""


@command.command("check")
@click.option("--lang", "langs", multiple=True, help="Only these languages (repeatable).")
def check(langs: tuple[str, ...]) -> None:
    """List every problem of the catalogues; exit 1 if there is any."""
    try:
        questionnaire = settings().questionnaire()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    locales = langs or questionnaire.languages
    problems = check_all(locales, questionnaire)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        raise SystemExit(1)
    click.echo(f"{len(locales)} languages checked: no problems.")


# A tipline's own questionnaire, when a deployment runs several (TIPLINE_CONFIG).
check.params.append(tipline_option())
