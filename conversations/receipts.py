"""Receipt codes as the engine sees them: 16 digits, typed in any script, shown grouped.

The code is checked by whoever holds the receipts (``privacy.receipt`` derives keys from
it); the engine only recognises its form and never keeps it in the state.
"""

from __future__ import annotations

import unicodedata

__all__ = ["CODE_DIGITS", "format_code", "parse_code"]

CODE_DIGITS = 16
_SEPARATORS = frozenset("-–—._/")


def format_code(code: str) -> str:
    """``4821 0937 5562 1048``: digits only, so it reads the same in every language."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def parse_code(text: str) -> str | None:
    """The code in what a tipster typed (spaces, dashes, any script's digits), or None."""
    digits = []
    for char in unicodedata.normalize("NFKC", text):
        if char.isdecimal():
            digits.append(str(unicodedata.decimal(char)))
        elif not (char.isspace() or char in _SEPARATORS):
            return None
    code = "".join(digits)
    return code if len(code) == CODE_DIGITS else None
