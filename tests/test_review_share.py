"""``tipline review share`` and ``tipline review custody``: a case handed to a partner,
sealed to the partner's key only, with withheld fields absent from its bytes, and every
share, export and verdict in a hash-chained custody log that shows tampering."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bots.intake import new_case_id
from privacy import X25519Identity, encrypt, write_identity_file
from privacy.receipt import ReceiptKeys, new_code
from storage import TipQueue
from storage.custody import CUSTODY_KEY
from storage.followup import FollowupStore

from .test_review_cli import Reviewers, _jpeg, _png, reviewers
from .test_review_desk import DESCRIPTION, queue_tip, transcript

__all__ = ["reviewers"]  # the fixture, imported for pytest

CAPTION = "Lorry plate KBX-448Q at the weighbridge"
PLACE = "Behind the Mwatate-sawmill, third shed"
ANSWER = "Barabara ya Voi, usiku wa Jumanne"


def _age_decrypt(key: Path, bundle: Path) -> subprocess.CompletedProcess[bytes]:
    """The stock age tool, as a partner opens the bundle."""
    return subprocess.run(
        ["age", "-d", "-i", str(key), str(bundle)], capture_output=True, check=False
    )


def _members(archive: bytes) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            extracted = tar.extractfile(member)
            assert extracted is not None
            out[member.name] = extracted.read()
    return out


def _forms(text: str) -> list[bytes]:
    """A string as it could sit in a file: raw, JSON-escaped, UTF-16, base64, gzip'd."""
    raw = text.encode("utf-8")
    return [
        raw,
        json.dumps(text).encode("ascii"),
        text.encode("utf-16-le"),
        base64.b64encode(raw),
        gzip.compress(raw, mtime=0)[10:-8],  # the deflate stream itself
    ]


async def _case(reviewers: Reviewers, redis_client: aioredis.Redis) -> str:
    """A tip with a photo, a document with a caption, a place and a follow-up thread."""
    files = [_png(), _jpeg()]
    document = transcript(
        new_case_id(), files=[("photo", len(files[0])), ("photo", len(files[1]))]
    )
    document["answers"]["place"] = {"type": "text", "text": PLACE}
    document["answers"]["evidence"]["files"][1]["caption"] = CAPTION
    document["attachments"] = document["answers"]["evidence"]["files"]
    document["answers"]["followup"] = {"type": "choice", "option": "yes"}
    document["transcript"] = [
        {"question": q, "prompt": q, "answer": a} for q, a in document["answers"].items()
    ]
    case = await queue_tip(TipQueue(redis_client), [reviewers.identity.recipient], document, files)
    receipt = ReceiptKeys.derive(new_code(), b"p" * 32, n=2**10)
    store = FollowupStore(redis_client)
    await store.create(receipt.lookup, case, str(receipt.recipient))
    await reviewers.run("ask", case, "Which road did the trucks take?", "--reviewer", "alice")
    answer = {
        "schema_version": 1,
        "type": "followup_answer",
        "case_id": case,
        "received_on": "2026-05-18",
        "channel": "telegram",
        "language": "sw",
        "text": ANSWER,
    }
    await store.answer(case, encrypt(json.dumps(answer).encode(), [reviewers.identity.recipient]))
    return case


async def test_a_bundle_opens_only_with_the_partner_key_and_withholds_what_was_asked(
    reviewers: Reviewers, redis_client: aioredis.Redis
) -> None:
    case = await _case(reviewers, redis_client)
    partner = X25519Identity.generate()
    partner_key = reviewers.root / "partner.key"
    write_identity_file(partner_key, partner)
    bundle = reviewers.root / "for-partner.age"
    run = await reviewers.run(
        "share",
        case,
        "--to",
        str(partner.recipient),
        "--redact",
        "description",
        "--redact",
        "attachment:1",
        "--out",
        str(bundle),
        "--reviewer",
        "bob",
    )
    assert "withheld: attachment:1, description" in run.stdout
    assert _age_decrypt(reviewers.key, bundle).returncode != 0  # no reviewer key opens it
    opened = _age_decrypt(partner_key, bundle)
    assert opened.returncode == 0, opened.stderr
    archive = opened.stdout
    for secret in (DESCRIPTION, CAPTION):
        for form in _forms(secret):
            assert form not in archive, (secret, form)
    members = _members(archive)
    assert set(members) == {
        "transcript.json",
        "thread.json",
        "attachments/0.png",
        "manifest.json",
    }
    shared = json.loads(members["transcript.json"])
    assert shared["answers"]["description"] == "[withheld]"
    assert shared["answers"]["place"]["text"] == PLACE
    assert shared["attachments"][1] == "[withheld]"
    assert "followup" not in shared["answers"]  # the follow-up linkage never leaves
    assert all(e["question"] != "followup" for e in shared["transcript"])
    manifest = json.loads(members["manifest.json"])
    assert manifest["withheld"] == ["attachment:1", "description"]
    for listed in manifest["files"]:
        data = members[listed["name"]]
        assert hashlib.sha256(data).hexdigest() == listed["sha256"]
        assert len(data) == listed["size"]
    thread = json.loads(members["thread.json"])
    assert ANSWER in json.dumps(thread, ensure_ascii=False)
    # Reviewer names stay inside the organisation: neither the asker nor the sharer.
    for name in ("alice", "bob"):
        assert name.encode() not in archive
    # The share is in the custody log, with the partner's fingerprint and not the key.
    log = (await reviewers.run("custody", case)).stdout
    assert "share to sha256:" in log and "withheld attachment:1, description" in log
    assert str(partner.recipient) not in log
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() in log


