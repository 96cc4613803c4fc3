"""The conversation engine: ``handle(state, event) -> (state, actions)``.

Everything that affects the conversation's state lives in this module, and every
transition is a row of :data:`TABLE`, keyed by the kind of step the conversation is at and
the type of event that arrived. A pair missing from the table falls back to
:func:`_not_here`, which re-asks the current question with a short reason; it never
raises and never leaves the state undefined. The engine is synchronous, deterministic and
does no I/O: no clock, no randomness, no network, no storage.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final

from . import messages as m
from .actions import (
    Action,
    Ask,
    CheckReceipt,
    CountryName,
    Discard,
    End,
    Expects,
    FetchAttachment,
    LanguageName,
    Option,
    Plain,
    Say,
    SendFollowup,
    ShowSummary,
    Submit,
    SummaryItem,
    Wipe,
)
from .answers import (
    AnswerValue,
    AttachmentInfo,
    AttachmentsAnswer,
    ChoiceAnswer,
    CountryAnswer,
    LinksAnswer,
    LocationAnswer,
    Skipped,
    SpeciesAnswer,
    SpeciesItem,
    TextAnswer,
)
from .events import (
    EVENT_TYPES,
    Attachment,
    AttachmentFailed,
    AttachmentScrubbed,
    Back,
    Cancel,
    ChangeLanguage,
    Choose,
    Event,
    FollowUp,
    FollowupFailed,
    FollowupSent,
    Help,
    Location,
    ReceiptChecked,
    ShowSafety,
    Skip,
    Start,
    SubmitFailed,
    Submitted,
    Text,
)
from .links import parse_links
from .messages import Msg, MsgList
from .places import (
    apply_precision,
    confident_country,
    match_country,
    parse_coordinates,
    valid_coordinates,
)
from .questionnaire import QUESTION_TYPES, Question, Questionnaire
from .receipts import format_code, parse_code
from .state import (
    CANCEL_STEP,
    COUNTRY_PICK_STEP,
    EDIT_STEP,
    FOLLOWUP_STEP,
    FOLLOWUP_WAIT_STEP,
    LANGUAGE_CONFIRM_STEP,
    PRECISION_STEP,
    RECEIPT_STEP,
    RECEIPT_WAIT_STEP,
    SPECIES_MORE_STEP,
    SPECIES_PICK_STEP,
    SUBMITTING_STEP,
    VOICE_STEP,
    WIPE_STEP,
    State,
)

__all__ = ["BACK_OPTION", "SKIP_OPTION", "STEP_KINDS", "TABLE", "Engine", "clock", "step_kind"]

#: Reserved option ids: an adapter's "skip" and "back" buttons send these in a Choose,
#: so a stale skip button from an earlier question is recognised like any other.
SKIP_OPTION: Final = "_skip"
BACK_OPTION: Final = "_back"
#: Edit option that returns to the summary without changing anything.
SUMMARY_OPTION: Final = "summary"
MAX_CAPTION: Final = 1000

Actions = list[Action]
Result = tuple[State, Actions]
Handler = Callable[["Questionnaire", State, Any], Result]

# --------------------------------------------------------------------------- step kinds
QUESTION_KINDS: Final = QUESTION_TYPES
SUB_KINDS: Final = (
    "language_confirm",
    "precision",
    "country_pick",
    "edit",
    "cancel",
    "wipe",
    "receipt",
    "receipt_wait",
    "followup",
    "followup_wait",
    "species_pick",
    "species_more",
    "voice",
)
STEP_KINDS: Final = ("new", "closed", "lost", "submitting", *QUESTION_KINDS, *SUB_KINDS)
_SUB_KIND = {
    LANGUAGE_CONFIRM_STEP: "language_confirm",
    PRECISION_STEP: "precision",
    COUNTRY_PICK_STEP: "country_pick",
    EDIT_STEP: "edit",
    CANCEL_STEP: "cancel",
    WIPE_STEP: "wipe",
    RECEIPT_STEP: "receipt",
    RECEIPT_WAIT_STEP: "receipt_wait",
    FOLLOWUP_STEP: "followup",
    FOLLOWUP_WAIT_STEP: "followup_wait",
    SPECIES_PICK_STEP: "species_pick",
    SPECIES_MORE_STEP: "species_more",
    VOICE_STEP: "voice",
}
#: A species proposal is shown when the matcher is at least this sure of it.
SPECIES_SHOWN: Final = 0.45
SPECIES_LABEL_MAX: Final = 40
MORE: Final = "more"  # pending marker: the species question asked again to add one more
_FOLLOWUP_STEPS = (RECEIPT_STEP, RECEIPT_WAIT_STEP, FOLLOWUP_STEP, FOLLOWUP_WAIT_STEP)
MAX_QUESTIONS_SHOWN: Final = 20
MAX_QUESTION_LENGTH: Final = 2000
MAX_FOLLOWUP_LENGTH: Final = 4000


def step_kind(q: Questionnaire, state: State) -> str:
    """The row of :data:`TABLE` that a state is in."""
    if state.phase in ("new", "closed"):
        return state.phase
    if state.phase == "submitting":
        return "submitting" if state.step == SUBMITTING_STEP else "lost"
    if state.phase in ("submitted", "ended"):
        return "wipe" if state.step == WIPE_STEP else "lost"
    if state.step in _SUB_KIND and state.step != WIPE_STEP:
        return _SUB_KIND[state.step] if _sub_step_valid(q, state) else "lost"
    question = q.get(state.step)
    if question is None or state.language not in q.languages:
        return "lost"
    return question.type


def _sub_step_valid(q: Questionnaire, state: State) -> bool:
    """A sub-step's data must still fit the questionnaire (it may change under a draft)."""
    if state.step in (EDIT_STEP, *_FOLLOWUP_STEPS):
        return not state.pending
    if state.step == CANCEL_STEP:
        back = state.cancel_from
        return back is not None and (back in _SUB_KIND or q.get(back) is not None)
    if not state.pending:
        return False
    parent = q.get(state.pending[0])
    if state.step == VOICE_STEP:
        # The attachments question, a file of it waiting for the answer, and the step
        # (with its own data) to go back to.
        return (
            len(state.pending) >= 3
            and parent is not None
            and parent.type == "attachments"
            and any(f.ref == state.pending[1] for f in _listed(state, parent.id))
        )
    wanted = {
        LANGUAGE_CONFIRM_STEP: "language",
        PRECISION_STEP: "location",
        COUNTRY_PICK_STEP: "country",
        SPECIES_PICK_STEP: "species",
        SPECIES_MORE_STEP: "species",
    }[state.step]
    if parent is None or parent.type != wanted:
        return False
    if state.step == LANGUAGE_CONFIRM_STEP:
        return len(state.pending) == 2 and state.pending[1] in q.languages
    if state.step == PRECISION_STEP:
        return len(state.pending) == 3 and _pending_coordinates(state) is not None
    if state.step == SPECIES_MORE_STEP:
        return len(state.pending) == 1
    if state.step == SPECIES_PICK_STEP:
        return len(state.pending) >= 3 and all(
            _proposal(q, key) is not None for key in state.pending[2:]
        )
    return len(state.pending) >= 3


