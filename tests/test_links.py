"""Links of an online listing: parsed into parts as typed, validated, refused with a
reason, kept as data, and shown defanged in every view (the tipster's summary, the
reviewer's view and export text), with onion addresses labelled."""

from __future__ import annotations

import json
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.render import Renderer
from conversations import ShowSummary, Text
from conversations import messages as m
from conversations.answers import (
    LinkItem,
    LinksAnswer,
    TextAnswer,
    answer_from_json,
    answer_to_json,
)
from conversations.links import (
    _may_link,
    _parse,
    defang,
    defang_text,
    mentions_link,
    parse_links,
)
from review.render import LINKS_NOTE, ViewOptions, render_text, tip_view
from review.tip import OpenedTip

from .dialogue import Dialogue, default_questionnaire

ONION = "ivorymkt" + "a" * 48 + ".onion"


def test_a_link_keeps_its_parts_as_typed() -> None:
    found = parse_links("Here: HTTPS://Shop.Example.com:8443/Ivory/Item%207?id=7&x=Y#photos")
    assert found.refused == ()
    (link,) = found.links
    assert link == LinkItem(
        typed="HTTPS://Shop.Example.com:8443/Ivory/Item%207?id=7&x=Y#photos",
        host="Shop.Example.com",
        scheme="HTTPS",
        port=8443,
        path="/Ivory/Item%207",
        query="id=7&x=Y",
        fragment="photos",
        onion=False,
    )


def test_several_links_in_one_message_in_any_punctuation() -> None:
    found = parse_links(
        "1) facebook.com/marketplace/item/991, 2) (www.tiktok.com/@seller/video/12)\n"
        "3) 127.0.0.1:8080/listing. and again facebook.com/marketplace/item/991"
    )
    assert [(x.scheme, x.host, x.port, x.path) for x in found.links] == [
        (None, "facebook.com", None, "/marketplace/item/991"),
        (None, "www.tiktok.com", None, "/@seller/video/12"),
        (None, "127.0.0.1", 8080, "/listing"),
    ]


def test_onion_hosts_are_recognised() -> None:
    (link,) = parse_links(f"http://{ONION}/shop/ivory").links
    assert link.onion and link.host == ONION
    assert not parse_links("https://onion.example.com/").links[0].onion


@pytest.mark.parametrize(
    "text",
    [
        "no address at all",
        "3.5 kg for 200 dollars, e.g. tusks",
        "seller@example.com",
        "http://",
        "https:///path",
        "999.1.1.1:80/x",
        "example.com:99999/x",
        "-bad-.com/x",
        "localhost/x",
    ],
)
def test_no_link_is_found_in(text: str) -> None:
    assert parse_links(text).links == ()


@pytest.mark.parametrize("text", ["ftp://files.example.com/a", "file://x.example.org/etc"])
def test_other_schemes_are_refused(text: str) -> None:
    assert parse_links(text).refused == (text,)


def test_free_text_mentions_a_link_only_when_it_is_clearly_one() -> None:
    assert mentions_link("sold on https://x.example/y")
    assert mentions_link("see www.ivorytrade.biz")
    assert mentions_link("ask on instagram.com/seller")
    assert mentions_link(f"on {ONION}")
    assert mentions_link("at 10.0.0.7:8080")
    assert not mentions_link("Mr.Smith and Dr.Banda, 10.30 a.m., 3.5kg")
    assert not mentions_link("the file report.pdf")


def test_defanged_links_cannot_be_clicked() -> None:
    (link,) = parse_links("https://shop.example.com/a.html?next=http://evil.example.org/").links
    assert (
        defang(link) == "hxxps://shop[.]example[.]com/a[.]html?next=hxxp://evil[.]example[.]org/"
    )
    (bare,) = parse_links("127.0.0.1:8080/listing").links
    assert defang(bare) == "127[.]0[.]0[.]1:8080/listing"
    assert (
        defang_text("Seen at https://a.example.com/x. Mr.Smith paid.")
        == "Seen at hxxps://a[.]example[.]com/x. Mr.Smith paid."
    )
    assert defang_text("ftp://files.example.com/a") == "ftp[://]files[.]example[.]com/a"


def test_links_answer_json_round_trip() -> None:
    found = parse_links(f"https://shop.example.com/x?q=1 {ONION}")
    answer = LinksAnswer("typed text", found.links)
    data = json.loads(json.dumps(answer_to_json(answer)))
    assert data["type"] == "links"
    assert data["links"][0]["host"] == "shop.example.com"
    assert data["links"][1]["onion"] is True
    assert answer_from_json(data) == answer
    with pytest.raises(ValueError, match="lacks 'host'"):
        answer_from_json({"type": "links", "typed": "x", "links": [{"typed": "x"}]})


