"""The species catalogue and its matcher: "which species" answered in the tipster's words.

Pure: it receives parsed YAML documents (or their text) and builds an immutable
:class:`Catalogue`; reading files is the caller's job. The data format is described in
``docs/species.md``.

Matching, in short: the query is normalised (:func:`normalise`); product words of every
language ("scales", "sisik", "鳞片", "vảy") are found in it and split off; what remains
is looked up among the names of every language: exactly, as a name inside a longer text,
as part of a longer name, and with typos (rapidfuzz, on candidates from a q-gram index
built once). Every taxon keeps its best match; candidates come back ranked with a
confidence between 0 and 1, :attr:`Catalogue.CONFIDENT` and above being a confident match.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any, ClassVar, NamedTuple

import yaml
from rapidfuzz.distance import OSA

from .languages import SUPPORTED_LANGUAGES

__all__ = [
    "GROUPS",
    "LANGUAGES",
    "PRODUCT_FORMS",
    "RANKS",
    "Candidate",
    "Catalogue",
    "CatalogueError",
    "Document",
    "Taxon",
    "normalise",
]

PRODUCT_FORMS: tuple[str, ...] = (
    "live",
    "ivory",
    "horn",
    "scales",
    "skin",
    "bones",
    "meat",
    "bile",
    "fins",
    "shells",
    "eggs",
    "timber",
    "resin",
    "other",
)
LANGUAGES: tuple[str, ...] = SUPPORTED_LANGUAGES
RANKS: tuple[str, ...] = ("species", "genus", "family", "order", "class", "group")
GROUPS: tuple[str, ...] = (
    "mammal",
    "bird",
    "reptile",
    "amphibian",
    "fish",
    "invertebrate",
    "plant",
)
CITES_APPENDICES: tuple[str, ...] = ("I", "II", "III")

# The pseudo-language of scientific names in the index: neutral in every language.
_SCIENTIFIC = "la"
_KEYS = frozenset({"id", "scientific", "rank", "group", "products", "names"})
_OPTIONAL_KEYS = frozenset({"cites", "note", "related"})
_ID = re.compile(r"[a-z0-9_]{2,40}")
_GENUS = r"[A-Z][a-z]+(?:-[a-z]+)?"
_SUBGENUS = r"(?: \([A-Z][a-z]+\))?"  # "Holothuria (Microthele)"
_EPITHET = r"[a-z]+(?:-[a-z]+)*"
_SCIENTIFIC_FORMS: dict[str, re.Pattern[str]] = {
    # a binomial (a subgenus may stand between), or a trinomial for a subspecies
    "species": re.compile(rf"{_GENUS}{_SUBGENUS} {_EPITHET}(?: {_EPITHET})?"),
    "genus": re.compile(_GENUS),
    "family": re.compile(_GENUS),
    "order": re.compile(_GENUS),
    "class": re.compile(_GENUS),
    # the main taxon a trade group covers: a name at any rank, or "Genus spp."
    "group": re.compile(rf"{_GENUS}{_SUBGENUS}(?: (?:{_EPITHET}|spp\.)){{0,2}}"),
}
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when there
_MAX_QUERY = 300  # characters of a query that are matched; a tip is not a species name
_MAX_NAME = 120


class CatalogueError(ValueError):
    """The catalogue data is invalid; the message names the file, the entry and the field."""


class Document(NamedTuple):
    """A parsed (or still textual) YAML document and the name to use in error messages."""

    name: str
    data: Any


# ----------------------------------------------------------------------------- normalise
# Letters without a decomposition that tipsters type without their stroke.
_FOLD = str.maketrans(
    {
        "đ": "d",
        "ð": "d",
        "ø": "o",
        "ł": "l",
        "ı": "i",
        "ħ": "h",
        "ŧ": "t",
        "œ": "oe",
        "æ": "ae",
        "þ": "th",
        # Arabic: tāʾ marbūṭa, alif maqṣūra and Persian yeh are folded as search engines do;
        # the tatweel (a stretched joining line) is dropped.
        "ة": "ه",
        "ى": "ي",
        "ی": "ي",
        "ـ": None,
    }
)
# Optional marks that are dropped in any script: Arabic vowel signs (harakat, dagger alif)
# and the Devanagari nukta, which most people leave out when they type.
_DROPPED_MARKS = frozenset(chr(c) for c in (*range(0x064B, 0x0660), 0x0670, 0x093C))
_MAPPED_MARKS = {"\u0901": "\u0902"}  # Devanagari candrabindu typed as anusvara
_ASCII = str.maketrans(
    {
        **{chr(c): " " for c in range(128) if not chr(c).isalnum()},
        **{chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)},
    }
)
_PLURAL_KEEP = ("ss", "us", "is")


@lru_cache(maxsize=4096)
def _latin_greek_cyrillic(char: str) -> bool:
    try:
        return unicodedata.name(char).startswith(("LATIN", "GREEK", "CYRILLIC"))
    except ValueError:
        return False


_UNSPACED = re.compile(
    "["
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff\u19e0-\u19ff"  # Khmer
    "\u3040-\u30ff"  # kana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\ua9e0-\ua9ff\uaa60-\uaa7f"  # Myanmar extensions
    "\U00020000-\U0003134f"  # CJK extensions B-G
    "]"
)


def _unspaced(char: str) -> bool:
    """Scripts written without spaces between words: Han (and kana), Thai, Lao, Khmer,
    Burmese. Names are found in them as substrings."""
    return _UNSPACED.match(char) is not None


def _has_unspaced(text: str) -> bool:
    return _UNSPACED.search(text) is not None


_NOT_WORD = re.compile(r"[^\w]+")
_CYRILLIC = re.compile("[\u0400-\u04ff]+")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")


def _shortest_inner(text: str) -> int:
    """The shortest part of a longer name that a query may be: two Chinese characters,
    three letters of Thai, Lao, Khmer or Burmese (a leftover character or two, as "น"
    in "งาน" less "งา", is no evidence)."""
    return 2 if _HAN.fullmatch(text) else 3


def _fold_token(token: str) -> str:
    """Simple plural folding for Latin-script words (en, fr, es, pt): trailing "s" and "e"
    are dropped until neither is left ("scales", "scale" -> "scal"; "pieles", "piel" ->
    "piel"), keeping "-ss", "-us", "-is" and words of three letters. Arabic: the article
    "al-" is dropped. Repeated to a fixed point, so normalising twice changes nothing."""
    if token.isascii():
        if not token.isalpha():
            return token
        while len(token) > 3:
            if token[-1] == "e" or (token[-1] == "s" and not token.endswith(_PLURAL_KEEP)):
                token = token[:-1]
            else:
                break
        return token
    while len(token) >= 5 and token.startswith("ال"):
        token = token[2:]
    return token


def _characters(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)
    s = unicodedata.normalize("NFKD", s)
    out: list[str] = []
    keep_marks = False
    for char in s:
        category = unicodedata.category(char)
        head = category[0]
        if head == "M":
            if keep_marks and char not in _DROPPED_MARKS:
                out.append(_MAPPED_MARKS.get(char, char))
        elif head == "L":
            out.append(char)
            keep_marks = not _latin_greek_cyrillic(char)
        elif head == "N":
            out.append(char)
            keep_marks = False
        elif category == "Cf":
            continue  # zero-width joiners and spaces, soft hyphens
        else:
            out.append(" ")
            keep_marks = False
    return unicodedata.normalize("NFC", "".join(out))


def normalise(text: str) -> str:
    """The form in which queries and names are compared.

    NFKC (full-width and compatibility forms), case folding, Latin, Greek and Cyrillic
    diacritics dropped ("Côte", "vảy", "ёж" -> "cote", "vay", "еж") while the marks of
    other scripts are kept (Devanagari, Thai, Lao, Khmer and Burmese vowel signs are
    letters there; only the optional Arabic vowel signs and the Devanagari nukta go),
    punctuation (apostrophes too: "l'ivoire") to spaces, spaces collapsed, no space left
    between two characters of a script written without spaces (Chinese, Thai, Lao,
    Khmer, Burmese). Latin-script words lose simple plural endings (see ``_fold_token``).
    """
    s = text.translate(_ASCII) if text.isascii() else _characters(text)
    tokens = [_fold_token(t) for t in s.split()]
    if not tokens:
        return ""
    out = [tokens[0]]
    for token in tokens[1:]:
        if _unspaced(out[-1][-1]) and _unspaced(token[0]):
            out[-1] += token
        else:
            out.append(token)
    return " ".join(out)


# Names are normalised several times while a catalogue is built (validation, shared names,
# the index); this remembers them.
_name_key = lru_cache(maxsize=1 << 16)(normalise)


def _compact_len(text: str) -> int:
    return len(text) - text.count(" ")


# ----------------------------------------------------------------------------- the model
class _Names(Mapping[str, tuple[str, ...]]):
    """An immutable, hashable mapping of language -> names."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, tuple[str, ...]]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"


