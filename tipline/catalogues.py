"""Checks on the gettext catalogues: complete, faithful, in the right script, short buttons.

``check_all()`` returns a list of problems (empty when all is well); ``tipline catalogues
check`` prints them, and the test suite fails on any. What is checked, per catalogue:

* every supported locale has one; every msgid of the code and the questionnaire is in
  the template and in every catalogue (a fresh extraction is compared with the template);
* no entry untranslated (every plural form), empty or fuzzy;
* placeholders (``{n}``), markup tags and line breaks as in the msgid; the text formats;
* it compiles to a ``.mo``;
* its letters are mostly in the locale's script, and a Latin-script catalogue is not
  mostly English left as it was;
* button labels fit on a button; the typed command words are single words, distinct from
  each other and from the buttons.
"""

from __future__ import annotations

import io
import re
import string
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bots.render import COMMAND_WORDS, DOMAIN, LOCALES_DIR, SOURCE_LANGUAGE
from bots.render import STAFF_DOMAIN as DESK_DOMAIN
from conversations import Questionnaire
from conversations import messages as m

__all__ = [
    "BUTTON_MAX",
    "SCRIPTS",
    "Problem",
    "button_msgids",
    "check_all",
    "check_catalogue",
    "extracted_msgids",
]

ROOT = LOCALES_DIR.parent
BUTTON_MAX = 32
# The script most letters of a catalogue must be written in.
SCRIPTS = {
    "fr": "LATIN",
    "es": "LATIN",
    "pt": "LATIN",
    "sw": "LATIN",
    "vi": "LATIN",
    "id": "LATIN",
    "ms": "LATIN",
    "ar": "ARABIC",
    "zh_Hans": "CJK",
    "th": "THAI",
    "lo": "LAO",
    "km": "KHMER",
    "my": "MYANMAR",
    "hi": "DEVANAGARI",
    "ru": "CYRILLIC",
}
SCRIPT_SHARE = 0.85  # of a catalogue's letters
UNCHANGED_SHARE = 0.15  # of a Latin-script catalogue's entries may equal the English
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_ENGINE_BUTTONS = (
    m.OTHER_LANGUAGE,
    m.SKIP,
    m.BACK,
    m.DONE,
    m.YES,
    m.NO,
    m.CONTINUE,
    m.CANCEL_REPORT,
    m.SEND,
    m.EDIT,
    m.BACK_TO_SUMMARY,
    m.PRECISION_EXACT,
    m.PRECISION_1KM,
    m.PRECISION_10KM,
    m.PRECISION_COUNTRY,
    m.CANCEL_YES,
    m.CANCEL_NO,
    m.WIPE_YES,
    m.WIPE_NO,
    m.SPECIES_NONE,
    m.SPECIES_UNSURE,
    m.SPECIES_ADD,
    m.SPECIES_DONE,
)


@dataclass(frozen=True)
class Problem:
    locale: str
    msgid: str
    what: str

    def __str__(self) -> str:
        short = self.msgid if len(self.msgid) <= 60 else self.msgid[:57] + "..."
        return f"{self.locale}: {self.what}" + (f" [{short!r}]" if short else "")


def button_msgids(questionnaire: Questionnaire) -> set[str]:
    """Every msgid shown on a button: options, question labels (the edit list), the
    engine's own buttons."""
    labels = {o.label for q in questionnaire.questions for o in q.options}
    labels |= {q.label for q in questionnaire.questions}
    return labels | set(_ENGINE_BUTTONS)


def extracted_msgids(domain: str = DOMAIN) -> set[str]:
    """The msgids in the code and questionnaire now (``domain`` ``desk``: in the desks'
    code and templates), extracted as ``scripts/catalogues`` does (the same method maps
    as ``babel.cfg`` and ``babel-desk.cfg``)."""
    options: dict[str, dict[str, str]] = {}
    if domain == DESK_DOMAIN:
        method_map = [
            ("desk/**.py", "python"),
            ("review/**.py", "python"),
            ("desk/templates/**.html", "jinja2"),
        ]
        options["desk/templates/**.html"] = {"trim_blocks": "true", "lstrip_blocks": "true"}
    else:
        method_map = [
            ("bots/**.py", "python"),
            ("conversations/**.py", "python"),
            ("review/**.py", "python"),
            ("tipline/**.py", "python"),
            ("conversations/**.yaml", "tipline_questionnaire"),
        ]
    found: set[str] = set()
    keywords: dict[str, tuple[int, ...] | None] = {"N_": None, "NP_": (1, 2)}
    if domain == DESK_DOMAIN:
        keywords["_"] = None  # the templates' marker (pybabel's default keywords have it)
        keywords["S_"] = None  # the staff's words outside desk/ (bots.render.S_)
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map=options, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _strings(message: Message) -> tuple[str, ...]:
    value = message.string
    if isinstance(value, tuple | list):
        return tuple(str(s) for s in value)
    return (str(value or ""),)


def _placeholders(text: str) -> list[str]:
    try:
        return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)
    except ValueError:
        return ["<unbalanced braces>"]


def _script(char: str) -> str:
    try:
        name = unicodedata.name(char)
    except ValueError:
        return "?"
    if name.startswith("CJK"):
        return "CJK"
    return name.split(" ", 1)[0]


def _letters(texts: Iterable[str]) -> list[str]:
    out = []
    for text in texts:
        text = re.sub(r"\{[^}]*\}", "", text)
        out += [c for c in text if unicodedata.category(c).startswith("L")]
    return out