def _pending_coordinates(state: State) -> tuple[float, float] | None:
    try:
        lat, lon = float(state.pending[1]), float(state.pending[2])
    except (ValueError, IndexError):
        return None
    return (lat, lon) if valid_coordinates(lat, lon) else None


# --------------------------------------------------------------------------- helpers
def _say(state: State, msgid: str, **values: str | int | MsgList) -> Say:
    return Say(Msg.of(msgid, **values), state.language)


def _clean_text(text: str) -> str:
    """NFC, no control characters but newlines and tabs, trimmed."""
    text = unicodedata.normalize("NFC", text)
    kept = "".join(
        c
        for c in text
        if c in "\n\t"
        or not unicodedata.category(c).startswith("C")
        or unicodedata.category(c) == "Co"
    )
    return kept.strip()


def _question(q: Questionnaire, state: State) -> Question:
    question = q.get(state.step)
    assert question is not None  # guaranteed by step_kind
    return question


def _resumable(q: Questionnaire, state: State) -> str:
    """The question to come back to after an interruption (language change, cancel: no)."""
    if state.step == CANCEL_STEP and state.cancel_from is not None:
        # Cancelling from a sub-step and then changing the language comes back to the
        # sub-step's question: the sub-step's data does not survive the language question.
        return _resumable(q, replace(state, step=state.cancel_from))
    if state.step in (
        PRECISION_STEP,
        COUNTRY_PICK_STEP,
        LANGUAGE_CONFIRM_STEP,
        SPECIES_PICK_STEP,
        SPECIES_MORE_STEP,
    ):
        return state.pending[0]
    if state.step == VOICE_STEP:
        return _resumable(q, replace(state, step=state.pending[2], pending=state.pending[3:]))
    if state.step == EDIT_STEP:
        return q.review.id
    return state.step


def _applicable(q: Questionnaire, state: State) -> frozenset[str]:
    """The questions whose condition (``when``) holds on the answers so far."""
    return q.applicable(dict(state.answers))


def _next_question(q: Questionnaire, state: State, after: str) -> str:
    shown = _applicable(q, state)
    for question in q.questions[q.position(after) + 1 :]:
        if question.type == "language" and state.answer(question.id) is not None:
            continue  # the language was already settled (a fixed language, or a hint)
        if question.id not in shown:
            continue  # its condition does not hold
        return question.id
    return q.review.id


def _missing(q: Questionnaire, state: State) -> str | None:
    """The first question that applies but has no answer yet (it came to apply when an
    earlier answer was changed from the summary)."""
    shown = _applicable(q, state)
    for question in q.questions:
        if question.type in ("language", "notice", "review") or question.id not in shown:
            continue
        if state.answer(question.id) is None:
            return question.id
    return None


def _drop_inapplicable(q: Questionnaire, state: State) -> tuple[State, tuple[str, ...]]:
    """Answers to questions whose condition no longer holds leave the answers, the log
    and the path back; returned with the labels of those that said something (a skipped
    one goes quietly)."""
    shown = _applicable(q, state)
    gone = {qid for qid, _ in state.answers if q.get(qid) is not None and qid not in shown}
    if not gone:
        return state, ()
    labels = tuple(
        question.label
        for question in q.questions
        if question.id in gone and not isinstance(state.answer(question.id), Skipped)
    )
    state = replace(
        state,
        answers=tuple((k, v) for k, v in state.answers if k not in gone),
        log=tuple((k, v) for k, v in state.log if k not in gone),
        history=tuple(h for h in state.history if h not in gone),
        resume=None if state.resume in gone else state.resume,
    )
    return state, labels


def _options(q: Questionnaire, state: State) -> tuple[Option, ...]:
    """The options offered at the current step (without the reserved skip/back)."""
    step = state.step
    if step == LANGUAGE_CONFIRM_STEP:
        return (
            Option("keep", LanguageName(state.pending[1])),
            Option("other", Msg(m.OTHER_LANGUAGE)),
        )
    if step == PRECISION_STEP:
        return (
            Option("exact", Msg(m.PRECISION_EXACT)),
            Option("1km", Msg(m.PRECISION_1KM)),
            Option("10km", Msg(m.PRECISION_10KM)),
            Option("country", Msg(m.PRECISION_COUNTRY)),
        )
    if step == COUNTRY_PICK_STEP:
        return tuple(Option(code, CountryName(code)) for code in state.pending[2:])
    if step == EDIT_STEP:
        shown = _applicable(q, state)
        editable = tuple(
            Option(question.id, Msg(question.label))
            for question in q.questions
            if question.type not in ("language", "notice", "review") and question.id in shown
        )
        return (*editable, Option(SUMMARY_OPTION, Msg(m.BACK_TO_SUMMARY)))
    if step == CANCEL_STEP:
        return (Option("yes", Msg(m.CANCEL_YES)), Option("no", Msg(m.CANCEL_NO)))
    if step == WIPE_STEP:
        return (Option("yes", Msg(m.WIPE_YES)), Option("no", Msg(m.WIPE_NO)))
    if step in _FOLLOWUP_STEPS:
        return ()
    if step == SPECIES_PICK_STEP:
        proposals = [
            Option(str(i), Plain(_species_label(q, state, key)))
            for i, key in enumerate(state.pending[2:], start=1)
        ]
        return (
            *proposals,
            Option("none", Msg(m.SPECIES_NONE)),
            Option("unsure", Msg(m.SPECIES_UNSURE)),
        )
    if step == SPECIES_MORE_STEP:
        return (Option("add", Msg(m.SPECIES_ADD)), Option("done", Msg(m.SPECIES_DONE)))
    if step == VOICE_STEP:
        return (
            Option("own", Msg(m.VOICE_OWN)),
            Option("other", Msg(m.VOICE_OTHER)),
            Option("unsure", Msg(m.VOICE_UNSURE)),
        )
    question = _question(q, state)
    match question.type:
        case "language":
            return tuple(Option(code, LanguageName(code)) for code in q.languages)
        case "notice":
            return (Option("continue", Msg(m.CONTINUE)), Option("cancel", Msg(m.CANCEL_REPORT)))
        case "choice":
            return tuple(Option(o.id, Msg(o.label)) for o in question.options)
        case "attachments":
            return (Option("done", Msg(m.DONE)),)
        case "review":
            return (
                Option("send", Msg(m.SEND)),
                Option("edit", Msg(m.EDIT)),
                Option("cancel", Msg(m.CANCEL_REPORT)),
            )
        case _:
            return ()


