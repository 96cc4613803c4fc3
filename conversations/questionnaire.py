"""The questionnaire: data an organisation edits, not code.

The default lives in ``default_questionnaire.yaml`` beside this module; an organisation
points Tipline at its own copy. Prompts, labels and help texts are English gettext msgids,
extracted into the catalogues by ``pybabel extract`` like strings in code.

Question types:

``language``     pick the tipster's language (confirmed when the channel gives a hint)
``notice``       a message with continue / cancel (the safety notice)
``choice``       one option from ``options``
``text``         free text, ``min_length`` .. ``max_length`` characters
``species``      free text naming species or products (the catalogue hooks in here)
``country``      a country, typed in any supported language, matched against CLDR names
``location``     an optional pin (or typed coordinates) with a precision choice
``attachments``  photos, videos, voice notes, documents, up to ``max_files``
``links``        web addresses of an online listing, one or several in one message; kept
                 as typed and in parts, never fetched (see ``conversations/links.py``)
``review``       the summary with send / change an answer / cancel; must come last

A ``choice`` question may name a ``receipt_option``: a tipster who picks it gets a
receipt code after sending, to check for reviewers' questions later (rule P6).

A question may have a condition, ``when``: it is asked only when the condition holds for
the answers given before it, otherwise it is passed over (and kept out of the summary and
the transcript). ``when`` is one alternative or a list of them; any one that holds is
enough:

``{question: category, in: [sale]}``
    the answer to ``category`` (a ``choice`` question that comes earlier) is one of these
    option ids;
``{mentions: link}``
    a free-text answer given earlier (a ``text`` or ``species`` question, or an earlier
    ``links`` question) contains a web address, read strictly: with ``http://``,
    ``https://`` or ``www.``, an onion address, an IP address with a port or path, or a
    common top-level domain (``example.com``, not ``Mr.Smith``);
``{question: description, mentions: link}``
    the same, in that one earlier ``text``, ``species`` or ``links`` question's answer.

The ``language``, ``notice`` and ``review`` questions cannot have a condition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import yaml

from .answers import AnswerValue, ChoiceAnswer, LinksAnswer, SpeciesAnswer, TextAnswer
from .links import mentions_link
from .species import Catalogue

__all__ = [
    "Condition",
    "QOption",
    "Question",
    "Questionnaire",
    "QuestionnaireError",
    "parse_questionnaire",
]

QuestionType = Literal[
    "language",
    "notice",
    "choice",
    "text",
    "species",
    "country",
    "location",
    "attachments",
    "links",
    "review",
]
QUESTION_TYPES: tuple[QuestionType, ...] = (
    "language",
    "notice",
    "choice",
    "text",
    "species",
    "country",
    "location",
    "attachments",
    "links",
    "review",
)
_UNCONDITIONAL = ("language", "notice", "review")
_FREE_TEXT = ("text", "species", "links")
# Short enough that "step:option" fits in Telegram's 64-byte callback data.
_ID = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
_LANG = re.compile(r"^[a-z]{2,3}(_[A-Z][a-z]{3})?(_[A-Z]{2})?$")


class QuestionnaireError(ValueError):
    """The questionnaire file is not valid; the message says where and why."""


@dataclass(frozen=True)
class QOption:
    id: str
    label: str


@dataclass(frozen=True)
class Condition:
    """One alternative of a question's ``when``: the answer to ``question`` is one of
    ``options`` (``in``), or (``mentions == "link"``) a free-text answer, that of
    ``question`` or any earlier one when it is None, contains a web address."""

    question: str | None = None
    options: tuple[str, ...] = ()
    mentions: str | None = None


@dataclass(frozen=True)
class Question:
    id: str
    type: QuestionType
    prompt: str
    label: str
    help: str | None = None
    required: bool = False
    options: tuple[QOption, ...] = ()
    min_length: int = 1
    max_length: int = 4000
    max_files: int = 10
    receipt_option: str | None = None
    when: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Questionnaire:
    version: int
    languages: tuple[str, ...]
    default_language: str
    questions: tuple[Question, ...]
    #: The species catalogue that ``species`` questions match against; without one they
    #: take free text. Set by whoever loads the catalogue (``dataclasses.replace``).
    species: Catalogue | None = field(default=None, compare=False, repr=False)
    _index: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {q.id: i for i, q in enumerate(self.questions)})

    def get(self, question_id: str) -> Question | None:
        i = self._index.get(question_id)
        return None if i is None else self.questions[i]

    def position(self, question_id: str) -> int:
        return self._index[question_id]

    def first_of_type(self, qtype: QuestionType) -> Question | None:
        return next((q for q in self.questions if q.type == qtype), None)

    @property
    def review(self) -> Question:
        return self.questions[-1]

    def receipt_question(self) -> Question | None:
        return next((q for q in self.questions if q.receipt_option is not None), None)

    def applicable(self, answers: Mapping[str, AnswerValue]) -> frozenset[str]:
        """The ids of the questions that apply given these answers: those without a
        condition, and those whose condition holds on the answers to questions that
        apply and come before them. An answer to a question that does not apply counts
        for nothing."""
        shown: list[str] = []
        for question in self.questions:
            if not question.when or any(
                self._holds(condition, answers, shown) for condition in question.when
            ):
                shown.append(question.id)
        return frozenset(shown)

    def _holds(
        self, condition: Condition, answers: Mapping[str, AnswerValue], earlier: list[str]
    ) -> bool:
        if condition.mentions is None:
            value = answers.get(condition.question or "")
            return (
                condition.question in earlier
                and isinstance(value, ChoiceAnswer)
                and value.option in condition.options
            )
        sources = earlier if condition.question is None else [condition.question]
        return any(source in earlier and _mentions_link(answers.get(source)) for source in sources)


def _mentions_link(value: AnswerValue | None) -> bool:
    match value:
        case TextAnswer(text):
            return mentions_link(text)
        case SpeciesAnswer(items):
            return any(mentions_link(item.typed) for item in items)
        case LinksAnswer(_typed, links):
            return bool(links)
        case _:
            return False


def parse_questionnaire(text: str) -> Questionnaire:
    """Parse and validate a questionnaire from its YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise QuestionnaireError(f"not valid YAML: {exc}") from exc
    return questionnaire_from_mapping(data)


