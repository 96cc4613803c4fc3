"""Places: country names in every supported language, typed coordinates, precision."""

from __future__ import annotations

import math
import unicodedata

import pytest
from babel import Locale
from hypothesis import given
from hypothesis import strategies as st

from conversations.languages import SUPPORTED_LANGUAGES
from conversations.places import (
    PRECISIONS,
    apply_precision,
    country_codes,
    match_country,
    normalise,
    parse_coordinates,
)

LANGUAGES = SUPPORTED_LANGUAGES
COUNTRIES = ("KE", "TZ", "VN", "CN", "BR", "ID", "MY", "LA", "KH", "MM", "IN", "RU", "CD")


def cldr_name(lang: str, code: str) -> str:
    return str(Locale.parse(lang).territories[code])


# -- country names -----------------------------------------------------------------------


def test_country_codes_are_real_countries() -> None:
    codes = country_codes()
    assert len(codes) > 240
    assert list(codes) == sorted(set(codes))
    assert all(len(c) == 2 and c.isalpha() and c.isupper() for c in codes)
    assert set(COUNTRIES) <= set(codes)
    assert {"CG", "CF", "ZA", "GB", "US"} <= set(codes)
    # Groupings and placeholders are not countries a tipster means.
    assert not {"EU", "UN", "ZZ", "AQ", "001", "150"} & set(codes)


@pytest.mark.parametrize("code", COUNTRIES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_own_language_name_matches_that_country_first(lang: str, code: str) -> None:
    name = cldr_name(lang, code)
    found = match_country(name, LANGUAGES)
    assert found, name
    assert found[0] == code, (name, found)


@pytest.mark.parametrize("code", COUNTRIES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_own_language_name_with_only_that_language(lang: str, code: str) -> None:
    found = match_country(cldr_name(lang, code), [lang])
    assert found[:1] == (code,)


@pytest.mark.parametrize(
    ("lang", "code"),
    [("en", "KE"), ("zh_Hans", "KE"), ("ru", "KE"), ("vi", "VN"), ("lo", "LA"), ("sw", "TZ")],
)
def test_names_from_other_scripts_are_confident(lang: str, code: str) -> None:
    assert match_country(cldr_name(lang, code), LANGUAGES) == (code,)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Kenya", "KE"),
        ("肯尼亚", "KE"),
        ("Кения", "KE"),
        ("Việt Nam", "VN"),
        ("ລາວ", "LA"),
        ("Tanzania", "TZ"),
        ("Brasil", "BR"),
        ("Myanmar", "MM"),
        ("Burma", "MM"),  # the part in brackets of "Myanmar (Burma)"
        ("Côte d'Ivoire", "CI"),
    ],
)
def test_typed_examples(typed: str, code: str) -> None:
    assert match_country(typed, LANGUAGES) == (code,)


def test_babel_still_names_the_examples_as_typed() -> None:
    # The typed examples above are what CLDR calls these countries.
    assert cldr_name("en", "KE") == "Kenya"
    assert cldr_name("zh_Hans", "KE") == "肯尼亚"
    assert cldr_name("ru", "KE") == "Кения"
    assert cldr_name("vi", "VN") == "Việt Nam"
    assert cldr_name("lo", "LA") == "ລາວ"


@pytest.mark.parametrize("lang", ["fr", "sw", "ru", "zh_Hans", "th"])
def test_english_names_work_whatever_the_languages(lang: str) -> None:
    assert match_country("Tanzania", [lang]) == ("TZ",)
    assert match_country("Kenya", [lang]) == ("KE",)


def test_a_language_not_asked_for_is_not_searched() -> None:
    # The Russian name is known only when Russian is among the languages.
    assert match_country("Кения", ["ru"]) == ("KE",)
    assert match_country("Кения", ["fr"]) != ("KE",)


def test_unknown_language_codes_are_ignored() -> None:
    assert match_country("Kenya", ["xx", "not a locale"]) == ("KE",)


@pytest.mark.parametrize(
    "typed",
    [
        "KENYA",
        "kenya",
        "  Kenya  ",
        "\tKenya\n",
        "Ｋｅｎｙａ",  # full-width letters
        "kenya.",
        "«Kenya»",
    ],
)
def test_case_width_punctuation_and_space_do_not_matter(typed: str) -> None:
    assert match_country(typed, LANGUAGES) == ("KE",)


@pytest.mark.parametrize(
    "typed",
    [
        "Viet Nam",
        "viet nam",
        "VIỆT NAM",
        "Việt   Nam",
        unicodedata.normalize("NFD", "Việt Nam"),
    ],
)
def test_diacritics_do_not_matter(typed: str) -> None:
    assert match_country(typed, LANGUAGES) == ("VN",)


