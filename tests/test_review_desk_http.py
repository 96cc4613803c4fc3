"""The reviewer desk over real HTTP on loopback, with real Redis servers and tips that
came through the intake: the passphrase page, the queue, a tip with its photo, verdicts,
questions and answers, export, statistics, the lock, and what it refuses."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import re
import tarfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from aiohttp import ClientResponse, FormData

from bots.intake import new_case_id
from desk import DeskConfig
from desk.reviewer import ATTACHMENT_CSP, REVIEW_CSP
from privacy import AgeError, X25519Identity, decrypt
from review import Desk
from review.render import category_question
from storage.followup import FollowupStore
from storage.throttle import ThrottleRule

from .deskharness import OTHER_PASSWORD, PASSWORD, Client, hidden, questionnaire, serve
from .reviewdeskharness import (
    ARABIC,
    DESCRIPTION,
    PASSPHRASE,
    PLACE,
    REPLY,
    ReviewerParts,
    build_reviewer_desk,
)
from .samples import CITY, COMMENT, NAME
from .samples.documents import docx_sample, pdf_sample
from .samples.images import camera_jpeg
from .samples.media import media_sample


class Clock:
    """The keyring's clock, moved by the test (no sleeping)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture
async def parts(
    redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis, tmp_path: Path, clock: Clock
) -> ReviewerParts:
    parts = await build_reviewer_desk(
        redis_client, ephemeral_client, tmp_path, lock_after=timedelta(minutes=10), clock=clock
    )
    await parts.accounts.add("wanjiru", "reviewer", PASSWORD)
    await parts.accounts.add("amina", "operator", OTHER_PASSWORD)
    return parts


@pytest_asyncio.fixture
async def client(parts: ReviewerParts) -> AsyncIterator[Client]:
    async for c in serve(parts.app):
        yield c


@pytest_asyncio.fixture
async def second(parts: ReviewerParts) -> AsyncIterator[Client]:
    await parts.accounts.add("odhiambo", "reviewer", OTHER_PASSWORD + "-2")
    async for c in serve(parts.app):
        yield c


def guarded(response: ClientResponse) -> None:
    assert response.headers["Cache-Control"] == "no-store", response.url
    expected = ATTACHMENT_CSP if "/files/" in response.url.path else REVIEW_CSP
    assert response.headers["Content-Security-Policy"] == expected, response.url
    assert "script-src 'self'" in REVIEW_CSP and "'unsafe-inline'" not in REVIEW_CSP


async def log_in(client: Client, name: str, password: str) -> ClientResponse:
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"csrf": hidden(await page.text(), "csrf"), "name": name, "password": password},
        allow_redirects=False,
    )
    return response


async def csrf_of(client: Client, path: str = "/queue") -> str:
    return hidden(await (await client.get(path)).text(), "csrf")


async def unlock(client: Client, passphrase: str = PASSPHRASE) -> ClientResponse:
    page = await client.get("/unlock")
    return await client.post(
        "/unlock",
        data={"csrf": hidden(await page.text(), "csrf"), "passphrase": passphrase},
        allow_redirects=False,
    )


async def signed_in(client: Client, name: str = "wanjiru", password: str = PASSWORD) -> None:
    assert (await log_in(client, name, password)).headers["Location"] == "/unlock"
    assert (await unlock(client)).headers["Location"] == "/queue"


async def exported(client: Client, case_id: str) -> str:
    """The export's page once the export has finished (it runs on in the desk)."""
    for _ in range(600):
        page = await (await client.get(f"/tips/{case_id}/export")).text()
        if 'id="export-running"' not in page:
            return page
        assert '<meta http-equiv="refresh" content="1">' in page
        await asyncio.sleep(0.05)
    raise AssertionError("the export never finished")


async def take_next(client: Client) -> ClientResponse:
    return await client.post("/next", data={"csrf": await csrf_of(client)}, allow_redirects=False)


async def case_of(client: Client) -> str:
    taken = await take_next(client)
    assert taken.status == 303, await taken.text()
    location = taken.headers["Location"]
    assert location.startswith("/tips/"), location
    return location.removeprefix("/tips/")