def _ask(q: Questionnaire, state: State) -> Actions:
    """Ask the current step's question (for the review: the summary, then the question)."""
    step = state.step
    options = _options(q, state)
    can_back = bool(state.history) or state.resume is not None
    sub: dict[str, tuple[str, Expects, bool]] = {
        LANGUAGE_CONFIRM_STEP: (m.CONFIRM_LANGUAGE, "choice", False),
        PRECISION_STEP: (m.PRECISION_PROMPT, "choice", True),
        COUNTRY_PICK_STEP: (m.REASON_COUNTRY_PICK, "choice", True),
        EDIT_STEP: (m.EDIT_PROMPT, "choice", False),
        CANCEL_STEP: (m.CANCEL_CONFIRM, "choice", False),
        WIPE_STEP: (m.WIPE_OFFER, "choice", False),
        RECEIPT_STEP: (m.FOLLOWUP_ASK_CODE, "text", False),
        SPECIES_PICK_STEP: (m.SPECIES_PICK, "choice", False),
        SPECIES_MORE_STEP: (m.SPECIES_MORE, "choice", False),
        VOICE_STEP: (m.VOICE_PROMPT, "choice", False),
        FOLLOWUP_STEP: (m.FOLLOWUP_ANSWER_PROMPT, "text", False),
    }
    if step in (RECEIPT_WAIT_STEP, FOLLOWUP_WAIT_STEP):
        return []  # waiting for the intake's answer: nothing to ask
    if step in sub:
        prompt, expects, skippable = sub[step]
        back = step in (PRECISION_STEP, COUNTRY_PICK_STEP, EDIT_STEP, SPECIES_PICK_STEP)
        return [Ask(step, Msg(prompt), options, expects, state.language, skippable, back)]
    question = _question(q, state)
    expects_by_type: dict[str, Expects] = {
        "text": "text",
        "species": "text",
        "country": "text",
        "location": "location",
        "attachments": "attachments",
        "links": "text",
    }
    expects = expects_by_type.get(question.type, "choice")
    skippable = not question.required and question.type not in ("notice", "review")
    ask = Ask(
        question.id, Msg(question.prompt), options, expects, state.language, skippable, can_back
    )
    if question.type == "review":
        return [ShowSummary(_summary(q, state), state.language), ask]
    return [ask]


def _summary(q: Questionnaire, state: State) -> tuple[SummaryItem, ...]:
    """The answers to the questions that apply (a question passed over is not listed)."""
    shown = _applicable(q, state)
    return tuple(
        SummaryItem(question.id, Msg(question.label), state.answer(question.id) or Skipped())
        for question in q.questions
        if question.type not in ("language", "notice", "review") and question.id in shown
    )


def _enter(q: Questionnaire, state: State, step: str, *, pending: tuple[str, ...] = ()) -> Result:
    state = replace(state, phase="asking", step=step, pending=pending)
    return state, _ask(q, state)


def _reask(
    q: Questionnaire, state: State, reason: str | None = None, **values: str | int
) -> Result:
    actions: Actions = [] if reason is None else [_say(state, reason, **values)]
    return state, actions + _ask(q, state)


def _answered(q: Questionnaire, state: State, question_id: str, value: AnswerValue) -> Result:
    """Record an answer and move on: to ``resume`` if set, else to the next question.

    Answers that no longer apply (their question's condition stopped holding) are dropped
    and the tipster is told which. Coming back to the summary, a question that has come to
    apply is asked first, and the summary follows once it is answered."""
    state, dropped = _drop_inapplicable(q, state.with_answer(question_id, value))
    said: Actions = []
    if dropped:
        forms = m.ANSWERS_DROPPED
        said = [Say(Msg.plural_of(forms, len(dropped), details=MsgList(dropped)), state.language)]
    if state.resume == q.review.id:
        missing = _missing(q, state)
        if missing is not None:
            state, actions = _enter(q, state, missing)
            return state, [*said, *actions]
    target = state.resume or _next_question(q, state, question_id)
    history = state.history if state.resume else (*state.history, question_id)
    state, actions = _enter(q, replace(state, history=history, resume=None), target)
    return state, [*said, *actions]


def _language_match(hint: str | None, languages: tuple[str, ...]) -> str | None:
    """Map a channel's language hint (``pt-BR``, ``zh-hans``, ``sw``) to a supported code."""
    if not hint:
        return None
    parts = hint.replace("-", "_").split("_")
    wanted = parts[0].casefold()
    exact = {code.casefold(): code for code in languages}.get(hint.replace("-", "_").casefold())
    if exact:
        return exact
    if wanted == "zh" and any(p.casefold() in ("hant", "tw", "hk", "mo") for p in parts[1:]):
        return None  # a Traditional Chinese reader is asked rather than given Simplified
    for code in languages:
        if code.split("_")[0].casefold() == wanted:
            return code
    return None


# --------------------------------------------------------------------------- transitions
def _begin(q: Questionnaire, state: State, event: Any) -> Result:
    """Start a conversation; any first event does, a Start may carry a language."""
    fixed = hint = None
    if isinstance(event, Start):
        fixed = event.language if event.language in q.languages else None
        hint = _language_match(event.language_hint, q.languages)
    if len(q.languages) == 1:
        fixed = q.languages[0]  # nothing to choose
    state = State(phase="asking", language=fixed or hint or q.default_language)
    welcome = _say(state, m.WELCOME)
    first = q.questions[0]
    if first.type == "language" and fixed:
        state = state.with_answer(first.id, ChoiceAnswer(fixed))
        state, actions = _enter(q, state, _next_question(q, state, first.id))
    elif first.type == "language" and hint:
        state, actions = _enter(q, state, LANGUAGE_CONFIRM_STEP, pending=(first.id, hint))
    else:
        state, actions = _enter(q, state, first.id)
    return state, [welcome, *actions]


def _begin_anew(q: Questionnaire, state: State, event: Any) -> Result:
    """A new report from the wipe offer: the draft starts afresh, with a new case id, so
    the next report is never taken for the one just sent (P7)."""
    state, actions = _begin(q, state, event)
    return state, [Discard(), *actions]


def _restart(q: Questionnaire, state: State, event: Any) -> Result:
    """The draft no longer fits the questionnaire (it was edited): start again, say so."""
    fresh = State(language=state.language if state.language in q.languages else q.default_language)
    notice = _say(fresh, m.REASON_NEW_DRAFT)
    state, actions = _begin(q, fresh, Start(language=fresh.language))
    return state, [Discard(), notice, *actions]


