"""What both desks do the same way at the HTTP level: the security headers of every
response, refusing cross-site requests, CSRF tokens, private cookies and throttled
logins. One place, so that a rule is changed once for the operator and reviewer desks."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from storage.throttle import Throttle, ThrottleRule

__all__ = [
    "csrf_matches",
    "guard_headers",
    "login_failed",
    "login_scope",
    "login_throttled",
    "same_origin",
    "set_private_cookie",
]


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
