"""The Telegram bots speak every offered language, as the console does.

A tipster whose Telegram app is set to a language is asked to confirm it, keeps it, and
goes through the whole questionnaire by pressing buttons and typing answers that need no
English (the country by its ISO code, a species word every catalogue knows); the tip a
reviewer opens says which language it was given in. Nothing the bot sent (messages,
buttons, the command menu) holds an English sentence of the catalogue template.

Python-telegram-bot runs every language; aiogram, which renders through the very same
channel, runs three that stress it most (right-to-left, CJK, the first African language),
to keep the file fast.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bots.render import Renderer
from bots.telegram import messages as tm
from bots.telegram.channel import COMMAND_MENU
from bots.telegram.common import telegram_language
from conversations import SKIP_OPTION, LanguageName
from conversations import messages as m
from privacy import X25519Identity
from tipline.catalogues import extracted_msgids
from tipline.runtime import offered_questionnaire, open_runtime
from tipline.settings import Settings

from .fakebotapi import FakeBotApi, FakeUser, Script, parse_html, secrets_of, walk
from .leaks import assert_absent, redis_contents
from .test_languages import SUPPORTED
from .test_telegram_parity import SECRET_HEX, Bot, begin, tipster

LANGUAGES = [lang for lang in SUPPORTED if lang != "en"]
ON_BOTH = ("ar", "zh_Hans", "sw")
CASES = [
    *(pytest.param("ptb", lang, id=f"ptb-{lang}") for lang in LANGUAGES),
    *(pytest.param("aiogram", lang, id=f"aiogram-{lang}") for lang in ON_BOTH),
]

# The tipster's own words; every other answer is a button or a code.
DESCRIPTION = "Ivory 4471 in sacks, loaded at night"
SPECIES = "ivory"
COUNTRY = "KE"
PLACE = "Mombasa old port, shed 12"
TOO_SHORT = "ab"
TYPED = (DESCRIPTION, SPECIES, COUNTRY, PLACE, TOO_SHORT)


def telegram_code(lang: str) -> str:
    """The language_code a Telegram app set to ``lang`` sends (an IETF tag, lower case,
    sometimes with a region)."""
    return {"pt": "pt-br", "zh_Hans": "zh-hans"}.get(lang, lang)


@cache
def english_sentences() -> tuple[str, ...]:
    """Every English message of two words or more, by its first four words (a one-word id
    such as "Poaching" may be a loanword; longer English on screen is a missing
    translation)."""
    found = set()
    for msgid in extracted_msgids():
        words = re.sub(r"\{[^}]*\}", " ", msgid).split()
        if len(words) >= 2:
            found.add(" ".join(words[:4]))
    return tuple(sorted(found))


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def sent_to(fake: FakeBotApi, user: FakeUser) -> list[str]:
    """Everything the bot put on this tipster's screen, as shown: every message text (sent
    or edited, even if later deleted), every button label, every button-press notice."""
    shown: list[str] = []
    for call in fake.calls:
        params = call.params
        if call.method == "answerCallbackQuery":
            if params.get("text"):
                shown.append(str(params["text"]))
            continue
        if call.method not in ("sendMessage", "editMessageText", "editMessageReplyMarkup"):
            continue
        if str(params.get("chat_id")) != str(user.id) or call.status != 200:
            continue
        if "text" in params:
            raw = str(params["text"])
            shown.append(parse_html(raw) if params.get("parse_mode") else raw)
        markup = _json(params.get("reply_markup")) or {}
        for row in markup.get("inline_keyboard", []):
            shown += [str(button["text"]) for button in row]
    return shown


def english_in(texts: list[str]) -> list[str]:
    """The English sentences found in ``texts``, the tipster's own words left out."""
    screen = "\n".join(texts)
    for typed in sorted(TYPED, key=len, reverse=True):
        screen = screen.replace(typed, " ")
    return [s for s in english_sentences() if s in screen]


def answers(user: FakeUser, **overrides: Any) -> Script:
    """The whole questionnaire in any language: buttons by their ids, typed words that
    need no translation."""
    script: dict[str, Any] = {
        "_language_confirm": lambda: user.tap("keep"),
        "safety": lambda: user.tap("continue"),
        "category": lambda: user.tap("trafficking"),
        "description": lambda: user.send(DESCRIPTION),
        "species": lambda: user.send(SPECIES),
        "_species_pick": lambda: user.tap("1"),  # the catalogue's first proposal
        "_species_more": lambda: user.tap("done"),
        "country": lambda: user.send(COUNTRY),
        "place": lambda: user.send(PLACE),
        "location": lambda: user.tap(SKIP_OPTION),
        "when": lambda: user.tap("this_week"),
        "when_details": lambda: user.tap(SKIP_OPTION),
        "evidence": lambda: user.tap("done"),
        "followup": lambda: user.tap("yes"),
    }
    script.update(overrides)
    return script


