"""``tipline review`` as reviewers run it, in their own processes, on a real Redis: a
reviewer killed after claiming, export, verdicts, statistics, several identities and the
follow-up thread."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from click.testing import CliRunner
from PIL import Image

from bots.intake import new_case_id
from privacy import (
    X25519Identity,
    decrypt,
    encrypt,
    identity_file_text,
    write_identity_file,
)
from privacy.receipt import ReceiptKeys, new_code
from review import Desk
from storage import TipQueue
from storage.followup import FollowupStore
from tipline.cli import main

from .leaks import assert_absent, redis_contents
from .test_review_desk import DESCRIPTION, queue_tip, transcript

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Reviewers:
    root: Path
    env: dict[str, str]
    key: Path
    identity: X25519Identity

    async def run(self, *args: str, check: bool = True) -> Run:
        """``tipline review ARGS`` in this process (click's runner, in a thread so that
        the command's own event loop does not meet the test's)."""

        def invoke() -> Run:
            result = CliRunner().invoke(main, ["review", *args], env=self.env)
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise result.exception
            return Run(result.exit_code, result.stdout, result.stderr)

        done = await asyncio.to_thread(invoke)
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    async def spawn(self, *args: str) -> Run:
        """``tipline review ARGS`` in a process of its own, as a reviewer runs it."""
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "tipline", "review", *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.root,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def reviewers(tmp_path: Path, redis_url: str) -> Reviewers:
    identity = X25519Identity.generate()
    key = tmp_path / "reviewer.key"
    write_identity_file(key, identity)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": redis_url,
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "TIPLINE_RECIPIENTS": str(identity.recipient),
        "TIPLINE_IDENTITY": str(key),
    }
    return Reviewers(tmp_path, env, key, identity)


# A reviewer's tool that claims a tip, says which, and then hangs as if the reviewer
# were reading it: the test kills it with SIGKILL, so nothing gets to clean up.
_CLAIM_AND_HANG = """
import asyncio, sys
from pathlib import Path
from privacy import read_identity_file
from review import Desk
from storage import TipQueue, connect

async def main() -> None:
    client = await connect(sys.argv[1])
    desk = Desk(TipQueue(client), read_identity_file(Path(sys.argv[2])), reviewer="alice")
    claimed = (await desk.next()).claimed
    assert claimed is not None
    print(claimed.opened.case_id, claimed.how, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_a_killed_reviewer_s_tip_is_reclaimed_by_another(
    reviewers: Reviewers, redis_client: aioredis.Redis, redis_url: str
) -> None:
    queue = TipQueue(redis_client)
    recipients = [reviewers.identity.recipient]
    first = await queue_tip(queue, recipients)
    second = await queue_tip(queue, recipients)
    alice = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CLAIM_AND_HANG,
        redis_url,
        str(reviewers.key),
        env=reviewers.env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert alice.stdout is not None
    line = await asyncio.wait_for(alice.stdout.readline(), 30)
    claimed_at = time.monotonic()
    alice.send_signal(signal.SIGKILL)
    assert await alice.wait() == -signal.SIGKILL
    assert line.decode().split() == [first, "new"]

    reclaim_after = 3.0
    bob = Desk(queue, [reviewers.identity], reviewer="bob")
    shown: list[tuple[str, str]] = []  # (case, how) as bob was shown them
    deadline = time.monotonic() + 30
    while len(shown) < 2 and time.monotonic() < deadline:
        run = await reviewers.spawn(
            "next", "--reviewer", "bob", "--json", "--reclaim-after", f"{reclaim_after}s"
        )
        asked_at = time.monotonic()
        if "No tip is waiting." in run.stdout:
            await asyncio.sleep(0.5)
            continue
        case = json.loads(run.stdout)["case_id"]
        how = run.stderr.strip().rsplit(": ", 1)[1].rstrip(".")
        shown.append((case, how))
        if case == first:  # handed over only once alice's claim had gone idle long enough
            assert asked_at - claimed_at >= reclaim_after - 0.2
        await bob.record_verdict(case, "reliable", None, recipients)
    # Nothing lost, nothing shown twice as new: alice's tip went to bob as a reclaim.
    assert shown == [(second, "new"), (first, "reclaimed")]
    assert "No tip is waiting." in (await reviewers.spawn("next", "--reviewer", "bob")).stdout
    assert await queue.pending_count() == 0 and await queue.depth() == 0
    assert await redis_client.xlen("tipline:dead") == 0
    assert sorted((await queue.verdicts()).keys()) == sorted([first, second])


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 40)).save(out, "PNG")
    return out.getvalue()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 40)).save(out, "JPEG", quality=80)
    return out.getvalue()