@pytest.mark.parametrize("typed", ["côte d’ivoire", "COTE D'IVOIRE", "cote d ivoire"])
def test_apostrophes_and_accents_in_names(typed: str) -> None:
    assert match_country(typed, LANGUAGES) == ("CI",)


@pytest.mark.parametrize("typed", ["congo", "Congo", "CONGO"])
def test_congo_is_ambiguous(typed: str) -> None:
    found = match_country(typed, LANGUAGES)
    assert set(found) == {"CD", "CG"}


def test_full_congo_names_are_confident() -> None:
    assert match_country(cldr_name("en", "CD"), LANGUAGES) == ("CD",)
    assert match_country(cldr_name("fr", "CD"), LANGUAGES) == ("CD",)
    assert match_country(cldr_name("en", "CG"), LANGUAGES) == ("CG",)


@pytest.mark.parametrize(
    ("typed", "code"),
    [("Tanznia", "TZ"), ("Kenyaa", "KE"), ("Mozambiqe", "MZ"), ("Indoneisa", "ID")],
)
def test_near_miss_typo_is_among_the_results(typed: str, code: str) -> None:
    found = match_country(typed, LANGUAGES)
    assert code in found
    assert len(found) <= 5


def test_prefix_finds_a_country() -> None:
    assert match_country("Tanzan", LANGUAGES) == ("TZ",)
    assert match_country("Madagas", LANGUAGES) == ("MG",)


@pytest.mark.parametrize(
    "typed", ["rice", "", "   ", "!!!", "12345", "elephant ivory", "pangolin", "?", "-"]
)
def test_nonsense_matches_nothing(typed: str) -> None:
    assert match_country(typed, LANGUAGES) == ()


@pytest.mark.parametrize("typed", ["x" * 10_000, "Kenya " * 2_000, "Tanzania" * 500])
def test_very_long_text_matches_nothing(typed: str) -> None:
    assert match_country(typed, LANGUAGES) == ()


def test_car_is_not_a_country() -> None:
    assert match_country("car", LANGUAGES) == ()


@pytest.mark.parametrize(("typed", "code"), [("ke", "KE"), ("KE", "KE"), (" tz ", "TZ")])
def test_country_codes_work(typed: str, code: str) -> None:
    assert match_country(typed, LANGUAGES) == (code,)


def test_results_are_codes_without_repeats() -> None:
    codes = set(country_codes())
    for typed in ["congo", "China", "Tanznia", "guinea", "mal"]:
        found = match_country(typed, LANGUAGES)
        assert len(found) == len(set(found)), typed
        assert set(found) <= codes, typed
        assert len(found) <= 5, typed


def test_normalise() -> None:
    assert normalise("  Côte d’Ivoire ") == "cote d ivoire"
    assert normalise("São  Tomé & Príncipe") == "sao tome principe"
    assert normalise("Ｋｅｎｙａ") == "kenya"
    assert normalise("snake_case") == "snake case"
    assert normalise("!!!") == ""
    assert normalise("肯尼亚") == "肯尼亚"


def test_normalise_keeps_a_devanagari_word_whole() -> None:
    assert normalise("भारत") == "भारत"


@pytest.mark.parametrize(
    ("lang", "code", "expected"),
    [
        ("km", "GN", ("GN",)),
        # Burmese writes Guinea-Bissau as Guinea's name and a second word, as English does:
        # offering both is right; what must not happen is a third, unrelated country.
        ("my", "GN", ("GN", "GW")),
        ("hi", "TO", ("TO",)),
    ],
)
def test_own_name_in_a_script_with_vowel_signs_matches_it(
    lang: str, code: str, expected: tuple[str, ...]
) -> None:
    assert match_country(cldr_name(lang, code), [lang]) == expected


# -- coordinates -------------------------------------------------------------------------

NAIROBI = (-1.2921, 36.8219)


