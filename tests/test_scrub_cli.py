"""``tipline scrub IN --out OUT`` as an operator runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from privacy.scrub import REMOVED_KINDS

from .samples import documents, images


def _tipline(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tipline", "scrub", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_prints_what_it_removed_and_writes_the_clean_file(tmp_path: Path) -> None:
    source = tmp_path / "IMG_2041.jpg"
    source.write_bytes(images.camera_jpeg(tmp_path))
    out = tmp_path / "clean.jpg"
    run = _tipline(source, "--out", out)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("jpeg (image/jpeg)")
    assert "removed: location, camera, author, timestamps" in run.stdout
    assert b"Jane Tipster" not in out.read_bytes()
    assert out.stat().st_mode & 0o077 == 0  # readable by the owner only


def test_json_output(tmp_path: Path) -> None:
    source = tmp_path / "report.docx"
    source.write_bytes(documents.xlsx_sample())
    run = _tipline(source, "--out", tmp_path / "clean", "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["kind"] == "xlsx"  # by content: the name says docx
    assert set(summary["removed"]) <= set(REMOVED_KINDS) and "author" in summary["removed"]
    assert len(summary["sha256"]) == 64


def test_a_pdf_named_jpg_is_handled_as_a_pdf(tmp_path: Path) -> None:
    source = tmp_path / "holiday.jpg"
    source.write_bytes(documents.pdf_sample(incremental=False))
    run = _tipline(source, "--out", tmp_path / "clean.jpg")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("pdf (application/pdf)")
    assert (tmp_path / "clean.jpg").read_bytes().startswith(b"%PDF-")


def test_a_refused_file_says_why_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "minutes.docm"
    source.write_bytes(documents.docm_sample())
    out = tmp_path / "clean.docm"
    run = _tipline(source, "--out", out)
    assert run.returncode == 2
    assert run.stderr.startswith("refused (macros):")
    assert not out.exists() and os.listdir(tmp_path) == ["minutes.docm"]


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "empty.png"
    source.touch()
    run = _tipline(source, "--out", tmp_path / "x.png")
    assert run.returncode == 2 and "refused (malformed): the file is empty" in run.stderr


def test_a_missing_input_is_an_error(tmp_path: Path) -> None:
    run = _tipline(tmp_path / "nope.jpg", "--out", tmp_path / "x.jpg")
    assert run.returncode == 1 and "cannot read" in run.stderr
