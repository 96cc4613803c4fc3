"""The Redis users of docs/deploy.md, applied to a real redis-server: the bot can add to
the queue and keep drafts but cannot read the queue; reviewers can read and acknowledge
the queue but cannot touch drafts. Each user's real operations (the stores Tipline
uses) must work and the forbidden ones fail with NOPERM. docker-compose.yml must apply
the very same rules."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
import yaml
from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError

from desk.accounts import Accounts
from privacy import X25519Identity, write_identity_file
from storage import (
    DraftStore,
    RedisTarget,
    Spool,
    StorageUnavailableError,
    TipQueue,
    check_ephemeral,
    connect,
    submit_durably,
)
from storage.followup import FollowupStore
from storage.throttle import Throttle, ThrottleRule

from .redis_processes import RedisProcess, run_tipline, running
from .test_cli import CONVERSATION

ROOT = Path(__file__).resolve().parents[1]
PASSWORDS = {
    "BOT_PASSWORD": "bot-" + "a1" * 16,
    "REVIEWER_PASSWORD": "reviewer-" + "b2" * 16,
    "DESK_PASSWORD": "desk-" + "d4" * 16,
    "EPHEMERAL_PASSWORD": "ephemeral-" + "c3" * 16,
}
DRAFT_KEY = "d" * 64
LOOKUP = "e" * 64


def _doc_lines() -> list[list[str]]:
    """The ``ACL SETUSER`` lines of docs/deploy.md, split into words."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    blocks = re.findall(r"```redis\n(.*?)```", text, re.S)
    lines = [line for block in blocks for line in block.splitlines() if line.strip()]
    assert lines, "docs/deploy.md shows no ACL lines"
    return [shlex.split(line) for line in lines]


def _rules(words: list[str]) -> list[str]:
    """A user's rules without the password rule."""
    return [w for w in words if not w.startswith((">", "#"))]


def _doc_users(password: str) -> dict[str, list[str]]:
    """{user: words after ``ACL SETUSER name``} of the lines that set ``password``."""
    return {words[2]: words[3:] for words in _doc_lines() if f">{password}" in words[3:]}


def _compose_users(secret: str) -> dict[str, list[str]]:
    compose = (ROOT / "docker-compose.yml").read_text()
    found = {}
    for line in compose.splitlines():
        words = line.split()
        if words[:1] == ["user"] and f"#$$(hash {secret})" in line:
            found[words[1]] = [w for w in line.replace(f"#$$(hash {secret})", "#").split()[2:]]
    return found


def test_docker_compose_applies_the_rules_of_the_guide() -> None:
    for password, secret in (
        ("BOT_PASSWORD", "redis_bot_password"),
        ("REVIEWER_PASSWORD", "redis_reviewer_password"),
        ("DESK_PASSWORD", "redis_desk_password"),
        ("EPHEMERAL_PASSWORD", "redis_ephemeral_password"),
    ):
        documented = {u: _rules(w) for u, w in _doc_users(password).items()}
        composed = {u: _rules(w) for u, w in _compose_users(secret).items()}
        assert documented, password
        # The selector "(+xadd %W~...)" is one argument to ACL SETUSER, two words in a file.
        assert {u: " ".join(w) for u, w in composed.items()} == {
            u: " ".join(w) for u, w in documented.items()
        }


def _compose_aclfile(service: str, passwords: dict[str, str], directory: Path) -> Path:
    """Run the start script of the ``service`` of docker-compose.yml (up to its ``exec
    redis-server``) with the secret files ``passwords`` (secret name -> password) in
    ``directory``, and return the ACL file it wrote."""
    service_spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][service]
    script = service_spec["command"][-1].replace("$$", "$")  # Compose's own unescaping
    script = script.split("exec redis-server", 1)[0]
    secrets = directory / "secrets"
    secrets.mkdir()
    for name, password in passwords.items():
        (secrets / name).write_text(password + "\n")  # a trailing newline is dropped
    script = script.replace("/run/secrets/", f"{secrets}/").replace("/run/redis/", f"{directory}/")
    subprocess.run(["sh", "-ec", script], check=True, timeout=30)
    aclfile = directory / "users.acl"
    assert aclfile.stat().st_mode & 0o077 == 0  # umask 077
    for password in passwords.values():
        assert password not in aclfile.read_text()
    return aclfile


