"""The Redis users of "Several tiplines on one deployment" (docs/deploy.md), applied to a
real redis-server: each tipline's bot adds to its own queue and keeps its own drafts but
cannot read its queue; each tipline's reviewers read and acknowledge its queue but touch
no drafts; nobody reaches another tipline's keys. Then two tiplines run end to end,
each program under its own tipline's users."""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from desk.accounts import Accounts
from privacy import X25519Identity, write_identity_file
from storage import DraftStore, StorageUnavailableError, TipQueue, check_ephemeral, connect
from storage.custody import CustodyStore
from storage.followup import FollowupStore
from storage.keys import KeySpace
from storage.throttle import Throttle, ThrottleRule

from .redis_processes import RedisProcess, run_tipline, running
from .test_cli import CONVERSATION, DESCRIPTION
from .test_redis_acl import _login, _refused

ROOT = Path(__file__).resolve().parents[1]
DRAFT_KEY = "d" * 64
LOOKUP = "e" * 64
WILD = KeySpace("wildleaks")
FOREST = KeySpace("forest-watch")
DEFAULT = KeySpace()


def _section_lines() -> list[list[str]]:
    """The ``ACL SETUSER`` lines of the guide's section on several tiplines."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    start = text.index("## Several tiplines on one deployment")
    section = text[start : text.index("\n## ", start + 1)]
    blocks = re.findall(r"```redis\n(.*?)```", section, re.S)
    lines = [shlex.split(line) for block in blocks for line in block.splitlines() if line]
    assert len(lines) >= 8, "the section shows no ACL lines"
    return lines


def _password(words: list[str]) -> str:
    [placeholder] = [w[1:] for w in words if w.startswith(">")]
    return placeholder


def password_of(placeholder: str) -> str:
    return placeholder.lower().replace("_", "-") + "-" + "f7" * 12


async def _apply(port: int, ephemeral: bool) -> None:
    admin = await connect(f"redis://127.0.0.1:{port}/0", check=True)
    try:
        await admin.flushall()
        for words in _section_lines():
            placeholder = _password(words)
            if placeholder.endswith("_EPHEMERAL_PASSWORD") != ephemeral:
                continue
            args = [w.replace(f">{placeholder}", f">{password_of(placeholder)}") for w in words]
            raw: Any = admin
            assert await raw.execute_command(*args[:3], *args[3:])
    finally:
        await admin.aclose()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    base = tmp_path_factory.mktemp("tiplines-acl")
    durable = RedisProcess(base / "durable", ["--appendonly", "no"])
    ephemeral = RedisProcess(base / "ephemeral", ["--appendonly", "no"])
    with running(durable, ephemeral):
        yield durable.port, ephemeral.port


@pytest_asyncio.fixture
async def durable(servers: tuple[int, int]) -> AsyncIterator[int]:
    await _apply(servers[0], ephemeral=False)
    yield servers[0]


@pytest_asyncio.fixture
async def ephemeral(servers: tuple[int, int]) -> AsyncIterator[int]:
    await _apply(servers[1], ephemeral=True)
    yield servers[1]


def _queue(client: aioredis.Redis, keys: KeySpace) -> TipQueue:
    return TipQueue.of(client, keys)


async def _user(port: int, user: str, placeholder: str) -> aioredis.Redis:
    return await _login(port, user, password_of(placeholder))


async def test_a_tipline_s_bot_queues_to_its_own_stream_and_reads_none(durable: int) -> None:
    bot = await _user(durable, "tipline-wildleaks-bot", "WILDLEAKS_BOT_PASSWORD")
    try:
        own = _queue(bot, WILD)
        await own.ensure_group()
        assert re.fullmatch(r"\d+-\d+", await own.submit("case-wild-1", b"sealed", [b"att"]))
        followups = FollowupStore(bot, prefix=WILD.root)
        await followups.create(LOOKUP, "case-wild-1", "age1recipient")
        assert await followups.case_for(LOOKUP) == "case-wild-1"
        await followups.answer("case-wild-1", b"sealed answer")
        # Its own queue: write only.
        await _refused(lambda: own.claim_next("bot"))
        await _refused(lambda: own.depth())
        await _refused(lambda: bot.xrange(WILD.stream))
        await _refused(lambda: bot.xreadgroup("reviewers", "bot", {WILD.stream: ">"}))
        await _refused(lambda: bot.hgetall(WILD.records + "case-wild-1"))
        # Another tipline's keys, and the default tipline's: nothing at all.
        other = _queue(bot, FOREST)
        await _refused(lambda: other.ensure_group())
        await _refused(lambda: other.submit("case-forged-1", b"forged"))
        await _refused(lambda: bot.xadd(FOREST.stream, {"v": "1", "case": "case-forged-1"}))
        await _refused(lambda: _queue(bot, DEFAULT).submit("case-forged-2", b"forged"))
        await _refused(lambda: FollowupStore(bot, prefix=FOREST.root).case_for(LOOKUP))
        await _refused(lambda: FollowupStore(bot).case_for(LOOKUP))
        await _refused(lambda: bot.keys("*"))
    finally:
        await bot.aclose()


async def test_a_tipline_s_desk_keeps_its_own_accounts_only(durable: int) -> None:
    desk = await _user(durable, "tipline-wildleaks-desk", "WILDLEAKS_DESK_PASSWORD")
    try:
        own = _queue(desk, WILD)
        await own.ensure_group()
        await own.submit("case-desk-1", b"sealed")  # the desk is an intake channel too
        accounts = Accounts(desk, prefix=WILD.desk)
        await accounts.add("amina", "operator", "correct horse battery staple")
        assert await accounts.names() == ["amina"]
        assert await accounts.authenticate("amina", "correct horse battery staple")
        await _refused(lambda: Accounts(desk, prefix=FOREST.desk).names())
        await _refused(lambda: Accounts(desk).names())
        await _refused(lambda: own.claim_next("desk"))
        await _refused(lambda: _queue(desk, FOREST).submit("case-forged-3", b"forged"))
    finally:
        await desk.aclose()


async def test_a_tipline_s_reviewers_read_its_queue_only_and_no_drafts(
    durable: int, ephemeral: int
) -> None:
    wild_bot = await _user(durable, "tipline-wildleaks-bot", "WILDLEAKS_BOT_PASSWORD")
    forest_bot = await _user(durable, "tipline-forest-watch-bot", "FOREST_WATCH_BOT_PASSWORD")
    reviewer = await _user(durable, "tipline-wildleaks-reviewer", "WILDLEAKS_REVIEWER_PASSWORD")
    try:
        for bot, keys, case in (
            (wild_bot, WILD, "case-wild-1"),
            (forest_bot, FOREST, "case-forest-1"),
        ):
            queue = _queue(bot, keys)
            await queue.ensure_group()
            await queue.submit(case, b"sealed " + case.encode())
        own = _queue(reviewer, WILD)
        assert await own.depth() == 1
        tip = await own.claim_next("alice")
        assert tip is not None and (tip.case_id, tip.sealed) == (
            "case-wild-1",
            b"sealed case-wild-1",
        )
        assert await own.record_verdict("case-wild-1", b"sealed verdict")
        custody = CustodyStore(reviewer, WILD.custody)
        assert await custody.append_if(0, b"sealed entry")
        assert await own.dead_count() == 0
        # forest-watch's queue, records, verdicts and custody log are out of reach.
        other = _queue(reviewer, FOREST)
        await _refused(lambda: other.claim_next("alice"))
        await _refused(lambda: other.depth())
        await _refused(lambda: reviewer.xrange(FOREST.stream))
        await _refused(lambda: reviewer.xreadgroup("reviewers", "alice", {FOREST.stream: ">"}))
        await _refused(lambda: reviewer.hgetall(FOREST.records + "case-forest-1"))
        await _refused(lambda: CustodyStore(reviewer, FOREST.custody).tail())
        await _refused(lambda: _queue(reviewer, DEFAULT).depth())
        # No drafts, no queueing of tips of its own.
        await _refused(lambda: DraftStore(reviewer, prefix=WILD.drafts).get(DRAFT_KEY))
        await _refused(lambda: own.submit("case-by-reviewer", b"forged"))
        await _refused(lambda: reviewer.keys("*"))
    finally:
        for client in (wild_bot, forest_bot, reviewer):
            await client.aclose()
    with pytest.raises(StorageUnavailableError, match="AuthenticationError"):
        await _user(ephemeral, "tipline-wildleaks-reviewer", "WILDLEAKS_REVIEWER_PASSWORD")


async def _keeps_only_its_own(bot: aioredis.Redis, own: KeySpace, other: KeySpace) -> None:
    rule = ThrottleRule(limit=2, window=timedelta(minutes=1), backoff=timedelta(seconds=1))
    for prefix in (own.drafts, own.telegram_updates, own.desk):
        store = DraftStore(bot, prefix=prefix)
        await store.put(DRAFT_KEY, b"encrypted")
        assert await store.get(DRAFT_KEY) == b"encrypted"
        await store.delete(DRAFT_KEY)
    assert await Throttle(bot, prefix=own.throttle).failed("scope", rule) == 1
    assert await bot.set(own.locks + DRAFT_KEY, "holder", px=1000, nx=True)
    assert await bot.hincrby(own.metrics_live, "telegram|description|1", 1) == 1
    assert await bot.hincrby(own.metrics_conversations, "total|started|telegram|x", 1) == 1
    for prefix in (other.drafts, other.telegram_updates, other.throttle, other.locks):
        await _refused(partial(DraftStore(bot, prefix=prefix).get, DRAFT_KEY))
    for key in (other.metrics_live, other.metrics_conversations):
        await _refused(partial(bot.hgetall, key))
    await _refused(lambda: bot.keys("*"))
    await _refused(lambda: bot.flushall())


async def test_each_bot_keeps_only_its_own_tipline_s_drafts(ephemeral: int, durable: int) -> None:
    users = (
        ("tipline-wildleaks-bot", "WILDLEAKS_EPHEMERAL_PASSWORD", WILD, FOREST),
        ("tipline-forest-watch-bot", "FOREST_WATCH_EPHEMERAL_PASSWORD", FOREST, WILD),
        ("tipline-bot", "DEFAULT_EPHEMERAL_PASSWORD", DEFAULT, WILD),
    )
    admin = await connect(f"redis://127.0.0.1:{durable}/0")
    try:
        for user, placeholder, own, other in users:
            bot = await _user(ephemeral, user, placeholder)
            try:
                await _keeps_only_its_own(bot, own, other)
                await check_ephemeral(bot, admin)  # CONFIG GET and INFO are allowed
            finally:
                await bot.aclose()
    finally:
        await admin.aclose()


async def test_two_tiplines_end_to_end_under_their_own_users(
    durable: int, ephemeral: int, tmp_path: Path
) -> None:
    """The bots' settings file names each tipline's Redis users; each reviewer, on a
    machine without that file, gives only the tipline's name and its own user."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    config = ["tiplines:"]
    keys: dict[str, Path] = {}
    for name, prefix in (("wildleaks", "WILDLEAKS"), ("forest-watch", "FOREST_WATCH")):
        identity = X25519Identity.generate()
        keys[name] = tmp_path / f"{name}.key"
        write_identity_file(keys[name], identity)
        for kind in ("BOT", "EPHEMERAL", "REVIEWER"):
            (secrets / f"{prefix}_{kind}").write_text(password_of(f"{prefix}_{kind}_PASSWORD"))
        (secrets / f"{name}.token").write_text("123456:" + "T" * 30)
        config += [
            f"  {name}:",
            f"    token_file: secrets/{name}.token",
            f"    recipients: [{identity.recipient}]",
            f"    redis_username: tipline-{name}-bot",
            f"    redis_password_file: secrets/{prefix}_BOT",
            f"    redis_ephemeral_username: tipline-{name}-bot",
            f"    redis_ephemeral_password_file: secrets/{prefix}_EPHEMERAL",
        ]
    (tmp_path / "tiplines.yaml").write_text("\n".join(config) + "\n")
    base = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": f"redis://127.0.0.1:{durable}/0",
    }
    bots = {
        **base,
        "TIPLINE_DATA_DIR": str(tmp_path / "bot-data"),
        "TIPLINE_CONFIG": str(tmp_path / "tiplines.yaml"),
        "REDIS_EPHEMERAL_URL": f"redis://127.0.0.1:{ephemeral}/0",
    }
    for name in ("wildleaks", "forest-watch"):
        answers = [f"{DESCRIPTION} ({name})" if a == DESCRIPTION else a for a in CONVERSATION]
        code, out = await run_tipline(
            bots, "console", "--tipline", name, "--lang", "en", stdin="\n".join(answers)
        )
        assert code == 0, out
        assert "Your report was received safely." in out
    reviewer = {
        **base,
        "TIPLINE_DATA_DIR": str(tmp_path / "reviewer-data"),
        "TIPLINE_NAME": "wildleaks",
        "REDIS_USERNAME": "tipline-wildleaks-reviewer",
        "REDIS_PASSWORD_FILE": str(secrets / "WILDLEAKS_REVIEWER"),
    }
    identity_args = ("--identity", str(keys["wildleaks"]))
    code, out = await run_tipline(reviewer, "review", "next", *identity_args, "--json")
    assert code == 0, out
    opened = json.loads(out[out.index("{") :])
    assert opened["answers"]["description"]["text"] == f"{DESCRIPTION} (wildleaks)"
    code, out = await run_tipline(
        reviewer, "review", "verdict", opened["case_id"], "reliable", *identity_args
    )
    assert code == 0, out
    code, out = await run_tipline(reviewer, "review", "stats", *identity_args)
    assert code == 0, out
    # The same reviewer pointed at the other tipline is refused by Redis itself.
    code, out = await run_tipline(
        reviewer, "review", "next", *identity_args, "--tipline", "forest-watch"
    )
    assert code != 0
    assert "NOPERM" in out or "no permissions" in out, out
    assert f"{DESCRIPTION} (forest-watch)" not in out