def test_the_engine_refuses_a_message_without_a_link_and_says_why() -> None:
    d = Dialogue()
    d.walk_to("listing_links")
    assert d.ask is not None and d.ask.expects == "text" and d.ask.skippable
    d.send(Text("I saw it on the seller's page"))
    assert d.said() == [m.REASON_NO_LINK] and d.step == "listing_links"
    d.send(Text("ftp://files.example.com/ivory.zip"))
    assert d.said() == [m.REASON_LINK_SCHEME] and d.step == "listing_links"
    d.send(Text("https://shop.example.com/ivory and " + ONION))
    assert d.step == "platform"
    answer = d.state.answer("listing_links")
    assert isinstance(answer, LinksAnswer)
    assert answer.typed == "https://shop.example.com/ivory and " + ONION
    assert [link.onion for link in answer.links] == [False, True]


def test_the_refusals_are_in_the_tipsters_language() -> None:
    for lang in ("fr", "sw", "zh_Hans", "ar"):
        renderer = Renderer(lang, default_questionnaire())
        for msgid in (m.REASON_NO_LINK, m.REASON_LINK_SCHEME):
            assert renderer.msgid(msgid) != msgid, (lang, msgid)


def test_the_tipsters_summary_shows_links_defanged() -> None:
    d = Dialogue()
    d.walk_to("listing_links")
    d.text(f"https://shop.example.com/ivory?id=7 {ONION}/x")
    d.walk_to("review")
    summaries = [a for a in d.actions if isinstance(a, ShowSummary)]
    lines = dict(Renderer("en", d.questionnaire).summary(summaries[-1]))
    assert lines["Online listing"] == (
        f"hxxps://shop[.]example[.]com/ivory?id=7\n{ONION.replace('.', '[.]')}/x (onion service)"
    )
    assert lines["Platform"] == "Facebook"
    french = dict(Renderer("fr", d.questionnaire).summary(summaries[-1]))
    assert french["Annonce en ligne"].endswith("(service onion)")
    text = Renderer("en", d.questionnaire).answer("description", TextAnswer("on www.x.com/a"))
    assert text == "on www[.]x[.]com/a"


def test_the_reviewers_view_shows_links_defanged_and_how_to_open_them() -> None:
    links = LinksAnswer("typed", parse_links(f"http://shop.example.com/a {ONION}").links)
    answers = {
        "category": {"type": "choice", "option": "sale"},
        "description": {"type": "text", "text": "Posted on https://www.facebook.com/groups/77"},
        "listing_links": answer_to_json(links),
        "platform": {"type": "choice", "option": "darknet"},
    }
    transcript = {
        "schema_version": 1,
        "case_id": "k3f9x2hq7m4d",
        "received_on": "2026-05-17",
        "channel": "telegram",
        "language": "en",
        "questionnaire_version": 1,
        "answers": answers,
        "transcript": [{"question": q, "prompt": q, "answer": a} for q, a in answers.items()],
        "attachments": [],
    }
    opened = OpenedTip("k3f9x2hq7m4d", "0-0", transcript, json.dumps(transcript).encode(), ())
    text = render_text(tip_view(opened, default_questionnaire(), ViewOptions("en")))
    assert "hxxp://shop[.]example[.]com/a" in text
    assert f"{ONION.replace('.', '[.]')} (onion service)" in text
    assert "hxxps://www[.]facebook[.]com/groups/77" in text
    assert LINKS_NOTE in text
    assert "A darknet market" in text
    for raw in ("http://shop", "shop.example.com", "facebook.com", ONION, "://www.facebook"):
        assert raw not in text, raw


_URLISH = st.text(
    alphabet=st.sampled_from(list("abc.:/?#@[]-_0123456789 hxtps\n,()<>'\"中")), max_size=200
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_URLISH, st.text(max_size=200)))
def test_any_text_parses_and_defangs_without_leaving_a_dot_or_a_scheme(text: str) -> None:
    found = parse_links(text)
    for link in found.links:
        assert link.typed in text
        shown = defang(link)
        assert "." not in shown.replace("[.]", "")
        assert not re.search(r"(?i)https?://", shown)
    defanged = defang_text(text)
    assert not mentions_link(defanged)


def test_a_long_hostile_message_is_read_quickly() -> None:
    start = time.perf_counter()
    parse_links("a." * 2000 + "/" + "?" * 1000 + "http://" * 100)
    defang_text(("x" * 60 + ".") * 60)
    assert time.perf_counter() - start < 1.0


@settings(max_examples=500, deadline=None)
@given(st.one_of(_URLISH, st.text(max_size=60)))
def test_only_a_dotted_word_or_one_with_a_scheme_is_read_as_a_link(word: str) -> None:
    """Free text skips the words that cannot be links without parsing them: that is sound
    only while every word strict reading takes as a link (or refuses) has one of those."""
    if _parse(word, strict=True) is not None:
        assert _may_link(word)