@pytest.fixture(scope="module")
def acl_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int, int]]:
    """(durable port, ephemeral port, compose-file server port): the first two with the
    guide's lines applied by ACL SETUSER, the third loading the compose file's ACL file."""
    base = tmp_path_factory.mktemp("redis-acl")
    aclfile = _compose_aclfile(
        "redis",
        {
            "redis_bot_password": PASSWORDS["BOT_PASSWORD"],
            "redis_reviewer_password": PASSWORDS["REVIEWER_PASSWORD"],
            "redis_desk_password": PASSWORDS["DESK_PASSWORD"],
        },
        base,
    )
    durable = RedisProcess(base / "durable", ["--appendonly", "no"])
    ephemeral = RedisProcess(base / "ephemeral", ["--appendonly", "no"])
    composed = RedisProcess(base / "composed", ["--appendonly", "no", "--aclfile", str(aclfile)])
    with running(durable, ephemeral, composed):
        yield durable.port, ephemeral.port, composed.port


async def _admin(port: int) -> aioredis.Redis:
    return await connect(f"redis://127.0.0.1:{port}/0", check=True)


async def _apply_guide(port: int, passwords: tuple[str, ...]) -> None:
    admin = await _admin(port)
    try:
        await admin.flushall()
        for password in passwords:
            for user, words in _doc_users(password).items():
                args = [w.replace(f">{password}", f">{PASSWORDS[password]}") for w in words]
                raw: Any = admin  # the guide's words, sent as they are
                assert await raw.execute_command("ACL", "SETUSER", user, *args)
    finally:
        await admin.aclose()


async def _login(port: int, user: str, password: str) -> aioredis.Redis:
    target = RedisTarget(url=f"redis://127.0.0.1:{port}/0", username=user, password=password)
    return await connect(target, check=True)


@pytest_asyncio.fixture
async def durable(acl_servers: tuple[int, int, int]) -> AsyncIterator[int]:
    await _apply_guide(acl_servers[0], ("BOT_PASSWORD", "REVIEWER_PASSWORD", "DESK_PASSWORD"))
    yield acl_servers[0]


@pytest_asyncio.fixture
async def ephemeral(acl_servers: tuple[int, int, int]) -> AsyncIterator[int]:
    await _apply_guide(acl_servers[1], ("EPHEMERAL_PASSWORD",))
    yield acl_servers[1]


async def _refused(call: Callable[[], Awaitable[Any]]) -> None:
    """``call`` fails on the ACL: NOPERM, or, inside a script, Redis's error for a
    command the script's user may not run."""
    with pytest.raises(ResponseError) as raised:
        await call()
    message = str(raised.value)
    assert isinstance(raised.value, NoPermissionError) or message.startswith(
        "The user executing the script can't"
    ), message


async def _bot_work(client: aioredis.Redis, tmp_path: Path) -> TipQueue:
    """What the bot does on the durable Redis: queue tips (directly and from the spool),
    and a tipster's follow-up."""
    queue = TipQueue(client)
    await queue.ensure_group()
    await queue.ensure_group()  # BUSYGROUP is fine
    entry = await queue.submit("case-from-bot", b"sealed-1", [b"att-1"])
    assert re.fullmatch(r"\d+-\d+", entry)
    # Submitting again changes nothing; the bot may not even learn the entry id.
    assert await queue.submit("case-from-bot", b"sealed-1") == ""
    assert await submit_durably(queue, Spool(tmp_path / "spool"), "case-two-bot", b"s2") == (
        "queued"
    )
    followups = FollowupStore(client)
    await followups.create(LOOKUP, "case-from-bot", "age1recipient")
    assert await followups.case_for(LOOKUP) == "case-from-bot"
    assert await followups.questions("case-from-bot") == []
    await followups.answer("case-from-bot", b"sealed answer")
    assert (await client.info("server"))["redis_version"]
    return queue