def _welcome_back(q: Questionnaire, state: State, event: Any) -> Result:
    return _reask(q, state, m.WELCOME_BACK)


def _not_here(q: Questionnaire, state: State, event: Any) -> Result:
    return _reask(q, state, m.REASON_NOT_HERE)


def _please_choose(q: Questionnaire, state: State, event: Any) -> Result:
    return _reask(q, state, m.REASON_CHOOSE)


def _ignore(q: Questionnaire, state: State, event: Any) -> Result:
    return state, []


def _please_wait(q: Questionnaire, state: State, event: Any) -> Result:
    return state, [_say(state, m.REASON_PLEASE_WAIT)]


def _help(q: Questionnaire, state: State, event: Any) -> Result:
    question = q.get(state.step)
    text = question.help if question is not None and question.help else m.HELP_GENERAL
    return _reask(q, state, text)


def _safety(q: Questionnaire, state: State, event: Any) -> Result:
    notice = q.first_of_type("notice")
    return _reask(q, state, notice.prompt if notice else m.SAFETY_AFTER)


def _change_language(q: Questionnaire, state: State, event: Any) -> Result:
    language = q.first_of_type("language")
    if language is None:
        return _not_here(q, state, event)
    resume = state.resume or _resumable(q, state)
    if resume == language.id:
        return _reask(q, state)
    return _enter(q, replace(state, resume=resume, cancel_from=None), language.id)


def _cancel(q: Questionnaire, state: State, event: Any) -> Result:
    return _enter(q, replace(state, cancel_from=state.step), CANCEL_STEP, pending=state.pending)


def _cancel_confirmed(q: Questionnaire, state: State, event: Any) -> Result:
    return _offer_wipe(q, state, m.CANCELLED)


def _offer_wipe(q: Questionnaire, state: State, msgid: str | None) -> Result:
    """The report (or follow-up) is over and deleted from the draft; what the chat shows
    is not (P5): say ``msgid``, then offer to wipe the chat, as after a submission."""
    ended = State(phase="ended", step=WIPE_STEP, language=state.language)
    said = [] if msgid is None else [_say(ended, msgid)]
    return ended, [*said, Discard(), *_ask(q, ended)]


def _back(q: Questionnaire, state: State, event: Any) -> Result:
    if state.step in (PRECISION_STEP, COUNTRY_PICK_STEP, SPECIES_PICK_STEP, SPECIES_MORE_STEP):
        return _enter(q, state, state.pending[0])
    if state.step == EDIT_STEP:
        return _enter(q, state, q.review.id)
    if state.resume is not None:
        return _enter(q, replace(state, resume=None), state.resume)
    shown = _applicable(q, state)
    history = tuple(h for h in state.history if h in shown or q.get(h) is None)
    if not history:
        return _reask(q, replace(state, history=()), m.REASON_FIRST_STEP)
    *rest, previous = history
    return _enter(q, replace(state, history=tuple(rest)), previous)


def _skip(q: Questionnaire, state: State, event: Any) -> Result:
    step = state.step
    if step == LANGUAGE_CONFIRM_STEP:
        return _answered(
            q, replace(state, pending=()), state.pending[0], ChoiceAnswer(state.language)
        )
    if step in (PRECISION_STEP, COUNTRY_PICK_STEP):
        return _answered(q, state, state.pending[0], Skipped())
    if step == SPECIES_PICK_STEP:
        return _species_picked(q, state, "unsure")
    if step == SPECIES_MORE_STEP:
        return _species_more(q, state, "done")
    if step == EDIT_STEP:
        return _enter(q, state, q.review.id)
    if step == CANCEL_STEP:
        return _cancel_declined(q, state, event)
    if step == WIPE_STEP:
        return _wipe_declined(q, state, event)
    if step in (RECEIPT_STEP, FOLLOWUP_STEP):
        return _offer_wipe(q, state, None)
    question = _question(q, state)
    if question.type == "language":
        return _answered(q, state, question.id, ChoiceAnswer(state.language))
    if question.type == "notice":
        return _answered(q, state, question.id, ChoiceAnswer("continue"))
    if question.type == "review":
        return _not_here(q, state, event)
    if question.required:
        return _reask(q, state, m.REASON_REQUIRED)
    if question.type == "attachments":
        return _attachments_done(q, state)
    if question.type == "species" and state.pending == (MORE,):
        return _species_more(q, replace(state, pending=(question.id,)), "done")
    return _answered(q, state, question.id, Skipped())


def _choice(handler: Callable[[Questionnaire, State, str], Result]) -> Handler:
    """Check a Choose against the current step and its options, then hand on the option."""

    def checked(q: Questionnaire, state: State, event: Choose) -> Result:
        if event.step != state.step:
            return _reask(q, state, m.REASON_STALE)
        ask = _ask(q, state)[-1]
        assert isinstance(ask, Ask)
        if event.option == SKIP_OPTION and ask.skippable:
            return _skip(q, state, event)
        if event.option == BACK_OPTION and ask.can_go_back:
            return _back(q, state, event)
        if event.option not in {o.id for o in ask.options}:
            return _reask(q, state, m.REASON_CHOOSE)
        return handler(q, state, event.option)

    checked.__name__ = checked.__qualname__ = f"choose:{handler.__name__}"
    return checked


def _language_chosen(q: Questionnaire, state: State, option: str) -> Result:
    return _answered(q, replace(state, language=option), state.step, ChoiceAnswer(option))


def _language_confirmed(q: Questionnaire, state: State, option: str) -> Result:
    parent = state.pending[0]
    if option == "keep":
        return _answered(q, replace(state, pending=()), parent, ChoiceAnswer(state.pending[1]))
    return _enter(q, state, parent)


def _notice_choice(q: Questionnaire, state: State, option: str) -> Result:
    if option == "cancel":
        return _cancel(q, state, None)
    return _answered(q, state, state.step, ChoiceAnswer(option))


def _option_chosen(q: Questionnaire, state: State, option: str) -> Result:
    return _answered(q, state, state.step, ChoiceAnswer(option))


def _text(q: Questionnaire, state: State, event: Text) -> Result:
    question = _question(q, state)
    text = _clean_text(event.text)
    if not text:
        return _reask(q, state, m.REASON_EMPTY)
    if len(text) > question.max_length:
        return _reask(q, state, m.REASON_TOO_LONG, max=question.max_length)
    if len(text) < question.min_length:
        return _reask(q, state, m.REASON_TOO_SHORT)
    return _answered(q, state, question.id, TextAnswer(text))


