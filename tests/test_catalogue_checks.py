"""The catalogue checks fail on every kind of broken catalogue (and pass a sound one).

A sound catalogue is made by pseudo-localising the template (accented Latin letters,
placeholders and line breaks kept); each test breaks it in one way and expects exactly
that kind of problem.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bots.render import LOCALES_DIR
from conversations import messages as m
from tipline.catalogues import (
    BUTTON_MAX,
    button_msgids,
    check_catalogue,
    extracted_msgids,
)

from .dialogue import default_questionnaire

QUESTIONNAIRE = default_questionnaire()
BUTTONS = button_msgids(QUESTIONNAIRE)
_ACCENTS = str.maketrans("aeiouycnsAEIOUYCNS", "àéîõüÿçñšÀÉÎÕÜŸÇÑŠ")
_COMMANDS = {
    "cancel": "ànnùlér",
    "back": "rétõùr",
    "skip": "pàssér",
    "help": "àïdé",
    "language": "làngùé",
    "safety": "séçùrïté",
}


def _pseudo(text: str) -> str:
    parts = text.split("{")
    out = [parts[0].translate(_ACCENTS)]
    for part in parts[1:]:
        name, _, rest = part.partition("}")
        out.append("{" + name + "}" + rest.translate(_ACCENTS))
    return "".join(out)


def _template() -> Catalog:
    with (LOCALES_DIR / "tipline.pot").open("rb") as pot:
        return read_po(pot)


def sound_catalogue(locale: str = "fr") -> Catalog:
    catalog = Catalog(locale=Locale.parse(locale), domain="tipline")
    for msg in _template():
        if not msg.id:
            continue
        if isinstance(msg.id, tuple):
            singular, plural = str(msg.id[0]), str(msg.id[1])
            forms = tuple(_pseudo(plural if i else singular) for i in range(catalog.num_plurals))
            catalog.add(msg.id, forms)
        else:
            msgid = str(msg.id)
            catalog.add(msgid, _COMMANDS.get(msgid) or _pseudo(msgid))
    return catalog


TEMPLATE = {str(msg.id if isinstance(msg.id, str) else msg.id[0]) for msg in _template() if msg.id}


def _problems(catalog: Catalog, locale: str = "fr") -> list[str]:
    return [p.what for p in check_catalogue(catalog, locale, TEMPLATE, BUTTONS)]


def test_a_sound_catalogue_has_no_problems() -> None:
    assert _problems(sound_catalogue()) == []


def _edit(msgid: str, text: str) -> Callable[[Catalog], None]:
    def edit(catalog: Catalog) -> None:
        catalog[msgid].string = text

    return edit


def _fuzzy(catalog: Catalog) -> None:
    catalog[m.WELCOME].flags.add("fuzzy")


def _drop(catalog: Catalog) -> None:
    del catalog[m.WELCOME]


def _english(catalog: Catalog) -> None:
    for msg in catalog:
        if msg.id and isinstance(msg.id, str):
            msg.string = msg.id


BROKEN: dict[str, tuple[Callable[[Catalog], None], str]] = {
    "missing": (_drop, "missing from the catalogue"),
    "empty": (_edit(m.WELCOME, ""), "untranslated or empty"),
    "fuzzy": (_fuzzy, "fuzzy"),
    "placeholder renamed": (_edit(m.REASON_TOO_LONG, "Trop long: {maximum}."), "placeholders"),
    "placeholder dropped": (_edit(m.REASON_TOO_LONG, "Trop long."), "placeholders"),
    "unbalanced": (_edit(m.REASON_TOO_LONG, "Trop long: {max"), "placeholders"),
    "markup": (_edit(m.WELCOME, "<b>Bienvenue</b>"), "markup differs"),
    "line break": (_edit(m.WELCOME, "Bienvenue.\nIci."), "line breaks differ"),
    "long button": (_edit(m.SEND, "Envoyer le rapport " * 3), "too long for a button"),
    "command of many words": (_edit("cancel", "tout annuler tout de suite"), "one short word"),
    "command twice": (_edit("back", "ànnùlér"), "same command word"),
    "command is a button": (_edit("cancel", _pseudo(m.CANCEL_REPORT)), "equals a button"),
    "English left behind": (_english, "English unchanged"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_catalogue_is_caught(case: str) -> None:
    breaks, expected = BROKEN[case]
    catalog = copy.deepcopy(sound_catalogue())
    breaks(catalog)
    problems = _problems(catalog)
    assert any(expected in p for p in problems), problems


def test_wrong_script_is_caught() -> None:
    thai = sound_catalogue("th")  # Latin letters where Thai ones belong
    assert any("thai script" in p for p in _problems(thai, "th"))


def test_missing_plural_forms_are_caught() -> None:
    catalog = sound_catalogue("ru")
    singular, plural = m.FILES_RECEIVED.singular, m.FILES_RECEIVED.plural
    catalog[singular].string = (_pseudo(singular), _pseudo(plural))  # Russian needs three
    assert any("plural forms" in p for p in _problems(catalog, "ru"))


def test_the_buttons_fit_in_english_too() -> None:
    assert [b for b in BUTTONS if len(b) > BUTTON_MAX] == []


def test_extraction_finds_code_and_questionnaire_strings() -> None:
    found = extracted_msgids()
    assert m.WELCOME in found and m.FILES_RECEIVED.singular in found
    for question in QUESTIONNAIRE.questions:
        assert question.prompt in found and question.label in found
        assert all(o.label in found for o in question.options)
    assert found == TEMPLATE, "locales/tipline.pot is stale: run scripts/catalogues"
