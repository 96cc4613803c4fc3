"""The desk on a deployment of several tiplines: each tipline's desk accounts are its
own (``tipline desk users ... --tipline NAME``), and a desk started for one tipline
signs in only that tipline's people, keeping its sign-ins under that tipline's keys."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import aiohttp
import redis.asyncio as aioredis
from click.testing import CliRunner, Result

from desk import Accounts
from privacy import X25519Identity
from storage import connect
from storage.keys import KeySpace
from tipline.cli import main

from .test_desk_cli import Admin, _free_port, _login_page, _serve, _stop

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


async def _sign_in(base: str, name: str) -> tuple[int, str]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base, cookie_jar=jar) as browser:
        async with browser.get("/login") as page:
            found = re.search(r'name="csrf" value="([^"]*)"', await page.text())
            assert found is not None
        async with browser.post(
            "/login",
            data={"csrf": found.group(1), "name": name, "password": PASSWORD},
            allow_redirects=False,
        ) as response:
            return response.status, response.headers.get("Location", "")


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
        assert asyncio.run(_sign_in(base, "amina")) == (303, "/calls")
        status, location = asyncio.run(_sign_in(base, "bao"))
        assert (status, location) != (303, "/calls")
        [session] = _keys(ephemeral_url, "*desk:session:*")  # amina's only
        assert session.startswith("tipline:t:alpha:desk:session:")
    finally:
        _stop(process)