@pytest.mark.parametrize(
    "typed",
    [
        "-1.2921, 36.8219",
        "-1.2921,36.8219",
        "-1.2921 36.8219",
        "-1.2921   36.8219",
        "(-1.2921; 36.8219)",
        "(-1.2921, 36.8219)",
        "  -1.2921 ,  36.8219  ",
        "\n-1.2921, 36.8219\n",
        "-1.2921\u00a036.8219",
        "－１．２９２１，　３６．８２１９",  # full-width digits and punctuation
        "-1,2921; 36,8219",  # decimal commas with a semicolon
        "(-1,2921;36,8219)",
        "-1,2921 36,8219",  # decimal commas with a space
    ],
)
def test_valid_coordinates(typed: str) -> None:
    assert parse_coordinates(typed) == NAIROBI


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("90, 180", (90.0, 180.0)),
        ("-90, -180", (-90.0, -180.0)),
        ("+1.5, +2.5", (1.5, 2.5)),
        ("0 0", (0.0, 0.0)),
        ("12, 100", (12.0, 100.0)),
        ("١.٢, ٣٦.٨", (1.2, 36.8)),  # Arabic-Indic digits
    ],
)
def test_coordinates_at_the_edges(typed: str, expected: tuple[float, float]) -> None:
    assert parse_coordinates(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "91, 0",
        "-91, 0",
        "0, 181",
        "0, -181",
        "90.0001, 0",
        "0, 180.5",
        "nan, 0",
        "NaN NaN",
        "0, nan",
        "inf, 0",
        "-inf 5",
        "infinity, 1",
        "one, two",
        "hello",
        "Nairobi",
        "1.5 2.5 3.5",
        "1, 2, 3",
        "1.5; 2.5; 3.5",
        "",
        "   ",
        "12",
        "1e1, 2",
        "1234, 5",
        "1., 2.",
        ".5, .5",
        "1.5 - 2.5",
        "1.5,, 2.5",
        "S1.29 E36.82",
        "-1.2921° 36.8219°",
    ],
)
def test_invalid_coordinates(typed: str) -> None:
    assert parse_coordinates(typed) is None


@pytest.mark.parametrize("typed", ["1,2,3", "10,5,20"])
def test_three_comma_separated_numbers_are_refused(typed: str) -> None:
    assert parse_coordinates(typed) is None


latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)


@given(latitudes, longitudes)
def test_formatted_coordinates_read_back(lat: float, lon: float) -> None:
    found = parse_coordinates(f"{lat:.5f}, {lon:.5f}")
    assert found is not None
    assert math.isclose(found[0], lat, abs_tol=1e-5)
    assert math.isclose(found[1], lon, abs_tol=1e-5)


@given(latitudes, longitudes)
def test_decimal_comma_coordinates_read_back(lat: float, lon: float) -> None:
    typed = f"{lat:.4f}; {lon:.4f}".replace(".", ",")
    found = parse_coordinates(typed)
    assert found is not None
    assert math.isclose(found[0], lat, abs_tol=1e-4)
    assert math.isclose(found[1], lon, abs_tol=1e-4)


# -- precision ---------------------------------------------------------------------------


def test_precisions() -> None:
    assert PRECISIONS == {"exact": 5, "1km": 2, "10km": 1, "country": None}


@pytest.mark.parametrize(
    ("precision", "expected"),
    [
        ("exact", (-1.29215, 36.82195)),
        ("1km", (-1.29, 36.82)),
        ("10km", (-1.3, 36.8)),
    ],
)
def test_apply_precision_rounds(precision: str, expected: tuple[float, float]) -> None:
    assert apply_precision(-1.292149, 36.821951, precision) == expected


def test_country_precision_keeps_no_coordinates() -> None:
    assert apply_precision(-1.2921, 36.8219, "country") is None


def test_unknown_precision_is_an_error() -> None:
    with pytest.raises(KeyError):
        apply_precision(-1.2921, 36.8219, "street")


@pytest.mark.parametrize("precision", ["exact", "1km", "10km"])
def test_rounding_near_zero_gives_positive_zero(precision: str) -> None:
    rounded = apply_precision(-0.000001, -0.000001, precision)
    assert rounded == (0.0, 0.0)
    assert all(math.copysign(1.0, x) == 1.0 for x in rounded)


MAX_ERROR = {"exact": 0.5e-5 + 1e-9, "1km": 0.005 + 1e-9, "10km": 0.05 + 1e-9}


@given(latitudes, longitudes, st.sampled_from(sorted(MAX_ERROR)))
def test_rounded_point_stays_close(lat: float, lon: float, precision: str) -> None:
    rounded = apply_precision(lat, lon, precision)
    assert rounded is not None
    rlat, rlon = rounded
    assert abs(rlat - lat) <= MAX_ERROR[precision]
    assert abs(rlon - lon) <= MAX_ERROR[precision]
    assert -90 <= rlat <= 90
    assert -180 <= rlon <= 180
    places = PRECISIONS[precision]
    assert places is not None
    assert round(rlat, places) == rlat
    assert round(rlon, places) == rlon
    for value in rounded:
        assert math.copysign(1.0, value) == 1.0 or value != 0.0


@given(latitudes, longitudes)
def test_ten_km_points_lie_on_the_one_km_grid(lat: float, lon: float) -> None:
    # 10 km is a coarser grid than 1 km: its points are a subset of the 1 km points.
    ten = apply_precision(lat, lon, "10km")
    assert ten is not None
    assert all(round(v, 2) == v for v in ten)
