"""Sixteen languages, complete: the shipped catalogues pass every check, and the whole
questionnaire runs in each language with no English on screen."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bots.render import available_languages
from conversations import messages as m
from conversations.languages import SUPPORTED_LANGUAGES
from tipline.catalogues import check_all, extracted_msgids

from .dialogue import ROOT, default_questionnaire

QUESTIONNAIRE = default_questionnaire()
SUPPORTED = SUPPORTED_LANGUAGES


def test_the_supported_set() -> None:
    assert QUESTIONNAIRE.languages == SUPPORTED


def test_the_shipped_catalogues_pass_every_check() -> None:
    problems = check_all(SUPPORTED, QUESTIONNAIRE)
    assert [str(p) for p in problems] == []


def test_every_language_is_offered() -> None:
    assert available_languages(SUPPORTED) == SUPPORTED


# Answers by number and code, so the same script works in every language: safety notice,
# category, description, species (first proposal, no more), country (by ISO code), place,
# no pin, when, no details, no files, no follow-up, send, keep the chat.
SCRIPT = [
    "1",
    "2",
    "Ivory 4471 in sacks",
    "ivory",
    "1",
    "2",
    "KE",
    "Mombasa",
    "0",
    "3",
    "0",
    "1",
    "2",
    "1",
    "2",
]
# English that may legitimately appear: the tipster's own answers, numbers, names.
_ANSWERS = {line.casefold() for line in SCRIPT}


def _english_sentences() -> list[str]:
    """Every English message of two words or more (a one-word id such as "Poaching" may
    be a loanword; longer English left on screen is a missing translation)."""
    found = []
    for msgid in extracted_msgids():
        words = re.sub(r"\{[^}]*\}", " ", msgid).split()
        if len(words) >= 2:
            found.append(" ".join(words[:4]))
    return found


@pytest.mark.parametrize("lang", [lang for lang in SUPPORTED if lang != "en"])
def test_the_console_speaks_only_that_language(lang: str, tmp_path: Path) -> None:
    from privacy import X25519Identity

    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "TIPLINE_RECIPIENTS": str(X25519Identity.generate().recipient),
        "PYTHONPATH": str(ROOT),
    }
    run = subprocess.run(
        [sys.executable, "-m", "tipline", "console", "--lang", lang],
        input="\n".join(SCRIPT) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    shown = "\n".join(
        line
        for line in run.stdout.splitlines()
        if not line.startswith("> ")  # the typed answers echoed back
    )
    leftovers = [s for s in _english_sentences() if s in shown]
    assert leftovers == [], f"English left on screen in {lang}: {leftovers}"
    assert m.SUBMITTED not in shown


@pytest.mark.parametrize("lang", SUPPORTED)
def test_a_damaged_file_is_explained_in_every_language(lang: str) -> None:
    """The partial-file notices are translated, with both durations in them."""
    from bots.render import Renderer
    from conversations.messages import Msg

    renderer = Renderer(lang, default_questionnaire())
    for msgid in (m.FILE_PARTIAL_VIDEO, m.FILE_PARTIAL_AUDIO):
        text = renderer.text(Msg.of(msgid, kept="0:12", total="0:40"))
        assert "0:12" in text and "0:40" in text
        assert (text == msgid.format(kept="0:12", total="0:40")) is (lang == "en")
    for msgid in (m.FILE_PARTIAL_VIDEO_UNKNOWN, m.FILE_PARTIAL_AUDIO_UNKNOWN):
        text = renderer.text(Msg.of(msgid, kept="1:15"))
        assert "1:15" in text and "{" not in text
        assert (text == msgid.format(kept="1:15")) is (lang == "en")