async def test_export_writes_private_files_that_open(
    reviewers: Reviewers, redis_client: aioredis.Redis
) -> None:
    files = [_png(), _jpeg(), b"Notes of the ranger, day 3\n"]
    kinds = [("photo", len(files[0])), ("photo", len(files[1])), ("document", len(files[2]))]
    document = transcript(new_case_id(), files=kinds)
    case = await queue_tip(TipQueue(redis_client), [reviewers.identity.recipient], document, files)
    out = reviewers.root / "evidence" / case
    run = await reviewers.run("export", case, "--out", str(out), "--lang", "fr")
    assert f"exported to {out}" in run.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "SHA256SUMS",
            "attachment-0.png",
            "attachment-1.jpg",
            "attachment-2.txt",
            "transcript.json",
            "transcript.txt",
        ]
    )
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    # Byte-identical to what was sealed, and they open.
    for index, (name, data) in enumerate(
        [("attachment-0.png", files[0]), ("attachment-1.jpg", files[1])]
    ):
        assert (out / name).read_bytes() == data, index
        with Image.open(out / name) as image:
            image.verify()
    assert (out / "attachment-2.txt").read_bytes() == files[2]
    assert json.loads((out / "transcript.json").read_text("utf-8")) == document
    text = (out / "transcript.txt").read_text("utf-8")
    assert DESCRIPTION in text and "Kenya" in text and "openstreetmap.org" in text
    sums = await asyncio.to_thread(
        subprocess.run,
        ["sha256sum", "-c", "SHA256SUMS"],
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )
    assert sums.returncode == 0, sums.stdout + sums.stderr
    # The stock age tool agrees on the transcript.
    sealed = await redis_client.hget(f"tipline:tip:{case}", "sealed")
    assert isinstance(sealed, bytes)
    (reviewers.root / "tip.age").write_bytes(sealed)
    opened = await asyncio.to_thread(
        subprocess.run,
        ["age", "-d", "-i", str(reviewers.key), str(reviewers.root / "tip.age")],
        capture_output=True,
        check=True,
    )
    assert opened.stdout == (out / "transcript.json").read_bytes()
    # Safe to repeat: an existing directory is never overwritten.
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
    again = await reviewers.run("export", case, "--out", str(out), check=False)
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()} == before
    assert [p for p in out.parent.iterdir() if p.name.startswith(".")] == []


async def test_verdicts_from_the_command_line(
    reviewers: Reviewers, redis_client: aioredis.Redis
) -> None:
    queue = TipQueue(redis_client)
    case = await queue_tip(queue, [reviewers.identity.recipient])
    await reviewers.run("next", "--reviewer", "alice")
    listed = await reviewers.run("list", "--reviewer", "alice")
    assert listed.stdout.startswith(case) and "deliveries 1" in listed.stdout
    note = "Convoy-plate KBZ-993Q seen again at Mtito"
    run = await reviewers.run(
        "verdict", case, "needs-follow-up", "--note", note, "--reviewer", "alice"
    )
    assert "needs-follow-up, recorded (sealed); acknowledged." in run.stdout
    run = await reviewers.run(
        "verdict", case, "needs-follow-up", "--note", note, "--reviewer", "alice"
    )
    assert "already on record; nothing left to acknowledge." in run.stdout
    assert_absent(await redis_contents(redis_client), [note, "KBZ-993Q", "needs-follow"], "Redis")
    done = await reviewers.run("list", "--done")
    assert (
        done.stdout.startswith(case) and "needs-follow-up" in done.stdout and note in done.stdout
    )
    assert "hold no claimed tip" in (await reviewers.run("list", "--reviewer", "alice")).stdout
    shown = await reviewers.run("show", case)
    assert "Verdict: needs-follow-up (by alice" in shown.stdout and note in shown.stdout
    bad = await reviewers.run("verdict", case, "maybe", check=False)
    assert bad.returncode == 2 and "reliable" in bad.stderr
    old_name = await reviewers.run("ack", case)  # acknowledging without a verdict still works
    assert f"Nothing to acknowledge for {case}." in old_name.stdout
    unknown = await reviewers.run("verdict", new_case_id(), "reliable", check=False)
    assert unknown.returncode == 1 and "no tip was queued" in unknown.stderr


