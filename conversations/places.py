"""Places: countries typed in any supported language, coordinates and their precision.

Country names come from CLDR (through Babel) in every supported language, so a Swahili
speaker typing "Kenya" and a Chinese speaker typing "肯尼亚" both land on ``KE``.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from babel import Locale, UnknownLocaleError

__all__ = [
    "PRECISIONS",
    "apply_precision",
    "confident_country",
    "country_codes",
    "match_country",
    "normalise",
    "parse_coordinates",
]

# CLDR territories that are not countries a tipster would mean.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "XK", "ZZ", "AQ"})
_MAX_COUNTRY_QUERY = 60
# Precision id -> decimal places kept. 2 places is a cell of about 1.1 km, 1 place about 11 km.
PRECISIONS: dict[str, int | None] = {"exact": 5, "1km": 2, "10km": 1, "country": None}


def _strip_accent(previous: str) -> bool:
    """Accents on Latin, Greek and Cyrillic letters are dropped ("Côte" = "cote"); the marks
    of other scripts (Devanagari vowel signs, Khmer and Burmese marks) are part of the word."""
    try:
        return unicodedata.name(previous).startswith(("LATIN", "GREEK", "CYRILLIC"))
    except ValueError:
        return False


def normalise(text: str) -> str:
    """Case-fold, drop Latin-script diacritics and punctuation, fold compatibility forms and
    spaces; letters, digits and the marks of every script are kept."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    kept: list[str] = []
    base = ""
    for char in decomposed:
        category = unicodedata.category(char)
        if category.startswith("M"):
            if base and not _strip_accent(base):
                kept.append(char)
            continue
        base = char
        kept.append(char if category[0] in "LN" else " ")
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).split())


@lru_cache(maxsize=1)
def country_codes() -> tuple[str, ...]:
    english = [str(code) for code in Locale("en").territories]
    return tuple(
        sorted(
            code
            for code in english
            if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
        )
    )


@lru_cache(maxsize=32)
def _index(languages: tuple[str, ...]) -> dict[str, frozenset[str]]:
    codes = set(country_codes())
    index: dict[str, set[str]] = {}
    for lang in (*languages, "en"):
        try:
            names = {str(k): str(v) for k, v in Locale.parse(lang).territories.items()}
        except (UnknownLocaleError, ValueError):
            continue
        for code, name in names.items():
            if code in codes:
                for variant in _variants(name):
                    index.setdefault(normalise(variant), set()).add(code)
    for code in codes:
        index.setdefault(code.casefold(), set()).add(code)
    return {name: frozenset(found) for name, found in index.items() if name}


def _variants(name: str) -> tuple[str, ...]:
    """A CLDR name and, for "Myanmar (Burma)", each part on its own."""
    m = re.match(r"^(.*?)\s*[(（](.*?)[)）]\s*$", name)
    return (name, m.group(1), m.group(2)) if m else (name,)


def confident_country(text: str, languages: Iterable[str]) -> str | None:
    """The country the text names exactly (in any of the languages), if only one."""
    query = normalise(text[: _MAX_COUNTRY_QUERY * 2])
    found = _index(tuple(languages)).get(query) if query else None
    if found and len(found) == 1 and len(match_country(text, languages)) == 1:
        return next(iter(found))
    return None


def match_country(text: str, languages: Iterable[str]) -> tuple[str, ...]:
    """Countries the text may name, best first: exact names, then names it begins (four
    letters or more), then near misses. Only :func:`confident_country` is an answer;
    these are candidates to offer."""
    query = normalise(text[: _MAX_COUNTRY_QUERY * 2])
    if not query or len(query) > _MAX_COUNTRY_QUERY:
        return ()  # no country name is this long; fuzzy matching it would only cost time
    index = _index(tuple(languages))
    exact = index.get(query)
    if exact:
        # "Congo" names two countries whose other names begin with the same word.
        also = {c for name, cs in index.items() if name.startswith(query + " ") for c in cs}
        others = sorted(also - exact)
        return (*sorted(exact), *others) if len(others) <= 4 else tuple(sorted(exact))
    prefixed = sorted({c for name, cs in index.items() if name.startswith(query) for c in cs})
    if len(query) >= 4 and 1 <= len(prefixed) <= 5:
        return tuple(prefixed)
    if len(query) < 4:
        return ()  # too short to guess from: "car" is not Costa Rica
    close = difflib.get_close_matches(query, [n for n in index if len(n) >= 4], n=5, cutoff=0.8)
    found: list[str] = []
    for name in close:
        for code in sorted(index[name]):
            if code not in found:
                found.append(code)
    return tuple(found[:5])


_NUMBER = r"[+-]?\d{1,3}(?:\.\d+)?"
_NUMBER_COMMA = r"[+-]?\d{1,3},\d+"
# "-1.2921, 36.8219" / "-1.2921 36.8219" / "(-1.2921; 36.8219)", and with decimal commas
# "-1,2921; 36,8219" or "-1,2921 36,8219" (then the numbers need a semicolon or a space).
_COORDS = (
    re.compile(rf"\(?\s*({_NUMBER})\s*(?:[,;]|\s)\s*({_NUMBER})\s*\)?"),
    re.compile(rf"\(?\s*({_NUMBER_COMMA})\s*(?:;|\s)\s*({_NUMBER_COMMA})\s*\)?"),
)


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """Read "lat, lon" typed as decimal degrees; None if it is not that or out of range."""
    text = unicodedata.normalize("NFKC", text).strip()
    for pattern in _COORDS:
        m = pattern.fullmatch(text)
        if m:
            try:
                lat = float(m.group(1).replace(",", "."))
                lon = float(m.group(2).replace(",", "."))
            except ValueError:
                return None
            return (lat, lon) if valid_coordinates(lat, lon) else None
    return None


def valid_coordinates(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def apply_precision(lat: float, lon: float, precision: str) -> tuple[float, float] | None:
    """Round a pin to the chosen precision before it is stored; None keeps no coordinates."""
    places = PRECISIONS[precision]
    if places is None:
        return None
    return round(lat, places) + 0.0, round(lon, places) + 0.0
