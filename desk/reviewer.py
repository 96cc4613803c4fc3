"""The reviewer desk: ``review.Desk`` in the browser, on the reviewer's own machine.

It is the command line's desk (``tipline review``) with pages: the same claims,
reclaims, dead letters, verdicts, questions and exports, on the same queue, at the same
time. Tips are decrypted here and only here (P9). The identity stays in this process's
memory: a passphrase-protected identity file is opened after the reviewer signs in, by
the passphrase typed into the page, once per sign-in, and forgotten when the reviewer
signs out or leaves the desk idle for ``lock_after``. Nothing decrypted is written
anywhere but into an export the reviewer asks for, under the export directory; every
response is ``no-store``.

Security as in the operator desk (desk/app.py): sessions and throttles in the
ephemeral Redis, a CSRF token on every form, cross-site requests refused, a strict CSP
(media and frames only from the desk itself, for attachments), loopback only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from redis.exceptions import NoPermissionError

from bots.render import Renderer
from conversations import Questionnaire
from conversations.messages import N_
from privacy import (
    AgeError,
    WrongPassphraseError,
    X25519Identity,
    X25519Recipient,
    identity_file_protected,
    parse_identity_file,
)
from review.case import case_extras, export_to
from review.custody import CustodyLog
from review.desk import Desk, HighRisk, NoFollowup, UnknownCase, utc_today
from review.export import detect_type
from review.render import (
    SpeciesLookup,
    ViewOptions,
    answer_rows,
    attachments_summary,
    category_question,
    claim_status,
    clean,
    language_name,
    location_pins,
    map_link,
    option_label,
    partial_note,
    transcript_rows,
    voice_note,
)
from review.share import ShareError, redactable_fields
from review.tip import OpenedTip, TipUnreadable
from review.verdicts import RISKS, VERDICTS
from storage import StorageError, TipQueue
from storage.custody import CustodyStore
from storage.followup import FollowupStore
from storage.keys import KeySpace
from storage.queue import entry_day, validate_case_id
from storage.throttle import Throttle, ThrottleRule

from .accounts import Accounts
from .app import CSP, DeskConfig, bcp47
from .charts import bar_chart, day_chart, days_of
from .i18n import Gettext, gettext_in
from .sessions import SessionStore
from .web import (
    Refused,
    Signed,
    checked_form,
    guard_headers,
    login_failed,
    login_scope,
    login_throttled,
    same_origin,
    set_private_cookie,
    signed_in,
)

__all__ = [
    "ATTACHMENT_CSP",
    "INLINE_TYPES",
    "REVIEW_CSP",
    "UNLOCK_RULE",
    "Keyring",
    "ReviewerConfig",
    "create_reviewer_app",
]

log = logging.getLogger(__name__)

#: The pages: as the operator desk's, and attachments shown in them (images, audio,
#: video, a PDF in a frame), all from the desk itself.
REVIEW_CSP = CSP.replace("img-src 'self';", "img-src 'self'; media-src 'self'; frame-src 'self';")
#: An attachment itself: nothing runs in it, and only the desk's own pages may frame it.
ATTACHMENT_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; frame-ancestors 'self'"
#: What is shown in the page, by the type detected from the decrypted bytes (never from
#: the tipster's file name or the transcript). Everything else only in an export.
INLINE_TYPES = {
    "jpg": ("image", "image/jpeg"),
    "png": ("image", "image/png"),
    "gif": ("image", "image/gif"),
    "webp": ("image", "image/webp"),
    "pdf": ("pdf", "application/pdf"),
    "ogg": ("audio", "audio/ogg"),
    "mp3": ("audio", "audio/mpeg"),
    "wav": ("audio", "audio/wav"),
    "flac": ("audio", "audio/flac"),
    "m4a": ("audio", "audio/mp4"),
    "mp4": ("video", "video/mp4"),
    "webm": ("video", "video/webm"),
}
#: The reviewer desk's cookies, named apart from the operator desk's: cookies do not
#: tell ports apart, so two desks on one machine would otherwise sign each other out.
COOKIE = "tipline-review"
LOGIN_COOKIE = "tipline-review-login"
#: Wrong identity passphrases: 5 per account in 15 minutes. No doubling wait on top:
#: each guess already costs scrypt's work (about a second).
UNLOCK_RULE = ThrottleRule(limit=5, window=timedelta(minutes=15))
#: The scrubber's names of kinds (transcript ``attachments[].kind``) that differ from
#: the detected types above.
_LISTED_KINDS = {"jpeg": "jpg"}
_PACKAGE = Path(str(resources.files("desk")))
_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
HandlerType = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ReviewerConfig:
    #: The identity is forgotten after this long without a request (the page locks).
    lock_after: timedelta = timedelta(minutes=10)
    #: Exports go into new folders under this directory (None: exporting is off).
    export_dir: Path | None = None
    reclaim_after: timedelta = timedelta(hours=1)
    max_deliveries: int = 3
    #: The reviewer's language for labels, dates and names.
    lang: str = "en"
    #: Whom verdicts and the copies of questions are sealed to, besides the reviewer's
    #: own keys (the configured reviewers' recipients).
    recipients: tuple[X25519Recipient, ...] = ()
    desk: DeskConfig = field(default_factory=DeskConfig)


class Keyring:
    """The reviewer's identities, in this process's memory only.

    A plain identity file is read once. A protected one is opened per session with the
    passphrase, and forgotten after ``lock_after`` without use, on sign-out, or by
    :meth:`sweep` (which the desk runs every few seconds).
    """

    def __init__(
        self,
        raw: bytes,
        name: str,
        *,
        lock_after: timedelta,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.protected = identity_file_protected(raw)
        self._raw = raw
        self._lock_after = lock_after.total_seconds()
        self._clock = clock
        self._plain = None if self.protected else parse_identity_file(raw, name=name)
        self._open: dict[str, tuple[list[X25519Identity], float]] = {}

    @staticmethod
    def session_key(token: str) -> str:
        """What a session is known by in this process's memory (never the token)."""
        return hashlib.sha256(token.encode()).hexdigest()

    def identities(self, token: str) -> list[X25519Identity] | None:
        """The identities for this session, its idle clock restarted; None: locked."""
        if self._plain is not None:
            return self._plain
        key = self.session_key(token)
        found = self._open.get(key)
        if found is None:
            return None
        identities, used = found
        if self._clock() - used > self._lock_after:
            del self._open[key]
            return None
        self._open[key] = (identities, self._clock())
        return identities

    async def unlock(self, token: str, passphrase: str) -> None:
        """Open the identity file with the passphrase (scrypt runs in a thread);
        WrongPassphraseError if it is wrong."""
        identities = await asyncio.to_thread(
            parse_identity_file, self._raw, passphrase=passphrase, name=self.name
        )
        self._open[self.session_key(token)] = (identities, self._clock())

    def lock(self, token: str) -> None:
        self._open.pop(self.session_key(token), None)

    def sweep(self) -> list[str]:
        """Forget every identity idle too long; the session keys it was forgotten for."""
        now = self._clock()
        idle = [k for k, (_ids, used) in self._open.items() if now - used > self._lock_after]
        for key in idle:
            del self._open[key]
        return idle

    @property
    def unlocked(self) -> int:
        return len(self._open)