async def test_stats_from_the_command_line(
    reviewers: Reviewers, redis_client: aioredis.Redis
) -> None:
    queue = TipQueue(redis_client)
    recipients = [reviewers.identity.recipient]
    await queue_tip(queue, recipients, language="sw", category="poaching")
    await queue_tip(queue, recipients, language="sw", category="logging")
    await queue_tip(queue, recipients, language="fr", category="logging")
    await reviewers.run("next", "--reviewer", "alice")
    numbers = json.loads((await reviewers.run("stats", "--json")).stdout)
    assert numbers["depth"] == 3 and numbers["claimed"] == {"alice": 1}
    assert numbers["oldest_waiting_days"] == 0 and numbers["dead_letters"] == 0
    assert numbers["by_language"] == {"sw": 2, "fr": 1}
    assert numbers["by_category"] == {"logging": 2, "poaching": 1}
    assert numbers["by_day"] == {datetime.now(UTC).date().isoformat(): 3}
    text = (await reviewers.run("stats", "--lang", "en")).stdout
    assert "Oldest waiting tip: 0 day(s)" in text
    assert "Kiswahili (Swahili, sw) 2" in text and "Illegal logging 2" in text


async def test_an_old_identity_still_opens_old_tips(
    reviewers: Reviewers, redis_client: aioredis.Redis
) -> None:
    queue = TipQueue(redis_client)
    old, new = reviewers.identity, X25519Identity.generate()
    both = await queue_tip(queue, [old.recipient, new.recipient])  # during the rotation
    only_old = await queue_tip(queue, [old.recipient])  # before it
    new_key = reviewers.root / "new.key"
    write_identity_file(new_key, new)
    env = reviewers.env
    del env["TIPLINE_IDENTITY"]
    for case, keys in [
        (both, [reviewers.key]),
        (both, [new_key]),
        (only_old, [new_key, reviewers.key]),  # --identity repeated
    ]:
        options = [arg for key in keys for arg in ("--identity", str(key))]
        assert DESCRIPTION in (await reviewers.run("show", case, *options)).stdout
    refused = await reviewers.run("show", only_old, "--identity", str(new_key), check=False)
    assert refused.returncode == 1 and "not sealed to any of these identities" in refused.stderr
    # One identity file holding both identities (old first), as after a rotation.
    keyring = reviewers.root / "keyring.key"
    keyring.write_text(identity_file_text(old) + identity_file_text(new))
    keyring.chmod(0o600)
    env["TIPLINE_IDENTITY"] = str(keyring)
    assert DESCRIPTION in (await reviewers.run("show", only_old)).stdout
    env["TIPLINE_IDENTITY"] = f"{new_key}{os.pathsep}{reviewers.key}"
    assert DESCRIPTION in (await reviewers.run("show", only_old)).stdout


async def test_the_follow_up_thread_shows_questions_and_answers(
    reviewers: Reviewers, redis_client: aioredis.Redis
) -> None:
    case = await queue_tip(TipQueue(redis_client), [reviewers.identity.recipient])
    receipt = ReceiptKeys.derive(new_code(), b"p" * 32, n=2**10)
    store = FollowupStore(redis_client)
    await store.create(receipt.lookup, case, str(receipt.recipient))
    question = "Which road did the trucks take?"
    run = await reviewers.run("ask", case, question, "--reviewer", "alice")
    assert "Question left" in run.stdout
    # The tipster reads the question with the receipt key; reviewers read their copy.
    (asked,) = await store.questions(case)
    assert decrypt(asked, [receipt.identity]).decode() == question
    answer = {
        "schema_version": 1,
        "type": "followup_answer",
        "case_id": case,
        "received_on": "2026-05-18",
        "channel": "telegram",
        "language": "sw",
        "text": "Barabara ya Voi",
    }
    await store.answer(case, encrypt(json.dumps(answer).encode(), [reviewers.identity.recipient]))
    shown = (await reviewers.run("show", case)).stdout
    assert "Follow-up: 1 question(s) asked, 1 answer(s)" in shown
    assert question in shown and "Barabara ya Voi" in shown and "Question by alice" in shown
    assert shown.index(question) < shown.index("Barabara ya Voi")
    thread = (await reviewers.run("thread", case)).stdout
    assert "1 question(s) asked" in thread and "Kiswahili (Swahili, sw)" in thread