@dataclass(frozen=True)
class Taxon:
    id: str
    scientific: str
    rank: str
    group: str
    cites: str | None
    products: tuple[str, ...]
    names: Mapping[str, tuple[str, ...]]
    note: str | None
    related: tuple[str, ...] = ()

    def name_in(self, lang: str) -> str:
        """The first name in ``lang``, else the first English name, else the scientific."""
        for code in (lang, "en"):
            found = self.names.get(code)
            if found:
                return found[0]
        return self.scientific

    @property
    def genus(self) -> str | None:
        """The genus of a species or genus entry (the first word of its scientific name)."""
        return self.scientific.split()[0] if self.rank in ("species", "genus") else None


@dataclass(frozen=True)
class Candidate:
    """A taxon the query may name. ``product`` is the product form the query names when
    the taxon is traded as it (``product_stated``), else the taxon's first product form."""

    taxon: Taxon
    product: str | None
    confidence: float  # 0..1
    matched: str  # the name (or product word) that matched, as written in the catalogue
    product_stated: bool = False


# ----------------------------------------------------------------------------- validation
def _where(source: str, index: int, taxon_id: Any = None) -> str:
    named = f" ({taxon_id})" if isinstance(taxon_id, str) and taxon_id else ""
    return f"{source}: entry {index + 1}{named}"


