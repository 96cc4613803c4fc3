"""The species matcher on the small fixture catalogue (tests/species_fixture.yaml) with the
shipped product words: exact, fuzzy and cross-script matches, product words in several
languages, confidence, and queries that name no wildlife."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.species import PRODUCT_FORMS, Candidate, Catalogue, Document

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "species_fixture.yaml"
PRODUCTS = ROOT / "conversations" / "species_data" / "products.yaml"


@cache
def catalogue() -> Catalogue:
    return Catalogue.from_documents(
        [Document(FIXTURE.name, FIXTURE.read_text("utf-8"))],
        Document(PRODUCTS.name, PRODUCTS.read_text("utf-8")),
    )


def search(query: str, lang: str | None = None, limit: int = 3) -> list[Candidate]:
    return catalogue().search(query, lang, limit)


def top(query: str, lang: str | None = None) -> Candidate:
    found = search(query, lang)
    assert found, f"nothing for {query!r}"
    return found[0]


def ids(query: str, lang: str | None = None, limit: int = 3) -> list[str]:
    return [c.taxon.id for c in search(query, lang, limit)]


# ----------------------------------------------------------------------------- exact
@pytest.mark.parametrize(
    ("query", "lang", "expected"),
    [
        ("pangolin", "en", "fx_pangolins"),
        ("Pangolin", "fr", "fx_pangolins"),
        ("trenggiling", "id", "fx_pangolins"),
        ("kakakuona", "sw", "fx_pangolins"),
        ("tembo", "sw", "fx_elephant_african"),
        ("ndovu", "sw", "fx_elephant_african"),
        ("carey", "es", "fx_hawksbill"),
        ("đồi mồi", "vi", "fx_hawksbill"),
        ("doi moi", "vi", "fx_hawksbill"),
        ("palo de rosa", "es", "fx_rosewoods"),
        ("ตัวนิ่ม", "th", "fx_pangolins"),
        ("ពង្រូល", "km", "fx_pangolins"),
        ("သင်ခွေချပ်", "my", "fx_pangolins"),
        ("ລິ່ນ", "lo", "fx_pangolins"),
        ("गैंडा", "hi", "fx_rhinos"),
        ("وحيد القرن", "ar", "fx_rhinos"),
        ("носорог", "ru", "fx_rhinos"),
        ("Manis javanica", None, "fx_pangolin_sunda"),
        ("ng'amba", "sw", "fx_hawksbill"),
    ],
)
def test_exact_names(query: str, lang: str | None, expected: str) -> None:
    best = top(query, lang)
    assert best.taxon.id == expected
    assert best.confidence == 1.0
    assert best.confidence >= Catalogue.CONFIDENT


def test_matched_is_the_catalogue_name_as_written() -> None:
    assert top("doi moi", "vi").matched == "đồi mồi"
    assert top("PANGOLIN", "en").matched == "pangolin"


def test_a_name_inside_a_sentence() -> None:
    best = top("I saw a pangolin at the market in Lagos", "en")
    assert best.taxon.id == "fx_pangolins"
    assert best.confidence >= Catalogue.CONFIDENT
    assert top("tôi thấy tê tê ở chợ", "vi").taxon.id == "fx_pangolins"
    assert top("我在市场看到穿山甲", "zh_Hans").taxon.id == "fx_pangolins"


def test_shared_names_rank_the_taxon_that_lists_it_first() -> None:
    # "pangolin" is the first English name of the family, the third of the Sunda pangolin
    assert ids("pangolin", "en") == ["fx_pangolins", "fx_pangolin_sunda"]
    assert set(ids("elephant", "en", 5)) == {"fx_elephant_african", "fx_elephant_asian"}


# ----------------------------------------------------------------------------- products
@pytest.mark.parametrize(
    ("query", "lang", "expected", "product"),
    [
        ("pangolin scales", "en", "fx_pangolins", "scales"),
        ("écailles de pangolin", "fr", "fx_pangolins", "scales"),
        ("escamas de pangolín", "es", "fx_pangolins", "scales"),
        ("sisik trenggiling", "id", "fx_pangolins", "scales"),
        ("sisik tenggiling", "ms", "fx_pangolins", "scales"),
        ("vảy tê tê", "vi", "fx_pangolins", "scales"),
        ("穿山甲片", "zh_Hans", "fx_pangolins", "scales"),
        ("穿山甲鳞片", "zh_Hans", "fx_pangolins", "scales"),
        ("เกล็ดตัวนิ่ม", "th", "fx_pangolins", "scales"),
        ("magamba ya kakakuona", "sw", "fx_pangolins", "scales"),
        ("чешуя панголина", "ru", "fx_pangolins", "scales"),
        ("ngà voi", "vi", "fx_elephant_african", "ivory"),
        ("pembe za ndovu", "sw", "fx_elephant_african", "ivory"),
        ("défenses d'éléphant", "fr", "fx_elephant_african", "ivory"),
        ("marfil de elefante", "es", "fx_elephant_african", "ivory"),
        ("عاج الفيل", "ar", "fx_elephant_african", "ivory"),
        ("งาช้าง", "th", "fx_elephant_african", "ivory"),
        ("हाथी दांत", "hi", "fx_elephant_african", "ivory"),
        ("海象牙", "zh_Hans", "fx_walrus", "ivory"),
        ("rhino horn", "en", "fx_rhinos", "horn"),
        ("sừng tê giác", "vi", "fx_rhinos", "horn"),
        ("犀牛角", "zh_Hans", "fx_rhinos", "horn"),
        ("cula badak", "id", "fx_rhinos", "horn"),
        ("pembe ya faru", "sw", "fx_rhinos", "horn"),
        ("นอแรด", "th", "fx_rhinos", "horn"),
        ("рог носорога", "ru", "fx_rhinos", "horn"),
        ("tiger bones", "en", "fx_tiger", "bones"),
        ("xương hổ", "vi", "fx_tiger", "bones"),
        ("虎骨", "zh_Hans", "fx_tiger", "bones"),
        ("shark fin soup", "en", "fx_sharks", "fins"),
        ("vi cá mập", "vi", "fx_sharks", "fins"),
        ("sirip hiu", "id", "fx_sharks", "fins"),
        ("mật gấu", "vi", "fx_bears", "bile"),
        ("熊胆", "zh_Hans", "fx_bears", "bile"),
        ("empedu beruang", "id", "fx_bears", "bile"),
        ("gỗ trắc", "vi", "fx_rosewood_siamese", "timber"),
        ("bois de rose", "fr", "fx_rosewoods", "timber"),
        ("minyak gaharu", "id", "fx_agarwood", "resin"),
    ],
)
def test_product_words_are_split_off(query: str, lang: str, expected: str, product: str) -> None:
    best = top(query, lang)
    assert (best.taxon.id, best.product) == (expected, product)
    assert best.product_stated
    assert best.confidence >= Catalogue.CONFIDENT


def test_a_product_word_alone_proposes_the_taxa_traded_as_it() -> None:
    found = search("ivory", "en", 10)
    assert {c.taxon.id for c in found} == {
        "fx_elephant_african",
        "fx_elephant_forest",
        "fx_elephant_asian",
        "fx_hippo",
        "fx_walrus",
    }
    assert all(c.product == "ivory" and c.product_stated for c in found)
    assert all(c.confidence < Catalogue.CONFIDENT for c in found)  # which species?
    assert found[0].taxon.id == "fx_elephant_african"
    assert search("象牙", "zh_Hans")[0].taxon.id == "fx_elephant_african"
    assert {c.taxon.id for c in search("scales", "en")} == {"fx_pangolins", "fx_pangolin_sunda"}


def test_a_word_of_several_products_takes_the_one_the_taxon_is_traded_as() -> None:
    # "pembe" is a tusk (ivory) or a horn
    assert top("pembe ya tembo", "sw").product == "ivory"
    assert top("pembe ya kifaru", "sw").product == "horn"


def test_short_product_words_of_another_language_are_ordinary_words() -> None:
    # "da" is skin in Vietnamese, "hai" is alive in Swahili (and "two" in Vietnamese)
    assert top("da hổ", "vi").product == "skin"
    assert not top("hai con tê tê", "vi").product_stated


def test_a_product_word_inside_a_name_is_part_of_the_name() -> None:
    # "penyu sisik" is the hawksbill ("scaly turtle"), not scales
    best = top("penyu sisik", "id")
    assert (best.taxon.id, best.confidence) == ("fx_hawksbill", 1.0)
    assert best.product == "shells"
    assert not best.product_stated


def test_without_a_product_word_the_first_product_form_is_given() -> None:
    best = top("kakakuona", "sw")
    assert best.product == "scales" and not best.product_stated
    assert top("rosewood", "en").product == "timber"


def test_a_product_the_taxon_is_not_traded_as_lowers_confidence() -> None:
    plain = top("tiger", "en")
    odd = top("tiger scales", "en")
    assert odd.taxon.id == plain.taxon.id == "fx_tiger"
    assert odd.confidence < plain.confidence
    assert odd.product == "skin" and not odd.product_stated


# ----------------------------------------------------------------------------- fuzzy
@pytest.mark.parametrize(
    ("query", "lang", "expected"),
    [
        ("pangollin", "en", "fx_pangolins"),
        ("pangolim", "en", "fx_pangolins"),
        ("pnagolin", "en", "fx_pangolins"),
        ("elephnt", "en", "fx_elephant_african"),
        ("rhinocerous", "en", "fx_rhinos"),
        ("kakakona", "sw", "fx_pangolins"),
        ("trengiling", "id", "fx_pangolins"),
        ("hipopotamus", "en", "fx_hippo"),
        ("simba marara", "sw", "fx_tiger"),
        ("nosorog", "en", None),
    ],
)
def test_typos(query: str, lang: str, expected: str | None) -> None:
    found = ids(query, lang)
    if expected is None:
        assert found == []  # no transliteration: Latin "nosorog" is not Cyrillic
    else:
        assert found[0] == expected


def test_typo_confidence_is_below_exact_and_grows_with_length() -> None:
    exact = top("pangolin", "en").confidence
    one_typo = top("pangollin", "en").confidence
    short_typo = top("tembu", "sw").confidence
    assert exact == 1.0 > one_typo >= Catalogue.CONFIDENT > short_typo


def test_prefixes_while_typing_are_proposed_but_not_confident() -> None:
    best = top("pangol", "en")
    assert best.taxon.id == "fx_pangolins"
    assert best.confidence < Catalogue.CONFIDENT
    assert top("穿山", "zh_Hans").taxon.id == "fx_pangolins"
    assert top("hawks", "en").taxon.id == "fx_hawksbill"


def test_part_of_a_longer_name() -> None:
    best = top("turtle", "en")
    assert best.taxon.id == "fx_hawksbill"
    assert best.confidence < Catalogue.CONFIDENT


# ----------------------------------------------------------------------------- languages
@pytest.mark.parametrize("lang", ["vi", "en", "th", "sw", None])
def test_another_script_than_the_interface_language_is_found(lang: str | None) -> None:
    best = top("穿山甲片", lang)
    assert (best.taxon.id, best.product) == ("fx_pangolins", "scales")
    assert best.confidence >= Catalogue.CONFIDENT


def test_names_in_the_interface_language_come_first() -> None:
    # "tigre" is a name of the tiger in fr, es and pt; "morsa" the walrus in es and pt
    assert top("tigre", "es").confidence == 1.0
    assert top("tigre", "vi").confidence < 1.0
    in_lang = top("morsa", "pt")
    elsewhere = top("morsa", "ru")
    assert in_lang.taxon.id == elsewhere.taxon.id == "fx_walrus"
    assert in_lang.confidence > elsewhere.confidence >= Catalogue.CONFIDENT


def test_a_name_of_another_language_in_the_same_script_is_not_confident() -> None:
    """It may be an ordinary word of the tipster's language ("papa", a shark in Swahili,
    is a potato in Spanish); English names, and Indonesian in Malay (and the reverse), are
    read everywhere."""
    best = top("tembo", "en")
    assert best.taxon.id == "fx_elephant_african"
    assert best.confidence < Catalogue.CONFIDENT
    assert top("tembo", "sw").confidence == 1.0
    assert top("tembo", "ru").confidence >= Catalogue.CONFIDENT  # another script
    assert top("pangolin", "sw").confidence >= Catalogue.CONFIDENT  # English
    assert top("trenggiling", "ms").confidence >= Catalogue.CONFIDENT  # Indonesian


def test_other_diacritics_are_another_word() -> None:
    # typed without diacritics, "doi moi" is the hawksbill; with others, it is doubtful
    assert top("doi moi", "vi").confidence == 1.0
    doubtful = top("đôi môi", "vi")
    assert doubtful.taxon.id == "fx_hawksbill"
    assert doubtful.confidence < Catalogue.CONFIDENT
    assert top("pangolín", "en").confidence == 1.0  # diacritics the name lacks are fine


def test_name_in_falls_back_to_english_then_scientific() -> None:
    taxon = catalogue().get("fx_elephant_forest")
    assert taxon is not None
    assert taxon.name_in("en") == "African forest elephant"
    assert taxon.name_in("sw") == "African forest elephant"
    walrus = catalogue().get("fx_walrus")
    assert walrus is not None and walrus.name_in("ru") == "морж"
    assert catalogue().get("nope") is None


# ----------------------------------------------------------------------------- not wildlife
NOT_WILDLIFE = [
    ("car", "en"),
    ("rice", "en"),
    ("hello", "en"),
    ("mobile phone", "en"),
    ("the weather is nice today", "en"),
    ("voiture", "fr"),
    ("riz", "fr"),
    ("bonjour", "fr"),
    ("coche", "es"),
    ("arroz", "es"),
    ("hola", "es"),
    ("carro", "pt"),
    ("telefone celular", "pt"),
    ("سيارة", "ar"),
    ("أرز", "ar"),
    ("مرحبا", "ar"),
    ("gari", "sw"),
    ("mchele", "sw"),
    ("habari", "sw"),
    ("汽车", "zh_Hans"),
    ("米饭", "zh_Hans"),
    ("你好", "zh_Hans"),
    ("手机", "zh_Hans"),
    ("xe hơi", "vi"),
    ("gạo", "vi"),
    ("xin chào", "vi"),
    ("điện thoại", "vi"),
    ("รถยนต์", "th"),
    ("ข้าว", "th"),
    ("สวัสดี", "th"),
    ("mobil", "id"),
    ("nasi", "id"),
    ("halo", "id"),
    ("kereta", "ms"),
    ("beras", "ms"),
    ("ລົດ", "lo"),
    ("ເຂົ້າ", "lo"),
    ("ឡាន", "km"),
    ("អង្ករ", "km"),
    ("ကား", "my"),
    ("ဆန်", "my"),
    ("गाड़ी", "hi"),
    ("चावल", "hi"),
    ("नमस्ते", "hi"),
    ("машина", "ru"),
    ("рис", "ru"),
    ("привет", "ru"),
    ("телефон", "ru"),
]


@pytest.mark.parametrize(("query", "lang"), NOT_WILDLIFE)
def test_not_wildlife_is_never_a_confident_match(query: str, lang: str) -> None:
    assert all(c.confidence < Catalogue.CONFIDENT for c in search(query, lang, 10))


def test_the_plainest_non_wildlife_words_find_nothing_at_all() -> None:
    for query in ("car", "rice", "hello", "mobile phone"):
        assert search(query, "en") == []
        assert search(query) == []


# ----------------------------------------------------------------------------- ranking
def test_candidates_are_ranked_and_limited() -> None:
    found = search("elephant ivory", "en", 10)
    assert len(found) >= 2
    confidences = [c.confidence for c in found]
    assert confidences == sorted(confidences, reverse=True)
    assert len(search("elephant ivory", "en", 1)) == 1
    assert search("elephant", "en", 0) == []
    assert len({c.taxon.id for c in found}) == len(found)  # one candidate a taxon


def test_confidence_ordering_across_kinds_of_match() -> None:
    exact = top("hawksbill", "en").confidence
    in_sentence = top("a hawksbill was sold", "en").confidence
    typo = top("hawksbil", "en").confidence
    partial = top("turtle", "en").confidence
    assert exact > in_sentence > partial
    assert exact > typo > partial


def test_empty_and_odd_queries() -> None:
    for query in ("", "   ", "!!!", "\u200b", "x" * 5000, "ab " * 400, "穿" * 1000):
        found = search(query, "en", 3)
        assert len(found) <= 3


def test_catalogue_is_immutable() -> None:
    with pytest.raises(AttributeError):
        catalogue().CONFIDENT = 0.1  # type: ignore[misc]
    taxon = catalogue().taxa[0]
    with pytest.raises(AttributeError):
        taxon.id = "x"  # type: ignore[misc]
    assert hash(taxon) == hash(catalogue().taxa[0])
    assert len(catalogue()) == len(list(catalogue())) == 15


def test_product_names_in_a_language() -> None:
    assert catalogue().product_name("scales", "id") == "sisik"
    assert catalogue().product_name("ivory", "vi") == "ngà"
    assert catalogue().product_name("bile", "lo") == "bile"  # no Lao word: English
    assert catalogue().product_name("shells", "fr") == "coquille"
    assert catalogue().product_name("horn", "sw") == "pembe"  # also a tusk


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=80),
    st.sampled_from([None, "en", "vi", "zh_Hans", "th", "ar", "sw", "ru"]),
    st.integers(min_value=0, max_value=8),
)
def test_search_never_raises(query: str, lang: str | None, limit: int) -> None:
    found = search(query, lang, limit)
    assert len(found) <= limit
    assert all(0.0 < c.confidence <= 1.0 for c in found)
    assert all(c.product is None or c.product in PRODUCT_FORMS for c in found)
    confidences = [c.confidence for c in found]
    assert confidences == sorted(confidences, reverse=True)
