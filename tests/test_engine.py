"""The conversation engine: whole dialogues, every rule of the table, edge cases."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from conversations import (
    BACK_OPTION,
    SKIP_OPTION,
    Action,
    Ask,
    Attachment,
    AttachmentFailed,
    AttachmentScrubbed,
    Back,
    Cancel,
    ChangeLanguage,
    CheckReceipt,
    Choose,
    CountryName,
    Discard,
    End,
    FetchAttachment,
    FollowUp,
    FollowupFailed,
    FollowupSent,
    Help,
    LanguageName,
    Location,
    ReceiptChecked,
    Say,
    SendFollowup,
    ShowSafety,
    ShowSummary,
    Skip,
    Start,
    State,
    Submit,
    SubmitFailed,
    Submitted,
    Text,
    Wipe,
    build_transcript,
    state_from_json,
    state_to_json,
)
from conversations import messages as m
from conversations.answers import (
    AttachmentsAnswer,
    ChoiceAnswer,
    CountryAnswer,
    LocationAnswer,
    Skipped,
    TextAnswer,
)
from conversations.engine import clock
from conversations.events import EVENT_TYPES
from conversations.messages import Msg, MsgList
from conversations.state import CANCEL_STEP, COUNTRY_PICK_STEP, PRECISION_STEP, WIPE_STEP

from .dialogue import Dialogue


def test_a_whole_report_from_start_to_wipe() -> None:
    d = Dialogue()
    actions = d.send(Start())
    assert isinstance(actions[0], Say) and actions[0].msg.id == m.WELCOME
    assert d.step == "language"
    assert [o.label for o in d.ask.options] == [LanguageName(c) for c in d.questionnaire.languages]  # type: ignore[union-attr]
    d.walk_to("review")
    summary = [a for a in d.actions if isinstance(a, ShowSummary)]
    assert len(summary) == 1
    assert [i.step for i in summary[0].items] == [
        "category",
        "description",
        "species",
        "country",
        "place",
        "location",
        "when",
        "when_details",
        "evidence",
        "followup",
    ]
    assert d.option_ids() == ["send", "edit", "cancel"]
    assert d.choose("send") == [Submit()]
    assert d.state.phase == "submitting"
    actions = d.send(Submitted())
    assert d.said() == [m.SUBMITTED, m.SAFETY_AFTER]
    assert d.step == "_wipe" and d.state.answers == () and d.state.log == ()
    assert d.choose("yes") == [Wipe(), End()]
    assert d.kind == "closed"


def test_answers_are_recorded_as_values() -> None:
    d = Dialogue()
    d.walk_to("review")
    s = d.state
    assert s.answer("category") == ChoiceAnswer("trafficking")
    assert s.answer("description") == TextAnswer("Two trucks with pangolin scales at the border")
    assert s.answer("country") == CountryAnswer("KE", "Kenya")
    assert s.answer("location") == LocationAnswer("10km", -4.0, 39.7)
    assert s.answer("evidence") == AttachmentsAnswer(())
    assert [q for q, _ in s.log] == [
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
        "evidence",
        "followup",
    ]


# ----------------------------------------------------------------------------- language
def test_a_supported_hint_is_confirmed_in_that_language() -> None:
    d = Dialogue()
    d.send(Start(language_hint="sw-KE"))
    assert d.step == "_language_confirm" and d.state.language == "sw"
    assert d.ask is not None and d.ask.lang == "sw"
    assert d.ask.options[0].label == LanguageName("sw")
    d.choose("keep")
    assert d.step == "safety" and d.state.answer("language") == ChoiceAnswer("sw")


def test_declining_the_hint_shows_every_language() -> None:
    d = Dialogue()
    d.send(Start(language_hint="fr"))
    d.choose("other")
    assert d.step == "language"
    d.choose("vi")
    assert d.state.language == "vi" and d.step == "safety"


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("zh-hans", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("zh-TW", None),
        ("pt-BR", "pt"),
        ("xx", None),
        ("", None),
        ("EN", "en"),
    ],
)
def test_language_hints(hint: str, expected: str | None) -> None:
    d = Dialogue()
    d.send(Start(language_hint=hint))
    if expected is None:
        assert d.step == "language"
    else:
        assert d.step == "_language_confirm" and d.state.language == expected


def test_a_fixed_language_skips_the_question() -> None:
    d = Dialogue()
    d.send(Start(language="th"))
    assert d.step == "safety" and d.state.language == "th"
    d.send(Back())
    assert d.said() == [m.REASON_FIRST_STEP]


def test_one_language_is_not_asked_for() -> None:
    d = Dialogue()
    d = Dialogue(replace(d.questionnaire, languages=("en",)))
    d.send(Start(language_hint="fr"))
    assert d.step == "safety"


def test_changing_language_midway_returns_to_the_question() -> None:
    d = Dialogue()
    d.walk_to("place")
    d.send(ChangeLanguage())
    assert d.step == "language"
    d.choose("ar")
    assert d.step == "place" and d.state.language == "ar"
    assert d.ask is not None and d.ask.lang == "ar"


# ----------------------------------------------------------------------------- input checks
def test_a_stale_button_is_recognised() -> None:
    d = Dialogue()
    d.walk_to("description")
    d.send(Choose("category", "poaching"))
    assert d.said() == [m.REASON_STALE] and d.step == "description"
    assert d.state.answer("category") == ChoiceAnswer("trafficking")


def test_forged_option_is_refused() -> None:
    d = Dialogue()
    d.walk_to("category")
    d.choose("<script>")
    assert d.said() == [m.REASON_CHOOSE] and d.step == "category"
    d.choose(SKIP_OPTION)  # category is required: no skip button, so no skip
    assert d.said() == [m.REASON_CHOOSE]


def test_required_questions_cannot_be_skipped() -> None:
    d = Dialogue()
    d.walk_to("category")
    d.send(Skip())
    assert d.said() == [m.REASON_REQUIRED] and d.step == "category"
    d.choose("poaching")
    d.send(Skip())
    assert d.said() == [m.REASON_REQUIRED] and d.step == "description"


def test_text_is_checked() -> None:
    d = Dialogue()
    d.walk_to("description")
    d.text("   \n\t ")
    assert d.said() == [m.REASON_EMPTY]
    d.text("ab")
    assert d.said() == [m.REASON_TOO_SHORT]
    d.text("x" * 4001)
    assert d.said() == [m.REASON_TOO_LONG]
    assert d.step == "description"
    d.text("  Tusks\x00 hidden\x1b[31m in\u200b sacks  ")
    assert d.state.answer("description") == TextAnswer("Tusks hidden[31m in sacks")


def test_text_at_a_choice_re_asks() -> None:
    d = Dialogue()
    d.walk_to("when")
    d.text("yesterday")
    assert d.said() == [m.REASON_CHOOSE] and d.step == "when"


def test_skip_records_skipped() -> None:
    d = Dialogue()
    d.walk_to("species")
    d.send(Skip())
    assert d.state.answer("species") == Skipped() and d.step == "country"
    d.choose(SKIP_OPTION)
    assert d.state.answer("country") == Skipped() and d.step == "place"


# ----------------------------------------------------------------------------- country
def test_ambiguous_country_offers_candidates() -> None:
    d = Dialogue()
    d.walk_to("country")
    d.text("congo")
    assert d.step == COUNTRY_PICK_STEP
    assert {o.label for o in d.ask.options} == {CountryName("CD"), CountryName("CG")}  # type: ignore[union-attr]
    d.choose("CD")
    assert d.state.answer("country") == CountryAnswer("CD", "congo") and d.step == "place"


def test_country_in_another_script_and_unknown() -> None:
    d = Dialogue()
    d.walk_to("country")
    d.text("不知道的地方")
    assert d.said() == [m.REASON_COUNTRY_UNKNOWN] and d.step == "country"
    d.text("肯尼亚")
    assert d.state.answer("country") == CountryAnswer("KE", "肯尼亚")


def test_typing_again_at_country_pick_matches_again() -> None:
    d = Dialogue()
    d.walk_to("country")
    d.text("congo")
    d.text("Tanzania")
    assert d.state.answer("country") == CountryAnswer("TZ", "Tanzania")


# ----------------------------------------------------------------------------- location
@pytest.mark.parametrize(
    ("precision", "expected"),
    [
        ("exact", LocationAnswer("exact", -4.04351, 39.66824)),
        ("1km", LocationAnswer("1km", -4.04, 39.67)),
        ("10km", LocationAnswer("10km", -4.0, 39.7)),
        ("country", LocationAnswer("country")),
    ],
)
def test_a_pin_is_rounded_before_it_is_stored(precision: str, expected: LocationAnswer) -> None:
    d = Dialogue()
    d.walk_to("location")
    d.send(Location(-4.0435123, 39.6682377))
    assert d.step == PRECISION_STEP
    d.choose(precision)
    assert d.state.answer("location") == expected
    assert d.state.pending == ()
    assert "4.0435123" not in json.dumps(state_to_json(d.state))


@pytest.mark.parametrize(
    "bad",
    [
        Location(float("nan"), 1.0),
        Location(91.0, 0.0),
        Location(0.0, 180.5),
        Text("somewhere"),
        Text("1, 2, 3"),
    ],
)
def test_bad_coordinates_re_ask(bad: Location | Text) -> None:
    d = Dialogue()
    d.walk_to("location")
    d.send(bad)
    assert d.said() == [m.REASON_BAD_COORDINATES] and d.step == "location"


def test_a_pin_elsewhere_is_not_taken() -> None:
    d = Dialogue()
    d.walk_to("place")
    d.send(Location(1.0, 2.0))
    assert d.said() == [m.REASON_NOT_HERE] and d.step == "place"


def test_skipping_the_precision_keeps_no_pin() -> None:
    d = Dialogue()
    d.walk_to("location")
    d.text("-1.5, 36.8")
    d.send(Skip())
    assert d.state.answer("location") == Skipped() and d.state.pending == ()


# ----------------------------------------------------------------------------- attachments
def test_attachments_are_counted_fetched_and_capped() -> None:
    d = Dialogue()
    d.walk_to("evidence")
    actions = d.send(Attachment("f1", "photo", 1000, "at the port"))
    assert actions[0] == FetchAttachment("f1")
    assert d.send(Attachment("f1", "photo", 1000)) == []  # delivered twice: kept once
    for i in range(2, 11):
        d.send(Attachment(f"f{i}", "document", 10))
    d.send(Attachment("f11", "photo", 10))
    assert d.said() == [m.REASON_TOO_MANY_FILES]
    answer = d.state.answer("evidence")
    assert isinstance(answer, AttachmentsAnswer) and len(answer.files) == 10
    assert answer.files[0].caption == "at the port"
    d.send(AttachmentFailed("f3"))
    assert d.said() == [m.REASON_ATTACHMENT_FAILED]
    d.choose("done")
    answer = d.state.answer("evidence")
    assert isinstance(answer, AttachmentsAnswer) and len(answer.files) == 9
    assert d.step == "followup"


def test_a_file_sent_early_is_kept_as_evidence() -> None:
    d = Dialogue()
    d.walk_to("description")
    actions = d.send(Attachment("early", "video", 5))
    assert d.step == "_voice"  # whose voice is in the video? Then back to the question
    actions = d.choose("other")
    assert FetchAttachment("early", keep_voice=True) in actions and d.step == "description"
    d.walk_to("review")
    answer = d.state.answer("evidence")
    assert isinstance(answer, AttachmentsAnswer) and [f.ref for f in answer.files] == ["early"]


def test_text_at_the_evidence_step_asks_for_a_file() -> None:
    d = Dialogue()
    d.walk_to("evidence")
    d.text("I have photos")
    assert d.said() == [m.REASON_SEND_FILE]


# ----------------------------------------------------------------------------- back, edit
def test_back_walks_the_path_taken() -> None:
    d = Dialogue()
    d.walk_to("place")
    d.send(Back())
    assert d.step == "country"
    d.choose(BACK_OPTION)
    assert d.step == "species"
    d.text("ivory")
    assert d.step == "country"


def test_back_from_a_sub_step_returns_to_its_question() -> None:
    d = Dialogue()
    d.walk_to("location")
    d.text("-1.5, 36.8")
    d.send(Back())
    assert d.step == "location" and d.state.pending == ()


def test_edit_jumps_back_to_the_summary() -> None:
    d = Dialogue()
    d.walk_to("review")
    d.choose("edit")
    assert "language" not in d.option_ids() and "safety" not in d.option_ids()
    d.choose("when")
    assert d.step == "when"
    d.choose("ongoing")
    assert d.step == "review"
    assert any(isinstance(a, ShowSummary) for a in d.actions)
    assert d.state.answer("when") == ChoiceAnswer("ongoing")
    assert [q for q, _ in d.state.log].count("when") == 2  # the transcript keeps both


def test_back_while_editing_returns_to_the_summary() -> None:
    d = Dialogue()
    d.walk_to("review")
    d.choose("edit")
    d.choose("description")
    d.send(Back())
    assert d.step == "review"
    d.choose("edit")
    d.choose("summary")
    assert d.step == "review"


# ----------------------------------------------------------------------------- cancel
def test_cancel_asks_first_then_deletes() -> None:
    d = Dialogue()
    d.walk_to("place")
    d.send(Cancel())
    assert d.step == CANCEL_STEP
    d.choose("no")
    assert d.step == "place" and d.state.answer("country") == CountryAnswer("KE", "Kenya")
    d.send(Cancel())
    actions = d.choose("yes")
    assert actions[:2] == [Say(Msg(m.CANCELLED), "en"), Discard()]
    assert d.state.answers == () and d.state.log == () and d.state.history == ()


def test_a_cancelled_report_is_followed_by_the_wipe_offer() -> None:
    """P5: the chat still shows the answers of a cancelled report; offer to wipe it."""
    for wanted, then in (("yes", [Wipe(), End()]), ("no", [Say(Msg(m.GOODBYE), "fr"), End()])):
        d = Dialogue()
        d.walk_to("language")
        d.choose("fr")
        d.walk_to("place")
        d.send(Cancel())
        actions = d.choose("yes")
        assert d.said() == [m.CANCELLED] and Discard() in actions
        assert d.kind == "wipe" and d.step == WIPE_STEP and d.state.language == "fr"
        assert d.ask is not None and d.ask.prompt == Msg(m.WIPE_OFFER)
        assert d.option_ids() == ["yes", "no"] and d.ask.lang == "fr"
        assert End() not in actions and Wipe() not in actions
        assert state_from_json(json.loads(json.dumps(state_to_json(d.state)))) == d.state
        assert d.choose(wanted) == then
        assert d.kind == "closed"


def test_a_new_report_from_the_wipe_offer_starts_a_fresh_draft() -> None:
    """After a cancel or a submission, /start at the wipe offer begins a new report in a
    fresh draft (Discard: a new case id), never in the one just sent."""
    for finish in (lambda d: (d.send(Cancel()), d.choose("yes")), lambda d: d.choose("send")):
        d = Dialogue()
        d.walk_to("review")
        finish(d)
        if d.state.phase == "submitting":
            d.send(Submitted())
        assert d.kind == "wipe"
        actions = d.send(Start())
        assert actions[0] == Discard() and d.said()[0] == m.WELCOME
        assert d.state.phase == "asking" and d.state.answers == ()


def test_cancel_twice_confirms() -> None:
    d = Dialogue()
    d.walk_to("description")
    d.send(Cancel())
    assert Discard() in d.send(Cancel())


def test_cancel_from_a_sub_step_keeps_its_data() -> None:
    d = Dialogue()
    d.walk_to("location")
    d.text("-1.5, 36.8")
    d.send(Cancel())
    d.send(Back())
    assert d.step == PRECISION_STEP and d.state.pending == ("location", "-1.5", "36.8")
    d.choose("1km")
    assert d.state.answer("location") == LocationAnswer("1km", -1.5, 36.8)


def test_safety_notice_cancel_button() -> None:
    d = Dialogue()
    d.walk_to("safety")
    d.choose("cancel")
    assert d.step == CANCEL_STEP


# ----------------------------------------------------------------------------- submitting
def test_submit_failure_returns_to_the_summary() -> None:
    d = Dialogue()
    d.walk_to("review")
    d.choose("send")
    d.text("hello?")
    assert d.said() == [m.REASON_PLEASE_WAIT] and d.state.phase == "submitting"
    d.send(SubmitFailed())
    assert d.said() == [m.REASON_SUBMIT_FAILED] and d.step == "review"
    assert d.state.answer("category") == ChoiceAnswer("trafficking")


def test_a_double_tap_on_send_submits_once() -> None:
    d = Dialogue()
    d.walk_to("review")
    step = d.step
    assert d.send(Choose(step, "send")) == [Submit()]
    d.send(Submitted())
    again = d.send(Choose(step, "send"))
    assert Submit() not in again and d.said() == [m.REASON_STALE]


def test_help_and_safety_re_ask() -> None:
    d = Dialogue()
    d.walk_to("description")
    d.send(Help())
    description = d.questionnaire.get("description")
    assert description is not None and d.said() == [description.help]
    d.send(ShowSafety())
    safety = d.questionnaire.get("safety")
    assert safety is not None and d.said() == [safety.prompt]
    assert d.step == "description"


def test_start_again_mid_report_keeps_it() -> None:
    d = Dialogue()
    d.walk_to("place")
    d.send(Start())
    assert d.said() == [m.WELCOME_BACK] and d.step == "place"


def test_a_draft_that_no_longer_fits_starts_again() -> None:
    d = Dialogue()
    d.state = State(phase="asking", step="removed_question", language="fr")
    actions = d.send(Text("hello"))
    assert actions[0] == Discard() and m.REASON_NEW_DRAFT in d.said()
    assert d.step == "safety" and d.state.language == "fr"


# ----------------------------------------------------------------------------- transcript
def test_transcript_has_the_day_and_no_handles() -> None:
    d = Dialogue()
    d.walk_to("evidence")
    d.send(Attachment("telegram-file-id-AgACAgQAAxkBAAIB", "photo", 2048, None))
    d.walk_to("review")
    doc = build_transcript(
        d.questionnaire,
        d.state,
        case_id="abcdefgh",
        received_on=date(2026, 3, 4),
        channel="console",
    )
    text = json.dumps(doc)
    assert doc["schema_version"] == 1 and doc["received_on"] == "2026-03-04"
    assert "telegram-file-id" not in text and "ref" not in text
    assert doc["attachments"] == [
        {"index": 0, "kind": "photo", "size": 2048, "sha256": None, "removed": [], "caption": None}
    ]
    assert [e["question"] for e in doc["transcript"]][:3] == ["language", "safety", "category"]
    assert doc["answers"]["country"] == {"type": "country", "code": "KE", "typed": "Kenya"}


def test_state_survives_json() -> None:
    d = Dialogue()
    d.walk_to("location")
    d.text("-1.5, 36.8")
    d.send(Attachment("a", "photo", 1, "cap"))
    data = json.loads(json.dumps(state_to_json(d.state)))
    assert state_from_json(data) == d.state


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {"format": 2},
        {"format": 1, "phase": "weird"},
        {
            "format": 1,
            "phase": "asking",
            "step": 3,
            "language": "en",
            "answers": [],
            "log": [],
            "history": [],
            "resume": None,
            "cancel_from": None,
            "pending": [],
        },
        {
            "format": 1,
            "phase": "asking",
            "step": "x",
            "language": "en",
            "answers": [["q", {"type": "nope"}]],
            "log": [],
            "history": [],
            "resume": None,
            "cancel_from": None,
            "pending": [],
        },
    ],
)
def test_malformed_drafts_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every malformation is a ValueError
        state_from_json(bad)


def test_every_ask_names_the_current_step() -> None:
    d = Dialogue()
    d.send(Start())
    while d.step != "review":
        assert d.ask is not None and d.ask.step == d.step
        d.walk_to({"language": "safety"}.get(d.step, "review"))
    assert isinstance(d.ask, Ask) and d.ask.step == "review"


def test_event_types_are_all_known() -> None:
    assert len(EVENT_TYPES) == 19


def test_a_scrubbed_file_is_recorded_and_the_tipster_told_what_was_removed() -> None:
    d = Dialogue()
    d.walk_to("evidence")
    d.send(Attachment("f1", "document", 5000))
    actions = d.send(
        AttachmentScrubbed("f1", "jpeg", 4100, "ab" * 32, ("location", "camera", "xmp", "iptc"))
    )
    [said] = [a for a in actions if isinstance(a, Say)]
    assert said.msg.id == m.FILE_CLEANED
    assert dict(said.msg.values)["details"] == MsgList(
        (m.REMOVED_LABELS["location"], m.REMOVED_LABELS["camera"], m.REMOVED_LABELS["xmp"])
    )
    answer = d.state.answer("evidence")
    assert isinstance(answer, AttachmentsAnswer)
    [info] = answer.files
    assert (info.kind, info.size, info.sha256, info.scrubbed) == ("jpeg", 4100, "ab" * 32, True)
    assert info.removed == ("location", "camera", "xmp", "iptc")
    d.send(Attachment("f2", "document", 10))
    d.send(AttachmentScrubbed("f2", "pdf", 10, "cd" * 32, ()))
    assert d.said() == [m.FILE_NOTHING_HIDDEN]


def _values(d: Dialogue, msgid: str) -> dict[str, object]:
    [msg] = [a.msg for a in d.actions if isinstance(a, Say) and a.msg.id == msgid]
    return dict(msg.values)


def _transcript(d: Dialogue) -> dict[str, object]:
    return build_transcript(
        d.questionnaire, d.state, case_id="abcdefgh", received_on=date(2026, 3, 4),
        channel="console",
    )  # fmt: skip


def test_a_partial_video_is_marked_and_the_tipster_told_at_once() -> None:
    d = Dialogue()
    d.walk_to("evidence")
    d.send(Attachment("f1", "video", 900_000))
    actions = d.send(
        AttachmentScrubbed("f1", "mp4", 400_000, "ab" * 32, ("location",), 12.04, 40.0)
    )
    said = [a for a in actions if isinstance(a, Say)]
    assert [s.msg.id for s in said] == [m.FILE_PARTIAL_VIDEO, m.FILE_CLEANED]
    assert dict(said[0].msg.values) == {"kept": "0:12", "total": "0:40"}
    answer = d.state.answer("evidence")
    assert isinstance(answer, AttachmentsAnswer)
    [info] = answer.files
    assert info.partial and (info.kept_seconds, info.declared_seconds) == (12.04, 40.0)
    assert state_from_json(json.loads(json.dumps(state_to_json(d.state)))) == d.state

    d.send(Attachment("f2", "photo", 5000))
    d.send(AttachmentScrubbed("f2", "jpeg", 4000, "cd" * 32, ()))
    d.walk_to("review")
    doc = _transcript(d)
    partial = {"kept_seconds": 12.04, "declared_seconds": 40.0}
    attachments = doc["attachments"]
    assert isinstance(attachments, list)
    assert attachments[0]["partial"] == partial
    assert "partial" not in attachments[1]  # a whole file has no such field
    answers = doc["answers"]
    assert isinstance(answers, dict)
    assert answers["evidence"]["files"][0]["partial"] == partial


def test_a_partial_voice_note_without_a_declared_length() -> None:
    d = Dialogue()
    d.walk_to("evidence")
    d.send(Attachment("v1", "voice", 9000))
    d.send(AttachmentScrubbed("v1", "ogg", 4000, "ab" * 32, (), 75.5))
    assert d.said() == [m.FILE_PARTIAL_AUDIO_UNKNOWN, m.FILE_NOTHING_HIDDEN]
    assert _values(d, m.FILE_PARTIAL_AUDIO_UNKNOWN) == {"kept": "1:15"}
    d.walk_to("review")
    attachments = _transcript(d)["attachments"]
    assert isinstance(attachments, list)
    assert attachments[0]["partial"] == {"kept_seconds": 75.5, "declared_seconds": None}


@pytest.mark.parametrize(
    ("kept", "declared", "said"),
    [
        (float("nan"), 40.0, None),
        (-1.0, 40.0, None),
        (0.0, None, None),
        (float("inf"), None, None),
        (12.0, 10.0, m.FILE_PARTIAL_AUDIO_UNKNOWN),  # declared less than kept: not trusted
        (12.0, float("nan"), m.FILE_PARTIAL_AUDIO_UNKNOWN),
        (0.3, 3900.2, m.FILE_PARTIAL_AUDIO),
        (0.2, 0.9, m.FILE_PARTIAL_AUDIO),
    ],
)
def test_partial_values_out_of_reason(
    kept: float, declared: float | None, said: str | None
) -> None:
    d = Dialogue()
    d.walk_to("evidence")
    d.send(Attachment("a1", "audio", 9000))
    d.send(AttachmentScrubbed("a1", "mp3", 4000, "ab" * 32, (), kept, declared))
    assert d.said() == ([said] if said else []) + [m.FILE_NOTHING_HIDDEN]
    answer = d.state.answer("evidence")
    assert isinstance(answer, AttachmentsAnswer)
    assert answer.files[0].partial is (said is not None)
    if said == m.FILE_PARTIAL_AUDIO:
        shown = {
            3900.2: {"kept": "0:01", "total": "1:05:01"},
            0.9: {"kept": "0:00", "total": "0:01"},
        }
        assert _values(d, said) == shown[declared or 0]


def test_durations_are_shown_as_players_show_them() -> None:
    assert [clock(s) for s in (0, 12.9, 59, 60, 605, 3599, 3600, 3903)] == [
        "0:00", "0:12", "0:59", "1:00", "10:05", "59:59", "1:00:00", "1:05:03",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("too_large", m.REASON_FILE_TOO_BIG),
        ("unsupported", m.REASON_FILE_REFUSED),
        ("macros", m.REASON_FILE_REFUSED),
        ("malformed", m.REASON_FILE_DAMAGED),
        ("bomb", m.REASON_FILE_DAMAGED),
        ("failed", m.REASON_ATTACHMENT_FAILED),
    ],
)
def test_a_refused_file_is_dropped_with_its_reason(reason: str, message: str) -> None:
    d = Dialogue()
    d.walk_to("evidence")
    d.send(Attachment("f1", "document", 5000))
    d.send(AttachmentFailed("f1", reason))
    assert d.said() == [message]
    assert d.state.answer("evidence") == AttachmentsAnswer(())


def test_language_change_during_a_cancel_from_the_precision_question() -> None:
    d = Dialogue()
    d.walk_to("location")
    d.text("-1.5, 36.8")
    d.send(Cancel())
    d.send(ChangeLanguage())
    d.choose("fr")
    assert d.step == "location" and d.kind == "location"


# ----------------------------------------------------------------------------- follow-up
def _followup(questions: tuple[str, ...] = ("Which port?",)) -> Dialogue:
    d = Dialogue()
    d.send(FollowUp(language_hint="sw"))
    assert d.step == "_receipt" and d.state.language == "sw"
    assert d.text("1234 5678 9012 3456") == [CheckReceipt("1234567890123456")]
    d.send(ReceiptChecked(ok=True, questions=questions))
    assert d.step == "_followup"
    return d


def _wipe_offered(d: Dialogue, actions: list[Action]) -> None:
    assert Discard() in actions and End() not in actions
    assert d.kind == "wipe" and d.state.language == "sw"
    asks = [a for a in actions if isinstance(a, Ask)]
    assert [(a.step, a.prompt, a.lang) for a in asks] == [(WIPE_STEP, Msg(m.WIPE_OFFER), "sw")]
    assert d.state.answers == () and d.state.pending == ()


def test_an_answered_follow_up_is_followed_by_the_wipe_offer() -> None:
    """P5 and P6: the chat shows the receipt code, the reviewers' questions and the answer."""
    d = _followup()
    assert d.text("The port of Mombasa") == [SendFollowup("The port of Mombasa")]
    actions = d.send(FollowupSent())
    assert d.said() == [m.FOLLOWUP_SENT]
    _wipe_offered(d, actions)
    assert d.choose("yes") == [Wipe(), End()]


def test_a_follow_up_left_without_an_answer_is_followed_by_the_wipe_offer() -> None:
    d = _followup(())
    actions = d.send(Skip())
    _wipe_offered(d, actions)
    assert d.choose("no") == [Say(Msg(m.GOODBYE), "sw"), End()]


def test_a_follow_up_stopped_early_or_throttled_offers_the_wipe() -> None:
    d = Dialogue()
    d.send(FollowUp(language_hint="sw"))
    _wipe_offered(d, d.send(Skip()))
    d = Dialogue()
    d.send(FollowUp(language_hint="sw"))
    d.text("1234 5678 9012 3456")
    _wipe_offered(d, d.send(ReceiptChecked(ok=False, throttled=True)))
    assert d.said() == [m.REASON_TOO_MANY_TRIES]
    d = _followup()
    d.send(Cancel())
    _wipe_offered(d, d.choose("yes"))


def test_a_failed_follow_up_answer_asks_again_not_for_the_wipe() -> None:
    d = _followup()
    d.text("The port of Mombasa")
    d.send(FollowupFailed())
    assert d.step == "_followup" and d.said() == [m.REASON_SUBMIT_FAILED]
