"""Documents (rule P3): PDF, Office Open XML and OpenDocument files lose their authors,
dates, comments' authors, revision ids, printer settings, thumbnails, scripts and
embedded files; their text, pages and pictures stay."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pikepdf
import pytest

from privacy.scrub import ScrubError, scrub

from .samples import assert_clean, decoded, exiftool_tags, unzipped
from .samples import documents as samples

_ACTIVE_KEYS = {"/JS", "/JavaScript", "/AA", "/OpenAction", "/EmbeddedFiles", "/Metadata",
                "/Thumb", "/PieceInfo", "/LastModified", "/XFA"}  # fmt: skip


def _all_dictionaries(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary | pikepdf.Stream]:
    found: list[pikepdf.Dictionary | pikepdf.Stream] = []
    seen: set[tuple[int, int]] = set()
    stack: list[pikepdf.Object] = [pdf.trailer]
    while stack:
        obj = stack.pop()
        if isinstance(obj, pikepdf.Array):
            stack.extend(obj)
        elif isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            if obj.is_indirect and obj.objgen in seen:
                continue
            if obj.is_indirect:
                seen.add(obj.objgen)
            found.append(obj)
            stack.extend(obj[key] for key in obj.keys())  # noqa: SIM118 (pikepdf)
    return found


def test_pdf_loses_metadata_scripts_attachments_and_old_revisions(tmp_path: Path) -> None:
    original = samples.pdf_sample()
    (tmp_path / "in.pdf").write_bytes(original)
    (before,) = exiftool_tags(tmp_path / "in.pdf")
    assert "XMP-dc:Creator" in before and "PDF:Title" in before  # the update's new info
    assert b"/Author (Jane Tipster)" in original  # the earlier revision's

    result = scrub(original)
    (tmp_path / "out.pdf").write_bytes(result.data)
    (tags,) = exiftool_tags(tmp_path / "out.pdf")
    assert_clean(result.data, tags)
    assert {"author", "timestamps", "software", "xmp", "scripts", "embedded_files",
            "thumbnail", "location", "camera"} <= result.removed  # fmt: skip
    assert result.data.count(b"%%EOF") == 1  # written anew, not appended to

    with pikepdf.open(io.BytesIO(original)) as a, pikepdf.open(io.BytesIO(result.data)) as b:
        assert len(b.pages) == len(a.pages) == 2
        for pa, pb in zip(a.pages, b.pages, strict=True):
            assert pa.Contents.read_bytes() == pb.Contents.read_bytes()  # the same text
        assert "/Info" not in b.trailer
        for obj in _all_dictionaries(b):
            assert not (_ACTIVE_KEYS & set(obj.keys())), obj.keys()
            action = obj.get("/S")
            assert action not in (pikepdf.Name.JavaScript, pikepdf.Name.Launch)
            if obj.get("/Subtype") == pikepdf.Name.Text:
                assert "/T" not in obj  # the annotation's author
        links = [x for x in b.pages[0].Annots if x.get("/Subtype") == pikepdf.Name.Link]
        assert [str(x.A.URI) for x in links if "/A" in x] == ["https://example.org/"]
        image = b.pages[1].Resources.XObject.Im1
        clean_jpeg = image.read_raw_bytes()
        original_jpeg = a.pages[1].Resources.XObject.Im1.read_raw_bytes()
    assert b"Exif" not in clean_jpeg
    assert decoded(clean_jpeg, transpose=False) == decoded(original_jpeg, transpose=False)


def test_encrypted_pdf_is_refused() -> None:
    with pytest.raises(ScrubError) as refused:
        scrub(samples.encrypted_pdf())
    assert refused.value.reason == "encrypted" and refused.value.kind == "pdf"


def _text(data: bytes) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(data)).paragraphs if p.text]


def test_docx_loses_authors_rsids_and_properties(tmp_path: Path) -> None:
    original = samples.docx_sample()
    (tmp_path / "in.docx").write_bytes(original)
    (before,) = exiftool_tags(tmp_path / "in.docx")
    assert before["XMP-dc:Creator"] == before["XML:LastModifiedBy"] == "Jane Tipster"

    result = scrub(original)
    (tmp_path / "out.docx").write_bytes(result.data)
    (tags,) = exiftool_tags(tmp_path / "out.docx")
    members = unzipped(result.data)
    assert_clean(result.data, tags, members=members)
    assert tags["File:FileType"] == "DOCX"
    assert {"author", "timestamps", "revisions", "printer", "thumbnail", "comments",
            "location", "camera"} <= result.removed  # fmt: skip
    assert b"rsid" not in members and b"w:date=" not in members
    names = zipfile.ZipFile(io.BytesIO(result.data)).namelist()
    assert names[0] == "[Content_Types].xml"
    assert not [n for n in names if n.startswith(("docProps/", "customXml/"))]
    assert not [n for n in names if "printerSettings" in n]
    # The content stays: paragraphs (with the tracked insertion), comment, picture.
    assert _text(result.data) == _text(original)
    assert b"check the plate" in members
    document = docx.Document(io.BytesIO(result.data))
    assert len(document.inline_shapes) == 1


@pytest.mark.parametrize(
    ("kind", "build", "text"),
    [
        ("xlsx", samples.xlsx_sample, samples.XLSX_TEXT),
        ("pptx", samples.pptx_sample, samples.PPTX_TEXT),
        ("odt", lambda: samples.odf_sample("odt"), samples.ODF_TEXT),
        ("ods", lambda: samples.odf_sample("ods"), samples.ODF_TEXT),
        ("odp", lambda: samples.odf_sample("odp"), samples.ODF_TEXT),
    ],
)
def test_office_formats(tmp_path: Path, kind: str, build: object, text: str) -> None:
    assert callable(build)
    original: bytes = build()
    (tmp_path / f"in.{kind}").write_bytes(original)
    (before,) = exiftool_tags(tmp_path / f"in.{kind}")
    assert any("Jane Tipster" in str(v) for v in before.values())  # exiftool sees the plant

    result = scrub(original)
    assert result.kind == kind
    (tmp_path / f"out.{kind}").write_bytes(result.data)
    (tags,) = exiftool_tags(tmp_path / f"out.{kind}")
    members = unzipped(result.data)
    assert_clean(result.data, tags, members=members)
    assert text.encode() in members
    assert {"author", "timestamps"} <= result.removed
    if kind.startswith("od"):
        names = zipfile.ZipFile(io.BytesIO(result.data)).namelist()
        assert names[:2] == ["mimetype", "META-INF/manifest.xml"]
        assert zipfile.ZipFile(io.BytesIO(result.data)).getinfo("mimetype").compress_type == 0
        assert {"printer", "revisions", "scripts", "thumbnail", "location"} <= result.removed
        assert b"Thumbnails/" not in members and b"officeooo:rsid" not in members
        assert b"secret.png" in members and b"JaneTipster" not in members  # path cut down


def test_archives_are_written_anew_with_fixed_dates() -> None:
    result = scrub(samples.xlsx_sample())
    infos = zipfile.ZipFile(io.BytesIO(result.data)).infolist()
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert all(not i.extra and not i.comment for i in infos)
    assert scrub(result.data).data == result.data  # stable: nothing left to remove