def questionnaire_from_mapping(data: Any) -> Questionnaire:
    if not isinstance(data, dict):
        raise QuestionnaireError("the questionnaire must be a mapping")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise QuestionnaireError("'version' must be a positive whole number")
    languages = data.get("languages")
    if not isinstance(languages, list) or not languages:
        raise QuestionnaireError("'languages' must be a non-empty list of locale codes")
    for code in languages:
        if not isinstance(code, str) or not _LANG.fullmatch(code):
            raise QuestionnaireError(f"'languages': {code!r} is not a locale code like 'fr'")
    if len(set(languages)) != len(languages):
        raise QuestionnaireError("'languages' lists a language twice")
    default = data.get("default_language", languages[0])
    if not isinstance(default, str) or default not in languages:
        raise QuestionnaireError("'default_language' must be one of 'languages'")
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise QuestionnaireError("'questions' must be a non-empty list")
    questions = tuple(_question(i, q) for i, q in enumerate(raw_questions))
    ids = [q.id for q in questions]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise QuestionnaireError(f"question ids used twice: {', '.join(dupes)}")
    if questions[-1].type != "review" or sum(q.type == "review" for q in questions) != 1:
        raise QuestionnaireError("exactly one 'review' question is needed, and it comes last")
    for qtype in ("language", "location", "attachments"):
        if sum(q.type == qtype for q in questions) > 1:
            raise QuestionnaireError(f"at most one '{qtype}' question is allowed")
    questions = tuple(
        replace(q, when=_conditions(q, raw.get("when"), questions[:i], set(ids)))
        for i, (q, raw) in enumerate(zip(questions, raw_questions, strict=True))
    )
    return Questionnaire(version, tuple(languages), default, questions)


def _conditions(
    question: Question, raw: Any, earlier: tuple[Question, ...], every: set[str]
) -> tuple[Condition, ...]:
    """A question's ``when``, checked against the questions before it."""
    if raw is None:
        return ()
    where = f"question '{question.id}', 'when'"
    if question.type in _UNCONDITIONAL:
        raise QuestionnaireError(f"{where}: a '{question.type}' question cannot have a condition")
    alternatives = raw if isinstance(raw, list) else [raw]
    if not alternatives:
        raise QuestionnaireError(f"{where}: needs at least one condition")
    before = {q.id: q for q in earlier}
    out = []
    for item in alternatives:
        if not isinstance(item, dict) or not item:
            raise QuestionnaireError(
                f"{where}: each condition is a mapping such as "
                "{question: category, in: [sale]} or {mentions: link}"
            )
        unknown = sorted(set(item) - {"question", "in", "mentions"})
        if unknown:
            raise QuestionnaireError(f"{where}: unknown field(s) {', '.join(unknown)}")
        ref = item.get("question")
        if ref is not None and not isinstance(ref, str):
            raise QuestionnaireError(f"{where}: 'question' must be a question id")
        referenced = before.get(ref) if ref is not None else None
        if ref is not None and referenced is None:
            problem = "must come before this one" if ref in every else "is not a question id"
            raise QuestionnaireError(f"{where}: question '{ref}' {problem}")
        if "in" in item and "mentions" in item:
            raise QuestionnaireError(f"{where}: a condition has either 'in' or 'mentions'")
        if "mentions" in item:
            if item["mentions"] != "link":
                raise QuestionnaireError(f"{where}: 'mentions' can only be 'link'")
            if referenced is not None and referenced.type not in _FREE_TEXT:
                raise QuestionnaireError(
                    f"{where}: 'mentions' needs a text, species or links question, "
                    f"'{ref}' is a '{referenced.type}' question"
                )
            out.append(Condition(ref, (), "link"))
            continue
        if "in" not in item or referenced is None:
            raise QuestionnaireError(f"{where}: a condition needs 'question' with 'in'")
        if referenced.type != "choice":
            raise QuestionnaireError(
                f"{where}: 'in' needs a choice question, '{ref}' is a '{referenced.type}' question"
            )
        values = item["in"]
        if not isinstance(values, list) or not values:
            raise QuestionnaireError(f"{where}: 'in' must be a non-empty list of option ids")
        options = {o.id for o in referenced.options}
        wrong = [str(v) for v in values if v not in options]
        if wrong:
            raise QuestionnaireError(
                f"{where}: {', '.join(wrong)} not among the options of '{ref}' "
                f"({', '.join(sorted(options))})"
            )
        out.append(Condition(ref, tuple(str(v) for v in values)))
    return tuple(out)


