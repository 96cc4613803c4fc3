"""The operator desk over real HTTP on loopback, with real Redis servers: logins,
sessions, CSRF, headers, throttling, whole calls sealed to the reviewers."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from aiohttp import ClientResponse, FormData

from desk import CHANNEL, DeskConfig
from desk.app import CSP
from privacy import X25519Recipient, decrypt, encrypt
from storage import connect
from storage.followup import FollowupStore
from storage.throttle import ThrottleRule

from .deskharness import (
    DESCRIPTION,
    OTHER_PASSWORD,
    PASSWORD,
    PLACE,
    Client,
    DeskParts,
    build_desk,
    hidden,
    sealed_tips,
    serve,
    step_of,
)
from .leaks import assert_absent, redis_contents
from .samples import CITY, COMMENT, NAME
from .samples.images import camera_jpeg


@pytest_asyncio.fixture
async def parts(
    redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis, tmp_path: Path
) -> DeskParts:
    parts = await build_desk(redis_client, ephemeral_client, tmp_path)
    await parts.accounts.add("amina", "operator", PASSWORD)
    return parts


@pytest_asyncio.fixture
async def client(parts: DeskParts) -> AsyncIterator[Client]:
    async for c in serve(parts.app):
        yield c


@pytest_asyncio.fixture
async def other(parts: DeskParts) -> AsyncIterator[Client]:
    """A second browser, for a second operator (bao, who works in Vietnamese)."""
    await parts.accounts.add("bao", "operator", OTHER_PASSWORD, lang="vi")
    async for c in serve(parts.app):
        yield c


def assert_guarded(response: ClientResponse) -> None:
    assert response.headers["Cache-Control"] == "no-store", response.url
    assert response.headers["Content-Security-Policy"] == CSP, response.url
    assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def login(client: Client, name: str, password: str) -> ClientResponse:
    page = await client.get("/login")
    assert_guarded(page)
    token = hidden(await page.text(), "csrf")
    return await client.post(
        "/login",
        data={"csrf": token, "name": name, "password": password},
        allow_redirects=False,
    )


async def signed_in(client: Client, name: str = "amina", password: str = PASSWORD) -> str:
    """Log in; the calls page's CSRF token."""
    response = await login(client, name, password)
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/calls"
    calls = await client.get("/calls")
    assert calls.status == 200
    return hidden(await calls.text(), "csrf")


async def new_call(client: Client, csrf: str, lang: str = "en") -> str:
    response = await client.post(
        "/calls", data={"csrf": csrf, "lang": lang}, allow_redirects=False
    )
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    assert re.fullmatch(r"/calls/[A-Za-z0-9_-]{22}", location)
    return location


async def post(client: Client, url: str, html: str, **fields: str) -> str:
    data = {"csrf": hidden(html, "csrf"), "step": step_of(html) or "", **fields}
    response = await client.post(url, data=data)
    assert_guarded(response)
    assert response.status == 200, await response.text()
    return await response.text()


# What the operator types or picks at each step of the default questionnaire.
ANSWERS: dict[str, dict[str, str]] = {
    "safety": {"choice": "continue"},
    "category": {"choice": "logging"},
    "description": {"text": DESCRIPTION},
    "species": {"text": "rosewood"},
    "_species_pick": {"choice": "1"},
    "_species_more": {"choice": "done"},
    "country": {"text": "Kenya"},
    "place": {"text": PLACE},
    "location": {"text": "-4.5712, 39.1203"},
    "_precision": {"choice": "10km"},
    "when": {"choice": "this_week"},
    "when_details": {"command": "skip"},
    "evidence": {"choice": "done"},
    "followup": {"choice": "yes"},
    "review": {"choice": "send"},
}


async def take_call(client: Client, url: str, answers: dict[str, dict[str, str]]) -> str:
    page = await client.get(url)
    html = await page.text()
    seen: list[str] = []
    while (step := step_of(html)) is not None:
        assert step in answers, f"unexpected step {step} after {seen}"
        seen.append(step)
        assert len(seen) < 40, seen
        html = await post(client, url, html, **answers[step])
    return html


