"""``tipline review``: the reviewer's desk (docs/review.md).

Run on a reviewer's own machine, where the identity files live. Every subcommand is safe
to repeat. Identities: ``--identity FILE`` (repeatable: an old identity still opens old
tips) or ``TIPLINE_IDENTITY`` (files separated by ``:``).
"""

from __future__ import annotations

import getpass
import json
import os
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from babel import Locale, UnknownLocaleError

from bots.render import Renderer
from conversations import Questionnaire
from privacy import AgeFormatError, X25519Identity, X25519Recipient
from review.case import case_extras, export_to
from review.custody import CustodyEntry, CustodyLog, CustodyReport
from review.desk import (
    Desk,
    HighRisk,
    NextResult,
    NoFollowup,
    Stats,
    ThreadItem,
    UnknownCase,
    VerdictOutcome,
    utc_today,
)
from review.export import ExportedFile
from review.render import (
    SpeciesLookup,
    ViewOptions,
    category_question,
    clean,
    language_name,
    normalise_lang,
    option_label,
    print_view,
    thread_view,
    tip_view,
)
from review.share import Bundle, ShareError
from review.tip import OpenedTip, TipUnreadable
from review.verdicts import RISKS, VERDICTS, Verdict
from storage.custody import CustodyStore
from storage.queue import PendingEntry, entry_day, validate_case_id
from tipline import cli_support
from tipline.cli_support import fail as _fail
from tipline.cli_support import settings as _settings
from tipline.runtime import open_runtime
from tipline.settings import ConfigError, Settings
from tipline.species_loader import load_catalogue

__all__ = ["command", "parse_duration"]

T = TypeVar("T")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


# ----------------------------------------------------------------------------- helpers
def _run(coro: Coroutine[Any, Any, T]) -> T:
    return cli_support.run(coro, UnknownCase)


def _identities(paths: tuple[Path, ...], *, required: bool = True) -> list[X25519Identity]:
    if not paths and required:
        raise _fail("give --identity FILE (or set TIPLINE_IDENTITY)")
    return cli_support.load_identities(paths)


def _questionnaire(settings: Settings) -> Questionnaire:
    try:
        return settings.questionnaire()
    except ConfigError as exc:
        raise _fail(str(exc)) from exc


def _species() -> SpeciesLookup | None:
    """The species catalogue, for scientific names, CITES appendices and common names
    in the reviewer's language; without it species are shown as the tipster typed them."""
    try:
        return load_catalogue()
    except (ValueError, OSError) as exc:
        click.echo(f"note: species catalogue unavailable ({exc}); species as typed", err=True)
        return None


def parse_duration(text: str) -> timedelta:
    """Seconds, or a number with s, m, h or d (90s, 30m, 1h); ValueError otherwise."""
    found = _DURATION.fullmatch(str(text).strip().lower())
    if found is None:
        raise ValueError("use seconds, or a number with s, m, h or d (90s, 30m, 1h)")
    return timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2)])


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _lang(ctx: click.Context, param: click.Parameter, value: str) -> str:
    lang = normalise_lang(value)
    try:
        Locale.parse(lang)
    except (UnknownLocaleError, ValueError) as exc:
        raise click.BadParameter(f"{value!r} is not a language code like en or fr") from exc
    return lang


def _identity_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--identity",
        "identity_files",
        multiple=True,
        envvar="TIPLINE_IDENTITY",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Your age identity file; repeat it for old identities (or TIPLINE_IDENTITY). "
        "A passphrase-protected one asks for its passphrase.",
    )(f)


def _lang_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--lang",
        envvar="TIPLINE_REVIEW_LANG",
        default="en",
        show_default=True,
        callback=_lang,
        help="Your language for labels, dates and names (the tipster's words stay as written).",
    )(f)


def _reviewer_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--reviewer",
        envvar="TIPLINE_REVIEWER",
        default=None,
        help="Your name in the queue (or TIPLINE_REVIEWER; default: your login name).",
    )(f)


