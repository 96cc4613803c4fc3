"""A decrypted tip as a reviewer reads it, with rich.

Labels come from the same catalogues as the conversation (the questionnaire's labels,
"(not answered)", the precision names), dates and country and language names are in
the reviewer's language; the tipster's own words are shown as written. Everything that
comes out of a transcript is cleaned of terminal control and bidi override characters
before it is shown, so a crafted tip cannot rewrite the reviewer's screen.

:func:`tip_view` builds the view; :func:`render_text` turns any view into plain text
(for a pipe or an export), :func:`print_view` prints it in colour on a terminal.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TextIO

from babel import Locale, UnknownLocaleError
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from bots.render import S_, Renderer, staff_gettext
from conversations import LanguageName, Msg, Questionnaire
from conversations import messages as m
from conversations.answers import ChoiceAnswer, LinksAnswer, answer_from_json
from conversations.engine import clock
from conversations.links import defang_text

from .desk import ClaimKind, ThreadItem
from .tip import OpenedTip
from .verdicts import Verdict

__all__ = [
    "AnswerRow",
    "SpeciesLookup",
    "TaxonLike",
    "ViewOptions",
    "answer_rows",
    "attachments_summary",
    "category_question",
    "claim_status",
    "clean",
    "language_name",
    "location_pins",
    "map_link",
    "normalise_lang",
    "option_label",
    "partial_note",
    "print_view",
    "render_text",
    "thread_view",
    "tip_view",
    "transcript_rows",
    "verdict_view",
    "voice_note",
]

# Controls other than newline and tab, and the bidi embeddings, overrides and isolates
# (U+202A-U+202E, U+2066-U+2069) that could reorder what the reviewer sees.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_MAP_ZOOM = {"exact": 17, "1km": 14, "10km": 11}
_HIDDEN_TYPES = ("notice", "review", "language")
#: Shown under a tip's links: nothing in Tipline opens one, and a reviewer who does
#: tells that site that someone is looking.
LINKS_NOTE = S_(
    "Links are defanged and never opened by Tipline. Opening one contacts that site, which "
    "then sees that someone is looking: re-type it yourself (hxxp -> http, [.] -> .), and "
    "only on a machine and connection that may be seen doing so."
)


class TaxonLike(Protocol):
    @property
    def scientific(self) -> str: ...

    @property
    def cites(self) -> str | None: ...

    def name_in(self, lang: str) -> str: ...


class SpeciesLookup(Protocol):
    """What the view needs of the species catalogue (conversations.species.Catalogue)."""

    def get(self, taxon_id: str) -> TaxonLike | None: ...

    def product_name(self, form: str, lang: str) -> str: ...


@dataclass(frozen=True)
class ViewOptions:
    lang: str = "en"
    show_map: bool = False
    species: SpeciesLookup | None = None


def clean(text: object) -> str:
    """Text from a transcript, safe to print: no control or bidi override characters,
    tabs as spaces."""
    return _UNSAFE.sub("", str(text).replace("\t", " ").replace("\r\n", "\n"))


def _locale(lang: str) -> Locale:
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


def language_name(code: str, lang: str) -> str:
    """A language's own name, with its name in ``lang`` and its code:
    "Kiswahili (Swahili, sw)"; "English (en)" when both names are the same."""
    if not code:
        return "?"
    try:
        own = Renderer(lang, _EMPTY).label(LanguageName(code))
        theirs = Locale.parse(code).get_display_name(_locale(lang)) or code
    except (UnknownLocaleError, ValueError, TypeError):
        return clean(code)
    theirs = theirs[:1].upper() + theirs[1:]
    return f"{own} ({code})" if own == theirs else f"{own} ({theirs}, {code})"


def _size(size: object, lang: str = "en") -> str:
    tr = staff_gettext(lang)
    if not isinstance(size, int) or isinstance(size, bool):
        return tr(S_("size unknown"))
    in_bytes = tr(S_("{n} bytes")).format(n=size)
    if size < 1000:
        return in_bytes
    for unit, factor in (("MB", 1_000_000), ("kB", 1000)):
        if size >= factor:
            return f"{size / factor:.1f} {unit} ({in_bytes})"
    return in_bytes  # pragma: no cover


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and 0 <= value <= 1e7 else None


_SAID = {
    "own": S_("the tipster's own voice"),
    "other": S_("someone else's voice (kept as evidence)"),
    "unsure": S_("the tipster did not say whose voice"),
}


def voice_note(voice: object, *, lang: str = "en") -> str:
    """What a reviewer reads of a recording's voice: whether it was disguised, so that
    nobody treats its pitch as a clue ("VOICE DISGUISED: ..."), in the staff's words of
    ``lang``."""
    tr = staff_gettext(lang)
    if not isinstance(voice, Mapping):
        return tr(S_("voice: {details}")).format(details=_listing(voice, lang))
    said = tr(_SAID.get(str(voice.get("said")), S_("whose voice is not known")))
    if voice.get("disguised") is True:
        return tr(
            S_("VOICE DISGUISED ({said}): pitch and formants were shifted; not a clue")
        ).format(said=said)
    return tr(S_("voice not changed ({said})")).format(said=said)


def partial_note(partial: object, *, lang: str = "en") -> str:
    """What a reviewer reads of an attachment that arrived cut short: "PARTIAL: only the
    first 0:12 (12.04 s) of 0:40 (40 s) declared could be kept", in the staff's words of
    ``lang``."""
    tr = staff_gettext(lang)
    if not isinstance(partial, Mapping):
        return tr(S_("PARTIAL: {details}")).format(details=_listing(partial, lang))
    kept, declared = (
        _seconds(partial.get("kept_seconds")),
        _seconds(partial.get("declared_seconds")),
    )
    if kept is None:
        return tr(S_("PARTIAL: {details}")).format(details=_listing(partial, lang))
    if declared is None:
        said = S_(
            "PARTIAL: only the first {kept} ({kept_seconds} s) could be kept; the file arrived "
            "damaged and did not declare its length"
        )
    else:
        said = S_(
            "PARTIAL: only the first {kept} ({kept_seconds} s) of {declared} "
            "({declared_seconds} s) declared could be kept"
        )
    return tr(said).format(
        kept=clock(kept),
        kept_seconds=f"{kept:g}",
        declared=clock(declared) if declared is not None else "",
        declared_seconds=f"{declared:g}" if declared is not None else "",
    )


def map_link(latitude: float, longitude: float, precision: str) -> str:
    """An OpenStreetMap link to a pin, zoomed to its precision. Opening it tells the map
    server where the reviewer is looking, so it is only shown on request."""
    zoom = _MAP_ZOOM.get(precision, 12)
    return (
        f"https://www.openstreetmap.org/?mlat={latitude}&mlon={longitude}"
        f"#map={zoom}/{latitude}/{longitude}"
    )


def _listing(value: object, lang: str = "en") -> str:
    """What an attachment says was scrubbed, whatever its shape (list, mapping, text)."""
    if isinstance(value, Mapping):
        return ", ".join(f"{clean(k)}: {_listing(v, lang)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_listing(v, lang) for v in value) or staff_gettext(lang)(S_("nothing"))
    if isinstance(value, bool):
        return staff_gettext(lang)(S_("yes") if value else S_("no"))
    return clean(value)


# ----------------------------------------------------------------------------- answers
class _Answers:
    """Answers in one language (the reviewer's for the fields, the tipster's for the
    transcript)."""

    def __init__(self, lang: str, questionnaire: Questionnaire, options: ViewOptions) -> None:
        self.renderer = Renderer(lang, questionnaire)
        self.questionnaire = questionnaire
        self.options = options
        # The staff's own words are in the reviewer's language, whatever ``lang``.
        self.staff_lang = options.lang
        self.staff = staff_gettext(options.lang)

    def text(self, question_id: str, data: Any, *, detailed: bool) -> str:
        kind = data.get("type") if isinstance(data, dict) else None
        if not isinstance(data, dict):
            return clean(repr(data))
        if kind == "text":
            return clean(defang_text(str(data.get("text", ""))))
        if kind == "links" and detailed:
            return self._links(question_id, data)
        if kind == "country":
            name = self.renderer.answer(question_id, answer_from_json(data)) if _ok(data) else ""
            if not detailed:
                return clean(name or data.get("typed", ""))
            typed = self.staff(S_("typed: {typed}")).format(typed=clean(data.get("typed")))
            return f"{clean(name)} ({clean(data.get('code'))}; {typed})"
        if kind == "species":
            return "\n".join(self._species(data.get("items"), detailed=detailed))
        if kind == "attachments":
            files = data.get("files")
            if not isinstance(files, list) or not files:
                return self.renderer.msgid(m.SUMMARY_SKIPPED)
            if not detailed:  # as the tipster's summary said it: "1 file"
                return clean(self.renderer.text(Msg.plural_of(m.SUMMARY_FILES, len(files))))
            return "\n".join(self._file(f) for f in files)
        if kind == "choice" and data.get("option") == "continue":
            question = self.questionnaire.get(question_id)
            if question is not None and question.type == "notice":
                return self.renderer.msgid(m.CONTINUE)
        if kind == "location" and detailed:
            return self._location(question_id, data)
        try:
            return clean(self.renderer.answer(question_id, answer_from_json(data)))
        except (ValueError, KeyError):
            return clean(defang_text(str(data.get("text") or data.get("typed") or repr(data))))

    def _links(self, question_id: str, data: dict[str, Any]) -> str:
        try:
            value = answer_from_json(data)
        except ValueError:
            return clean(defang_text(repr(data)))
        if not isinstance(value, LinksAnswer) or not value.links:
            return self.renderer.msgid(m.SUMMARY_SKIPPED)
        lines = [clean(self.renderer.link(link)) for link in value.links]
        return "\n".join([*lines, f"({self.staff(LINKS_NOTE)})"])

    def _location(self, question_id: str, data: dict[str, Any]) -> str:
        try:
            shown = self.renderer.answer(question_id, answer_from_json(data))
        except ValueError:
            return clean(repr(data))
        lat, lon = data.get("latitude"), data.get("longitude")
        if self.options.show_map and isinstance(lat, int | float) and isinstance(lon, int | float):
            shown += "\n" + map_link(float(lat), float(lon), str(data.get("precision")))
        return clean(shown)

    def _file(self, info: Any) -> str:
        if not isinstance(info, dict):
            return clean(repr(info))
        index = info.get("index")
        parts = [f"{index if isinstance(index, int) else '?'}: {clean(info.get('kind', '?'))}"]
        lang = self.staff_lang
        parts.append(_size(info.get("size"), lang))
        if info.get("caption"):
            caption = clean(defang_text(str(info["caption"])))
            parts.append(self.staff(S_("caption: {caption}")).format(caption=caption))
        for key in ("scrubbed", "removed"):
            if key in info:
                details = _listing(info[key], lang)
                parts.append(self.staff(S_("scrubbed: {details}")).format(details=details))
        if info.get("partial") is not None:
            parts.append(partial_note(info["partial"], lang=lang))
        if info.get("voice") is not None:
            parts.append(voice_note(info["voice"], lang=lang))
        return ", ".join(parts)

    def _species(self, items: Any, *, detailed: bool) -> list[str]:
        if not isinstance(items, list) or not items:
            return [self.renderer.msgid(m.SUMMARY_SKIPPED)]
        return [self._species_item(i, detailed) for i in items]

    def _species_item(self, item: Any, detailed: bool) -> str:
        if not isinstance(item, dict):
            return clean(repr(item))
        typed = clean(defang_text(str(item.get("typed", ""))))
        if not detailed:
            return clean(defang_text(str(item.get("shown") or typed)))
        lang = self.renderer.lang
        catalogue = self.options.species
        taxon_id = item.get("taxon")
        found = catalogue.get(taxon_id) if catalogue and isinstance(taxon_id, str) else None
        line = f"“{typed}”"
        if isinstance(taxon_id, str):
            scientific = found.scientific if found else item.get("scientific") or taxon_id
            cites = found.cites if found else item.get("cites")
            parts = [clean(scientific)]
            if found is not None:
                parts.append(clean(found.name_in(lang)))
            elif item.get("shown"):
                parts.append(clean(item["shown"]))
            parts.append(
                self.staff(S_("CITES {appendix}")).format(appendix=clean(cites))
                if cites
                else self.staff(S_("not CITES-listed"))
            )
            product = item.get("product")
            if isinstance(product, str) and product:
                with contextlib.suppress(KeyError, ValueError):
                    product = catalogue.product_name(product, lang) if catalogue else product
                parts.append(clean(product))
            line += " → " + ", ".join(parts)
        status = item.get("status")
        if status and status != "chosen":
            line += f" [{clean(status)}]"
        proposed = item.get("proposed")
        if isinstance(proposed, list) and proposed:
            names = []
            for p in proposed:
                taxon = catalogue.get(p) if catalogue and isinstance(p, str) else None
                names.append(f"{taxon.scientific} ({taxon.name_in(lang)})" if taxon else str(p))
            proposed_names = "; ".join(clean(n) for n in names)
            line += " " + self.staff(S_("proposed: {names}")).format(names=proposed_names)
        return line

    def prompt(self, question_id: str, prompt: object) -> str:
        """The prompt in this view's language, on one line. Looked up as sealed first (a
        prompt of several paragraphs is a msgid with its line breaks), then with its
        spaces collapsed."""
        raw = str(prompt or "")
        text = " ".join(raw.split())
        if not text:
            return clean(f"[{question_id}]")
        translated = self.renderer.msgid(raw)
        if translated == raw:
            translated = self.renderer.msgid(text)
        return clean(" ".join(translated.split()))


def _ok(data: dict[str, Any]) -> bool:
    try:
        answer_from_json(data)
    except ValueError:
        return False
    return True


_EMPTY = Questionnaire(version=0, languages=("en",), default_language="en", questions=())


# ----------------------------------------------------------------------------- views
def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    return grid


def claim_status(how: ClaimKind | None, deliveries: int | None, *, lang: str = "en") -> str | None:
    """How the tip came to this reviewer, as ``next`` says it (None: not claimed now), in
    the staff's words of ``lang``."""
    tr = staff_gettext(lang)
    if how == "new":
        return tr(S_("new: first delivery, claimed by you"))
    if how == "again":
        return tr(S_("claimed by you already (delivery {delivery})")).format(delivery=deliveries)
    if how == "reclaimed":
        return tr(
            S_("reclaimed after another reviewer's claim went idle (delivery {delivery})")
        ).format(delivery=deliveries)
    return None


