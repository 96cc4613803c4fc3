"""The container image ships catalogues compiled to ``.mo`` (Dockerfile); bots/render.py
uses a compiled catalogue when it is there and not older than its ``.po``, and the
``.po`` otherwise, so a catalogue edited after the build is never shadowed."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bots import render
from conversations import messages as m

ROOT = Path(__file__).resolve().parents[1]
MARK = "compiled-catalogue-in-use"


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    copy = tmp_path / "locales"
    shutil.copytree(ROOT / "locales", copy)
    monkeypatch.setattr(render, "LOCALES_DIR", copy)
    render._translations.cache_clear()
    yield copy
    render._translations.cache_clear()


def _compile(po: Path, mark: bool) -> Path:
    with po.open("rb") as f:
        catalog = read_po(f, locale="sw")
    if mark:
        catalog[m.WELCOME].string = MARK
    mo = po.with_suffix(".mo")
    with mo.open("wb") as f:
        write_mo(f, catalog)
    return mo


def test_a_compiled_catalogue_is_used(locales: Path) -> None:
    po = locales / "sw" / "LC_MESSAGES" / "tipline.po"
    _compile(po, mark=True)
    assert render._translations("sw").gettext(m.WELCOME) == MARK


def test_a_catalogue_edited_after_compiling_wins(locales: Path) -> None:
    po = locales / "sw" / "LC_MESSAGES" / "tipline.po"
    mo = _compile(po, mark=True)
    stat = mo.stat()
    os.utime(po, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    text = render._translations("sw").gettext(m.WELCOME)
    assert text != MARK
    assert text != m.WELCOME  # still Swahili, from the .po
