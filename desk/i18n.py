"""The desks' own words (buttons, headings, notices) in the desk user's language.

They are gettext messages of their own domain, ``desk`` (``locales/<lang>/LC_MESSAGES/
desk.po``, template ``locales/desk.pot``), apart from the tipsters' ``tipline`` domain:
a desk text still to translate never takes a language away from tipsters. In templates
a text is marked ``_("...")``; in the code ``N_("...")`` and translated where it is
shown (outside desk/, in the review tools' rendering the desk shares, ``S_("...")`` of
bots.render, the same domain). A language is used for a desk only when its desk
catalogue is complete; until then that desk speaks English, whole, rather than a mix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Final

from babel import Locale, UnknownLocaleError

from bots.render import SOURCE_LANGUAGE, STAFF_DOMAIN, available_languages, staff_gettext

__all__ = ["DESK_DOMAIN", "Gettext", "desk_languages", "gettext_in", "negotiate"]

DESK_DOMAIN: Final = STAFF_DOMAIN
Gettext = Callable[[str], str]
_HANT: Final = frozenset({"TW", "HK", "MO"})


def desk_languages(wanted: Iterable[str]) -> tuple[str, ...]:
    """The languages of ``wanted`` a desk can be shown in (English always)."""
    return available_languages(wanted, DESK_DOMAIN)


#: The desk's ``gettext`` in a language (a language without a complete desk catalogue:
#: English); the same as the review tools' (texts marked ``S_`` outside desk/).
gettext_in: Callable[[str], Gettext] = staff_gettext


def negotiate(accept_language: str, offered: Sequence[str]) -> str:
    """The first language of a browser's ``Accept-Language`` that the desk speaks among
    ``offered``, for pages seen before signing in; English when there is none."""
    preferred: list[tuple[float, int, str]] = []
    for part in accept_language.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            preferred.append((-quality, len(preferred), tag.strip()))
    spoken = desk_languages(offered)
    for _, _, tag in sorted(preferred):
        try:
            wanted = Locale.parse(tag, sep="-")
        except (UnknownLocaleError, ValueError):
            continue
        script = wanted.script
        if script is None and wanted.language == "zh" and wanted.territory in _HANT:
            script = "Hant"  # zh-TW reads Traditional characters: not zh_Hans
        for lang in spoken:
            ours = Locale.parse(lang)
            if ours.language == wanted.language and script in (None, ours.script):
                return lang
    return SOURCE_LANGUAGE