# ----------------------------------------------------------------------------- tests
async def test_a_reviewer_unlocks_takes_a_tip_and_sees_every_answer_and_the_photo(
    client: Client, parts: ReviewerParts, tmp_path: Path
) -> None:
    photo = camera_jpeg(tmp_path)
    await parts.tipster.report(photo=photo, followup=True)
    assert (await log_in(client, "wanjiru", PASSWORD)).headers["Location"] == "/unlock"
    # Locked: every page sends the reviewer to the passphrase page first.
    queue = await client.get("/queue", allow_redirects=False)
    assert queue.status == 303 and queue.headers["Location"] == "/unlock"
    wrong = await unlock(client, "Tsavo-West")
    assert wrong.status == 401
    assert "Wrong passphrase for the identity file." in await wrong.text()
    assert parts.keyring.unlocked == 0
    assert (await unlock(client)).headers["Location"] == "/queue"
    page = await client.get("/queue")
    text = await page.text()
    assert re.search(r'id="waiting">1<', text) and re.search(r'id="oldest">0 days', text)
    case_id = await case_of(client)
    tip = await client.get(f"/tips/{case_id}")
    guarded(tip)
    html = await tip.text()
    assert "New: first delivery, claimed by you." in html
    for expected in (DESCRIPTION, PLACE, "Kenya (KE", "Manidae", "CITES I", "Every Tuesday"):
        assert expected in html, expected
    assert "-4.04, 39.67 (About 1 km)" in html  # the pin's precision
    assert "openstreetmap.org" not in html  # no map link until asked for
    assert 'id="show-map"' in html
    with_map = await (await client.get(f"/tips/{case_id}?map=1")).text()
    assert "tells OpenStreetMap which place" in with_map and "openstreetmap.org/?mlat=" in with_map
    # The transcript, question by question, as the tipster saw it.
    transcript = html[html.index('id="transcript"') :]
    assert transcript.index("pangolin scales") < transcript.index(PLACE)
    assert "1 file" in transcript and "&#39;type&#39;" not in transcript
    assert (
        '<meta http-equiv="refresh" content="605;url=/queue">' in html
    )  # locks the screen  # as the tipster saw it
    # The photo: inline, from memory, scrubbed, never cacheable.
    assert f'<img src="/tips/{case_id}/files/0"' in html
    shown = await client.get(f"/tips/{case_id}/files/0")
    guarded(shown)
    assert shown.headers["Content-Type"] == "image/jpeg"
    assert shown.headers["X-Frame-Options"] == "SAMEORIGIN"
    body = await shown.read()
    tip_record = await parts.queue.get(case_id)
    assert tip_record is not None
    assert body == decrypt(tip_record.attachments[0], [parts.identity])
    for planted in (NAME, CITY, COMMENT):
        assert planted.encode() in photo and planted.encode() not in body
    missing = await client.get(f"/tips/{case_id}/files/7")
    assert missing.status == 404


