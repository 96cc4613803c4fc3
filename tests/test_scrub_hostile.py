"""Hostile and broken input (rules P3 and P8): each is refused with its reason, or
cleaned, within the time limit; nothing unscrubbed gets through."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy.scrub import DEFAULT_LIMITS, Limits, ScrubError, ScrubResult, scrub

from .samples import documents, images, zip_bytes


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))
    )


def png_bomb() -> bytes:
    """100 000 × 100 000 pixels declared, a few hundred bytes of zeros to inflate."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    stream = zlib.compress(bytes(1 << 20), 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(
        b"IDAT", stream) + _png_chunk(b"IEND", b"")  # fmt: skip


def png_inflating_past_its_size() -> bytes:
    """A small image whose data stream inflates to far more than its size calls for."""
    header = struct.pack(">IIBBBBB", 16, 16, 8, 0, 0, 0, 0)
    stream = zlib.compress(bytes(64 << 20), 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(
        b"IDAT", stream) + _png_chunk(b"IEND", b"")  # fmt: skip


_DOCX_TYPES = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'content-types"><Override PartName="/word/document.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)


def zip_bomb_docx() -> bytes:
    """A docx by its content types, with a member that inflates 1000-fold."""
    return zip_bytes(
        [("[Content_Types].xml", _DOCX_TYPES), ("word/document.xml", bytes(60 << 20))]
    )


def many_members() -> bytes:
    return zip_bytes(
        [("[Content_Types].xml", b"<Types/>")] + [(f"f{i}", b"") for i in range(2500)]
    )


def _camera_jpeg() -> bytes:
    return images.jpeg_with_standard_icc()


HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "zero bytes": (lambda: b"", "malformed"),
    "decompression bomb PNG": (png_bomb, "bomb"),
    "PNG inflating past its size": (png_inflating_past_its_size, "malformed"),
    "truncated JPEG": (lambda: _camera_jpeg()[: len(_camera_jpeg()) // 2], "malformed"),
    "JPEG without its scan": (lambda: _camera_jpeg()[:200], "malformed"),
    "zip bomb disguised as a docx": (zip_bomb_docx, "bomb"),
    "archive with too many members": (many_members, "bomb"),
    "macro-enabled Word document": (documents.docm_sample, "macros"),
    "OpenDocument with Basic macros": (lambda: documents.odf_sample("odt", macros=True), "macros"),
    "plain zip archive": (lambda: zip_bytes([("notes.txt", b"hello")]), "unsupported"),
    "text file": (lambda: b"Meet at the harbour at 6\n", "unsupported"),
    "random bytes": (lambda: bytes(range(256)) * 4, "unsupported"),
    "PDF that is not one": (lambda: b"%PDF-1.7\n garbage", "malformed"),
    "legacy Word file": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "unsupported"),
    "office file with an unknown part": (lambda: zip_bytes([
        ("[Content_Types].xml", _DOCX_TYPES), ("word/document.xml", b"<w/>"),
        ("secrets/ledger.csv", b"Jane,1000")]), "unsupported"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_is_refused_with_its_reason_in_time(name: str) -> None:
    build, reason = HOSTILE[name]
    data = build()
    started = time.monotonic()
    with pytest.raises(ScrubError) as refused:
        scrub(data)
    assert refused.value.reason == reason, refused.value
    assert time.monotonic() - started < DEFAULT_LIMITS.seconds
    assert "Jane" not in str(refused.value)  # a refusal never repeats the file's content


def test_polyglot_jpeg_with_a_zip_appended_is_cleaned_to_a_jpeg() -> None:
    jpeg = _camera_jpeg()
    polyglot = jpeg + zip_bytes([("informant.txt", b"Jane Tipster, +255 700 000 000")])
    assert zipfile.is_zipfile(io.BytesIO(polyglot))
    result = scrub(polyglot)
    assert result.kind == "jpeg" and "other" in result.removed
    assert result.data.endswith(b"\xff\xd9") and not zipfile.is_zipfile(io.BytesIO(result.data))
    assert b"Jane" not in result.data


def test_a_name_that_lies_does_not_matter(tmp_path: Path) -> None:
    # The API never sees a name; the content decides (the CLI test covers a .jpg file).
    result = scrub(documents.pdf_sample(incremental=False))
    assert result.kind == "pdf" and result.mime == "application/pdf"


def _readable(obj: pikepdf.Object) -> bytes:
    if not isinstance(obj, pikepdf.Stream):
        return repr(obj).encode()
    try:
        return obj.read_bytes()
    except pikepdf.PdfError:  # an image: its raw bytes
        return obj.read_raw_bytes()


def test_pdf_javascript_is_removed_not_refused() -> None:
    result = scrub(documents.pdf_sample())
    assert "scripts" in result.removed
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert ("/OpenAction" not in pdf.Root and "/Names" not in pdf.Root) or (
            "/JavaScript" not in pdf.Root.Names
        )
        raw = b"".join(_readable(obj) for obj in pdf.objects)
    assert b"app.alert" not in raw and b"JavaScript" not in raw


# The PDF bombs are scrubbed in a child process whose address space is capped, so that a
# scrub that inflated one would fail there (and not take the machine's memory with it).
_ADDRESS_SPACE = 1 << 30
_BOMB_CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, ({space}, {space}))
from privacy.scrub import Limits, ScrubError, scrub
from tests.samples.documents import pdf_flate_bomb
bomb = pdf_flate_bomb(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
try:
    scrub(bomb, limits=Limits(max_expanded=int(sys.argv[2])))
    outcome = "cleaned"
except ScrubError as exc:
    outcome = exc.reason + ": " + str(exc) + " <- " + repr(exc.__cause__)
except MemoryError:
    outcome = "MemoryError"
print(json.dumps({{"outcome": outcome, "seconds": time.monotonic() - started,
                  "size": len(bomb), "grown": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                  - before}}))
"""


@pytest.mark.parametrize(("where", "allowed_mib"), [("image", 16), ("content", 96)])
def test_pdf_flate_bomb_is_refused_without_inflating_it(where: str, allowed_mib: int) -> None:
    # 1.6 MB of flate that inflates to 1.5 GiB: in front of a JPEG (the filters must be
    # undone to clean it), or as a page's content (read for its inline images). The scrub
    # stops inflating at its limit (the image's declared size, or here max_expanded of
    # 64 MiB) and says "bomb"; memory grows by little more than that limit.
    root = Path(__file__).resolve().parents[1]
    child = subprocess.run(
        [sys.executable, "-c", _BOMB_CHILD.format(space=_ADDRESS_SPACE), where, str(64 << 20)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr.decode()[-2000:]
    report = json.loads(child.stdout)
    assert report["size"] < 2 << 20
    assert report["outcome"].startswith("bomb: "), report
    assert report["seconds"] < 5, report
    assert report["grown"] < allowed_mib * 1024, report  # ru_maxrss is in KiB on Linux


def test_too_large_is_refused_before_anything_is_parsed() -> None:
    with pytest.raises(ScrubError) as refused:
        scrub(_camera_jpeg(), limits=Limits(max_bytes=1000))
    assert refused.value.reason == "too_large"


def test_pixel_limit_is_configurable() -> None:
    with pytest.raises(ScrubError) as refused:
        scrub(_camera_jpeg(), limits=Limits(max_pixels=100))
    assert refused.value.reason == "bomb"


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        Limits(max_bytes=0)
    with pytest.raises(ValueError, match="seconds"):
        Limits(seconds=0)


# -- fuzzing: any damage to a file gives a result or a refusal, never a crash ---------------
_SEEDS: dict[str, bytes] = {}


def _seed(kind: str) -> bytes:
    if kind not in _SEEDS:
        from PIL import Image

        buf = io.BytesIO()
        picture = Image.new("RGB", (12, 8), "teal")
        if kind == "xlsx":
            _SEEDS[kind] = documents.xlsx_sample()
            return _SEEDS[kind]
        picture.save(buf, {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP",
                           "tiff": "TIFF"}[kind])  # fmt: skip
        _SEEDS[kind] = buf.getvalue()
    return _SEEDS[kind]


# Exceptions that would mean a parser trusted the input (a bug, even though the scrub
# still refuses the file as malformed).
_BUGS = (TypeError, AttributeError, NameError, UnboundLocalError, AssertionError, KeyError)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["jpeg", "png", "gif", "webp", "tiff", "xlsx"]),
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=6),
    cut=st.one_of(st.none(), st.integers(min_value=1)),
)
def test_damaged_files_are_cleaned_or_refused(
    kind: str, edits: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(_seed(kind))
    for where, value in edits:
        data[where % len(data)] = value
    if cut is not None:
        del data[cut % len(data) :]
    outcome: ScrubResult | ScrubError
    try:
        outcome = scrub(bytes(data))
    except ScrubError as exc:
        outcome = exc
    if isinstance(outcome, ScrubError):
        assert outcome.reason in ("malformed", "unsupported", "bomb", "verify_failed")
        assert not isinstance(outcome.__cause__, _BUGS), repr(outcome.__cause__)
    else:
        assert outcome.kind in ("jpeg", "png", "gif", "webp", "tiff", "xlsx")
