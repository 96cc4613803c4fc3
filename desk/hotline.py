"""The ``hotline`` channel: a call taken at the desk, over the intake every bot uses.

A call is one conversation of the intake, its id a random call id. Each step's actions
are turned into a :class:`CallView`: every text in the caller's language (read aloud)
and in the operator's (beside it). The draft is saved by the intake after every answer,
encrypted, so a closed tab or a restarted desk resumes where the call stopped.

What the desk shows when a call is picked up again is asked of the engine with the
saved state (it is pure: nothing is saved by asking). A call that is over (sent or
cancelled) is closed at once: the wipe offer that the bots make has no meaning on a
phone line, and the next call starts clean.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from babel import Locale

from bots.intake import Intake, WipeChat
from bots.render import Renderer
from conversations import (
    Action,
    Ask,
    Attachment,
    Back,
    Cancel,
    ChangeLanguage,
    Choose,
    End,
    Event,
    FetchAttachment,
    FollowUp,
    Help,
    Label,
    LanguageName,
    Questionnaire,
    Say,
    ShowSummary,
    Skip,
    Start,
    State,
    Text,
)
from conversations import messages as m
from conversations.answers import AttachmentsAnswer
from conversations.places import country_codes
from conversations.state import FOLLOWUP_STEP, VOICE_STEP, WIPE_STEP

from .identity import Finding, find_identifiers, redact

__all__ = [
    "CHANNEL",
    "COMMANDS",
    "CallView",
    "Hotline",
    "Line",
    "OptionView",
    "Outcome",
    "QuestionView",
    "Suggestion",
    "country_names",
]

CHANNEL = "hotline"
#: The commands a form may send besides an option or text.
COMMANDS: Mapping[
    str, type[Back] | type[Skip] | type[Cancel] | type[Help] | type[ChangeLanguage]
] = {
    "back": Back,
    "skip": Skip,
    "cancel": Cancel,
    "help": Help,
    "language": ChangeLanguage,
}
MAX_TEXT = 20_000
#: Species suggestions as the operator types: as sure as the engine's own proposals.
SUGGESTION_FLOOR = 0.45
_HIDDEN_AT_DESK = frozenset({m.WELCOME_BACK, m.GOODBYE})
Finished = Literal["submitted", "answered", "cancelled"]
Input = Literal["textarea", "line", "country", "none"]


@dataclass(frozen=True)
class Line:
    """One text in the caller's language and in the operator's."""

    caller: str
    operator: str


@dataclass(frozen=True)
class OptionView:
    id: str
    key: str  # "1".."9", or "" past the ninth option
    label: Line


@dataclass(frozen=True)
class QuestionView:
    step: str
    prompt: Line
    options: tuple[OptionView, ...]
    input: Input
    skippable: bool
    can_go_back: bool
    max_length: int
    #: The question takes files (added by the operator: sent by the caller some other way).
    files: bool = False
    #: The question names species: suggestions come as the operator types.
    species: bool = False


@dataclass(frozen=True)
class Suggestion:
    """A species the operator may mean: ``fill`` goes into the answer box (the name in
    the caller's language, which the engine matches like a tipster's words)."""

    fill: str
    caller: str
    operator: str
    scientific: str


@dataclass(frozen=True)
class Outcome:
    """What an answer led to: the actions to show; ``stale`` when the form was for a
    question no longer asked; ``findings`` (with the text as ``typed``) when free text
    looks identifying and waits for the operator's decision."""

    actions: list[Action | WipeChat]
    stale: bool = False
    findings: tuple[Finding, ...] = ()
    typed: str = ""


@dataclass
class CallView:
    call_id: str
    caller_lang: str
    operator_lang: str
    caller_rtl: bool
    operator_rtl: bool
    caller_language_name: str
    notes: list[Line] = field(default_factory=list)
    summary: list[tuple[Line, Line]] = field(default_factory=list)
    question: QuestionView | None = None
    finished: Finished | None = None
    receipt: str | None = None
    waiting: bool = False
    #: How many languages the questionnaire offers (a language change needs two).
    languages: int = 1