async def test_voice_video_and_pdf_are_shown_with_players_and_in_a_frame(
    client: Client, parts: ReviewerParts, tmp_path: Path
) -> None:
    files = [
        ("voice", media_sample("ogg", tmp_path)),
        ("video", media_sample("mp4", tmp_path)),
        ("document", pdf_sample()),
        ("document", docx_sample()),
    ]
    await parts.tipster.report(files=files)
    await signed_in(client)
    case_id = await case_of(client)
    html = await (await client.get(f"/tips/{case_id}")).text()
    src = f"/tips/{case_id}/files"
    assert f'<audio controls preload="metadata" src="{src}/0">' in html
    figure = html[html.index('id="attachment-0"') : html.index('id="attachment-1"')]
    assert "VOICE DISGUISED" in figure  # said beside the player, as on the command line
    assert f'<video controls preload="metadata" src="{src}/1">' in html
    assert f'<iframe src="{src}/2"' in html
    assert f'src="{src}/3"' not in html and "export the case to open it" in html
    for index, expected in ((0, "audio/ogg"), (1, "video/mp4"), (2, "application/pdf")):
        served = await client.get(f"{src}/{index}")
        guarded(served)
        assert served.headers["Content-Type"] == expected
        assert served.headers["Content-Disposition"] == "inline"
    # A player seeking asks for a part: it gets that part (decrypted in memory again).
    whole = await (await client.get(f"{src}/1")).read()
    part = await client.get(f"{src}/1", headers={"Range": "bytes=100-199"})
    assert part.status == 206 and await part.read() == whole[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
    guarded(part)
    tail = await client.get(f"{src}/1", headers={"Range": "bytes=-10"})
    assert tail.status == 206 and await tail.read() == whole[-10:]
    beyond = await client.get(f"{src}/1", headers={"Range": f"bytes={len(whole)}-"})
    assert beyond.status == 416 and beyond.headers["Content-Range"] == f"bytes */{len(whole)}"
    # A document a browser does not show safely is not served at all: only exported.
    refused = await client.get(f"{src}/3")
    assert refused.status == 415 and "export the case" in await refused.text()


async def test_an_arabic_tip_is_shown_right_to_left_with_english_labels(
    client: Client, parts: ReviewerParts
) -> None:
    await parts.tipster.report(lang="ar", description=ARABIC)
    await signed_in(client)
    case_id = await case_of(client)
    html = await (await client.get(f"/tips/{case_id}")).text()
    assert ARABIC in html
    assert '<ol class="transcript" id="transcript" lang="ar" dir="rtl">' in html
    assert "العربية (Arabic, ar)" in html
    assert "<th>Description</th>" in html or "Description" in html


async def test_verdict_question_answer_and_export(
    client: Client, parts: ReviewerParts, tmp_path: Path
) -> None:
    code = await parts.tipster.report(photo=camera_jpeg(tmp_path), followup=True)
    assert code is not None
    await signed_in(client)
    case_id = await case_of(client)
    csrf = await csrf_of(client, f"/tips/{case_id}")
    asked = await client.post(
        f"/tips/{case_id}/ask",
        data={"csrf": csrf, "question": "What colour is the lorry?"},
        allow_redirects=False,
    )
    assert asked.status == 303
    # The tipster comes back with the receipt code and answers.
    heard = await parts.tipster.answer(code, REPLY)
    assert "What colour is the lorry?" in heard
    html = await (await client.get(f"/tips/{case_id}")).text()
    thread = html[html.index('id="thread"') :]
    assert "Question by wanjiru" in thread and "What colour is the lorry?" in thread
    assert REPLY in thread and thread.index("What colour") < thread.index(REPLY)
    verdict = await client.post(
        f"/tips/{case_id}/verdict",
        data={
            "csrf": csrf,
            "verdict": "reliable",
            "note": "Matches the Voi seizure",
            "risk": "high",
            "risk_reason": "Only three people saw the sacks",
        },
        allow_redirects=False,
    )
    assert verdict.status == 303
    html = await (await client.get(f"/tips/{case_id}")).text()
    assert "<strong>reliable</strong>, source risk high" in html
    # The form starts from the verdict on record, so sending it again changes nothing.
    assert ">Matches the Voi seizure</textarea>" in html
    assert 'value="Only three people saw the sacks"' in html
    assert "recorded (sealed); acknowledged" in html
    assert await parts.queue.pending_count() == 0  # acknowledged, as the command line does
    # The same verdict again changes nothing.
    again = await client.post(
        f"/tips/{case_id}/verdict",
        data={
            "csrf": csrf,
            "verdict": "reliable",
            "note": "Matches the Voi seizure",
            "risk": "high",
            "risk_reason": "Only three people saw the sacks",
        },
    )
    assert "already on record; nothing left to acknowledge" in await again.text()
    done = await (await client.get("/done")).text()
    row = done[done.index(f'href="/tips/{case_id}"') :]
    assert "<td>reliable</td><td>high</td>" in row and "Matches the Voi seizure" in row
    # Export: a new owner-only folder under the export directory, followed on its page.
    started = await client.post(
        f"/tips/{case_id}/export",
        data={"csrf": csrf, "folder": "voi-tusks"},
        allow_redirects=False,
    )
    assert started.status == 303 and started.headers["Location"] == f"/tips/{case_id}/export"
    page = await exported(client, case_id)
    assert 'id="export-done"' in page and "attachment-0.jpg" in page
    out = parts.export_dir / "voi-tusks"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        ["transcript.json", "transcript.txt", "followup.json", "attachment-0.jpg", "SHA256SUMS"]
    )
    assert (out.stat().st_mode & 0o777) == 0o700
    assert REPLY in (out / "followup.json").read_text()
    sums = (out / "SHA256SUMS").read_text()
    photo = (out / "attachment-0.jpg").read_bytes()
    assert f"{hashlib.sha256(photo).hexdigest()}  attachment-0.jpg" in sums
    again = await client.post(
        f"/tips/{case_id}/export", data={"csrf": csrf, "folder": "voi-tusks"}
    )
    assert again.status == 409 and "exists already" in await again.text()
    assert sorted(p.name for p in parts.export_dir.iterdir()) == ["voi-tusks"]
    sneaky = await client.post(
        f"/tips/{case_id}/export", data={"csrf": csrf, "folder": "../../etc"}
    )
    assert sneaky.status == 400
    html = await (await client.get(f"/tips/{case_id}")).text()
    custody = html[html.index('id="custody"') :]
    assert "verdict reliable, source risk high" in custody and "export" in custody