def _links_text(q: Questionnaire, state: State, event: Text) -> Result:
    """Web addresses, one or several in one message: kept as typed and in parts, never
    fetched. A message with none, or with another scheme than http(s), is refused."""
    question = _question(q, state)
    typed = _clean_text(event.text)
    if not typed:
        return _reask(q, state, m.REASON_EMPTY)
    if len(typed) > question.max_length:
        return _reask(q, state, m.REASON_TOO_LONG, max=question.max_length)
    found = parse_links(typed)
    if found.refused:
        return _reask(q, state, m.REASON_LINK_SCHEME)
    if not found.links:
        return _reask(q, state, m.REASON_NO_LINK)
    return _answered(q, state, question.id, LinksAnswer(typed, found.links))


def _country_text(q: Questionnaire, state: State, event: Text) -> Result:
    question = _question(q, state)
    typed = _clean_text(event.text)[: question.max_length]
    if not typed:
        return _reask(q, state, m.REASON_EMPTY)
    confident = confident_country(typed, q.languages)
    if confident is not None:
        return _answered(q, state, question.id, CountryAnswer(confident, typed))
    codes = match_country(typed, q.languages)
    if not codes:
        return _reask(q, state, m.REASON_COUNTRY_UNKNOWN)
    return _enter(q, state, COUNTRY_PICK_STEP, pending=(question.id, typed, *codes))


def _country_typed_again(q: Questionnaire, state: State, event: Text) -> Result:
    """At "did you mean one of these?", a new name is matched like a first one."""
    return _country_text(q, replace(state, step=state.pending[0], pending=()), event)


def _country_picked(q: Questionnaire, state: State, option: str) -> Result:
    parent, typed = state.pending[0], state.pending[1]
    return _answered(q, replace(state, pending=()), parent, CountryAnswer(option, typed))


def _pin(q: Questionnaire, state: State, lat: float, lon: float) -> Result:
    if not valid_coordinates(lat, lon):
        return _reask(q, state, m.REASON_BAD_COORDINATES)
    return _enter(q, state, PRECISION_STEP, pending=(state.step, repr(lat), repr(lon)))


def _location_pin(q: Questionnaire, state: State, event: Location) -> Result:
    return _pin(q, state, event.latitude, event.longitude)


def _location_text(q: Questionnaire, state: State, event: Text) -> Result:
    coordinates = parse_coordinates(event.text)
    if coordinates is None:
        return _reask(q, state, m.REASON_BAD_COORDINATES)
    return _pin(q, state, *coordinates)


def _precision_chosen(q: Questionnaire, state: State, option: str) -> Result:
    coordinates = _pending_coordinates(state)
    assert coordinates is not None  # guaranteed by step_kind
    rounded = apply_precision(*coordinates, option)
    answer = LocationAnswer(option, *(rounded or (None, None)))
    return _answered(q, replace(state, pending=()), state.pending[0], answer)


def _files(q: Questionnaire, state: State) -> tuple[Question, tuple[AttachmentInfo, ...]] | None:
    question = q.first_of_type("attachments")
    if question is None:
        return None
    current = state.answer(question.id)
    return question, current.files if isinstance(current, AttachmentsAnswer) else ()


def _listed(state: State, question_id: str) -> tuple[AttachmentInfo, ...]:
    current = state.answer(question_id)
    return current.files if isinstance(current, AttachmentsAnswer) else ()


#: What a channel reports for a recording that may hold a voice: the tipster is asked
#: whose voice it is before the file is fetched (a document is not asked: its voice, if
#: any, is disguised, as for "I don't know").
RECORDING_KINDS: Final = frozenset({"voice", "audio", "video", "video_note"})


def _attachment(q: Questionnaire, state: State, event: Attachment) -> Result:
    found = _files(q, state)
    if found is None:
        return _not_here(q, state, event)
    question, files = found
    if any(f.ref == event.ref for f in files):
        return state, []  # the same file delivered twice is kept once
    if len(files) >= question.max_files:
        return state, [_say(state, m.REASON_TOO_MANY_FILES, max=question.max_files)]
    caption = _clean_text(event.caption)[:MAX_CAPTION] if event.caption else None
    size = event.size if event.size is None or event.size >= 0 else None
    info = AttachmentInfo(event.ref, event.kind[:32], size, caption or None)
    files = (*files, info)
    state = state.with_answer(question.id, AttachmentsAnswer(files), log=False)
    if info.kind in RECORDING_KINDS:
        # Whose voice? Asked before anything is fetched: the original is never kept.
        back = (state.step, *state.pending)  # where the conversation goes on after
        return _enter(q, state, VOICE_STEP, pending=(question.id, event.ref, *back))
    received = Say(Msg.plural_of(m.FILES_RECEIVED, len(files)), state.language)
    return state, [FetchAttachment(event.ref), received]


def _voice_chosen(q: Questionnaire, state: State, option: str) -> Result:
    """The tipster said whose voice: fetch the file (disguised unless someone else's),
    say it was received, and ask again the question the file arrived at."""
    question_id, ref, back, *back_pending = state.pending
    files = tuple(
        replace(f, voice=option) if f.ref == ref else f for f in _listed(state, question_id)
    )
    state = state.with_answer(question_id, AttachmentsAnswer(files), log=False)
    state = replace(state, step=back, pending=tuple(back_pending))
    received = Say(Msg.plural_of(m.FILES_RECEIVED, len(files)), state.language)
    return state, [FetchAttachment(ref, keep_voice=option == "other"), received, *_ask(q, state)]


def _voice_skipped(q: Questionnaire, state: State, event: Any) -> Result:
    return _voice_chosen(q, state, "unsure")


def _voice_unanswered(q: Questionnaire, state: State, event: Any) -> Result:
    """Something else instead of an answer (another file, a pin, text): the recording
    is taken as "I don't know" (its voice disguised), then the event is handled."""
    state, first = _voice_chosen(q, state, "unsure")
    asked = [a for a in first if not isinstance(a, Ask)]
    state, then = TABLE.get((step_kind(q, state), type(event)), _not_here)(q, state, event)
    return state, [*asked, *then]


def _attachment_failed(q: Questionnaire, state: State, event: AttachmentFailed) -> Result:
    found = _files(q, state)
    if found is None or not any(f.ref == event.ref for f in found[1]):
        return state, []
    question, files = found
    kept = tuple(f for f in files if f.ref != event.ref)
    state = state.with_answer(question.id, AttachmentsAnswer(kept), log=False)
    reason = {
        "too_large": m.REASON_FILE_TOO_BIG,
        "unsupported": m.REASON_FILE_REFUSED,
        "macros": m.REASON_FILE_REFUSED,
        "encrypted": m.REASON_FILE_REFUSED,
        "malformed": m.REASON_FILE_DAMAGED,
        "bomb": m.REASON_FILE_DAMAGED,
        "timeout": m.REASON_FILE_DAMAGED,
        "verify_failed": m.REASON_FILE_DAMAGED,
    }.get(event.reason, m.REASON_ATTACHMENT_FAILED)
    return state, [_say(state, reason)]


