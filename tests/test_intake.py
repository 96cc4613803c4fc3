"""The intake service on a real Redis: drafts, sealing, the queue, the spool, and leaks."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bots.intake import RECEIPT_RULES, Intake, WipeChat
from conversations import (
    Action,
    Ask,
    Attachment,
    Cancel,
    Choose,
    End,
    Engine,
    Event,
    FetchAttachment,
    FollowUp,
    Location,
    Say,
    Skip,
    Start,
    State,
    Text,
    state_to_json,
)
from conversations import messages as m
from conversations.answers import AttachmentsAnswer
from privacy import X25519Identity, X25519Recipient, decrypt, encrypt
from privacy.scrub import Limits
from privacy.secrets import ServerSecret
from storage import DraftStore, Spool, TipQueue, connect
from storage.followup import FollowupStore
from storage.throttle import ThrottleRule

from .dialogue import default_questionnaire
from .leaks import assert_absent, file_contents, redis_contents
from .samples import CITY, COMMENT, NAME
from .samples.images import camera_jpeg, huge_png

MINUTE = timedelta(minutes=1)
CHAT_ID = "987654321"  # a Telegram-like chat id; it must never be stored
DESCRIPTION = "Nine sacks of Kilindini-pangolin-scales loaded at night"
PLACE = "Warehouse behind the Makupa fuel depot"
SPECIES = "Trenggiling sisik"
SECRET = b"s" * 32


@dataclass
class Harness:
    intake: Intake
    client: aioredis.Redis
    queue: TipQueue
    reviewer: X25519Identity
    spool_dir: Path

    async def send(self, event: Event, chat: str = CHAT_ID) -> list[Action | WipeChat]:
        return await self.intake.handle(chat, event)


def _intake(
    client: aioredis.Redis,
    tmp_path: Path,
    reviewer: X25519Identity,
    ttl: timedelta = timedelta(hours=24),
    queue_client: aioredis.Redis | None = None,
) -> tuple[Intake, TipQueue]:
    queue = TipQueue(queue_client or client)
    intake = Intake(
        engine=Engine(default_questionnaire()),
        drafts=DraftStore(client, ttl=ttl),
        queue=queue,
        spool=Spool(tmp_path / "spool"),
        secret=ServerSecret(SECRET),
        recipients=[reviewer.recipient],
        channel="telegram",
        today=lambda: date(2026, 5, 17),
    )
    return intake, queue


@pytest_asyncio.fixture
async def harness(redis_client: aioredis.Redis, tmp_path: Path) -> AsyncIterator[Harness]:
    reviewer = X25519Identity.generate()
    intake, queue = _intake(redis_client, tmp_path, reviewer)
    await queue.ensure_group()
    yield Harness(intake, redis_client, queue, reviewer, tmp_path / "spool")


def _last_ask(actions: list[Action | WipeChat]) -> Ask:
    asks = [a for a in actions if isinstance(a, Ask)]
    assert asks, actions
    return asks[-1]


async def _to_review(h: Harness, chat: str = CHAT_ID) -> Ask:
    """A full conversation up to the summary, answering every question."""
    ask = _last_ask(await h.send(Start(language_hint="en-GB"), chat))
    script: dict[str, Event] = {
        "_language_confirm": Choose("_language_confirm", "keep"),
        "safety": Choose("safety", "continue"),
        "category": Choose("category", "trafficking"),
        "description": Text(DESCRIPTION),
        "species": Text(SPECIES),
        "country": Text("Kenya"),
        "place": Text(PLACE),
        "location": Location(-4.0435123, 39.6682377),
        "_precision": Choose("_precision", "exact"),
        "when": Choose("when", "ongoing"),
        "when_details": Text("Every Tuesday"),
        "evidence": Choose("evidence", "done"),
        "followup": Choose("followup", "no"),
    }
    while ask.step != "review":
        ask = _last_ask(await h.send(script[ask.step], chat))
    return ask


async def test_a_tip_is_sealed_queued_and_the_draft_is_gone(harness: Harness) -> None:
    h = harness
    await _to_review(h)
    actions = await h.send(Choose("review", "send"))
    said = [a.msg.id for a in actions if isinstance(a, Say)]
    assert said[0] == m.SUBMITTED
    assert await h.queue.depth() == 1
    tip = await h.queue.claim_next("alice")
    assert tip is not None
    transcript = json.loads(decrypt(tip.sealed, [h.reviewer]))
    assert transcript["schema_version"] == 1
    assert transcript["received_on"] == "2026-05-17"
    assert transcript["channel"] == "telegram"
    assert transcript["case_id"] == tip.case_id
    assert transcript["answers"]["description"]["text"] == DESCRIPTION
    assert transcript["answers"]["location"] == {
        "type": "location",
        "precision": "exact",
        "latitude": -4.04351,
        "longitude": 39.66824,
    }
    # After the wipe offer is answered, nothing of the conversation is left in Redis.
    await h.send(Choose("_wipe", "no"))
    keys = [k async for k in h.client.scan_iter("tipline:draft:*")]
    assert keys == []


async def test_nothing_identifying_or_readable_is_stored(harness: Harness) -> None:
    h = harness
    await _to_review(h)
    # Mid-conversation: the draft is there, encrypted, under a pseudonym.
    stored = await redis_contents(h.client)
    assert b"tipline:draft:" in stored
    needles = [
        CHAT_ID,
        DESCRIPTION,
        PLACE,
        SPECIES,
        "Kenya",
        "4.0435",
        "39.668",
        "Tuesday",
        "trafficking",
        "en-GB",
    ]
    assert_absent(stored, needles, "Redis mid-conversation")
    await h.send(Choose("review", "send"))
    await h.send(Choose("_wipe", "yes"))
    stored = await redis_contents(h.client)
    assert_absent(stored, needles, "Redis after submission")
    assert_absent(file_contents(h.spool_dir.parent), needles, "the data directory")


async def test_logs_hold_no_identity_or_answers(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    await _to_review(harness)
    await harness.send(Choose("review", "send"))
    logged = "\n".join(r.getMessage() for r in caplog.records).encode()
    assert_absent(logged, [CHAT_ID, DESCRIPTION, PLACE, SPECIES, "Kenya"], "the logs")


async def test_a_double_tap_on_send_queues_one_tip(harness: Harness) -> None:
    await _to_review(harness)
    send = Choose("review", "send")
    first, second = await asyncio.gather(harness.send(send), harness.send(send))
    assert await harness.client.xlen("tipline:tips") == 1
    said = [a.msg.id for a in first + second if isinstance(a, Say)]
    assert said.count(m.SUBMITTED) == 1 and m.REASON_STALE in said


async def test_chats_do_not_share_drafts(harness: Harness) -> None:
    await _to_review(harness, chat="111")
    ask = _last_ask(await harness.send(Start(), chat="222"))
    assert ask.step == "language"
    ask = _last_ask(await harness.send(Start(), chat="111"))
    assert ask.step == "review"


async def _draft(h: Harness, chat: str = CHAT_ID) -> dict[str, Any] | None:
    """The conversation's draft as the intake keeps it, decrypted (the test knows the
    server secret)."""
    secret = ServerSecret(SECRET)
    key = secret.pseudonym("telegram", chat)
    blob = await h.intake.drafts.get(key)
    if blob is None:
        return None
    doc: dict[str, Any] = json.loads(secret.draft_cipher().decrypt(blob, key.encode()))
    return doc


async def _keys(h: Harness) -> list[bytes]:
    return sorted([k async for k in h.client.scan_iter("*")])


async def test_a_cancel_keeps_only_the_message_ids_until_the_wipe_answer(
    harness: Harness, tmp_path: Path
) -> None:
    """P5: the cancelled report is gone at once (answers, case id, files); the chat's
    message ids stay in the encrypted draft until the tipster answers the wipe offer."""
    h = harness
    photo = camera_jpeg(tmp_path)
    await _to_review(h)
    await h.send(Choose("review", "edit"))
    await h.send(Choose("_edit", "evidence"))
    await h.send(Attachment("file-AAA", "photo", len(photo)))
    await h.intake.attach(CHAT_ID, "file-AAA", photo)
    await h.send(Choose("evidence", "done"))
    await h.intake.remember(CHAT_ID, [10, 11, 12])
    before = await _draft(h)
    assert before is not None and before["files"] and before["state"]["answers"]
    assert len(await _keys(h)) == 3  # the tips stream, the draft, the kept photo

    await h.send(Cancel())
    actions = await h.send(Choose("_cancel", "yes"))
    assert _last_ask(actions).step == "_wipe"
    assert not any(isinstance(a, End | WipeChat) for a in actions)
    await h.intake.remember(CHAT_ID, [13, 14])  # "cancel", "deleted", the wipe offer
    after = await _draft(h)
    assert after is not None
    assert after["messages"] == [10, 11, 12, 13, 14]
    assert after["files"] == {} and after["followup_case"] is None
    assert after["case"] != before["case"]
    assert after["state"] == state_to_json(State(phase="ended", step="_wipe", language="en"))
    kept = json.dumps(after).encode()
    assert_absent(
        kept, [DESCRIPTION, PLACE, SPECIES, "Kenya", "file-AAA", before["case"]], "draft"
    )
    assert len(await _keys(h)) == 2  # the photo is gone with the report

    actions = await h.send(Choose("_wipe", "yes"))
    assert WipeChat((10, 11, 12, 13, 14), "en") in actions
    assert any(isinstance(a, End) for a in actions)
    await h.intake.remember(CHAT_ID, [15])  # the wipe's confirmation: nothing is kept
    assert await _keys(h) == [b"tipline:tips"]
    assert await h.queue.depth() == 0


async def test_a_second_report_from_the_wipe_offer_is_a_new_tip(harness: Harness) -> None:
    """/start at the wipe offer after a tip: the next report gets its own case (P7)."""
    h = harness
    await _to_review(h)
    await h.send(Choose("review", "send"))
    await h.intake.remember(CHAT_ID, [1, 2])
    await _to_review(h)
    actions = await h.send(Choose("review", "send"))
    assert next(a.msg.id for a in actions if isinstance(a, Say)) == m.SUBMITTED
    assert await h.queue.depth() == 2
    first = await h.queue.claim_new("alice")
    second = await h.queue.claim_new("alice")
    assert first is not None and second is not None and first.case_id != second.case_id
    actions = await h.send(Choose("_wipe", "yes"))
    assert any(isinstance(a, WipeChat) and a.message_ids[:2] == (1, 2) for a in actions)


async def test_declining_the_wipe_after_a_cancel_forgets_the_ids(harness: Harness) -> None:
    h = harness
    await h.send(Start(language="en"))
    await h.send(Choose("safety", "continue"))
    await h.intake.remember(CHAT_ID, [1, 2])
    await h.send(Cancel())
    await h.send(Choose("_cancel", "yes"))
    actions = await h.send(Choose("_wipe", "no"))
    assert not any(isinstance(a, WipeChat) for a in actions)
    assert await _keys(h) == [b"tipline:tips"]


async def test_idle_drafts_expire(redis_client: aioredis.Redis, tmp_path: Path) -> None:
    reviewer = X25519Identity.generate()
    intake, _queue = _intake(redis_client, tmp_path, reviewer, ttl=timedelta(seconds=1))
    await intake.handle(CHAT_ID, Start(language="en"))
    keys = [k async for k in redis_client.scan_iter("tipline:draft:*")]
    assert len(keys) == 1 and 0 < await redis_client.pttl(keys[0]) <= 1000
    await asyncio.sleep(1.3)
    assert [k async for k in redis_client.scan_iter("tipline:draft:*")] == []
    actions = await intake.handle(CHAT_ID, Text("hello again"))
    assert next(a.msg.id for a in actions if isinstance(a, Say)) == m.WELCOME


async def test_attachments_are_scrubbed_kept_encrypted_and_sealed(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    photo = camera_jpeg(tmp_path)  # GPS, camera make, model and serial, owner, XMP, thumbnail
    await _to_review(h)
    await h.send(Choose("review", "edit"))
    await h.send(Choose("_edit", "evidence"))
    actions = await h.send(Attachment("file-AAA", "photo", len(photo)))
    assert FetchAttachment("file-AAA") in actions
    told = await h.intake.attach(CHAT_ID, "file-AAA", photo)
    [said] = [a for a in told if isinstance(a, Say)]
    assert said.msg.id == m.FILE_CLEANED
    assert m.REMOVED_LABELS["location"] in dict(said.msg.values)["details"].ids  # type: ignore[union-attr]
    assert await h.intake.attach(CHAT_ID, "never-announced", b"x") == []
    stored = await redis_contents(h.client)
    assert photo[:64] not in stored and b"Exif" not in stored
    await h.send(Choose("evidence", "done"))
    await h.send(Choose("review", "send"))
    tip = await h.queue.claim_next("alice")
    assert tip is not None and len(tip.attachments) == 1
    sealed_photo = decrypt(tip.attachments[0], [h.reviewer])
    assert sealed_photo != photo and sealed_photo.startswith(b"\xff\xd8")
    for planted in (NAME, CITY, COMMENT):  # the owner, the city, the comment: all gone
        assert planted.encode() not in sealed_photo
        assert planted.encode() in photo
    transcript = json.loads(decrypt(tip.sealed, [h.reviewer]))
    [entry] = transcript["attachments"]
    assert entry["kind"] == "jpeg" and entry["size"] == len(sealed_photo)
    assert entry["sha256"] == hashlib.sha256(sealed_photo).hexdigest()
    assert "location" in entry["removed"] and "camera" in entry["removed"]
    assert "file-AAA" not in json.dumps(transcript)
    await h.send(Choose("_wipe", "no"))
    assert [k async for k in h.client.scan_iter("tipline:draft:*")] == []


async def test_a_file_that_cannot_be_scrubbed_is_refused_not_kept(harness: Harness) -> None:
    h = harness
    await _to_review(h)
    await h.send(Choose("review", "edit"))
    await h.send(Choose("_edit", "evidence"))
    await h.send(Attachment("exe", "document", 40))
    told = await h.intake.attach(CHAT_ID, "exe", b"MZ\x90\x00 this is no photo " * 4)
    assert [a.msg.id for a in told if isinstance(a, Say)] == [m.REASON_FILE_REFUSED]
    assert b"this is no photo" not in await redis_contents(h.client)
    state = await h.intake.state(CHAT_ID)
    assert state is not None and state.answer("evidence") == AttachmentsAnswer(())


async def test_a_file_that_needs_too_much_memory_is_refused_not_the_bot(
    harness: Harness,
) -> None:
    # Inside the pixel limit, but its decode needs more than the scrub may use (P8): the
    # scrub runs in a child process under that memory limit, so the file is refused.
    h = harness
    h.intake.scrub_limits = Limits(max_memory=256 * 1024 * 1024)
    await _to_review(h)
    await h.send(Choose("review", "edit"))
    await h.send(Choose("_edit", "evidence"))
    await h.send(Attachment("png", "photo", 1000))
    told = await h.intake.attach(CHAT_ID, "png", huge_png())
    assert [a.msg.id for a in told if isinstance(a, Say)] == [m.REASON_FILE_DAMAGED]
    state = await h.intake.state(CHAT_ID)
    assert state is not None and state.answer("evidence") == AttachmentsAnswer(())


async def test_an_attachment_never_fetched_is_dropped_not_sealed_as_missing(
    harness: Harness,
) -> None:
    h = harness
    await _to_review(h)
    await h.send(Choose("review", "edit"))
    await h.send(Choose("_edit", "evidence"))
    await h.send(Attachment("lost-file", "photo", 10))
    await h.send(Choose("evidence", "done"))
    actions = await h.send(Choose("review", "send"))
    said = [a.msg.id for a in actions if isinstance(a, Say)]
    assert said == [m.REASON_ATTACHMENT_FAILED, m.REASON_SUBMIT_FAILED]
    assert await h.queue.depth() == 0
    actions = await h.send(Choose("review", "send"))
    assert m.SUBMITTED in [a.msg.id for a in actions if isinstance(a, Say)]
    assert await h.queue.depth() == 1


async def test_an_unreadable_draft_starts_again(harness: Harness) -> None:
    h = harness
    await h.send(Start(language="en"))
    [key] = [k async for k in h.client.scan_iter("tipline:draft:*")]
    await h.client.set(key, b"\x01garbage")
    actions = await h.send(Text("hello"))
    said = [a.msg.id for a in actions if isinstance(a, Say)]
    assert m.REASON_NEW_DRAFT in said


async def test_redis_down_at_submit_spools_and_pushes_later(
    redis_client: aioredis.Redis, redis_url: str, tmp_path: Path
) -> None:
    """P7: with the queue unreachable the sealed tip waits in the spool, the tipster is told
    it was received, and it reaches the queue exactly once when Redis answers again."""
    reviewer = X25519Identity.generate()
    dead = await connect(
        f"unix://{tmp_path}/no-such.sock", socket_timeout=0.5, connect_timeout=0.5, retries=0
    )
    intake, _ = _intake(redis_client, tmp_path, reviewer, queue_client=dead)
    h = Harness(intake, redis_client, TipQueue(redis_client), reviewer, tmp_path / "spool")
    await _to_review(h)
    actions = await h.send(Choose("review", "send"))
    assert m.SUBMITTED in [a.msg.id for a in actions if isinstance(a, Say)]
    spool = Spool(tmp_path / "spool")
    assert len(spool.list()) == 1
    assert await spool.flush(h.queue) == 1 and await spool.flush(h.queue) == 0
    tip = await h.queue.claim_next("alice")
    assert tip is not None
    assert json.loads(decrypt(tip.sealed, [reviewer]))["answers"]["place"]["text"] == PLACE
    await dead.aclose()


async def test_a_wipe_returns_the_remembered_message_ids(harness: Harness) -> None:
    h = harness
    await h.intake.remember(CHAT_ID, [1, 2])  # no conversation yet: nothing is kept
    await _to_review(h)
    await h.intake.remember(CHAT_ID, [10, 11, 12])
    await h.intake.remember(CHAT_ID, [12, 13])
    await h.send(Choose("review", "send"))
    actions = await h.send(Choose("_wipe", "yes"))
    assert WipeChat((10, 11, 12, 13), "en") in actions
    assert any(isinstance(a, End) for a in actions)
    assert [k async for k in h.client.scan_iter("tipline:draft:*")] == []


# ----------------------------------------------------------------------------- follow-up
async def _submit_with_followup(h: Harness) -> tuple[str, str]:
    """A tip whose tipster asked for follow-up: (case id, the receipt code shown)."""
    ask = await _to_review(h)
    assert ask.step == "review"
    await h.send(Choose("review", "edit"))
    await h.send(Choose("_edit", "followup"))
    await h.send(Choose("followup", "yes"))
    actions = await h.send(Choose("review", "send"))
    receipts = [a for a in actions if isinstance(a, Say) and a.msg.id == m.RECEIPT_GIVEN]
    assert len(receipts) == 1
    shown = str(dict(receipts[0].msg.values)["code"])
    assert len(shown) == 19 and shown.replace(" ", "").isdigit()  # grouped: 4 x 4 digits
    tip = await h.queue.claim_next("alice")
    assert tip is not None
    await h.send(Choose("_wipe", "no"))
    return tip.case_id, shown


async def test_follow_up_round_trip(harness: Harness) -> None:
    h = harness
    h.intake.followups = FollowupStore(h.client)
    case_id, code = await _submit_with_followup(h)
    stored = await redis_contents(h.client)
    assert_absent(stored, [code, code.replace(" ", ""), CHAT_ID], "Redis after the receipt")
    # A reviewer leaves a question, sealed to the key only the code opens.
    recipient = await h.intake.followups.recipient(case_id)
    assert recipient is not None and recipient.startswith("age1")
    question = "Which company owns the warehouse?"
    await h.intake.followups.ask(
        case_id, encrypt(question.encode(), [X25519Recipient.parse(recipient)])
    )
    assert question.encode() not in await redis_contents(h.client)
    # The tipster comes back from another chat with the code.
    other_chat = "555000111"
    ask = _last_ask(await h.send(FollowUp(language_hint="en"), other_chat))
    assert ask.step == "_receipt"
    actions = await h.send(Text(code.replace(" ", "-")), other_chat)
    said = [a for a in actions if isinstance(a, Say)]
    assert [s.msg.id for s in said] == [m.FOLLOWUP_QUESTIONS.singular, m.FOLLOWUP_QUESTION]
    assert dict(said[1].msg.values)["question"] == question
    actions = await h.send(Text("Kilimanjaro Freight Ltd, the blue gate"), other_chat)
    assert [a.msg.id for a in actions if isinstance(a, Say)] == [m.FOLLOWUP_SENT]
    answers = await h.intake.followups.answers(case_id)
    assert len(answers) == 1
    doc = json.loads(decrypt(answers[0], [h.reviewer]))
    assert doc["text"] == "Kilimanjaro Freight Ltd, the blue gate" and doc["case_id"] == case_id
    stored = await redis_contents(h.client)
    assert_absent(stored, ["Kilimanjaro", other_chat, CHAT_ID, code.replace(" ", "")], "Redis")
    # P5/P6: the chat shows the code, the question and the answer: the wipe is offered,
    # and until it is answered the draft keeps the message ids, never the case.
    assert _last_ask(actions).step == "_wipe"
    await h.intake.remember(other_chat, [3, 4, 5])
    kept = await _draft(h, other_chat)
    assert kept is not None and kept["followup_case"] is None and kept["messages"] == [3, 4, 5]
    assert case_id not in json.dumps(kept)
    actions = await h.send(Choose("_wipe", "yes"), other_chat)
    assert WipeChat((3, 4, 5), "en") in actions
    assert [k async for k in h.client.scan_iter("tipline:draft:*")] == []


async def test_a_follow_up_left_unanswered_keeps_no_case_for_the_wipe(harness: Harness) -> None:
    h = harness
    h.intake.followups = FollowupStore(h.client)
    case_id, code = await _submit_with_followup(h)
    await h.send(FollowUp(language_hint="en"), "555000111")
    await h.send(Text(code), "555000111")
    assert (await _draft(h, "555000111") or {})["followup_case"] == case_id
    actions = await h.send(Skip(), "555000111")
    assert _last_ask(actions).step == "_wipe"
    kept = await _draft(h, "555000111")
    assert kept is not None and case_id not in json.dumps(kept)


async def test_no_receipt_without_consent(harness: Harness) -> None:
    h = harness
    h.intake.followups = FollowupStore(h.client)
    await _to_review(h)  # the script answers "no" to follow-up
    actions = await h.send(Choose("review", "send"))
    assert m.RECEIPT_GIVEN not in [a.msg.id for a in actions if isinstance(a, Say)]
    assert [k async for k in h.client.scan_iter("tipline:receipt:*")] == []


async def test_wrong_codes_are_refused_then_throttled(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    reviewer = X25519Identity.generate()
    intake, _ = _intake(redis_client, tmp_path, reviewer)
    intake.followups = FollowupStore(redis_client)
    intake.receipt_rules = (ThrottleRule(3, timedelta(hours=1)), intake.receipt_rules[1])
    await intake.handle(CHAT_ID, FollowUp())
    said: list[str] = []
    for guess in range(4):
        actions = await intake.handle(CHAT_ID, Text(f"{guess:016d}"))
        said += [a.msg.id for a in actions if isinstance(a, Say)]
    assert said == [m.REASON_CODE_UNKNOWN] * 3 + [m.REASON_TOO_MANY_TRIES]
    # Throttled, the conversation ended; a fresh try from this chat is refused at once.
    await intake.handle(CHAT_ID, FollowUp())
    actions = await intake.handle(CHAT_ID, Text("1234567890123456"))
    assert [a.msg.id for a in actions if isinstance(a, Say)] == [m.REASON_TOO_MANY_TRIES]
    # A malformed code is not counted: it is re-asked without a lookup.
    await intake.handle("other", FollowUp())
    actions = await intake.handle("other", Text("12345"))
    assert [a.msg.id for a in actions if isinstance(a, Say)] == [m.REASON_CODE_FORM]


# ------------------------------------------------------------------ a second report (P7)
async def _decrypted_draft(h: Harness, chat: str = CHAT_ID) -> dict[str, object]:
    secret = ServerSecret(b"s" * 32)
    key = secret.pseudonym("telegram", chat)
    blob = await h.client.get(f"tipline:draft:{key}")
    assert isinstance(blob, bytes)
    plain = secret.draft_cipher().decrypt(blob, key.encode())
    doc = json.loads(plain)
    assert isinstance(doc, dict)
    return doc


async def test_a_submitted_draft_forgets_its_case(harness: Harness) -> None:
    """After "received" the draft keeps what the wipe needs, not the case id: the chat's
    pseudonym no longer leads to the case."""
    h = harness
    await _to_review(h)
    await h.intake.remember(CHAT_ID, [10, 11])
    await h.send(Choose("review", "send"))
    tip = await h.queue.claim_next("alice")
    assert tip is not None
    doc = await _decrypted_draft(h)
    assert tip.case_id not in json.dumps(doc)
    assert doc["messages"] == [10, 11]
    assert doc["files"] == {}


async def test_a_second_report_from_the_same_chat_is_queued_too(harness: Harness) -> None:
    h = harness
    await _to_review(h)
    await h.send(Choose("review", "send"))
    # From the wipe question, the tipster starts a new report.
    await _to_review(h)
    actions = await h.send(Choose("review", "send"))
    assert m.SUBMITTED in [a.msg.id for a in actions if isinstance(a, Say)]
    assert await h.queue.depth() == 2
    first = await h.queue.claim_next("alice")
    second = await h.queue.claim_next("bob")
    assert first is not None and second is not None
    assert first.case_id != second.case_id
    for tip in (first, second):
        assert json.loads(decrypt(tip.sealed, [h.reviewer]))["case_id"] == tip.case_id


async def test_a_second_report_spooled_does_not_replace_the_first(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    reviewer = X25519Identity.generate()
    dead = await connect(
        f"unix://{tmp_path}/no-such.sock", socket_timeout=0.5, connect_timeout=0.5, retries=0
    )
    intake, _ = _intake(redis_client, tmp_path, reviewer, queue_client=dead)
    h = Harness(intake, redis_client, TipQueue(redis_client), reviewer, tmp_path / "spool")
    for _ in range(2):
        await _to_review(h)
        actions = await h.send(Choose("review", "send"))
        assert m.SUBMITTED in [a.msg.id for a in actions if isinstance(a, Say)]
    assert len(Spool(tmp_path / "spool").list()) == 2
    await dead.aclose()


# ------------------------------------------------------------------ receipt guessing
async def test_guessers_cannot_lock_out_a_tipster_with_a_right_code(harness: Harness) -> None:
    """Hundreds of throwaway chats guessing codes neither use up the real tipster's tries
    nor make a right code count: only wrong codes are counted, per conversation."""
    h = harness
    h.intake.followups = FollowupStore(h.client)
    _case_id, code = await _submit_with_followup(h)
    h.intake.receipt_rules = (ThrottleRule(2, timedelta(hours=1)), RECEIPT_RULES[1])
    for n in range(70):
        await h.send(FollowUp(language_hint="en"), f"guesser-{n}")
        await h.send(Text(f"{n:016d}"), f"guesser-{n}")
    # A correct code is not a failure: the same tipster may come back many times.
    for _ in range(4):
        await h.send(FollowUp(language_hint="en"), "tipster")
        actions = await h.send(Text(code), "tipster")
        said = [a.msg.id for a in actions if isinstance(a, Say)]
        assert m.REASON_TOO_MANY_TRIES not in said and m.REASON_CODE_UNKNOWN not in said
        await h.send(Cancel(), "tipster")
        await h.send(Choose("_cancel", "yes"), "tipster")


async def test_wrong_codes_wait_longer_each_time(harness: Harness) -> None:
    h = harness
    h.intake.followups = FollowupStore(h.client)
    h.intake.receipt_rules = (
        ThrottleRule(10, timedelta(hours=1), backoff=timedelta(seconds=30)),
        ThrottleRule(600, MINUTE),
    )
    await h.send(FollowUp())
    first = await h.send(Text("1111222233334444"))
    assert [a.msg.id for a in first if isinstance(a, Say)] == [m.REASON_CODE_UNKNOWN]
    # Within the backoff the next guess is not even looked up.
    second = await h.send(Text("1111222233334445"))
    assert [a.msg.id for a in second if isinstance(a, Say)] == [m.REASON_TOO_MANY_TRIES]
    waits = [await h.client.pttl(k) async for k in h.client.scan_iter("tipline:throttle:wait:*")]
    assert len(waits) == 1 and 25_000 < waits[0] <= 30_000


# --------------------------------------------------------------------------- the outbox
async def test_an_input_taken_again_replays_its_replies_and_is_not_applied_twice(
    harness: Harness,
) -> None:
    h = harness
    await _to_review(h)
    first = await h.intake.handle(CHAT_ID, Choose("review", "send"), update="u-send")
    assert await h.queue.depth() == 1
    # The same update again (a crash before the replies went out): the same replies, the
    # step not taken again (no stale-button notice, no second tip).
    again = await h.intake.handle(CHAT_ID, Choose("review", "send"), update="u-send")
    assert again == first
    assert await h.queue.depth() == 1
    state, replay = await h.intake.view(CHAT_ID, "u-send")
    assert replay == first and state is not None and state.phase == "submitted"
    # Once the replies went out, the same update gets nothing; a new one is a new step.
    await h.intake.remember(CHAT_ID, [11, 12], done="u-send")
    assert await h.intake.handle(CHAT_ID, Choose("review", "send"), update="u-send") == []
    stale = await h.intake.handle(CHAT_ID, Choose("review", "send"), update="u-next")
    assert m.REASON_STALE in [a.msg.id for a in stale if isinstance(a, Say)]
    assert await h.queue.depth() == 1


async def test_the_outbox_keeps_the_last_replies_of_a_closed_conversation_until_sent(
    harness: Harness,
) -> None:
    h = harness
    await _to_review(h)
    await h.send(Choose("review", "send"))
    await h.intake.remember(CHAT_ID, [5, 6, 7])
    wipe = await h.intake.handle(CHAT_ID, Choose("_wipe", "yes"), update="u-wipe")
    assert wipe[0] == WipeChat((5, 6, 7), "en")
    # Over: no state, but the wipe is still there to replay until it was done.
    assert await h.intake.state(CHAT_ID) is None
    assert await h.intake.handle(CHAT_ID, Choose("_wipe", "yes"), update="u-wipe") == wipe
    await h.intake.remember(CHAT_ID, [8], done="u-wipe")
    assert [k async for k in h.client.scan_iter("tipline:draft:*")] == []
    # A conversation that is over starts afresh on new input.
    fresh = await h.intake.handle(CHAT_ID, Start(), update="u-new")
    assert m.WELCOME in [a.msg.id for a in fresh if isinstance(a, Say)]


async def test_take_reads_once_replays_and_starts_nothing_when_told_not_to(
    harness: Harness,
) -> None:
    h = harness
    seen: list[object] = []

    def nothing(state: State | None) -> Event | None:
        seen.append(state)
        return None

    assert await h.intake.take(CHAT_ID, nothing, update="u1") is None
    assert seen == [None] and await h.intake.state(CHAT_ID) is None  # no draft made
    first = await h.intake.take(CHAT_ID, lambda state: Start(), update="u2")
    assert first is not None and m.WELCOME in [a.msg.id for a in first if isinstance(a, Say)]
    # The same update again: its replies, and ``decide`` is not even asked.
    assert await h.intake.take(CHAT_ID, nothing, update="u2") == first
    assert len(seen) == 1


async def _commands(client: aioredis.Redis) -> dict[str, int]:
    """Commands this Redis server ran so far, by name (INFO itself left out)."""
    stats = await client.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(value["calls"])
        for name, value in stats.items()
        if name != "cmdstat_info"
    }


async def test_an_input_whose_replies_were_never_noted_stays_known_after_the_next(
    harness: Harness,
) -> None:
    """The channel failed between a step and its note (remember), then the next input
    came: the first input, delivered again, is still known and not taken twice."""
    h = harness
    await h.intake.handle(CHAT_ID, Start(language_hint="en-GB"), update="u1")
    await h.intake.handle(CHAT_ID, Choose("_language_confirm", "keep"), update="u2")
    before = await h.intake.state(CHAT_ID)
    assert before is not None and before.step == "safety"
    assert await h.intake.handle(CHAT_ID, Start(language_hint="en-GB"), update="u1") == []
    assert await h.intake.state(CHAT_ID) == before


async def test_the_note_after_a_step_is_one_write_and_the_wipe_finds_its_ids(
    harness: Harness, tmp_path: Path
) -> None:
    """After a step, noting its replies sent (and their ids) is one write, no read; a new
    process (the platform was told the update is done) still finds the ids to wipe."""
    h = harness
    await _to_review(h)
    await h.intake.handle(CHAT_ID, Choose("review", "send"), update="u-send")
    before = await _commands(h.client)
    await h.intake.remember(CHAT_ID, [11, 12], done="u-send")
    after = await _commands(h.client)
    assert {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k)} == {"set": 1}

    restarted, _queue = _intake(h.client, tmp_path, h.reviewer)
    assert await restarted.handle(CHAT_ID, Choose("review", "send"), update="u-send") == []
    wipe = await restarted.handle(CHAT_ID, Choose("_wipe", "yes"), update="u-wipe")
    assert wipe[0] == WipeChat((11, 12), "en")
    await restarted.remember(CHAT_ID, [13], done="u-wipe")
    assert [k async for k in h.client.scan_iter("tipline:draft:*")] == []