def tip_view(
    opened: OpenedTip,
    questionnaire: Questionnaire,
    options: ViewOptions,
    *,
    how: ClaimKind | None = None,
    deliveries: int | None = None,
    thread: tuple[int, Sequence[ThreadItem]] | None = None,
    verdict: Verdict | None = None,
    verdict_unreadable: bool = False,
) -> RenderableType:
    """The whole tip: header, every answer, the attachments, the transcript as the
    tipster saw it, the follow-up thread and the verdict."""
    reviewer = _Answers(options.lang, questionnaire, options)
    tr = reviewer.staff
    transcript = opened.transcript
    case = tr(S_("Case {case}")).format(case=opened.case_id)
    parts: list[RenderableType] = [Text(case, style="bold underline")]
    head = _grid()
    status = claim_status(how, deliveries, lang=options.lang)
    if status:
        head.add_row(tr(S_("Status")), Text(status))
    received = opened.received_on
    head.add_row(
        tr(S_("Received")),
        Text(
            reviewer.renderer.date(received) if received else clean(transcript.get("received_on"))
        ),
    )
    head.add_row(tr(S_("Channel")), Text(clean(transcript.get("channel", "?"))))
    language_question = questionnaire.first_of_type("language")
    head.add_row(
        reviewer.renderer.msgid(language_question.label)
        if language_question
        else tr(S_("Language")),
        Text(language_name(opened.language, options.lang)),
    )
    grid = head
    grid.add_row("", "")
    for row in answer_rows(opened, questionnaire, options):
        grid.add_row(row.label, Text(row.value))
    grid.add_row(tr(S_("Attachments")), Text(attachments_summary(opened, lang=options.lang)))
    parts.append(grid)

    tipster_lang = opened.language or "en"
    lines = Text()
    for prompt, answer in transcript_rows(opened, questionnaire, options):
        lines.append("Q ", style="bold")
        lines.append(prompt + "\n")
        lines.append("A ", style="bold")
        lines.append(answer + "\n")
    lines.rstrip()
    title = tr(S_("Transcript, as the tipster saw it ({language})")).format(
        language=language_name(tipster_lang, options.lang)
    )
    parts += [Text(""), Text(title, style="bold"), lines]
    if thread is not None:
        parts += [Text(""), thread_view(*thread, lang=options.lang)]
    if verdict is not None or verdict_unreadable:
        parts += [Text(""), verdict_view(verdict, lang=options.lang)]
    return Group(*parts)