async def test_everything_withheld_leaves_no_words_of_the_tipster(
    reviewers: Reviewers, redis_client: aioredis.Redis
) -> None:
    case = await _case(reviewers, redis_client)
    partner = X25519Identity.generate()
    key = reviewers.root / "partner.key"
    write_identity_file(key, partner)
    bundle = reviewers.root / "minimal.age"
    args = ["--redact", "description", "--redact", "place", "--redact", "thread"]
    await reviewers.run(
        "share",
        case,
        "--to",
        str(partner.recipient),
        *args,
        "--redact",
        "attachments",
        "--out",
        str(bundle),
    )
    archive = _age_decrypt(key, bundle).stdout
    for secret in (DESCRIPTION, PLACE, ANSWER, CAPTION):
        for form in _forms(secret):
            assert form not in archive, secret
    assert set(_members(archive)) == {"transcript.json", "manifest.json"}


async def test_bad_requests_are_refused_clearly(
    reviewers: Reviewers, redis_client: aioredis.Redis
) -> None:
    case = await _case(reviewers, redis_client)
    partner = X25519Identity.generate()
    out = reviewers.root / "x.age"
    unknown = await reviewers.run(
        "share",
        case,
        "--to",
        str(partner.recipient),
        "--redact",
        "passport",
        "--out",
        str(out),
        check=False,
    )
    assert unknown.returncode != 0
    assert "cannot withhold passport" in unknown.stderr and "description" in unknown.stderr
    bad_key = await reviewers.run(
        "share", case, "--to", "age1notakey", "--out", str(out), check=False
    )
    assert bad_key.returncode != 0 and "not an age recipient" in bad_key.stderr
    assert not out.exists()
    assert await redis_client.llen(CUSTODY_KEY) == 0  # nothing was shared


async def test_a_high_risk_source_is_shared_only_with_a_reason_that_is_logged(
    reviewers: Reviewers, redis_client: aioredis.Redis
) -> None:
    case = await queue_tip(TipQueue(redis_client), [reviewers.identity.recipient])
    await reviewers.run(
        "verdict", case, "reliable", "--risk", "high", "--risk-reason", "Only 3 people knew"
    )
    partner = X25519Identity.generate()
    out = reviewers.root / "risky.age"
    refused = await reviewers.run(
        "share", case, "--to", str(partner.recipient), "--out", str(out), check=False
    )
    assert refused.returncode != 0
    assert (
        "high risk (Only 3 people knew)" in refused.stderr and "--override-risk" in refused.stderr
    )
    assert not out.exists()
    reason = "The partner is the only unit that can act in time"
    await reviewers.run(
        "share",
        case,
        "--to",
        str(partner.recipient),
        "--out",
        str(out),
        "--override-risk",
        reason,
    )
    assert out.exists()
    log = (await reviewers.run("custody", case)).stdout
    assert "verdict reliable, source risk high" in log
    assert f"high risk overridden: {reason}" in log
    stats = json.loads((await reviewers.run("stats", "--json")).stdout)
    assert stats["by_risk"] == {"high": 1}


async def test_tampering_with_the_custody_log_is_found_and_named(
    reviewers: Reviewers, redis_client: aioredis.Redis
) -> None:
    cases = [await queue_tip(TipQueue(redis_client), [reviewers.identity.recipient])]
    cases.append(await queue_tip(TipQueue(redis_client), [reviewers.identity.recipient]))
    for case in cases:
        await reviewers.run("verdict", case, "reliable", "--risk", "low")
        await reviewers.run("export", case, "--out", str(reviewers.root / f"out-{case}"))
    assert await redis_client.llen(CUSTODY_KEY) == 4
    intact = await reviewers.run("custody", "--verify")
    assert "Custody log intact: 4 entries" in intact.stdout
    entries: list[bytes] = list(await redis_client.lrange(CUSTODY_KEY, 0, -1))  # type: ignore[arg-type]

    command: Callable[..., Awaitable[Any]] = redis_client.execute_command

    async def put(index: int, blob: bytes) -> None:
        await command("LSET", CUSTODY_KEY, index, blob)

    # One byte of entry 1 changed: its seal breaks, and entry 2's link to it.
    changed = bytearray(entries[1])
    changed[-5] ^= 0x01
    await put(1, bytes(changed))
    broken = await reviewers.run("custody", "--verify", check=False)
    assert broken.returncode == 1
    assert "Entry 1: it does not open" in broken.stderr
    assert "Entry 2: entry 1 before it is not the one it was chained to" in broken.stderr

    # A well-sealed forgery in its place is still caught by the chain.
    forged = encrypt(b'{"not": "the same"}', [reviewers.identity.recipient])
    await put(1, forged)
    assert "Entry 1:" in (await reviewers.run("custody", "--verify", check=False)).stderr

    # Entry 1 removed: the next one says it is entry 2, at place 1.
    await put(1, entries[1])
    assert (await reviewers.run("custody", "--verify")).returncode == 0
    await command("LREM", CUSTODY_KEY, 1, entries[1])
    gone = await reviewers.run("custody", "--verify", check=False)
    assert gone.returncode == 1
    assert "Entry 1: it says it is entry 2" in gone.stderr
