"""Conditional questions (``when``): validated at load, skipped by the engine when they do
not hold, kept consistent by back and by "change an answer", and left out of the summary
and the sealed transcript."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
import yaml

from conversations import (
    Back,
    QuestionnaireError,
    Say,
    ShowSummary,
    State,
    build_transcript,
    parse_questionnaire,
    state_from_json,
    state_to_json,
)
from conversations import messages as m
from conversations.answers import ChoiceAnswer, LinksAnswer, Skipped, TextAnswer
from conversations.messages import MsgList
from conversations.questionnaire import Condition

from .dialogue import ROOT, Dialogue, default_questionnaire

LISTING = ("listing_links", "platform")


def _data() -> dict[str, Any]:
    text = (ROOT / "conversations" / "default_questionnaire.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def _with_when(question_id: str, when: Any) -> dict[str, Any]:
    data = copy.deepcopy(_data())
    for question in data["questions"]:
        if question["id"] == question_id:
            question["when"] = when
    return data


def _parse(data: dict[str, Any]) -> None:
    parse_questionnaire(yaml.safe_dump(data, allow_unicode=True))


# -- the file ---------------------------------------------------------------------------


def test_the_default_asks_about_a_listing_for_a_sale_or_a_mentioned_link() -> None:
    q = default_questionnaire()
    for qid in LISTING:
        question = q.get(qid)
        assert question is not None
        assert question.when == (
            Condition("category", ("sale",)),
            Condition(None, (), "link"),
        )
    links = q.get("listing_links")
    platform = q.get("platform")
    assert links is not None and links.type == "links"
    assert platform is not None and platform.type == "choice"
    assert [o.id for o in platform.options] == [
        "facebook",
        "instagram",
        "tiktok",
        "whatsapp",
        "telegram",
        "wechat",
        "marketplace",
        "darknet",
        "other",
    ]


def test_a_single_condition_need_not_be_a_list() -> None:
    data = _with_when("when_details", {"question": "when", "in": ["ongoing", "this_week"]})
    q = parse_questionnaire(yaml.safe_dump(data))
    question = q.get("when_details")
    assert question is not None
    assert question.when == (Condition("when", ("ongoing", "this_week")),)


@pytest.mark.parametrize(
    ("question", "when", "message"),
    [
        ("place", {"question": "nowhere", "in": ["x"]}, "question 'nowhere' is not a question id"),
        ("place", {"question": "when", "in": ["today"]}, "question 'when' must come before"),
        ("place", {"question": "place", "in": ["x"]}, "question 'place' must come before"),
        ("place", {"question": "description", "in": ["x"]}, "'in' needs a choice question"),
        ("place", {"question": "category", "in": ["auction"]}, "auction not among the options"),
        ("place", {"question": "category", "in": []}, "'in' must be a non-empty list"),
        ("place", {"question": "category", "in": "sale"}, "'in' must be a non-empty list"),
        ("place", {"question": "category"}, "needs 'question' with 'in'"),
        ("place", {"in": ["sale"]}, "needs 'question' with 'in'"),
        ("place", {"mentions": "phone"}, "'mentions' can only be 'link'"),
        ("place", {"question": "category", "mentions": "link"}, "needs a text, species or links"),
        (
            "place",
            {"question": "category", "in": ["sale"], "mentions": "link"},
            "either 'in' or 'mentions'",
        ),
        ("place", {"question": "category", "is": ["sale"]}, "unknown field(s) is"),
        ("place", [], "needs at least one condition"),
        ("place", ["category"], "each condition is a mapping"),
        ("safety", {"question": "language", "in": ["en"]}, "a 'notice' question cannot"),
        ("review", {"mentions": "link"}, "a 'review' question cannot have a condition"),
    ],
)
def test_a_broken_condition_is_refused_with_a_reason(
    question: str, when: Any, message: str
) -> None:
    with pytest.raises(QuestionnaireError, match=r"^question '" + question) as raised:
        _parse(_with_when(question, when))
    assert message in str(raised.value)


# -- the engine -------------------------------------------------------------------------


def _to_review(category: str, **texts: str) -> tuple[Dialogue, list[str]]:
    """A whole report in English, with this category; ``texts`` override typed answers."""
    d = Dialogue()
    d.walk_to("category")
    d.choose(category)
    answers = {
        "description": lambda: d.text(texts.get("description", "Ivory carvings for sale")),
        "species": lambda: d.text("ivory"),
        "country": lambda: d.text("Kenya"),
        "place": lambda: d.text(texts.get("place", "The old market")),
        "location": lambda: d.choose("_skip"),
        "when": lambda: d.choose("this_week"),
        "when_details": lambda: d.choose("_skip"),
        "listing_links": lambda: d.text(texts.get("links", "https://shop.example.com/ivory/7")),
        "platform": lambda: d.choose("marketplace"),
        "evidence": lambda: d.choose("done"),
        "followup": lambda: d.choose("no"),
    }
    asked = []
    while d.step != "review":
        asked.append(d.step)
        answers[d.step]()
    return d, asked


def _summary_steps(d: Dialogue) -> list[str]:
    summaries = [a for a in d.actions if isinstance(a, ShowSummary)]
    assert summaries, d.actions
    return [item.step for item in summaries[-1].items]


def test_the_listing_questions_are_asked_only_for_a_sale() -> None:
    sale, asked = _to_review("sale")
    assert asked[-4:-2] == list(LISTING)
    assert set(LISTING) <= set(_summary_steps(sale))
    poaching, asked = _to_review("poaching")
    assert not set(LISTING) & set(asked)
    assert not set(LISTING) & set(_summary_steps(poaching))
    assert all(q not in dict(poaching.state.answers) for q in LISTING)


@pytest.mark.parametrize(
    "texts",
    [
        {"description": "They sell it on https://ivory.example.org/shop, look"},
        {"description": "Posted at www.facebook.com/groups/123"},
        {"place": "A stall; the seller gave 127.0.0.1:8080/catalogue"},
    ],
)
def test_a_link_mentioned_in_free_text_also_asks_for_the_listing(texts: dict[str, str]) -> None:
    _, asked = _to_review("poaching", **texts)
    assert list(LISTING) == [s for s in asked if s in LISTING]


@pytest.mark.parametrize("text", ["Mr.Smith took 3.5 kg of ivory, e.g. tusks", "at 10.30 a.m."])
def test_dotted_words_that_are_not_links_do_not(text: str) -> None:
    _, asked = _to_review("poaching", description=text)
    assert not set(LISTING) & set(asked)


def test_back_skips_a_question_that_does_not_apply() -> None:
    d, _ = _to_review("poaching")
    d.choose("edit")
    d.choose("summary")
    steps = []
    for _ in range(12):
        d.send(Back())
        steps.append(d.step)
        if d.step == "category":
            break
    assert not set(LISTING) & set(steps)
    assert steps[:2] == ["followup", "evidence"]
    d.choose("sale")  # now the listing applies, forward again
    d.walk_to("listing_links")  # the answers given are asked again, then the listing
    assert d.state.answer("category") == ChoiceAnswer("sale")


def test_changing_the_category_drops_the_listing_and_says_so() -> None:
    d, _ = _to_review("sale")
    assert isinstance(d.state.answer("listing_links"), LinksAnswer)
    d.choose("edit")
    d.choose("category")
    d.choose("poaching")
    said = [a for a in d.actions if isinstance(a, Say)]
    assert len(said) == 1
    assert said[0].msg.id == m.ANSWERS_DROPPED.singular
    assert said[0].msg.n == 2
    assert dict(said[0].msg.values)["details"] == MsgList(("Online listing", "Platform"))
    assert d.step == "review"  # back at the summary, without them
    assert not set(LISTING) & set(_summary_steps(d))
    assert all(q not in dict(d.state.answers) for q in LISTING)
    assert all(q not in LISTING for q, _ in d.state.log)
    assert not set(LISTING) & set(d.state.history)
    transcript = build_transcript(
        d.questionnaire, d.state, case_id="c" * 24, received_on=date(2026, 5, 1), channel="t"
    )
    assert not set(LISTING) & set(transcript["answers"])
    assert all(e["question"] not in LISTING for e in transcript["transcript"])
    assert "https://shop" not in str(transcript)
    # The edit list offers only what applies.
    d.choose("edit")
    assert not set(LISTING) & set(d.option_ids())


def test_a_skipped_answer_that_no_longer_applies_goes_quietly() -> None:
    d = Dialogue()
    d.walk_to("listing_links")
    d.choose("_skip")
    d.choose("_skip")  # platform
    assert d.state.answer("listing_links") == Skipped()
    d.walk_to("review")
    d.choose("edit")
    d.choose("category")
    d.choose("poaching")
    assert [a for a in d.actions if isinstance(a, Say)] == []
    assert d.state.answer("listing_links") is None


def test_a_question_that_comes_to_apply_is_asked_before_the_summary() -> None:
    d, _ = _to_review("poaching")
    d.choose("edit")
    d.choose("category")
    d.choose("sale")
    assert d.step == "listing_links"
    assert [a for a in d.actions if isinstance(a, ShowSummary)] == []
    d.text("See https://market.example.net/item?id=42 and shop.example.org/ivory")
    assert d.step == "platform"
    d.choose("darknet")
    assert d.step == "review"
    assert _summary_steps(d)[-4:-2] == list(LISTING)
    answer = d.state.answer("listing_links")
    assert isinstance(answer, LinksAnswer)
    assert [link.host for link in answer.links] == ["market.example.net", "shop.example.org"]
    assert d.state.answer("platform") == ChoiceAnswer("darknet")
    # Back from a newly asked question returns to the summary, as "change an answer" does.
    d.choose("edit")
    d.choose("category")
    d.choose("poaching")
    d.choose("edit")
    d.choose("category")
    d.choose("sale")
    assert d.step == "listing_links"
    d.send(Back())
    assert d.step == "review"


def test_editing_the_description_to_mention_a_link_asks_for_the_listing() -> None:
    d, _ = _to_review("poaching")
    d.choose("edit")
    d.choose("description")
    d.text("It is on www.ivory-market.com/tusks now")
    assert d.step == "listing_links"
    d.choose("_skip")
    d.choose("_skip")
    assert d.step == "review"
    # And removing the link drops them again (skipped: quietly).
    d.choose("edit")
    d.choose("description")
    d.text("Tusks in a shed")
    assert d.step == "review"
    assert d.state.answer("listing_links") is None


def test_a_state_with_a_dropped_answer_survives_json() -> None:
    d, _ = _to_review("sale")
    d.choose("edit")
    d.choose("category")
    d.choose("fishing")
    assert state_from_json(state_to_json(d.state)) == d.state


def test_the_transcript_leaves_out_answers_that_do_not_apply() -> None:
    """Even a state that kept one (a draft from before the condition) seals without it."""
    q = default_questionnaire()
    state = State(
        phase="asking",
        step="review",
        answers=(
            ("category", ChoiceAnswer("poaching")),
            ("description", TextAnswer("Snares by the river")),
            ("platform", ChoiceAnswer("facebook")),
        ),
        log=(("category", ChoiceAnswer("poaching")), ("platform", ChoiceAnswer("facebook"))),
    )
    transcript = build_transcript(
        q, state, case_id="c" * 24, received_on=date(2026, 5, 1), channel="t"
    )
    assert set(transcript["answers"]) == {"category", "description"}
    assert [e["question"] for e in transcript["transcript"]] == ["category"]
