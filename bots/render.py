"""Rendering the engine's actions in the tipster's language, and reading typed answers.

Every adapter (console, Telegram) renders through :class:`Renderer` and interprets typed
input through :func:`interpret`, so the channels show the same words and understand the
same answers. Catalogues are gettext ``.po`` files under ``locales/<lang>/LC_MESSAGES/``,
compiled in memory when first used.
"""

from __future__ import annotations

import gettext
import io
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from conversations import (
    BACK_OPTION,
    SKIP_OPTION,
    AnswerValue,
    Ask,
    Back,
    Cancel,
    ChangeLanguage,
    Choose,
    CountryName,
    Event,
    FollowUp,
    Help,
    Label,
    LanguageName,
    Msg,
    Questionnaire,
    ShowSafety,
    ShowSummary,
    Skip,
    Text,
    languages,
)
from conversations import messages as m
from conversations.actions import Plain
from conversations.answers import (
    AttachmentsAnswer,
    ChoiceAnswer,
    CountryAnswer,
    LinkItem,
    LinksAnswer,
    LocationAnswer,
    Skipped,
    SpeciesAnswer,
    TextAnswer,
)
from conversations.links import defang, defang_text
from conversations.messages import N_, MsgList
from conversations.places import normalise

__all__ = [
    "COMMAND_WORDS",
    "DOMAIN",
    "LOCALES_DIR",
    "STAFF_DOMAIN",
    "S_",
    "Renderer",
    "available_languages",
    "interpret",
    "staff_gettext",
    "translations",
]

DOMAIN = "tipline"
SOURCE_LANGUAGE = languages.SOURCE_LANGUAGE
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"

# Words a tipster can type instead of pressing a button, per command. Each is a msgid, so
# every language has its own words; the English ones and slash commands always work too.
COMMAND_WORDS: dict[Callable[[], Event], tuple[str, ...]] = {
    Cancel: (N_("cancel"),),
    Back: (N_("back"),),
    Skip: (N_("skip"),),
    Help: (N_("help"),),
    ChangeLanguage: (N_("language"),),
    ShowSafety: (N_("safety"),),
    FollowUp: (N_("followup"),),
}
PRECISION_LABELS = {
    "exact": m.PRECISION_EXACT,
    "1km": m.PRECISION_1KM,
    "10km": m.PRECISION_10KM,
    "country": m.PRECISION_COUNTRY,
}


def _catalogue_path(lang: str, domain: str = DOMAIN) -> Path:
    return LOCALES_DIR / lang / "LC_MESSAGES" / f"{domain}.po"


def available_languages(wanted: Iterable[str], domain: str = DOMAIN) -> tuple[str, ...]:
    """The languages of ``wanted`` that can really be shown: English, and those whose
    catalogue translates every message of the template. A language with a missing or
    incomplete catalogue is not offered, so nobody who chose it is answered in English.
    ``domain``: the tipsters' messages (``tipline``), or another set such as the desk's."""
    return tuple(lang for lang in wanted if lang == SOURCE_LANGUAGE or _complete(lang, domain))


@lru_cache(maxsize=64)
def _complete(lang: str, domain: str = DOMAIN) -> bool:
    path = _catalogue_path(lang, domain)
    template = LOCALES_DIR / f"{domain}.pot"
    if not path.is_file() or not template.is_file():
        return False
    with template.open("rb") as pot:
        wanted = {m.id for m in read_po(pot) if m.id}
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang)
    done = set()
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and not message.fuzzy and all(strings):
            done.add(message.id)
    return wanted <= done


@lru_cache(maxsize=256)
def _command_words(lang: str, command: Callable[[], Event]) -> frozenset[str]:
    """Folded once per language, not for every line typed."""
    tr = _translations(lang)
    return frozenset(
        folded
        for word in COMMAND_WORDS[command]
        for folded in (_fold(word), _fold(tr.gettext(word)))
    )


