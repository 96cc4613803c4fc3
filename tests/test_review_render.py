"""The reviewer's view of a tip: the reviewer's language for labels, dates and names,
the tipster's words as written, nothing a crafted tip could use against the terminal."""

from __future__ import annotations

import json
from datetime import date

from babel import Locale

from bots.render import Renderer, staff_gettext
from conversations.species import Catalogue
from review.render import ViewOptions, clean, language_name, map_link, render_text, tip_view
from review.tip import OpenedTip
from tipline.species_loader import load_catalogue

from .dialogue import default_questionnaire

CASE = "k3f9x2hq7m4d"


def _opened(answers: dict[str, object], language: str = "sw", **extra: object) -> OpenedTip:
    transcript = {
        "schema_version": 1,
        "case_id": CASE,
        "received_on": "2026-05-17",
        "channel": "telegram",
        "language": language,
        "questionnaire_version": 1,
        "answers": answers,
        "transcript": [
            {
                "question": "description",
                "prompt": "Please describe what happened, in your own words.",
                "answer": answers.get("description", {"type": "skipped"}),
            }
        ],
        "attachments": [],
        **extra,
    }
    return OpenedTip(CASE, "0-0", transcript, json.dumps(transcript).encode(), ())


def _text(
    opened: OpenedTip,
    lang: str = "en",
    *,
    show_map: bool = False,
    species: Catalogue | None = None,
) -> str:
    view = tip_view(opened, default_questionnaire(), ViewOptions(lang, show_map, species))
    return render_text(view)


def test_labels_dates_and_names_in_the_reviewers_language() -> None:
    opened = _opened(
        {
            "category": {"type": "choice", "option": "trafficking"},
            "description": {"type": "text", "text": "Magunia ya magamba ya kakakuona"},
            "country": {"type": "country", "code": "CN", "typed": "uchina"},
            "when_details": {"type": "skipped"},
        }
    )
    for lang in ("en", "fr", "es"):
        text = _text(opened, lang)
        renderer = Renderer(lang, default_questionnaire())
        assert renderer.msgid("Description") in text
        assert renderer.msgid("Trafficking or smuggling") in text
        assert renderer.msgid("(not answered)") in text
        assert renderer.date(date(2026, 5, 17)) in text
        assert str(Locale.parse(lang).territories["CN"]) in text  # "China", "Chine"...
        # The tipster's words as written, after the staff's word for "typed".
        assert staff_gettext(lang)("typed: {typed}").format(typed="uchina") in text
        assert "Magunia ya magamba ya kakakuona" in text
        assert language_name("sw", lang) in text
    assert "Chine" in _text(opened, "fr")
    assert "typed: uchina" in _text(opened, "en")
    assert language_name("sw", "fr") == "Kiswahili (Swahili, sw)"
    assert language_name("en", "en") == "English (en)"


def test_the_transcript_is_shown_as_the_tipster_saw_it() -> None:
    opened = _opened({"description": {"type": "text", "text": "Vendeurs d'ivoire"}}, "fr")
    text = _text(opened, "en")
    prompt = Renderer("fr", default_questionnaire()).msgid(
        "Please describe what happened, in your own words."
    )
    assert f"Q {prompt}" in text and "A Vendeurs d'ivoire" in text


def test_species_with_the_catalogue_and_without() -> None:
    catalogue: Catalogue = load_catalogue()
    taxon = next(t for t in catalogue.taxa if t.cites and t.names.get("fr") and t.products)
    item: dict[str, object] = {
        "typed": "pembe za ndovu",
        "status": "chosen",
        "taxon": taxon.id,
        "product": taxon.products[0],
        "shown": "tembo",
        "proposed": [],
        "scientific": taxon.scientific,
        "cites": taxon.cites,
    }
    opened = _opened({"species": {"type": "species", "items": [item]}})
    text = _text(opened, "fr", species=catalogue)
    assert "“pembe za ndovu”" in text
    assert taxon.scientific in text and f"CITES {taxon.cites}" in text
    assert taxon.name_in("fr") in text  # the common name in the reviewer's language
    assert catalogue.product_name(taxon.products[0], "fr") in text
    # Without a catalogue: what the transcript carries, and the tipster's words.
    bare = _text(opened, "fr")
    assert "“pembe za ndovu”" in bare and taxon.scientific in bare and "tembo" in bare
    unsure = {"typed": "nyoka", "status": "unsure", "proposed": [taxon.id]}
    text = _text(_opened({"species": {"type": "species", "items": [unsure]}}), species=catalogue)
    assert "“nyoka” [unsure] proposed: " + taxon.scientific in text
    # An older transcript where the species question took free text.
    old = _text(_opened({"species": {"type": "text", "text": "pangolin scales"}}))
    assert "pangolin scales" in old


def test_a_map_link_only_on_request() -> None:
    pin = {"type": "location", "precision": "1km", "latitude": -4.04, "longitude": 39.67}
    opened = _opened({"location": pin})
    assert "openstreetmap" not in _text(opened)
    link = map_link(-4.04, 39.67, "1km")
    assert link in _text(opened, show_map=True)
    assert "-4.04, 39.67" in _text(opened)


def test_attachments_with_what_was_scrubbed() -> None:
    files = [
        {"index": 0, "kind": "photo", "size": 183220, "caption": "the truck",
         "scrubbed": ["EXIF GPS", "camera serial"]},
        {"index": 1, "kind": "document", "size": 900, "caption": None},
    ]  # fmt: skip
    opened = _opened({"evidence": {"type": "attachments", "files": files}}, attachments=files)
    text = _text(opened)
    assert "0: photo, 183.2 kB (183220 bytes), caption: the truck, scrubbed: EXIF GPS" in text
    assert "1: document, 900 bytes" in text
    assert "0 sealed (the transcript lists 2: check the export)" in text


def test_crafted_text_cannot_drive_the_terminal() -> None:
    hostile = "[bold red]FAKE[/] \x1b[2J\x1b]0;title\x07 \u202eevil\u202c ok\r\nnext line"
    text = _text(_opened({"description": {"type": "text", "text": hostile}}))
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "[bold red]FAKE[/]" in text  # shown literally, not as markup
    assert "ok\n" in text and "next line" in text
    assert clean("a\tb\x00c\u2066d") == "a bcd"


def test_a_prompt_of_several_paragraphs_is_shown_translated() -> None:
    q = default_questionnaire()
    notice = q.get("safety")
    assert notice is not None and "\n" in notice.prompt
    opened = _opened({"safety": {"type": "choice", "option": "continue"}}, "ar")
    opened.transcript["transcript"] = [
        {
            "question": "safety",
            "prompt": notice.prompt,
            "answer": {"type": "choice", "option": "continue"},
        }
    ]
    text = _text(opened, "en")
    arabic = " ".join(Renderer("ar", q).msgid(notice.prompt).split())
    assert arabic in text and "Before you start" not in text