def _question(index: int, data: Any) -> Question:
    where = f"question {index + 1}"
    if not isinstance(data, dict):
        raise QuestionnaireError(f"{where}: must be a mapping")
    qid = data.get("id")
    if not isinstance(qid, str) or not _ID.fullmatch(qid):
        raise QuestionnaireError(
            f"{where}: 'id' must be lowercase letters, digits and _, at most 24 characters"
        )
    where = f"question '{qid}'"
    known = {
        "id",
        "type",
        "prompt",
        "label",
        "help",
        "required",
        "options",
        "min_length",
        "max_length",
        "max_files",
        "receipt_option",
        "when",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise QuestionnaireError(f"{where}: unknown field(s) {', '.join(unknown)}")
    qtype = data.get("type")
    if qtype not in QUESTION_TYPES:
        raise QuestionnaireError(f"{where}: 'type' must be one of {', '.join(QUESTION_TYPES)}")
    prompt = _text(data, "prompt", where)
    label = _text(data, "label", where) if "label" in data else prompt
    help_text = _text(data, "help", where) if "help" in data else None
    required = data.get("required", False)
    if not isinstance(required, bool):
        raise QuestionnaireError(f"{where}: 'required' must be true or false")
    if required and qtype in ("language", "notice", "review"):
        raise QuestionnaireError(f"{where}: a '{qtype}' question cannot be required")
    options: tuple[QOption, ...] = ()
    if qtype == "choice":
        raw = data.get("options")
        if not isinstance(raw, list) or len(raw) < 2:
            raise QuestionnaireError(f"{where}: a choice needs at least two 'options'")
        options = tuple(_option(where, o) for o in raw)
        oids = [o.id for o in options]
        if len(set(oids)) != len(oids):
            raise QuestionnaireError(f"{where}: option ids must be unique")
    elif "options" in data:
        raise QuestionnaireError(f"{where}: only a 'choice' question has options")
    min_length = _count(data, "min_length", 1, where)
    max_length = _count(data, "max_length", 4000, where)
    if not 1 <= min_length <= max_length <= 4000:
        raise QuestionnaireError(f"{where}: need 1 <= min_length <= max_length <= 4000")
    max_files = _count(data, "max_files", 10, where)
    if not 1 <= max_files <= 50:
        raise QuestionnaireError(f"{where}: max_files must be between 1 and 50")
    receipt_option = data.get("receipt_option")
    if receipt_option is not None and (
        qtype != "choice" or receipt_option not in {o.id for o in options}
    ):
        raise QuestionnaireError(
            f"{where}: 'receipt_option' must name one of this choice question's options"
        )
    return Question(
        qid,
        qtype,
        prompt,
        label,
        help_text,
        required,
        options,
        min_length,
        max_length,
        max_files,
        receipt_option,
    )


def _option(where: str, data: Any) -> QOption:
    if not isinstance(data, dict) or set(data) != {"id", "label"}:
        raise QuestionnaireError(f"{where}: each option needs exactly 'id' and 'label'")
    oid = data["id"]
    if not isinstance(oid, str) or not _ID.fullmatch(oid):
        raise QuestionnaireError(
            f"{where}: option id {oid!r} must be lowercase letters, digits, _"
        )
    return QOption(oid, _text(data, "label", f"{where}, option '{oid}'"))


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise QuestionnaireError(f"{where}: '{key}' must be a non-empty text")
    return value.strip()


def _count(data: dict[str, Any], key: str, default: int, where: str) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise QuestionnaireError(f"{where}: '{key}' must be a whole number")
    return value