def _attachment_scrubbed(q: Questionnaire, state: State, event: AttachmentScrubbed) -> Result:
    """A file came back from scrubbing: record what it is now, tell the tipster what was
    taken out of it (P3), in their words ("the location and the camera details")."""
    found = _files(q, state)
    if found is None or not any(f.ref == event.ref for f in found[1]):
        return state, []
    question, files = found
    removed = tuple(dict.fromkeys(r for r in event.removed if r in m.REMOVED_LABELS))
    kept, declared = _partial(event)
    sent_as = next(f.kind for f in files if f.ref == event.ref)
    files = tuple(
        replace(
            f,
            kind=event.kind[:32],
            size=max(0, event.size),
            sha256=event.sha256[:64],
            removed=removed,
            scrubbed=True,
            kept_seconds=kept,
            declared_seconds=declared,
            disguised=bool(event.voice_disguised),
        )
        if f.ref == event.ref
        else f
        for f in files
    )
    state = state.with_answer(question.id, AttachmentsAnswer(files), log=False)
    actions: Actions = []
    if kept is not None:
        actions.append(_partial_notice(state, sent_as, event.kind, kept, declared))
    if event.voice_disguised:
        actions.append(_say(state, m.VOICE_DISGUISED))
    if not removed:
        return state, [*actions, _say(state, m.FILE_NOTHING_HIDDEN)]
    labels = tuple(dict.fromkeys(m.REMOVED_LABELS[r] for r in removed))
    return state, [*actions, _say(state, m.FILE_CLEANED, details=MsgList(labels))]


#: Scrubbed kinds, and kinds an adapter reports, that are sound only.
_AUDIO_KINDS: Final = frozenset({"m4a", "mp3", "ogg", "voice", "audio"})
_LONGEST: Final = 10 * 24 * 3600.0


def _partial(event: AttachmentScrubbed) -> tuple[float | None, float | None]:
    """(kept, declared) seconds of a file cut short, (None, None) for a whole one; values
    out of reason are ignored (the declared alone, or both)."""
    kept, declared = event.kept_seconds, event.declared_seconds
    if not isinstance(kept, int | float) or not math.isfinite(kept):
        return None, None
    if not 0 < kept <= _LONGEST:
        return None, None
    if not isinstance(declared, int | float) or not math.isfinite(declared):
        return float(kept), None
    if not kept < declared <= _LONGEST:
        return float(kept), None
    return float(kept), float(declared)


def clock(seconds: float) -> str:
    """A duration as media players show it: "0:12", "12:05", "1:05:03"."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _partial_notice(
    state: State, sent_as: str, kind: str, kept: float, declared: float | None
) -> Say:
    """The notice "Your video seems damaged: only the first 0:12 of 0:40 could be kept."
    The kept time is rounded down (to 0:01 at least) and the declared one up; the kept
    one shown is always the smaller."""
    audio = sent_as in _AUDIO_KINDS or kind in _AUDIO_KINDS
    shown = max(1, math.floor(kept))
    if declared is None:
        msgid = m.FILE_PARTIAL_AUDIO_UNKNOWN if audio else m.FILE_PARTIAL_VIDEO_UNKNOWN
        return _say(state, msgid, kept=clock(shown))
    total = math.ceil(declared)
    msgid = m.FILE_PARTIAL_AUDIO if audio else m.FILE_PARTIAL_VIDEO
    return _say(state, msgid, kept=clock(min(shown, total - 1)), total=clock(total))


def _attachments_done(q: Questionnaire, state: State) -> Result:
    question = _question(q, state)
    current = state.answer(question.id)
    files = current if isinstance(current, AttachmentsAnswer) else AttachmentsAnswer()
    return _answered(q, state, question.id, files)


def _attachments_choice(q: Questionnaire, state: State, option: str) -> Result:
    return _attachments_done(q, state)


def _send_a_file(q: Questionnaire, state: State, event: Any) -> Result:
    return _reask(q, state, m.REASON_SEND_FILE)


def _review_choice(q: Questionnaire, state: State, option: str) -> Result:
    if option == "send":
        return replace(state, phase="submitting", step=SUBMITTING_STEP), [Submit()]
    if option == "edit":
        return _enter(q, state, EDIT_STEP)
    return _cancel(q, state, None)


def _edit_choice(q: Questionnaire, state: State, option: str) -> Result:
    review = q.review.id
    if option == SUMMARY_OPTION:
        return _enter(q, state, review)
    return _enter(q, replace(state, resume=review), option)


def _cancel_choice(q: Questionnaire, state: State, option: str) -> Result:
    if option == "yes":
        return _cancel_confirmed(q, state, None)
    return _cancel_declined(q, state, None)


def _cancel_declined(q: Questionnaire, state: State, event: Any) -> Result:
    back = state.cancel_from or q.questions[0].id
    return _enter(q, replace(state, cancel_from=None), back, pending=state.pending)


def _submitted(q: Questionnaire, state: State, event: Submitted) -> Result:
    # The plaintext answers leave the draft here: the sealed tip is all that remains (P2).
    done = State(phase="submitted", step=WIPE_STEP, language=state.language)
    receipt = []
    if event.receipt is not None and parse_code(event.receipt) is not None:
        receipt = [_say(done, m.RECEIPT_GIVEN, code=format_code(event.receipt))]
    return done, [
        _say(done, m.SUBMITTED),
        *receipt,
        _say(done, m.SAFETY_AFTER),
        *_ask(q, done),
    ]


def _submit_failed(q: Questionnaire, state: State, event: SubmitFailed) -> Result:
    state = replace(state, phase="asking", step=q.review.id)
    return _reask(q, state, m.REASON_SUBMIT_FAILED)


def _wipe_choice(q: Questionnaire, state: State, option: str) -> Result:
    closed = State(phase="closed", language=state.language)
    if option == "yes":
        return closed, [Wipe(), End()]
    return closed, [_say(closed, m.GOODBYE), End()]


def _wipe_declined(q: Questionnaire, state: State, event: Any) -> Result:
    return _wipe_choice(q, state, "no")


# --------------------------------------------------------------------------- species
def _proposal(q: Questionnaire, key: str) -> tuple[str, str | None] | None:
    """A proposal kept in ``pending`` as ``taxon:product``; None if it no longer exists."""
    taxon, _, product = key.partition(":")
    if q.species is None or q.species.get(taxon) is None:
        return None
    return taxon, product or None


def _species_label(q: Questionnaire, state: State, key: str) -> str:
    """ "Pangolin — scales" in the tipster's language, from the catalogue."""
    found = _proposal(q, key)
    taxon = q.species.get(found[0]) if q.species is not None and found else None
    if taxon is None or q.species is None or found is None:
        return key
    name = taxon.name_in(state.language)
    label = name
    if found[1] is not None:
        label = f"{name} — {q.species.product_name(found[1], state.language)}"
    if len(label) > SPECIES_LABEL_MAX:
        label = label[: SPECIES_LABEL_MAX - 1] + "…"
    return label


