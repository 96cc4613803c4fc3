"""The conversation state: one frozen value per conversation, kept in the encrypted draft.

``phase`` says where the conversation is in its life; ``step`` is the question being asked
(a question id from the questionnaire) or one of the engine's own sub-steps, whose names
start with an underscore so they can never clash with a question id. ``submitted`` (the
report was sent) and ``ended`` (it was cancelled, or a follow-up is over) hold nothing of
the report: only the offer to wipe the chat is open.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from .answers import AnswerValue, answer_from_json, answer_to_json

__all__ = [
    "CANCEL_STEP",
    "COUNTRY_PICK_STEP",
    "DRAFT_FORMAT",
    "EDIT_STEP",
    "FOLLOWUP_STEP",
    "FOLLOWUP_WAIT_STEP",
    "LANGUAGE_CONFIRM_STEP",
    "PRECISION_STEP",
    "RECEIPT_STEP",
    "RECEIPT_WAIT_STEP",
    "SPECIES_MORE_STEP",
    "SPECIES_PICK_STEP",
    "SUBMITTING_STEP",
    "VOICE_STEP",
    "WIPE_STEP",
    "Phase",
    "State",
    "state_from_json",
    "state_to_json",
]

Phase = Literal["new", "asking", "submitting", "submitted", "ended", "closed"]
PHASES: tuple[Phase, ...] = ("new", "asking", "submitting", "submitted", "ended", "closed")

LANGUAGE_CONFIRM_STEP = "_language_confirm"
PRECISION_STEP = "_precision"
COUNTRY_PICK_STEP = "_country_pick"
EDIT_STEP = "_edit"
CANCEL_STEP = "_cancel"
SUBMITTING_STEP = "_submitting"
WIPE_STEP = "_wipe"
SPECIES_PICK_STEP = "_species_pick"
SPECIES_MORE_STEP = "_species_more"
VOICE_STEP = "_voice"
RECEIPT_STEP = "_receipt"
RECEIPT_WAIT_STEP = "_receipt_wait"
FOLLOWUP_STEP = "_followup"
FOLLOWUP_WAIT_STEP = "_followup_wait"
SUB_STEPS = (
    LANGUAGE_CONFIRM_STEP,
    PRECISION_STEP,
    COUNTRY_PICK_STEP,
    EDIT_STEP,
    CANCEL_STEP,
    SUBMITTING_STEP,
    WIPE_STEP,
    RECEIPT_STEP,
    RECEIPT_WAIT_STEP,
    FOLLOWUP_STEP,
    FOLLOWUP_WAIT_STEP,
    SPECIES_PICK_STEP,
    SPECIES_MORE_STEP,
    VOICE_STEP,
)
DRAFT_FORMAT = 1


@dataclass(frozen=True)
class State:
    """Everything the engine knows about one conversation.

    ``answers`` holds the latest answer per question; ``log`` the ordered question/answer
    transcript (an edited answer appears twice, in the order given). ``history`` is the
    path of questions taken, for "back". ``resume`` is where to go once the current
    question is answered instead of the next one (the summary, after "change an answer";
    the interrupted question, after a language change). ``cancel_from`` is the step to
    return to when the tipster decides not to cancel. ``pending`` holds a sub-step's
    data: a pin awaiting its precision, or countries to pick from.
    """

    phase: Phase = "new"
    step: str = ""
    language: str = "en"
    answers: tuple[tuple[str, AnswerValue], ...] = ()
    log: tuple[tuple[str, AnswerValue], ...] = ()
    history: tuple[str, ...] = ()
    resume: str | None = None
    cancel_from: str | None = None
    pending: tuple[str, ...] = ()

    def answer(self, question_id: str) -> AnswerValue | None:
        for qid, value in self.answers:
            if qid == question_id:
                return value
        return None

    def with_answer(self, question_id: str, value: AnswerValue, *, log: bool = True) -> State:
        answers = tuple((q, v) for q, v in self.answers if q != question_id)
        return replace(
            self,
            answers=(*answers, (question_id, value)),
            log=(*self.log, (question_id, value)) if log else self.log,
        )


def state_to_json(state: State) -> dict[str, Any]:
    return {
        "format": DRAFT_FORMAT,
        "phase": state.phase,
        "step": state.step,
        "language": state.language,
        "answers": [[q, answer_to_json(v)] for q, v in state.answers],
        "log": [[q, answer_to_json(v)] for q, v in state.log],
        "history": list(state.history),
        "resume": state.resume,
        "cancel_from": state.cancel_from,
        "pending": list(state.pending),
    }


def state_from_json(data: Any) -> State:
    """Inverse of :func:`state_to_json`; raises ``ValueError`` on anything malformed."""
    if not isinstance(data, dict) or data.get("format") != DRAFT_FORMAT:
        raise ValueError("not a draft of a known format")
    phase = data.get("phase")
    if phase not in PHASES:
        raise ValueError("unknown phase")
    try:
        return State(
            phase=phase,
            step=_str(data["step"]),
            language=_str(data["language"]),
            answers=_pairs(data["answers"]),
            log=_pairs(data["log"]),
            history=tuple(_str(s) for s in _list(data["history"])),
            resume=_opt_str(data["resume"]),
            cancel_from=_opt_str(data["cancel_from"]),
            pending=tuple(_str(s) for s in _list(data["pending"])),
        )
    except KeyError as exc:
        raise ValueError(f"draft lacks {exc}") from exc


def _pairs(data: Any) -> tuple[tuple[str, AnswerValue], ...]:
    out = []
    for item in _list(data):
        pair = _list(item)
        if len(pair) != 2:
            raise ValueError("answer entry is not a pair")
        out.append((_str(pair[0]), answer_from_json(pair[1])))
    return tuple(out)


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError("expected a list")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)
