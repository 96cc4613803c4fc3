"""Catalogue.from_documents: what it accepts, and errors that name the file, the entry and
the field of invalid data."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from conversations.species import Catalogue, CatalogueError, Document

PRODUCTS: dict[str, Any] = {
    "scales": {"en": ["scale", "scales"], "id": ["sisik"]},
    "ivory": {"en": ["ivory"]},
    "timber": {"en": ["wood"]},
}


def entry(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "pangolins",
        "scientific": "Manidae",
        "rank": "family",
        "group": "mammal",
        "cites": "I",
        "products": ["scales"],
        "names": {"en": ["pangolin"], "id": ["trenggiling"]},
    }
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def build(*files: list[Any], products: Any = None) -> Catalogue:
    docs = [Document(f"file{i}.yaml", data) for i, data in enumerate(files, 1)]
    return Catalogue.from_documents(docs, Document("products.yaml", products or PRODUCTS))


def error(*files: list[Any], products: Any = None) -> str:
    with pytest.raises(CatalogueError) as caught:
        build(*files, products=products)
    assert isinstance(caught.value, ValueError)
    return str(caught.value)


def test_a_valid_entry() -> None:
    catalogue = build([entry()])
    taxon = catalogue.get("pangolins")
    assert taxon is not None
    assert (taxon.scientific, taxon.rank, taxon.group, taxon.cites) == (
        "Manidae",
        "family",
        "mammal",
        "I",
    )
    assert taxon.products == ("scales",)
    assert dict(taxon.names) == {"en": ("pangolin",), "id": ("trenggiling",)}
    assert taxon.note is None and taxon.related == ()


def test_optional_keys_and_text_input() -> None:
    text = """
- id: teak
  scientific: Tectona grandis
  rank: species
  group: plant
  products: [timber]
  names: {en: [teak], fr: teck}
  note: Not CITES-listed.