def _species_items(state: State, question_id: str) -> tuple[SpeciesItem, ...]:
    current = state.answer(question_id)
    return current.items if isinstance(current, SpeciesAnswer) else ()


def _species_text(q: Questionnaire, state: State, event: Text) -> Result:
    """What the tipster typed is matched against the catalogue; up to three proposals
    come back as buttons. Without a catalogue the words are the answer."""
    question = _question(q, state)
    typed = _clean_text(event.text)
    if not typed:
        return _reask(q, state, m.REASON_EMPTY)
    if len(typed) > question.max_length:
        return _reask(q, state, m.REASON_TOO_LONG, max=question.max_length)
    if q.species is None:
        return _answered(q, state, question.id, TextAnswer(typed))
    # Adding one more keeps the earlier ones; otherwise this answer starts afresh.
    items = _species_items(state, question.id) if state.pending == (MORE,) else ()
    state = state.with_answer(question.id, SpeciesAnswer(items), log=False)
    found = [
        c
        for c in q.species.search(typed, state.language, limit=3)
        if c.confidence >= SPECIES_SHOWN
    ]
    if not found:
        item = SpeciesItem(typed, "unmatched")
        state = state.with_answer(question.id, SpeciesAnswer((*items, item)), log=False)
        return _enter(q, state, SPECIES_MORE_STEP, pending=(question.id,))
    keys = tuple(f"{c.taxon.id}:{c.product or ''}" for c in found)
    return _enter(q, state, SPECIES_PICK_STEP, pending=(question.id, typed, *keys))


def _species_picked(q: Questionnaire, state: State, option: str) -> Result:
    parent, typed, keys = state.pending[0], state.pending[1], state.pending[2:]
    if option.isdigit() and 1 <= int(option) <= len(keys):
        key = keys[int(option) - 1]
        found = _proposal(q, key)
        assert found is not None  # guaranteed by step_kind
        taxon, product = found
        item = SpeciesItem(typed, "chosen", taxon, product, _species_label(q, state, key))
    elif option == "none":
        item = SpeciesItem(typed, "none")
    else:
        item = SpeciesItem(typed, "unsure", proposed=tuple(k.partition(":")[0] for k in keys))
    items = (*_species_items(state, parent), item)
    state = state.with_answer(parent, SpeciesAnswer(items), log=False)
    return _enter(q, state, SPECIES_MORE_STEP, pending=(parent,))


def _species_more(q: Questionnaire, state: State, option: str) -> Result:
    parent = state.pending[0]
    if option == "add":
        return _enter(q, state, parent, pending=(MORE,))
    answer = SpeciesAnswer(_species_items(state, parent))
    return _answered(q, replace(state, pending=()), parent, answer)


def _species_typed_again(q: Questionnaire, state: State, event: Text) -> Result:
    """Typing instead of choosing: the new words are matched, as one more species."""
    return _species_text(q, replace(state, step=state.pending[0], pending=(MORE,)), event)


# --------------------------------------------------------------------------- follow-up
def _begin_followup(q: Questionnaire, state: State, event: Any) -> Result:
    """A tipster with a receipt code comes back (rule P6): no report is drafted."""
    language = state.language if state.language in q.languages else q.default_language
    if isinstance(event, FollowUp):
        if event.language in q.languages:
            language = event.language
        else:
            language = _language_match(event.language_hint, q.languages) or language
    fresh = State(phase="asking", language=language)
    discard: Actions = [Discard()] if state.phase == "asking" else []
    state, actions = _enter(q, fresh, RECEIPT_STEP)
    return state, [*discard, *actions]


def _finish_first(q: Questionnaire, state: State, event: Any) -> Result:
    return _reask(q, state, m.FOLLOWUP_FINISH_FIRST)


def _receipt_text(q: Questionnaire, state: State, event: Text) -> Result:
    code = parse_code(event.text)
    if code is None:
        return _reask(q, state, m.REASON_CODE_FORM)
    return replace(state, step=RECEIPT_WAIT_STEP), [CheckReceipt(code)]


def _receipt_checked(q: Questionnaire, state: State, event: ReceiptChecked) -> Result:
    if event.throttled:
        return _offer_wipe(q, state, m.REASON_TOO_MANY_TRIES)
    if not event.ok:
        state, actions = _enter(q, state, RECEIPT_STEP)
        return state, [_say(state, m.REASON_CODE_UNKNOWN), *actions]
    state = replace(state, step=FOLLOWUP_STEP)
    questions = [_clean_text(text)[:MAX_QUESTION_LENGTH] for text in event.questions]
    questions = [text for text in questions if text][:MAX_QUESTIONS_SHOWN]
    said: Actions
    if questions:
        said = [Say(Msg.plural_of(m.FOLLOWUP_QUESTIONS, len(questions)), state.language)]
        said += [
            _say(state, m.FOLLOWUP_QUESTION, n=i, question=text)
            for i, text in enumerate(questions, start=1)
        ]
    else:
        said = [_say(state, m.FOLLOWUP_NO_QUESTIONS)]
    return state, [*said, *_ask(q, state)]


def _followup_text(q: Questionnaire, state: State, event: Text) -> Result:
    text = _clean_text(event.text)
    if not text:
        return _reask(q, state, m.REASON_EMPTY)
    if len(text) > MAX_FOLLOWUP_LENGTH:
        return _reask(q, state, m.REASON_TOO_LONG, max=MAX_FOLLOWUP_LENGTH)
    return replace(state, step=FOLLOWUP_WAIT_STEP), [SendFollowup(text)]


def _followup_sent(q: Questionnaire, state: State, event: FollowupSent) -> Result:
    return _offer_wipe(q, state, m.FOLLOWUP_SENT)


def _followup_failed(q: Questionnaire, state: State, event: FollowupFailed) -> Result:
    state, actions = _enter(q, state, FOLLOWUP_STEP)
    return state, [_say(state, m.REASON_SUBMIT_FAILED), *actions]


# --------------------------------------------------------------------------- the table
EventType = type[Event]