def country_names(langs: Sequence[str]) -> list[str]:
    """Every country's name in the given languages, for type-ahead."""
    names: list[str] = []
    seen: set[str] = set()
    for lang in langs:
        try:
            territories = Locale.parse(lang).territories
        except ValueError:
            continue
        for code in country_codes():
            name = str(territories.get(code, ""))
            if name and name not in seen:
                seen.add(name)
                names.append(name)
    return sorted(names)


class Hotline:
    """Calls over one intake (whose channel must be ``hotline``)."""

    def __init__(self, intake: Intake, questionnaire: Questionnaire) -> None:
        if intake.channel != CHANNEL:
            raise ValueError(f"the desk's intake must be the {CHANNEL!r} channel")
        self.intake = intake
        self.questionnaire = questionnaire
        # A recording waits here, in this process's memory only, while the operator
        # asks the caller whose voice it holds: it is scrubbed (and the voice disguised,
        # unless someone else's) only then, so the original sound is never stored.
        self._waiting: dict[str, tuple[str, bytes]] = {}

    @property
    def languages(self) -> tuple[str, ...]:
        return self.questionnaire.languages

    def language_name(self, code: str) -> str:
        return Renderer(code, self.questionnaire).label(LanguageName(code))

    async def start(
        self, call_id: str, language: str, *, followup: bool = False
    ) -> list[Action | WipeChat]:
        """A new call; ``followup``: a caller with a receipt code, for reviewers'
        questions (P6), instead of a new report."""
        if language not in self.languages:
            raise ValueError("not a language of the questionnaire")
        event = FollowUp(language=language) if followup else Start(language=language)
        return await self.intake.handle(call_id, event)

    async def exists(self, call_id: str) -> bool:
        return await self.intake.state(call_id) is not None

    async def current(self, call_id: str) -> list[Action | WipeChat] | None:
        """What the call is at now, or None when it has no draft (sent, cancelled,
        expired)."""
        state = await self.intake.state(call_id)
        if state is None:
            return None
        if state.step == WIPE_STEP:
            # The call was sent or cancelled, but the desk stopped before closing it.
            return await self._close(call_id, [])
        _, actions = self.intake.engine.handle(state, Start())
        return list(actions)

    async def answer(
        self, call_id: str, step: str, form: Mapping[str, str], *, taken_by: str | None = None
    ) -> Outcome | None:
        """Apply one answer from the form (``choice``, ``text`` or ``command``) for
        ``step``; None when the call has no draft. A form for a question no longer asked
        changes nothing (``stale``). Free text that looks like a phone number, an e-mail
        address or an introduced name is not kept until the operator decides
        (``identity``: ``remove`` or ``keep``); until then the outcome holds the findings.
        ``taken_by``: the operator's name, written into the tip if this answer sends it
        (only when the organisation turned that on)."""
        state = await self.intake.state(call_id)
        if state is None:
            return None
        if state.step != step or state.step == WIPE_STEP:
            return Outcome(await self.current(call_id) or [], stale=True)
        event: Event
        command = form.get("command", "")
        if command in COMMANDS:
            event = COMMANDS[command]()
        elif form.get("choice"):
            event = Choose(step, form["choice"])
        else:
            typed = form.get("text", "")[:MAX_TEXT]
            question = self.questionnaire.get(step)
            free_text = question is not None and question.type == "text"
            if free_text or step == FOLLOWUP_STEP:
                decision = form.get("identity", "")
                if decision == "remove":
                    typed = redact(typed)
                elif decision != "keep" and (findings := find_identifiers(typed)):
                    current = await self.current(call_id) or []
                    return Outcome(current, findings=tuple(findings), typed=typed)
            event = Text(typed)
        actions = await self.intake.handle(call_id, event, taken_by=taken_by)
        actions = await self._fetch_waiting(call_id, actions)
        if any(isinstance(a, Ask) and a.step == WIPE_STEP for a in actions):
            actions = await self._close(call_id, actions)
        return Outcome(actions)

    async def attach(self, call_id: str, step: str, data: bytes) -> Outcome | None:
        """Add a file the caller sent by other means. It goes through the same scrubbing
        as a bot's (P3); what was removed, or why it was refused, is said in both
        languages. The file's name is never kept. None when the call has no draft."""
        state = await self.intake.state(call_id)
        if state is None:
            return None
        if state.step != step or state.step == WIPE_STEP:
            return Outcome(await self.current(call_id) or [], stale=True)
        ref = f"desk-{secrets.token_hex(8)}"
        kind = recording_kind(data) or "file"
        actions = await self.intake.handle(call_id, Attachment(ref, kind, len(data)))
        if any(isinstance(a, Ask) and a.step == VOICE_STEP for a in actions):
            # Whose voice? The engine asks (the question is read to the caller); the
            # file waits for the answer.
            self._waiting[call_id] = (ref, data)
            return Outcome([*actions])
        said: list[Action | WipeChat] = [a for a in actions if not isinstance(a, FetchAttachment)]
        fetch = next((a for a in actions if isinstance(a, FetchAttachment) and a.ref == ref), None)
        if fetch is not None:
            told = await self.intake.attach(call_id, ref, data, keep_voice=fetch.keep_voice)
            kept = ref in _attachment_refs(await self.intake.state(call_id))
            # "n files received" only when this one was kept; the reason otherwise.
            said = [*told, *said] if kept else list(told)
        return Outcome([*said, *(await self.current(call_id) or [])])

    async def _fetch_waiting(
        self, call_id: str, actions: list[Action | WipeChat]
    ) -> list[Action | WipeChat]:
        """Carry out the engine's FetchAttachment for a recording waiting for its voice
        answer: scrub it now (disguised unless someone else's) and say what was done. A
        recording this process no longer holds (the desk restarted) is dropped, and the
        operator is told to add it again."""
        index = next((i for i, a in enumerate(actions) if isinstance(a, FetchAttachment)), None)
        if index is None:
            return actions
        fetch = actions[index]
        assert isinstance(fetch, FetchAttachment)
        before, rest = actions[:index], actions[index + 1 :]
        waiting = self._waiting.get(call_id)
        if waiting is not None and waiting[0] == fetch.ref:
            del self._waiting[call_id]
            told = await self.intake.attach(
                call_id, fetch.ref, waiting[1], keep_voice=fetch.keep_voice
            )
        else:
            told = await self.intake.fetch_failed(call_id, fetch.ref, "failed")
        if fetch.ref in _attachment_refs(await self.intake.state(call_id)):
            return [*before, *told, *rest]
        # Not kept: its "received" is not true; the question stays.
        return [*before, *told, *(a for a in rest if not isinstance(a, Say))]

    async def suggest_species(
        self, call_id: str, typed: str, operator_lang: str, limit: int = 5
    ) -> list[Suggestion]:
        """What the species matcher makes of the words typed so far, while the call is
        at a species question; nothing otherwise."""
        catalogue = self.questionnaire.species
        state = await self.intake.state(call_id)
        if catalogue is None or state is None:
            return []
        question = self.questionnaire.get(state.step)
        if question is None or question.type != "species":
            return []
        found: list[Suggestion] = []
        for candidate in catalogue.search(typed[:200], state.language, limit=limit):
            if candidate.confidence < SUGGESTION_FLOOR:
                continue
            taxon = candidate.taxon
            caller = taxon.name_in(state.language)
            operator = taxon.name_in(operator_lang)
            if candidate.product is not None and candidate.product_stated:
                caller += f" — {catalogue.product_name(candidate.product, state.language)}"
                operator += f" — {catalogue.product_name(candidate.product, operator_lang)}"
            found.append(Suggestion(caller, caller, operator, taxon.scientific))
        return found

    async def _close(
        self, call_id: str, actions: list[Action | WipeChat]
    ) -> list[Action | WipeChat]:
        """Decline the wipe offer: the draft goes, the call is over (and so does a
        recording still waiting for its voice answer)."""
        self._waiting.pop(call_id, None)
        more = await self.intake.handle(call_id, Choose(WIPE_STEP, "no"))
        kept = [a for a in actions if not (isinstance(a, Ask) and a.step == WIPE_STEP)]
        return [*kept, *more]

    # ------------------------------------------------------------------ views
    def view(
        self,
        call_id: str,
        actions: Sequence[Action | WipeChat],
        caller_lang: str,
        operator_lang: str,
    ) -> CallView:
        caller = Renderer(caller_lang, self.questionnaire)
        operator = Renderer(operator_lang, self.questionnaire)
        for action in actions:
            if isinstance(action, Say | Ask | ShowSummary):
                caller = Renderer(action.lang, self.questionnaire)
        view = CallView(
            call_id=call_id,
            caller_lang=caller.lang,
            operator_lang=operator.lang,
            caller_rtl=caller.rtl,
            operator_rtl=operator.rtl,
            caller_language_name=self.language_name(caller.lang),
            languages=len(self.languages),
        )
        for action in actions:
            match action:
                case Say(msg, _):
                    if msg.id == m.SUBMITTED:
                        view.finished = "submitted"
                    elif msg.id == m.FOLLOWUP_SENT:
                        view.finished = "answered"
                    elif msg.id == m.CANCELLED:
                        view.finished = "cancelled"
                    if msg.id == m.RECEIPT_GIVEN:
                        view.receipt = str(dict(msg.values).get("code", "")) or None
                        continue
                    if msg.id == m.REASON_PLEASE_WAIT:
                        view.waiting = True
                    if msg.id not in _HIDDEN_AT_DESK:
                        view.notes.append(Line(caller.text(msg), operator.text(msg)))
                case ShowSummary():
                    view.summary = [
                        (Line(c_label, o_label), Line(c_value, o_value))
                        for (c_label, c_value), (o_label, o_value) in zip(
                            caller.summary(action), operator.summary(action), strict=True
                        )
                    ]
                case Ask():
                    view.question = self._question(action, caller, operator)
                case End():
                    view.finished = view.finished or "cancelled"
                case _:
                    pass
        if view.finished:
            view.question = None
        return view

    def _question(self, ask: Ask, caller: Renderer, operator: Renderer) -> QuestionView:
        def line(label: Label) -> Line:
            return Line(caller.label(label), operator.label(label))

        options = tuple(
            OptionView(o.id, str(i) if i <= 9 else "", line(o.label))
            for i, o in enumerate(ask.options, start=1)
        )
        question = self.questionnaire.get(ask.step)
        kind = question.type if question is not None else ""
        field_kind: Input
        if ask.expects == "location":
            field_kind = "line"
        elif ask.expects != "text":
            field_kind = "none"
        elif kind == "country":
            field_kind = "country"
        elif ask.step == FOLLOWUP_STEP:
            field_kind = "textarea"
        elif kind == "species" or question is None:
            field_kind = "line"
        else:
            field_kind = "textarea"
        max_length = question.max_length if question is not None and kind == "text" else 4000
        files = ask.expects == "attachments"
        return QuestionView(
            step=ask.step,
            prompt=Line(caller.text(ask.prompt), operator.text(ask.prompt)),
            options=options,
            input=field_kind,
            skippable=ask.skippable,
            can_go_back=ask.can_go_back,
            max_length=max_length,
            files=files,
            species=kind == "species" and self.questionnaire.species is not None,
        )


def recording_kind(data: bytes) -> str | None:
    """``audio`` or ``video`` when the bytes look like a recording (by their first bytes
    only: the file is read properly, in the scrub child, later), else None."""
    head = data[:64]
    if (
        head.startswith(b"OggS")
        or head.startswith(b"ID3")
        or head[:2] in (b"\xff\xfb", b"\xff\xf3")
    ):
        return "audio"
    if head[4:8] == b"ftyp":
        return "audio" if head[8:12] in (b"M4A ", b"M4B ") else "video"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video"  # Matroska or WebM
    return None


def _attachment_refs(state: State | None) -> set[str]:
    refs: set[str] = set()
    for _qid, value in state.answers if state is not None else ():
        if isinstance(value, AttachmentsAnswer):
            refs.update(f.ref for f in value.files)
    return refs