async def test_the_bot_adds_to_the_queue_and_cannot_read_it(durable: int, tmp_path: Path) -> None:
    bot = await _login(durable, "tipline-bot", PASSWORDS["BOT_PASSWORD"])
    try:
        queue = await _bot_work(bot, tmp_path)
        await _refused(lambda: queue.claim_next("bot"))
        await _refused(lambda: queue.get("case-from-bot"))
        await _refused(lambda: queue.depth())
        # It may count the queue for the metrics (two tips, never delivered), no more.
        assert await queue.backlog() == 2
        await _refused(lambda: bot.xpending("tipline:tips", "reviewers"))
        await _refused(lambda: bot.xinfo_stream("tipline:tips"))
        await _refused(lambda: bot.xinfo_consumers("tipline:tips", "reviewers"))
        await _refused(lambda: queue.ack("case-from-bot"))
        await _refused(lambda: queue.dead_letter("case-from-bot", "test"))
        await _refused(lambda: bot.xrange("tipline:tips"))
        await _refused(lambda: bot.xreadgroup("reviewers", "bot", {"tipline:tips": ">"}))
        await _refused(lambda: bot.hget("tipline:tip:case-from-bot", "sealed"))
        await _refused(lambda: bot.hgetall("tipline:tip:case-from-bot"))
        await _refused(lambda: bot.lrange("tipline:answers:case-from-bot", 0, -1))
        await _refused(lambda: bot.hget("tipline:followup:case-from-bot", "recipient"))
        await _refused(lambda: bot.keys("*"))
        await _refused(lambda: bot.scan())
        await _refused(lambda: bot.flushall())
        await _refused(lambda: bot.config_get("*"))
        await _refused(lambda: bot.set("tipline:draft:" + DRAFT_KEY, b"x"))
        await _refused(
            lambda: bot.eval("return redis.call('XRANGE', KEYS[1], '-', '+')", 1, "tipline:tips")
        )
    finally:
        await bot.aclose()


async def test_reviewers_read_and_acknowledge_the_queue_and_cannot_touch_drafts(
    durable: int, tmp_path: Path
) -> None:
    bot = await _login(durable, "tipline-bot", PASSWORDS["BOT_PASSWORD"])
    reviewer = await _login(durable, "tipline-reviewer", PASSWORDS["REVIEWER_PASSWORD"])
    try:
        await _bot_work(bot, tmp_path)
        queue = TipQueue(reviewer)
        await queue.ensure_group()
        assert await queue.depth() == 2
        tip = await queue.claim_next("alice")
        assert tip is not None
        assert (tip.case_id, tip.sealed, tip.attachments) == (
            "case-from-bot",
            b"sealed-1",
            (b"att-1",),
        )
        assert [p.case_id for p in await queue.pending_for("alice")] == ["case-from-bot"]
        assert await queue.claimed_per_consumer() == {"alice": 1}
        assert await queue.pending_count() == 1
        assert await queue.oldest_waiting() is not None
        assert await queue.record_verdict("case-from-bot", b"sealed verdict")
        assert await queue.verdict("case-from-bot") == b"sealed verdict"
        assert await queue.verdicts() == {"case-from-bot": b"sealed verdict"}
        assert not await queue.ack("case-from-bot")  # the verdict acknowledged it
        assert await queue.reclaim_idle("bob", timedelta(0)) is None
        second = await queue.claim_next("bob")
        assert second is not None
        assert await queue.dead_letter(second.case_id, "unreadable")
        assert await queue.dead_count() == 1
        assert await queue.depth() == 0
        assert (await queue.get("case-from-bot")) is not None
        followups = FollowupStore(reviewer)
        assert await followups.recipient("case-from-bot") == "age1recipient"
        assert await followups.ask("case-from-bot", b"sealed question") == 1
        assert await followups.answers("case-from-bot") == [b"sealed answer"]
        drafts = DraftStore(reviewer)
        await _refused(lambda: drafts.put(DRAFT_KEY, b"draft"))
        await _refused(lambda: drafts.get(DRAFT_KEY))
        await _refused(lambda: reviewer.delete("tipline:draft:" + DRAFT_KEY))
        await _refused(lambda: followups.case_for(LOOKUP))  # receipts are the bot's
        await _refused(lambda: queue.submit("case-by-reviewer", b"forged"))
        await _refused(lambda: reviewer.xadd("tipline:tips", {"v": "1", "case": "forged-case"}))
        await _refused(lambda: reviewer.xtrim("tipline:tips", maxlen=0))
        await _refused(lambda: reviewer.flushall())
        await _refused(lambda: reviewer.keys("*"))
    finally:
        await bot.aclose()
        await reviewer.aclose()