@dataclass
class ExportJob:
    """An export under way (or done): how far it is, what it wrote or why it failed."""

    case_id: str
    out: Path
    done: int = 0
    total: int = 0
    files: list[tuple[str, int]] | None = None
    error: str = ""
    task: asyncio.Task[None] | None = None

    @property
    def finished(self) -> bool:
        return self.files is not None or bool(self.error)

    @property
    def percent(self) -> int:
        return 100 if self.finished else (100 * self.done // self.total if self.total else 0)


class ReviewerDesk:
    """The views. One instance per application."""

    def __init__(
        self,
        *,
        queue: TipQueue,
        durable: aioredis.Redis,
        accounts: Accounts,
        ephemeral: aioredis.Redis,
        keyring: Keyring,
        questionnaire: Questionnaire,
        species: SpeciesLookup | None,
        config: ReviewerConfig,
        keys: KeySpace,
    ) -> None:
        self.keys = keys
        self.queue = queue
        self.durable = durable
        self.accounts = accounts
        self.keyring = keyring
        self.questionnaire = questionnaire
        self.species = species
        self.config = config
        self.sessions = SessionStore(ephemeral, idle=config.desk.idle, prefix=keys.desk)
        self.throttle = Throttle(ephemeral, prefix=keys.desk_throttle)
        self.notices: dict[str, list[str]] = {}
        self.exports: dict[str, ExportJob] = {}
        self.templates = Environment(
            loader=FileSystemLoader(str(_PACKAGE / "templates")),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # ------------------------------------------------------------------ helpers
    @property
    def lang(self) -> str:
        return self.config.lang

    @property
    def gettext(self) -> Gettext:
        """The desk's own words in the reviewer's language (:mod:`desk.i18n`), for a text
        put together here from a translated message and its values."""
        return gettext_in(self.lang)

    def render(
        self, name: str, status: int = 200, *, signed: Signed | None = None, **context: Any
    ) -> web.Response:
        html = self.templates.get_template(name).render(
            html_lang=bcp47(self.lang),
            html_dir="rtl" if Renderer(self.lang, self.questionnaire).rtl else "ltr",
            account=signed.account if signed else None,
            csrf=signed.session.csrf if signed else "",
            locked=self.keyring.protected,
            lock_seconds=int(self.config.lock_after.total_seconds()) + 5,
            _=self.gettext,
            **context,
        )
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def _set_cookie(self, response: web.StreamResponse, name: str, value: str) -> None:
        set_private_cookie(response, name, value, tls=self.config.desk.tls)

    async def _signed(self, request: web.Request) -> Signed:
        """The signed-in reviewer, or a redirect to the login page."""
        return await signed_in(
            request,
            cookie=COOKIE,
            sessions=self.sessions,
            accounts=self.accounts,
            role="reviewer",
            wrong_role=N_(
                "This account is an operator's. Operators take calls on the hotline desk; "
                "tips are read only on a reviewer's desk."
            ),
            on_end=lambda session: self.keyring.lock(session.token),
        )

    async def _desk(self, request: web.Request) -> tuple[Signed, Desk]:
        """The signed-in reviewer's desk with the identities in memory; a locked desk
        sends the reviewer to the passphrase page."""
        signed = await self._signed(request)
        identities = self.keyring.identities(signed.session.token)
        if identities is None:
            raise web.HTTPSeeOther("/unlock")
        desk = Desk(
            self.queue,
            identities,
            reviewer=signed.account.name,
            followups=FollowupStore(self.durable, prefix=self.keys.root),
            reclaim_after=self.config.reclaim_after,
            max_deliveries=self.config.max_deliveries,
            custody=CustodyLog(
                CustodyStore(self.durable, self.keys.custody), identities, utc_today
            ),
        )
        return signed, desk

    def _recipients(self, desk: Desk) -> list[X25519Recipient]:
        found = list(self.config.recipients)
        for identity in desk.identities:
            if identity.recipient not in found:
                found.append(identity.recipient)
        return found

    async def _form(self, request: web.Request, csrf: str) -> dict[str, str]:
        form, _ = await checked_form(request, csrf)
        return form

    def forget(self, sessions: Sequence[str]) -> None:
        """Drop what this process holds for these sessions (by :meth:`Keyring.session_key`):
        their notices and the record of their exports (a running export finishes)."""
        for key in sessions:
            self.notices.pop(key, None)
            self.exports.pop(key, None)

    def _notice(self, signed: Signed, text: str) -> None:
        self.notices.setdefault(Keyring.session_key(signed.session.token), []).append(text)

    def _take_notices(self, signed: Signed) -> list[str]:
        return self.notices.pop(Keyring.session_key(signed.session.token), [])

    def _case(self, request: web.Request, signed: Signed) -> str:
        try:
            return validate_case_id(request.match_info["case"])
        except ValueError:
            raise Refused(404, N_("There is no such case."), signed) from None

    async def _open(self, desk: Desk, signed: Signed, case_id: str) -> OpenedTip:
        try:
            return await desk.show(case_id)
        except UnknownCase:
            raise Refused(404, N_("There is no such case."), signed) from None
        except TipUnreadable as exc:
            message = self.gettext(N_("Case {case}: {reason}"))
            raise Refused(422, message.format(case=case_id, reason=exc.reason), signed) from None

    # ------------------------------------------------------------------ login, lock
    async def login_page(self, request: web.Request) -> web.StreamResponse:
        return self._login(200, "")

    def _login(self, status: int, error: str) -> web.Response:
        token = secrets.token_urlsafe(32)
        response = self.render("review-login.html", status, login_csrf=token, error=error)
        self._set_cookie(response, LOGIN_COOKIE, token)
        return response

    async def _throttled(self, scope: str) -> bool:
        return await login_throttled(self.throttle, self.config.desk.login_rules, scope)

    async def _failed(self, scope: str) -> None:
        await login_failed(self.throttle, self.config.desk.login_rules, scope)

    async def login(self, request: web.Request) -> web.StreamResponse:
        expected = request.cookies.get(LOGIN_COOKIE, "")
        form = await self._form(request, expected)
        name = form.get("name", "").strip().casefold()
        scope = login_scope(name)
        if await self._throttled(scope):
            return self._login(429, N_("Too many wrong passwords. Wait a little, then try again."))
        account = await self.accounts.authenticate(name, form.get("password", ""))
        if account is None:
            await self._failed(scope)
            log.info("a reviewer desk login failed")
            return self._login(401, N_("Wrong name or password."))
        if account.role != "reviewer":
            # Checked after the password, so the page says nothing of names it does not
            # know; an operator never gets a reviewer session.
            return self._login(403, N_("This account is an operator's, not a reviewer's."))
        session = await self.sessions.create(account.name, account.generation)
        response = _see_other("/unlock" if self.keyring.protected else "/queue")
        self._set_cookie(response, COOKIE, session.token)
        response.del_cookie(LOGIN_COOKIE, path="/")
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        signed = await self._signed(request)
        await self._form(request, signed.session.csrf)
        self.keyring.lock(signed.session.token)
        self.forget([Keyring.session_key(signed.session.token)])
        await self.sessions.end(signed.session.token)
        response = _see_other("/login")
        response.del_cookie(COOKIE, path="/")
        return response

    async def unlock_page(self, request: web.Request) -> web.StreamResponse:
        signed = await self._signed(request)
        if self.keyring.identities(signed.session.token) is not None:
            raise web.HTTPSeeOther("/queue")
        return self._unlock(signed, 200, "")

    def _unlock(self, signed: Signed, status: int, error: str) -> web.Response:
        minutes = round(self.config.lock_after.total_seconds() / 60, 1)
        return self.render(
            "review-unlock.html",
            status,
            signed=signed,
            error=error,
            key_name=Path(self.keyring.name).name,
            lock_minutes=f"{minutes:g}",
        )

    async def unlock(self, request: web.Request) -> web.StreamResponse:
        signed = await self._signed(request)
        form = await self._form(request, signed.session.csrf)
        scope = "unlock:" + signed.account.name
        if await self.throttle.blocked(scope, UNLOCK_RULE):
            return self._unlock(signed, 429, N_("Too many wrong passphrases. Wait a little."))
        try:
            await self.keyring.unlock(signed.session.token, form.get("passphrase", ""))
        except WrongPassphraseError:
            await self.throttle.failed(scope, UNLOCK_RULE)
            log.info("a wrong identity passphrase on the reviewer desk")
            return self._unlock(signed, 401, N_("Wrong passphrase for the identity file."))
        except AgeError as exc:
            message = self.gettext(N_("The identity file does not open: {reason}"))
            return self._unlock(signed, 422, message.format(reason=exc))
        return _see_other("/queue")

    async def lock(self, request: web.Request) -> web.StreamResponse:
        signed = await self._signed(request)
        await self._form(request, signed.session.csrf)
        self.keyring.lock(signed.session.token)
        return _see_other("/unlock" if self.keyring.protected else "/queue")

    # ------------------------------------------------------------------ the queue
    async def index(self, request: web.Request) -> web.StreamResponse:
        await self._signed(request)
        raise web.HTTPSeeOther("/queue")

    async def queue_page(self, request: web.Request) -> web.StreamResponse:
        signed, desk = await self._desk(request)
        renderer = Renderer(self.lang, self.questionnaire)
        oldest_id = await self.queue.oldest_waiting()
        oldest = entry_day(oldest_id) if oldest_id else None
        today = utc_today()
        held = []
        for entry in await desk.mine():
            row: dict[str, Any] = {
                "case": entry.case_id,
                "received": renderer.date(entry_day(entry.entry_id)),
                "deliveries": entry.deliveries,
                "idle": int(entry.idle.total_seconds() // 60),
                "language": "",
            }
            if entry.case_id is not None:
                try:
                    opened = await desk.show(entry.case_id)
                    row["language"] = language_name(opened.language, self.lang)
                except (TipUnreadable, UnknownCase):
                    row["language"] = self.gettext(N_("(does not open with your keys)"))
            held.append(row)
        depth = await self.queue.depth()
        waiting = max(depth - await self.queue.pending_count(), 0)
        return self.render(
            "review-queue.html",
            signed=signed,
            notices=self._take_notices(signed),
            depth=depth,
            waiting=waiting,
            claimed=sorted((await self.queue.claimed_per_consumer()).items()),
            oldest_days=None if oldest is None else (today - oldest).days,
            oldest_day=renderer.date(oldest) if oldest else None,
            dead=await self.queue.dead_count(),
            held=held,
        )

    async def done_page(self, request: web.Request) -> web.StreamResponse:
        """Every case with a verdict, the latest first (as ``tipline review list --done``)."""
        signed, desk = await self._desk(request)
        renderer = Renderer(self.lang, self.questionnaire)
        rows = [
            {
                "case": case_id,
                "verdict": verdict,
                "day": renderer.date(verdict.decided_on) if verdict else "",
            }
            for case_id, verdict in await desk.done()
        ]
        return self.render("review-done.html", signed=signed, rows=rows)

    async def open_case(self, request: web.Request) -> web.StreamResponse:
        """Any case by its id (claimed or not, done or dead-lettered), as ``tipline review
        show CASE``: the id from the form, checked, then the case's page."""
        signed = await self._signed(request)
        try:
            case_id = validate_case_id(request.query.get("case", "").strip())
        except ValueError:
            raise Refused(404, N_("That is not a case id."), signed) from None
        raise web.HTTPSeeOther(f"/tips/{case_id}")

    async def take_next(self, request: web.Request) -> web.StreamResponse:
        signed, desk = await self._desk(request)
        await self._form(request, signed.session.csrf)
        result = await desk.next()
        _ = self.gettext
        for case_id in result.skipped:
            said = _(N_("Case {case} already has a verdict: acknowledged."))
            self._notice(signed, said.format(case=case_id))
        for case_id, reason in result.buried:
            said = _(N_("Case {case} moved to the dead-letter stream: {reason}."))
            self._notice(signed, said.format(case=case_id, reason=reason))
        if result.unopened is not None:
            case_id, deliveries = result.unopened
            said = _(
                N_(
                    "Case {case} is not sealed to your identity (delivery {delivery}; after "
                    "{max} it goes to the dead-letter stream). Check the key."
                )
            )
            self._notice(
                signed, said.format(case=case_id, delivery=deliveries, max=desk.max_deliveries)
            )
            raise web.HTTPSeeOther("/queue")
        if result.claimed is None:
            self._notice(signed, _(N_("No tip is waiting.")))
            raise web.HTTPSeeOther("/queue")
        claimed = result.claimed
        how = claim_status(claimed.how, claimed.deliveries, lang=self.lang) or ""
        self._notice(signed, how[:1].upper() + how[1:] + ".")
        raise web.HTTPSeeOther(f"/tips/{claimed.opened.case_id}")

    # ------------------------------------------------------------------ a tip
    async def tip_page(self, request: web.Request) -> web.StreamResponse:
        signed, desk = await self._desk(request)
        case_id = self._case(request, signed)
        opened = await self._open(desk, signed, case_id)
        return await self._tip(signed, desk, opened, show_map=request.query.get("map") == "1")

    async def _tip(
        self,
        signed: Signed,
        desk: Desk,
        opened: OpenedTip,
        *,
        show_map: bool = False,
        status: int = 200,
        error: str = "",
    ) -> web.Response:
        options = ViewOptions(self.lang, False, self.species)
        renderer = Renderer(self.lang, self.questionnaire)
        tipster_lang = opened.language or "en"
        extras = await case_extras(desk, opened.case_id)
        pins = location_pins(opened)
        maps = {
            question: map_link(lat, lon, precision)
            for question, (lat, lon, precision) in pins.items()
        }
        files = []
        listed = opened.listed_attachments
        for index in range(len(opened.sealed_attachments)):
            files.append(self._file(opened, index, listed[index] if index < len(listed) else {}))
        custody = []
        if desk.custody is not None:
            report = await desk.custody.report()
            custody = [e for e in report.entries if e is not None and e.case_id == opened.case_id]
        thread = None
        if extras.thread is not None:
            asked, items = extras.thread
            thread = {
                "asked": asked,
                "items": [
                    {
                        "kind": item.kind,
                        "text": clean(item.text),
                        "day": _day(renderer, item.day),
                        "who": clean(item.reviewer) if item.reviewer else "",
                        "language": language_name(item.language, self.lang)
                        if item.language
                        else "",
                        "lang_tag": bcp47(item.language or self.lang),
                        "dir": _dir(item.language or self.lang, self.questionnaire),
                    }
                    for item in items
                ],
            }
        verdict = extras.verdict
        received = opened.received_on
        return self.render(
            "review-tip.html",
            status,
            signed=signed,
            notices=self._take_notices(signed),
            error=error,
            case=opened.case_id,
            received=renderer.date(received)
            if received
            else clean(opened.transcript.get("received_on")),
            channel=clean(opened.transcript.get("channel", "?")),
            language=language_name(tipster_lang, self.lang),
            rows=answer_rows(opened, self.questionnaire, options),
            attachments_summary=attachments_summary(opened, lang=self.lang),
            transcript=transcript_rows(opened, self.questionnaire, options),
            tipster_lang=bcp47(tipster_lang),
            tipster_dir=_dir(tipster_lang, self.questionnaire),
            files=files,
            maps=maps if show_map else {},
            pinned=list(maps),
            thread=thread,
            followup=await self._followup_possible(opened.case_id),
            verdict=verdict,
            verdict_day=renderer.date(verdict.decided_on) if verdict else "",
            verdict_history=[(v, renderer.date(v.decided_on)) for v in reversed(verdict.history)]
            if verdict
            else [],
            verdict_unreadable=extras.verdict_unreadable,
            verdicts=VERDICTS,
            risks=RISKS,
            custody=custody,
            can_export=self.config.export_dir is not None,
            redactable=redactable_fields(opened.transcript, hidden=self._never()),
            high_risk=verdict is not None and verdict.risk == "high",
            export_dir=str(self.config.export_dir or ""),
        )

    async def _followup_possible(self, case_id: str) -> bool:
        return (
            await FollowupStore(self.durable, prefix=self.keys.root).recipient(case_id) is not None
        )

    def _file(self, opened: OpenedTip, index: int, info: dict[str, Any]) -> dict[str, Any]:
        """How an attachment is laid out, from what the transcript says of it (the scrub
        detected its kind); what is served is checked again from its own bytes."""
        kind = str(info.get("kind") or "")
        shown = INLINE_TYPES.get(_LISTED_KINDS.get(kind, kind), ("", ""))[0]
        notes = []
        if info.get("caption"):
            notes.append(
                self.gettext(N_("Caption: {caption}")).format(caption=clean(info["caption"]))
            )
        removed = info.get("removed") or info.get("scrubbed")
        scrubbed = self.gettext(N_("Scrubbed: {details}"))
        if isinstance(removed, list) and removed:
            notes.append(scrubbed.format(details=", ".join(clean(r) for r in removed)))
        elif removed:
            notes.append(scrubbed.format(details=clean(removed)))
        if info.get("partial") is not None:
            notes.append(partial_note(info["partial"], lang=self.lang))
        if info.get("voice") is not None:
            notes.append(voice_note(info["voice"], lang=self.lang))
        size = info.get("size")
        return {
            "index": index,
            "kind": clean(kind or "?"),
            "size": size if isinstance(size, int) and not isinstance(size, bool) else None,
            "shown": shown,
            "notes": notes,
        }

    async def attachment(self, request: web.Request) -> web.StreamResponse:
        """One attachment, decrypted in memory and sent, never stored; only the types a
        browser shows safely, by the type detected from the bytes."""
        signed, desk = await self._desk(request)
        case_id = self._case(request, signed)
        opened = await self._open(desk, signed, case_id)
        try:
            index = int(request.match_info["index"])
            # Decrypted in a thread: a long video does not hold up the other pages.
            data = await asyncio.to_thread(desk.attachment, opened, index)
        except (ValueError, IndexError):
            raise Refused(404, N_("There is no such attachment."), signed) from None
        except TipUnreadable as exc:
            raise Refused(422, exc.reason, signed) from None
        shown = INLINE_TYPES.get(detect_type(data))
        if shown is None:
            raise Refused(415, N_("This file is not shown in the page: export the case."), signed)
        status, body, extra = _ranged(request, data)
        response = web.Response(status=status, body=body, content_type=shown[1])
        response.headers.update(extra)
        response.headers["Accept-Ranges"] = "bytes"
        response.headers["Content-Disposition"] = "inline"
        response.headers["X-Tipline-Attachment"] = "1"
        return response

    async def verdict(self, request: web.Request) -> web.StreamResponse:
        signed, desk = await self._desk(request)
        case_id = self._case(request, signed)
        form = await self._form(request, signed.session.csrf)
        opened = await self._open(desk, signed, case_id)
        verdict, risk = form.get("verdict", ""), form.get("risk", "unknown")
        if verdict not in VERDICTS or risk not in RISKS:
            return await self._tip(
                signed,
                desk,
                opened,
                status=400,
                error=N_("Choose a verdict and a risk level from the lists."),
            )
        try:
            outcome = await desk.record_verdict(
                case_id,
                verdict,
                form.get("note", "").strip() or None,
                self._recipients(desk),
                risk=risk,
                risk_reason=form.get("risk_reason", "").strip() or None,
            )
        except ValueError as exc:
            return await self._tip(signed, desk, opened, status=400, error=str(exc))
        _ = self.gettext
        state = _(N_("recorded (sealed)")) if outcome.changed else _(N_("already on record"))
        acked = (
            _(N_("acknowledged")) if outcome.acknowledged else _(N_("nothing left to acknowledge"))
        )
        said = _(N_("Verdict {verdict} (source risk {risk}): {state}; {acknowledged}."))
        self._notice(
            signed, said.format(verdict=verdict, risk=risk, state=state, acknowledged=acked)
        )
        raise web.HTTPSeeOther(f"/tips/{case_id}#verdict")

    async def ask(self, request: web.Request) -> web.StreamResponse:
        signed, desk = await self._desk(request)
        case_id = self._case(request, signed)
        form = await self._form(request, signed.session.csrf)
        opened = await self._open(desk, signed, case_id)
        try:
            waiting = await desk.ask(case_id, form.get("question", ""), self._recipients(desk))
        except NoFollowup as exc:
            return await self._tip(signed, desk, opened, status=409, error=str(exc))
        except ValueError as exc:
            return await self._tip(signed, desk, opened, status=400, error=str(exc))
        said = self.gettext(N_("Question left for the tipster ({waiting} waiting in all)."))
        self._notice(signed, said.format(waiting=waiting))
        raise web.HTTPSeeOther(f"/tips/{case_id}#thread")

    async def export(self, request: web.Request) -> web.StreamResponse:
        """Start exporting the case into a new folder under the export directory; the
        export runs on (decrypting and writing in a thread) while its page shows how
        far it is."""
        signed, desk = await self._desk(request)
        case_id = self._case(request, signed)
        form = await self._form(request, signed.session.csrf)
        opened = await self._open(desk, signed, case_id)
        root = self.config.export_dir
        _ = self.gettext
        refusal: tuple[int, str] | None = None
        folder = form.get("folder", "").strip() or case_id
        running = self.exports.get(Keyring.session_key(signed.session.token))
        if root is None:
            refusal = 409, N_("Exporting is off: start the desk with --export-dir.")
        elif not _FOLDER.fullmatch(folder):
            refusal = 400, N_("A folder name is letters, digits, '.', '_' or '-' (no slashes).")
        elif (root / folder).exists() or (root / folder).is_symlink():
            said = _(N_("{path} exists already; choose another folder name."))
            refusal = 409, said.format(path=root / folder)
        elif running is not None and not running.finished:
            refusal = 409, N_("An export is under way already; wait for it to finish.")
        if refusal is not None or root is None:
            status, message = refusal or (409, "")
            return await self._tip(signed, desk, opened, status=status, error=message)
        job = ExportJob(case_id, root / folder)
        self.exports[Keyring.session_key(signed.session.token)] = job
        job.task = asyncio.get_running_loop().create_task(self._export(job, desk, opened))
        raise web.HTTPSeeOther(f"/tips/{case_id}/export")

    async def _export(self, job: ExportJob, desk: Desk, opened: OpenedTip) -> None:
        options = ViewOptions(self.lang, True, self.species)

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        _ = self.gettext
        try:
            written = await export_to(
                desk, opened, job.out, self.questionnaire, options, progress=progress
            )
            await desk.record_export(job.case_id, len(written), self._recipients(desk))
        except FileExistsError:
            said = _(N_("{path} exists already; choose another folder name."))
            job.error = said.format(path=job.out)
        except OSError as exc:
            job.error = _(N_("Cannot write {path}: {reason}")).format(
                path=job.out, reason=exc.strerror
            )
        except TipUnreadable as exc:
            job.error = exc.reason
        except StorageError:
            job.error = N_("The export was written, but the custody log could not be reached.")
        except Exception as exc:  # the page must say so; never a traceback with a tip in it
            log.error("an export failed: %s", type(exc).__name__)
            job.error = N_("The export failed.")
        else:
            job.files = [(f.name, f.size) for f in written]

    async def share(self, request: web.Request) -> web.StreamResponse:
        """A bundle for a partner, sealed to the partner's key only, written as a new
        file under the export directory and entered in the custody log (as ``tipline
        review share``)."""
        signed, desk = await self._desk(request)
        case_id = self._case(request, signed)
        form = await self._form(request, signed.session.csrf)
        data = await request.post()  # read once: aiohttp keeps it
        redact = [v for v in data.getall("redact", []) if isinstance(v, str)]
        opened = await self._open(desk, signed, case_id)
        root = self.config.export_dir
        name = form.get("name", "").strip() or f"{case_id}-share"
        name = name if name.endswith(".age") else name + ".age"

        _ = self.gettext

        async def refuse(status: int, message: str) -> web.Response:
            return await self._tip(signed, desk, opened, status=status, error=message)

        if root is None:
            return await refuse(
                409, N_("Sharing writes a file: start the desk with --export-dir.")
            )
        if not _FOLDER.fullmatch(name):
            return await refuse(400, N_("A file name is letters, digits, '.', '_' or '-'."))
        out = root / name
        if out.exists() or out.is_symlink():
            said = _(N_("{path} exists already; choose another file name."))
            return await refuse(409, said.format(path=out))
        try:
            partner = X25519Recipient.parse(form.get("to", "").strip())
        except AgeError as exc:
            said = _(N_("The partner's key is not an age recipient: {reason}"))
            return await refuse(400, said.format(reason=exc))
        try:
            bundle = await desk.share(
                case_id,
                partner,
                self._recipients(desk),
                redact=redact,
                never=self._never(),
                override_risk=form.get("override_risk", "").strip() or None,
            )
        except HighRisk as exc:
            said = (
                _(
                    N_(
                        "The source is at high risk ({reason}): not shared. To share anyway, "
                        "give the reason (it goes in the custody log)."
                    )
                ).format(reason=clean(exc.reason))
                if exc.reason
                else _(
                    N_(
                        "The source is at high risk: not shared. To share anyway, give the "
                        "reason (it goes in the custody log)."
                    )
                )
            )
            return await refuse(409, said)
        except (ShareError, TipUnreadable) as exc:
            return await refuse(400, str(exc))
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(bundle.sealed)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            said = _(N_("Cannot write {path}: {reason}"))
            return await refuse(500, said.format(path=out, reason=exc.strerror))
        nothing = _(N_("nothing"))
        said = _(
            N_(
                "Shared in {path}, sealed to the partner's key only. Kept: {kept}; withheld: "
                "{withheld}; bundle SHA-256 {sha256}."
            )
        )
        self._notice(
            signed,
            said.format(
                path=out,
                kept=", ".join(bundle.shared) or nothing,
                withheld=", ".join(bundle.withheld) or nothing,
                sha256=bundle.sha256,
            ),
        )
        raise web.HTTPSeeOther(f"/tips/{case_id}#custody")

    def _never(self) -> list[str]:
        receipt = self.questionnaire.receipt_question()
        return [receipt.id] if receipt is not None else []

    async def export_page(self, request: web.Request) -> web.StreamResponse:
        signed = await self._signed(request)
        case_id = self._case(request, signed)
        job = self.exports.get(Keyring.session_key(signed.session.token))
        if job is None or job.case_id != case_id:
            raise web.HTTPSeeOther(f"/tips/{case_id}")
        return self.render("review-export.html", signed=signed, case=case_id, job=job)

    # ------------------------------------------------------------------ stats
    async def stats(self, request: web.Request) -> web.StreamResponse:
        signed, desk = await self._desk(request)
        try:
            days = int(request.query.get("days", "30"))
        except ValueError:
            days = 30
        days = min(max(days, 1), 3660)
        category = category_question(self.questionnaire)
        numbers = await desk.stats(category, days)
        renderer = Renderer(self.lang, self.questionnaire)
        languages = [(language_name(k, self.lang), v) for k, v in numbers.by_language.items()]
        categories = (
            [(option_label(renderer, category, k), v) for k, v in numbers.by_category.items()]
            if category
            else []
        )
        verdicts = list(numbers.verdicts.items())
        risks = list(numbers.by_risk.items())
        per_day = days_of(numbers.by_day, utc_today(), days)
        _ = self.gettext
        charts = [
            (
                "per-day",
                _(N_("Tips per day, last {days} days")).format(days=days),
                day_chart(per_day, title=_(N_("Tips per day")), chart_id="chart-days"),
                [(d.isoformat(), n) for d, n in per_day if n],
            ),
            (
                "per-language",
                _(N_("Tips per language")),
                bar_chart(languages, title=_(N_("Tips per language")), chart_id="chart-languages"),
                languages,
            ),
            (
                "per-category",
                _(N_("Tips per category")),
                bar_chart(
                    categories, title=_(N_("Tips per category")), chart_id="chart-categories"
                ),
                categories,
            ),
            (
                "verdicts",
                _(N_("Verdicts (every case, whenever it arrived)")),
                bar_chart(verdicts, title=_(N_("Verdicts")), chart_id="chart-verdicts"),
                verdicts,
            ),
            (
                "risk",
                _(N_("Source risk (every verdict)")),
                bar_chart(risks, title=_(N_("Source risk")), chart_id="chart-risk"),
                risks,
            ),
        ]
        return self.render(
            "review-stats.html",
            signed=signed,
            numbers=numbers,
            days=days,
            windows=(7, 30, 90, 365),
            oldest_day=renderer.date(numbers.oldest_waiting) if numbers.oldest_waiting else None,
            charts=charts,
        )


def _ranged(request: web.Request, data: bytes) -> tuple[int, bytes, dict[str, str]]:
    """The part of ``data`` a ``Range`` header asks for (a player seeking in a video):
    (status, body, headers). No or a malformed header: the whole file."""
    try:
        wanted = request.http_range
    except ValueError:
        return 200, data, {}
    if wanted.start is None and wanted.stop is None:
        return 200, data, {}
    span = range(len(data))[wanted]
    if not span or (wanted.start is not None and wanted.start >= len(data)):
        return 416, b"", {"Content-Range": f"bytes */{len(data)}"}
    first, last = span[0], span[-1]
    return 206, data[first : last + 1], {"Content-Range": f"bytes {first}-{last}/{len(data)}"}


def _day(renderer: Renderer, day: str | None) -> str:
    try:
        return renderer.date(date.fromisoformat(str(day)))
    except (ValueError, TypeError):
        return clean(day or "?")


def _dir(lang: str, questionnaire: Questionnaire) -> str:
    try:
        return "rtl" if Renderer(lang, questionnaire).rtl else "ltr"
    except (ValueError, KeyError):
        return "auto"


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def create_reviewer_app(
    *,
    queue: TipQueue,
    durable: aioredis.Redis,
    ephemeral: aioredis.Redis,
    keyring: Keyring,
    questionnaire: Questionnaire,
    species: SpeciesLookup | None = None,
    config: ReviewerConfig | None = None,
    sweep_every: float = 5.0,
    keys: KeySpace | None = None,
) -> web.Application:
    """The reviewer desk over the organisation's queue (``durable``), with sessions and
    throttles in ``ephemeral`` and the identities in ``keyring``; the accounts, follow-ups
    and custody log under the tipline's ``keys`` (default: the default tipline's), whose
    queue ``queue`` must be."""
    config = config or ReviewerConfig()
    keys = keys or KeySpace()
    if queue.stream != keys.stream:
        raise ValueError("the queue is not the tipline's (its keys and its queue differ)")
    view = ReviewerDesk(
        keys=keys,
        queue=queue,
        durable=durable,
        accounts=Accounts(durable, prefix=keys.desk),
        ephemeral=ephemeral,
        keyring=keyring,
        questionnaire=questionnaire,
        species=species,
        config=config,
    )

    @web.middleware
    async def guard(request: web.Request, handler: HandlerType) -> web.StreamResponse:
        try:
            if request.method not in ("GET", "HEAD") and not same_origin(request):
                raise Refused(403, N_("Cross-site requests are refused."))
            return await handler(request)
        except Refused as exc:
            return view.render(
                "review-error.html", exc.status, signed=exc.signed, message=exc.message
            )
        except StorageError:
            log.error("the reviewer desk could not reach its storage")
            return view.render(
                "review-error.html",
                503,
                message=N_("The desk cannot reach the queue. Nothing was changed; try again."),
            )
        except NoPermissionError:
            log.error("Redis refused the reviewer desk a command (its user's rights)")
            return view.render(
                "review-error.html",
                503,
                message=N_(
                    "The organisation's Redis refused the desk: its Redis user lacks a right "
                    "the desk needs (reading the desk accounts, for one). Ask the admin; see "
                    "the reviewer desk in docs/review.md."
                ),
            )

    async def headers(request: web.Request, response: web.StreamResponse) -> None:
        # An attachment (a PDF shown in a frame of the tip page) may be framed by the
        # desk itself, under its own policy; every other response may not be framed.
        attachment = response.headers.pop("X-Tipline-Attachment", None) is not None
        guard_headers(
            response,
            csp=ATTACHMENT_CSP if attachment else REVIEW_CSP,
            tls=config.desk.tls,
            frame="SAMEORIGIN" if attachment else "DENY",
        )

    async def sweeper() -> None:
        while True:
            await asyncio.sleep(sweep_every)
            idle = keyring.sweep()
            if idle:
                view.forget(idle)
                log.info("an idle reviewer desk locked itself")

    sweeping: list[asyncio.Task[None]] = []

    async def start_sweeping(app: web.Application) -> None:
        sweeping.append(asyncio.get_running_loop().create_task(sweeper()))

    async def stop_sweeping(app: web.Application) -> None:
        while sweeping:
            sweeping.pop().cancel()

    app = web.Application(middlewares=[guard], client_max_size=1024 * 1024)
    app.on_response_prepare.append(headers)
    app.on_startup.append(start_sweeping)
    app.on_cleanup.append(stop_sweeping)
    r = app.router
    r.add_get("/", view.index)
    r.add_get("/login", view.login_page)
    r.add_post("/login", view.login)
    r.add_post("/logout", view.logout)
    r.add_get("/unlock", view.unlock_page)
    r.add_post("/unlock", view.unlock)
    r.add_post("/lock", view.lock)
    r.add_get("/queue", view.queue_page)
    r.add_post("/next", view.take_next)
    r.add_get("/case", view.open_case)
    r.add_get("/done", view.done_page)
    r.add_get("/tips/{case}", view.tip_page)
    r.add_get("/tips/{case}/files/{index}", view.attachment)
    r.add_post("/tips/{case}/verdict", view.verdict)
    r.add_post("/tips/{case}/ask", view.ask)
    r.add_post("/tips/{case}/export", view.export)
    r.add_get("/tips/{case}/export", view.export_page)
    r.add_post("/tips/{case}/share", view.share)
    r.add_get("/stats", view.stats)
    r.add_static("/static/", _PACKAGE / "static", follow_symlinks=False)
    return app
