"""Two tiplines on one deployment, end to end: piped console conversations for each (as a
hotline of each organisation runs them) land in two streams, sealed to two sets of
reviewers; a reviewer of one tipline neither sees nor opens the other's tips."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from privacy import X25519Identity, write_identity_file
from storage import Spool

from .test_cli import CONVERSATION, DESCRIPTION

ROOT = Path(__file__).resolve().parents[1]
OTHER_DESCRIPTION = "Logs of rosewood loaded at night onto a red barge at the sawmill"


def _answers(description: str) -> str:
    answers = list(CONVERSATION)
    answers[answers.index(DESCRIPTION)] = description
    return "\n".join(answers) + "\n"


class Deployment:
    """A settings file with the tiplines ``alpha`` and ``beta``, each with a reviewer of
    its own, on the test run's two Redis servers."""

    def __init__(self, root: Path, redis_url: str, ephemeral_url: str) -> None:
        self.root = root
        self.keys: dict[str, Path] = {}
        recipients = {}
        for name in ("alpha", "beta"):
            identity = X25519Identity.generate()
            self.keys[name] = root / f"{name}.key"
            write_identity_file(self.keys[name], identity)
            recipients[name] = str(identity.recipient)
            (root / f"{name}.token").write_text("123456:" + name * 10 + "\n")
        (root / "beta.recipients").write_text(recipients["beta"] + "\n")
        self.config = root / "tiplines.yaml"
        self.config.write_text(
            "tiplines:\n"
            f"  alpha:\n    token_file: alpha.token\n    recipients: [{recipients['alpha']}]\n"
            "    languages: [en, fr]\n"
            "  beta:\n    token_file: beta.token\n    recipients_file: beta.recipients\n"
        )
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(root / "home"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(ROOT),
            "TIPLINE_DATA_DIR": str(root / "data"),
            "TIPLINE_SECRET": "5e" * 32,
            "TIPLINE_CONFIG": str(self.config),
            "REDIS_URL": redis_url,
            "REDIS_EPHEMERAL_URL": ephemeral_url,
        }

    def run(self, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tipline", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**self.env, **env},
            cwd=self.root,
            timeout=120,
            check=False,
        )


@pytest.fixture
def deployment(
    tmp_path: Path,
    redis_url: str,
    ephemeral_url: str,
    redis_client: aioredis.Redis,
    ephemeral_client: aioredis.Redis,
) -> Deployment:
    # The two clients flush both servers before the test.
    return Deployment(tmp_path, redis_url, ephemeral_url)


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key


def _age_open(key: Path, sealed: bytes, where: Path) -> subprocess.CompletedProcess[bytes]:
    (where / "tip.age").write_bytes(sealed)
    return subprocess.run(
        ["age", "-d", "-i", str(key), str(where / "tip.age")], capture_output=True, check=False
    )