@dataclass(frozen=True)
class AnswerRow:
    """One answer under its label in the reviewer's language."""

    question: str  # the question id
    label: str
    value: str  # cleaned text; several lines for species and attachments


def answer_rows(
    opened: OpenedTip, questionnaire: Questionnaire, options: ViewOptions
) -> list[AnswerRow]:
    """Every answer of the tip, in the questionnaire's order (answers to questions it no
    longer has last, under their ids), labelled in the reviewer's language; species
    with scientific names and CITES appendices, places with their precision."""
    reviewer = _Answers(options.lang, questionnaire, options)
    answers = opened.answers
    rows = []
    for question in questionnaire.questions:
        if question.id in answers and question.type not in _HIDDEN_TYPES:
            value = reviewer.text(question.id, answers[question.id], detailed=True)
            rows.append(AnswerRow(question.id, reviewer.renderer.msgid(question.label), value))
    for question_id, data in answers.items():
        if questionnaire.get(question_id) is None:
            value = reviewer.text(question_id, data, detailed=True)
            rows.append(AnswerRow(question_id, clean(question_id), value))
    return rows


def attachments_summary(opened: OpenedTip, *, lang: str = "en") -> str:
    """ "2 sealed", with what does not add up and which arrived cut short, in the staff's
    words of ``lang``."""
    tr = staff_gettext(lang)
    sealed = len(opened.sealed_attachments)
    listed = len(opened.listed_attachments)
    files = tr(S_("{n} sealed")).format(n=sealed)
    if sealed != listed:
        files += " " + tr(S_("(the transcript lists {n}: check the export)")).format(n=listed)
    partial = [a.get("index") for a in opened.listed_attachments if a.get("partial") is not None]
    if partial:
        which = ", ".join(str(i) if isinstance(i, int) else "?" for i in partial)
        files += "; " + tr(
            S_("PARTIAL (arrived cut short, only the beginning kept): {which}")
        ).format(which=which)
    return files


