"""The operator desk as an aiohttp application: server-rendered pages, a login, calls.

Every response, whatever made it (a page, a static file, an error), is marked
``Cache-Control: no-store`` and carries a strict Content-Security-Policy: scripts,
styles and images only from the desk itself, no inline script, no framing. Every form
carries a CSRF token tied to the session (the login form: to a cookie), and a request
that a browser marks as cross-site is refused before anything else is looked at.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from babel import Locale
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bots.render import Renderer
from conversations.messages import N_
from storage import StorageError
from storage.keys import KeySpace
from storage.throttle import Throttle, ThrottleRule

from .accounts import Account, Accounts
from .hotline import CHANNEL, CallView, Hotline, Outcome, country_names
from .i18n import gettext_in, negotiate
from .sessions import CallBook, Session, SessionStore, new_call_id
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

__all__ = ["LOGIN_RULES", "DeskConfig", "create_app"]

log = logging.getLogger(__name__)

#: Wrong passwords: 5 per account in 15 minutes, each followed by a doubling wait (1 s,
#: 2 s, 4 s, ...); 300 a minute over all accounts.
LOGIN_RULES: tuple[ThrottleRule, ThrottleRule] = (
    ThrottleRule(limit=5, window=timedelta(minutes=15), backoff=timedelta(seconds=1)),
    ThrottleRule(limit=300, window=timedelta(minutes=1)),
)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_PACKAGE = Path(str(resources.files("desk")))
HandlerType = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class DeskConfig:
    #: Served over TLS: cookies get ``Secure`` (and the ``__Host-`` prefix) and HSTS is sent.
    tls: bool = False
    #: A session ends after this long without a request.
    idle: timedelta = timedelta(minutes=30)
    login_rules: tuple[ThrottleRule, ThrottleRule] = LOGIN_RULES
    #: Write the operator's account name into each tip (``taken_by``). Off by default:
    #: an organisation turns it on (TIPLINE_DESK_RECORD_OPERATOR) when it needs to know
    #: who took a call.
    record_operator: bool = False

    @property
    def cookie(self) -> str:
        return "__Host-tipline-desk" if self.tls else "tipline-desk"

    @property
    def login_cookie(self) -> str:
        return "__Host-tipline-login" if self.tls else "tipline-login"


class Desk:
    """The views. One instance per application."""

    def __init__(
        self,
        *,
        hotline: Hotline,
        accounts: Accounts,
        ephemeral: aioredis.Redis,
        config: DeskConfig,
        draft_ttl: timedelta,
        keys: KeySpace,
    ) -> None:
        self.hotline = hotline
        self.accounts = accounts
        self.config = config
        self.sessions = SessionStore(ephemeral, idle=config.idle, prefix=keys.desk)
        self.calls = CallBook(ephemeral, ttl=draft_ttl, prefix=keys.desk)
        self.throttle = Throttle(ephemeral, prefix=keys.desk_throttle)
        self.templates = Environment(
            loader=FileSystemLoader(str(_PACKAGE / "templates")),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # ------------------------------------------------------------------ helpers
    def render(
        self, name: str, status: int = 200, *, lang: str = "en", **context: Any
    ) -> web.Response:
        """A page in ``lang``: the desk's own words in it (:mod:`desk.i18n`), and the
        page's language and direction set for it."""
        rtl = self.hotline_rtl(lang)
        html = self.templates.get_template(name).render(
            html_lang=bcp47(lang), html_dir="rtl" if rtl else "ltr", _=gettext_in(lang), **context
        )
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def hotline_rtl(self, lang: str) -> bool:
        return Renderer(lang, self.hotline.questionnaire).rtl

    def _set_cookie(self, response: web.StreamResponse, name: str, value: str) -> None:
        set_private_cookie(response, name, value, tls=self.config.tls)

    async def _session(self, request: web.Request) -> tuple[Session, Account]:
        """The signed-in operator, or a redirect to the login page."""
        signed = await signed_in(
            request,
            cookie=self.config.cookie,
            sessions=self.sessions,
            accounts=self.accounts,
            role="operator",
            wrong_role=N_(
                "This account is a reviewer's. The reviewer desk runs on the reviewer's own "
                "machine and is not part of this desk."
            ),
        )
        return signed.session, signed.account

    async def _form(self, request: web.Request, csrf: str) -> dict[str, str]:
        form, _ = await checked_form(request, csrf)
        return form

    def operator_lang(self, account: Account) -> str:
        """The operator's language: of the questions' "for you" side and of the desk's
        own words (those in English while the desk's catalogue of it is incomplete)."""
        languages = self.hotline.languages
        return account.lang if account.lang in languages else "en"

    # ------------------------------------------------------------------ login
    async def login_page(self, request: web.Request) -> web.StreamResponse:
        return self._login(request, 200, "")

    def _login(self, request: web.Request, status: int, error: str) -> web.Response:
        token = secrets.token_urlsafe(32)
        lang = negotiate(request.headers.get("Accept-Language", ""), self.hotline.languages)
        response = self.render("login.html", status, lang=lang, csrf=token, error=error)
        self._set_cookie(response, self.config.login_cookie, token)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        expected = request.cookies.get(self.config.login_cookie, "")
        form = await self._form(request, expected)
        name = form.get("name", "").strip().casefold()
        password = form.get("password", "")
        scope = login_scope(name)
        if await login_throttled(self.throttle, self.config.login_rules, scope):
            return self._login(
                request, 429, N_("Too many wrong passwords. Wait a little, then try again.")
            )
        account = await self.accounts.authenticate(name, password)
        if account is None:
            await login_failed(self.throttle, self.config.login_rules, scope)
            log.info("a desk login failed")
            return self._login(request, 401, N_("Wrong name or password."))
        session = await self.sessions.create(account.name, account.generation)
        response = _see_other("/calls")
        self._set_cookie(response, self.config.cookie, session.token)
        response.del_cookie(self.config.login_cookie, path="/")
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        session, _ = await self._session(request)
        await self._form(request, session.csrf)
        await self.sessions.end(session.token)
        response = _see_other("/login")
        response.del_cookie(self.config.cookie, path="/")
        return response

    # ------------------------------------------------------------------ calls
    async def index(self, request: web.Request) -> web.StreamResponse:
        await self._session(request)
        raise web.HTTPSeeOther("/calls")

    async def call_list(self, request: web.Request) -> web.StreamResponse:
        session, account = await self._session(request)
        lang = self.operator_lang(account)
        held = []
        for call_id in await self.calls.calls(account.name):
            actions = await self.hotline.current(call_id)
            if actions is None:
                await self.calls.remove(account.name, call_id)
                continue
            view = self.hotline.view(call_id, actions, lang, lang)
            if view.finished:
                await self.calls.remove(account.name, call_id)
                continue
            held.append(view)
        languages = [
            (code, self.hotline.language_name(code), _language_in(code, lang))
            for code in self.hotline.languages
        ]
        return self.render(
            "calls.html",
            lang=lang,
            account=account,
            csrf=session.csrf,
            held=held,
            languages=languages,
        )

    async def new_call(self, request: web.Request) -> web.StreamResponse:
        session, account = await self._session(request)
        form = await self._form(request, session.csrf)
        language = form.get("lang", "")
        if language not in self.hotline.languages:
            raise Refused(
                400, N_("Choose the caller's language from the list."), Signed(session, account)
            )
        call_id = new_call_id()
        await self.calls.add(account.name, call_id)
        await self.hotline.start(call_id, language, followup=form.get("mode") == "followup")
        raise web.HTTPSeeOther(f"/calls/{call_id}")

    async def _own_call(self, request: web.Request, session: Session, account: Account) -> str:
        call_id = request.match_info["call"]
        if not await self.calls.owns(account.name, call_id):
            # Another operator's call looks exactly like one that does not exist.
            raise Refused(404, N_("There is no such call among yours."), Signed(session, account))
        return call_id

    async def call_page(self, request: web.Request) -> web.StreamResponse:
        session, account = await self._session(request)
        call_id = await self._own_call(request, session, account)
        actions = await self.hotline.current(call_id)
        if actions is None:
            await self.calls.remove(account.name, call_id)
            raise web.HTTPSeeOther("/calls")
        return self._call(session, account, call_id, actions)

    async def answer(self, request: web.Request) -> web.StreamResponse:
        session, account = await self._session(request)
        call_id = await self._own_call(request, session, account)
        form, content = await checked_form(request, session.csrf)
        step = form.get("step", "")
        if content is not None and form.get("command") != "cancel":
            result = await self.hotline.attach(call_id, step, content)
        else:
            taken_by = account.name if self.config.record_operator else None
            result = await self.hotline.answer(call_id, step, form, taken_by=taken_by)
        if result is None:
            await self.calls.remove(account.name, call_id)
            raise web.HTTPSeeOther("/calls")
        await self.calls.touch(account.name)
        return self._call(session, account, call_id, result.actions, outcome=result)

    async def species(self, request: web.Request) -> web.StreamResponse:
        """Species suggestions for the words typed so far (POSTed with the CSRF token, so
        the caller's words never sit in a URL or an access log)."""
        session, account = await self._session(request)
        call_id = await self._own_call(request, session, account)
        form = await self._form(request, session.csrf)
        found = await self.hotline.suggest_species(
            call_id, form.get("q", ""), self.operator_lang(account)
        )
        return web.json_response([dataclasses.asdict(s) for s in found])

    def _call(
        self,
        session: Session,
        account: Account,
        call_id: str,
        actions: list[Any],
        *,
        outcome: Outcome | None = None,
    ) -> web.Response:
        lang = self.operator_lang(account)
        view: CallView = self.hotline.view(call_id, actions, lang, lang)
        countries: list[str] = []
        if view.question is not None and view.question.input == "country":
            countries = country_names([view.caller_lang, lang])
        languages = [
            (code, self.hotline.language_name(code), _language_in(code, lang))
            for code in self.hotline.languages
        ]
        return self.render(
            "call.html",
            lang=lang,
            account=account,
            csrf=session.csrf,
            view=view,
            stale=outcome is not None and outcome.stale,
            findings=outcome.findings if outcome else (),
            typed=outcome.typed if outcome else "",
            countries=countries,
            caller_lang_tag=bcp47(view.caller_lang),
            languages=languages,
        )