@pytest_asyncio.fixture
async def bot(
    framework: str,
    redis_client: aioredis.Redis,
    redis_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    ephemeral_client: aioredis.Redis,
    ephemeral_url: str,
) -> AsyncIterator[Bot]:
    """The bot on one framework with the questionnaire as served (the languages whose
    catalogue is complete, the species catalogue); afterwards, Redis and the logs are
    searched for the tipster's id, names, language code and every text they typed."""
    caplog.set_level("DEBUG")
    fake = FakeBotApi()
    await fake.start()
    reviewer = X25519Identity.generate()
    settings = Settings.from_env(
        {
            "REDIS_URL": redis_url,
            "REDIS_EPHEMERAL_URL": ephemeral_url,
            "TIPLINE_DATA_DIR": str(tmp_path / "data"),
            "TIPLINE_RECIPIENTS": str(reviewer.recipient),
            "TIPLINE_SECRET": SECRET_HEX,
        }
    )
    try:
        async with open_runtime(settings) as runtime:
            served = offered_questionnaire(settings)
            running = Bot(fake, framework, runtime, reviewer, served)
            try:
                yield running
            finally:
                await running.stop()
            needles = secrets_of(fake)
            assert_absent(await redis_contents(redis_client, ephemeral_client), needles, "Redis")
            assert_absent(caplog.text.encode(), [*needles, fake.token], "the logs")
    finally:
        await fake.stop()


@pytest.mark.parametrize(("framework", "lang"), CASES)
async def test_a_whole_report_in_the_tipsters_language(
    framework: str, lang: str, bot: Bot
) -> None:
    assert lang in bot.questionnaire.languages, f"{lang} is not offered: catalogue incomplete"
    await bot.start()
    fake = bot.fake
    tr = Renderer(lang, bot.questionnaire)
    user = tipster(fake, language_code=telegram_code(lang))
    await begin(user)

    # Welcomed in the language Telegram suggests, and asked to confirm it.
    first = user.texts()[0]
    assert tr.msgid(m.WELCOME) in first and m.WELCOME not in first
    assert user.step() == "_language_confirm"
    confirm = user.question()
    assert confirm is not None
    assert tr.msgid(m.CONFIRM_LANGUAGE) in confirm.text
    assert confirm.buttons()[0] == (tr.label(LanguageName(lang)), "_language_confirm:keep")
    await user.tap("keep")
    await fake.settled()
    assert bot.intake is not None
    state = await bot.intake.state(str(user.id))
    assert state is not None and state.language == lang

    # Help, and an answer too short, on the way: more of the bot's words on screen.
    await walk(user, answers(user), until="description")
    await user.send("/help", TOO_SHORT)
    await fake.settled()
    assert user.step() == "description"
    await walk(user, answers(user), until="review")
    summary = next(t for t in user.texts() if DESCRIPTION in t)
    assert tr.msgid(m.SUMMARY_INTRO) in summary and PLACE in summary

    await user.tap("send")
    await fake.settled()
    assert any(tr.msgid(m.SUBMITTED) in t for t in user.texts())
    assert any(re.search(r"\d{4} \d{4} \d{4} \d{4}", t) for t in user.texts()), "no receipt"
    assert user.step() == "_wipe"
    await user.tap("no")
    await fake.settled()
    assert user.texts()[-1] == tr.msgid(m.GOODBYE) != m.GOODBYE

    tip = await bot.tip()
    assert tip["language"] == lang
    given = tip["answers"]
    assert given["category"] == {"type": "choice", "option": "trafficking"}
    assert given["description"] == {"type": "text", "text": DESCRIPTION}
    assert [i["status"] for i in given["species"]["items"]] == ["chosen"]
    assert given["species"]["items"][0]["typed"] == SPECIES
    assert given["country"]["code"] == "KE"
    assert given["place"]["text"] == PLACE
    assert given["location"] == given["when_details"] == {"type": "skipped"}
    assert given["when"] == {"type": "choice", "option": "this_week"}

    # The command menu in this language: the same commands, none described in English.
    code = telegram_language(lang)
    assert code is not None and code in fake.commands, f"no command menu for {code}"
    english = [msgid for _name, msgid in COMMAND_MENU]
    assert [c["description"] for c in fake.commands["en"]] == english
    menu = fake.commands[code]
    assert [c["command"] for c in menu] == [name for name, _msgid in COMMAND_MENU]
    translated = [c["description"] for c in menu]
    assert [d for d in translated if d in english] == []
    assert translated == [tr.msgid(msgid) for msgid in english]

    # No English sentence anywhere the tipster looked.
    shown = sent_to(fake, user)
    assert len(shown) > 40
    leftovers = english_in([*shown, *translated])
    assert leftovers == [], f"English shown to a tipster in {lang}: {leftovers}"
    assert [(c.method, c.status) for c in fake.calls if c.status != 200] == []


def test_the_english_scan_finds_english_but_not_the_tipsters_words() -> None:
    assert "Thank you. You can" in english_in([f"Ok. {m.GOODBYE}"])
    assert "Stop and delete your" in english_in([tm.COMMAND_CANCEL])
    assert english_in([f"\u2068{DESCRIPTION}\u2069 {PLACE}"]) == []


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_an_arabic_summary_isolates_the_tipsters_words(framework: str, bot: Bot) -> None:
    """Latin words inside an Arabic sentence keep their order only inside bidi isolates
    (FSI U+2068 ... PDI U+2069)."""
    await bot.start()
    user = tipster(bot.fake, language_code="ar")
    await begin(user)
    await walk(user, answers(user), until="review")
    summary = next(t for t in user.texts() if DESCRIPTION in t)
    assert Renderer("ar", bot.questionnaire).msgid(m.SUMMARY_INTRO) in summary
    for words in (DESCRIPTION, PLACE):
        assert f"\u2068{words}\u2069" in summary, f"{words!r} is not isolated in {summary!r}"
