"""A reviewer sees that an attachment arrived cut short: in the rendered tip (the
evidence line and the attachments count) and from ``tipline review show``; values a
crafted transcript puts there are shown as data, never trusted."""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from bots.intake import new_case_id
from review.render import ViewOptions, partial_note, render_text, tip_view
from review.tip import OpenedTip
from storage import TipQueue

from .dialogue import default_questionnaire
from .test_review_cli import Reviewers, reviewers
from .test_review_desk import queue_tip, transcript

__all__ = ["reviewers"]  # the fixture, shared with test_review_cli

PARTIAL = {"kept_seconds": 12.04, "declared_seconds": 40.0}


def _document(partial: object) -> dict[str, object]:
    """A transcript with a whole photo and a video that arrived cut short."""
    doc = transcript(new_case_id(), files=[("jpeg", 183_220), ("mp4", 1_048_210)])
    for listed in (doc["attachments"], doc["answers"]["evidence"]["files"]):
        listed[1]["partial"] = partial
    return doc


def _shown(doc: dict[str, object]) -> str:
    opened = OpenedTip(str(doc["case_id"]), "0-0", doc, json.dumps(doc).encode(), (b"a", b"b"))
    return render_text(tip_view(opened, default_questionnaire(), ViewOptions("en")))


def test_the_rendered_tip_marks_the_partial_attachment() -> None:
    text = _shown(_document(PARTIAL))
    note = "PARTIAL: only the first 0:12 (12.04 s) of 0:40 (40 s) declared could be kept"
    [line] = [line for line in text.splitlines() if "1: mp4" in line]
    assert note in line
    [photo] = [line for line in text.splitlines() if "0: jpeg" in line]
    assert "PARTIAL" not in photo
    assert "2 sealed; PARTIAL (arrived cut short, only the beginning kept): 1" in text


def test_a_partial_file_without_a_declared_length() -> None:
    text = _shown(_document({"kept_seconds": 75.5, "declared_seconds": None}))
    assert (
        "PARTIAL: only the first 1:15 (75.5 s) could be kept; the file arrived damaged "
        "and did not declare its length"
    ) in text


def test_a_whole_tip_says_nothing_of_partial_files() -> None:
    doc = transcript(new_case_id(), files=[("jpeg", 183_220)])
    assert "PARTIAL" not in _shown(doc)


def test_crafted_partial_values_are_shown_as_data() -> None:
    assert partial_note({"kept_seconds": "\x1b[2Jlots", "declared_seconds": 4}) == (
        "PARTIAL: kept_seconds: [2Jlots, declared_seconds: 4"
    )
    assert partial_note({"kept_seconds": float("nan")}).startswith("PARTIAL: kept_seconds")
    assert partial_note({"kept_seconds": True}).startswith("PARTIAL: kept_seconds")
    assert partial_note("yes") == "PARTIAL: yes"
    assert "\x1b" not in _shown(_document({"kept_seconds": "\x1b[2J"}))


async def test_review_show_tells_the_reviewer(
    reviewers: Reviewers, redis_client: aioredis.Redis
) -> None:
    doc = _document(PARTIAL)
    case = await queue_tip(TipQueue(redis_client), [reviewers.identity.recipient], doc,
                           [b"photo", b"video"])  # fmt: skip
    shown = (await reviewers.run("show", case)).stdout
    assert "1: mp4, 1.0 MB (1048210 bytes)" in shown
    assert "PARTIAL: only the first 0:12 (12.04 s) of 0:40 (40 s) declared could be kept" in shown
    assert "PARTIAL (arrived cut short, only the beginning kept): 1" in shown