async def test_the_operator_desk_keeps_its_accounts_and_cannot_read_the_queue(
    durable: int, tmp_path: Path
) -> None:
    desk = await _login(durable, "tipline-desk", PASSWORDS["DESK_PASSWORD"])
    try:
        queue = await _bot_work(desk, tmp_path)  # the desk is an intake channel too
        accounts = Accounts(desk)  # the desk's own account store
        await accounts.add("amina", "operator", "correct horse battery staple")
        assert await accounts.names() == ["amina"]
        assert await accounts.authenticate("amina", "correct horse battery staple")
        await accounts.set_password("amina", "another long pass phrase")
        await accounts.set_disabled("amina", True)
        account = await accounts.get("amina")
        assert account is not None
        assert account.disabled
        assert account.generation > 1
        await _refused(lambda: queue.claim_next("desk"))
        await _refused(lambda: desk.hgetall("tipline:tip:case-from-bot"))
        await _refused(lambda: desk.hget("tipline:tip:case-from-bot", "sealed"))
        await _refused(lambda: desk.xrange("tipline:tips"))
        await _refused(lambda: desk.keys("*"))
    finally:
        await desk.aclose()


async def test_the_bot_keeps_drafts_in_the_ephemeral_redis(ephemeral: int, durable: int) -> None:
    bot = await _login(ephemeral, "tipline-bot", PASSWORDS["EPHEMERAL_PASSWORD"])
    bot_durable = await _login(durable, "tipline-bot", PASSWORDS["BOT_PASSWORD"])
    try:
        await check_ephemeral(bot, bot_durable)  # CONFIG GET and INFO are allowed
        drafts = DraftStore(bot)
        await drafts.put(DRAFT_KEY, b"encrypted draft")
        assert await drafts.get(DRAFT_KEY) == b"encrypted draft"
        assert await drafts.touch(DRAFT_KEY)
        await drafts.delete(DRAFT_KEY)
        rule = ThrottleRule(limit=2, window=timedelta(minutes=1), backoff=timedelta(seconds=1))
        throttle = Throttle(bot)
        assert await throttle.failed("scope", rule) == 1
        assert await throttle.blocked("scope", rule)
        await _refused(lambda: bot.set("elsewhere", b"x"))
        await _refused(lambda: bot.keys("*"))
        await _refused(lambda: bot.flushall())
        await _refused(lambda: bot.config_set("appendonly", "yes"))
    finally:
        await bot.aclose()
        await bot_durable.aclose()
    with pytest.raises(StorageUnavailableError, match="AuthenticationError"):
        await _login(ephemeral, "tipline-reviewer", PASSWORDS["REVIEWER_PASSWORD"])


async def test_the_compose_acl_file_loads_and_logs_in_nobody_by_default(
    acl_servers: tuple[int, int, int], tmp_path: Path
) -> None:
    port = acl_servers[2]
    anonymous = await connect(f"redis://127.0.0.1:{port}/0")
    try:
        with pytest.raises(AuthenticationError, match="authenticated"):
            await anonymous.set("x", "y")
    finally:
        await anonymous.aclose()
    health = await _login(port, "healthcheck", "anything")
    try:
        assert await health.ping()
        await _refused(lambda: health.get("tipline:tips"))
    finally:
        await health.aclose()
    bot = await _login(port, "tipline-bot", PASSWORDS["BOT_PASSWORD"])
    try:
        queue = await _bot_work(bot, tmp_path)
        await _refused(lambda: queue.claim_next("bot"))
    finally:
        await bot.aclose()
    reviewer = await _login(port, "tipline-reviewer", PASSWORDS["REVIEWER_PASSWORD"])
    try:
        claimed = await TipQueue(reviewer).claim_next("alice")
        assert claimed is not None
        assert claimed.case_id == "case-from-bot"
    finally:
        await reviewer.aclose()