def check_catalogue(
    catalog: Catalog,
    locale: str,
    template: set[str],
    buttons: set[str],
) -> list[Problem]:
    """Every problem of one catalogue against the template msgids."""
    problems: list[Problem] = []

    def problem(msgid: str, what: str) -> None:
        problems.append(Problem(locale, msgid, what))

    messages = {
        str(msg.id if isinstance(msg.id, str) else msg.id[0]): msg for msg in catalog if msg.id
    }
    plurals = catalog.num_plurals
    for msgid in sorted(template - set(messages)):
        problem(msgid, "missing from the catalogue")
    for msgid, msg in sorted(messages.items()):
        strings = _strings(msg)
        sources = (msg.id,) if isinstance(msg.id, str) else tuple(msg.id)
        if msg.fuzzy:
            problem(msgid, "fuzzy")
        if not all(s.strip() for s in strings):
            problem(msgid, "untranslated or empty")
            continue
        if len(sources) > 1 and len(strings) != plurals:
            problem(msgid, f"has {len(strings)} plural forms, the locale needs {plurals}")
        wanted = _placeholders(sources[0])
        for text in strings:
            if _placeholders(text) != wanted:
                problem(msgid, f"placeholders {_placeholders(text)} instead of {wanted}")
            if sorted(_TAG.findall(text)) != sorted(_TAG.findall(sources[0])):
                problem(msgid, "markup differs from the msgid")
            if text.count("\n") != sources[0].count("\n"):
                problem(msgid, "line breaks differ from the msgid")
            try:
                text.format(**dict.fromkeys(wanted, "1"))
            except (KeyError, IndexError, ValueError):
                problem(msgid, "does not format")
        if msgid in buttons and any(len(s) > BUTTON_MAX for s in strings):
            problem(msgid, f"too long for a button (over {BUTTON_MAX} characters)")
    try:
        write_mo(io.BytesIO(), catalog, use_fuzzy=False)
    except Exception as exc:  # any failure to compile is a problem to report, not a crash
        problem("", f"does not compile: {exc}")
    translated = [s for msg in messages.values() for s in _strings(msg) if s.strip()]
    letters = _letters(translated)
    script = SCRIPTS.get(locale)
    if script and letters:
        share = sum(_script(c) == script for c in letters) / len(letters)
        if share < SCRIPT_SHARE:
            problem("", f"only {share:.0%} of its letters are in the {script.lower()} script")
    if script == "LATIN" and messages:
        same = [
            i
            for i, msg in messages.items()
            if _strings(msg)[0].strip().casefold() == i.strip().casefold()
        ]
        if len(same) / len(messages) > UNCHANGED_SHARE:
            problem("", f"{len(same)} of {len(messages)} entries are the English unchanged")
    problems += _check_commands(catalog, locale, buttons)
    return problems


def _check_commands(catalog: Catalog, locale: str, buttons: set[str]) -> list[Problem]:
    problems = []
    words: dict[str, str] = {}
    translated_buttons = set()
    for msg in catalog:
        if isinstance(msg.id, str) and msg.id in buttons and msg.string:
            translated_buttons.add(str(msg.string).casefold())
    for forms in COMMAND_WORDS.values():
        for source in forms:
            found = catalog.get(source)
            word = str(found.string) if found is not None and found.string else ""
            if not word:
                continue
            if len(word.split()) > 2 or any(unicodedata.category(c).startswith("P") for c in word):
                problems.append(
                    Problem(locale, source, "a command word must be one short word (two at most)")
                )
            if word.casefold() in words:
                problems.append(
                    Problem(locale, source, f"same command word as {words[word.casefold()]!r}")
                )
            if word.casefold() in translated_buttons:
                problems.append(Problem(locale, source, "command word equals a button label"))
            words[word.casefold()] = source
    return problems


def catalogue_path(locale: str, domain: str = DOMAIN) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{domain}.po"


def check_all(locales: Sequence[str], questionnaire: Questionnaire) -> list[Problem]:
    """Problems of every catalogue of ``locales`` (English, the source, has none): the
    tipsters' (``tipline``) and the desks' (``desk``, named so in each problem)."""
    tipsters = _check_domain(DOMAIN, locales, button_msgids(questionnaire))
    desks = _check_domain(DESK_DOMAIN, locales, set())
    return tipsters + [Problem(f"{p.locale} ({DESK_DOMAIN})", p.msgid, p.what) for p in desks]


def _check_domain(domain: str, locales: Sequence[str], buttons: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    template_path = LOCALES_DIR / f"{domain}.pot"
    with template_path.open("rb") as pot:
        template = {
            str(msg.id if isinstance(msg.id, str) else msg.id[0]) for msg in read_po(pot) if msg.id
        }
    extracted = extracted_msgids(domain)
    for msgid in sorted(extracted - template):
        problems.append(
            Problem(
                "template", msgid, "used in code but not in the template (run scripts/catalogues)"
            )
        )
    for msgid in sorted(template - extracted):
        problems.append(
            Problem(
                "template", msgid, "in the template but no longer used (run scripts/catalogues)"
            )
        )
    for locale in locales:
        if locale == SOURCE_LANGUAGE:
            continue
        path = catalogue_path(locale, domain)
        if not path.is_file():
            problems.append(Problem(locale, "", "no catalogue"))
            continue
        with path.open("rb") as po:
            catalog = read_po(po, locale=Locale.parse(locale))
        problems += check_catalogue(catalog, locale, extracted | template, buttons)
    return problems
