"""``tipline run telegram --webhook URL --workers 3`` as an organisation runs it: three
worker processes on one socket, the fake Bot API posting updates as Telegram does (many
at once, one chat's in order), hundreds of tipsters at once, and one worker SIGKILLed in
the middle. Every conversation completes; no tip is lost or queued twice; each tipster's
answers land on their own questions in order."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from conversations import messages as m
from privacy import X25519Identity, decrypt
from storage import TipQueue

from .fakebotapi import FakeBotApi, FakeUser
from .leaks import assert_absent, redis_contents
from .redis_processes import free_port
from .test_telegram_parity import WEBHOOK_SECRET, script
from .test_telegram_process import _env, fake  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[1]
TIPSTERS = 200
FIRST_ID = 8_100_000_000
STARTED = re.compile(rb"worker (\d+) started \(pid (\d+)\)")


def _description(i: int) -> str:
    return f"Report number {i}: ivory-tusks-{i * 7919} moved at night"


def _species(i: int) -> str:
    return f"Sisik-{i * 104729} scales"


def _read(log: Path) -> bytes:
    return log.read_bytes()


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


def _pids(log: Path) -> dict[int, list[int]]:
    """Worker index -> the pids it had, in order, from the supervisor's log."""
    found: dict[int, list[int]] = {}
    for index, pid in STARTED.findall(_read(log)):
        found.setdefault(int(index), []).append(int(pid))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: its supervisor has not reaped it yet.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def worker_env(
    tmp_path: Path,
    api: FakeBotApi,
    redis_url: str,
    ephemeral_url: str,
    recipient: str,
    **extra: str,
) -> dict[str, str]:
    """The environment of a bot on the fake server and the test run's Redis servers."""
    settings = {
        "REDIS_URL": redis_url,
        "REDIS_EPHEMERAL_URL": ephemeral_url,
        "TIPLINE_RECIPIENTS": recipient,
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE": api.base_url,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    return _env(tmp_path, **{**settings, **extra})


@asynccontextmanager
async def webhook_workers(
    api: FakeBotApi, env: dict[str, str], log: Path, workers: int, *args: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``tipline -v run telegram --webhook ... --workers N [args]`` on a free port, once a
    worker has set the webhook; stopped with SIGTERM afterwards, which must end it
    cleanly."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    with log.open("ab") as out:
        supervisor = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tipline",
            "-v",
            "run",
            "telegram",
            *args,
            "--webhook",
            url,
            "--listen",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            env=env,
            cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    try:
        await api.wait_for(
            lambda: api.webhook is not None or supervisor.returncode is not None,
            seconds=60,
            what="a worker to set the webhook",
        )
        assert supervisor.returncode is None, _tail(log)
        assert api.webhook is not None and api.webhook[0] == url
        yield supervisor
    finally:
        if supervisor.returncode is None:
            supervisor.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(supervisor.wait(), 60) == 0, _tail(log)


async def _walk(user: FakeUser, until: str) -> None:
    """Answer with the usual script until ``until``, each tipster at their own pace: each
    waits for the bot to be done with their own updates, not everyone's."""
    answers = script(user)
    for _ in range(40):
        step = user.step()
        if step == until:
            return
        assert step is not None and step in answers, user.texts()[-3:]
        await answers[step]()
        await user.api.chat_settled(user.id, 120)
    raise AssertionError(f"never reached {until!r}")


async def _tipster(api: FakeBotApi, i: int) -> None:
    user: FakeUser = api.user(FIRST_ID + i, f"Tipster{i}", language_code="en")
    await user.send("/start")
    await api.chat_settled(user.id, 120)
    await _walk(user, "description")
    # Two messages at once: the second must land on the question after the first.
    await user.send(_description(i), _species(i))
    await api.chat_settled(user.id, 120)
    await _walk(user, "review")
    await user.tap("send")
    await api.chat_settled(user.id, 120)
    assert m.SUBMITTED in user.texts(), user.texts()[-3:]


@pytest.mark.timeout(600)
async def test_three_workers_serve_hundreds_of_tipsters_while_one_is_killed(
    fake: FakeBotApi,  # noqa: F811 (the fixture imported above)
    redis_client: aioredis.Redis,
    redis_url: str,
    ephemeral_client: aioredis.Redis,
    ephemeral_url: str,
    tmp_path: Path,
) -> None:
    reviewer = X25519Identity.generate()
    env = worker_env(tmp_path, fake, redis_url, ephemeral_url, str(reviewer.recipient))
    log = tmp_path / "bot.log"
    running: list[asyncio.Future[None]] = []
    try:
        async with webhook_workers(fake, env, log, 3, "--framework", "aiogram"):
            await _serve_and_kill_one(fake, log, running, reviewer, redis_client, ephemeral_client)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    # SIGTERM stopped every worker with it.
    for pids in _pids(log).values():
        for pid in pids:
            assert not _alive(pid)


async def _serve_and_kill_one(
    api: FakeBotApi,
    log: Path,
    running: list[asyncio.Future[None]],
    reviewer: X25519Identity,
    redis_client: aioredis.Redis,
    ephemeral_client: aioredis.Redis,
) -> None:
    # Only the first worker tells Telegram the URL and the command menu.
    assert len(api.calls_of("setWebhook")) == 1
    await api.wait_for(lambda: len(_pids(log)) == 3, 30, "three workers")

    conversations = [asyncio.ensure_future(_tipster(api, i)) for i in range(TIPSTERS)]
    running.extend(conversations)

    # Mid-run (every tipster well into the questions), one worker is killed.
    await api.wait_for(
        lambda: len(api.deliveries) > TIPSTERS * 5, 200, "the conversations to get going"
    )
    victim = _pids(log)[1][0]
    os.kill(victim, signal.SIGKILL)
    await asyncio.gather(*conversations)

    # The supervisor started another in its place; all three serve.
    await api.wait_for(lambda: len(_pids(log).get(1, [])) == 2, 30, "a new worker 1")
    assert b"worker 1 stopped (signal 9)" in _read(log)
    # Only what the killed worker held was posted again (at most max_connections).
    assert api.deliveries_per_update() < 1 + api.max_connections / (TIPSTERS * 10)

    # Every tip once, each with its own tipster's answers, in the order given.
    queue = TipQueue(redis_client)
    assert await queue.depth() == TIPSTERS
    seen: Counter[str] = Counter()
    for _ in range(TIPSTERS):
        tip = await queue.claim_new("reviewer")
        assert tip is not None
        transcript = json.loads(decrypt(tip.sealed, [reviewer]))
        description = transcript["answers"]["description"]["text"]
        number = int(description.split(":")[0].removeprefix("Report number "))
        assert description == _description(number)
        assert _species(number) in json.dumps(transcript["answers"]["species"])
        steps = [e["question"] for e in transcript["transcript"]]
        assert steps.count("description") == 1
        assert steps.index("description") < steps.index("species")
        seen[description] += 1
    assert len(seen) == TIPSTERS and set(seen.values()) == {1}

    # Nothing names a tipster in Redis or in the log.
    needles = [str(FIRST_ID + i) for i in range(0, TIPSTERS, 17)]
    needles += [f"Tipster{i}" for i in range(0, TIPSTERS, 17)]
    assert_absent(await redis_contents(redis_client, ephemeral_client), needles, "Redis")
    assert_absent(_read(log), needles, "the log")


async def test_workers_need_the_webhook(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tipline",
        "run",
        "telegram",
        "--workers",
        "2",
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "PYTHONPATH": str(ROOT),
            "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        },
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 2
    assert b"--workers needs --webhook" in output


async def test_workers_that_fail_at_their_start_stop_them_all(
    fake: FakeBotApi,  # noqa: F811 (the fixture imported above)
    redis_url: str,
    ephemeral_url: str,
    tmp_path: Path,
) -> None:
    """A refused token fails every worker the same way: the supervisor does not start
    them again and again, it stops with the error in its log."""
    wrong = "987654321:AAF-not-the-right-token-000000000000"
    port = free_port()
    recipient = str(X25519Identity.generate().recipient)
    env = worker_env(tmp_path, fake, redis_url, ephemeral_url, recipient, TELEGRAM_BOT_TOKEN=wrong)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tipline",
        "run",
        "telegram",
        "--webhook",
        f"http://127.0.0.1:{port}/hook",
        "--listen",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        env=env,
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode == 1, output
    assert b"Telegram refused the bot token" in output
    assert b"failed at its start" in output
    assert wrong.encode() not in output and WEBHOOK_SECRET.encode() not in output


def _two_free_ports() -> int:
    """A port p with p + 1 free too."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no two free ports in a row")


async def test_each_worker_serves_its_metrics_on_a_port_of_its_own(
    fake: FakeBotApi,  # noqa: F811 (the fixture imported above)
    redis_url: str,
    ephemeral_url: str,
    tmp_path: Path,
) -> None:
    recipient = str(X25519Identity.generate().recipient)
    env = worker_env(tmp_path, fake, redis_url, ephemeral_url, recipient)
    port = _two_free_ports()
    log = tmp_path / "bot.log"
    # Not the default host: the supervisor must pass the one it was given on.
    args = ("--metrics-port", str(port), "--metrics-host", "127.0.0.2")
    async with webhook_workers(fake, env, log, 2, *args), aiohttp.ClientSession() as http:
        for worker in (0, 1):
            url = f"http://127.0.0.2:{port + worker}/readyz"
            for _ in range(100):  # the second worker may still be starting
                try:
                    async with http.get(url) as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.2)
            else:
                raise AssertionError(f"worker {worker} serves no metrics: {_tail(log)}")