async def test_a_question_for_a_tipster_without_follow_up_is_refused(
    client: Client, parts: ReviewerParts
) -> None:
    await parts.tipster.report(followup=False)
    await signed_in(client)
    case_id = await case_of(client)
    html = await (await client.get(f"/tips/{case_id}")).text()
    assert 'id="no-followup"' in html
    refused = await client.post(
        f"/tips/{case_id}/ask", data={"csrf": hidden(html, "csrf"), "question": "Where?"}
    )
    assert refused.status == 409 and "did not ask for follow-up" in await refused.text()


async def test_two_reviewers_never_get_the_same_tip(
    client: Client, second: Client, parts: ReviewerParts
) -> None:
    for _ in range(3):
        await parts.tipster.report()
    await signed_in(client)
    await signed_in(second, "odhiambo", OTHER_PASSWORD + "-2")
    first_case = await case_of(client)
    second_case = await case_of(second)
    assert first_case != second_case
    # Taking "next" again gives each their own tip back (as the command line does).
    assert await case_of(client) == first_case
    assert await case_of(second) == second_case
    third = await case_of(await _finished(client, first_case))
    assert third not in (first_case, second_case)
    nothing = await take_next(await _finished(client, third))
    assert nothing.headers["Location"] == "/queue"
    assert "No tip is waiting." in await (await client.get("/queue")).text()


async def _finished(client: Client, case_id: str) -> Client:
    csrf = await csrf_of(client, f"/tips/{case_id}")
    await client.post(
        f"/tips/{case_id}/verdict", data={"csrf": csrf, "verdict": "duplicate", "risk": "low"}
    )
    return client


async def test_stats_are_the_numbers_of_the_command_line_desk(
    client: Client, parts: ReviewerParts
) -> None:
    await parts.tipster.report(category="poaching")
    await parts.tipster.report(lang="ar", description=ARABIC)
    await signed_in(client)
    case_id = await case_of(client)
    await _finished(client, case_id)
    page = await client.get("/stats?days=7")
    guarded(page)
    html = await page.text()
    desk = Desk(parts.queue, [parts.identity], reviewer="wanjiru")
    numbers = await desk.stats(category_question(questionnaire()), 7)
    assert numbers.tips == 2
    assert re.search(rf'id="tips">{numbers.tips}<', html)
    drawn = dict(re.findall(r'data-day="([0-9-]+)" data-count="(\d+)"', html))
    assert len(drawn) == 7
    assert {d: int(n) for d, n in drawn.items() if n != "0"} == numbers.by_day
    bars = re.findall(r'<g class="bar" data-label="([^"]*)" data-count="(\d+)"', html)
    assert ("duplicate", "1") in bars and ("low", "1") in bars
    assert ("العربية (Arabic, ar)", "1") in bars and ("English (en)", "1") in bars
    assert ("Poaching", "1") in bars
    assert "<script" not in html and "http://" not in html.replace(
        "http://www.w3.org/2000/svg", ""
    )


async def test_the_desk_locks_itself_when_idle(
    client: Client, parts: ReviewerParts, clock: Clock
) -> None:
    await parts.tipster.report()
    await signed_in(client)
    case_id = await case_of(client)
    clock.now += 9 * 60
    assert (await client.get(f"/tips/{case_id}", allow_redirects=False)).status == 200
    clock.now += 9 * 60  # used 9 minutes ago: still open
    assert (await client.get(f"/tips/{case_id}", allow_redirects=False)).status == 200
    clock.now += 10 * 60 + 1
    assert len(parts.keyring.sweep()) == 1 and parts.keyring.unlocked == 0
    locked = await client.get(f"/tips/{case_id}", allow_redirects=False)
    assert locked.status == 303 and locked.headers["Location"] == "/unlock"
    assert (await unlock(client)).headers["Location"] == "/queue"
    # Lock now, by hand; and a log-out forgets the key too.
    await client.post("/lock", data={"csrf": await csrf_of(client)})
    assert parts.keyring.unlocked == 0
    await unlock(client)
    await client.post("/logout", data={"csrf": await csrf_of(client)})
    assert parts.keyring.unlocked == 0


