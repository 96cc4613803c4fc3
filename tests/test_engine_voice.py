"""Whose voice? The engine asks once, before a recording is fetched, and says so after."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from conversations import (
    Ask,
    Attachment,
    AttachmentScrubbed,
    FetchAttachment,
    Location,
    Say,
    Skip,
    State,
    build_transcript,
    state_from_json,
    state_to_json,
)
from conversations import messages as m
from conversations.answers import AttachmentsAnswer
from conversations.state import VOICE_STEP

from .dialogue import Dialogue

_DAY = date(2026, 12, 5)


def _at_evidence() -> Dialogue:
    d = Dialogue()
    d.walk_to("evidence")
    return d


def _fetches(actions: Sequence[object]) -> list[FetchAttachment]:
    return [a for a in actions if isinstance(a, FetchAttachment)]


def _files(state: State) -> AttachmentsAnswer:
    answer = state.answer("evidence")
    assert isinstance(answer, AttachmentsAnswer)
    return answer


def test_a_voice_note_is_not_fetched_before_the_tipster_says_whose_voice() -> None:
    d = _at_evidence()
    actions = d.send(Attachment("v1", "voice", 9000))
    assert _fetches(actions) == []
    assert d.step == VOICE_STEP
    assert d.option_ids() == ["own", "other", "unsure"]
    assert d.ask is not None and d.ask.prompt.id == m.VOICE_PROMPT
    actions = d.choose("own")
    assert _fetches(actions) == [FetchAttachment("v1", keep_voice=False)]
    assert d.step == "evidence"  # and the question with its Done button is shown again
    assert any(isinstance(a, Ask) and a.step == "evidence" for a in actions)
    assert _files(d.state).files[0].voice == "own"


def test_someone_else_s_recording_is_kept_as_evidence() -> None:
    d = _at_evidence()
    d.send(Attachment("a1", "audio", 9000))
    assert _fetches(d.choose("other")) == [FetchAttachment("a1", keep_voice=True)]
    d.send(Attachment("v2", "video", 9000))  # a video is asked too
    assert d.step == VOICE_STEP
    assert _fetches(d.choose("unsure")) == [FetchAttachment("v2", keep_voice=False)]


def test_no_answer_means_disguise_and_the_next_input_is_not_lost() -> None:
    d = _at_evidence()
    d.send(Attachment("v1", "voice", 9000))
    # Instead of answering, a second voice note: the first is disguised ("I don't
    # know"), the second is asked about.
    actions = d.send(Attachment("v2", "voice", 9000))
    assert _fetches(actions) == [FetchAttachment("v1", keep_voice=False)]
    assert d.step == VOICE_STEP and d.state.pending == ("evidence", "v2", "evidence")
    assert [f.voice for f in _files(d.state).files] == ["unsure", None]
    d.send(Location(-4.0, 39.6))  # something else again: v2 too is taken as unsure
    assert [f.voice for f in _files(d.state).files] == ["unsure", "unsure"]
    d2 = _at_evidence()
    d2.send(Attachment("v3", "voice", 10))
    d2.send(Skip())  # the word "skip" typed
    assert _files(d2.state).files[0].voice == "unsure"


def test_a_photo_or_document_is_not_asked_about() -> None:
    d = _at_evidence()
    actions = d.send(Attachment("p1", "photo", 900))
    assert _fetches(actions) == [FetchAttachment("p1")]
    assert d.step == "evidence"


def test_the_tipster_hears_the_voice_was_changed_and_the_transcript_says_so() -> None:
    d = _at_evidence()
    d.send(Attachment("v1", "voice", 9000))
    d.choose("own")
    actions = d.send(AttachmentScrubbed("v1", "ogg", 8000, "ab" * 32, (), voice_disguised=True))
    said = [a.msg.id for a in actions if isinstance(a, Say)]
    assert m.VOICE_DISGUISED in said
    d.send(Attachment("a2", "audio", 9000))
    d.choose("other")
    d.send(AttachmentScrubbed("a2", "ogg", 8000, "cd" * 32, ("author",)))
    restored = state_from_json(state_to_json(d.state))
    assert restored == d.state
    files = build_transcript(
        d.questionnaire, d.state, case_id="c" * 24, received_on=_DAY, channel="telegram"
    )["attachments"]
    assert files[0]["voice"] == {"said": "own", "disguised": True}
    assert files[1]["voice"] == {"said": "other", "disguised": False}