def _rows(**specific: Handler) -> dict[EventType, Handler]:
    """The rows every asking step shares, overridden by the step's own."""
    names: dict[str, EventType] = {
        "start": Start,
        "text": Text,
        "choose": Choose,
        "location": Location,
        "attachment": Attachment,
        "attachment_failed": AttachmentFailed,
        "attachment_scrubbed": AttachmentScrubbed,
        "cancel": Cancel,
        "back": Back,
        "skip": Skip,
        "help": Help,
        "language": ChangeLanguage,
        "safety": ShowSafety,
        "submitted": Submitted,
        "submit_failed": SubmitFailed,
        "followup": FollowUp,
        "receipt_checked": ReceiptChecked,
        "followup_sent": FollowupSent,
        "followup_failed": FollowupFailed,
    }
    rows: dict[EventType, Handler] = {
        Start: _welcome_back,
        Text: _please_choose,
        Location: _not_here,
        Attachment: _attachment,
        AttachmentFailed: _attachment_failed,
        AttachmentScrubbed: _attachment_scrubbed,
        Cancel: _cancel,
        Back: _back,
        Skip: _skip,
        Help: _help,
        ChangeLanguage: _change_language,
        ShowSafety: _safety,
        Submitted: _ignore,
        SubmitFailed: _ignore,
        FollowUp: _finish_first,
        ReceiptChecked: _ignore,
        FollowupSent: _ignore,
        FollowupFailed: _ignore,
    }
    for name, handler in specific.items():
        rows[names[name]] = handler
    return rows


_EVERY_EVENT: tuple[EventType, ...] = EVENT_TYPES
_INTAKE_RESULTS: tuple[EventType, ...] = (
    Submitted,
    SubmitFailed,
    ReceiptChecked,
    FollowupSent,
    FollowupFailed,
    AttachmentFailed,
    AttachmentScrubbed,
)
_STEP_ROWS: dict[str, dict[EventType, Handler]] = {
    "new": {**dict.fromkeys(_EVERY_EVENT, _begin), FollowUp: _begin_followup},
    "closed": {**dict.fromkeys(_EVERY_EVENT, _begin), FollowUp: _begin_followup},
    "lost": {**dict.fromkeys(_EVERY_EVENT, _restart), FollowUp: _begin_followup},
    "submitting": {
        **dict.fromkeys(_EVERY_EVENT, _please_wait),
        **dict.fromkeys(_INTAKE_RESULTS, _ignore),
        Submitted: _submitted,
        SubmitFailed: _submit_failed,
    },
    "language": _rows(choose=_choice(_language_chosen)),
    "language_confirm": _rows(choose=_choice(_language_confirmed)),
    "notice": _rows(choose=_choice(_notice_choice)),
    "choice": _rows(choose=_choice(_option_chosen)),
    "text": _rows(text=_text, choose=_choice(_option_chosen)),
    "species": _rows(text=_species_text, choose=_choice(_option_chosen)),
    "links": _rows(text=_links_text, choose=_choice(_option_chosen)),
    "species_pick": _rows(text=_species_typed_again, choose=_choice(_species_picked)),
    "species_more": _rows(text=_species_typed_again, choose=_choice(_species_more)),
    "voice": _rows(
        choose=_choice(_voice_chosen),
        text=_voice_unanswered,
        location=_voice_unanswered,
        attachment=_voice_unanswered,
        skip=_voice_skipped,
        back=_voice_skipped,
    ),
    "country": _rows(text=_country_text, choose=_choice(_option_chosen)),
    "country_pick": _rows(text=_country_typed_again, choose=_choice(_country_picked)),
    "location": _rows(text=_location_text, location=_location_pin, choose=_choice(_option_chosen)),
    "precision": _rows(choose=_choice(_precision_chosen)),
    "attachments": _rows(text=_send_a_file, choose=_choice(_attachments_choice)),
    "review": _rows(choose=_choice(_review_choice)),
    "edit": _rows(choose=_choice(_edit_choice)),
    "cancel": _rows(
        choose=_choice(_cancel_choice), cancel=_cancel_confirmed, back=_cancel_declined
    ),
    "wipe": {
        **dict.fromkeys(_EVERY_EVENT, _please_choose),
        Choose: _choice(_wipe_choice),
        Start: _begin_anew,
        Attachment: _not_here,
        Cancel: _wipe_declined,
        Back: _wipe_declined,
        Skip: _wipe_declined,
        **dict.fromkeys(_INTAKE_RESULTS, _ignore),
        FollowUp: _begin_followup,
    },
    "receipt": _rows(
        text=_receipt_text,
        choose=_choice(_option_chosen),
        attachment=_not_here,
        followup=_welcome_back,
    ),
    "receipt_wait": {
        **dict.fromkeys(_EVERY_EVENT, _please_wait),
        **dict.fromkeys(_INTAKE_RESULTS, _ignore),
        ReceiptChecked: _receipt_checked,
    },
    "followup": _rows(
        text=_followup_text,
        choose=_choice(_option_chosen),
        attachment=_not_here,
        followup=_welcome_back,
    ),
    "followup_wait": {
        **dict.fromkeys(_EVERY_EVENT, _please_wait),
        **dict.fromkeys(_INTAKE_RESULTS, _ignore),
        FollowupSent: _followup_sent,
        FollowupFailed: _followup_failed,
    },
}
#: (step kind, event type) -> handler. Every step kind has a row for every event type.
TABLE: Final[dict[tuple[str, EventType], Handler]] = {
    (kind, event_type): handler
    for kind, rows in _STEP_ROWS.items()
    for event_type, handler in rows.items()
}


class Engine:
    """The engine bound to one questionnaire."""

    def __init__(self, questionnaire: Questionnaire) -> None:
        self.questionnaire = questionnaire

    def handle(self, state: State, event: Event) -> Result:
        kind = step_kind(self.questionnaire, state)
        handler = TABLE.get((kind, type(event)), _not_here)
        return handler(self.questionnaire, state, event)

    def initial(self) -> State:
        return State(language=self.questionnaire.default_language)

    def question(self, state: State) -> Ask | None:
        """The question the conversation is at, as the engine last asked it (None when it
        is at none). A channel that lost its memory of the last question (a restart)
        reads a typed option against this, so the answer is not taken for free text."""
        if step_kind(self.questionnaire, state) in ("new", "closed", "lost", "submitting"):
            return None
        asks = [a for a in _ask(self.questionnaire, state) if isinstance(a, Ask)]
        return asks[0] if asks else None

    def language_for(self, hint: str | None) -> str:
        """The offered language a channel's hint (``pt-BR``) maps to, else the default."""
        q = self.questionnaire
        return _language_match(hint, q.languages) or q.default_language


def describe_table() -> str:
    """The transition table as a Markdown matrix (docs/engine.md is generated from it)."""
    events = [event_type.__name__ for event_type in _EVERY_EVENT]
    lines = [
        "| step kind | " + " | ".join(events) + " |",
        "|---|" + "---|" * len(events),
    ]
    for kind in STEP_KINDS:
        cells = [
            TABLE[(kind, event_type)].__name__.lstrip("_").replace("choose:_", "choose: ")
            for event_type in _EVERY_EVENT
        ]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
