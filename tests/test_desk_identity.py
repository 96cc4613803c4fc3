"""What the desk takes for a caller's phone number, e-mail address or introduced name,
and what it leaves alone."""

from __future__ import annotations

import pytest

from desk.identity import REMOVED, find_identifiers, redact

FOUND = [
    ("Call him back on 0712 345 678 tomorrow", "phone", "0712 345 678"),
    ("my number is +254 712 345678.", "phone", "+254 712 345678"),
    ("(020) 7946-0958 ext", "phone", "(020) 7946-0958"),
    ("+66 2 123 4567", "phone", "+66 2 123 4567"),
    ("write to jane.doe+tips@example.co.ke please", "email", "jane.doe+tips@example.co.ke"),
    ("My name is Amina Said and I saw the lorry", "name", "Amina Said"),
    ("my name is amina, the lorry was blue", "name", "amina"),
    ("Je m'appelle Jean Dupont.", "name", "Jean Dupont"),
    ("Me llamo Lucía.", "name", "Lucía"),
    ("Jina langu ni Juma Hamisi, niliona", "name", "Juma Hamisi"),
    ("Tên tôi là Nguyễn Văn An", "name", "Nguyễn Văn An"),
    ("Меня зовут Иван Петров, я видел", "name", "Иван Петров"),
    ("اسمي أمينة سعيد وأنا رأيت الشاحنة", "name", "أمينة سعيد"),
    ("我叫王小明，我看到了", "name", "王小明"),
    ("ผมชื่อสมชาย ใจดี ครับ", "name", "สมชาย ใจดี"),
]

LEFT_ALONE = [
    "On 05.12.2026 they loaded 300 kg of scales",
    "coordinates -4.5712, 39.1203",
    "a lorry KBX 123A with 2 men, about 40 tusks",
    "they asked 12000000 shillings",
    "It happened at 10:30 near kilometre 152",
    "Please describe what happened",
    "call me back later",  # no name and no number
]


@pytest.mark.parametrize(("text", "kind", "found"), FOUND)
def test_identifying_text_is_found(text: str, kind: str, found: str) -> None:
    findings = find_identifiers(text)
    assert [(f.kind, f.text) for f in findings] == [(kind, found)]
    [finding] = findings
    assert text[finding.start : finding.end] == found
    assert redact(text) == text.replace(found, REMOVED)


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_ordinary_details_are_left_alone(text: str) -> None:
    assert find_identifiers(text) == []
    assert redact(text) == text


def test_several_findings_and_overlaps() -> None:
    text = "My name is Juma, call 0722 000 111 or juma@example.org"
    assert [f.kind for f in find_identifiers(text)] == ["name", "phone", "email"]
    assert redact(text) == f"My name is {REMOVED}, call {REMOVED} or {REMOVED}"
    # A name introduction whose "name" is a phone number: one finding over both.
    overlapping = "my name is +254712345678"
    [finding] = find_identifiers(overlapping)
    assert "+254712345678" in finding.text
    assert "254712345678" not in redact(overlapping)