# -------------------------------------------------------------------------- tests
async def test_a_whole_call_is_sealed_for_the_reviewers_as_hotline(
    client: Client,
    parts: DeskParts,
    redis_client: aioredis.Redis,
    ephemeral_client: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    csrf = await signed_in(client)
    url = await new_call(client, csrf)
    page = await client.get(url)
    html = await page.text()
    for step in ("safety", "category", "description", "species"):
        html = await post(client, url, html, **ANSWERS[step])
    # Mid-call: the draft is in the ephemeral Redis, encrypted; nothing readable anywhere.
    stored = await redis_contents(redis_client, ephemeral_client)
    assert_absent(stored, [DESCRIPTION, PASSWORD, "Mkomazi"], "Redis during a call")
    html = await take_call(client, url, ANSWERS)
    assert 'id="done"' in html and "Received" in html
    receipt = re.search(r'id="receipt" dir="ltr">([0-9 ]+)<', html)
    assert receipt is not None and len(receipt.group(1).replace(" ", "")) == 16
    tips = await sealed_tips(parts)
    assert len(tips) == 1
    tip = tips[0]
    assert tip["channel"] == CHANNEL == "hotline"
    text = str(tip)
    assert DESCRIPTION in text and PLACE in text
    assert "taken_by" not in tip and "amina" not in text  # no operator named by default
    stored = await redis_contents(redis_client, ephemeral_client)
    assert_absent(
        stored,
        [
            DESCRIPTION,
            PLACE,
            PASSWORD,
            OTHER_PASSWORD,
            receipt.group(1),
            receipt.group(1).replace(" ", ""),
        ],
        "Redis after a call",
    )
    # The call is over: its page sends the operator back to the list, which is empty.
    after = await client.get(url, allow_redirects=False)
    assert after.status == 303 and after.headers["Location"] == "/calls"
    listing = await (await client.get("/calls")).text()
    assert 'id="no-held"' in listing
    # Nothing of the call, the receipt or the password in any log line.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (DESCRIPTION, PLACE, PASSWORD, receipt.group(1), "Mkomazi"):
        assert secret not in logged


async def test_every_response_is_no_store_with_a_strict_csp(client: Client) -> None:
    csrf = await signed_in(client)
    url = await new_call(client, csrf)
    for path in ("/login", "/calls", url, "/static/desk.css", "/static/desk.js", "/nothing"):
        response = await client.get(path, allow_redirects=False)
        assert_guarded(response)
    response = await client.post("/calls", data={"lang": "en"}, allow_redirects=False)
    assert response.status == 403
    assert_guarded(response)
    redirect = await client.get("/", allow_redirects=False)
    assert redirect.status == 303
    assert_guarded(redirect)


async def test_cookies_are_httponly_and_samesite_strict(client: Client) -> None:
    page = await client.get("/login")
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    response = await login(client, "amina", PASSWORD)
    cookie = response.headers.getall("Set-Cookie")[0]
    assert cookie.startswith("tipline-desk=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


async def test_under_tls_cookies_are_secure_and_host_only(
    redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis, tmp_path: Path
) -> None:
    parts = await build_desk(redis_client, ephemeral_client, tmp_path, DeskConfig(tls=True))
    async for client in serve(parts.app):
        page = await client.get("/login")
        cookie = page.headers["Set-Cookie"]
        assert cookie.startswith("__Host-tipline-login=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_every_page_but_login_refuses_an_anonymous_request(client: Client) -> None:
    for path in ("/", "/calls", "/calls/AAAAAAAAAAAAAAAAAAAAAA"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/login", path
    for path in ("/calls", "/calls/AAAAAAAAAAAAAAAAAAAAAA", "/logout"):
        response = await client.post(path, data={"csrf": "x"}, allow_redirects=False)
        assert response.status == 403, path


async def test_a_form_without_the_csrf_token_is_refused(
    client: Client,
    parts: DeskParts,
) -> None:
    csrf = await signed_in(client)
    url = await new_call(client, csrf)
    html = await (await client.get(url)).text()
    for data in (
        {"step": "safety", "choice": "continue"},
        {"csrf": "forged", "step": "safety", "choice": "continue"},
    ):
        response = await client.post(url, data=data)
        assert response.status == 403
        assert "did not come from the desk" in await response.text()
    # Nothing moved: the call is still at its first question.
    assert step_of(await (await client.get(url)).text()) == "safety"
    # The login form needs its own token too.
    response = await client.post(
        "/login", data={"name": "amina", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403
    # And a request that a browser marks as cross-site is refused even with the token.
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = await client.post(
            url,
            data={"csrf": hidden(html, "csrf"), "step": "safety", "choice": "continue"},
            headers=headers,
        )
        assert response.status == 403, headers
    assert step_of(await (await client.get(url)).text()) == "safety"


async def test_wrong_passwords_are_throttled(client: Client) -> None:
    response = await login(client, "amina", "not-the-password")
    assert response.status == 401
    # Right after a wrong one, even the right password waits out the backoff.
    response = await login(client, "amina", PASSWORD)
    assert response.status == 429
    assert "Too many wrong passwords" in await response.text()
    # An unknown account is throttled the same way (no telling names apart).
    assert (await login(client, "nobody", "whatever-it-is")).status == 401
    assert (await login(client, "nobody", "whatever-it-is")).status == 429


async def test_the_limit_holds_without_backoff_too(
    redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis, tmp_path: Path
) -> None:
    rules = (
        ThrottleRule(limit=3, window=timedelta(minutes=5)),
        ThrottleRule(limit=100, window=timedelta(minutes=1)),
    )
    parts = await build_desk(
        redis_client, ephemeral_client, tmp_path, DeskConfig(login_rules=rules)
    )
    await parts.accounts.add("amina", "operator", PASSWORD)
    async for client in serve(parts.app):
        for _ in range(3):
            assert (await login(client, "amina", "wrong-wrong-wrong")).status == 401
        assert (await login(client, "amina", PASSWORD)).status == 429


async def test_an_idle_session_expires(
    redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis, tmp_path: Path
) -> None:
    config = DeskConfig(idle=timedelta(seconds=2))
    parts = await build_desk(redis_client, ephemeral_client, tmp_path, config)
    await parts.accounts.add("amina", "operator", PASSWORD)
    async for client in serve(parts.app):
        await signed_in(client)
        await asyncio.sleep(0.5)
        assert (await client.get("/calls", allow_redirects=False)).status == 200  # still active
        await asyncio.sleep(2.4)
        response = await client.get("/calls", allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/login"


async def test_disabling_or_resetting_an_account_ends_its_sessions(
    client: Client,
    other: Client,
    parts: DeskParts,
) -> None:
    await signed_in(client)
    await signed_in(other, "bao", OTHER_PASSWORD)
    await parts.accounts.set_disabled("amina", True)
    await parts.accounts.set_password("bao", "A-brand-new-password-9")
    for c in (client, other):
        response = await c.get("/calls", allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/login"
    assert (await login(client, "amina", PASSWORD)).status == 401
    assert (await login(other, "bao", OTHER_PASSWORD)).status in (401, 429)


async def test_a_reviewer_account_gets_no_operator_page(client: Client, parts: DeskParts) -> None:
    await parts.accounts.add("rita", "reviewer", PASSWORD)
    response = await login(client, "rita", PASSWORD)
    assert response.status == 303
    page = await client.get("/calls")
    assert page.status == 403
    assert "reviewer" in await page.text()


async def test_an_operator_cannot_reach_another_operators_call(
    client: Client,
    other: Client,
) -> None:
    csrf = await signed_in(client)
    url = await new_call(client, csrf)
    html = await (await client.get(url)).text()
    other_csrf = await signed_in(other, "bao", OTHER_PASSWORD)
    assert (await other.get(url)).status == 404
    response = await other.post(
        url, data={"csrf": other_csrf, "step": "safety", "choice": "continue"}
    )
    assert response.status == 404
    assert url not in await (await other.get("/calls")).text()
    assert step_of(await (await client.get(url)).text()) == "safety"
    assert step_of(html) == "safety"


async def test_calls_are_held_and_resumed_where_they_stopped(client: Client) -> None:
    csrf = await signed_in(client)
    first = await new_call(client, csrf, "fr")
    html = await (await client.get(first)).text()
    html = await post(client, first, html, choice="continue")
    html = await post(client, first, html, choice="poaching")
    assert step_of(html) == "description"
    second = await new_call(client, csrf, "ar")
    listing = await (await client.get("/calls")).text()
    assert first in listing and second in listing
    assert "Français" in listing or "français" in listing
    resumed = await (await client.get(first)).text()
    assert step_of(resumed) == "description"
    assert 'lang="fr" dir="ltr"' in resumed
    arabic = await (await client.get(second)).text()
    assert 'lang="ar" dir="rtl"' in arabic


async def test_an_answer_for_an_earlier_question_changes_nothing(client: Client) -> None:
    csrf = await signed_in(client)
    url = await new_call(client, csrf)
    first = await (await client.get(url)).text()
    html = await post(client, url, first, choice="continue")
    assert step_of(html) == "category"
    again = await post(client, url, first, text="sent twice")  # the same form, posted again
    assert 'id="stale"' in again and step_of(again) == "category"


async def test_back_skip_and_cancel(client: Client, parts: DeskParts) -> None:
    csrf = await signed_in(client)
    url = await new_call(client, csrf)
    html = await (await client.get(url)).text()
    html = await post(client, url, html, choice="continue")
    html = await post(client, url, html, command="back")
    assert step_of(html) == "safety"
    html = await post(client, url, html, choice="continue")
    html = await post(client, url, html, choice="other")
    html = await post(client, url, html, text=DESCRIPTION)
    assert step_of(html) == "species"
    html = await post(client, url, html, command="skip")
    assert step_of(html) == "country"
    html = await post(client, url, html, command="cancel")
    html = await post(client, url, html, choice="yes")
    assert 'id="done"' in html and "Nothing of it was kept" in html
    assert await sealed_tips(parts) == []
    assert (await client.get(url, allow_redirects=False)).status == 303


async def test_a_file_the_caller_sent_is_scrubbed_and_sealed(
    client: Client,
    parts: DeskParts,
    tmp_path: Path,
    redis_client: aioredis.Redis,
    ephemeral_client: aioredis.Redis,
) -> None:
    photo = camera_jpeg(tmp_path)  # GPS, camera serial, owner's name, city, comment
    csrf = await signed_in(client)
    url = await new_call(client, csrf)
    answers = {**ANSWERS, "followup": {"choice": "no"}}
    html = await (await client.get(url)).text()
    while (step := step_of(html)) != "evidence":
        assert step is not None
        html = await post(client, url, html, **answers[step])
    assert 'enctype="multipart/form-data"' in html

    async def upload(data: bytes, name: str) -> str:
        form = FormData()
        form.add_field("csrf", hidden(html, "csrf"))
        form.add_field("step", "evidence")
        form.add_field("command", "attach")
        form.add_field("file", data, filename=name, content_type="application/octet-stream")
        response = await client.post(url, data=form)
        assert response.status == 200
        return await response.text()

    refused = await upload(b"MZ\x90\x00" + bytes(2000), f"{NAME}.exe")
    assert "We cannot accept this kind of file" in refused
    assert step_of(refused) == "evidence"
    html = await upload(photo, f"{NAME} at {CITY}.jpg")
    removed = re.search(r"To protect you, we removed from your file: ([^<]*)\.<", html)
    assert removed is not None
    for what in ("the location", "the camera details", "names of people"):
        assert what in removed.group(1)
    assert "1 file received so far." in html
    assert step_of(html) == "evidence"
    stored = await redis_contents(redis_client, ephemeral_client)
    assert_absent(stored, [NAME, CITY, COMMENT], "Redis with the file kept")
    assert photo[:64] not in stored
    html = await take_call(client, url, answers)
    assert 'id="done"' in html
    tip = await parts.queue.claim_next("test-reviewer")
    assert tip is not None and len(tip.attachments) == 1
    sealed_photo = decrypt(tip.attachments[0], [parts.reviewer])
    assert sealed_photo.startswith(b"\xff\xd8") and sealed_photo != photo
    for planted in (NAME, CITY, COMMENT):
        assert planted.encode() in photo and planted.encode() not in sealed_photo
    transcript = json.loads(decrypt(tip.sealed, [parts.reviewer]))
    [entry] = transcript["attachments"]
    assert entry["kind"] == "jpeg" and "location" in entry["removed"]
    assert NAME not in json.dumps(transcript) and transcript["channel"] == "hotline"


async def test_species_suggestions_come_only_for_ones_own_call_at_a_species_question(
    client: Client, other: Client
) -> None:
    csrf = await signed_in(client)
    url = await new_call(client, csrf, "vi")
    html = await (await client.get(url)).text()
    ask = {"csrf": hidden(html, "csrf"), "q": "pangolin scals"}
    early = await client.post(f"{url}/species", data=ask)
    assert early.status == 200 and await early.json() == []  # not at the species question
    for step in ("safety", "category", "description"):
        html = await post(client, url, html, **ANSWERS[step])
    assert step_of(html) == "species" and "data-suggest" in html
    response = await client.post(f"{url}/species", data=ask)
    assert_guarded(response)
    found = await response.json()
    assert found[0]["scientific"] == "Manidae"
    assert found[0]["operator"].startswith("pangolin")
    assert found[0]["fill"] == found[0]["caller"] != found[0]["operator"]  # in Vietnamese
    refused = await client.post(f"{url}/species", data={"q": "pangolin"})
    assert refused.status == 403
    other_csrf = await signed_in(other, "bao", OTHER_PASSWORD)
    stranger = await other.post(f"{url}/species", data={"csrf": other_csrf, "q": "pangolin"})
    assert stranger.status == 404


async def test_a_phone_number_or_name_is_not_kept_until_the_operator_decides(
    client: Client,
    parts: DeskParts,
    redis_client: aioredis.Redis,
    ephemeral_client: aioredis.Redis,
) -> None:
    phone, name = "0712 345 678", "Amina Wanjiru"
    csrf = await signed_in(client)
    url = await new_call(client, csrf)
    html = await (await client.get(url)).text()
    html = await post(client, url, html, choice="continue")
    html = await post(client, url, html, choice="poaching")
    said = f"My name is {name}, call me on {phone}. {DESCRIPTION}"
    html = await post(client, url, html, text=said)
    # Warned, the words kept in the box only, nothing stored yet.
    assert step_of(html) == "description" and 'id="identity"' in html
    assert "A phone number" in html and "A name" in html and f">{said}</textarea>" in html
    stored = await redis_contents(redis_client, ephemeral_client)
    assert_absent(stored, [phone, name, "Mkomazi"], "Redis before the decision")
    html = await post(client, url, html, text=said, identity="remove")
    assert step_of(html) == "species"
    # The place: kept as typed when the operator says so (the caller wants it there).
    html = await post(client, url, html, command="skip")
    html = await post(client, url, html, text="Kenya")
    landline = "Shop sign says 020 7946 0958"
    html = await post(client, url, html, text=landline)
    assert 'id="identity"' in html
    html = await post(client, url, html, text=landline, identity="keep")
    assert step_of(html) == "location"
    answers = {
        **ANSWERS,
        "followup": {"choice": "no"},
        "location": {"command": "skip"},
        "when_details": {"command": "skip"},
    }
    html = await take_call(client, url, answers)
    [tip] = await sealed_tips(parts)
    text = json.dumps(tip, ensure_ascii=False)
    assert phone not in text and name not in text
    assert f"My name is [removed], call me on [removed]. {DESCRIPTION}" in text
    assert landline in text


async def test_the_callers_language_can_change_mid_call(client: Client) -> None:
    csrf = await signed_in(client)
    url = await new_call(client, csrf, "en")
    html = await (await client.get(url)).text()
    html = await post(client, url, html, choice="continue")
    assert step_of(html) == "category"
    html = await post(client, url, html, command="language")
    assert step_of(html) == "language"
    html = await post(client, url, html, choice="sw")
    # Back at the question it left, now read in Swahili.
    assert step_of(html) == "category"
    assert 'id="prompt-caller"' in html and 'lang="sw" dir="ltr"' in html
    assert "Kiswahili" in html


async def test_a_caller_with_a_receipt_code_hears_the_questions_and_answers(
    client: Client,
    parts: DeskParts,
    redis_client: aioredis.Redis,
    ephemeral_client: aioredis.Redis,
) -> None:
    csrf = await signed_in(client)
    url = await new_call(client, csrf)
    html = await take_call(client, url, ANSWERS)
    receipt = re.search(r'id="receipt" dir="ltr">([0-9 ]+)<', html)
    assert receipt is not None
    [tip] = await sealed_tips(parts)
    case_id = str(tip["case_id"])
    # A reviewer leaves a question, sealed to the key only the code opens.
    followups = FollowupStore(redis_client)
    recipient = await followups.recipient(case_id)
    assert recipient is not None
    question = "Which sawmill bought the Mkomazi logs?"
    await followups.ask(case_id, encrypt(question.encode(), [X25519Recipient.parse(recipient)]))
    # The caller phones again, days later, with the code.
    response = await client.post(
        "/calls", data={"csrf": csrf, "lang": "en", "mode": "followup"}, allow_redirects=False
    )
    again = response.headers["Location"]
    html = await (await client.get(again)).text()
    assert step_of(html) == "_receipt"
    html = await post(client, again, html, text="1234 5678 9012 3456")  # misheard
    assert step_of(html) == "_receipt" and "We do not know this code" in html
    await asyncio.sleep(1.1)  # a wrong code is followed by a wait (the intake's throttle)
    html = await post(client, again, html, text=receipt.group(1))
    assert step_of(html) == "_followup" and question in html
    answer = "The Tana River sawmill, and my number is 0712 345 678"
    html = await post(client, again, html, text=answer)
    assert 'id="identity"' in html  # a follow-up answer is checked like any free text
    html = await post(client, again, html, text=answer, identity="remove")
    assert 'id="done"' in html and "Answer sent" in html
    [sealed] = await followups.answers(case_id)
    document = json.loads(decrypt(sealed, [parts.reviewer]))
    assert document["channel"] == "hotline" and document["case_id"] == case_id
    assert document["text"] == "The Tana River sawmill, and my number is [removed]"
    stored = await redis_contents(redis_client, ephemeral_client)
    assert_absent(stored, ["Tana River", "0712 345 678", question], "Redis after a follow-up")


async def test_storage_down_is_said_plainly_and_nothing_is_pretended(tmp_path: Path) -> None:
    gone = f"unix://{tmp_path}/no-redis.sock"
    durable, ephemeral = await connect(gone, retries=0), await connect(gone, retries=0)
    try:
        parts = await build_desk(durable, ephemeral, tmp_path, ensure_group=False)
        async for client in serve(parts.app):
            login_page = await client.get("/login")
            assert login_page.status == 200  # the login page needs no storage
            client.session.cookie_jar.update_cookies({"tipline-desk": "some-token"})
            response = await client.get("/calls", allow_redirects=False)
            assert response.status == 503
            assert_guarded(response)
            assert "cannot reach its storage" in await response.text()
    finally:
        await durable.aclose()
        await ephemeral.aclose()


async def test_the_operator_is_named_in_the_tip_only_when_the_organisation_says_so(
    redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis, tmp_path: Path
) -> None:
    parts = await build_desk(
        redis_client, ephemeral_client, tmp_path, DeskConfig(record_operator=True)
    )
    await parts.accounts.add("amina", "operator", PASSWORD)
    async for client in serve(parts.app):
        csrf = await signed_in(client)
        url = await new_call(client, csrf)
        page = await client.get(url)
        assert page.status == 200
        html = await take_call(client, url, ANSWERS)
        assert "Received" in html
    (tip,) = await sealed_tips(parts)
    assert tip["taken_by"] == "amina"