async def test_two_tiplines_keep_their_tips_apart(
    deployment: Deployment, redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis
) -> None:
    # Without a name the console refuses, and says which tiplines there are.
    refused = deployment.run("console", "--lang", "en", stdin=_answers(DESCRIPTION))
    assert refused.returncode == 1
    assert "several tiplines (alpha, beta)" in refused.stderr
    # alpha offers only the languages of its settings.
    french_only = deployment.run("console", "--tipline", "alpha", "--lang", "sw")
    assert french_only.returncode != 0 and "choose one of en, fr" in french_only.stderr

    for name, description in (("alpha", DESCRIPTION), ("beta", OTHER_DESCRIPTION)):
        done = deployment.run(
            "console", "--tipline", name, "--lang", "en", stdin=_answers(description)
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Your report was received safely." in done.stdout

    # Each tip is in its own tipline's stream; nothing under the default names.
    assert await redis_client.xlen("tipline:t:alpha:tips") == 1
    assert await redis_client.xlen("tipline:t:beta:tips") == 1
    keys = sorted(_text(k) for k in await redis_client.keys("*"))
    assert keys and all(k.startswith(("tipline:t:alpha:", "tipline:t:beta:")) for k in keys), keys
    assert not await redis_client.exists("tipline:tips")
    assert all(
        _text(k).startswith(("tipline:t:alpha:", "tipline:t:beta:"))
        for k in await ephemeral_client.keys("*")
    )
    sealed = {}
    for name in ("alpha", "beta"):
        [record] = await redis_client.keys(f"tipline:t:{name}:tip:*")
        blob = await redis_client.hget(record, "sealed")
        assert isinstance(blob, bytes)
        sealed[name] = blob

    # Sealed to each tipline's own reviewers: the stock age tool says so.
    root = deployment.root
    opened = _age_open(deployment.keys["beta"], sealed["beta"], root)
    assert opened.returncode == 0 and json.loads(opened.stdout)["answers"]["description"] == {
        "type": "text",
        "text": OTHER_DESCRIPTION,
    }
    assert _age_open(deployment.keys["alpha"], sealed["beta"], root).returncode != 0
    assert _age_open(deployment.keys["beta"], sealed["alpha"], root).returncode != 0

    # alpha's reviewer, even holding both identities, is only ever handed alpha's tip.
    both = (
        "--identity",
        str(deployment.keys["alpha"]),
        "--identity",
        str(deployment.keys["beta"]),
    )
    shown = deployment.run("review", "next", "--tipline", "alpha", *both, "--json")
    assert shown.returncode == 0, shown.stderr
    case = json.loads(shown.stdout)["case_id"]
    assert DESCRIPTION in shown.stdout and OTHER_DESCRIPTION not in shown.stdout
    listed = deployment.run("review", "list", "--tipline", "alpha", *both)
    assert listed.returncode == 0, listed.stderr
    assert case in listed.stdout and OTHER_DESCRIPTION not in listed.stdout
    acked = deployment.run("review", "ack", case, "--tipline", "alpha")
    assert f"Acknowledged {case}." in acked.stdout, acked.stderr
    empty = deployment.run("review", "next", "--tipline", "alpha", *both)
    assert "No tip is waiting." in empty.stdout, empty.stderr
    # beta's tip still waits in beta's queue, and alpha's identity cannot open it.
    wrong = deployment.run(
        "review", "next", "--identity", str(deployment.keys["alpha"]), TIPLINE_NAME="beta"
    )
    assert wrong.returncode == 1 and "not sealed to this identity" in wrong.stderr
    assert OTHER_DESCRIPTION not in wrong.stdout + wrong.stderr
    right = deployment.run(
        "review", "next", "--identity", str(deployment.keys["beta"]), TIPLINE_NAME="beta"
    )
    assert right.returncode == 0 and OTHER_DESCRIPTION in right.stdout, right.stderr
    assert case not in right.stdout


async def test_a_tipline_s_spool_is_pushed_into_its_own_queue_only(
    deployment: Deployment, redis_client: aioredis.Redis
) -> None:
    """Both tiplines' processes share a data directory (one Compose volume): a tip that
    waited in alpha's spool while Redis was down goes to alpha's queue, never beta's."""
    data = Path(deployment.env["TIPLINE_DATA_DIR"])
    Spool(data / "tiplines" / "alpha" / "spool").put("case-spooled-1", b"sealed bytes")
    run = deployment.run("review", "ack", "case-spooled-1", "--tipline", "beta")
    assert run.returncode == 0, run.stderr
    assert await redis_client.xlen("tipline:t:beta:tips") == 0
    run = deployment.run("review", "ack", "case-other-1", "--tipline", "alpha")
    assert run.returncode == 0, run.stderr
    assert await redis_client.xlen("tipline:t:alpha:tips") == 1
    assert await redis_client.hget("tipline:t:alpha:tip:case-spooled-1", "sealed") == (
        b"sealed bytes"
    )