def translations(lang: str, domain: str = DOMAIN) -> gettext.NullTranslations:
    """The catalogue of ``lang`` for ``domain`` (none: the English source texts)."""
    return _translations(lang, domain)


@lru_cache(maxsize=64)
def _translations(lang: str, domain: str = DOMAIN) -> gettext.NullTranslations:
    path = _catalogue_path(lang, domain)
    if lang == SOURCE_LANGUAGE or not path.is_file():
        return gettext.NullTranslations()
    compiled = path.with_suffix(".mo")  # as the container image ships them
    if compiled.is_file() and compiled.stat().st_mtime >= path.stat().st_mtime:
        with compiled.open("rb") as mo:
            return gettext.GNUTranslations(mo)
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


# The staff's words (the operator and reviewer desks, the review tools): a domain of their
# own, so that one still to translate never takes a language away from tipsters.
STAFF_DOMAIN = "desk"


def S_(message: str) -> str:
    """Marks a staff-facing text for the ``desk`` domain outside desk/ (extracted with
    ``-k S_``); translated where it is shown, with :func:`staff_gettext`."""
    return message


def _untranslated(message: str) -> str:
    return message


def staff_gettext(lang: str) -> Callable[[str], str]:
    """The staff's ``gettext`` in ``lang``: English (the texts as written) until the
    language's ``desk`` catalogue is complete, so a desk never speaks a mix."""
    if available_languages([lang], STAFF_DOMAIN):
        return translations(lang, STAFF_DOMAIN).gettext
    return _untranslated


def _locale(lang: str) -> Locale:
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(SOURCE_LANGUAGE)


def _degrees(value: float) -> str:
    """A coordinate as kept (at most 5 decimals), never in scientific notation."""
    text = f"{value:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _fold(text: str) -> str:
    """Typed words and labels compare without case, punctuation or Latin-script accents
    ("atras" is "atrás", "huỷ" is "hủy"); other scripts' marks are kept (they are letters)."""
    return normalise(text)


