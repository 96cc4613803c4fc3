"""The operator desk speaks the operator's language: its own words come from the ``desk``
catalogues, the page's language and direction follow, pages before signing in take the
browser's language, and no text of its pages (nor of the reviewer desk's) is left out of
the catalogues."""

from __future__ import annotations

import html as html_module
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bots.render import LOCALES_DIR
from desk.i18n import desk_languages, gettext_in, negotiate

from .deskharness import PASSWORD, Client, DeskParts, build_desk, hidden, serve
from .test_languages import SUPPORTED

TEMPLATES = Path(__file__).resolve().parent.parent / "desk" / "templates"
#: Both desks' pages.
PAGES = (
    "layout.html",
    "sign-in.html",
    "base.html",
    "login.html",
    "error.html",
    "calls.html",
    "call.html",
    "review-base.html",
    "review-login.html",
    "review-unlock.html",
    "review-error.html",
    "review-queue.html",
    "review-done.html",
    "review-tip.html",
    "review-export.html",
    "review-stats.html",
)
#: Words that stay as they are in every language: keys on the keyboard.
KEYCAPS = {"Enter", "Esc"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("vi-VN,vi;q=0.9,en;q=0.8", "vi"),
        ("de-DE,de;q=0.9,fr;q=0.8", "fr"),  # no German desk: the next wish
        ("en-GB", "en"),
        ("ar-EG", "ar"),
        ("zh-CN,zh;q=0.9", "zh_Hans"),
        ("zh-TW", "en"),  # Traditional characters: not zh_Hans
        ("zh-Hant", "en"),
        ("fr;q=0, es;q=0.5", "es"),  # q=0 means "not this one"
        ("sw;q=0.4, pt;q=0.6", "pt"),  # by quality, not order
        ("", "en"),
        ("*", "en"),
        ("x;;q=oops,,\u0000, th", "th"),  # garbage is skipped, not a crash
    ],
)
def test_the_browser_language_is_met_when_the_desk_speaks_it(header: str, expected: str) -> None:
    assert negotiate(header, SUPPORTED) == expected


def test_every_supported_language_has_a_complete_desk() -> None:
    assert desk_languages(SUPPORTED) == tuple(SUPPORTED)
    for lang in SUPPORTED:
        if lang != "en":
            assert gettext_in(lang)("Cancel report") != "Cancel report", lang


def test_a_language_without_a_desk_catalogue_falls_back_to_english_whole() -> None:
    assert not (LOCALES_DIR / "de" / "LC_MESSAGES" / "desk.po").exists()
    assert desk_languages(["de", "fr"]) == ("fr",)
    assert gettext_in("de")("Cancel report") == "Cancel report"


def _visible_text(template: str) -> str:
    """The template's text as a reader sees it, before translation: without Jinja
    expressions, statements, comments and HTML tags, nor the commands and options shown
    as code (``<code>tipline review show CASE</code>``), typed as they are in any
    language."""
    text = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", template, flags=re.S)
    text = re.sub(r"<code>.*?</code>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text)
    return html_module.unescape(text)


@pytest.mark.parametrize("name", PAGES)
def test_no_text_of_an_operator_page_escapes_translation(name: str) -> None:
    words = set(re.findall(r"[A-Za-z][A-Za-z']+", _visible_text((TEMPLATES / name).read_text())))
    assert words <= KEYCAPS, f"{name}: text outside _(...): {sorted(words - KEYCAPS)}"


# ------------------------------------------------------------------------------- HTTP
@pytest_asyncio.fixture
async def parts(
    redis_client: aioredis.Redis, ephemeral_client: aioredis.Redis, tmp_path: Path
) -> DeskParts:
    parts = await build_desk(redis_client, ephemeral_client, tmp_path)
    await parts.accounts.add("bao", "operator", PASSWORD, lang="vi")
    await parts.accounts.add("amina", "operator", PASSWORD + "-en")
    return parts


@pytest_asyncio.fixture
async def client(parts: DeskParts) -> AsyncIterator[Client]:
    async for c in serve(parts.app):
        yield c


def _lang_and_dir(page: str) -> tuple[str, str]:
    found = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', page)
    assert found, page[:200]
    return found[1], found[2]


async def _sign_in(client: Client, name: str, password: str) -> str:
    page = await (await client.get("/login")).text()
    response = await client.post(
        "/login",
        data={"csrf": hidden(page, "csrf"), "name": name, "password": password},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    return await (await client.get("/calls")).text()


async def test_the_login_page_speaks_the_browser_s_language(client: Client) -> None:
    _ = gettext_in("ar")
    page = await (await client.get("/login", headers={"Accept-Language": "ar,en;q=0.5"})).text()
    assert _lang_and_dir(page) == ("ar", "rtl")
    assert f"<h1>{html_module.escape(_('Sign in'))}</h1>" in page
    wrong = await client.post(
        "/login",
        data={"csrf": hidden(page, "csrf"), "name": "bao", "password": "not it"},
        headers={"Accept-Language": "ar"},
    )
    assert wrong.status == 401
    assert html_module.escape(_("Wrong name or password.")) in await wrong.text()
    english = await (await client.get("/login", headers={"Accept-Language": "de"})).text()
    assert _lang_and_dir(english) == ("en", "ltr") and "<h1>Sign in</h1>" in english


async def test_an_operator_gets_the_desk_in_their_language(client: Client) -> None:
    _ = gettext_in("vi")
    page = await _sign_in(client, "bao", PASSWORD)
    assert _lang_and_dir(page) == ("vi", "ltr")
    for text in ("New call", "Calls on hold", "Log out", "Start call"):
        assert html_module.escape(_(text)) in page, text
        assert _(text) != text
    call = await client.post(
        "/calls", data={"csrf": hidden(page, "csrf"), "lang": "sw"}, allow_redirects=True
    )
    body = await call.text()
    assert html_module.escape(_("Cancel report")) in body
    assert html_module.escape(_("Read aloud")) in body
    # A refusal is in their language too.
    refused = await client.post("/calls", data={"csrf": hidden(page, "csrf"), "lang": "xx"})
    assert refused.status == 400
    assert (
        html_module.escape(_("Choose the caller's language from the list."))
        in await refused.text()
    )


async def test_an_operator_in_english_sees_the_english_words(client: Client) -> None:
    page = await _sign_in(client, "amina", PASSWORD + "-en")
    assert _lang_and_dir(page) == ("en", "ltr")
    assert "<h1>New call</h1>" in page and "Calls on hold" in page
