"""Normalisation of species queries and names (conversations.species.normalise)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.species import normalise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # case, Latin diacritics, punctuation, spaces
        ("  Pangolin!!  ", "pangolin"),
        ("Ngà  Voi", "nga voi"),
        ("ĐỒI MỒI", "doi moi"),
        ("tê-tê", "te te"),
        ("Éléphant d'Afrique", "elephant d afriqu"),
        ("l'ivoire", "l ivoir"),
        # full-width and compatibility forms
        ("ＰＡＮＧＯＬＩＮ", "pangolin"),
        ("穿山甲，鳞片", "穿山甲鳞片"),
        ("ﬁns", "fin"),
        # Cyrillic and Greek lose their diacritics too
        ("Ёж", "еж"),
        ("чешуйки", "чешуики"),
        # simple plurals of en, fr, es, pt (to the same stem as the singular)
        ("scales", normalise("scale")),
        ("pieles", normalise("piel")),
        ("tortugas", "tortuga"),
        ("tortoises", normalise("tortoise")),
        ("rhinoceroses", normalise("rhinoceros")),
        ("œufs", normalise("œuf")),
        ("glass", "glass"),
        ("cactus", "cactus"),
        # Arabic: optional vowel signs, alif forms and the article go
        ("العاج", "عاج"),
        ("عَاج", "عاج"),
        ("أفريقي", "افريقي"),
        # Devanagari: vowel signs are letters; nukta and candrabindu are folded
        ("हाथीदांत", "हाथीदांत"),
        ("दाँत", "दांत"),
        ("ज़िंदा", "जिंदा"),
    ],
)
def test_examples(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    "word",
    ["ตัวนิ่ม", "ເກັດ", "ស្បែក", "အကြေးခွံ", "हड्डी", "เกล็ด"],
)
def test_marks_of_other_scripts_are_kept(word: str) -> None:
    """Thai, Lao, Khmer, Burmese and Devanagari vowel signs and viramas are letters."""
    assert len(normalise(word)) >= len(word) - 1
    assert normalise(word).replace(" ", "") == normalise(word)
    assert normalise(word) != "".join(c for c in word if c.isalpha())  # marks are in


def test_scripts_without_spaces_lose_their_spaces() -> None:
    assert normalise("ตัว นิ่ม") == normalise("ตัวนิ่ม")
    assert normalise("穿山甲 片") == "穿山甲片"
    assert normalise("穿山甲 scales") == "穿山甲 scal"


def test_zero_width_characters_join() -> None:
    assert normalise("pango\u200blin") == "pangolin"
    assert normalise("ស្បែក\u200bខ្លា") == normalise("ស្បែកខ្លា")


def test_empty_and_punctuation_only() -> None:
    assert normalise("") == ""
    assert normalise(" ,.;!?¿¡—  ") == ""


@given(st.text())
def test_never_raises_and_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@given(st.text())
def test_output_is_single_spaced_and_case_folded(text: str) -> None:
    out = normalise(text)
    assert out == out.strip()
    assert "  " not in out
    assert out == out.casefold() or not out.isascii()


@given(st.text(alphabet=st.characters(codec="ascii")))
def test_ascii_fast_path_matches_the_general_one(text: str) -> None:
    # a non-ASCII space forces the general path without changing the result
    assert normalise(text) == normalise(text + "\u3000")
