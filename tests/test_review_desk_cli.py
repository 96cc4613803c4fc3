"""``tipline desk --role reviewer`` as a reviewer runs it on their own machine: loopback
only, whatever the flags; the identity's passphrase asked in the page; no response
cacheable; nothing written under the data directory while a tip is read; and the
statistics page shows what ``tipline review stats --json`` prints."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner

from desk import Accounts
from storage import connect
from tipline.cli import main

from .deskharness import PASSWORD, hidden
from .reviewdeskharness import DESCRIPTION, PASSPHRASE, build_reviewer_desk
from .samples.images import camera_jpeg

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def env(tmp_path: Path, redis_url: str, ephemeral_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(ROOT),
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "REDIS_URL": redis_url,
        "REDIS_EPHEMERAL_URL": ephemeral_url,
    }


def test_the_reviewer_desk_listens_on_loopback_only(env: dict[str, str], tmp_path: Path) -> None:
    key = tmp_path / "k"
    key.write_text("not read: the address is refused first\n")
    runner = CliRunner()
    for args in (
        ["--host", "0.0.0.0"],  # noqa: S104 (refused)
        ["--host", "192.0.2.7", "--allow-remote"],
        ["--allow-remote"],
    ):
        refused = runner.invoke(
            main, ["desk", "--role", "reviewer", "--identity", str(key), *args], env=env
        )
        assert refused.exit_code == 2, refused.output
        assert "loopback only" in refused.output and "even with TLS" in refused.output
    tls = runner.invoke(
        main,
        [
            "desk",
            "--role",
            "reviewer",
            "--identity",
            str(key),
            "--tls-cert",
            str(key),
            "--tls-key",
            str(key),
        ],
        env=env,
    )
    assert tls.exit_code == 2 and "has no TLS" in tls.output
    missing = runner.invoke(main, ["desk", "--role", "reviewer"], env=env)
    assert missing.exit_code == 2 and "--identity FILE" in missing.output


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and directory under ``root``: (size, modification time in ns)."""
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        found[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    info = root.lstat()
    found["."] = (info.st_size, info.st_mtime_ns)
    return found


async def _seed(env: dict[str, str], tmp_path: Path) -> Path:
    durable = await connect(env["REDIS_URL"])
    ephemeral = await connect(env["REDIS_EPHEMERAL_URL"])
    try:
        await durable.flushdb()
        await ephemeral.flushdb()
        parts = await build_reviewer_desk(durable, ephemeral, tmp_path / "seed")
        await parts.tipster.report(photo=camera_jpeg(tmp_path), followup=True)
        await parts.tipster.report(lang="ar", description="شاحنة بيضاء")
        await Accounts(durable).add("wanjiru", "reviewer", PASSWORD)
        return parts.key_file
    finally:
        await durable.aclose()
        await ephemeral.aclose()


@pytest.mark.parametrize("sessions", ["given", "embedded"])
def test_no_response_is_cacheable_and_nothing_is_written_while_a_tip_is_read(
    env: dict[str, str], tmp_path: Path, sessions: str
) -> None:
    """``sessions``: the ephemeral Redis given (REDIS_EPHEMERAL_URL), or, as on a
    reviewer's machine that only has the organisation's REDIS_URL, one the desk starts
    itself in its data directory (persistence off)."""
    (tmp_path / "seed").mkdir()
    key = asyncio.run(_seed(env, tmp_path))
    data = Path(env["TIPLINE_DATA_DIR"])
    port = _free_port()
    desk_env = {**env, "TIPLINE_IDENTITY": str(key), "TIPLINE_EXPORT_DIR": str(tmp_path / "out")}
    if sessions == "embedded":
        del desk_env["REDIS_EPHEMERAL_URL"]
    process = subprocess.Popen(
        [sys.executable, "-m", "tipline", "desk", "--role", "reviewer", "--port", str(port)],
        env=desk_env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        seen, before, after, stats_page = asyncio.run(_read_a_tip(process, url, data))
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert f"reviewer desk: serving on {url}/ (identity protected" in err
    assert before == after, "the desk wrote under its data directory while a tip was read"
    assert len(seen) >= 10
    for address, headers in seen:
        assert headers.get("Cache-Control") == "no-store", address
        assert headers.get("Pragma") == "no-cache", address
    assert any("/files/0" in a and h["Content-Type"] == "image/jpeg" for a, h in seen)
    # Nothing of the tip in what the desk printed.
    assert DESCRIPTION not in err and "شاحنة" not in err

    # The same numbers as the command line's (its passphrase from standard input).
    printed = CliRunner().invoke(
        main,
        ["review", "stats", "--json", "--days", "30", "--identity", str(key)],
        input=PASSPHRASE + "\n",
        env=env,
    )
    assert printed.exit_code == 0, printed.output
    numbers = json.loads(printed.stdout)
    assert re.search(rf'id="tips">{numbers["tips"]}<', stats_page)
    assert re.search(rf'id="depth">{numbers["depth"]}<', stats_page)
    drawn = dict(re.findall(r'data-day="([0-9-]+)" data-count="(\d+)"', stats_page))
    assert {d: int(n) for d, n in drawn.items() if n != "0"} == numbers["by_day"]
    for language, count in numbers["by_language"].items():
        assert re.search(rf'data-label="[^"]*\b{language}\)" data-count="{count}"', stats_page)


async def _read_a_tip(
    process: subprocess.Popen[str], url: str, data: Path
) -> tuple[list[tuple[str, dict[str, str]]], object, object, str]:
    seen: list[tuple[str, dict[str, str]]] = []
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:

        async def get(path: str) -> str:
            async with http.get(url + path) as response:
                for hop in (*response.history, response):
                    seen.append((str(hop.url), dict(hop.headers)))
                assert response.status == 200, (path, response.status)
                body = await response.read()
                return body.decode("utf-8", errors="replace")

        async def post(path: str, form: dict[str, str]) -> str:
            async with http.post(url + path, data=form) as response:
                for hop in (*response.history, response):
                    seen.append((str(hop.url), dict(hop.headers)))
                return await response.text()

        deadline = time.monotonic() + 30
        while True:
            try:
                login = await get("/login")
                break
            except aiohttp.ClientConnectionError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the desk did not start"
                await asyncio.sleep(0.2)
        page = await post(
            "/login", {"csrf": hidden(login, "csrf"), "name": "wanjiru", "password": PASSWORD}
        )
        assert 'id="unlock"' in page
        queue = await post("/unlock", {"csrf": hidden(page, "csrf"), "passphrase": PASSPHRASE})
        assert 'id="take-next"' in queue
        before = _tree(data)
        tip = await post("/next", {"csrf": hidden(queue, "csrf")})
        case = re.search(r'id="case">([a-z0-9]+)<', tip)
        assert case is not None, tip
        await get(f"/tips/{case.group(1)}?map=1")
        await get(f"/tips/{case.group(1)}/files/0")
        await get("/static/review.css")
        stats = await get("/stats?days=30")
        after = _tree(data)
        await post("/logout", {"csrf": hidden(stats, "csrf")})
    return seen, before, after, stats
