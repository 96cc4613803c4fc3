"""Script whole conversations against the engine, as h11's ConnectionPair scripts dialogues."""

from __future__ import annotations

from pathlib import Path

from conversations import (
    Action,
    Ask,
    Choose,
    Engine,
    Event,
    Questionnaire,
    Say,
    State,
    Text,
    parse_questionnaire,
)
from conversations.engine import step_kind

ROOT = Path(__file__).resolve().parents[1]


def default_questionnaire() -> Questionnaire:
    return parse_questionnaire((ROOT / "conversations" / "default_questionnaire.yaml").read_text())


class Dialogue:
    """One conversation: send events, keep the state, look at what the engine said."""

    #: Steps that :meth:`walk_to` reaches by reporting a sale (they are asked only then).
    LISTING = ("listing_links", "platform")

    def __init__(self, questionnaire: Questionnaire | None = None) -> None:
        self.questionnaire = questionnaire or default_questionnaire()
        self.engine = Engine(self.questionnaire)
        self.state: State = self.engine.initial()
        self.actions: list[Action] = []
        self.ask: Ask | None = None

    def send(self, event: Event) -> list[Action]:
        self.state, actions = self.engine.handle(self.state, event)
        self.actions = actions
        asks = [a for a in actions if isinstance(a, Ask)]
        if asks:
            self.ask = asks[-1]
        return actions

    def choose(self, option: str) -> list[Action]:
        assert self.ask is not None, "nothing was asked"
        return self.send(Choose(self.ask.step, option))

    def text(self, text: str) -> list[Action]:
        return self.send(Text(text))

    @property
    def step(self) -> str:
        return self.state.step

    @property
    def kind(self) -> str:
        return step_kind(self.questionnaire, self.state)

    def said(self) -> list[str]:
        """Message ids said by the last event's actions."""
        return [a.msg.id for a in self.actions if isinstance(a, Say)]

    def option_ids(self) -> list[str]:
        assert self.ask is not None
        return [o.id for o in self.ask.options]

    def walk_to(self, step: str) -> None:
        """From a new conversation in English, answer plausibly until ``step`` is asked."""
        from conversations import Start

        answers = {
            "language": lambda: self.choose("en"),
            "safety": lambda: self.choose("continue"),
            # A sale: the online-listing questions are asked (they are only for a sale).
            "category": lambda: self.choose("sale" if step in self.LISTING else "trafficking"),
            "description": lambda: self.text("Two trucks with pangolin scales at the border"),
            "species": lambda: self.text("pangolin scales"),
            "_species_pick": lambda: self.choose("1"),
            "_species_more": lambda: self.choose("done"),
            "country": lambda: self.text("Kenya"),
            "place": lambda: self.text("Near the port"),
            "location": lambda: self.text("-4.0435, 39.6682"),
            "_precision": lambda: self.choose("10km"),
            "when": lambda: self.choose("this_week"),
            "when_details": lambda: self.text("Every Tuesday night"),
            "listing_links": lambda: self.text("https://market.example.com/item/7"),
            "platform": lambda: self.choose("facebook"),
            "evidence": lambda: self.choose("done"),
            "_voice": lambda: self.choose("unsure"),
            "followup": lambda: self.choose("no"),
        }
        if self.state.phase == "new":
            self.send(Start())
        for _ in range(40):
            if self.step == step:
                return
            answers[self.step]()
        raise AssertionError(f"never reached {step}; stuck at {self.step}")
