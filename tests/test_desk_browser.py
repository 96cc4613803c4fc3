"""The operator desk in a real browser: Debian's Chromium, headless, through Debian's
chromedriver (Selenium is told both paths, so it never downloads a browser or driver).

One browser and one desk server for the whole module. The desk runs in a thread with
its own event loop, on loopback, over the suite's real Redis servers. Calls are taken
as an operator takes them: by keyboard only (in Thai), with the mouse (in Arabic),
with a tab closed and the desk restarted mid-call. Screenshots go to a temporary
directory, or to ``$TIPLINE_SCREENSHOTS`` (``docs/images`` to refresh the docs).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from desk import DeskConfig
from desk.app import CSP
from desk.i18n import gettext_in
from storage import connect

from .deskharness import (
    DESCRIPTION,
    OTHER_PASSWORD,
    PASSWORD,
    PLACE,
    DeskParts,
    build_desk,
    sealed_tips,
)
from .leaks import assert_absent, redis_contents
from .samples.images import camera_jpeg

T = TypeVar("T")
S = TypeVar("S", bound="ThreadedServer")
WAIT = 15
PHONE = "0712 345 678"


class DeskServer:
    """The desk on loopback, in a thread with its own event loop."""

    def __init__(self, redis_url: str, ephemeral_url: str, root: Path) -> None:
        self.redis_url = redis_url
        self.ephemeral_url = ephemeral_url
        self.root = root
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = 0
        self.runner: web.AppRunner | None = None
        self.durable: aioredis.Redis | None = None
        self.ephemeral: aioredis.Redis | None = None
        self.parts: DeskParts | None = None

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, *, flush: bool) -> None:
        self.durable = await connect(self.redis_url)
        self.ephemeral = await connect(self.ephemeral_url)
        if flush:
            await self.durable.flushdb()
            await self.ephemeral.flushdb()
        parts = await build_desk(self.durable, self.ephemeral, self.root, DeskConfig())
        if self.parts is not None:
            parts.reviewer = self.parts.reviewer  # the same reviewers across a restart
        self.parts = parts
        self.runner = web.AppRunner(parts.app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        for client in (self.durable, self.ephemeral):
            if client is not None:
                await client.aclose()

    async def stored(self) -> bytes:
        assert self.durable is not None and self.ephemeral is not None
        return await redis_contents(self.durable, self.ephemeral)


class ThreadedServer(Protocol):
    """A desk served from a thread with its own event loop (DeskServer, and the
    reviewer desk's server in its tests)."""

    loop: asyncio.AbstractEventLoop
    thread: threading.Thread

    def call(self, coro: Coroutine[Any, Any, T]) -> T: ...

    async def stop(self) -> None: ...


@contextmanager
def serving(desk: S, start: Coroutine[Any, Any, None]) -> Iterator[S]:
    """``desk`` started by ``start`` for the block, then stopped with its loop."""
    desk.call(start)
    try:
        yield desk
    finally:
        desk.call(desk.stop())
        desk.loop.call_soon_threadsafe(desk.loop.stop)
        desk.thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(
    redis_url: str, ephemeral_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DeskServer]:
    desk = DeskServer(redis_url, ephemeral_url, tmp_path_factory.mktemp("desk"))
    with serving(desk, desk.start(flush=True)):
        assert desk.parts is not None
        desk.call(desk.parts.accounts.add("amina", "operator", PASSWORD))
        desk.call(desk.parts.accounts.add("bao", "operator", OTHER_PASSWORD))
        yield desk


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.fail(
            "the desk's browser tests need Debian's chromium and chromium-driver: "
            "run scripts/bootstrap",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--window-size=1280,900",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--lang=en-GB",
        "--no-first-run",
        "--disable-extensions",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    # Chromium's sandbox refuses root and needs user namespaces that CI containers often
    # lack; this browser only ever opens the desk on loopback.
    options.add_argument("--no-sandbox")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # With the driver's path given, Selenium skips Selenium Manager: nothing is fetched.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = os.environ.get("TIPLINE_SCREENSHOTS")
    if target:
        path = Path(target)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


# -------------------------------------------------------------------------- helpers
def keys(driver: webdriver.Chrome, *typed: str) -> None:
    """Type into whatever has the focus, as a person at a keyboard does."""
    ActionChains(driver).send_keys(*typed).perform()


def loaded(driver: webdriver.Chrome, before: WebElement) -> None:
    """Wait until the page that ``before`` belonged to is replaced, and the next is ready."""

    def replaced(d: webdriver.Chrome) -> bool:
        try:
            before.tag_name  # noqa: B018 (raises once the old page is gone)
        except WebDriverException:
            return bool(d.execute_script("return document.readyState") == "complete")
        return False

    WebDriverWait(driver, WAIT).until(replaced)


def press(driver: webdriver.Chrome, *typed: str) -> None:
    """Keys that submit a form: wait for the next page."""
    page = driver.find_element(By.TAG_NAME, "html")
    keys(driver, *typed)
    loaded(driver, page)


def click(driver: webdriver.Chrome, element: WebElement) -> None:
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    loaded(driver, page)


def step(driver: webdriver.Chrome) -> str | None:
    found = driver.find_elements(By.ID, "question")
    return found[0].get_attribute("data-step") if found else None


def focused(driver: webdriver.Chrome) -> WebElement:
    return driver.switch_to.active_element


def focus_is(driver: webdriver.Chrome, value: str, attribute: str = "id") -> bool:
    """Whether the focus is on that element once the page has applied its autofocus
    (Chromium does that at a rendering step just after the load, so wait a moment)."""

    def there(d: webdriver.Chrome) -> bool:
        return focused(d).get_attribute(attribute) == value

    try:
        WebDriverWait(driver, 3, poll_frequency=0.05).until(there)
    except WebDriverException:
        return False
    return True


def log_in(driver: webdriver.Chrome, server: DeskServer, name: str, password: str) -> None:
    """By keyboard: the name field has the focus, Tab to the password, Enter."""
    driver.get(f"{server.url}/login")
    assert focus_is(driver, "name")
    keys(driver, name, Keys.TAB, password)
    press(driver, Keys.ENTER)


def log_out(driver: webdriver.Chrome) -> None:
    click(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/logout'] button"))


def browser_log(driver: webdriver.Chrome, kind: str) -> list[dict[str, Any]]:
    """Chromium's log of that kind since the last read (selenium leaves it untyped)."""
    entries: list[dict[str, Any]] = driver.get_log(kind)  # type: ignore[no-untyped-call]
    return entries


def console_errors(driver: webdriver.Chrome) -> list[str]:
    return [
        str(entry["message"])
        for entry in browser_log(driver, "browser")
        if entry.get("level") == "SEVERE"
    ]


def responses(driver: webdriver.Chrome) -> list[tuple[str, dict[str, str]]]:
    """Every HTTP response the browser received since the last call, with its headers."""
    found = []
    for entry in browser_log(driver, "performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.responseReceived":
            response = message["params"]["response"]
            headers = {k.lower(): v for k, v in response["headers"].items()}
            found.append((str(response["url"]), headers))
    return found


# -------------------------------------------------------------------------- tests
def test_a_whole_call_in_thai_by_keyboard_only(
    browser: webdriver.Chrome, server: DeskServer, shots: Path
) -> None:
    d = browser
    d.get(f"{server.url}/login")
    d.save_screenshot(str(shots / "desk-login.png"))
    log_in(d, server, "amina", PASSWORD)
    assert d.current_url.endswith("/calls"), d.page_source
    # The caller's language: the list has the focus; type its name, Enter.
    assert focus_is(d, "lang")
    keys(d, "Thai")
    d.save_screenshot(str(shots / "desk-calls.png"))
    press(d, Keys.ENTER)
    assert step(d) == "safety"
    caller = d.find_element(By.ID, "prompt-caller")
    assert caller.get_attribute("lang") == "th" and caller.get_attribute("dir") == "ltr"
    assert re.search("[\u0e00-\u0e7f]", caller.text), "the prompt is not in Thai"
    assert "Before you start" in d.find_element(By.ID, "prompt-operator").text
    press(d, "1")  # continue
    assert step(d) == "category"
    d.save_screenshot(str(shots / "desk-call-th.png"))
    press(d, "4")  # illegal logging
    assert step(d) == "description"
    assert focus_is(d, "text")
    keys(d, f"{DESCRIPTION}. Call me on {PHONE}")
    press(d, Keys.ENTER)
    # A phone number: warned, and Enter now removes it before anything is kept.
    assert step(d) == "description"
    assert PHONE in d.find_element(By.ID, "identity").text
    assert focus_is(d, "text")
    d.save_screenshot(str(shots / "desk-identity.png"))
    press(d, Keys.ENTER)
    assert step(d) == "species"
    assert focus_is(d, "text")
    # The matcher suggests as the operator types (a typo too); Alt+1 takes the first,
    # in the caller's language, into the box.
    keys(d, "pangolin scals")
    first = WebDriverWait(d, WAIT).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#suggestions button[data-key='1']")
    )[0]
    assert "Manidae" in first.text and "pangolin" in first.text.casefold()
    d.save_screenshot(str(shots / "desk-species.png"))
    ActionChains(d).key_down(Keys.ALT).send_keys("1").key_up(Keys.ALT).perform()
    assert focus_is(d, "text")
    filled = str(focused(d).get_attribute("value"))
    assert re.search("[\u0e00-\u0e7f]", filled), filled  # the Thai name
    press(d, Keys.ENTER)
    assert step(d) == "_species_pick"
    press(d, "1")
    assert step(d) == "_species_more"
    press(d, "2")  # no more species
    assert step(d) == "country"
    assert focus_is(d, "countries", "list")
    keys(d, "Kenya")
    press(d, Keys.ENTER)
    assert step(d) == "place"
    assert focus_is(d, "text")
    keys(d, PLACE)
    press(d, Keys.ENTER)
    assert step(d) == "location"
    assert focus_is(d, "text")
    keys(d, "-4.5712, 39.1203")
    press(d, Keys.ENTER)
    assert step(d) == "_precision"
    press(d, "3")  # about 10 km
    assert step(d) == "when"
    press(d, "3")  # this week
    assert step(d) == "when_details"
    press(d, Keys.ESCAPE)  # back ...
    assert step(d) == "when"
    press(d, "2")  # ... today, after all
    assert step(d) == "when_details"
    assert focus_is(d, "text")
    page = d.find_element(By.TAG_NAME, "html")
    ActionChains(d).key_down(Keys.ALT).send_keys("0").key_up(Keys.ALT).perform()
    loaded(d, page)  # Alt+0 skipped, from inside the text box
    assert step(d) == "evidence"
    press(d, "1")  # done: no files
    assert step(d) == "followup"
    press(d, "1")  # yes, a receipt code
    assert step(d) == "review"
    summary = d.find_element(By.ID, "summary").text
    assert DESCRIPTION in summary and "Kenya" in summary and "Today" in summary
    d.save_screenshot(str(shots / "desk-review.png"))
    press(d, "1")  # send
    done = d.find_element(By.ID, "done")
    assert "Received" in done.text
    receipt = d.find_element(By.ID, "receipt").text
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", receipt)
    d.save_screenshot(str(shots / "desk-received.png"))
    # Ready for the next call: the language list has the focus again.
    assert focus_is(d, "lang")
    assert console_errors(d) == []

    assert server.parts is not None
    tips = server.call(sealed_tips(server.parts))
    assert len(tips) == 1
    tip = tips[0]
    assert tip["channel"] == "hotline" and tip["language"] == "th"
    sealed = json.dumps(tip, ensure_ascii=False)
    assert f"{DESCRIPTION}. Call me on [removed]" in sealed and PHONE not in sealed
    stored = server.call(server.stored())
    digits = receipt.replace(" ", "")
    assert_absent(stored, [DESCRIPTION, PLACE, PASSWORD, PHONE, receipt, digits], "Redis")


def test_a_call_in_arabic_with_the_mouse(
    browser: webdriver.Chrome,
    server: DeskServer,
    shots: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    d = browser
    d.get(f"{server.url}/calls")
    if not d.current_url.endswith("/calls"):
        log_in(d, server, "amina", PASSWORD)
    Select(d.find_element(By.ID, "lang")).select_by_value("ar")
    click(d, d.find_element(By.ID, "start"))
    assert step(d) == "safety"
    caller = d.find_element(By.ID, "prompt-caller")
    assert caller.get_attribute("lang") == "ar" and caller.get_attribute("dir") == "rtl"
    assert re.search("[\u0600-\u06ff]", caller.text), "the prompt is not in Arabic"
    # Laid out right to left: every line of the prompt ends at the right edge, and the
    # short ones leave room on the left; the glyphs take room (they are drawn).
    geometry = d.execute_script(
        """
        const p = arguments[0].querySelector("p");
        const range = document.createRange();
        range.selectNodeContents(p);
        const box = p.getBoundingClientRect();
        const lines = Array.from(range.getClientRects()).filter(r => r.width > 0);
        return {dir: getComputedStyle(p).direction,
                right: lines.map(r => box.right - r.right),
                left: lines.map(r => r.left - box.left),
                height: Math.min(...lines.map(r => r.height))};
        """,
        caller,
    )
    assert geometry["dir"] == "rtl"
    assert len(geometry["right"]) >= 2 and max(geometry["right"]) < 2, geometry
    assert max(geometry["left"]) > 20, geometry
    assert geometry["height"] > 10, "the Arabic text takes no room: not rendered"

    def choose(option: str) -> None:
        click(d, d.find_element(By.CSS_SELECTOR, f"button[name=choice][value='{option}']"))

    def answer(text: str) -> None:
        d.find_element(By.ID, "text").send_keys(text)
        click(d, d.find_element(By.ID, "next"))

    choose("continue")
    assert step(d) == "category"
    d.save_screenshot(str(shots / "desk-call-ar.png"))
    choose("trafficking")
    answer("رأيت شاحنة محملة بقشور آكل النمل الحرشفي")
    assert step(d) == "species"
    click(d, d.find_element(By.ID, "skip"))
    assert step(d) == "country"
    answer("كينيا")
    assert step(d) == "place"
    click(d, d.find_element(By.ID, "skip"))
    click(d, d.find_element(By.ID, "skip"))  # location
    choose("earlier")
    click(d, d.find_element(By.ID, "skip"))  # when details
    assert step(d) == "evidence"
    # A photo the caller e-mailed: added from the disk, scrubbed, what went is shown.
    photo = tmp_path_factory.mktemp("caller") / "IMG_2041.jpg"
    photo.write_bytes(camera_jpeg(photo.parent))
    d.find_element(By.ID, "file").send_keys(str(photo))
    click(d, d.find_element(By.ID, "attach"))
    notes = [n.text for n in d.find_elements(By.CSS_SELECTOR, ".note .operator")]
    assert any("removed from your file" in n and "the location" in n for n in notes), notes
    assert d.find_element(By.CSS_SELECTOR, ".note .caller").get_attribute("dir") == "rtl"
    d.execute_script("window.scrollTo(0, 0)")
    d.save_screenshot(str(shots / "desk-attachment.png"))
    choose("done")
    choose("no")
    assert step(d) == "review"
    assert d.find_element(By.CSS_SELECTOR, "#summary td.caller").get_attribute("dir") == "rtl"
    choose("send")
    assert "Received" in d.find_element(By.ID, "done").text
    assert d.find_elements(By.ID, "receipt") == []  # no follow-up asked for: no code
    assert console_errors(d) == []
    assert server.parts is not None
    tips = server.call(sealed_tips(server.parts))
    assert [(t["channel"], t["language"]) for t in tips] == [("hotline", "ar")]
    attachments = tips[0]["attachments"]
    assert isinstance(attachments, list) and len(attachments) == 1
    assert attachments[0]["kind"] == "jpeg" and "location" in attachments[0]["removed"]


def test_an_operator_who_reads_arabic_gets_the_desk_in_arabic_right_to_left(
    browser: webdriver.Chrome, server: DeskServer, shots: Path
) -> None:
    """The desk's own words are in the operator's language, laid out right to left, and
    the caller's side keeps the caller's language and direction."""
    assert server.parts is not None
    server.call(server.parts.accounts.add("layla", "operator", PASSWORD + "-ar", lang="ar"))
    _ = gettext_in("ar")
    d = browser
    d.delete_all_cookies()
    log_in(d, server, "layla", PASSWORD + "-ar")
    assert d.current_url.endswith("/calls"), d.page_source
    html = d.find_element(By.TAG_NAME, "html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    heading = d.find_element(By.CSS_SELECTOR, "#new-call").find_element(By.XPATH, "..")
    assert _("New call") != "New call" and _("New call") in heading.text
    start = d.find_element(By.ID, "start")
    assert start.text.startswith(_("Start call"))
    # Right to left: the heading starts at the card's right edge.
    h1 = d.find_element(By.TAG_NAME, "h1")
    edges = d.execute_script(
        "const h = arguments[0], c = h.parentElement;"
        "const r = document.createRange(); r.selectNodeContents(h);"
        "return [c.getBoundingClientRect().right - r.getBoundingClientRect().right,"
        " r.getBoundingClientRect().left - c.getBoundingClientRect().left];",
        h1,
    )
    assert edges[0] < 40 < edges[1], edges
    d.save_screenshot(str(shots / "desk-calls-ar.png"))
    # A caller in Swahili, chosen by keyboard: the list has the focus.
    assert focus_is(d, "lang")
    Select(d.find_element(By.ID, "lang")).select_by_value("sw")
    assert focus_is(d, "lang")
    press(d, Keys.ENTER)
    assert step(d) == "safety"
    caller = d.find_element(By.ID, "prompt-caller")
    assert (caller.get_attribute("lang"), caller.get_attribute("dir")) == ("sw", "ltr")
    operator = d.find_element(By.ID, "prompt-operator")
    assert operator.get_attribute("dir") == "rtl"
    assert re.search("[\u0600-\u06ff]", operator.text), "the operator's side is not in Arabic"
    assert d.find_element(By.ID, "cancel").text == _("Cancel report")
    assert d.find_element(By.ID, "help").text == _("Help")
    assert _("Read aloud") in caller.text
    press(d, "1")  # continue, by keyboard
    assert step(d) == "category"
    d.save_screenshot(str(shots / "desk-call-operator-ar.png"))
    click(d, d.find_element(By.ID, "cancel"))
    assert step(d) == "_cancel"
    click(d, d.find_element(By.CSS_SELECTOR, "button[name=choice][value='yes']"))
    assert _("Call closed") in d.find_element(By.ID, "done").text
    assert console_errors(d) == []
    log_out(d)


def test_a_call_resumes_after_the_tab_closed_and_the_desk_restarted(
    browser: webdriver.Chrome, server: DeskServer
) -> None:
    d = browser
    d.get(f"{server.url}/calls")
    if not d.current_url.endswith("/calls"):
        log_in(d, server, "amina", PASSWORD)
    Select(d.find_element(By.ID, "lang")).select_by_value("en")
    click(d, d.find_element(By.ID, "start"))
    call_url = d.current_url
    press(d, "1")
    press(d, "1")  # poaching
    assert step(d) == "description"
    keys(d, "Half an answer")  # typed, not sent: it is not part of the draft
    old = d.current_window_handle
    d.switch_to.new_window("tab")
    d.switch_to.window(old)
    d.close()
    d.switch_to.window(d.window_handles[0])
    # The desk goes down and comes back: sessions and drafts are in Redis, not in it.
    server.call(server.stop())
    server.call(server.start(flush=False))
    d.get(f"{server.url}/calls")
    held = d.find_elements(By.CSS_SELECTOR, "#held a.resume")
    assert [a.get_attribute("href") for a in held] == [call_url]
    click(d, held[0])
    assert step(d) == "description"
    assert focus_is(d, "text")
    assert focused(d).get_attribute("value") == ""


def test_headers_csrf_and_another_operators_call(
    browser: webdriver.Chrome, server: DeskServer
) -> None:
    d = browser
    browser_log(d, "performance")  # forget what came before
    d.get(f"{server.url}/calls")
    if not d.current_url.endswith("/calls"):
        log_in(d, server, "amina", PASSWORD)
    held = d.find_elements(By.CSS_SELECTOR, "#held a.resume")
    assert held, "the call of the previous test is held"
    call_url = str(held[0].get_attribute("href"))
    click(d, held[0])
    # A form whose token was tampered with is refused, and nothing changes.
    d.execute_script("document.querySelector('#answer input[name=csrf]').value = 'forged'")
    keys(d, "my text")
    press(d, Keys.ENTER)
    assert "did not come from the desk" in d.find_element(By.ID, "error").text
    d.get(call_url)
    assert step(d) == "description"
    log_out(d)
    # Another operator: that call does not exist for them.
    log_in(d, server, "bao", OTHER_PASSWORD)
    d.get(call_url)
    assert "no such call" in d.find_element(By.ID, "error").text
    assert d.find_elements(By.ID, "question") == []
    log_out(d)
    seen = responses(d)
    ours = [(url, h) for url, h in seen if url.startswith(server.url)]
    assert len(ours) >= 8
    for url, headers in ours:
        assert headers.get("cache-control") == "no-store", url
        assert headers.get("content-security-policy") == CSP, url
    assert any(url.endswith("/static/desk.js") for url, _ in ours)
    # The refusals above are the only errors: the CSP blocked nothing of the desk's own.
    errors = console_errors(d)
    assert len(errors) == 2 and all("status of 40" in e for e in errors), errors


def test_wrong_passwords_are_throttled_in_the_browser(
    browser: webdriver.Chrome, server: DeskServer, shots: Path
) -> None:
    d = browser
    log_in(d, server, "bao", "not the password at all")
    assert d.find_element(By.ID, "login-error").text == "Wrong name or password."
    log_in(d, server, "bao", OTHER_PASSWORD)
    assert "Too many wrong passwords" in d.find_element(By.ID, "login-error").text
    assert d.current_url.endswith("/login")
