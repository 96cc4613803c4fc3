"""The shipped catalogue files (conversations/species_data/*.yaml) and the labelled queries
(tests/species_queries/*.yaml), whichever of them exist.

These run over the files present. Some assertions wait for the data to be complete:
- per language, top-3 accuracy >= 95%: from the first query file on, over those present;
- per language, at least 10 queries: once all three query files exist;
- at least 250 taxa, covering every group: once all three data files exist.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from conversations.species import (
    GROUPS,
    LANGUAGES,
    PRODUCT_FORMS,
    Catalogue,
    CatalogueError,
    Document,
    normalise,
)
from tipline.species_loader import PRODUCTS_FILE

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "conversations" / "species_data"
QUERIES = ROOT / "tests" / "species_queries"
PARTS = ("mammals_birds.yaml", "reptiles_fish_invertebrates.yaml", "plants.yaml")
MIN_TAXA = 250
MIN_QUERIES = 10
MIN_ACCURACY = 0.95

# The forms the issue asks for, written out again here rather than taken from the matcher.
SCIENTIFIC = {
    "species": re.compile(r"[A-Z][a-z]+(?: \([A-Z][a-z]+\))? [a-z]+(?:-[a-z]+)*(?: [a-z-]+)?"),
    "genus": re.compile(r"[A-Z][a-z]+"),
    "family": re.compile(r"[A-Z][a-z]+"),
    "order": re.compile(r"[A-Z][a-z]+"),
    "class": re.compile(r"[A-Z][a-z]+"),
    "group": re.compile(r"[A-Z][a-z]+(?: \([A-Z][a-z]+\))?(?: (?:[a-z-]+|spp\.)){0,2}"),
}


def data_files() -> list[Path]:
    return sorted(p for p in DATA.glob("*.yaml") if p.name != PRODUCTS_FILE)


def query_files() -> list[Path]:
    return sorted(QUERIES.glob("*.yaml"))


@cache
def load(path: Path) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text("utf-8"), Loader=loader)  # noqa: S506 - a safe loader


def products_document() -> Document:
    return Document(PRODUCTS_FILE, load(DATA / PRODUCTS_FILE))


@cache
def shipped() -> Catalogue:
    docs = [Document(p.name, load(p)) for p in data_files()]
    return Catalogue.from_documents(docs, products_document())


def entries() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, e) for p in data_files() for e in load(p) or []]


# ----------------------------------------------------------------------------- validity
def test_every_data_file_is_valid_on_its_own() -> None:
    problems = []
    for path in data_files():
        try:
            Catalogue.from_documents([Document(path.name, load(path))], products_document())
        except CatalogueError as exc:
            problems.append(str(exc))
    assert not problems, "\n".join(problems)


def test_all_data_files_together() -> None:
    """Ids are unique and names shared only between related taxa across files too."""
    assert len(shipped()) == len(entries())


def test_every_entry_has_a_valid_scientific_name_and_known_products() -> None:
    problems = []
    for file, e in entries():
        where = f"{file}: {e.get('id')}"
        pattern = SCIENTIFIC.get(e.get("rank", ""))
        if pattern is None or not pattern.fullmatch(str(e.get("scientific"))):
            problems.append(f"{where}: scientific {e.get('scientific')!r} at {e.get('rank')!r}")
        unknown = set(e.get("products") or ["(none)"]) - set(PRODUCT_FORMS)
        if unknown:
            problems.append(f"{where}: products {sorted(unknown)}")
        if e.get("group") not in GROUPS:
            problems.append(f"{where}: group {e.get('group')!r}")
        if set(e.get("names") or {}) - set(LANGUAGES):
            problems.append(f"{where}: languages {sorted(set(e['names']) - set(LANGUAGES))}")
    assert not problems, "\n".join(problems)


def test_no_name_maps_to_unrelated_taxa_within_one_language() -> None:
    taxa = {e["id"]: e for _, e in entries()}
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for taxon_id, e in taxa.items():
        for lang, names in (e.get("names") or {}).items():
            for name in [names] if isinstance(names, str) else names:
                holders[(lang, normalise(name))].add(taxon_id)

    def related(a: str, b: str) -> bool:
        if a in (taxa[b].get("related") or []) and b in (taxa[a].get("related") or []):
            return True
        genus = {t: taxa[t]["scientific"].split()[0] for t in (a, b)}
        both = all(taxa[t]["rank"] in ("species", "genus") for t in (a, b))
        return both and genus[a] == genus[b]

    problems = [
        f"{lang} {name!r}: {a}, {b}"
        for (lang, name), ids in holders.items()
        for a in sorted(ids)
        for b in sorted(ids)
        if a < b and not related(a, b)
    ]
    assert not problems, "\n".join(problems)


def test_the_product_words_cover_every_form_and_language() -> None:
    products = load(DATA / PRODUCTS_FILE)
    assert list(products) == list(PRODUCT_FORMS)
    for form, by_lang in products.items():
        missing = set(LANGUAGES) - set(by_lang)
        assert len(missing) <= 1, f"{form}: no words in {sorted(missing)}"
        assert "en" in by_lang
    for lang in LANGUAGES:
        covered = sum(1 for by_lang in products.values() if lang in by_lang)
        assert covered >= len(PRODUCT_FORMS) - 1, lang


# ----------------------------------------------------------------------------- queries
def labelled() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, q) for p in query_files() for q in load(p) or []]


def test_labelled_queries_are_well_formed() -> None:
    problems = []
    for file, q in labelled():
        if not isinstance(q, dict) or set(q) - {"lang", "query", "expect", "product"}:
            problems.append(f"{file}: {q!r}: keys are lang, query, expect, product")
            continue
        if q.get("lang") not in LANGUAGES:
            problems.append(f"{file}: {q!r}: unknown language")
        if not isinstance(q.get("query"), str) or not normalise(q["query"]):
            problems.append(f"{file}: {q!r}: empty query")
        if shipped().get(str(q.get("expect"))) is None:
            problems.append(f"{file}: {q!r}: no taxon {q.get('expect')!r} in the catalogue")
        if "product" in q and q["product"] not in PRODUCT_FORMS:
            problems.append(f"{file}: {q!r}: unknown product")
    assert not problems, "\n".join(problems)


def test_top_three_accuracy_per_language() -> None:
    """The expected taxon is among the first three (with the expected product form, when
    the query gives one): 95% of the queries of each language, 10 queries or more a
    language once every query file is there."""
    queries = labelled()
    if not queries:
        return  # nothing labelled yet
    total: dict[str, int] = defaultdict(int)
    right: dict[str, int] = defaultdict(int)
    misses: list[str] = []
    for file, q in queries:
        found = shipped().search(q["query"], q["lang"], 3)
        hit = next((c for c in found if c.taxon.id == q["expect"]), None)
        ok = hit is not None and q.get("product") in (None, hit.product)
        total[q["lang"]] += 1
        right[q["lang"]] += ok
        if not ok:
            got = [(c.taxon.id, c.product, c.confidence) for c in found]
            misses.append(f"{file} {q['lang']} {q['query']!r} -> {got}")
    report = "\n".join(misses)
    for lang, count in total.items():
        assert right[lang] / count >= MIN_ACCURACY, f"{lang}: {right[lang]}/{count}\n{report}"
    if all((QUERIES / part).exists() for part in PARTS):
        short = {lang: total.get(lang, 0) for lang in LANGUAGES if total.get(lang, 0) < 10}
        assert not short, f"fewer than {MIN_QUERIES} queries: {short}"


def test_not_wildlife_is_never_a_confident_match_in_the_shipped_catalogue() -> None:
    words = {
        "en": ["car", "rice", "hello", "mobile phone", "money", "police", "house"],
        "fr": ["voiture", "riz", "bonjour", "argent", "maison"],
        "es": ["coche", "arroz", "hola", "dinero", "casa"],
        "pt": ["carro", "arroz", "olá", "dinheiro", "casa"],
        "ar": ["سيارة", "أرز", "مرحبا", "مال", "بيت"],
        "sw": ["gari", "mchele", "habari", "pesa", "nyumba"],
        "zh_Hans": ["汽车", "米饭", "你好", "手机", "钱"],
        "vi": ["xe hơi", "gạo", "xin chào", "tiền", "nhà"],
        "th": ["รถยนต์", "ข้าว", "สวัสดี", "เงิน", "บ้าน"],
        "id": ["mobil", "nasi", "halo", "uang", "rumah"],
        "ms": ["kereta", "beras", "helo", "wang", "rumah"],
        "lo": ["ລົດ", "ເຂົ້າ", "ສະບາຍດີ", "ເງິນ"],
        "km": ["ឡាន", "អង្ករ", "សួស្តី", "លុយ"],
        "my": ["ကား", "ဆန်", "မင်္ဂလာပါ", "ပိုက်ဆံ"],
        "hi": ["गाड़ी", "चावल", "नमस्ते", "पैसा", "घर"],
        "ru": ["машина", "рис", "привет", "деньги", "дом"],
    }
    confident = [
        f"{lang} {word!r} -> {c.taxon.id} {c.confidence} ({c.matched})"
        for lang, ws in words.items()
        for word in ws
        for c in shipped().search(word, lang, 5)
        if c.confidence >= Catalogue.CONFIDENT
    ]
    assert not confident, "\n".join(confident)


# ----------------------------------------------------------------------------- size
def test_the_catalogue_is_complete_once_every_part_is_there() -> None:
    if not all((DATA / part).exists() for part in PARTS):
        return  # the parts land one by one
    assert len(shipped()) >= MIN_TAXA
    assert {t.group for t in shipped()} == set(GROUPS)
