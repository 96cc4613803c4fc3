"""The JSON form of the channel actions: what an outbox keeps comes back exactly."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from conversations import (
    Ask,
    Attachment,
    ChannelAction,
    End,
    FetchAttachment,
    Location,
    Say,
    ShowSummary,
    Start,
    action_from_json,
    action_to_json,
)
from conversations.actions import CountryName, LanguageName, Option, Plain
from conversations.answers import LinksAnswer
from conversations.messages import Msg, MsgList
from tipline.species_loader import load_catalogue

from .dialogue import Dialogue, default_questionnaire


def _channel_actions(actions: list[Any]) -> list[ChannelAction]:
    return [a for a in actions if isinstance(a, Say | Ask | ShowSummary | FetchAttachment | End)]


def test_every_action_of_a_whole_conversation_comes_back_equal() -> None:
    d = Dialogue(replace(default_questionnaire(), species=load_catalogue()))
    seen: list[ChannelAction] = _channel_actions(d.send(Start()))
    d.choose("en")
    d.choose("continue")
    d.choose("sale")  # a sale: the listing's links are asked, and in the summary
    d.text("Two trucks with pangolin scales at the border")
    seen += _channel_actions(d.text("shark fin"))  # species proposals: Plain labels
    d.walk_to("country")
    seen += _channel_actions(d.text("Congo"))  # two Congos: CountryName labels
    assert d.step == "_country_pick"
    d.choose(d.option_ids()[0])
    d.walk_to("location")
    seen += _channel_actions(d.send(Location(-4.04, 39.66)))
    d.walk_to("evidence")
    seen += _channel_actions(d.send(Attachment("file-1", "photo", 2048, "the truck")))
    d.walk_to("review")
    seen += _channel_actions(d.actions)  # the summary with every kind of answer
    values = {type(i.value) for a in seen if isinstance(a, ShowSummary) for i in a.items}
    assert LinksAnswer in values
    kinds = {type(a) for a in seen}
    assert kinds >= {Say, Ask, ShowSummary, FetchAttachment}
    labels = {type(o.label) for a in seen if isinstance(a, Ask) for o in a.options}
    assert labels >= {Msg, LanguageName, Plain, CountryName}
    for action in [*seen, End()]:
        assert action_from_json(action_to_json(action)) == action


def test_message_values_lists_and_plurals_come_back() -> None:
    msg = Msg("{n} files: {names}", (("names", MsgList(("a", "b"))), ("n", 3)), "plural", 3)
    say = Say(msg, "ar")
    assert action_from_json(action_to_json(say)) == say
    ask = Ask("country", Msg("Which?"), (), "text", "fr", skippable=True, can_go_back=True)
    assert action_from_json(action_to_json(ask)) == ask
    picked = Ask(
        "_country_pick", Msg("Which?"), (Option("CG", CountryName("CG")),), "choice", "fr"
    )
    assert action_from_json(action_to_json(picked)) == picked


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {"do": "explode"},
        {"do": "say", "msg": {"id": "x"}},  # no language
        {"do": "say", "msg": {"id": 5}, "lang": "en"},
        {"do": "say", "msg": {"id": "x", "values": [["n", True]]}, "lang": "en"},
        {"do": "say", "msg": {"id": "x", "values": [["n"]]}, "lang": "en"},
        {
            "do": "ask",
            "step": "s",
            "prompt": {"id": "p"},
            "options": [],
            "expects": "x",
            "lang": "en",
            "skippable": False,
            "back": False,
        },
        {
            "do": "ask",
            "step": "s",
            "prompt": {"id": "p"},
            "options": [["o", {"odd": 1}]],
            "expects": "choice",
            "lang": "en",
            "skippable": False,
            "back": False,
        },
        {
            "do": "ask",
            "step": "s",
            "prompt": {"id": "p"},
            "options": [],
            "expects": "choice",
            "lang": "en",
            "skippable": "no",
            "back": False,
        },
        {"do": "summary", "items": [["s", {"id": "l"}]], "lang": "en"},
        {"do": "summary", "items": [["s", {"id": "l"}, {"type": "nope"}]], "lang": "en"},
        {"do": "fetch"},
    ],
)
def test_a_malformed_action_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"."):
        action_from_json(bad)
