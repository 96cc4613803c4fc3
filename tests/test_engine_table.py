"""The transition table: every (step kind, event type) pair, and fuzzing with Hypothesis.

A pair may be handled by a specific row or by the shared rows, but every pair must be in
the table, and from any reachable state any event must lead to a valid state without
raising (as h2's stream tests walk every pair of its table).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations import (
    SKIP_OPTION,
    Action,
    Ask,
    Attachment,
    AttachmentFailed,
    AttachmentScrubbed,
    Back,
    Cancel,
    ChangeLanguage,
    Choose,
    Discard,
    End,
    Engine,
    Event,
    FollowUp,
    FollowupFailed,
    FollowupSent,
    Help,
    Location,
    ReceiptChecked,
    Say,
    ShowSafety,
    ShowSummary,
    Skip,
    Start,
    State,
    SubmitFailed,
    Submitted,
    Text,
    build_transcript,
    state_from_json,
    state_to_json,
)
from conversations.answers import AttachmentsAnswer, LocationAnswer
from conversations.engine import STEP_KINDS, TABLE, step_kind
from conversations.events import EVENT_TYPES
from conversations.places import PRECISIONS
from tipline.species_loader import load_catalogue

from .dialogue import Dialogue, default_questionnaire

QUESTIONNAIRE = default_questionnaire()
WITH_SPECIES = replace(QUESTIONNAIRE, species=load_catalogue())


def _at(step: str) -> Callable[[Dialogue], None]:
    return lambda d: d.walk_to(step)


def _then(
    first: Callable[[Dialogue], None], event: Callable[[Dialogue], Event]
) -> Callable[[Dialogue], None]:
    def go(d: Dialogue) -> None:
        first(d)
        d.send(event(d))

    return go


def _species(first: Callable[[Dialogue], None]) -> Callable[[Dialogue], None]:
    """The same, with the species catalogue behind the species question."""

    def go(d: Dialogue) -> None:
        d.questionnaire = WITH_SPECIES
        d.engine = Engine(WITH_SPECIES)
        first(d)

    return go


def _set(state: State) -> Callable[[Dialogue], None]:
    def go(d: Dialogue) -> None:
        d.state = state

    return go


# How to reach a state of each step kind.
REACH: dict[str, Callable[[Dialogue], None]] = {
    "new": lambda d: None,
    "closed": _set(State(phase="closed")),
    "lost": _set(State(phase="asking", step="gone")),
    "submitting": _then(_at("review"), lambda d: Choose("review", "send")),
    "language": _then(lambda d: None, lambda d: Start()),
    "language_confirm": _then(lambda d: None, lambda d: Start(language_hint="fr")),
    "notice": _at("safety"),
    "choice": _at("category"),
    "text": _at("description"),
    "species": _at("species"),
    "country": _at("country"),
    "location": _at("location"),
    "attachments": _at("evidence"),
    "links": _at("listing_links"),
    "review": _at("review"),
    "precision": _then(_at("location"), lambda d: Text("-1.5, 36.8")),
    "country_pick": _then(_at("country"), lambda d: Text("congo")),
    "edit": _then(_at("review"), lambda d: Choose("review", "edit")),
    "cancel": _then(_at("description"), lambda d: Cancel()),
    "wipe": _then(_then(_at("review"), lambda d: Choose("review", "send")), lambda d: Submitted()),
    "species_pick": _then(_species(_at("species")), lambda d: Text("shark fin")),
    "species_more": _then(
        _then(_species(_at("species")), lambda d: Text("shark fin")),
        lambda d: Choose("_species_pick", "1"),
    ),
    "voice": _then(_at("evidence"), lambda d: Attachment("note-1", "voice", 4000)),
    "receipt": _then(lambda d: None, lambda d: FollowUp()),
    "receipt_wait": _then(
        _then(lambda d: None, lambda d: FollowUp()), lambda d: Text("1234 5678 9012 3456")
    ),
    "followup": _then(
        _then(_then(lambda d: None, lambda d: FollowUp()), lambda d: Text("1" * 16)),
        lambda d: ReceiptChecked(ok=True, questions=("Which port?",)),
    ),
    "followup_wait": _then(
        _then(
            _then(_then(lambda d: None, lambda d: FollowUp()), lambda d: Text("1" * 16)),
            lambda d: ReceiptChecked(ok=True),
        ),
        lambda d: Text("The port of Mombasa"),
    ),
}


def _events(d: Dialogue) -> list[Event]:
    """Representatives of every event type, some fitting the current question."""
    ask = d.ask
    fitting: list[Event] = []
    if ask is not None:
        fitting += [Choose(ask.step, o.id) for o in ask.options[:2]]
        fitting.append(Choose(ask.step, SKIP_OPTION))
    return [
        Start(),
        Start(language_hint="ru", language="ru"),
        Text("Kenya"),
        Text(""),
        Text("-1.5, 36.8"),
        Choose("stale", "x"),
        *fitting,
        Location(-1.5, 36.8),
        Attachment("r1", "photo", 10, "c"),
        AttachmentFailed("r1"),
        AttachmentFailed("r1", "unsupported"),
        AttachmentScrubbed("r1", "jpeg", 9, "ab" * 32, ("location", "camera", "bogus")),
        AttachmentScrubbed("r1", "mp4", 9, "ab" * 32, ("location",), 12.04, 40.0),
        Cancel(),
        Back(),
        Skip(),
        Help(),
        ChangeLanguage(),
        ShowSafety(),
        Submitted(),
        Submitted(receipt="4821093755621048"),
        SubmitFailed(),
        FollowUp(language_hint="sw"),
        ReceiptChecked(ok=True, questions=("Which port?", "")),
        ReceiptChecked(ok=False),
        ReceiptChecked(ok=False, throttled=True),
        FollowupSent(),
        FollowupFailed(),
    ]


def check_valid(d: Dialogue, before: State, event: Event, actions: list[Action]) -> None:
    """What must hold after any event."""
    s = d.state
    q = d.questionnaire
    assert step_kind(q, s) != "lost", (before, event, s)
    assert state_from_json(json.loads(json.dumps(state_to_json(s)))) == s
    for action in actions:
        if isinstance(action, Ask):
            assert action.step == s.step
            assert action.lang == s.language
            ids = [o.id for o in action.options]
            assert len(ids) == len(set(ids))
            assert all(len(f"{action.step}:{i}".encode()) <= 64 for i in ids)
        if isinstance(action, Say):
            assert action.lang == s.language
    if s.phase == "closed":
        assert s.answers == () and any(isinstance(a, End) for a in actions)
    known = {question.id for question in q.questions}
    assert {qid for qid, _ in s.answers} <= known
    # Only the questions whose condition holds keep an answer, and only they are listed.
    shown = q.applicable(dict(s.answers))
    assert {qid for qid, _ in s.answers} <= shown, (before, event, s)
    assert {qid for qid, _ in s.log} <= shown
    for action in actions:
        if isinstance(action, ShowSummary):
            assert {item.step for item in action.items} <= shown
    for _qid, value in s.answers:
        if isinstance(value, LocationAnswer) and value.latitude is not None:
            places = PRECISIONS[value.precision]
            assert places is not None and round(value.latitude, places) == value.latitude
        if isinstance(value, AttachmentsAnswer):
            assert len(value.files) <= 10
    if s.phase == "asking" and s.step == q.review.id:
        build_transcript(
            q, s, case_id="c" * 10, received_on=__import__("datetime").date.today(), channel="test"
        )
    if any(isinstance(a, Discard) for a in actions):
        assert s.phase in ("closed", "asking", "ended")
    if s.phase == "ended":
        assert s.answers == () and s.log == () and s.step == "_wipe"


def test_every_pair_is_in_the_table() -> None:
    missing = [
        (kind, event_type.__name__)
        for kind in STEP_KINDS
        for event_type in EVENT_TYPES
        if (kind, event_type) not in TABLE
    ]
    assert missing == []
    assert set(REACH) == set(STEP_KINDS)


@pytest.mark.parametrize("kind", STEP_KINDS)
def test_every_event_at_every_kind_of_step(kind: str) -> None:
    probe = Dialogue()
    REACH[kind](probe)
    assert probe.kind == kind
    _every_event(REACH[kind])


@pytest.mark.parametrize("question", [q.id for q in QUESTIONNAIRE.questions])
def test_every_event_at_every_question(question: str) -> None:
    reach = _then(lambda d: None, lambda d: Start()) if question == "language" else _at(question)
    _every_event(reach)


def _every_event(reach: Callable[[Dialogue], None]) -> None:
    probe = Dialogue()
    reach(probe)
    for index in range(len(_events(probe))):
        d = Dialogue()
        reach(d)
        event = _events(d)[index]
        before = d.state
        actions = d.send(event)
        check_valid(d, before, event, actions)


_TEXTS = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "Kenya",
            "congo",
            "-1.29, 36.82",
            "x" * 5000,
            "\x00\u202e",
            "肯尼亚",
            "see www.ivory.shop",
        ]
    ),
)
_FLOATS = st.floats(allow_nan=True, allow_infinity=True)
_OPTIONS = st.sampled_from(
    ["send", "edit", "yes", "no", "_skip", "_back", "KE", "exact", "done", "keep", "other"]
)
_COMMANDS = st.sampled_from(
    [
        Cancel(),
        Back(),
        Skip(),
        Help(),
        ChangeLanguage(),
        ShowSafety(),
        Submitted(),
        SubmitFailed(),
        FollowUp(),
        ReceiptChecked(ok=True, questions=("q",)),
        ReceiptChecked(ok=False),
        ReceiptChecked(ok=False, throttled=True),
        FollowupSent(),
        FollowupFailed(),
    ]
)
_ANY_EVENT = st.one_of(
    st.builds(
        Start,
        st.sampled_from([None, "fr", "zh-TW", "??"]),
        st.sampled_from([None, "en", "sw", "xx"]),
    ),
    st.builds(Text, _TEXTS),
    st.builds(Choose, st.sampled_from(["review", "_edit", "category", "?"]), _OPTIONS),
    st.builds(Location, _FLOATS, _FLOATS),
    st.builds(
        Attachment,
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(["photo"]),
        st.one_of(st.none(), st.integers(-5, 10**9)),
        st.one_of(st.none(), _TEXTS),
    ),
    st.builds(AttachmentFailed, st.sampled_from(["a", "b", "zz"])),
    st.builds(
        AttachmentScrubbed,
        st.sampled_from(["a", "b", "zz"]),
        st.sampled_from(["mp4", "ogg", "jpeg", ""]),
        st.integers(-5, 10**9),
        st.text(max_size=70),
        st.lists(st.sampled_from(["location", "camera", "bogus"]), max_size=3).map(tuple),
        st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
        st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    ),
    st.sampled_from(
        [
            Cancel(),
            Back(),
            Skip(),
            Help(),
            ChangeLanguage(),
            ShowSafety(),
            Submitted(),
            SubmitFailed(),
        ]
    ),
)


def _event(data: st.DataObject, d: Dialogue) -> Event:
    """Half the time an option of the current question, so conversations get somewhere."""
    ask = d.ask
    roll = data.draw(st.integers(0, 9))
    if ask is not None and roll < 5:
        if ask.options and (ask.expects == "choice" or roll < 2):
            return Choose(ask.step, data.draw(st.sampled_from([o.id for o in ask.options])))
        if ask.expects == "location":
            return Location(data.draw(st.floats(-90, 90)), data.draw(st.floats(-180, 180)))
        if ask.expects == "attachments":
            return Attachment(data.draw(st.sampled_from("abcdefghijkl")), "photo", 100)
        texts = ["Kenya", "congo", "Ivory tusks in sacks", "Sold on https://shop.example.com/x"]
        return Text(data.draw(st.sampled_from(texts)))
    if roll == 5:
        return Choose(d.step, data.draw(_OPTIONS))
    drawn: Event = data.draw(_COMMANDS if roll == 6 else _ANY_EVENT)
    return drawn


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_sequence_of_events_keeps_a_valid_state(data: st.DataObject) -> None:
    d = Dialogue(data.draw(st.sampled_from([QUESTIONNAIRE, WITH_SPECIES])))
    start = data.draw(st.sampled_from([None, *(q.id for q in QUESTIONNAIRE.questions)]))
    if start is not None:
        d.walk_to(start)
    for _ in range(data.draw(st.integers(1, 40))):
        event = _event(data, d)
        before = d.state
        actions = d.send(event)
        check_valid(d, before, event, actions)
