"""The questionnaire file: the shipped default, every validation error, and an edited copy."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from conversations import (
    Action,
    Ask,
    Choose,
    Engine,
    Event,
    Questionnaire,
    QuestionnaireError,
    ShowSummary,
    Skip,
    Start,
    State,
    Submit,
    Submitted,
    Text,
    parse_questionnaire,
)
from conversations.answers import ChoiceAnswer, Skipped, TextAnswer
from conversations.languages import SUPPORTED_LANGUAGES

ROOT = Path(__file__).parents[1]
DEFAULT_PATH = ROOT / "conversations" / "default_questionnaire.yaml"

STEPS = (
    "language",
    "safety",
    "category",
    "description",
    "species",
    "country",
    "place",
    "location",
    "when",
    "when_details",
    "listing_links",
    "platform",
    "evidence",
    "followup",
    "review",
)
TYPES = (
    "language",
    "notice",
    "choice",
    "text",
    "species",
    "country",
    "text",
    "location",
    "choice",
    "text",
    "links",
    "choice",
    "attachments",
    "choice",
    "review",
)
LANGUAGES = SUPPORTED_LANGUAGES
CATEGORIES = ("poaching", "trafficking", "sale", "logging", "fishing", "corruption", "other")


def default_text() -> str:
    return DEFAULT_PATH.read_text(encoding="utf-8")


def default_data() -> dict[str, Any]:
    data = yaml.safe_load(default_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def default() -> Questionnaire:
    return parse_questionnaire(default_text())


# -- the shipped default -----------------------------------------------------------------


def test_default_steps_in_order(default: Questionnaire) -> None:
    assert tuple(q.id for q in default.questions) == STEPS


def test_default_question_types(default: Questionnaire) -> None:
    assert tuple(q.type for q in default.questions) == TYPES


def test_default_languages(default: Questionnaire) -> None:
    assert default.languages == LANGUAGES
    assert len(default.languages) == 16
    assert default.default_language == "en"
    assert default.version == 1


def test_default_category_is_required_with_seven_options(default: Questionnaire) -> None:
    category = default.get("category")
    assert category is not None
    assert category.type == "choice"
    assert category.required is True
    assert tuple(o.id for o in category.options) == CATEGORIES
    assert all(o.label for o in category.options)
    assert category.options[1].label == "Trafficking or smuggling"


def test_default_required_questions(default: Questionnaire) -> None:
    required = {q.id for q in default.questions if q.required}
    assert required == {"category", "description"}
    description = default.get("description")
    assert description is not None
    assert description.type == "text"
    assert description.min_length == 3
    assert description.max_length == 4000


def test_default_choice_options(default: Questionnaire) -> None:
    when = default.get("when")
    followup = default.get("followup")
    assert when is not None
    assert followup is not None
    assert tuple(o.id for o in when.options) == (
        "ongoing",
        "today",
        "this_week",
        "this_month",
        "earlier",
        "unknown",
    )
    # Quoted in the file so that YAML does not read them as booleans.
    assert tuple(o.id for o in followup.options) == ("yes", "no")
    assert tuple(o.label for o in followup.options) == ("Yes", "No")


def test_only_choice_questions_have_options(default: Questionnaire) -> None:
    for question in default.questions:
        assert bool(question.options) == (question.type == "choice"), question.id


def test_default_texts_are_trimmed_and_labelled(default: Questionnaire) -> None:
    for question in default.questions:
        assert question.prompt == question.prompt.strip()
        assert question.prompt
        assert question.label
    safety = default.get("safety")
    assert safety is not None
    assert safety.label == "Safety"
    assert "cancel" in safety.prompt
    description = default.get("description")
    assert description is not None
    assert description.help is not None
    assert description.help.startswith("Say what you saw")
    assert {q.id for q in default.questions if q.help} == {"description"}


def test_default_attachments(default: Questionnaire) -> None:
    evidence = default.first_of_type("attachments")
    assert evidence is not None
    assert evidence.id == "evidence"
    assert evidence.max_files == 10


def test_questionnaire_lookups(default: Questionnaire) -> None:
    assert default.review.id == "review"
    assert default.position("language") == 0
    assert default.position("review") == len(STEPS) - 1
    assert default.get("nope") is None
    with pytest.raises(KeyError):
        default.position("nope")
    notice = default.first_of_type("notice")
    assert notice is not None
    assert notice.id == "safety"
    country = default.first_of_type("country")
    assert country is not None
    assert country.id == "country"


# -- validation --------------------------------------------------------------------------


def q(qid: Any, qtype: str, **fields: Any) -> dict[str, Any]:
    return {"id": qid, "type": qtype, "prompt": f"Prompt of {qid}?", **fields}


REVIEW = q("review", "review")
OPTIONS = [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}]


def doc(questions: Any = None, **top: Any) -> str:
    data: dict[str, Any] = {"version": 1, "languages": ["en", "fr"]}
    data["questions"] = (
        [q("what", "text", required=True), REVIEW] if questions is None else questions
    )
    data.update(top)
    return yaml.safe_dump(data, allow_unicode=True)


def test_minimal_document_parses() -> None:
    parsed = parse_questionnaire(doc())
    assert parsed.languages == ("en", "fr")
    # Without default_language the first listed language is the default.
    assert parsed.default_language == "en"
    what = parsed.get("what")
    assert what is not None
    assert what.label == what.prompt == "Prompt of what?"
    assert what.help is None
    assert (what.min_length, what.max_length, what.max_files) == (1, 4000, 10)


def test_only_a_review_question_is_enough() -> None:
    parsed = parse_questionnaire(doc([REVIEW]))
    assert parsed.review.id == "review"


def test_limits_at_their_bounds_parse() -> None:
    parsed = parse_questionnaire(
        doc(
            [
                q("a" * 24, "text", min_length=4000, max_length=4000),
                q("files", "attachments", max_files=50),
                q("c", "choice", options=[*OPTIONS, {"id": "o" * 24, "label": "Long"}]),
                REVIEW,
            ]
        )
    )
    assert parsed.questions[0].id == "a" * 24
    assert parsed.questions[0].min_length == 4000
    assert parsed.questions[1].max_files == 50
    assert parsed.questions[2].options[-1].id == "o" * 24


def test_locale_codes_with_script_and_region_parse() -> None:
    parsed = parse_questionnaire(
        doc(languages=["en", "zh_Hans", "pt_BR", "sr_Latn_RS", "fil"], default_language="pt_BR")
    )
    assert parsed.languages == ("en", "zh_Hans", "pt_BR", "sr_Latn_RS", "fil")
    assert parsed.default_language == "pt_BR"


BROKEN: list[tuple[str, str, str]] = [
    ("not yaml", "version: 1\nlanguages: [en\n", "not valid YAML"),
    ("tabs and colons", "a: b: c", "not valid YAML"),
    ("a list", "- 1\n- 2\n", "must be a mapping"),
    ("a string", "hello", "must be a mapping"),
    ("empty", "", "must be a mapping"),
    (
        "no version",
        "languages: [en]\nquestions: [{id: review, type: review, prompt: P}]\n",
        "'version'",
    ),
    ("version zero", doc(version=0), "'version' must be a positive whole number"),
    ("version negative", doc(version=-1), "'version' must be a positive whole number"),
    ("version text", doc(version="1"), "'version' must be a positive whole number"),
    ("version float", doc(version=1.5), "'version' must be a positive whole number"),
    ("version bool", doc(version=True), "'version' must be a positive whole number"),
    (
        "no languages",
        "version: 1\nquestions: [{id: review, type: review, prompt: P}]\n",
        "'languages'",
    ),
    ("languages empty", doc(languages=[]), "'languages' must be a non-empty list"),
    ("languages a string", doc(languages="en"), "'languages' must be a non-empty list"),
    ("language upper case", doc(languages=["EN"]), "'EN' is not a locale code"),
    ("language with hyphen", doc(languages=["en", "pt-BR"]), "'pt-BR' is not a locale code"),
    ("language a name", doc(languages=["english"]), "'english' is not a locale code"),
    ("language a number", doc(languages=["en", 7]), "7 is not a locale code"),
    ("script lower case", doc(languages=["zh_hans"]), "'zh_hans' is not a locale code"),
    ("language twice", doc(languages=["en", "fr", "en"]), "lists a language twice"),
    ("default not listed", doc(default_language="de"), "'default_language' must be one of"),
    ("default not text", doc(default_language=1), "'default_language' must be one of"),
    ("no questions", "version: 1\nlanguages: [en]\n", "'questions' must be a non-empty list"),
    ("questions a mapping", doc(questions={"a": 1}), "'questions' must be a non-empty list"),
    ("questions empty", doc([]), "'questions' must be a non-empty list"),
    ("question not a mapping", doc(["what", REVIEW]), "question 1: must be a mapping"),
    ("duplicate ids", doc([q("what", "text"), q("what", "text"), REVIEW]), "used twice: what"),
    ("no id", doc([{"type": "text", "prompt": "P"}, REVIEW]), "question 1: 'id' must be"),
    ("id with capital", doc([q("What", "text"), REVIEW]), "'id' must be lowercase"),
    ("id with hyphen", doc([q("what-now", "text"), REVIEW]), "'id' must be lowercase"),
    ("id with space", doc([q("what now", "text"), REVIEW]), "'id' must be lowercase"),
    ("id starts with digit", doc([q("1what", "text"), REVIEW]), "'id' must be lowercase"),
    ("id starts with _", doc([q("_skip", "text"), REVIEW]), "'id' must be lowercase"),
    ("id not text", doc([q(7, "text"), REVIEW]), "question 1: 'id' must be"),
    ("id too long", doc([q("a" * 25, "text"), REVIEW]), "at most 24 characters"),
    ("id of 2nd bad", doc([q("ok", "text"), q("x:y", "text"), REVIEW]), "question 2: 'id'"),
    ("unknown field", doc([q("what", "text", colour="red"), REVIEW]), "unknown field(s) colour"),
    (
        "unknown fields",
        doc([q("what", "text", zeta=1, alpha=2), REVIEW]),
        "question 'what': unknown field(s) alpha, zeta",
    ),
    ("unknown type", doc([q("what", "essay"), REVIEW]), "'type' must be one of"),
    ("no type", doc([{"id": "what", "prompt": "P"}, REVIEW]), "question 'what': 'type'"),
    ("no prompt", doc([{"id": "what", "type": "text"}, REVIEW]), "'prompt' must be a non-empty"),
    ("blank prompt", doc([q("what", "text", prompt="   "), REVIEW]), "'prompt' must be"),
    ("prompt a list", doc([q("what", "text", prompt=["a"]), REVIEW]), "'prompt' must be"),
    ("blank label", doc([q("what", "text", label=""), REVIEW]), "'label' must be a non-empty"),
    ("null help", doc([q("what", "text", help=None), REVIEW]), "'help' must be a non-empty"),
    ("required a string", doc([q("what", "text", required="yes"), REVIEW]), "true or false"),
    ("choice no options", doc([q("c", "choice"), REVIEW]), "at least two 'options'"),
    (
        "choice one option",
        doc([q("c", "choice", options=OPTIONS[:1]), REVIEW]),
        "at least two 'options'",
    ),
    (
        "choice options a mapping",
        doc([q("c", "choice", options={"a": "A", "b": "B"}), REVIEW]),
        "at least two 'options'",
    ),
    (
        "duplicate option ids",
        doc([q("c", "choice", options=[*OPTIONS, {"id": "a", "label": "Again"}]), REVIEW]),
        "option ids must be unique",
    ),
    (
        "option without label",
        doc([q("c", "choice", options=[*OPTIONS, {"id": "z"}]), REVIEW]),
        "exactly 'id' and 'label'",
    ),
    (
        "option with extra key",
        doc([q("c", "choice", options=[*OPTIONS, {"id": "z", "label": "Z", "x": 1}]), REVIEW]),
        "exactly 'id' and 'label'",
    ),
    (
        "option a string",
        doc([q("c", "choice", options=["a", "b"]), REVIEW]),
        "exactly 'id' and 'label'",
    ),
    (
        "option bad id",
        doc([q("c", "choice", options=[*OPTIONS, {"id": "Z z", "label": "Z"}]), REVIEW]),
        "option id 'Z z' must be lowercase",
    ),
    (
        "option reserved id",
        doc([q("c", "choice", options=[*OPTIONS, {"id": "_skip", "label": "Z"}]), REVIEW]),
        "option id '_skip' must be lowercase",
    ),
    (
        "option id too long",
        doc([q("c", "choice", options=[*OPTIONS, {"id": "o" * 25, "label": "Z"}]), REVIEW]),
        "must be lowercase",
    ),
    (
        "option blank label",
        doc([q("c", "choice", options=[*OPTIONS, {"id": "z", "label": " "}]), REVIEW]),
        "option 'z': 'label' must be a non-empty text",
    ),
    (
        "options on text",
        doc([q("what", "text", options=OPTIONS), REVIEW]),
        "only a 'choice' question has options",
    ),
    (
        "options on notice",
        doc([q("n", "notice", options=OPTIONS), REVIEW]),
        "only a 'choice' question has options",
    ),
    ("no review", doc([q("what", "text")]), "exactly one 'review' question"),
    ("review not last", doc([REVIEW, q("what", "text")]), "exactly one 'review' question"),
    (
        "review twice",
        doc([q("review1", "review"), q("what", "text"), REVIEW]),
        "exactly one 'review' question",
    ),
    (
        "review twice at the end",
        doc([q("what", "text"), q("review1", "review"), REVIEW]),
        "exactly one 'review' question",
    ),
    (
        "two location questions",
        doc([q("pin", "location"), q("pin2", "location"), REVIEW]),
        "at most one 'location' question",
    ),
    (
        "two language questions",
        doc([q("lang", "language"), q("lang2", "language"), REVIEW]),
        "at most one 'language' question",
    ),
    (
        "two attachments questions",
        doc([q("files", "attachments"), q("files2", "attachments"), REVIEW]),
        "at most one 'attachments' question",
    ),
    (
        "required notice",
        doc([q("n", "notice", required=True), REVIEW]),
        "a 'notice' question cannot be required",
    ),
    (
        "required language",
        doc([q("lang", "language", required=True), REVIEW]),
        "a 'language' question cannot be required",
    ),
    (
        "required review",
        doc([q("review", "review", required=True)]),
        "a 'review' question cannot be required",
    ),
    (
        "min_length > max_length",
        doc([q("what", "text", min_length=10, max_length=5), REVIEW]),
        "min_length <= max_length",
    ),
    ("min_length 0", doc([q("what", "text", min_length=0), REVIEW]), "1 <= min_length"),
    (
        "max_length over 4000",
        doc([q("what", "text", max_length=4001), REVIEW]),
        "max_length <= 4000",
    ),
    ("min_length text", doc([q("what", "text", min_length="3"), REVIEW]), "whole number"),
    ("max_length float", doc([q("what", "text", max_length=9.5), REVIEW]), "whole number"),
    ("max_length bool", doc([q("what", "text", max_length=True), REVIEW]), "whole number"),
    ("max_files 0", doc([q("files", "attachments", max_files=0), REVIEW]), "between 1 and 50"),
    ("max_files 51", doc([q("files", "attachments", max_files=51), REVIEW]), "between 1 and 50"),
    ("max_files text", doc([q("files", "attachments", max_files="9"), REVIEW]), "whole number"),
]


@pytest.mark.parametrize(
    ("text", "message"),
    [pytest.param(text, message, id=name) for name, text, message in BROKEN],
)
def test_broken_questionnaire_is_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text)
    assert message in str(caught.value)


def test_questionnaire_error_is_a_value_error() -> None:
    assert issubclass(QuestionnaireError, ValueError)


def test_error_names_the_question() -> None:
    broken = default_data()
    broken["questions"][3]["max_length"] = 1
    with pytest.raises(QuestionnaireError, match=r"^question 'description': need 1 <= min"):
        parse_questionnaire(yaml.safe_dump(broken))


def test_bad_yaml_error_keeps_the_cause() -> None:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire("questions: [\n")
    assert isinstance(caught.value.__cause__, yaml.YAMLError)


@pytest.mark.parametrize("where", ["question id", "option id", "language"])
def test_trailing_newline_in_an_id_is_refused(where: str) -> None:
    data = default_data()
    if where == "question id":
        data["questions"][2]["id"] = "category\n"
    elif where == "option id":
        data["questions"][2]["options"][0]["id"] = "poaching\n"
    else:
        data["languages"][1] = "fr\n"
    with pytest.raises(QuestionnaireError):
        parse_questionnaire(yaml.safe_dump(data))


# -- an organisation's own questionnaire ---------------------------------------------------


def edited_text() -> str:
    """The default, edited as an organisation would: a question dropped, two moved, an
    option added to the category, a help text added."""
    data = default_data()
    questions: list[dict[str, Any]] = data["questions"]
    by_id = {question["id"]: question for question in questions}
    order = [
        "language",
        "safety",
        "category",
        "country",
        "description",
        "place",
        "location",
        "when",
        "when_details",
        "evidence",
        "followup",
        "review",
    ]
    edited = [copy.deepcopy(by_id[qid]) for qid in order]  # "species" is dropped
    edited[2]["options"].insert(-1, {"id": "bushmeat", "label": "Bushmeat hunting"})
    edited[3]["help"] = "Type it in your own language."
    data["questions"] = edited
    data["languages"] = ["en", "fr", "sw"]
    data["default_language"] = "sw"
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def test_edited_questionnaire_parses() -> None:
    edited = parse_questionnaire(edited_text())
    assert [x.id for x in edited.questions] == [
        "language",
        "safety",
        "category",
        "country",
        "description",
        "place",
        "location",
        "when",
        "when_details",
        "evidence",
        "followup",
        "review",
    ]
    assert edited.get("species") is None
    assert edited.first_of_type("species") is None
    assert edited.languages == ("en", "fr", "sw")
    assert edited.default_language == "sw"
    category = edited.get("category")
    assert category is not None
    assert [o.id for o in category.options] == [*CATEGORIES[:-1], "bushmeat", "other"]
    country = edited.get("country")
    assert country is not None
    assert country.help == "Type it in your own language."


def last_ask(actions: list[Action]) -> Ask:
    asks = [a for a in actions if isinstance(a, Ask)]
    assert asks, actions
    return asks[-1]


def test_engine_runs_a_conversation_with_the_edited_questionnaire() -> None:
    edited = parse_questionnaire(edited_text())
    engine = Engine(edited)
    state: State = engine.initial()
    assert state.language == "sw"

    asked: list[str] = []

    def send(event: Event) -> list[Action]:
        nonlocal state
        state, actions = engine.handle(state, event)
        asks = [a for a in actions if isinstance(a, Ask)]
        if asks:
            asked.append(asks[-1].step)
        return actions

    ask = last_ask(send(Start(language="en")))
    assert ask.step == "safety"  # the language was given, so it is not asked
    assert state.language == "en"

    ask = last_ask(send(Choose("safety", "continue")))
    assert ask.step == "category"
    assert [o.id for o in ask.options][-2:] == ["bushmeat", "other"]
    assert not ask.skippable

    ask = last_ask(send(Choose("category", "bushmeat")))
    assert ask.step == "country"  # moved up, right after the category
    assert ask.skippable

    ask = last_ask(send(Skip()))
    assert ask.step == "description"
    ask = last_ask(send(Text("  Snares set along the river near the school.  ")))
    while ask.step != "review":
        ask = last_ask(send(Skip()))

    assert asked == [
        "safety",
        "category",
        "country",
        "description",
        "place",
        "location",
        "when",
        "when_details",
        "evidence",
        "followup",
        "review",
    ]
    assert state.answer("category") == ChoiceAnswer("bushmeat")
    assert state.answer("description") == TextAnswer("Snares set along the river near the school.")
    assert state.answer("country") == Skipped()
    assert state.answer("species") is None

    state_before_review = state
    actions = send(Choose("review", "edit"))
    assert last_ask(actions).step == "_edit"
    assert "species" not in [o.id for o in last_ask(actions).options]
    state = state_before_review

    state, actions = engine.handle(state, Choose("review", "send"))
    assert actions == [Submit()]
    assert state.phase == "submitting"
    state, actions = engine.handle(state, Submitted())
    assert state.phase == "submitted"
    assert state.answers == ()


def test_engine_summary_follows_the_edited_order() -> None:
    edited = parse_questionnaire(edited_text())
    engine = Engine(edited)
    state, _ = engine.handle(engine.initial(), Start(language="fr"))
    state, _ = engine.handle(state, Choose("safety", "continue"))
    state, _ = engine.handle(state, Choose("category", "other"))
    state, _ = engine.handle(state, Text("Kenya"))
    state, _ = engine.handle(state, Text("A lorry full of logs"))
    actions: list[Action] = []
    for _ in range(20):
        if state.step == "review":
            break
        state, actions = engine.handle(state, Skip())
    summaries = [a for a in actions if isinstance(a, ShowSummary)]
    assert len(summaries) == 1
    steps = [item.step for item in summaries[0].items]
    assert steps == [
        "category",
        "country",
        "description",
        "place",
        "location",
        "when",
        "when_details",
        "evidence",
        "followup",
    ]
    assert summaries[0].lang == "fr"
