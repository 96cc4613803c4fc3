"""The reviewer's desk on a real Redis with real age keys: claiming, reclaiming,
dead letters, verdicts and statistics. The command line is in test_review_cli.py."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis

from bots.intake import new_case_id
from privacy import X25519Identity, X25519Recipient, decrypt, encrypt
from review import Desk, TipUnreadable, UnknownCase, Verdict
from review.desk import utc_today
from storage import TipQueue, connect
from storage.queue import entry_day

from .leaks import assert_absent, redis_contents

DESCRIPTION = "Ranger-post-Q7 saw 3 trucks with tusks near the Lugard falls"


def transcript(
    case_id: str,
    *,
    language: str = "en",
    category: str | None = "poaching",
    description: str = DESCRIPTION,
    files: Sequence[tuple[str, int]] = (),
) -> dict[str, Any]:
    """A transcript as the intake seals it (docs/transcript.md)."""
    listed = [
        {"index": i, "kind": kind, "size": size, "caption": None}
        for i, (kind, size) in enumerate(files)
    ]
    answers: dict[str, Any] = {
        "description": {"type": "text", "text": description},
        "country": {"type": "country", "code": "KE", "typed": "kenia"},
        "location": {"type": "location", "precision": "10km", "latitude": -3.2, "longitude": 38.6},
        "evidence": {"type": "attachments", "files": listed},
    }
    if category == "skipped":
        answers["category"] = {"type": "skipped"}
    elif category is not None:
        answers["category"] = {"type": "choice", "option": category}
    return {
        "schema_version": 1,
        "case_id": case_id,
        "received_on": utc_today().isoformat(),
        "channel": "telegram",
        "language": language,
        "questionnaire_version": 1,
        "answers": answers,
        "transcript": [
            {
                "question": "description",
                "prompt": "Please describe what happened, in your own words.",
                "answer": answers["description"],
            }
        ],
        "attachments": listed,
    }


async def queue_tip(
    queue: TipQueue,
    recipients: Sequence[X25519Recipient],
    document: dict[str, Any] | None = None,
    attachments: Sequence[bytes] = (),
    **fields: Any,
) -> str:
    """Seal a transcript (and attachments) to ``recipients`` and queue it; the case id."""
    if document is None:
        document = transcript(new_case_id(), **fields)
    plaintext = json.dumps(document, ensure_ascii=False, indent=2).encode()
    sealed = encrypt(plaintext, list(recipients))
    await queue.submit(
        document["case_id"], sealed, [encrypt(a, list(recipients)) for a in attachments]
    )
    return str(document["case_id"])


@pytest.fixture(scope="module")
def reviewer_key() -> X25519Identity:
    return X25519Identity.generate()


def _desk(client: aioredis.Redis, key: X25519Identity, reviewer: str, **options: Any) -> Desk:
    return Desk(TipQueue(client), [key], reviewer=reviewer, **options)


async def test_two_reviewers_draining_concurrently_get_disjoint_tips_and_all(
    redis_client: aioredis.Redis, redis_url: str, reviewer_key: X25519Identity
) -> None:
    queue = TipQueue(redis_client)
    queued = {await queue_tip(queue, [reviewer_key.recipient]) for _ in range(24)}
    seen: dict[str, list[str]] = {"alice": [], "bob": []}

    async def drain(name: str) -> None:
        client = await connect(redis_url)  # each reviewer on their own connection
        try:
            desk = _desk(client, reviewer_key, name)
            while True:
                result = await desk.next()
                if result.claimed is None:
                    return
                assert result.claimed.how == "new"
                seen[name].append(result.claimed.opened.case_id)
                await asyncio.sleep(random.uniform(0, 0.004))
                await desk.record_verdict(
                    result.claimed.opened.case_id, "reliable", None, [reviewer_key.recipient]
                )
        finally:
            await client.aclose()

    await asyncio.gather(drain("alice"), drain("bob"))
    assert seen["alice"] and seen["bob"], "both reviewers took part"
    assert set(seen["alice"]).isdisjoint(seen["bob"])
    assert len(seen["alice"]) + len(seen["bob"]) == len(queued)
    assert set(seen["alice"]) | set(seen["bob"]) == queued
    assert await queue.depth() == 0 and await queue.pending_count() == 0


async def test_own_claim_first_then_idle_claims_then_new(
    redis_client: aioredis.Redis, reviewer_key: X25519Identity
) -> None:
    queue = TipQueue(redis_client)
    first = await queue_tip(queue, [reviewer_key.recipient])
    second = await queue_tip(queue, [reviewer_key.recipient])
    third = await queue_tip(queue, [reviewer_key.recipient])
    alice = _desk(redis_client, reviewer_key, "alice", reclaim_after=timedelta(milliseconds=200))
    bob = _desk(redis_client, reviewer_key, "bob", reclaim_after=timedelta(milliseconds=200))
    claimed = (await alice.next()).claimed
    assert claimed is not None and (claimed.opened.case_id, claimed.how) == (first, "new")
    again = (await alice.next()).claimed  # alice's own claim comes back to her, renewed
    assert again is not None and (again.opened.case_id, again.how, again.deliveries) == (
        first,
        "again",
        2,
    )
    took = (await bob.next()).claimed  # alice's claim is fresh: bob gets a new tip
    assert took is not None and (took.opened.case_id, took.how) == (second, "new")
    await bob.record_verdict(second, "duplicate", None, [reviewer_key.recipient])
    await asyncio.sleep(0.3)
    took = (await bob.next()).claimed  # alice went idle: bob takes her tip over
    assert took is not None and (took.opened.case_id, took.how, took.deliveries) == (
        first,
        "reclaimed",
        3,
    )
    assert [p.case_id for p in await alice.mine()] == []
    assert [p.case_id for p in await bob.mine()] == [first]
    took = (await alice.next()).claimed
    assert took is not None and (took.opened.case_id, took.how) == (third, "new")


async def test_damaged_entries_are_dead_lettered_with_their_reason(
    redis_client: aioredis.Redis, reviewer_key: X25519Identity
) -> None:
    queue = TipQueue(redis_client)
    mine = [reviewer_key.recipient]
    garbled = await queue_tip(queue, mine)
    # Flip one byte of the payload: the age file no longer authenticates.
    sealed = await redis_client.hget(f"tipline:tip:{garbled}", "sealed")
    assert isinstance(sealed, bytes)
    damaged = sealed[:-5] + bytes([sealed[-5] ^ 1]) + sealed[-4:]
    await redis_client.hset(f"tipline:tip:{garbled}", "sealed", damaged)
    not_json = new_case_id()
    await queue.submit(not_json, encrypt(b"\xffnot a transcript", mine))
    other_case = new_case_id()
    await queue.submit(other_case, encrypt(json.dumps(transcript(new_case_id())).encode(), mine))
    not_age = new_case_id()
    await queue.submit(not_age, b"this is not an age file at all")
    good = await queue_tip(queue, mine)

    result = await _desk(redis_client, reviewer_key, "alice").next()
    assert result.claimed is not None and result.claimed.opened.case_id == good
    reasons = dict(result.buried)
    assert list(reasons) == [garbled, not_json, other_case, not_age]
    assert "cannot be decrypted: AgeIntegrityError" in reasons[garbled]
    assert reasons[not_json] == "not a transcript: not UTF-8 text"
    assert reasons[other_case] == "not a transcript: the transcript belongs to another case"
    assert "cannot be decrypted: AgeFormatError" in reasons[not_age]
    rows: Any = await redis_client.xrange("tipline:dead")
    dead = {f[b"case"].decode(): f[b"reason"].decode() for _id, f in rows}
    assert dead == reasons
    # Nothing is lost: the records stay, and the dead letters are not handed out again.
    for case in reasons:
        assert await redis_client.hexists(f"tipline:tip:{case}", "sealed")
    assert await queue.dead_count() == 4
    await queue.ack(good)
    assert (await _desk(redis_client, reviewer_key, "bob").next()).claimed is None


async def test_a_tip_no_identity_opens_is_dead_lettered_after_n_deliveries(
    redis_client: aioredis.Redis, reviewer_key: X25519Identity
) -> None:
    queue = TipQueue(redis_client)
    case = await queue_tip(queue, [reviewer_key.recipient])
    eve = _desk(redis_client, X25519Identity.generate(), "eve", max_deliveries=3)
    assert (await eve.next()).unopened == (case, 1)
    assert (await eve.next()).unopened == (case, 2)  # still hers: not given to anyone else
    assert (await _desk(redis_client, reviewer_key, "bob").next()).claimed is None
    result = await eve.next()
    assert result.unopened is None and result.claimed is None
    assert result.buried == [(case, "no reviewer's identity opened it in 3 deliveries")]
    # The record stays: a reviewer with the right key still opens it by its case id.
    shown = await _desk(redis_client, reviewer_key, "bob").show(case)
    assert shown.answers["description"]["text"] == DESCRIPTION


async def test_a_tip_with_a_verdict_is_not_shown_again(
    redis_client: aioredis.Redis, reviewer_key: X25519Identity
) -> None:
    queue = TipQueue(redis_client)
    decided = await queue_tip(queue, [reviewer_key.recipient])
    later = await queue_tip(queue, [reviewer_key.recipient])
    alice = _desk(redis_client, reviewer_key, "alice")
    # Assessed by case id before anyone claimed it (e.g. from `review show`).
    outcome = await alice.record_verdict(
        decided, "duplicate", "same as the May case", [reviewer_key.recipient]
    )
    assert outcome.changed and not outcome.acknowledged
    result = await alice.next()
    assert result.skipped == [decided]
    assert result.claimed is not None and result.claimed.opened.case_id == later


async def test_verdicts_are_sealed_safe_to_repeat_and_keep_history(
    redis_client: aioredis.Redis, reviewer_key: X25519Identity
) -> None:
    queue = TipQueue(redis_client)
    case = await queue_tip(queue, [reviewer_key.recipient])
    other = X25519Identity.generate()
    recipients = [reviewer_key.recipient, other.recipient]
    alice = _desk(redis_client, reviewer_key, "alice")
    assert (await alice.next()).claimed is not None
    note = "Plate-KDA-417X matches the Voi seizure"
    first = await alice.record_verdict(case, "needs-follow-up", note, recipients)
    assert first.changed and first.acknowledged
    assert await queue.pending_count() == 0
    again = await alice.record_verdict(case, "needs-follow-up", note, recipients)
    assert not again.changed and not again.acknowledged
    assert await redis_client.hlen("tipline:verdicts") == 1
    bob = _desk(redis_client, other, "bob")  # another reviewer's key opens it too
    changed = await bob.record_verdict(case, "reliable", None, recipients)
    assert changed.changed
    verdict = await alice.verdict_of(case)
    assert verdict is not None
    assert (verdict.verdict, verdict.reviewer, verdict.note) == ("reliable", "bob", None)
    assert [(v.verdict, v.reviewer, v.note) for v in verdict.history] == [
        ("needs-follow-up", "alice", note)
    ]
    assert [(c, v.verdict if v else None) for c, v in await alice.done()] == [(case, "reliable")]
    stored = await redis_contents(redis_client)
    assert_absent(stored, [note, "KDA-417X", "needs-follow-up", "reliable", "bob"], "Redis")
    sealed = await queue.verdict(case)
    assert sealed is not None
    assert json.loads(decrypt(sealed, [other]))["verdict"] == "reliable"
    with pytest.raises(UnknownCase):
        await alice.record_verdict(new_case_id(), "reliable", None, recipients)
    with pytest.raises(ValueError, match="a verdict is one of"):
        await alice.record_verdict(case, "maybe", None, recipients)


async def test_a_verdict_sealed_to_other_keys_shows_as_unreadable(
    redis_client: aioredis.Redis, reviewer_key: X25519Identity
) -> None:
    queue = TipQueue(redis_client)
    case = await queue_tip(queue, [reviewer_key.recipient])
    outsider = X25519Identity.generate()
    await _desk(redis_client, outsider, "carol").record_verdict(
        case, "unreliable", None, [outsider.recipient]
    )
    alice = _desk(redis_client, reviewer_key, "alice")
    with pytest.raises(TipUnreadable):
        await alice.verdict_of(case)
    assert await alice.done() == [(case, None)]


async def test_stats(redis_client: aioredis.Redis, reviewer_key: X25519Identity) -> None:
    queue = TipQueue(redis_client)
    mine = [reviewer_key.recipient]
    cases = [
        await queue_tip(queue, mine, language="en", category="poaching"),
        await queue_tip(queue, mine, language="en", category="poaching"),
        await queue_tip(queue, mine, language="en", category="trafficking"),
        await queue_tip(queue, mine, language="sw", category="poaching"),
        await queue_tip(queue, mine, language="sw", category="skipped"),
        await queue_tip(queue, mine, language="zh_Hans", category=None),
    ]
    unreadable = await queue_tip(queue, [X25519Identity.generate().recipient])
    buried = await queue_tip(queue, mine)
    await queue.dead_letter(buried, "damaged by hand for the test")
    alice = _desk(redis_client, reviewer_key, "alice")
    bob = _desk(redis_client, reviewer_key, "bob")
    first = (await alice.next()).claimed
    assert first is not None and first.opened.case_id == cases[0]
    await alice.record_verdict(cases[0], "reliable", None, mine)
    assert (await alice.next()).claimed is not None  # cases[1], held by alice
    assert (await bob.next()).claimed is not None  # cases[2], held by bob

    today = utc_today()
    stats = await alice.stats("category")
    assert stats.depth == 2 + 4  # two claimed, cases[3:] and the unreadable never delivered
    assert stats.claimed == {"alice": 1, "bob": 1}
    assert stats.oldest_waiting == today and stats.oldest_waiting_days == 0
    assert stats.dead_letters == 1
    assert (stats.window_days, stats.tips, stats.unreadable) == (30, 7, 1)
    assert stats.by_language == {"en": 3, "sw": 2, "zh_Hans": 1}
    assert stats.by_category == {"poaching": 3, "trafficking": 1, "skipped": 1, "none": 1}
    assert stats.verdicts == {"reliable": 1}
    # The oldest waiting tip is the oldest not acknowledged: cases[1], not cases[0].
    oldest = await queue.oldest_waiting()
    entry = await redis_client.hget(f"tipline:tip:{cases[1]}", "entry")
    assert isinstance(entry, bytes) and oldest == entry.decode()
    # Ages are counted in days from the day in the entry id (which holds no time).
    later = _desk(redis_client, reviewer_key, "alice", today=lambda: today + timedelta(days=4))
    stats = await later.stats("category")
    assert (stats.oldest_waiting, stats.oldest_waiting_days) == (today, 4)
    assert stats.tips == 7  # still inside the last 30 days
    stats = await _desk(
        redis_client, reviewer_key, "alice", today=lambda: today + timedelta(days=30)
    ).stats("category")
    assert (stats.tips, stats.by_language, stats.oldest_waiting_days) == (0, {}, 30)
    assert unreadable not in cases


async def test_queue_listing_helpers(
    redis_client: aioredis.Redis, reviewer_key: X25519Identity
) -> None:
    queue = TipQueue(redis_client)
    assert await queue.oldest_waiting() is None
    assert await queue.pending_for("alice") == []
    assert await queue.claimed_per_consumer() == {}
    assert await queue.sealed_since(date(2000, 1, 1)) == []
    a = await queue_tip(queue, [reviewer_key.recipient])
    b = await queue_tip(queue, [reviewer_key.recipient])
    assert await queue.oldest_waiting() is not None  # no group yet: never delivered
    assert (await queue.claim_next("alice")) is not None
    assert (await queue.claim_next("bob")) is not None
    held = await queue.pending_for("alice")
    assert [(p.case_id, p.consumer, p.deliveries) for p in held] == [(a, "alice", 1)]
    assert entry_day(held[0].entry_id) == utc_today()
    assert [p.case_id for p in await queue.pending_for()] == [a, b]
    since = await queue.sealed_since(utc_today())
    assert [case for _entry, case, _sealed in since] == [a, b]
    assert await queue.sealed_since(utc_today() + timedelta(days=1)) == []
    with pytest.raises(ValueError, match="stream entry id"):
        entry_day("1-x")


async def test_dates_of_verdicts_are_days(redis_client: aioredis.Redis) -> None:
    key = X25519Identity.generate()
    queue = TipQueue(redis_client)
    case = await queue_tip(queue, [key.recipient])
    desk = _desk(redis_client, key, "alice", today=lambda: date(2026, 5, 17))
    outcome = await desk.record_verdict(case, "unreliable", None, [key.recipient])
    assert outcome.verdict == Verdict(case, "unreliable", None, "alice", date(2026, 5, 17))
    sealed = await queue.verdict(case)
    assert sealed is not None
    assert json.loads(decrypt(sealed, [key]))["decided_on"] == "2026-05-17"