def _string_list(value: Any, where: str, field_name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise CatalogueError(f"{where}: '{field_name}' must be a non-empty list")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise CatalogueError(f"{where}: '{field_name}' has an empty or non-text item")
        if len(item) > _MAX_NAME:
            raise CatalogueError(f"{where}: '{field_name}': {item[:20]!r}... is too long")
        out.append(item.strip())
    return tuple(out)


def _parse(doc: Any, index: int) -> tuple[str, Any]:
    if isinstance(doc, Document):
        source, data = doc.name, doc.data
    elif isinstance(doc, tuple) and len(doc) == 2 and isinstance(doc[0], str):
        source, data = doc
    else:
        source, data = f"document {index + 1}", doc
    if isinstance(data, str):
        try:
            data = yaml.load(data, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            raise CatalogueError(f"{source}: not valid YAML: {exc}") from exc
    return source, data


def _taxon(entry: Any, where: str, products: frozenset[str]) -> Taxon:
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: an entry must be a mapping with id, scientific, ...")
    missing = sorted(_KEYS - entry.keys())
    if missing:
        raise CatalogueError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
    unknown = sorted(str(k) for k in entry.keys() - _KEYS - _OPTIONAL_KEYS)
    if unknown:
        raise CatalogueError(f"{where}: unknown key {', '.join(repr(k) for k in unknown)}")
    taxon_id = entry["id"]
    if not isinstance(taxon_id, str) or not _ID.fullmatch(taxon_id):
        raise CatalogueError(f"{where}: 'id' {taxon_id!r} must match [a-z0-9_]{{2,40}}")
    rank = entry["rank"]
    if rank not in RANKS:
        raise CatalogueError(f"{where}: 'rank' {rank!r} is not one of {', '.join(RANKS)}")
    group = entry["group"]
    if group not in GROUPS:
        raise CatalogueError(f"{where}: 'group' {group!r} is not one of {', '.join(GROUPS)}")
    scientific = entry["scientific"]
    if not isinstance(scientific, str) or not _SCIENTIFIC_FORMS[rank].fullmatch(scientific):
        form = {
            "species": "a binomial 'Genus species' (capitalised genus, lowercase epithet)",
            "group": "a capitalised scientific name, optionally 'Genus species' or 'Genus spp.'",
        }.get(rank, f"a single capitalised word (a {rank} name)")
        raise CatalogueError(f"{where}: 'scientific' {scientific!r} must be {form}")
    cites = entry.get("cites")
    if cites is not None and cites not in CITES_APPENDICES:
        raise CatalogueError(
            f"{where}: 'cites' {cites!r} must be I, II or III (leave it out when not listed)"
        )
    product_list = _string_list(entry["products"], where, "products")
    for product in product_list:
        if product not in products:
            raise CatalogueError(
                f"{where}: 'products': unknown product form {product!r}"
                f" (known: {', '.join(PRODUCT_FORMS)})"
            )
    raw_names = entry["names"]
    if not isinstance(raw_names, dict) or not raw_names:
        raise CatalogueError(f"{where}: 'names' must be a mapping of language -> names")
    names: dict[str, tuple[str, ...]] = {}
    for lang in sorted(raw_names, key=lambda k: LANGUAGES.index(k) if k in LANGUAGES else 99):
        if lang not in LANGUAGES:
            raise CatalogueError(
                f"{where}: 'names': unknown language {lang!r} (known: {', '.join(LANGUAGES)})"
            )
        listed = _string_list(raw_names[lang], where, f"names.{lang}")
        for name in listed:
            if not _name_key(name):
                raise CatalogueError(f"{where}: 'names.{lang}': {name!r} has no letters")
        names[lang] = tuple(dict.fromkeys(listed))
    note = entry.get("note")
    if note is not None and (not isinstance(note, str) or not note.strip()):
        raise CatalogueError(f"{where}: 'note' must be text")
    related: tuple[str, ...] = ()
    if entry.get("related") is not None:
        related = _string_list(entry["related"], where, "related")
    return Taxon(
        id=taxon_id,
        scientific=scientific,
        rank=rank,
        group=group,
        cites=cites,
        products=tuple(dict.fromkeys(product_list)),
        names=_Names(names),
        note=note.strip() if isinstance(note, str) else None,
        related=related,
    )


class _ProductWord(NamedTuple):
    forms: tuple[str, ...]
    langs: frozenset[str]
    word: str


class _Products(NamedTuple):
    words: dict[str, _ProductWord]  # normalised word -> its forms
    labels: dict[tuple[str, str], str]  # (form, lang) -> the first word listed


def _product_words(products_doc: Any) -> _Products:
    source, data = _parse(products_doc, 0)
    if source == "document 1":
        source = "products.yaml"
    if not isinstance(data, dict):
        raise CatalogueError(f"{source}: must be a mapping of product form -> language -> words")
    found: dict[str, _ProductWord] = {}
    labels: dict[tuple[str, str], str] = {}
    for form, by_lang in data.items():
        where = f"{source}: {form!r}"
        if form not in PRODUCT_FORMS:
            raise CatalogueError(
                f"{where}: unknown product form (known: {', '.join(PRODUCT_FORMS)})"
            )
        if not isinstance(by_lang, dict):
            raise CatalogueError(f"{where}: must be a mapping of language -> words")
        for lang, words in by_lang.items():
            if lang not in LANGUAGES:
                raise CatalogueError(f"{where}: unknown language {lang!r}")
            for word in _string_list(words, where, lang):
                labels.setdefault((form, lang), word)
                key = normalise(word)
                if not key:
                    raise CatalogueError(f"{where}: {lang}: {word!r} has no letters")
                old = found.get(key)
                if old is None:
                    found[key] = _ProductWord((form,), frozenset({lang}), word)
                else:
                    forms = old.forms if form in old.forms else (*old.forms, form)
                    found[key] = _ProductWord(forms, old.langs | {lang}, old.word)
    return _Products(found, labels)


def _related(a: Taxon, b: Taxon) -> bool:
    """Two taxa may share a name when they list each other under ``related:`` or when they
    belong to the same genus (two species of it, or the genus and one of its species)."""
    if a.id in b.related and b.id in a.related:
        return True
    return a.genus is not None and a.genus == b.genus and a.scientific != b.scientific


# ----------------------------------------------------------------------------- the index
@dataclass(frozen=True, slots=True)
class _Entry:
    taxon: int  # index into Catalogue.taxa
    name: str  # as written in the catalogue
    langs: frozenset[str]
    position: int  # 0 for the first name of its language
    script: str


@dataclass(slots=True)
class _Hit:
    confidence: float
    entry: _Entry | None  # None: proposed for the product alone
    matched: str
    key: str  # the normalised name that matched ("" for a product alone)


@dataclass(frozen=True, slots=True)
class _Occurrence:
    start: int
    end: int
    word: _ProductWord


def _allowed_edits(length: int) -> int:
    if length <= 3:
        return 0
    if length <= 5:
        return 1
    if length <= 8:
        return 2
    if length <= 12:
        return 3
    return length // 4


def _grams(key: str) -> set[str]:
    """Padded trigrams (bigrams in scripts written without spaces) for typo candidates."""
    if _has_unspaced(key):
        padded = f"\x02{key}\x03"
        return {padded[i : i + 2] for i in range(len(padded) - 1)}
    padded = f"\x02\x02{key}\x03\x03"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


@dataclass(frozen=True)
class _Index:
    exact: dict[str, tuple[_Entry, ...]]
    keys: tuple[str, ...]
    sorted_keys: tuple[str, ...]  # spaced keys, for prefixes
    tokens: dict[str, frozenset[int]]  # token of a multi-word key -> key ids
    inner: dict[str, tuple[int, ...]]  # substring of an unspaced key -> key ids
    grams: dict[str, tuple[int, ...]]
    max_tokens: int
    max_unspaced: int
    max_key: int
    products: dict[str, _ProductWord]
    labels: dict[tuple[str, str], str]
    product_tokens: int
    product_unspaced: int
    by_product: dict[str, tuple[int, ...]]  # product form -> taxa, most typical first
    key_id: dict[str, int]  # normalised name -> its position in keys


def _build_index(taxa: Sequence[Taxon], product_words: _Products) -> _Index:
    products = product_words.words
    collected: dict[str, dict[int, _Entry]] = {}
    for t, taxon in enumerate(taxa):
        listing = [(_SCIENTIFIC, 0, taxon.scientific)]
        listing += [
            (lang, i, n) for lang, names in taxon.names.items() for i, n in enumerate(names)
        ]
        for lang, position, name in listing:
            key = _name_key(name)
            per_taxon = collected.setdefault(key, {})
            old = per_taxon.get(t)
            if old is None:
                per_taxon[t] = _Entry(t, name, frozenset({lang}), position, _script(key))
            else:
                per_taxon[t] = _Entry(
                    t, old.name, old.langs | {lang}, min(old.position, position), old.script
                )
    exact = {key: tuple(found.values()) for key, found in collected.items()}
    keys = tuple(exact)
    key_id = {key: i for i, key in enumerate(keys)}
    tokens: dict[str, set[int]] = {}
    inner: dict[str, set[int]] = {}
    grams: dict[str, list[int]] = {}
    max_tokens = max_unspaced = 1
    for i, key in enumerate(keys):
        for gram in _grams(key):
            grams.setdefault(gram, []).append(i)
        parts = key.split()
        if len(parts) > 1:
            max_tokens = max(max_tokens, len(parts))
            for part in set(parts):
                tokens.setdefault(part, set()).add(i)
        for part in parts:
            if _has_unspaced(part):
                max_unspaced = max(max_unspaced, len(part))
                shortest = _shortest_inner(part)
                for a in range(len(part)):
                    for b in range(a + shortest, min(len(part), a + 10) + 1):
                        if b - a < len(key):
                            inner.setdefault(part[a:b], set()).add(i)
    sorted_keys = tuple(sorted(k for k in keys if not _has_unspaced(k)))
    by_product: dict[str, tuple[int, ...]] = {}
    for form in PRODUCT_FORMS:
        listing_taxa = [t for t, taxon in enumerate(taxa) if form in taxon.products]
        listing_taxa.sort(
            key=lambda t: (
                taxa[t].products.index(form),
                -sum(len(n) for n in taxa[t].names.values()),
                t,
            )
        )
        by_product[form] = tuple(listing_taxa)
    product_keys = list(products)
    return _Index(
        exact=exact,
        keys=keys,
        sorted_keys=sorted_keys,
        tokens={k: frozenset(v) for k, v in tokens.items()},
        inner={k: tuple(sorted(v)) for k, v in inner.items()},
        grams={k: tuple(v) for k, v in grams.items()},
        max_tokens=min(max_tokens, 6),
        max_unspaced=max_unspaced,
        max_key=max((len(k) for k in keys), default=0),
        products=products,
        labels=product_words.labels,
        product_tokens=max((len(k.split()) for k in product_keys), default=1),
        product_unspaced=max((len(k) for k in product_keys if _has_unspaced(k)), default=1),
        by_product=by_product,
        key_id=key_id,
    )


# ----------------------------------------------------------------------------- catalogue
class Catalogue:
    """The taxa of every catalogue file and the index to find them by name; immutable."""

    CONFIDENT: ClassVar[float] = 0.8

    __slots__ = ("_by_id", "_index", "_taxa")

    _taxa: tuple[Taxon, ...]
    _by_id: dict[str, Taxon]
    _index: _Index

    def __init__(self, taxa: Sequence[Taxon], products: _Products) -> None:
        object.__setattr__(self, "_taxa", tuple(taxa))
        object.__setattr__(self, "_by_id", {t.id: t for t in taxa})
        object.__setattr__(self, "_index", _build_index(self._taxa, products))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Catalogue is immutable")

    @classmethod
    def from_documents(cls, taxa_docs: Sequence[Any], products_doc: Any) -> Catalogue:
        """Validate and index the taxa of each document (a :class:`Document`, a
        ``(name, data)`` pair, or bare data; data parsed or YAML text) with the product
        words of ``products_doc``. Raises :class:`CatalogueError` naming the file, the
        entry and the field of the first problem found."""
        products = _product_words(products_doc)
        known_forms = frozenset(PRODUCT_FORMS)
        taxa: list[Taxon] = []
        origin: dict[str, str] = {}
        for d, doc in enumerate(taxa_docs):
            source, data = _parse(doc, d)
            if data is None:
                continue  # an empty file
            if not isinstance(data, list):
                raise CatalogueError(f"{source}: must be a list of taxa (- id: ...)")
            for i, entry in enumerate(data):
                where = _where(source, i, entry.get("id") if isinstance(entry, dict) else None)
                taxon = _taxon(entry, where, known_forms)
                if taxon.id in origin:
                    raise CatalogueError(
                        f"{where}: 'id' {taxon.id!r} is already used in {origin[taxon.id]}"
                    )
                origin[taxon.id] = where
                taxa.append(taxon)
        by_id = {t.id: t for t in taxa}
        for taxon in taxa:
            for other in taxon.related:
                if other not in by_id or other == taxon.id:
                    raise CatalogueError(
                        f"{origin[taxon.id]}: 'related': {other!r} is not another taxon's id"
                    )
        _check_shared_names(taxa, origin)
        return cls(taxa, products)

    # -- reading
    @property
    def taxa(self) -> tuple[Taxon, ...]:
        return self._taxa

    def __len__(self) -> int:
        return len(self._taxa)

    def __iter__(self) -> Iterator[Taxon]:
        return iter(self._taxa)

    def get(self, taxon_id: str) -> Taxon | None:
        return self._by_id.get(taxon_id)

    def product_name(self, form: str, lang: str) -> str:
        """The product word for ``form`` in ``lang`` (else English, else the form itself)."""
        labels = self._index.labels
        return labels.get((form, lang)) or labels.get((form, "en")) or form

    # -- matching
    def search(self, query: str, lang: str | None = None, limit: int = 3) -> list[Candidate]:
        """Candidates for what the query names, best first (at most ``limit``).

        Names of every language are searched; ``lang``, the tipster's language, ranks its
        own names first. A name of another language counts as confident when it is in
        another script ("穿山甲" typed in Vietnamese), English, or scientific.
        """
        if limit <= 0:
            return []
        q = normalise(query[: _MAX_QUERY * 2])[:_MAX_QUERY].strip()
        if not q:
            return []
        index = self._index
        occurrences = self._products_in(q, lang)
        hits: dict[int, _Hit] = {}
        if not occurrences:
            self._match(q, lang, hits, full=True)
        else:
            self._match(q, lang, hits, full=False)  # names that hold a product word
            chosen = _non_overlapping(occurrences)
            rest = _remove(q, chosen)
            if rest:
                self._match(rest, lang, hits, full=True)
            if 1 < len(occurrences) <= 4:
                for occurrence in occurrences:
                    alone = _remove(q, [occurrence])
                    if alone and alone != rest:
                        self._match(alone, lang, hits, full=False)
        in_order = sorted(occurrences, key=lambda o: o.start)
        forms = tuple(dict.fromkeys(f for o in in_order for f in o.word.forms))
        if forms and not any(h.confidence >= self.CONFIDENT for h in hits.values()):
            # the product alone: the taxa traded as it, below a confident match
            chosen = _non_overlapping(occurrences)
            share = min(1.0, sum(o.end - o.start for o in chosen) / max(1, _compact_len(q)))
            for o in sorted(chosen, key=lambda o: o.start):
                for meaning, form in enumerate(o.word.forms):  # "pembe": a tusk, then a horn
                    for rank, t in enumerate(index.by_product[form]):
                        confidence = 0.55 * share - 0.05 * meaning - 0.001 * min(rank, 100)
                        _keep(hits, t, _Hit(confidence, None, o.word.word, ""))
        raw = _accented(query[: _MAX_QUERY * 2])
        accents = _has_latin_accents(raw)
        ranked: list[tuple[float, int, int, int, Candidate]] = []
        for t, hit in hits.items():
            taxon = self._taxa[t]
            # the first product form named that this taxon is traded as (a word inside the
            # matched name counts: "kayu gaharu", "bois de rose"); a product word outside
            # the name that this taxon is not traded as makes it a worse fit, while one
            # inside it does not ("penyu sisik" is a turtle, not scales)
            product = next((f for f in forms if f in taxon.products), None)
            confidence = hit.confidence
            if product is None and any(not _within(q[o.start : o.end], hit.key) for o in in_order):
                confidence *= 0.9
            if accents and hit.entry is not None and _accent_conflict(hit.entry.name, raw):
                confidence *= 0.75  # "sữa" (milk) is not "sưa" (a rosewood)
            in_lang = hit.entry is not None and lang is not None and lang in hit.entry.langs
            position = hit.entry.position if hit.entry is not None else 99
            confidence = round(max(0.0, min(1.0, confidence)), 4)
            if confidence <= 0:
                continue
            candidate = Candidate(
                taxon,
                product or taxon.products[0],
                confidence,
                hit.matched,
                product_stated=product is not None,
            )
            ranked.append((-confidence, 0 if in_lang else 1, position, t, candidate))
        ranked.sort(key=lambda r: r[:4])
        return [r[4] for r in ranked[:limit]]

    def _products_in(self, q: str, lang: str | None) -> list[_Occurrence]:
        index = self._index
        products = index.products
        if not products:
            return []
        found: list[_Occurrence] = []
        spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", q)]
        for i, (start, end) in enumerate(spans):
            for n in range(min(index.product_tokens, len(spans) - i), 0, -1):
                stop = spans[i + n - 1][1]
                word = products.get(q[start:stop])
                if word is not None and _usable(word, q[start:stop], lang):
                    found.append(_Occurrence(start, stop, word))
            token = q[start:end]
            if _has_unspaced(token):
                for a in range(len(token)):
                    for b in range(a + 1, min(len(token), a + index.product_unspaced) + 1):
                        if b - a == len(token):
                            continue  # the whole token was looked up above
                        word = products.get(token[a:b])
                        if word is not None:
                            found.append(_Occurrence(start + a, start + b, word))
        return found

    def _match(self, r: str, lang: str | None, hits: dict[int, _Hit], *, full: bool) -> None:
        """Score the names that ``r`` matches into ``hits``; ``full=False`` looks only for
        exact names and names inside ``r`` (used while product words are still in it)."""
        index = self._index
        size = _compact_len(r)
        factor = _LangFactor(lang)
        exact = index.exact.get(r)
        if exact:
            for entry in exact:
                _keep(hits, entry.taxon, _Hit(factor(entry, 1.0), entry, entry.name, r))
        # names inside a longer text
        covered: set[str] = set()
        parts = r.split()
        for sub, unspaced in _sub_phrases(parts, index.max_tokens, index.max_unspaced):
            if sub == r:
                continue
            found = index.exact.get(sub)
            if not found:
                continue
            covered.update(sub.split())
            length = _compact_len(sub)
            # a distinctive name is evidence however long the text around it
            distinctive = length >= (_shortest_inner(sub) if unspaced else 5)
            confidence = (0.82 if distinctive else 0.78) + 0.16 * length / size
            if unspaced and length == 1:
                confidence = min(confidence, 0.6)
            elif not unspaced and length <= 3:
                confidence = min(confidence, 0.75)
            for entry in found:
                # an ordinary word of one language may be a name in another ("papa")
                scaled = factor(entry, confidence, elsewhere=0.9)
                _keep(hits, entry.taxon, _Hit(scaled, entry, entry.name, sub))
        if not full or exact:
            return
        # the query is part of a longer name
        if _has_unspaced(r):
            for i in index.inner.get(r, ()):
                share = size / _compact_len(index.keys[i])
                self._keep_key(hits, i, 0.5 + 0.3 * share, factor)
        else:
            if len(parts) > 1 or len(r) >= 4:
                sets = [index.tokens.get(p) for p in parts]
                if all(sets):
                    for i in frozenset.intersection(*(s for s in sets if s is not None)):
                        share = size / _compact_len(index.keys[i])
                        self._keep_key(hits, i, 0.5 + 0.3 * share, factor)
            if len(r) >= 4:
                keys = index.sorted_keys
                at = bisect_left(keys, r)
                while at < len(keys) and keys[at].startswith(r) and at < 10_000:
                    key = keys[at]
                    at += 1
                    if key != r:
                        share = size / _compact_len(key)
                        self._keep_key(hits, index.key_id[key], 0.45 + 0.35 * share, factor)
        # inflected Russian words: a name and a case or adjective ending ("моржовый")
        for part in parts[:12]:
            if part not in covered and _CYRILLIC.fullmatch(part):
                for cut in range(max(4, len(part) - 4), len(part)):
                    for entry in index.exact.get(part[:cut], ()):
                        share = cut / len(part)
                        confidence = (0.6 + 0.25 * share) * (0.85 + 0.15 * len(part) / size)
                        hit = _Hit(factor(entry, confidence), entry, entry.name, part[:cut])
                        _keep(hits, entry.taxon, hit)
        # typos
        if len(r) <= index.max_key + 3:
            self._fuzzy(r, hits, factor, 1.0)
        if len(parts) > 1:
            tried = 0
            for part in parts:
                if len(part) >= 5 and part not in covered and tried < 6:
                    tried += 1
                    self._fuzzy(part, hits, factor, 0.85 + 0.15 * len(part) / size)

    def _keep_key(self, hits: dict[int, _Hit], i: int, confidence: float, f: _LangFactor) -> None:
        key = self._index.keys[i]
        for entry in self._index.exact[key]:
            _keep(hits, entry.taxon, _Hit(f(entry, confidence), entry, entry.name, key))

    def _fuzzy(self, r: str, hits: dict[int, _Hit], factor: _LangFactor, scale: float) -> None:
        edits = _allowed_edits(len(r))
        if edits == 0:
            return
        index = self._index
        grams = _grams(r)
        counts = Counter(chain.from_iterable(index.grams.get(g, ()) for g in grams))
        if not counts:
            return
        per_edit = 2 if _has_unspaced(r) else 3  # grams one edit can break
        need = max(1, len(grams) - per_edit * edits)
        keys = index.keys
        length = len(r)
        for i, shared in counts.items():
            if shared < need:
                continue
            key = keys[i]
            if abs(len(key) - length) > edits:
                continue
            distance = OSA.distance(r, key, score_cutoff=edits)
            if distance > edits:
                continue
            longest = max(length, len(key))
            confidence = (0.92 - 0.8 * distance / longest) * scale
            self._keep_key(hits, i, confidence, factor)


_LANG_SCRIPTS = {
    **dict.fromkeys(("en", "fr", "es", "pt", "sw", "vi", "id", "ms"), "latin"),
    "ar": "arabic",
    "zh_Hans": "han",
    "th": "thai",
    "lo": "lao",
    "km": "khmer",
    "my": "myanmar",
    "hi": "devanagari",
    "ru": "cyrillic",
}
# Languages whose speakers read each other's names as their own.
_AFFINITY = {"id": "ms", "ms": "id", "es": "pt", "pt": "es"}
_SCRIPT_RANGES = (
    ("cyrillic", 0x0400, 0x052F),
    ("arabic", 0x0600, 0x06FF),
    ("devanagari", 0x0900, 0x097F),
    ("thai", 0x0E00, 0x0E7F),
    ("lao", 0x0E80, 0x0EFF),
    ("myanmar", 0x1000, 0x109F),
    ("khmer", 0x1780, 0x17FF),
    ("han", 0x3400, 0x9FFF),
)


def _script(key: str) -> str:
    """The script of a normalised name (of its first letter)."""
    for char in key:
        if char.isalpha():
            code = ord(char)
            if code < 0x0250 or 0x1E00 <= code <= 0x1EFF:
                return "latin"
            for name, low, high in _SCRIPT_RANGES:
                if low <= code <= high:
                    return name
            return "other"
    return "other"


class _LangFactor:
    """Names in the tipster's language (and scientific names) come first. A name of another
    language in the tipster's own script (English names aside) may be an ordinary word of
    their language ("papa" is a shark in Swahili, "lori" a lorikeet): never confident."""

    __slots__ = ("affine", "lang", "script")

    def __init__(self, lang: str | None) -> None:
        self.lang = lang
        self.script = _LANG_SCRIPTS.get(lang or "")
        self.affine = _AFFINITY.get(lang or "", "en")

    def __call__(self, entry: _Entry, confidence: float, elsewhere: float = 0.97) -> float:
        langs = entry.langs
        if self.lang is None or self.lang in langs or _SCIENTIFIC in langs:
            return confidence
        if entry.script == self.script and "en" not in langs and self.affine not in langs:
            return confidence * 0.78
        return confidence * elsewhere


def _keep(hits: dict[int, _Hit], taxon: int, hit: _Hit) -> None:
    old = hits.get(taxon)
    if old is None or hit.confidence > old.confidence:
        hits[taxon] = hit


def _usable(word: _ProductWord, key: str, lang: str | None) -> bool:
    """Short words of another language ("da", "os", "hai") are not taken as product words:
    they are ordinary words elsewhere."""
    return lang is None or lang in word.langs or len(key) > 3 or _has_unspaced(key)


def _accented(text: str) -> str:
    """Case-folded text that keeps its diacritics, punctuation as spaces."""
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def _has_latin_accents(text: str) -> bool:
    return any(not c.isascii() and _latin_greek_cyrillic(c) for c in text if c.isalpha())


def _accent_conflict(name: str, raw_query: str) -> bool:
    """Whether a Latin-script name with diacritics matched only because they were dropped,
    while the tipster typed diacritics: Vietnamese "sữa" and "sưa" differ."""
    accented = _accented(name)
    return _has_latin_accents(accented) and accented not in raw_query


def _within(word: str, name: str) -> bool:
    """Whether a product word is part of a (normalised) name: a whole word of it, or a
    substring in a script written without spaces."""
    if _has_unspaced(word):
        return word in name
    return f" {word} " in f" {name} "


def _non_overlapping(occurrences: list[_Occurrence]) -> list[_Occurrence]:
    chosen: list[_Occurrence] = []
    for o in sorted(occurrences, key=lambda o: (o.start - o.end, o.start)):
        if all(o.end <= c.start or o.start >= c.end for c in chosen):
            chosen.append(o)
    return chosen


def _remove(q: str, occurrences: list[_Occurrence]) -> str:
    out = q
    for o in sorted(occurrences, key=lambda o: -o.start):
        out = out[: o.start] + " " + out[o.end :]
    return " ".join(out.split())


def _sub_phrases(
    parts: list[str], max_tokens: int, max_unspaced: int
) -> Iterator[tuple[str, bool]]:
    """Word sequences (and, in scripts without spaces, substrings) of a query, longest first."""
    for n in range(min(max_tokens, len(parts)), 0, -1):
        for i in range(len(parts) - n + 1):
            yield " ".join(parts[i : i + n]), False
    for part in parts[:40]:
        if _has_unspaced(part):
            for size in range(min(max_unspaced, len(part) - 1), 0, -1):
                for a in range(len(part) - size + 1):
                    yield part[a : a + size], True


def _check_shared_names(taxa: Sequence[Taxon], origin: Mapping[str, str]) -> None:
    """The same name (after normalisation) for two unrelated taxa in one language is an
    error; so is the same scientific name at the same rank twice (a trade group may share
    the scientific name of the taxon it mainly covers with other groups)."""
    seen: dict[tuple[str, str], list[Taxon]] = {}
    scientific: dict[tuple[str, str], Taxon] = {}
    for taxon in taxa:
        key = (normalise(taxon.scientific), taxon.rank)
        first = scientific.get(key)
        mutual = first is not None and taxon.id in first.related and first.id in taxon.related
        if first is not None and taxon.rank != "group" and not mutual:
            raise CatalogueError(
                f"{origin[taxon.id]}: 'scientific' {taxon.scientific!r} at rank {taxon.rank}"
                f" is already {first.id!r} ({origin[first.id]})"
            )
        scientific.setdefault(key, taxon)
        for lang, names in taxon.names.items():
            for name in names:
                holders = seen.setdefault((lang, _name_key(name)), [])
                for other in holders:
                    if other.id == taxon.id or _related(taxon, other):
                        continue
                    raise CatalogueError(
                        f"{origin[taxon.id]}: 'names.{lang}': {name!r} is also a name of"
                        f" {other.id!r} ({origin[other.id]}); give one of them another name,"
                        f" or list each under the other's 'related:' if they are related"
                    )
                if all(h.id != taxon.id for h in holders):
                    holders.append(taxon)