async def test_cookies_are_the_reviewer_desks_own(client: Client) -> None:
    page = await client.get("/login")
    assert page.cookies["tipline-review-login"]["httponly"]
    signed = await log_in(client, "wanjiru", PASSWORD)
    cookie = signed.cookies["tipline-review"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert "tipline-desk" not in signed.cookies  # the operator desk's name: not touched


async def test_an_operator_never_sees_a_reviewer_page(client: Client) -> None:
    refused = await log_in(client, "amina", OTHER_PASSWORD)
    assert refused.status == 403 and "This account is an operator" in await refused.text()
    assert (await client.get("/queue", allow_redirects=False)).headers["Location"] == "/login"


async def test_csrf_and_cross_site_requests_are_refused(
    client: Client, parts: ReviewerParts
) -> None:
    await parts.tipster.report()
    await signed_in(client)
    forged = await client.post("/next", data={"csrf": "forged"})
    assert forged.status == 403
    assert await parts.queue.pending_count() == 0
    cross = await client.post(
        "/next",
        data={"csrf": await csrf_of(client)},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status == 403 and "Cross-site" in await cross.text()
    assert await parts.queue.pending_count() == 0
    anonymous = await client.post("/logout", data={})
    assert anonymous.status in (403, 303)


async def test_what_the_command_line_did_the_desk_sees(
    client: Client, parts: ReviewerParts, redis_client: aioredis.Redis
) -> None:
    """The command line's desk and the browser's share the queue: a tip claimed with
    ``review next`` (here, the same Desk it runs) is the reviewer's own in the browser."""
    await parts.tipster.report()
    desk = Desk(
        parts.queue, [parts.identity], reviewer="wanjiru", followups=FollowupStore(redis_client)
    )
    claimed = (await desk.next()).claimed
    assert claimed is not None
    await signed_in(client)
    queue = await (await client.get("/queue")).text()
    assert claimed.opened.case_id in queue
    assert await case_of(client) == claimed.opened.case_id
    html = await (await client.get(f"/tips/{claimed.opened.case_id}")).text()
    assert "Claimed by you already (delivery 2)." in html
    assert json.loads(claimed.opened.plaintext)["case_id"] == claimed.opened.case_id


async def test_wrong_passphrases_are_throttled(client: Client, parts: ReviewerParts) -> None:
    assert (await log_in(client, "wanjiru", PASSWORD)).headers["Location"] == "/unlock"
    for _ in range(5):
        assert (await unlock(client, "Tsavo-West")).status == 401
    # Blocked now, even with the right passphrase: nothing is opened.
    blocked = await unlock(client)
    assert blocked.status == 429 and "Too many wrong passphrases" in await blocked.text()
    assert parts.keyring.unlocked == 0


async def test_an_unprotected_identity_needs_no_passphrase(
    redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis, tmp_path: Path
) -> None:
    parts = await build_reviewer_desk(redis_client, ephemeral_client, tmp_path, protected=False)
    await parts.accounts.add("wanjiru", "reviewer", PASSWORD)
    await parts.tipster.report()
    async for client in serve(parts.app):
        assert (await log_in(client, "wanjiru", PASSWORD)).headers["Location"] == "/queue"
        case_id = await case_of(client)
        html = await (await client.get(f"/tips/{case_id}")).text()
        assert DESCRIPTION in html and 'id="lock"' not in html
        assert 'http-equiv="refresh"' not in html


async def test_a_case_is_shared_with_a_partner_only_with_what_is_kept(
    client: Client, parts: ReviewerParts
) -> None:
    await parts.tipster.report(followup=True)
    await signed_in(client)
    case_id = await case_of(client)
    html = await (await client.get(f"/tips/{case_id}")).text()
    csrf = hidden(html, "csrf")
    assert 'value="description"' in html and 'value="followup"' not in html  # never leaves
    partner = X25519Identity.generate()
    form = FormData()
    for key, value in (
        ("csrf", csrf),
        ("to", str(partner.recipient)),
        ("redact", "description"),
        ("redact", "place"),
        ("name", "for-kws"),
    ):
        form.add_field(key, value)
    shared = await client.post(f"/tips/{case_id}/share", data=form)
    assert shared.status == 200, await shared.text()
    page = await shared.text()
    assert (
        "sealed to the partner&#39;s key only" in page and "withheld: description, place" in page
    )
    bundle = (parts.export_dir / "for-kws.age").read_bytes()
    archive = decrypt(bundle, [partner])
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        names = tar.getnames()
        transcript = tar.extractfile("transcript.json")
        assert transcript is not None
        words = transcript.read().decode()
    assert "transcript.json" in names and "manifest.json" in names
    assert DESCRIPTION not in words and PLACE not in words and "[withheld]" in words
    with pytest.raises(AgeError):
        decrypt(bundle, [parts.identity])  # not even the reviewers' keys open it
    custody = page[page.index('id="custody"') :]
    assert "share to sha256:" in custody and "withheld description, place" in custody


async def test_a_high_risk_source_is_not_shared_without_a_reason(
    client: Client, parts: ReviewerParts
) -> None:
    await parts.tipster.report()
    await signed_in(client)
    case_id = await case_of(client)
    csrf = await csrf_of(client, f"/tips/{case_id}")
    await client.post(
        f"/tips/{case_id}/verdict",
        data={"csrf": csrf, "verdict": "reliable", "risk": "high", "risk_reason": "Few saw it"},
    )
    partner = str(X25519Identity.generate().recipient)
    refused = await client.post(
        f"/tips/{case_id}/share", data={"csrf": csrf, "to": partner, "name": "risky"}
    )
    assert refused.status == 409
    assert "high risk (Few saw it): not shared" in await refused.text()
    assert not (parts.export_dir / "risky.age").exists()
    html = await (await client.get(f"/tips/{case_id}")).text()
    assert 'id="override-risk"' in html
    overridden = await client.post(
        f"/tips/{case_id}/share",
        data={"csrf": csrf, "to": partner, "name": "risky", "override_risk": "Court order"},
    )
    assert overridden.status == 200
    assert (parts.export_dir / "risky.age").exists()
    assert "high risk overridden: Court order" in await overridden.text()
    bad = await client.post(
        f"/tips/{case_id}/share", data={"csrf": csrf, "to": "age1nope", "name": "x"}
    )
    assert bad.status == 400 and "not an age recipient" in await bad.text()


async def test_a_damaged_tip_is_dead_lettered_on_the_way_as_on_the_command_line(
    client: Client, parts: ReviewerParts
) -> None:
    damaged = new_case_id()
    await parts.queue.submit(damaged, b"age-encryption.org/v1\n-> X25519 broken\n", [])
    await parts.tipster.report()
    await signed_in(client)
    good = await case_of(client)
    assert good != damaged
    html = await (await client.get(f"/tips/{good}")).text()
    assert f"Case {damaged} moved to the dead-letter stream: cannot be decrypted" in html
    assert await parts.queue.dead_count() == 1
    queue = await (await client.get("/queue")).text()
    assert re.search(r'id="dead">1<', queue)
    # A dead-lettered case's record stays: it is said plainly that it does not open.
    shown = await client.get(f"/tips/{damaged}")
    assert shown.status == 422 and "cannot be decrypted" in await shown.text()


async def test_labels_in_the_reviewers_language_words_in_the_tipsters_and_no_log_of_them(
    redis_client: aioredis.Redis,
    ephemeral_client: aioredis.Redis,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    parts = await build_reviewer_desk(redis_client, ephemeral_client, tmp_path, lang="fr")
    await parts.accounts.add("wanjiru", "reviewer", PASSWORD)
    await parts.tipster.report(lang="ar", description=ARABIC)
    caplog.set_level(logging.DEBUG)
    async for client in serve(parts.app):
        await signed_in(client)
        case_id = await case_of(client)
        html = await (await client.get(f"/tips/{case_id}")).text()
        assert '<html lang="fr" dir="ltr">' in html
        assert "<th>Pays</th>" in html and "Ce qui s&#39;est passé" in html
        assert ARABIC in html and 'lang="ar" dir="rtl"' in html
        await client.get(f"/tips/{case_id}?map=1")
        await client.get("/stats")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (ARABIC, PLACE, PASSPHRASE, PASSWORD, "39.67"):
        assert secret not in logged, secret


async def test_wrong_passwords_are_throttled_as_on_the_operator_desk(
    redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis, tmp_path: Path
) -> None:
    rules = (
        ThrottleRule(limit=2, window=timedelta(minutes=15), backoff=timedelta(minutes=1)),
        ThrottleRule(limit=300, window=timedelta(minutes=1)),
    )
    parts = await build_reviewer_desk(
        redis_client, ephemeral_client, tmp_path, desk=DeskConfig(login_rules=rules)
    )
    await parts.accounts.add("wanjiru", "reviewer", PASSWORD)
    async for client in serve(parts.app):
        wrong = await log_in(client, "wanjiru", "not the password")
        assert wrong.status == 401 and "Wrong name or password." in await wrong.text()
        waiting = await log_in(client, "wanjiru", PASSWORD)  # right, but in the backoff
        assert waiting.status == 429 and "Too many wrong passwords" in await waiting.text()
        assert "tipline-review" not in waiting.cookies


async def test_the_desk_forgets_an_idle_key_by_itself(
    redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis, tmp_path: Path
) -> None:
    """Without any request: the desk's own sweeper forgets the key once it has been idle
    too long (the keyring's clock is the test's; the sweeper runs every 10 ms here)."""
    clock = Clock()
    parts = await build_reviewer_desk(
        redis_client, ephemeral_client, tmp_path, clock=clock, sweep_every=0.01
    )
    await parts.accounts.add("wanjiru", "reviewer", PASSWORD)
    await parts.tipster.report()
    async for client in serve(parts.app):
        await signed_in(client)
        await take_next(client)  # leaves a notice for the next page
        assert parts.keyring.unlocked == 1
        clock.now += 10 * 60 + 1
        for _ in range(500):
            if parts.keyring.unlocked == 0:
                break
            await asyncio.sleep(0.01)
        assert parts.keyring.unlocked == 0
        locked = await client.get("/queue", allow_redirects=False)
        assert locked.headers["Location"] == "/unlock"
        await unlock(client)
        queue = await (await client.get("/queue")).text()
        assert 'id="notices"' not in queue  # what was held for the session went with the key


async def test_an_idle_claim_is_reclaimed_as_on_the_command_line(
    redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis, tmp_path: Path
) -> None:
    """``reclaim_after`` zero: any claim counts as idle (TIPLINE_RECLAIM_AFTER=0)."""
    parts = await build_reviewer_desk(
        redis_client, ephemeral_client, tmp_path, reclaim_after=timedelta(0)
    )
    await parts.accounts.add("wanjiru", "reviewer", PASSWORD)
    await parts.tipster.report()
    left = Desk(parts.queue, [parts.identity], reviewer="gone-home")
    claimed = (await left.next()).claimed
    assert claimed is not None
    async for client in serve(parts.app):
        await signed_in(client)
        assert await case_of(client) == claimed.opened.case_id
        html = await (await client.get(f"/tips/{claimed.opened.case_id}")).text()
        assert "Reclaimed after another reviewer&#39;s claim went idle (delivery 2)." in html


async def test_any_case_opens_by_its_id_without_being_claimed(
    client: Client, parts: ReviewerParts
) -> None:
    await parts.tipster.report()
    await signed_in(client)
    tip = await parts.queue.claim_next("someone-else")
    assert tip is not None
    opened = await client.get("/case", params={"case": f" {tip.case_id} "}, allow_redirects=False)
    assert opened.headers["Location"] == f"/tips/{tip.case_id}"
    html = await (await client.get(opened.headers["Location"])).text()
    assert DESCRIPTION in html
    assert await parts.queue.claimed_per_consumer() == {"someone-else": 1}  # not claimed
    assert (await client.get("/case", params={"case": "../etc"})).status == 404
    assert (await client.get("/tips/aaaaaaaaaaaaaaaaaaaaaaaa")).status == 404


async def test_a_listing_s_link_is_shown_defanged_and_never_as_a_link(
    client: Client, parts: ReviewerParts
) -> None:
    await parts.tipster.report(category="sale")  # a sale online: the listing is asked
    await log_in(client, "wanjiru", PASSWORD)
    await unlock(client)
    case_id = await case_of(client)
    html = await (await client.get(f"/tips/{case_id}")).text()
    assert "hxxps://ivory-carvings[.]example/listing/5521?ref=tg" in html
    assert "https://ivory-carvings" not in html and "ivory-carvings.example" not in html
    assert "Opening one contacts that site" in html