def _language_in(code: str, lang: str) -> str:
    """The name of language ``code`` in language ``lang``."""
    try:
        return str(Locale.parse(code).get_display_name(Locale.parse(lang)))
    except ValueError:
        return code


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def bcp47(code: str) -> str:
    """``zh_Hans`` -> ``zh-Hans``, for the ``lang`` attribute."""
    return code.replace("_", "-")


def create_app(
    *,
    hotline: Hotline,
    accounts: Accounts,
    ephemeral: aioredis.Redis,
    config: DeskConfig | None = None,
    draft_ttl: timedelta = timedelta(hours=24),
    keys: KeySpace | None = None,
) -> web.Application:
    """The desk application over ``hotline`` (an intake of the ``hotline`` channel);
    its sign-ins and calls under the tipline's ``keys`` (default: the default tipline's)."""
    if hotline.intake.channel != CHANNEL:
        raise ValueError("the desk takes calls on the hotline channel only")
    config = config or DeskConfig()
    desk = Desk(
        hotline=hotline,
        accounts=accounts,
        ephemeral=ephemeral,
        config=config,
        draft_ttl=draft_ttl,
        keys=keys or KeySpace(),
    )

    @web.middleware
    async def guard(request: web.Request, handler: HandlerType) -> web.StreamResponse:
        try:
            if request.method not in ("GET", "HEAD") and not same_origin(request):
                raise Refused(403, N_("Cross-site requests are refused."))
            return await handler(request)
        except Refused as exc:
            signed = exc.signed
            return desk.render(
                "error.html",
                exc.status,
                lang=desk.operator_lang(signed.account) if signed else "en",
                message=exc.message,
                account=signed.account if signed else None,
                csrf=signed.session.csrf if signed else "",
            )
        except StorageError:
            log.error("the desk could not reach its storage")
            return desk.render(
                "error.html",
                503,
                message=N_("The desk cannot reach its storage. Nothing was saved; try again."),
            )

    async def headers(request: web.Request, response: web.StreamResponse) -> None:
        guard_headers(response, csp=CSP, tls=config.tls)

    # A form may carry a file up to the scrubber's limit (what is bigger is refused there).
    app = web.Application(
        middlewares=[guard],
        client_max_size=hotline.intake.scrub_limits.max_bytes + 1024 * 1024,
    )
    app.on_response_prepare.append(headers)
    app.router.add_get("/", desk.index)
    app.router.add_get("/login", desk.login_page)
    app.router.add_post("/login", desk.login)
    app.router.add_post("/logout", desk.logout)
    app.router.add_get("/calls", desk.call_list)
    app.router.add_post("/calls", desk.new_call)
    app.router.add_get("/calls/{call}", desk.call_page)
    app.router.add_post("/calls/{call}", desk.answer)
    app.router.add_post("/calls/{call}/species", desk.species)
    app.router.add_static("/static/", _PACKAGE / "static", follow_symlinks=False)
    return app