def _case(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return validate_case_id(value.strip())
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _optional_case(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value is None else _case(ctx, param, value)


def _case_argument(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.argument("case_id", callback=_case)(f)


def _reviewer(name: str | None) -> str:
    return name or getpass.getuser()


@asynccontextmanager
async def _desk(
    settings: Settings,
    identities: list[X25519Identity],
    reviewer: str,
    **options: Any,
) -> AsyncIterator[Desk]:
    async with open_runtime(settings, intake=False) as runtime:
        yield Desk(
            runtime.queue,
            identities,
            reviewer=reviewer,
            followups=runtime.followups(),
            custody=CustodyLog(
                CustodyStore(runtime.client, settings.keys.custody), identities, utc_today
            ),
            **options,
        )


#: A case's follow-up thread (None: none), its verdict, and whether a verdict exists that
#: these identities cannot open.
_Extras = tuple[tuple[int, list[ThreadItem]] | None, Verdict | None, bool]


async def _extras(desk: Desk, case_id: str) -> _Extras:
    """The case's follow-up thread (None if there is none) and verdict."""
    found = await case_extras(desk, case_id)
    return found.thread, found.verdict, found.verdict_unreadable


def _recipients(identities: list[X25519Identity]) -> list[X25519Recipient]:
    """Whom a reviewer seals to: the configured reviewers (TIPLINE_RECIPIENTS or
    TIPLINE_RECIPIENTS_FILE, when set on this machine) and the reviewer's own keys."""
    found: list[X25519Recipient] = []
    with suppress(ConfigError, click.ClickException):
        found += _settings().recipients()
    for identity in identities:
        if identity.recipient not in found:
            found.append(identity.recipient)
    return found


# ----------------------------------------------------------------------------- group
@click.group("review")
def command() -> None:
    """Reviewer tools: claim, decrypt on this machine, assess, export, follow up."""


@command.command("next")
@_identity_option
@_lang_option
@_reviewer_option
@click.option("--json", "as_json", is_flag=True, help="Print the decrypted transcript as JSON.")
@click.option("--map", "show_map", is_flag=True, help="Add a map link (it tells the map site).")
@click.option(
    "--reclaim-after",
    callback=_duration,
    default="1h",
    envvar="TIPLINE_RECLAIM_AFTER",
    show_default=True,
    help="Take over a tip another reviewer claimed and left idle this long.",
)
@click.option(
    "--max-deliveries",
    type=click.IntRange(1, 100),
    default=3,
    show_default=True,
    help="Dead-letter a tip no identity opens after this many deliveries.",
)
def review_next(
    identity_files: tuple[Path, ...],
    lang: str,
    reviewer: str | None,
    as_json: bool,
    show_map: bool,
    reclaim_after: timedelta,
    max_deliveries: int,
) -> None:
    """Claim the next tip for you, decrypt it on this machine and show it."""
    identities = _identities(identity_files)
    settings = _settings()
    name = _reviewer(reviewer)

    async def claim() -> tuple[NextResult, _Extras]:
        options = {"reclaim_after": reclaim_after, "max_deliveries": max_deliveries}
        async with _desk(settings, identities, name, **options) as desk:
            result = await desk.next()
            extras: _Extras = (None, None, False)
            if result.claimed is not None and not as_json:
                extras = await _extras(desk, result.claimed.opened.case_id)
            return result, extras

    result, extras = _run(claim())
    for case_id in result.skipped:
        click.echo(f"Case {case_id} already has a verdict: acknowledged.", err=True)
    for case_id, reason in result.buried:
        click.echo(f"Case {case_id} moved to the dead-letter stream: {reason}.", err=True)
    if result.unopened is not None:
        case_id, deliveries = result.unopened
        raise _fail(
            f"case {case_id} is not sealed to this identity (delivery {deliveries}; after "
            f"{max_deliveries} it goes to the dead-letter stream). Check the key with "
            "`tipline keys recipient FILE`; give older identities with more --identity."
        )
    claimed = result.claimed
    if claimed is None:
        click.echo("No tip is waiting.")
        return
    opened = claimed.opened
    if as_json:
        click.echo(f"Case {opened.case_id}: {claimed.how}.", err=True)
        click.echo(json.dumps(opened.transcript, ensure_ascii=False, indent=2))
        return
    thread, verdict, unreadable = extras
    options = ViewOptions(lang, show_map, _species())
    view = tip_view(
        opened,
        _questionnaire(settings),
        options,
        how=claimed.how,
        deliveries=claimed.deliveries,
        thread=thread,
        verdict=verdict,
        verdict_unreadable=unreadable,
    )
    print_view(view)
    click.echo(
        f"\nWhen you are done: tipline review verdict {opened.case_id} "
        f"{'|'.join(VERDICTS)} [--note TEXT]"
    )


@command.command("show")
@_case_argument
@_identity_option
@_lang_option
@click.option("--json", "as_json", is_flag=True, help="Print the decrypted transcript as JSON.")
@click.option("--map", "show_map", is_flag=True, help="Add a map link (it tells the map site).")
def review_show(
    case_id: str, identity_files: tuple[Path, ...], lang: str, as_json: bool, show_map: bool
) -> None:
    """Show a case (claimed or not, done or dead-lettered) with its thread and verdict."""
    identities = _identities(identity_files)
    settings = _settings()

    async def show() -> tuple[OpenedTip, _Extras]:
        async with _desk(settings, identities, _reviewer(None)) as desk:
            opened = await _open(desk, case_id)
            return opened, await _extras(desk, case_id)

    opened, (thread, verdict, unreadable) = _run(show())
    if as_json:
        click.echo(json.dumps(opened.transcript, ensure_ascii=False, indent=2))
        return
    options = ViewOptions(lang, show_map, _species())
    print_view(
        tip_view(
            opened,
            _questionnaire(settings),
            options,
            thread=thread,
            verdict=verdict,
            verdict_unreadable=unreadable,
        )
    )


async def _open(desk: Desk, case_id: str) -> OpenedTip:
    try:
        return await desk.show(case_id)
    except TipUnreadable as exc:
        raise _fail(f"case {case_id}: {exc.reason}") from exc


@command.command("list")
@_identity_option
@_lang_option
@_reviewer_option
@click.option("--done", is_flag=True, help="List the verdicts instead (newest first).")
def review_list(
    identity_files: tuple[Path, ...], lang: str, reviewer: str | None, done: bool
) -> None:
    """The tips you hold claimed and have not finished, oldest first."""
    identities = _identities(identity_files, required=done)
    settings = _settings()
    name = _reviewer(reviewer)
    renderer = Renderer(lang, _questionnaire(settings))

    if done:

        async def verdicts() -> list[tuple[str, Verdict | None]]:
            async with _desk(settings, identities, name) as desk:
                return await desk.done()

        decided = _run(verdicts())
        if not decided:
            click.echo("No verdict has been recorded yet.")
        for case_id, verdict in decided:
            if verdict is None:
                click.echo(f"{case_id}  (a verdict not sealed to your identities)")
                continue
            line = (
                f"{case_id}  {verdict.verdict:<15}  {renderer.date(verdict.decided_on)}  "
                f"{clean(verdict.reviewer)}"
            )
            click.echo(line + (f"  {clean(verdict.note)}" if verdict.note else ""))
        return

    async def mine() -> tuple[list[tuple[PendingEntry, OpenedTip | None]], int]:
        async with _desk(settings, identities, name) as desk:
            rows: list[tuple[PendingEntry, OpenedTip | None]] = []
            for entry in await desk.mine():
                opened = None
                if identities and entry.case_id is not None:
                    try:
                        opened = await desk.show(entry.case_id)
                    except (TipUnreadable, UnknownCase):
                        opened = None
                rows.append((entry, opened))
            waiting = await desk.queue.depth() - await desk.queue.pending_count()
            return rows, waiting

    held, waiting = _run(mine())
    if not held:
        click.echo(f"You ({name}) hold no claimed tip.")
    category = category_question(renderer.questionnaire)
    for entry, opened in held:
        day = renderer.date(entry_day(entry.entry_id))
        idle = int(entry.idle.total_seconds() // 60)
        line = (
            f"{entry.case_id or '(entry deleted)'}  received {day}  "
            f"deliveries {entry.deliveries}  idle {idle} min"
        )
        if opened is not None:
            line += f"  {language_name(opened.language, lang)}"
            if category is not None and category in opened.answers:
                data = opened.answers[category]
                if isinstance(data, dict) and data.get("type") == "choice":
                    line += f"  {option_label(renderer, category, str(data.get('option')))}"
        click.echo(line)
    click.echo(f"{max(waiting, 0)} tip(s) not yet claimed by anyone.")


@command.command("export")
@_case_argument
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="A new directory for the evidence (created owner-only; must not exist).",
)
@_identity_option
@_lang_option
def review_export(case_id: str, out: Path, identity_files: tuple[Path, ...], lang: str) -> None:
    """Export a case: transcript.json, transcript.txt and the attachments, decrypted."""
    identities = _identities(identity_files)
    settings = _settings()
    if out.exists() or out.is_symlink():
        raise _fail(f"{out} exists already; refusing to overwrite")

    questionnaire = _questionnaire(settings)
    options = ViewOptions(lang, True, _species())

    async def export() -> list[ExportedFile]:
        async with _desk(settings, identities, _reviewer(None)) as desk:
            opened = await _open(desk, case_id)
            try:
                written = await export_to(desk, opened, out, questionnaire, options)
            except TipUnreadable as exc:
                raise _fail(f"case {case_id}: {exc.reason}") from exc
            except FileExistsError as exc:
                raise _fail(f"{out} exists already; refusing to overwrite") from exc
            except OSError as exc:
                raise _fail(f"cannot write {out}: {exc.strerror}") from exc
            await desk.record_export(case_id, len(written), _recipients(identities))
            return written

    written = _run(export())
    click.echo(f"Case {case_id} exported to {out} (owner-only):")
    for file in written:
        click.echo(f"  {file.name}  {file.size} bytes")


@command.command("verdict")
@_case_argument
@click.argument("verdict", type=click.Choice(VERDICTS))
@click.option("--note", default=None, help="Why; sealed with the verdict.")
@click.option(
    "--risk",
    type=click.Choice(RISKS),
    default="unknown",
    show_default=True,
    help="How much acting on or sharing the case could endanger the source.",
)
@click.option("--risk-reason", default=None, help="Why that risk level; sealed with it.")
@_identity_option
@_reviewer_option
def review_verdict(
    case_id: str,
    verdict: str,
    note: str | None,
    risk: str,
    risk_reason: str | None,
    identity_files: tuple[Path, ...],
    reviewer: str | None,
) -> None:
    """Record your assessment, sealed to the reviewers, and acknowledge the tip.

    Safe to repeat: the same verdict again changes nothing; a new one replaces it and
    keeps the earlier one as history.
    """
    identities = _identities(identity_files)
    recipients = _recipients(identities)
    name = _reviewer(reviewer)
    settings = _settings()
    if not _configured_recipients():
        click.echo(
            "note: TIPLINE_RECIPIENTS is not set here, so the verdict is sealed to your own "
            "key only; set it to seal verdicts to every reviewer.",
            err=True,
        )

    async def record() -> VerdictOutcome:
        async with _desk(settings, identities, name) as desk:
            return await desk.record_verdict(
                case_id, verdict, note, recipients, risk=risk, risk_reason=risk_reason
            )

    outcome = _run(record())
    state = "recorded (sealed)" if outcome.changed else "already on record"
    acked = "acknowledged" if outcome.acknowledged else "nothing left to acknowledge"
    label = verdict if risk == "unknown" else f"{verdict} (source risk {risk})"
    click.echo(f"Verdict for {case_id}: {label}, {state}; {acked}.")


def _configured_recipients() -> bool:
    try:
        return bool(_settings().recipients())
    except (ConfigError, click.ClickException):
        return False


@command.command("ack")
@_case_argument
def review_ack(case_id: str) -> None:
    """Acknowledge a tip without a verdict: it leaves the pending list. Safe to repeat."""
    settings = _settings()

    async def ack() -> bool:
        async with open_runtime(settings, intake=False) as runtime:
            return await runtime.queue.ack(case_id)

    done = _run(ack())
    click.echo(f"Acknowledged {case_id}." if done else f"Nothing to acknowledge for {case_id}.")


@command.command("ask")
@_case_argument
@click.argument("question")
@_identity_option
@_reviewer_option
def review_ask(
    case_id: str, question: str, identity_files: tuple[Path, ...], reviewer: str | None
) -> None:
    """Leave a question for the tipster of a case (who asked for follow-up). It is sealed
    to the key only the tipster's receipt code opens; the tipster reads it with /followup.
    A copy sealed to the reviewers joins the case's thread."""
    settings = _settings()
    text = question.strip()
    if not text:
        raise _fail("the question is empty")
    identities = _identities(identity_files, required=False)
    copy_to = _recipients(identities)

    async def ask() -> int:
        async with _desk(settings, identities, _reviewer(reviewer)) as desk:
            try:
                return await desk.ask(case_id, text, copy_to)
            except NoFollowup as exc:
                raise _fail(str(exc)) from exc

    waiting = _run(ask())
    click.echo(f"Question left for {case_id} ({waiting} waiting in all).")


@command.command("thread")
@_case_argument
@_identity_option
@_lang_option
def review_thread(case_id: str, identity_files: tuple[Path, ...], lang: str) -> None:
    """Show a case's follow-up thread, decrypted on this machine."""
    identities = _identities(identity_files)
    settings = _settings()

    async def thread() -> tuple[int, list[ThreadItem]]:
        async with _desk(settings, identities, _reviewer(None)) as desk:
            return await desk.thread(case_id)

    asked, items = _run(thread())
    click.echo(f"Case {case_id}:")
    print_view(thread_view(asked, items, lang=lang))


@command.command("stats")
@_identity_option
@_lang_option
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
def review_stats(identity_files: tuple[Path, ...], lang: str, days: int, as_json: bool) -> None:
    """Queue depth, claims per reviewer, the oldest waiting tip's age in days, dead
    letters, and tips per language and category (decrypted here) over the last days."""
    identities = _identities(identity_files)
    settings = _settings()
    questionnaire = _questionnaire(settings)
    category = category_question(questionnaire)

    async def stats() -> Stats:
        async with _desk(settings, identities, _reviewer(None)) as desk:
            return await desk.stats(category, days)

    numbers = _run(stats())
    if as_json:
        document = {
            "depth": numbers.depth,
            "claimed": numbers.claimed,
            "oldest_waiting_days": numbers.oldest_waiting_days,
            "oldest_waiting_day": (
                numbers.oldest_waiting.isoformat() if numbers.oldest_waiting else None
            ),
            "dead_letters": numbers.dead_letters,
            "window_days": numbers.window_days,
            "tips": numbers.tips,
            "unreadable": numbers.unreadable,
            "by_language": numbers.by_language,
            "by_category": numbers.by_category,
            "verdicts": numbers.verdicts,
            "by_risk": numbers.by_risk,
            "by_day": numbers.by_day,
        }
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    renderer = Renderer(lang, questionnaire)
    click.echo(f"Queue depth: {numbers.depth} (claimed or never delivered)")
    claimed = ", ".join(f"{clean(k)} {v}" for k, v in sorted(numbers.claimed.items()))
    click.echo(f"Claimed per reviewer: {claimed or 'none'}")
    if numbers.oldest_waiting is None:
        click.echo("Oldest waiting tip: none")
    else:
        day = renderer.date(numbers.oldest_waiting)
        click.echo(f"Oldest waiting tip: {numbers.oldest_waiting_days} day(s) (received {day})")
    click.echo(f"Dead letters: {numbers.dead_letters}")
    unreadable = (
        f", {numbers.unreadable} not readable with your keys" if numbers.unreadable else ""
    )
    click.echo(f"Tips in the last {numbers.window_days} days: {numbers.tips}{unreadable}")
    languages = ", ".join(
        f"{language_name(code, lang)} {n}" for code, n in numbers.by_language.items()
    )
    click.echo(f"  per language: {languages or 'none'}")
    if category is not None:
        categories = ", ".join(
            f"{option_label(renderer, category, option)} {n}"
            for option, n in numbers.by_category.items()
        )
        click.echo(f"  per category: {categories or 'none'}")
    verdicts = ", ".join(f"{k} {v}" for k, v in numbers.verdicts.items())
    click.echo(f"Verdicts: {verdicts or 'none'}")
    risks = ", ".join(f"{k} {v}" for k, v in numbers.by_risk.items())
    click.echo(f"Source risk: {risks or 'none'}")


@command.command("share")
@_case_argument
@click.option(
    "--to", "to", required=True, help="The partner's age recipient (age1...): only it opens."
)
@click.option(
    "--redact",
    "redact",
    multiple=True,
    metavar="FIELD",
    help="Withhold a field: a question id (description, place, ...), thread, attachments "
    "or attachment:N. Repeatable.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The bundle to write (an age file; must not exist).",
)
@click.option(
    "--override-risk",
    default=None,
    metavar="REASON",
    help="Share a case whose source is at high risk; the reason goes in the custody log.",
)
@_identity_option
@_reviewer_option
def review_share(
    case_id: str,
    to: str,
    redact: tuple[str, ...],
    out: Path,
    override_risk: str | None,
    identity_files: tuple[Path, ...],
    reviewer: str | None,
) -> None:
    """Share a case with a partner: a bundle sealed to the partner's key only.

    The transcript (withheld fields replaced by "[withheld]"), the follow-up thread and
    the scrubbed attachments kept, and manifest.json with SHA-256 sums, in a tar archive
    inside one age file (it opens with `age -d -i partner.key`). The receipt linkage,
    verdicts and reviewer names never go in. Entered in the custody log.
    """
    identities = _identities(identity_files)
    try:
        partner = X25519Recipient.parse(to.strip())
    except AgeFormatError as exc:
        raise _fail(f"--to is not an age recipient (age1...): {exc}") from exc
    if out.exists() or out.is_symlink():
        raise _fail(f"{out} exists already; refusing to overwrite")
    settings = _settings()
    questionnaire = _questionnaire(settings)
    receipt = questionnaire.receipt_question()
    never = [receipt.id] if receipt is not None else []

    async def share() -> Bundle:
        async with _desk(settings, identities, _reviewer(reviewer)) as desk:
            return await desk.share(
                case_id,
                partner,
                _recipients(identities),
                redact=list(redact),
                never=never,
                override_risk=override_risk,
            )

    try:
        bundle = _run(share())
    except HighRisk as exc:
        why = f" ({clean(exc.reason)})" if exc.reason else ""
        raise _fail(
            f"case {case_id}: the source is at high risk{why}; not shared. To share anyway, "
            'give --override-risk "REASON" (it goes in the custody log).'
        ) from exc
    except ShareError as exc:
        raise _fail(f"case {case_id}: {exc}") from exc
    except TipUnreadable as exc:
        raise _fail(f"case {case_id}: {exc.reason}") from exc
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(bundle.sealed)
            f.flush()
            os.fsync(f.fileno())
    except FileExistsError as exc:
        raise _fail(f"{out} exists already; refusing to overwrite") from exc
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror}") from exc
    click.echo(f"Case {case_id} shared in {out} (sealed to the partner's key only).")
    click.echo(f"  kept: {', '.join(bundle.shared) or 'nothing'}")
    click.echo(f"  withheld: {', '.join(bundle.withheld) or 'nothing'}")
    click.echo(f"  files: {len(bundle.files)} (+ manifest.json with their SHA-256 sums)")
    click.echo(f"  bundle SHA-256: {bundle.sha256} (in the custody log)")


@command.command("custody")
@click.argument(
    "case_id", required=False, callback=lambda c, p, v: None if v is None else _case(c, p, v)
)
@click.option("--verify", is_flag=True, help="Check the whole chain and say where it breaks.")
@_identity_option
def review_custody(case_id: str | None, verify: bool, identity_files: tuple[Path, ...]) -> None:
    """The custody log: every share, export and verdict, chained by SHA-256.

    With CASE: that case's entries. With --verify: check every entry of the log (exit
    status 1 if the chain is broken, naming each break).
    """
    if case_id is None and not verify:
        raise _fail("give a CASE, or --verify to check the whole log")
    identities = _identities(identity_files)
    settings = _settings()

    async def read() -> CustodyReport:
        async with _desk(settings, identities, _reviewer(None)) as desk:
            assert desk.custody is not None
            return await desk.custody.report()

    report = _run(read())
    if case_id is not None:
        entries = [e for e in report.entries if e is not None and e.case_id == case_id]
        if not entries:
            click.echo(f"No custody entries for {case_id}.")
        for entry in entries:
            click.echo(_custody_line(entry))
    if verify:
        count = len(report.entries)
        if report.whole:
            click.echo(f"Custody log intact: {count} entries; head {report.head}.")
            return
        for gap in report.breaks:
            click.echo(f"Entry {gap.position}: {gap.reason}.", err=True)
        raise click.exceptions.Exit(1)


def _custody_line(entry: CustodyEntry) -> str:
    d = entry.details
    what = entry.action
    if entry.action == "share":
        what += f" to {d.get('to')}: kept {', '.join(d.get('shared', [])) or 'nothing'}"
        what += f"; withheld {', '.join(d.get('withheld', [])) or 'nothing'}"
        what += f"; bundle {d.get('bundle_sha256')}"
        if d.get("override_risk"):
            what += f"; high risk overridden: {clean(str(d['override_risk']))}"
    elif entry.action == "verdict":
        what += f" {d.get('verdict')}, source risk {d.get('risk')}"
    elif entry.action == "export":
        what += f" of {d.get('files')} files"
    return f"#{entry.seq}  {entry.day.isoformat()}  {clean(entry.reviewer)}  {what}"


# Every review command works on one tipline's queue: ``--tipline NAME`` (or TIPLINE_NAME)
# when a deployment runs several.
for _subcommand in command.commands.values():
    _subcommand.params.append(cli_support.tipline_option())
