"""The ``tipline`` command end to end, as an operator and a reviewer run it: a piped
console conversation on the embedded Redis, then ``review next`` and the stock ``age``."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from bots.render import Renderer
from conversations import messages as m
from storage import EmbeddedRedis, connect

from .dialogue import default_questionnaire
from .leaks import aof_commands, assert_absent, file_contents, redis_contents

DESCRIPTION = "Two men sold Ivory-Tusk-7731 carvings from a blue pickup"
PLACE = "Behind the Mzima bus stop"
SPECIES = "elephant ivory carvings"
LISTING = "https://ivory-shop.example.com/item/7731?ref=chat"
# One answer a line, as an operator would pipe them (see bots/console.py for the syntax).
CONVERSATION = [
    "1",  # safety: continue (the console runs with --lang en: no language question)
    "hello",  # not an option: re-asked
    "3",  # sale in a market, shop or online
    DESCRIPTION,
    SPECIES,
    "1",  # the first proposal of the species catalogue
    "2",  # no other species
    "kenya",
    PLACE,
    "-4.0435123, 39.6682377",
    "About 1 km",  # an option by its text
    "back",  # back to the location question ...
    "-4.0435123, 39.6682377",
    "2",  # ... and about 1 km again
    "this week",
    "skip",
    LISTING,  # a sale: the listing's link ...
    "Facebook",  # ... and its platform, by its label
    "done",
    "2",  # follow-up: no
    "1",  # send
    "2",  # keep the chat
]


@dataclass
class Env:
    root: Path
    env: dict[str, str]
    key: Path
    recipient: str

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tipline", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.root,
            timeout=120,
            check=False,
        )


@pytest.fixture
def cli(tmp_path: Path) -> Env:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    base = Env(tmp_path, env, tmp_path / "reviewer.key", "")
    made = base.run("keys", "generate", "--out", str(base.key))
    assert made.returncode == 0, made.stderr
    base.recipient = made.stdout.strip()
    env["TIPLINE_RECIPIENTS"] = base.recipient
    return base


def test_keys_generate(cli: Env) -> None:
    assert cli.recipient.startswith("age1") and len(cli.recipient) == 62
    assert stat.S_IMODE(cli.key.stat().st_mode) == 0o600
    again = cli.run("keys", "generate", "--out", str(cli.key))
    assert again.returncode != 0 and "exists" in again.stderr
    # The stock tool derives the same recipient from our identity file.
    shown = subprocess.run(
        ["age-keygen", "-y", str(cli.key)], capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == cli.recipient


def _sealed_record(data_dir: Path) -> tuple[bytes, bytes]:
    """The raw stored Redis contents and the one sealed tip, read with the app stopped."""

    async def read(url: str) -> tuple[bytes, bytes]:
        client = await connect(url)
        try:
            keys = [k async for k in client.scan_iter("tipline:tip:*")]
            assert len(keys) == 1
            sealed = await client.hget(keys[0], "sealed")
            assert isinstance(sealed, bytes)
            return await redis_contents(client), sealed
        finally:
            await client.aclose()

    with EmbeddedRedis(data_dir) as server:
        return asyncio.run(read(server.url))


def test_piped_conversation_to_review_and_stock_age(cli: Env) -> None:
    console = cli.run("-v", "console", "--lang", "en", stdin="\n".join(CONVERSATION) + "\n")
    assert console.returncode == 0, console.stdout + console.stderr
    out = console.stdout
    assert "Please choose one of the options." in out
    assert "Location pin: -4.04, 39.67 (About 1 km)" in out
    assert "Online listing: hxxps://ivory-shop[.]example[.]com/item/7731?ref=chat" in out
    summary = out[out.index("  What happened:") : out.index("Send the report?")]
    assert "ivory-shop.example.com" not in summary  # the summary never shows it clickable
    assert "Thank you. Your report was received safely." in out

    data_dir = Path(cli.env["TIPLINE_DATA_DIR"])
    stored, sealed = _sealed_record(data_dir)
    needles = [DESCRIPTION, PLACE, SPECIES, "Mzima", "kenya", "-4.04", "39.67", "sale", LISTING]
    assert_absent(stored, needles, "Redis")
    assert_absent(file_contents(data_dir), needles, "the data directory")
    assert_absent(console.stderr.encode(), needles, "the logs")

    # A reviewer opens the raw entry with the stock age tool and the identity file.
    (cli.root / "tip.age").write_bytes(sealed)
    opened = subprocess.run(
        ["age", "-d", "-i", str(cli.key), str(cli.root / "tip.age")],
        capture_output=True,
        check=True,
    )
    transcript = json.loads(opened.stdout)
    assert transcript["schema_version"] == 1
    assert transcript["channel"] == "console"
    assert transcript["answers"]["description"] == {"type": "text", "text": DESCRIPTION}
    assert transcript["answers"]["country"]["code"] == "KE"
    assert transcript["answers"]["location"] == {
        "type": "location",
        "precision": "1km",
        "latitude": -4.04,
        "longitude": 39.67,
    }
    assert transcript["answers"]["when_details"] == {"type": "skipped"}
    assert transcript["answers"]["listing_links"]["links"] == [
        {
            "typed": LISTING,
            "scheme": "https",
            "host": "ivory-shop.example.com",
            "port": None,
            "path": "/item/7731",
            "query": "ref=chat",
            "fragment": None,
            "onion": False,
        }
    ]
    assert transcript["answers"]["platform"] == {"type": "choice", "option": "facebook"}
    locations = [e for e in transcript["transcript"] if e["question"] == "location"]
    assert len(locations) == 2  # answered, went back, answered again: both are in the record

    # ... and with our own tool, which shows every answer.
    shown = cli.run("review", "next", "--identity", str(cli.key), "--reviewer", "alice")
    assert shown.returncode == 0, shown.stderr
    for expected in [
        DESCRIPTION,
        PLACE,
        "Sale in a market, shop or online",
        "Kenya",
        "-4.04, 39.67 (About 1 km)",
        "This week",
        "hxxps://ivory-shop[.]example[.]com/item/7731?ref=chat",
        "Facebook",
        "(not answered)",
        "No",
        transcript["case_id"],
        Renderer("en", default_questionnaire()).date(
            date.fromisoformat(transcript["received_on"])
        ),
    ]:
        assert expected in shown.stdout, expected
    assert "ivory-shop.example.com" not in shown.stdout
    case = transcript["case_id"]
    # Claimed by alice: bob gets nothing; alice gets the same tip again until she acks.
    assert (
        "No tip is waiting."
        in cli.run("review", "next", "--identity", str(cli.key), "--reviewer", "bob").stdout
    )
    again = cli.run("review", "next", "--identity", str(cli.key), "--reviewer", "alice")
    assert case in again.stdout
    as_json = cli.run(
        "review", "next", "--identity", str(cli.key), "--reviewer", "alice", "--json"
    )
    assert json.loads(as_json.stdout) == transcript
    assert f"Acknowledged {case}." in cli.run("review", "ack", case).stdout
    assert "Nothing to acknowledge" in cli.run("review", "ack", case).stdout
    assert (
        "No tip is waiting."
        in cli.run("review", "next", "--identity", str(cli.key), "--reviewer", "alice").stdout
    )


def test_a_wrong_identity_cannot_open_a_tip(cli: Env) -> None:
    assert cli.run("console", "--lang", "en", stdin="\n".join(CONVERSATION) + "\n").returncode == 0
    other = cli.root / "other.key"
    assert cli.run("keys", "generate", "--out", str(other)).returncode == 0
    shown = cli.run("review", "next", "--identity", str(other), "--reviewer", "eve")
    assert shown.returncode == 1 and "not sealed to this identity" in shown.stderr
    assert DESCRIPTION not in shown.stdout + shown.stderr


def test_input_that_ends_early_keeps_the_draft_and_says_so(cli: Env) -> None:
    run = cli.run("console", "--lang", "en", stdin="1\n3\n")
    assert run.returncode == 3
    assert "Please describe what happened" in run.stdout


def test_cancel_from_the_console(cli: Env) -> None:
    run = cli.run("console", "--lang", "en", stdin="1\ncancel\n1\n2\n")
    assert run.returncode == 0
    assert "Your report was deleted. Nothing was sent." in run.stdout
    assert run.stdout.index("Your report was deleted") < run.stdout.index(m.WIPE_OFFER)


def test_no_recipients_is_refused_with_a_clear_message(cli: Env) -> None:
    del cli.env["TIPLINE_RECIPIENTS"]
    run = cli.run("console", stdin="1\n")
    assert run.returncode != 0 and "TIPLINE_RECIPIENTS" in run.stderr


def test_an_unavailable_language_is_refused(cli: Env) -> None:
    run = cli.run("console", "--lang", "xx")
    assert run.returncode != 0 and "'xx' is not available" in run.stderr


def test_an_existing_redis_is_used_when_given(cli: Env, redis_url: str) -> None:
    cli.env["REDIS_URL"] = redis_url
    run = cli.run("console", "--lang", "en", stdin="\n".join(CONVERSATION) + "\n")
    assert run.returncode == 0, run.stderr
    assert not (Path(cli.env["TIPLINE_DATA_DIR"]) / "redis").exists()


def test_follow_up_through_the_console_and_review(cli: Env) -> None:
    consenting = [*CONVERSATION[:-3], "1", "1", "2"]  # follow-up: yes; send; keep the chat
    run = cli.run("console", "--lang", "en", stdin="\n".join(consenting) + "\n")
    assert run.returncode == 0, run.stdout + run.stderr
    found = re.search(r"Your receipt code is: (\d{4} \d{4} \d{4} \d{4})\.", run.stdout)
    assert found is not None, run.stdout
    code = found.group(1)
    case = json.loads(cli.run("review", "next", "--identity", str(cli.key), "--json").stdout)[
        "case_id"
    ]
    asked = cli.run("review", "ask", case, "Was the truck white or blue?")
    assert asked.returncode == 0, asked.stderr
    back = cli.run(
        "console", "--lang", "en", "--followup", stdin=f"{code}\nBlue, with a red stripe\n2\n"
    )
    assert back.returncode == 0, back.stdout + back.stderr
    assert "Question 1: Was the truck white or blue?" in back.stdout
    assert "Your answer was added to your report" in back.stdout
    thread = cli.run("review", "thread", case, "--identity", str(cli.key))
    assert "Blue, with a red stripe" in thread.stdout and "1 question(s) asked" in thread.stdout
    refused = cli.run("review", "ask", "nosuchcase1", "Hello?")
    assert refused.returncode != 0 and "did not ask for follow-up" in refused.stderr


def test_the_append_only_file_keeps_nothing_ephemeral(cli: Env) -> None:
    """P1, P2, P4: after a whole conversation (with follow-up asked for) the durable
    Redis's AOF holds sealed payloads and queue structure only: no draft, no update mark,
    no throttle, no command with a millisecond expiry."""
    run = cli.run("console", "--lang", "en", stdin="\n".join(CONVERSATION) + "\n")
    assert run.returncode == 0, run.stderr
    data_dir = Path(cli.env["TIPLINE_DATA_DIR"])
    commands = aof_commands(data_dir / "redis")
    assert commands, "the durable Redis wrote no AOF"
    allowed_keys = ("tipline:tip:", "tipline:tips", "tipline:receipt:", "tipline:followup:")
    timed = {b"PEXPIRE", b"PEXPIREAT", b"EXPIRE", b"EXPIREAT", b"SETEX", b"PSETEX", b"GETEX"}
    for command in commands:
        name = command[0].upper()
        assert name not in timed, command[:2]
        if name in (b"SELECT", b"MULTI", b"EXEC"):
            continue
        assert name in (b"XADD", b"HSET", b"DEL", b"XGROUP", b"XSETID"), command[:2]
        key = command[2 if name == b"XGROUP" else 1].decode()
        assert key.startswith(allowed_keys), key
        if name == b"SET":
            assert not {b"PX", b"EX", b"PXAT", b"EXAT"} & {a.upper() for a in command[3:]}
    # The drafts went to the ephemeral server, which left nothing on disk.
    ephemeral_dir = data_dir / "redis-ephemeral"
    assert ephemeral_dir.is_dir()
    assert not (ephemeral_dir / "appendonlydir").exists()
    assert not list(ephemeral_dir.glob("*.rdb"))


def test_an_ephemeral_redis_that_persists_is_refused(cli: Env, redis_url: str) -> None:
    """The test run's durable server has its AOF on: it must not take drafts."""
    cli.env["REDIS_EPHEMERAL_URL"] = redis_url
    run = cli.run("console", "--lang", "en", stdin="\n".join(CONVERSATION) + "\n")
    assert run.returncode != 0
    assert "writes to disk" in run.stderr and "appendonly" in run.stderr
    cli.env["REDIS_URL"] = redis_url
    run = cli.run("console", "--lang", "en", stdin="\n".join(CONVERSATION) + "\n")
    assert run.returncode != 0 and "same server" in run.stderr


def test_two_processes_share_the_embedded_default_and_sigkill_blocks_nothing(
    cli: Env,
) -> None:
    """The intake and a reviewer's command on one laptop, no REDIS_URL: both work; after
    the intake is killed with SIGKILL the next start works too."""
    console = subprocess.Popen(
        [sys.executable, "-m", "tipline", "console", "--lang", "en"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli.env,
        cwd=cli.root,
    )
    try:
        assert console.stdout is not None and console.stdin is not None
        assert console.stdout.readline()  # the intake is up and talking
        stats = cli.run("review", "stats", "--identity", str(cli.key))
        assert stats.returncode == 0, stats.stderr
        console.stdin.write(b"1\n")
        console.stdin.flush()
    finally:
        console.send_signal(signal.SIGKILL)
        console.wait()
        for stream in (console.stdin, console.stdout, console.stderr):
            if stream is not None:
                stream.close()
    again = cli.run("console", "--lang", "en", stdin="\n".join(CONVERSATION) + "\n")
    assert again.returncode == 0, again.stderr
    assert "Thank you. Your report was received safely." in again.stdout
    listed = cli.run("review", "stats", "--identity", str(cli.key))
    assert listed.returncode == 0, listed.stderr