async def test_the_whole_intake_and_review_work_under_their_users(
    durable: int, ephemeral: int, tmp_path: Path
) -> None:
    """The real programs, each as its own process under its own Redis user: the desk's
    account commands (tipline-desk), a console conversation with follow-up (the bot's
    user on both servers), then the reviewer's next, ask, thread, verdict (with the
    custody log) and stats, and the tipster's follow-up answer."""
    reviewer = X25519Identity.generate()
    key = tmp_path / "reviewer.key"
    write_identity_file(key, reviewer)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name, password in PASSWORDS.items():
        (secrets / name).write_text(password + "\n")
    base = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "TIPLINE_RECIPIENTS": str(reviewer.recipient),
        "REDIS_URL": f"redis://127.0.0.1:{durable}/0",
    }
    bot = {
        **base,
        "TIPLINE_DATA_DIR": str(tmp_path / "bot-data"),
        "REDIS_USERNAME": "tipline-bot",
        "REDIS_PASSWORD_FILE": str(secrets / "BOT_PASSWORD"),
        "REDIS_EPHEMERAL_URL": f"redis://127.0.0.1:{ephemeral}/0",
        "REDIS_EPHEMERAL_USERNAME": "tipline-bot",
        "REDIS_EPHEMERAL_PASSWORD_FILE": str(secrets / "EPHEMERAL_PASSWORD"),
    }
    review = {
        **base,
        "TIPLINE_DATA_DIR": str(tmp_path / "reviewer-data"),
        "REDIS_USERNAME": "tipline-reviewer",
        "REDIS_PASSWORD_FILE": str(secrets / "REVIEWER_PASSWORD"),
    }
    desk = {
        **bot,
        "TIPLINE_DATA_DIR": str(tmp_path / "desk-data"),
        "REDIS_USERNAME": "tipline-desk",
        "REDIS_PASSWORD_FILE": str(secrets / "DESK_PASSWORD"),
    }
    code, out = await run_tipline(
        desk, "desk", "users", "add", "amina", "--role", "operator", stdin="a long pass phrase 42"
    )
    assert code == 0, out
    code, out = await run_tipline(desk, "desk", "users", "list")
    assert code == 0, out
    assert "amina\toperator\tactive" in out
    consenting = [*CONVERSATION[:-3], "1", "1", "2"]  # follow-up: yes; send; keep the chat
    code, out = await run_tipline(bot, "console", "--lang", "en", stdin="\n".join(consenting))
    assert code == 0, out
    found = re.search(r"Your receipt code is: (\d{4} \d{4} \d{4} \d{4})\.", out)
    assert found is not None, out
    code, out = await run_tipline(review, "review", "next", "--identity", str(key), "--json")
    assert code == 0, out
    case = json.loads(out[out.index("{") :])["case_id"]
    code, out = await run_tipline(review, "review", "ask", case, "Was the truck white or blue?")
    assert code == 0, out
    code, out = await run_tipline(
        bot, "console", "--lang", "en", "--followup", stdin=f"{found.group(1)}\nBlue\n2"
    )
    assert code == 0, out
    assert "Question 1: Was the truck white or blue?" in out
    code, out = await run_tipline(review, "review", "thread", case, "--identity", str(key))
    assert code == 0, out
    assert "Blue" in out
    code, out = await run_tipline(
        review, "review", "verdict", case, "reliable", "--identity", str(key)
    )
    assert code == 0, out
    code, out = await run_tipline(review, "review", "stats", "--identity", str(key))
    assert code == 0, out
