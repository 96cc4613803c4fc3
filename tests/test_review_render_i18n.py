"""The staff's words of the review tools' rendering (claim status, attachments, voice and
partial notes) come from the desk catalogue in the reviewer's language: English, whole,
until that language's desk catalogue is complete."""

from __future__ import annotations

from babel.messages.pofile import read_po

from bots.render import LOCALES_DIR, STAFF_DOMAIN, staff_gettext
from desk.i18n import gettext_in
from review.render import attachments_summary, claim_status, partial_note, voice_note
from review.tip import OpenedTip

LANGS = ("en", "fr", "ar", "zh_Hans")


def _template() -> set[str]:
    with (LOCALES_DIR / f"{STAFF_DOMAIN}.pot").open("rb") as pot:
        return {str(m.id) for m in read_po(pot) if m.id}


def _said(lang: str, msgid: str, **values: object) -> str:
    assert msgid in _template(), msgid
    return staff_gettext(lang)(msgid).format(**values)


def test_the_desk_and_the_review_tools_share_one_gettext() -> None:
    assert gettext_in is staff_gettext
    assert staff_gettext("en")("new: first delivery, claimed by you") == (
        "new: first delivery, claimed by you"
    )


def test_a_claim_status_is_in_the_reviewers_language() -> None:
    for lang in LANGS:
        assert claim_status("new", 1, lang=lang) == _said(
            lang, "new: first delivery, claimed by you"
        )
        assert claim_status("again", 2, lang=lang) == _said(
            lang, "claimed by you already (delivery {delivery})", delivery=2
        )
        assert claim_status("reclaimed", 3, lang=lang) == _said(
            lang,
            "reclaimed after another reviewer's claim went idle (delivery {delivery})",
            delivery=3,
        )
        assert claim_status(None, None, lang=lang) is None
    assert claim_status("again", 2) == "claimed by you already (delivery 2)"
    # Every language ships a complete desk catalogue: the reviewer's language is used.
    assert claim_status("again", 2, lang="fr") != claim_status("again", 2)


def test_attachments_voice_and_partial_notes_are_in_the_reviewers_language() -> None:
    transcript = {"attachments": [{"index": 0, "kind": "audio"}, {"index": 1, "partial": {}}]}
    opened = OpenedTip("k3f9x2hq7m4d", "1-0", transcript, b"{}", (b"sealed",))
    for lang in LANGS:
        summary = attachments_summary(opened, lang=lang)
        assert summary.startswith(_said(lang, "{n} sealed", n=1))
        assert _said(lang, "(the transcript lists {n}: check the export)", n=2) in summary
        assert voice_note({"said": "own", "disguised": True}, lang=lang) == _said(
            lang,
            "VOICE DISGUISED ({said}): pitch and formants were shifted; not a clue",
            said=_said(lang, "the tipster's own voice"),
        )
        assert voice_note({"said": "other"}, lang=lang) == _said(
            lang,
            "voice not changed ({said})",
            said=_said(lang, "someone else's voice (kept as evidence)"),
        )
        assert partial_note({"kept_seconds": 12}, lang=lang) == _said(
            lang,
            "PARTIAL: only the first {kept} ({kept_seconds} s) could be kept; the file arrived "
            "damaged and did not declare its length",
            kept="0:12",
            kept_seconds="12",
        )
    assert attachments_summary(opened) == (
        "1 sealed (the transcript lists 2: check the export); "
        "PARTIAL (arrived cut short, only the beginning kept): 1"
    )
