"""The desk on a deployment of several tiplines: each tipline's desk accounts are its
own (``tipline desk users ... --tipline NAME``), and a desk started for one tipline
signs in only that tipline's people, keeping its sign-ins under that tipline's keys."""

from __future__ import annotations

import asyncio
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis
from aiohttp import CookieJar, web
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner, Result

from desk import Accounts
from desk.reviewer import Keyring, create_reviewer_app
from privacy import X25519Identity, write_identity_file
from storage import TipQueue, connect
from storage.keys import KeySpace
from tipline.cli import main

from .deskharness import questionnaire
from .reviewdeskharness import PASSPHRASE, WORK_FACTOR
from .test_desk_cli import Admin, _free_port, _login_page, _serve, _stop
from .test_review_desk import queue_tip
from .test_review_desk_http import case_of, log_in, take_next, unlock

PASSWORD = "Ngorongoro-Crater-2026"
T = TypeVar("T")


def _on(url: str, work: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
    """``work`` on a client of ``url``, in an event loop of its own."""

    async def run() -> T:
        client = await connect(url)
        try:
            return await work(client)
        finally:
            await client.aclose()

    return asyncio.run(run())


def _keys(url: str, pattern: str) -> list[str]:
    async def keys(client: aioredis.Redis) -> list[str]:
        found = await client.keys(pattern)
        return sorted(k.decode() if isinstance(k, bytes) else k for k in found)

    return _on(url, keys)


def _admin(tmp_path: Path, redis_url: str, ephemeral_url: str) -> Admin:
    for url in (redis_url, ephemeral_url):
        _on(url, lambda client: client.flushdb())
    config = tmp_path / "tiplines.yaml"
    lines = ["tiplines:"]
    for name in ("alpha", "beta"):
        lines += [
            f"  {name}:",
            f"    token_file: {name}.token",
            f"    recipients: [{X25519Identity.generate().recipient}]",
        ]
    config.write_text("\n".join(lines) + "\n")
    env = {
        "HOME": str(tmp_path / "home"),
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "TIPLINE_CONFIG": str(config),
        "REDIS_URL": redis_url,
        "REDIS_EPHEMERAL_URL": ephemeral_url,
    }
    return Admin(env, tmp_path)


def _desk(admin: Admin, *args: str, stdin: str = "", **env: str) -> Result:
    return CliRunner().invoke(main, ["desk", *args], input=stdin, env={**admin.env, **env})


def test_each_tipline_has_its_own_desk_accounts(
    tmp_path: Path, redis_url: str, ephemeral_url: str
) -> None:
    admin = _admin(tmp_path, redis_url, ephemeral_url)
    refused = _desk(admin, "users", "list")
    assert refused.exit_code != 0 and "several tiplines (alpha, beta)" in refused.output
    added = _desk(
        admin, "users", "add", "amina", "--role", "operator", "--tipline", "alpha", stdin=PASSWORD
    )
    assert added.exit_code == 0, added.output
    # The option on the group works as well; TIPLINE_NAME does, too.
    added = _desk(
        admin, "--tipline", "beta", "users", "add", "bao", "--role", "reviewer", stdin=PASSWORD
    )
    assert added.exit_code == 0, added.output
    assert _desk(admin, "users", "list", "--tipline", "alpha").stdout.splitlines() == [
        "amina\toperator\tactive"
    ]
    assert _desk(admin, "users", "list", TIPLINE_NAME="beta").stdout.splitlines() == [
        "bao\treviewer\tactive"
    ]
    # A name on the command line wins over TIPLINE_NAME.
    listed = _desk(admin, "users", "list", "--tipline", "alpha", TIPLINE_NAME="beta")
    assert listed.stdout.splitlines() == ["amina\toperator\tactive"]
    missing = _desk(admin, "users", "disable", "bao", "--tipline", "alpha")
    assert missing.exit_code != 0 and "no account" in missing.output
    keys = _keys(redis_url, "*desk*")
    assert "tipline:t:alpha:desk:user:amina" in keys and "tipline:t:beta:desk:user:bao" in keys
    assert not [k for k in keys if k.startswith("tipline:desk:")]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _sign_in(base: str, name: str) -> tuple[int, str]:
    """A browser's sign-in at the desk: the login form, then its post; the answer's
    status and where it sends the browser."""
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
    )
    # The desk's own URL on loopback, built by the test.
    with browser.open(f"{base}/login", timeout=10) as page:
        found = re.search(r'name="csrf" value="([^"]*)"', page.read().decode())
        assert found is not None
    form = urllib.parse.urlencode({"csrf": found.group(1), "name": name, "password": PASSWORD})
    login = f"{base}/login"
    request = urllib.request.Request(login, data=form.encode(), headers={"Origin": base})  # noqa: S310
    try:
        with browser.open(request, timeout=10) as answer:
            return answer.status, answer.headers.get("Location", "")
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers.get("Location", "")