"""
    catalogue = Catalogue.from_documents([("plants.yaml", text), None], PRODUCTS)
    teak = catalogue.get("teak")
    assert teak is not None and teak.cites is None and teak.note == "Not CITES-listed."
    assert teak.names["fr"] == ("teck",)  # a single name may be written without a list


def test_an_empty_file_is_no_taxa() -> None:
    assert len(build([entry()], None)) == 1  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"id": "Pangolins"}, ["file1.yaml", "entry 1", "'id'"]),
        ({"id": "p"}, ["'id'", "[a-z0-9_]{2,40}"]),
        ({"id": "pangolins-all"}, ["'id'"]),
        ({"id": 7}, ["'id'"]),
        ({"products": ["scale"]}, ["(pangolins)", "'products'", "'scale'"]),
        ({"products": []}, ["'products'", "non-empty"]),
        ({"rank": "subfamily"}, ["'rank'", "'subfamily'"]),
        ({"group": "mammals"}, ["'group'", "'mammals'"]),
        ({"cites": "I/II"}, ["'cites'", "'I/II'"]),
        ({"cites": 1}, ["'cites'"]),
        ({"cites": "IV"}, ["'cites'"]),
        ({"names": {"zh": ["穿山甲"]}}, ["'names'", "unknown language 'zh'"]),
        ({"names": {"en": [""]}}, ["'names.en'", "empty"]),
        ({"names": {"en": ["  "]}}, ["'names.en'", "empty"]),
        ({"names": {"en": ["!!!"]}}, ["'names.en'", "no letters"]),
        ({"names": {"en": []}}, ["'names.en'", "non-empty"]),
        ({"names": {}}, ["'names'"]),
        ({"names": ["pangolin"]}, ["'names'"]),
        ({"note": ""}, ["'note'"]),
        ({"product": ["scales"]}, ["unknown key 'product'"]),
        ({"names": None}, ["missing 'names'"]),
        ({"scientific": None, "rank": None}, ["missing 'rank', 'scientific'"]),
        ({"related": ["nobody"]}, ["'related'", "'nobody'"]),
        ({"related": ["pangolins"]}, ["'related'", "'pangolins'"]),
    ],
)
def test_invalid_fields(change: dict[str, Any], words: list[str]) -> None:
    message = error([entry(**change)])
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("rank", "scientific"),
    [
        ("species", "loxodonta africana"),
        ("species", "Loxodonta Africana"),
        ("species", "Loxodonta"),
        ("species", "Loxodonta africana africana extra"),
        ("species", "Loxodonta  africana"),
        ("species", "Loxodonta sp."),
        ("genus", "Dalbergia nigra"),
        ("genus", "dalbergia"),
        ("family", "Manidae family"),
        ("family", "MANIDAE"),
        ("order", "Pholidota 2"),
        ("class", "Aves "),
        ("group", "sharks"),
        ("species", 12),
    ],
)
def test_invalid_scientific_name_forms(rank: str, scientific: Any) -> None:
    message = error([entry(rank=rank, scientific=scientific)])
    assert "'scientific'" in message and "entry 1 (pangolins)" in message


@pytest.mark.parametrize(
    ("rank", "scientific"),
    [
        ("species", "Loxodonta africana"),
        ("species", "Ceratotherium simum cottoni"),  # a subspecies
        ("species", "Holothuria (Microthele) fuscogilva"),  # with its subgenus
        ("species", "Psittacus erithacus"),
        ("genus", "Dalbergia"),
        ("family", "Manidae"),
        ("order", "Pholidota"),
        ("class", "Aves"),
        ("group", "Selachimorpha"),
        ("group", "Dalbergia spp."),
        ("group", "Holothuria (Microthele)"),
        ("group", "Anguilla anguilla"),
    ],
)
def test_valid_scientific_name_forms(rank: str, scientific: str) -> None:
    assert len(build([entry(rank=rank, scientific=scientific)])) == 1


def test_a_duplicate_id_across_files_names_both() -> None:
    other = entry(scientific="Manis javanica", rank="species", names={"en": ["Sunda pangolin"]})
    message = error([entry()], [other])
    assert "file2.yaml: entry 1 (pangolins)" in message
    assert "file1.yaml: entry 1" in message


def test_a_duplicate_scientific_name_at_one_rank() -> None:
    other = entry(id="pangolins_again", names={"en": ["scaly anteater"]})
    message = error([entry(), other])
    assert "'Manidae'" in message and "'pangolins'" in message
    # a trade group may share it with another group
    group_a = entry(id="group_a", rank="group", names={"en": ["a"]})
    group_b = entry(id="group_b", rank="group", names={"en": ["b"]})
    assert len(build([group_a, group_b])) == 2


def test_not_a_list_or_not_a_mapping() -> None:
    assert "must be a list" in error({"id": "x"})  # type: ignore[arg-type]
    assert "file1.yaml: entry 2" in error([entry(), "pangolin"])
    with pytest.raises(CatalogueError, match="not valid YAML"):
        Catalogue.from_documents([("broken.yaml", "- id: [unclosed")], PRODUCTS)


# ----------------------------------------------------------------------------- shared names
def sunda(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": "sunda_pangolin",
        "scientific": "Manis javanica",
        "rank": "species",
        "names": {"en": ["Sunda pangolin", "Pangolin"]},
    }
    fields.update(changes)
    return entry(**fields)


def test_one_name_for_two_unrelated_taxa_in_one_language() -> None:
    message = error([entry()], [sunda()])
    assert "file2.yaml: entry 1 (sunda_pangolin)" in message
    assert "'names.en'" in message and "'Pangolin'" in message
    assert "'pangolins'" in message and "file1.yaml" in message
    assert "related" in message


def test_the_same_name_after_normalisation_counts() -> None:
    message = error([entry()], [sunda(names={"en": ["PANGOLINS!"]})])
    assert "'PANGOLINS!'" in message


def test_taxa_that_list_each_other_as_related_may_share_names() -> None:
    family = entry(related=["sunda_pangolin"])
    assert len(build([family], [sunda(related=["pangolins"])])) == 2


def test_related_must_be_listed_on_both_sides() -> None:
    assert "'Pangolin'" in error([entry(related=["sunda_pangolin"])], [sunda()])
    assert "'Pangolin'" in error([entry()], [sunda(related=["pangolins"])])


def test_a_genus_and_its_species_or_two_species_of_a_genus_are_related() -> None:
    genus = entry(id="rosewoods", scientific="Dalbergia", rank="genus", group="plant")
    genus["names"] = {"en": ["rosewood"]}
    genus["products"] = ["timber"]
    one = copy.deepcopy(genus) | {
        "id": "siamese_rosewood",
        "scientific": "Dalbergia cochinchinensis",
        "rank": "species",
    }
    two = copy.deepcopy(one) | {"id": "burmese_rosewood", "scientific": "Dalbergia oliveri"}
    assert len(build([genus, one, two])) == 3
    other_genus = copy.deepcopy(one) | {"id": "padauk", "scientific": "Pterocarpus indicus"}
    assert "'rosewood'" in error([genus, other_genus])


def test_the_same_name_in_two_languages_is_fine() -> None:
    other = entry(
        id="tigers",
        scientific="Panthera tigris",
        rank="species",
        names={"fr": ["pangolin"], "es": ["tigre"]},
    )
    assert len(build([entry()], [other])) == 2


# ----------------------------------------------------------------------------- products
@pytest.mark.parametrize(
    ("products", "words"),
    [
        ({"scale": {"en": ["scale"]}}, ["products.yaml", "'scale'", "unknown product form"]),
        ({"scales": {"zh": ["鳞片"]}}, ["products.yaml", "'scales'", "unknown language 'zh'"]),
        ({"scales": {"en": [""]}}, ["products.yaml", "'scales'"]),
        ({"scales": {"en": ["..."]}}, ["no letters"]),
        ({"scales": ["scale"]}, ["'scales'", "mapping"]),
        (["scales"], ["products.yaml", "mapping"]),
    ],
)
def test_invalid_product_words(products: Any, words: list[str]) -> None:
    message = error([entry()], products=products)
    for word in words:
        assert word in message


def test_one_word_may_stand_for_several_products() -> None:
    products = {"ivory": {"sw": ["pembe"]}, "horn": {"sw": ["pembe"]}}
    rhino = entry(
        id="rhinos",
        scientific="Rhinocerotidae",
        products=["horn"],
        names={"sw": ["kifaru"]},
    )
    catalogue = build([rhino], products=products)
    found = catalogue.search("pembe ya kifaru", "sw")
    assert (found[0].taxon.id, found[0].product) == ("rhinos", "horn")
