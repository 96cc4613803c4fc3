"""The transcript: the document a reviewer receives, sealed, for each tip.

Schema (``schema_version`` 1), documented for reviewers in docs/transcript.md::

    {
      "schema_version": 1,
      "case_id": "k7f3...",               # random, assigned when the draft began
      "received_on": "2026-11-23",        # the day only, never the time (P4)
      "channel": "telegram" | "console" | ...,
      "language": "sw",
      "questionnaire_version": 1,
      "answers": {"<question id>": <answer>, ...},       # the final answer to each question
      "transcript": [{"question": "<id>", "prompt": "<English prompt>", "answer": <answer>}],
      "attachments": [{"index": 0, "kind": "mp4", "size": 123, "sha256": "...",
                       "removed": ["location"], "caption": null,
                       "partial": {"kept_seconds": 12.04, "declared_seconds": 40.0}}]
    }

An ``<answer>`` is an object with a ``type``: ``skipped``; ``choice`` (``option``); ``text``
(``text``); ``country`` (``code``, ISO 3166-1 alpha-2, and ``typed``, the tipster's words);
``location`` (``precision`` and, unless it is ``country``, rounded ``latitude`` and
``longitude``); ``attachments`` (``files``: as in ``attachments``). An attachment has
``partial`` only when it is a video or audio file cut short, of which only the readable
part was kept (``declared_seconds`` is ``null`` when the file declared no length); the
field was added within version 1, since readers ignore fields they do not know. A
``links`` answer has ``typed`` and ``links`` (each: ``typed``, ``scheme``, ``host``,
``port``, ``path``, ``query``, ``fragment``, ``onion``). Only the answers to questions
that apply are kept: a question whose condition (``when``) does not hold is left out of
``answers`` and ``transcript``.
No platform identifier of any kind appears (P1): not the user, chat or message ids, nor
the adapter's file handles.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .answers import (
    AnswerValue,
    AttachmentInfo,
    AttachmentsAnswer,
    SpeciesAnswer,
    answer_to_json,
    partial_json,
)
from .questionnaire import Questionnaire
from .state import State

__all__ = ["SCHEMA_VERSION", "build_transcript"]

SCHEMA_VERSION = 1


def _file(index: int, info: AttachmentInfo) -> dict[str, Any]:
    out = {
        "index": index,
        "kind": info.kind,
        "size": info.size,
        "sha256": info.sha256,
        "removed": list(info.removed),
        "caption": info.caption,
    }
    partial = partial_json(info)
    if partial is not None:
        out["partial"] = partial
    if info.voice is not None or info.disguised:
        # Whose voice the tipster said it is, and whether it was disguised: a disguised
        # voice's pitch is not the speaker's, and must not be taken as a clue.
        out["voice"] = {"said": info.voice or "unsure", "disguised": info.disguised}
    return out


def _public(value: AnswerValue, q: Questionnaire | None = None) -> dict[str, Any]:
    """An answer as reviewers see it: attachment handles are the channel's, so they go;
    a chosen species carries its scientific name and CITES appendix."""
    data = answer_to_json(value)
    if isinstance(value, SpeciesAnswer) and q is not None and q.species is not None:
        for item in data["items"]:
            taxon = q.species.get(item["taxon"]) if item["taxon"] else None
            if taxon is not None:
                item["scientific"] = taxon.scientific
                item["rank"] = taxon.rank
                item["cites"] = taxon.cites
    if isinstance(value, AttachmentsAnswer):
        data["files"] = [_file(i, f) for i, f in enumerate(value.files)]
    return data


def build_transcript(
    q: Questionnaire,
    state: State,
    *,
    case_id: str,
    received_on: date,
    channel: str,
    taken_by: str | None = None,
) -> dict[str, Any]:
    """The transcript of a conversation ready to be sealed (the review step was reached).
    ``taken_by``: the hotline operator who took the call, only where the organisation
    chose to record it."""
    shown = q.applicable(dict(state.answers))
    answers = {qid: _public(value, q) for qid, value in state.answers if qid in shown}
    prompts = {question.id: question.prompt for question in q.questions}
    transcript = [
        {"question": qid, "prompt": prompts.get(qid, ""), "answer": _public(value, q)}
        for qid, value in state.log
        if qid in shown
    ]
    evidence = q.first_of_type("attachments")
    files = state.answer(evidence.id) if evidence else None
    attachments = (
        [_file(i, f) for i, f in enumerate(files.files)]
        if isinstance(files, AttachmentsAnswer)
        else []
    )
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "case_id": case_id,
        "received_on": received_on.isoformat(),
        "channel": channel,
        "language": state.language,
        "questionnaire_version": q.version,
        "answers": answers,
        "transcript": transcript,
        "attachments": attachments,
    }
    if taken_by:
        document["taken_by"] = taken_by
    return document
