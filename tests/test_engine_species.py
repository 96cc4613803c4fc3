"""The species question with the catalogue: proposals as buttons, several species, the
tipster's own words always kept."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

from bots.render import Renderer
from conversations import (
    Cancel,
    ChangeLanguage,
    ShowSummary,
    Skip,
    Text,
    build_transcript,
    state_from_json,
    state_to_json,
)
from conversations.actions import Plain
from conversations.answers import SpeciesAnswer, SpeciesItem, TextAnswer
from conversations.state import SPECIES_MORE_STEP, SPECIES_PICK_STEP
from tipline.species_loader import load_catalogue

from .dialogue import Dialogue, default_questionnaire

QUESTIONNAIRE = replace(default_questionnaire(), species=load_catalogue())


def _at_species() -> Dialogue:
    d = Dialogue(QUESTIONNAIRE)
    d.walk_to("species")
    return d


def test_proposals_come_as_buttons_with_none_and_unsure() -> None:
    d = _at_species()
    d.text("shark fin")
    assert d.step == SPECIES_PICK_STEP
    assert d.ask is not None
    labels = [o.label for o in d.ask.options]
    assert isinstance(labels[0], Plain) and "—" in labels[0].text
    assert d.option_ids()[-2:] == ["none", "unsure"]
    d.choose("1")
    assert d.step == SPECIES_MORE_STEP
    d.choose("done")
    answer = d.state.answer("species")
    assert isinstance(answer, SpeciesAnswer)
    [item] = answer.items
    assert (item.typed, item.status, item.taxon, item.product) == (
        "shark fin",
        "chosen",
        "sharks",
        "fins",
    )
    assert d.step == "country"


def test_several_species_and_the_words_are_kept() -> None:
    d = _at_species()
    d.text("carey")
    d.choose("1")
    d.choose("add")
    assert d.step == "species"
    d.text("gaharu")
    d.choose("unsure")
    d.choose("add")
    d.text("zzqx blorf")  # nothing matches: the words are kept as they are
    assert d.step == SPECIES_MORE_STEP
    d.choose("done")
    answer = d.state.answer("species")
    assert isinstance(answer, SpeciesAnswer)
    assert [(i.typed, i.status) for i in answer.items] == [
        ("carey", "chosen"),
        ("gaharu", "unsure"),
        ("zzqx blorf", "unmatched"),
    ]
    assert answer.items[1].proposed[0] == "agarwood"
    doc = build_transcript(
        QUESTIONNAIRE, d.state, case_id="abcdefgh", received_on=date.today(), channel="test"
    )
    first = doc["answers"]["species"]["items"][0]
    assert first["scientific"] == "Eretmochelys imbricata" and first["cites"] == "I"
    assert state_from_json(json.loads(json.dumps(state_to_json(d.state)))) == d.state


def test_none_of_these_and_typing_again() -> None:
    d = _at_species()
    d.text("rosewood")
    d.text("鱼翅")  # typed instead of choosing: matched as one more species
    assert d.step == SPECIES_PICK_STEP
    d.choose("none")
    d.choose("done")
    answer = d.state.answer("species")
    assert isinstance(answer, SpeciesAnswer)
    assert [i.status for i in answer.items] == ["none"]
    assert answer.items[0].typed == "鱼翅"


def test_something_that_is_not_wildlife_is_kept_without_proposals() -> None:
    d = _at_species()
    d.text("car")
    assert d.step == SPECIES_MORE_STEP
    answer = d.state.answer("species")
    assert answer == SpeciesAnswer((SpeciesItem("car", "unmatched"),))


def test_skip_and_edit() -> None:
    d = _at_species()
    d.text("shark fin")
    d.send(Skip())  # "I don't know" at the proposals: kept as not sure
    d.send(Skip())  # and no more species
    answer = d.state.answer("species")
    assert isinstance(answer, SpeciesAnswer) and answer.items[0].status == "unsure"
    d.walk_to("review")
    d.choose("edit")
    d.choose("species")
    d.text("gaharu")  # a new answer replaces the old one
    d.choose("1")
    d.choose("done")
    assert d.step == "review"
    answer = d.state.answer("species")
    assert isinstance(answer, SpeciesAnswer) and [i.typed for i in answer.items] == ["gaharu"]


def test_without_a_catalogue_the_words_are_the_answer() -> None:
    d = Dialogue()
    d.walk_to("species")
    d.send(Text("pangolin scales"))
    assert d.state.answer("species") == TextAnswer("pangolin scales")
    assert d.step == "country"


def test_the_summary_shows_the_chosen_name() -> None:
    d = _at_species()
    d.text("shark fin")
    d.choose("1")
    d.choose("done")
    d.walk_to("review")
    [summary] = [a for a in d.actions if isinstance(a, ShowSummary)]
    lines = dict(Renderer("en", QUESTIONNAIRE).summary(summary))
    chosen = d.state.answer("species")
    assert isinstance(chosen, SpeciesAnswer)
    assert lines["Species or products"] == chosen.items[0].shown
    assert "—" in lines["Species or products"]


def test_language_change_during_a_cancel_from_the_proposals() -> None:
    """Found by the fuzzer: cancel at the proposals, change language, pick it: the
    species question comes back (not the proposals, whose data is gone)."""
    d = _at_species()
    d.text("shark fin")
    d.send(Cancel())
    d.send(ChangeLanguage())
    d.choose("sw")
    assert d.step == "species" and d.state.language == "sw"
    assert d.kind == "species"
