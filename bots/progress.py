"""What a step does to a conversation's life, for metrics: started, finished (and how),
cancelled at which step. Pure: states in, (name, label) pairs out.

Every label comes from a closed set: the channels that exist, two kinds, the outcomes
below, and the step ids of the questionnaire plus the engine's own sub-steps; anything
else is ``other``. A step id is the questionnaire's, never what a tipster typed or a
button sent: the state the engine made is read, not the input.
"""

from __future__ import annotations

from collections.abc import Iterable

from conversations import Event, Questionnaire, State, Text
from conversations.state import (
    CANCEL_STEP,
    FOLLOWUP_STEP,
    FOLLOWUP_WAIT_STEP,
    RECEIPT_STEP,
    RECEIPT_WAIT_STEP,
    SUB_STEPS,
)

__all__ = [
    "CHANNELS",
    "FINISH_OUTCOMES",
    "KINDS",
    "OTHER",
    "active",
    "label",
    "lifecycle",
    "step_labels",
]

OTHER = "other"
CHANNELS = ("telegram", "console", "hotline")
#: A report, or a tipster's return with a receipt code (P6).
KINDS = ("report", "followup")
#: submitted: the report was sealed and queued; cancelled: the tipster gave it up;
#: answered: a follow-up answer was sent; refused: too many wrong receipt codes;
#: restarted: a new conversation took its place (a receipt code during a report, a
#: draft the edited questionnaire no longer fits).
FINISH_OUTCOMES = ("submitted", "cancelled", "answered", "refused", "restarted")
_FOLLOWUP_STEPS = (RECEIPT_STEP, RECEIPT_WAIT_STEP, FOLLOWUP_STEP, FOLLOWUP_WAIT_STEP)


def step_labels(questionnaire: Questionnaire) -> tuple[str, ...]:
    """Every step label there can be: the question ids, the engine's sub-steps, other."""
    ids = [question.id for question in questionnaire.questions]
    return (*dict.fromkeys([*ids, *SUB_STEPS]), OTHER)


def label(value: str, allowed: Iterable[str]) -> str:
    """``value`` if it is in ``allowed``, else ``other``."""
    return value if value in allowed else OTHER


def active(state: State) -> bool:
    """A conversation in progress: its draft counts as left at its step if it expires."""
    return state.phase in ("asking", "submitting")


def _kind(state: State) -> str:
    return "followup" if state.step in _FOLLOWUP_STEPS else "report"


def lifecycle(
    before: State,
    after: State,
    event: Event,
    *,
    replaced: bool,
    counted: bool,
    steps: Iterable[str],
) -> list[tuple[str, str]]:
    """The counts one step makes: ``before`` the state the step began in, ``event`` what
    the tipster did, ``after`` the state it ends in; ``replaced``: the step discarded
    the conversation in progress and began another; ``counted``: the conversation in
    progress was counted when it started (else its end is not counted either). Returns
    (name, label) pairs: ``started`` (kind), ``finished`` (outcome), ``cancelled`` (the
    step given up at)."""
    allowed = tuple(steps)
    was, now = active(before) and counted, active(after)
    if now and (replaced or not active(before)):
        ended = [("finished", "restarted")] if was else []
        return [*ended, ("started", _kind(after))]
    if not was or now:
        return []
    if after.phase == "submitted":
        return [("finished", "submitted")]
    typed = isinstance(event, Text)
    if typed and before.step in (FOLLOWUP_STEP, FOLLOWUP_WAIT_STEP):
        return [("finished", "answered")]
    if typed and before.step in (RECEIPT_STEP, RECEIPT_WAIT_STEP):
        return [("finished", "refused")]
    given_up = before.cancel_from if before.step == CANCEL_STEP else before.step
    return [("finished", "cancelled"), ("cancelled", label(given_up or OTHER, allowed))]
