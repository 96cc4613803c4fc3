"""The reviewer desk started in Arabic (``--lang ar``), in Chromium: its own words in
Arabic and laid out right to left, by keyboard, while a tip keeps its tipster's
language and direction. Its own module: its desk flushes the test Redis when it starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from desk.i18n import gettext_in

from .deskharness import PASSWORD
from .reviewdeskharness import PASSPHRASE
from .test_desk_browser import (
    browser,
    click,
    console_errors,
    focus_is,
    keys,
    press,
    serving,
    shots,
)
from .test_review_desk_browser import ReviewerServer, full_page

__all__ = ["browser", "shots"]  # the operator desk's fixtures, used here


@pytest.fixture(scope="module")
def arabic_desk(
    redis_url: str, ephemeral_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReviewerServer]:
    desk = ReviewerServer(redis_url, ephemeral_url, tmp_path_factory.mktemp("ar"), lang="ar")
    with serving(desk, desk.start()):
        yield desk


def _edges(d: webdriver.Chrome, element: object) -> list[float]:
    """How far the element's text stands from its container's right and left edges."""
    found: list[float] = d.execute_script(
        "const h = arguments[0], c = h.parentElement;"
        "const r = document.createRange(); r.selectNodeContents(h);"
        "return [c.getBoundingClientRect().right - r.getBoundingClientRect().right,"
        " r.getBoundingClientRect().left - c.getBoundingClientRect().left];",
        element,
    )
    return found


def test_a_reviewer_desk_in_arabic_reads_right_to_left(
    browser: webdriver.Chrome, arabic_desk: ReviewerServer, shots: Path
) -> None:
    _ = gettext_in("ar")
    assert arabic_desk.parts is not None
    arabic_desk.call(arabic_desk.parts.tipster.report(lang="sw"))
    d = browser
    d.delete_all_cookies()
    d.get(f"{arabic_desk.url()}/login")
    html = d.find_element(By.TAG_NAME, "html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    assert d.find_element(By.TAG_NAME, "h1").text == _("Sign in")
    # By keyboard: the name has the focus, Tab to the password, Enter; then the
    # passphrase, whose field has the focus.
    assert focus_is(d, "name")
    keys(d, "wanjiru", Keys.TAB, PASSWORD)
    press(d, Keys.ENTER)
    assert d.current_url.endswith("/unlock"), d.page_source
    assert focus_is(d, "passphrase")
    keys(d, PASSPHRASE)
    press(d, Keys.ENTER)
    assert d.current_url.endswith("/queue"), d.page_source
    assert d.find_element(By.ID, "queue-link").text == _("Queue")
    take = d.find_element(By.ID, "next")
    assert take.text.strip() and take.text != "Take the next tip"
    h1 = d.find_element(By.TAG_NAME, "h1")
    right, left = _edges(d, h1)
    assert right < 40 < left, (right, left)
    d.save_screenshot(str(shots / "review-queue-ar.png"))
    click(d, take)
    # The tip: the desk's words in Arabic, right to left; the tipster's transcript in
    # Swahili, left to right.
    transcript = d.find_element(By.ID, "transcript")
    assert (transcript.get_attribute("lang"), transcript.get_attribute("dir")) == ("sw", "ltr")
    assert d.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    verdict = d.find_element(By.ID, "record-verdict")
    assert verdict.text.strip() and "verdict" not in verdict.text.lower()
    full_page(d, shots / "review-tip-reviewer-ar.png", until="#transcript-card")
    assert console_errors(d) == []