@dataclass(frozen=True)
class Renderer:
    """Turns message ids and labels into text in one language."""

    lang: str
    questionnaire: Questionnaire

    @property
    def translations(self) -> gettext.NullTranslations:
        return _translations(self.lang)

    @property
    def rtl(self) -> bool:
        return bool(_locale(self.lang).text_direction == "rtl")

    def isolate(self, text: str) -> str:
        """In a right-to-left language, wrap text that comes from elsewhere (the tipster's
        words, numbers, names) in Unicode bidi isolates (FSI ... PDI), so Latin words and
        numbers inside Arabic sentences keep their order in Telegram and in a terminal."""
        return f"\u2068{text}\u2069" if self.rtl and text else text

    def date(self, day: date) -> str:
        """A day in this language's long form ("23 novembre 2026")."""
        return str(format_date(day, "long", locale=_locale(self.lang)))

    def text(self, msg: Msg) -> str:
        tr = self.translations
        if msg.plural is not None and msg.n is not None:
            template = tr.ngettext(msg.id, msg.plural, msg.n)
        else:
            template = tr.gettext(msg.id)
        values = {k: self._value(v) for k, v in msg.values}
        try:
            return template.format(**values) if values else template
        except (KeyError, IndexError, ValueError):
            # A broken translation must never hide the message: fall back to English.
            source = msg.id if msg.plural is None or msg.n == 1 else msg.plural
            return source.format(**values) if values else source

    def _value(self, value: str | int | MsgList) -> str:
        if isinstance(value, MsgList):
            items = [self.msgid(i) for i in value.ids]
            return str(format_list(items, locale=_locale(self.lang))) if items else ""
        return self.isolate(str(value))

    def msgid(self, msgid: str) -> str:
        return self.translations.gettext(msgid)

    def label(self, label: Label) -> str:
        match label:
            case Msg():
                return self.text(label)
            case LanguageName(code):
                name = _locale(code).get_display_name(_locale(code))
                return name[:1].upper() + name[1:] if name else code
            case CountryName(code):
                return str(_locale(self.lang).territories.get(code, code))
            case Plain(text):
                return text

    def link(self, link: LinkItem) -> str:
        """A link defanged (``hxxps://example[.]com/...``), so that no app makes it
        clickable or fetches a preview; an onion address says it is one."""
        shown = defang(link)
        return self.text(Msg.of(m.LINK_ONION, link=shown)) if link.onion else shown

    def answer(self, step: str, value: AnswerValue) -> str:
        """An answer as the summary shows it, in this language. Links, also those inside
        free text, are shown defanged."""
        match value:
            case Skipped():
                return self.msgid(m.SUMMARY_SKIPPED)
            case TextAnswer(text):
                return defang_text(text)
            case LinksAnswer(_typed, links):
                if not links:
                    return self.msgid(m.SUMMARY_SKIPPED)
                return "\n".join(self.link(link) for link in links)
            case ChoiceAnswer(option):
                question = self.questionnaire.get(step)
                if question is not None and question.type == "language":
                    return self.label(LanguageName(option))
                labels = {o.id: o.label for o in question.options} if question else {}
                return self.msgid(labels[option]) if option in labels else option
            case CountryAnswer(code, _typed):
                return self.label(CountryName(code))
            case LocationAnswer(precision, lat, lon):
                precision_text = self.msgid(PRECISION_LABELS.get(precision, precision))
                if lat is None or lon is None:
                    return precision_text
                return self.text(
                    Msg.of(
                        m.SUMMARY_LOCATION,
                        latitude=_degrees(lat),
                        longitude=_degrees(lon),
                        precision=precision_text,
                    )
                )
            case SpeciesAnswer(items):
                if not items:
                    return self.msgid(m.SUMMARY_SKIPPED)
                return "; ".join(defang_text(item.shown or item.typed) for item in items)
            case AttachmentsAnswer(files):
                if not files:
                    return self.msgid(m.SUMMARY_SKIPPED)
                return self.text(Msg.plural_of(m.SUMMARY_FILES, len(files)))

    def summary(self, summary: ShowSummary) -> list[tuple[str, str]]:
        """(label, answer) lines; in a right-to-left language each answer is isolated, so
        the tipster's Latin words and numbers keep their order."""
        return [
            (self.text(item.label), self.isolate(self.answer(item.step, item.value)))
            for item in summary.items
        ]

    def command_words(self, command: Callable[[], Event]) -> frozenset[str]:
        """The words, folded, that mean ``command`` in this language (or in English)."""
        return _command_words(self.lang, command)


def interpret(ask: Ask | None, typed: str, renderer: Renderer) -> Event:
    """A typed line as an event: a command word, an option (its number or its text), or
    free text. Numbers are 1..n for the options, and 0 for "I don't know" when the question
    can be skipped."""
    folded = " ".join(unicodedata.normalize("NFKC", typed).casefold().split())
    bare = folded.removeprefix("/")
    if not bare.startswith("/"):
        word = _fold(bare)
        for command in COMMAND_WORDS:
            if word in renderer.command_words(command):
                return command()
    if ask is None:
        return Text(typed)
    if folded == "0" and ask.skippable:
        return Choose(ask.step, SKIP_OPTION)
    if folded.isdecimal() and ask.options and ask.expects in ("choice", "attachments"):
        number = int(folded)
        if 1 <= number <= len(ask.options):
            return Choose(ask.step, ask.options[number - 1].id)
    for option in ask.options:
        if _fold(folded) == _fold(renderer.label(option.label)):
            return Choose(ask.step, option.id)
    if ask.skippable and _fold(folded) == _fold(renderer.msgid(m.SKIP)):
        return Choose(ask.step, SKIP_OPTION)
    if ask.can_go_back and _fold(folded) == _fold(renderer.msgid(m.BACK)):
        return Choose(ask.step, BACK_OPTION)
    return Text(typed)
