"""What both desks do the same way at the HTTP level: the security headers of every
response, refusing cross-site requests, CSRF tokens, private cookies, throttled logins,
who is signed in, and a refusal shown on an error page. One place, so that a rule is
changed once for the operator and reviewer desks."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from conversations.messages import N_
from storage.throttle import Throttle, ThrottleRule

from .accounts import Account, Accounts, Role
from .sessions import Session, SessionStore

__all__ = [
    "Refused",
    "Signed",
    "checked_form",
    "csrf_matches",
    "guard_headers",
    "login_failed",
    "login_scope",
    "login_throttled",
    "same_origin",
    "set_private_cookie",
    "signed_in",
    "to_login",
]


@dataclass(frozen=True)
class Signed:
    """The signed-in user of a request: the session and its account."""

    session: Session
    account: Account


class Refused(Exception):
    """A refusal, shown on the desk's error page with ``status`` (with the user's bar
    when ``signed`` says who is signed in)."""

    def __init__(self, status: int, message: str, signed: Signed | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.signed = signed


def to_login(request: web.Request) -> web.HTTPException:
    """A page asked for without a session goes to the login page; a form sent without
    one is refused (it would be lost in the redirect)."""
    if request.method == "GET":
        return web.HTTPSeeOther("/login")
    return web.HTTPForbidden(text="Sign in first.", content_type="text/plain")


async def signed_in(
    request: web.Request,
    *,
    cookie: str,
    sessions: SessionStore,
    accounts: Accounts,
    role: Role,
    wrong_role: str,
    on_end: Callable[[Session], None] | None = None,
) -> Signed:
    """Who is signed in, by the session cookie ``cookie``; a redirect to the login page
    when nobody is. A session of an account disabled (or whose password changed) since
    it began is ended (``on_end`` is told); an account of another role is refused with
    ``wrong_role``."""
    token = request.cookies.get(cookie, "")
    session = await sessions.get(token) if token else None
    account = await accounts.get(session.user) if session else None
    if session is None or account is None:
        raise to_login(request)
    if account.disabled or account.generation != session.generation:
        await sessions.end(session.token)
        if on_end is not None:
            on_end(session)
        raise to_login(request)
    if account.role != role:
        raise Refused(403, wrong_role)
    return Signed(session, account)


async def checked_form(request: web.Request, csrf: str) -> tuple[dict[str, str], bytes | None]:
    """The form's text fields, checked against the CSRF token ``csrf``, and the bytes of
    the file it carries in ``file``, if any (its name is dropped unread)."""
    data = await request.post()
    form = {k: v for k, v in data.items() if isinstance(v, str)}
    if not csrf_matches(form.get("csrf", ""), csrf):
        raise Refused(403, N_("This form has expired or did not come from the desk. Reload."))
    upload = data.get("file")
    content = upload.file.read() if isinstance(upload, web.FileField) else None
    return form, content or None


def guard_headers(
    response: web.StreamResponse, *, csp: str, tls: bool, frame: str = "DENY"
) -> None:
    """The headers every response of either desk carries: nothing cached (decrypted
    tips, drafts), a strict Content-Security-Policy, no sniffing, framing only as
    ``frame`` says, no referrer beyond the desk, and HSTS under TLS."""
    response.headers["Server"] = "Tipline"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = frame
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if tls:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"


def same_origin(request: web.Request) -> bool:
    """False for a request the browser says came from another site (or hides where it
    came from: the desk's own pages send their origin, under ``Referrer-Policy:
    same-origin``)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return origin == f"{request.scheme}://{request.host}"


def csrf_matches(sent: str, expected: str) -> bool:
    """The form's CSRF token is the session's (compared in constant time); never true
    for an empty expected token."""
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def set_private_cookie(response: web.StreamResponse, name: str, value: str, *, tls: bool) -> None:
    """A cookie scripts cannot read, sent to this site only (and only over TLS under TLS)."""
    response.set_cookie(name, value, path="/", httponly=True, samesite="Strict", secure=tls)


def login_scope(name: str) -> str:
    """The throttle scope of an account name (hashed: the ephemeral Redis keeps no names)."""
    return "login:" + hashlib.sha256(name.encode()).hexdigest()[:32]


async def login_throttled(
    throttle: Throttle, rules: tuple[ThrottleRule, ThrottleRule], scope: str
) -> bool:
    """Whether a login for ``scope`` must wait (per account, or for the desk overall)."""
    per_account, overall = rules
    for key, rule in ((scope, per_account), ("login:all", overall)):
        if await throttle.blocked(key, rule):
            return True
    return False


async def login_failed(
    throttle: Throttle, rules: tuple[ThrottleRule, ThrottleRule], scope: str
) -> None:
    """Count a wrong password against the account and the desk."""
    per_account, overall = rules
    for key, rule in ((scope, per_account), ("login:all", overall)):
        await throttle.failed(key, rule)