def test_a_tipline_s_desk_signs_in_only_its_own_people(
    tmp_path: Path, redis_url: str, ephemeral_url: str
) -> None:
    admin = _admin(tmp_path, redis_url, ephemeral_url)

    async def accounts(client: aioredis.Redis) -> None:
        await Accounts(client, prefix=KeySpace("alpha").desk).add("amina", "operator", PASSWORD)
        await Accounts(client, prefix=KeySpace("beta").desk).add("bao", "operator", PASSWORD)

    _on(redis_url, accounts)
    port = _free_port()
    process = _serve(admin, "--tipline", "alpha", "--port", str(port))
    try:
        _login_page(process, f"http://127.0.0.1:{port}/login", None)
        base = f"http://127.0.0.1:{port}"
        assert _sign_in(base, "amina") == (303, "/calls")
        status, location = _sign_in(base, "bao")
        assert (status, location) != (303, "/calls")
        # What the desk keeps of sign-ins (and bao's failed one) is under alpha's keys.
        kept = _keys(ephemeral_url, "*desk:*")
        assert kept and all(k.startswith("tipline:t:alpha:desk:") for k in kept), kept
        assert len([k for k in kept if ":throttle:" not in k]) == 1  # amina's only
    finally:
        _stop(process)


async def test_a_tipline_s_reviewer_desk_shows_its_queue_to_its_reviewers_only(
    redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis, tmp_path: Path
) -> None:
    alpha = KeySpace("alpha")
    identity = X25519Identity.generate()
    key_file = tmp_path / "reviewer.key"
    write_identity_file(key_file, identity, passphrase=PASSPHRASE, work_factor=WORK_FACTOR)
    default_queue = TipQueue(redis_client)
    queue = TipQueue.of(redis_client, alpha)
    for each in (queue, default_queue):
        await each.ensure_group()
    theirs = await queue_tip(default_queue, [identity.recipient])
    ours = await queue_tip(queue, [identity.recipient])
    await Accounts(redis_client, prefix=alpha.desk).add("wanjiru", "reviewer", PASSWORD)
    await Accounts(redis_client).add("odhiambo", "reviewer", PASSWORD)

    def app(on: TipQueue) -> web.Application:
        keyring = Keyring(key_file.read_bytes(), str(key_file), lock_after=timedelta(minutes=5))
        return create_reviewer_app(
            queue=on,
            keys=alpha,
            durable=redis_client,
            ephemeral=ephemeral_client,
            keyring=keyring,
            questionnaire=questionnaire(),
        )

    with pytest.raises(ValueError, match="the queue is not the tipline's"):
        app(default_queue)
    client: TestClient[web.Request, web.Application] = TestClient(
        TestServer(app(queue)), cookie_jar=CookieJar(unsafe=True)
    )
    await client.start_server()
    try:
        # The default tipline's account is no account here.
        refused = await log_in(client, "odhiambo", PASSWORD)
        assert refused.headers.get("Location") != "/unlock"
        assert (await log_in(client, "wanjiru", PASSWORD)).headers["Location"] == "/unlock"
        assert (await unlock(client)).headers["Location"] == "/queue"
        assert await case_of(client) == ours
        again = await take_next(client)  # nothing else waits in alpha's queue
        assert again.headers.get("Location", "") != f"/tips/{theirs}"
        missing = await client.get(f"/tips/{theirs}")
        assert missing.status == 404
    finally:
        await client.close()
    kept = [k.decode() if isinstance(k, bytes) else k for k in await ephemeral_client.keys("*")]
    assert kept and all(k.startswith(alpha.root) for k in kept), kept
