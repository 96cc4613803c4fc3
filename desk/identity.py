"""Finding what identifies a caller in free text: phone numbers, e-mail addresses, and
a name introduced as such ("my name is ...").

The desk warns before such an answer is kept and offers to remove it (P1: there is no
field for the caller's number or name, but a caller may say them and an operator may
type them). This is a net, not a guarantee: it finds the common forms, in the
languages Tipline speaks, and says nothing of names mentioned without an introduction.
Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

__all__ = ["Finding", "find_identifiers", "redact"]

Kind = Literal["phone", "email", "name"]
REMOVED = "[removed]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# A run of digits with the separators people write between them; judged by its digits.
_PHONE = re.compile(r"(?<![\w.,])\+?\(?\d[\d\s().\-/]{5,22}\d(?![\w])")
_MIN_PHONE_DIGITS = 9  # fewer: a date, a count, a price
_MIN_INTERNATIONAL = 7  # with a leading +
_MAX_PHONE_DIGITS = 15  # E.164
# "my name is" in the languages Tipline offers; what follows (up to three words, or to
# the end of the clause in a script without spaces) is the name.
_INTRODUCTIONS = (
    r"my name is", r"my name's", r"i am called", r"they call me",
    r"je m'appelle", r"je m’appelle", r"mon nom est",
    r"me llamo", r"mi nombre es",
    r"meu nome é", r"me chamo", r"o meu nome é",
    r"jina langu ni", r"naitwa",
    r"nama saya", r"saya bernama",
    r"tên tôi là", r"tôi tên là", r"tên của tôi là",
    r"меня зовут", r"моё имя", r"мое имя",
    r"मेरा नाम",
    r"اسمي",
    r"我叫", r"我的名字是", r"我的名字叫",
    r"ฉันชื่อ", r"ผมชื่อ", r"ดิฉันชื่อ", r"ชื่อของฉันคือ",
    r"ຂ້ອຍຊື່",
    r"ខ្ញុំឈ្មោះ",
    r"ကျွန်တော့်နာမည်", r"ကျွန်မနာမည်",
)  # fmt: skip
_NAME = re.compile(
    r"(?:" + "|".join(_INTRODUCTIONS) + r")[\s:,]*"
    r"(?P<name>[^\s.,;:!?،。，！？]+(?:\s+[^\s.,;:!?،。，！？]+){0,2})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    kind: Kind
    text: str
    start: int
    end: int


def _digits(text: str) -> int:
    return sum(1 for char in text if unicodedata.category(char) == "Nd")


def find_identifiers(text: str) -> list[Finding]:
    """What in ``text`` looks like a phone number, an e-mail address or an introduced
    name, in order; overlapping findings are merged into the first."""
    found: list[Finding] = []
    for match in _EMAIL.finditer(text):
        found.append(Finding("email", match.group(0), match.start(), match.end()))
    for match in _PHONE.finditer(text):
        candidate = match.group(0).strip()
        digits = _digits(candidate)
        international = candidate.startswith("+") and digits >= _MIN_INTERNATIONAL
        if (digits >= _MIN_PHONE_DIGITS or international) and digits <= _MAX_PHONE_DIGITS:
            start = match.start() + match.group(0).index(candidate)
            found.append(Finding("phone", candidate, start, start + len(candidate)))
    for match in _NAME.finditer(text):
        name = _name_words(match.group("name"))
        start = match.start("name")
        found.append(Finding("name", name, start, start + len(name)))
    found.sort(key=lambda f: (f.start, -f.end))
    merged: list[Finding] = []
    for finding in found:
        if merged and finding.start < merged[-1].end:
            last = merged[-1]  # overlapping: one finding over both
            end = max(last.end, finding.end)
            merged[-1] = Finding(last.kind, text[last.start : end], last.start, end)
            continue
        merged.append(finding)
    return merged


def _name_words(captured: str) -> str:
    """The words of a name after its introduction: in a script with capitals, the
    capitalised words in a row ("Amina Said", not "Amina Said and"); otherwise two."""
    words = captured.split()
    first = words[0]
    if first[:1].isupper():
        kept = [first]
        for word in words[1:]:
            if not word[:1].isupper():
                break
            kept.append(word)
    elif first[:1].islower():
        kept = [first]  # "my name is amina": one word, the rest is the sentence
    else:
        kept = words[:2]  # a script without capitals
    end = 0
    for word in kept:
        end = captured.index(word, end) + len(word)
    return captured[:end]


def redact(text: str) -> str:
    """``text`` with every finding replaced by ``[removed]``; the rest as typed."""
    out = []
    position = 0
    for finding in find_identifiers(text):
        out.append(text[position : finding.start])
        out.append(REMOVED)
        position = finding.end
    out.append(text[position:])
    return "".join(out)