def transcript_rows(
    opened: OpenedTip, questionnaire: Questionnaire, options: ViewOptions
) -> list[tuple[str, str]]:
    """The questions and answers in order, in the tipster's language, as they saw them."""
    tipster = _Answers(opened.language or "en", questionnaire, options)
    rows = []
    for entry in opened.transcript.get("transcript", []):
        if not isinstance(entry, dict):
            continue
        question_id = str(entry.get("question"))
        rows.append(
            (
                tipster.prompt(question_id, entry.get("prompt")),
                tipster.text(question_id, entry.get("answer"), detailed=False),
            )
        )
    return rows


def location_pins(opened: OpenedTip) -> dict[str, tuple[float, float, str]]:
    """Per question id, the pin of a location answer: (latitude, longitude, precision)."""
    pins = {}
    for question_id, data in opened.answers.items():
        if isinstance(data, dict) and data.get("type") == "location":
            lat, lon = data.get("latitude"), data.get("longitude")
            if isinstance(lat, int | float) and isinstance(lon, int | float):
                pins[question_id] = (float(lat), float(lon), str(data.get("precision")))
    return pins


def thread_view(asked: int, items: Sequence[ThreadItem], *, lang: str = "en") -> RenderableType:
    """The follow-up thread: the questions reviewers asked (their sealed copies) and what
    the tipster answered or added."""
    tr = staff_gettext(lang)
    answers = sum(1 for i in items if i.kind == "answer")
    heading = tr(S_("Follow-up: {asked} question(s) asked, {answers} answer(s)"))
    out = Text(heading.format(asked=asked, answers=answers), style="bold")
    renderer = Renderer(lang, _EMPTY)
    for item in items:
        day = item.day
        with contextlib.suppress(ValueError, TypeError):
            day = renderer.date(date.fromisoformat(str(item.day)))
        shown_day = clean(day or "?")
        if item.kind == "question":
            if item.reviewer:
                said = tr(S_("Question by {reviewer}, {day}:")).format(
                    reviewer=clean(item.reviewer), day=shown_day
                )
            else:
                said = tr(S_("Question, {day}:")).format(day=shown_day)
            out.append(f"\n  {said}", style="bold")
        elif item.kind == "answer":
            if item.language:
                said = tr(S_("Answer, received {day} in {language}:")).format(
                    day=shown_day, language=language_name(item.language, lang)
                )
            else:
                said = tr(S_("Answer, received {day}:")).format(day=shown_day)
            out.append(f"\n  {said}", style="bold")
        else:
            said = tr(S_("(a message that cannot be opened: {reason})"))
            out.append("\n  " + said.format(reason=clean(item.text)))
            continue
        for line in clean(defang_text(item.text)).splitlines() or [""]:
            out.append(f"\n    {line}")
    return out


