"""The reviewer desk in a real browser: Debian's Chromium, headless, through Debian's
chromedriver (the operator desk's browser fixture: nothing is downloaded).

One browser and one reviewer desk for the module, over the suite's real Redis servers,
with tips that came through the intake (one with a photo and follow-up) and over
Telegram (one in Arabic, through the fake Bot API server and the real aiogram).
A reviewer signs in with a passphrase-protected identity, takes the next tip, reads it,
records a verdict, asks a question, reads the tipster's answer, exports the case and
sees the statistics change. Two reviewers in two sessions (the desk at 127.0.0.1 and at
localhost: two cookie jars in one browser) never get the same tip. Screenshots go to a
temporary directory, or to ``$TIPLINE_SCREENSHOTS`` (``docs/images`` for the docs).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from desk.reviewer import ATTACHMENT_CSP, REVIEW_CSP
from storage import connect

from .deskharness import OTHER_PASSWORD, PASSWORD
from .reviewdeskharness import (
    ARABIC,
    DESCRIPTION,
    PASSPHRASE,
    PLACE,
    REPLY,
    SECRET,
    ReviewerParts,
    build_reviewer_desk,
    telegram_report,
)
from .samples.documents import pdf_sample
from .samples.images import camera_jpeg
from .samples.media import media_sample
from .test_desk_browser import (
    WAIT,
    browser,
    click,
    console_errors,
    focus_is,
    keys,
    press,
    responses,
    serving,
    shots,
)

__all__ = ["browser", "shots"]  # the operator desk's fixtures, used here

T = TypeVar("T")
QUESTION = "What colour is the lorry, and where does it park?"


class ReviewerServer:
    """The reviewer desk on loopback, in a thread with its own event loop."""

    def __init__(self, redis_url: str, ephemeral_url: str, root: Path, lang: str = "en") -> None:
        self.lang = lang
        self.redis_url = redis_url
        self.ephemeral_url = ephemeral_url
        self.root = root
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = 0
        self.runner: web.AppRunner | None = None
        self.clients: list[aioredis.Redis] = []
        self.parts: ReviewerParts | None = None

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        durable = await connect(self.redis_url)
        ephemeral = await connect(self.ephemeral_url)
        self.clients = [durable, ephemeral]
        await durable.flushdb()
        await ephemeral.flushdb()
        self.parts = await build_reviewer_desk(durable, ephemeral, self.root, lang=self.lang)
        await self.parts.accounts.add("wanjiru", "reviewer", PASSWORD)
        await self.parts.accounts.add("odhiambo", "reviewer", OTHER_PASSWORD)
        self.runner = web.AppRunner(self.parts.app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        for client in self.clients:
            await client.aclose()


@pytest.fixture(scope="module")
def server(
    redis_url: str, ephemeral_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReviewerServer]:
    desk = ReviewerServer(redis_url, ephemeral_url, tmp_path_factory.mktemp("reviewer"))
    with serving(desk, desk.start()):
        yield desk


@pytest.fixture(scope="module")
def parts(server: ReviewerServer) -> ReviewerParts:
    assert server.parts is not None
    return server.parts


def sign_in(d: webdriver.Chrome, url: str, name: str, password: str) -> None:
    """By keyboard, then the passphrase page (its field has the focus)."""
    d.get(f"{url}/login")
    assert focus_is(d, "name")
    keys(d, name, Keys.TAB, password)
    press(d, Keys.ENTER)
    assert d.current_url.endswith("/unlock"), d.page_source
    assert focus_is(d, "passphrase")
    keys(d, PASSPHRASE)
    press(d, Keys.ENTER)
    assert d.current_url.endswith("/queue"), d.page_source


def followup_on_the_console(
    server: ReviewerServer, parts: ReviewerParts, code: str, answer: str
) -> str:
    """The tipster (or an operator for a caller) with the receipt code, through
    ``tipline console --followup``, answers piped in; what the console showed."""
    env = {
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "HOME": str(server.root / "home"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "REDIS_URL": server.redis_url,
        "REDIS_EPHEMERAL_URL": server.ephemeral_url,
        "TIPLINE_DATA_DIR": str(server.root / "console"),
        "TIPLINE_RECIPIENTS": str(parts.identity.recipient),
        "TIPLINE_SECRET": SECRET.to_text(),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tipline", "console", "--followup", "--lang", "en"],
        input=f"{code}\n{answer}\n2\n",  # 2: keep the "chat" (a terminal has none)
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Your answer was added to your report" in done.stdout, done.stdout
    return done.stdout


def full_page(d: webdriver.Chrome, path: Path, until: str | None = None) -> None:
    """A screenshot of the whole page, or of its top down to the element ``until`` (the
    window made as tall as that for it)."""
    script = "return document.documentElement.scrollHeight"
    if until is not None:
        box = f"document.querySelector('{until}').getBoundingClientRect()"
        script = f"return Math.ceil({box}.bottom + window.scrollY) + 16"
    height = d.execute_script(script)
    assert isinstance(height, int)
    inner = d.execute_script("return window.innerHeight")
    assert isinstance(inner, int)
    d.set_window_size(1280, min(height + 900 - inner, 4000))  # 900: the window's height
    d.execute_script("window.scrollTo(0, 0)")
    d.save_screenshot(str(path))
    d.set_window_size(1280, 900)


def bars(d: webdriver.Chrome, chart: str) -> dict[str, int]:
    return {
        str(g.get_attribute("data-label")): int(str(g.get_attribute("data-count")))
        for g in d.find_elements(By.CSS_SELECTOR, f"#{chart} g.bar")
    }


# -------------------------------------------------------------------------- tests
def test_a_reviewer_reads_judges_asks_exports_and_counts(
    browser: webdriver.Chrome,
    server: ReviewerServer,
    parts: ReviewerParts,
    shots: Path,
    tmp_path: Path,
) -> None:
    d = browser
    files = [
        ("voice", media_sample("ogg", tmp_path)),
        ("video", media_sample("mp4", tmp_path)),
        ("document", pdf_sample()),
    ]
    code = server.call(
        parts.tipster.report(photo=camera_jpeg(tmp_path), files=files, followup=True)
    )
    assert code is not None
    # The Arabic tip comes the way tipsters send them: over Telegram.
    server.call(telegram_report(parts.tipster.intake, lang="ar", description=ARABIC))
    responses(d)  # forget what came before
    d.get(f"{server.url()}/login")
    d.save_screenshot(str(shots / "review-login.png"))
    # A wrong passphrase first: said plainly, nothing opened.
    keys(d, "wanjiru", Keys.TAB, PASSWORD)
    press(d, Keys.ENTER)
    keys(d, "Tsavo-West-wrong")
    press(d, Keys.ENTER)
    assert d.find_element(By.ID, "unlock-error").text == "Wrong passphrase for the identity file."
    d.save_screenshot(str(shots / "review-unlock.png"))
    d.find_element(By.ID, "passphrase").send_keys(PASSPHRASE)
    click(d, d.find_element(By.ID, "unlock-button"))
    assert d.find_element(By.ID, "waiting").text == "2"
    assert d.find_element(By.ID, "oldest").text.startswith("0 days")
    # The statistics before any verdict.
    click(d, d.find_element(By.ID, "stats-link"))
    assert d.find_element(By.ID, "tips").text == "2"
    assert bars(d, "chart-verdicts") == {}
    click(d, d.find_element(By.ID, "queue-link"))
    d.save_screenshot(str(shots / "review-queue.png"))
    click(d, d.find_element(By.ID, "next"))
    assert "/tips/" in d.current_url
    case_id = d.find_element(By.ID, "case").text
    answers = d.find_element(By.ID, "answers").text
    for expected in (DESCRIPTION, PLACE, "Manidae", "CITES I", "Kenya", "About 1 km"):
        assert expected in answers, expected
    transcript = d.find_element(By.ID, "transcript")
    assert transcript.get_attribute("lang") == "en"
    assert len(transcript.find_elements(By.TAG_NAME, "li")) >= 10
    # The scrubbed photo is drawn in the page (decoded: it has a size).
    photo = d.find_element(By.CSS_SELECTOR, "#attachment-0 img")
    width = d.execute_script("return arguments[0].naturalWidth", photo)
    assert isinstance(width, int) and width > 0
    assert "location" in d.find_element(By.CSS_SELECTOR, "#attachment-0 figcaption").text
    assert d.find_elements(By.ID, "map-link") == []
    click(d, d.find_element(By.ID, "show-map"))
    link = d.find_element(By.ID, "map-link")
    assert "openstreetmap.org" in str(link.get_attribute("href"))
    assert "tells OpenStreetMap" in d.find_element(By.CSS_SELECTOR, ".maplink").text
    # The voice note and the video play: the browser read their length from the desk.
    for selector in ("#attachment-1 audio", "#attachment-2 video"):
        player = d.find_element(By.CSS_SELECTOR, selector)

        def ready(d: webdriver.Chrome, player: Any = player) -> bool:
            return bool(d.execute_script("return arguments[0].readyState >= 1", player))

        WebDriverWait(d, WAIT).until(ready)
        length = d.execute_script("return arguments[0].duration", player)
        assert isinstance(length, int | float) and 0.5 < length < 2, (selector, length)
    if os.environ.get("TIPLINE_SCREENSHOTS"):
        # Refreshing the docs' pictures only: Chromium's PDF viewer draws the page a
        # moment after the frame loads, and nothing in the page says when.
        time.sleep(3)
    full_page(d, shots / "review-tip.png", until="#transcript-card")

    # A question for the tipster, who answers with the receipt code.
    d.find_element(By.ID, "question").send_keys(QUESTION)
    click(d, d.find_element(By.ID, "ask-button"))
    assert "Question left for the tipster" in d.find_element(By.ID, "notices").text
    heard = followup_on_the_console(server, parts, code, REPLY)
    assert QUESTION in heard
    d.refresh()
    thread = d.find_element(By.ID, "thread-items").text
    assert QUESTION in thread and REPLY in thread
    assert thread.index(QUESTION) < thread.index(REPLY)

    # The verdict, with the source's risk.
    Select(d.find_element(By.ID, "verdict-choice")).select_by_value("reliable")
    Select(d.find_element(By.ID, "risk")).select_by_value("medium")
    d.find_element(By.ID, "note").send_keys("Matches the Voi seizure of 2 December")
    d.find_element(By.ID, "risk-reason").send_keys("The market is small")
    click(d, d.find_element(By.ID, "record-verdict"))
    current = d.find_element(By.ID, "current-verdict").text
    assert current.startswith("reliable, source risk medium (by wanjiru")

    # Export: into a new folder under the reviewer's export directory.
    folder = d.find_element(By.ID, "folder")
    folder.clear()
    folder.send_keys("voi-case")
    click(d, d.find_element(By.ID, "export-button"))
    assert d.current_url.endswith(f"/tips/{case_id}/export")  # its own page, following it
    exported = WebDriverWait(d, WAIT).until(lambda d: d.find_elements(By.ID, "exported"))[0].text
    assert "attachment-0.jpg" in exported and "SHA256SUMS" in exported
    out = parts.export_dir / "voi-case"
    assert json.loads((out / "transcript.json").read_text())["case_id"] == case_id
    assert REPLY in (out / "followup.json").read_text()

    # The statistics have changed: the verdict and its risk are counted and drawn.
    click(d, d.find_element(By.ID, "stats-link"))
    assert bars(d, "chart-verdicts") == {"reliable": 1}
    assert bars(d, "chart-risk") == {"medium": 1}
    languages = bars(d, "chart-languages")
    assert languages == {"English (en)": 1, "العربية (Arabic, ar)": 1}
    days = d.find_elements(By.CSS_SELECTOR, "#chart-days rect.day")
    assert len(days) == 30 and int(str(days[-1].get_attribute("data-count"))) == 2
    full_page(d, shots / "review-stats.png")

    # Every response: no-store and the desk's CSP (the photo its own, stricter one).
    seen = [(u, h) for u, h in responses(d) if u.startswith(server.url())]
    assert len(seen) >= 12
    for address, headers in seen:
        assert headers.get("cache-control") == "no-store", address
        expected = ATTACHMENT_CSP if "/files/" in address else REVIEW_CSP
        policy = headers.get("content-security-policy")
        if headers.get("content-type") == "application/pdf":
            # Chromium's PDF viewer reports the response with only the policy's
            # frame-ancestors (the HTTP tests see the desk send the whole of it).
            assert policy in (expected, "frame-ancestors 'self'"), address
        else:
            assert policy == expected, address
    assert any("/files/0" in u for u, _h in seen)
    assert any(h.get("content-type") == "application/pdf" for _u, h in seen)
    # The only error: the wrong passphrase's 401; the CSP blocked nothing of the desk's.
    errors = console_errors(d)
    assert len(errors) == 1 and "401" in errors[0], errors


def test_an_arabic_tip_reads_right_to_left(
    browser: webdriver.Chrome, server: ReviewerServer, shots: Path
) -> None:
    d = browser
    d.get(f"{server.url()}/queue")
    if not d.current_url.endswith("/queue"):
        sign_in(d, server.url(), "wanjiru", PASSWORD)
    click(d, d.find_element(By.ID, "next"))
    transcript = d.find_element(By.ID, "transcript")
    assert transcript.get_attribute("lang") == "ar" and transcript.get_attribute("dir") == "rtl"
    assert ARABIC in transcript.text
    assert re.search("[\u0600-\u06ff]", transcript.find_element(By.CSS_SELECTOR, ".q").text)
    # Laid out right to left: the answer's text ends at the right edge of its line.
    geometry = d.execute_script(
        """
        const p = arguments[0].querySelector(".a");
        const range = document.createRange();
        range.selectNodeContents(p);
        const box = p.getBoundingClientRect();
        const line = Array.from(range.getClientRects()).filter(r => r.width > 0)[0];
        return {dir: getComputedStyle(p).direction, right: box.right - line.right,
                left: line.left - box.left};
        """,
        transcript,
    )
    assert geometry["dir"] == "rtl" and geometry["right"] < 2 and geometry["left"] > 20, geometry
    assert "Arabic" in d.find_element(By.ID, "language").text
    full_page(d, shots / "review-tip-ar.png", until="#transcript-card")
    Select(d.find_element(By.ID, "verdict-choice")).select_by_value("needs-follow-up")
    click(d, d.find_element(By.ID, "record-verdict"))


def test_two_reviewers_in_two_sessions_never_get_the_same_tip(
    browser: webdriver.Chrome, server: ReviewerServer, parts: ReviewerParts
) -> None:
    d = browser
    for _ in range(3):
        server.call(parts.tipster.report())
    first = d.current_window_handle
    d.get(f"{server.url()}/queue")
    if not d.current_url.endswith("/queue"):
        sign_in(d, server.url(), "wanjiru", PASSWORD)
    # The second reviewer: another tab, at localhost (its own cookies, its own session).
    d.switch_to.new_window("tab")
    second = d.current_window_handle
    sign_in(d, server.url("localhost"), "odhiambo", OTHER_PASSWORD)
    assert d.find_element(By.ID, "who").text == "odhiambo"

    def take(handle: str, host: str) -> str | None:
        d.switch_to.window(handle)
        d.get(f"{server.url(host)}/queue")
        click(d, d.find_element(By.ID, "next"))
        return d.find_element(By.ID, "case").text if "/tips/" in d.current_url else None

    def judge(handle: str, host: str, case_id: str) -> None:
        d.switch_to.window(handle)
        d.get(f"{server.url(host)}/tips/{case_id}")
        Select(d.find_element(By.ID, "verdict-choice")).select_by_value("duplicate")
        click(d, d.find_element(By.ID, "record-verdict"))

    # Both hold a tip at once: never the same one.
    mine = take(first, "127.0.0.1")
    theirs = take(second, "localhost")
    assert mine is not None and theirs is not None and mine != theirs
    # Taking again gives each their own back, as the command line does.
    assert take(first, "127.0.0.1") == mine
    assert take(second, "localhost") == theirs
    judge(first, "127.0.0.1", mine)
    judge(second, "localhost", theirs)
    last = take(first, "127.0.0.1")
    assert last is not None and last not in (mine, theirs)
    assert take(second, "localhost") is None
    assert "No tip is waiting." in d.find_element(By.ID, "notices").text
    judge(first, "127.0.0.1", last)
    d.switch_to.window(second)
    d.close()
    d.switch_to.window(first)


def test_an_operator_account_is_refused(browser: webdriver.Chrome, server: ReviewerServer) -> None:
    d = browser
    server.call(_add_operator(server))
    d.get(f"{server.url('localhost')}/login")
    d.delete_all_cookies()  # odhiambo's session of the test before
    d.get(f"{server.url('localhost')}/login")
    assert focus_is(d, "name")
    keys(d, "amina", Keys.TAB, PASSWORD + "-op")
    press(d, Keys.ENTER)
    assert "operator" in d.find_element(By.ID, "login-error").text
    d.get(f"{server.url('localhost')}/queue")
    assert d.current_url.endswith("/login")


async def _add_operator(server: ReviewerServer) -> None:
    assert server.parts is not None
    await server.parts.accounts.add("amina", "operator", PASSWORD + "-op")