def verdict_view(verdict: Verdict | None, *, lang: str = "en") -> RenderableType:
    """The verdict and the earlier ones; the verdicts' names are their codes, as typed."""
    tr = staff_gettext(lang)
    if verdict is None:
        return Text(tr(S_("Verdict: recorded, but not sealed to your identities")), style="bold")
    renderer = Renderer(lang, _EMPTY)
    out = Text(tr(S_("Verdict: {verdict}")).format(verdict=verdict.verdict), style="bold")
    by = tr(S_("(by {reviewer}, {day})")).format(
        reviewer=clean(verdict.reviewer), day=renderer.date(verdict.decided_on)
    )
    out.append(f" {by}")
    if verdict.note:
        out.append(f"\n  {clean(verdict.note)}")
    for earlier in reversed(verdict.history):
        said = tr(S_("earlier: {verdict} by {reviewer}, {day}")).format(
            verdict=earlier.verdict,
            reviewer=clean(earlier.reviewer),
            day=renderer.date(earlier.decided_on),
        )
        out.append(f"\n  {said}" + (f": {clean(earlier.note)}" if earlier.note else ""))
    return out


# ----------------------------------------------------------------------------- output
def render_text(renderable: RenderableType, width: int | None = None) -> str:
    """Plain text, no colour. ``width`` None: lines are never wrapped (for pipes and
    scripts that look for a value); a number: wrapped to it (for files people read)."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width or 100_000,
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
    )
    console.print(renderable)
    lines = [line.rstrip() for line in buffer.getvalue().splitlines()]
    return "\n".join(lines).rstrip("\n") + "\n"


def print_view(renderable: RenderableType, file: TextIO | None = None) -> None:
    """In colour and wrapped on a terminal, as plain unwrapped text otherwise."""
    out = file or sys.stdout
    console = Console(file=out, highlight=False, emoji=False, markup=False)
    if console.is_terminal:
        console.print(renderable)
    else:
        out.write(render_text(renderable))
        out.flush()


def normalise_lang(lang: str) -> str:
    """A language code as the catalogues spell it (``zh-Hans`` -> ``zh_Hans``)."""
    return unicodedata.normalize("NFKC", lang).strip().replace("-", "_")


def category_question(questionnaire: Questionnaire) -> str | None:
    """The question that says what kind of crime a tip reports: ``category`` if the
    questionnaire has it, else its first choice question that is not the receipt one."""
    if questionnaire.get("category") is not None:
        return "category"
    receipt = questionnaire.receipt_question()
    for question in questionnaire.questions:
        if question.type == "choice" and question is not receipt:
            return question.id
    return None


def option_label(renderer: Renderer, question_id: str, option: str) -> str:
    """A choice answer's option as the reviewer reads it (``skipped``: "I don't know";
    ``none``: no answer), in the renderer's language."""
    if option == "skipped":
        return renderer.msgid(m.SUMMARY_SKIPPED)
    if option == "none":
        return staff_gettext(renderer.lang)(S_("(no answer)"))
    return clean(renderer.answer(question_id, ChoiceAnswer(option)))
