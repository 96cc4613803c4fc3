"""Documents (rule P3): PDF, Office Open XML and OpenDocument files lose their authors,
dates, comments' authors, revision ids, printer settings, thumbnails, scripts and
embedded files; their text, pages and pictures stay."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import docx
import pikepdf
import pytest

from privacy.scrub import DEFAULT_LIMITS, ScrubError, scrub
from privacy.scrub import pdf as pdf_scrub
from privacy.scrub.limits import Budget

from .samples import assert_clean, decoded, exiftool_tags, marker_hits, unzipped
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


# -- pictures inside documents: SVG with data: images, metafiles -----------------------------
_SVG_NS = {"svg": "http://www.w3.org/2000/svg"}
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def _svg_images(svg: bytes) -> dict[str, str]:
    """Each <image>'s id and link (xlink:href or SVG 2's href)."""
    root = ElementTree.fromstring(svg)  # noqa: S314 (the test's own sample, no DTD)
    return {
        str(image.get("id")): str(image.get(_XLINK_HREF) or image.get("href"))
        for image in root.iterfind(".//svg:image", _SVG_NS)
    }


@pytest.mark.parametrize(
    ("kind", "build", "member"),
    [
        ("docx", lambda svg: samples.docx_with_media(
            [("image2.svg", "image/svg+xml", svg)], link=samples.LOCAL_LINK),
         "word/media/image2.svg"),
        ("odt", samples.odt_with_svg, "Pictures/drawing.svg"),
    ],
)  # fmt: skip
def test_svg_loses_the_metadata_of_its_inline_photos_and_local_paths(
    tmp_path: Path, kind: str, build: Callable[[bytes], bytes], member: str
) -> None:
    jpeg = samples.jpeg_with_gps()
    (tmp_path / "planted.jpg").write_bytes(jpeg)
    (planted,) = exiftool_tags(tmp_path / "planted.jpg")
    assert any(key.startswith("GPS:") for key in planted)  # the plant is there to find
    original = build(samples.svg_with_data_jpeg(jpeg))

    result = scrub(original)
    assert result.kind == kind
    members = unzipped(result.data)
    for haystack in (result.data, members):
        assert marker_hits(haystack) == []
        assert samples.LOCAL_USER.encode() not in haystack
        assert base64.b64encode(jpeg) not in haystack
        assert b"Exif" not in haystack and b"<!--" not in haystack
    assert {"location", "camera", "author"} <= result.removed

    svg = zipfile.ZipFile(io.BytesIO(result.data)).read(member)
    links = _svg_images(svg)
    assert links["linked"] == "ivory-stall.jpg"  # the file name only
    for key in ("inline1", "inline2"):
        header, _, payload = links[key].partition(",")
        assert header == "data:image/jpeg;base64"
        cleaned = base64.b64decode(payload)
        (tmp_path / f"{key}.jpg").write_bytes(cleaned)
        (tags,) = exiftool_tags(tmp_path / f"{key}.jpg")
        assert not [t for t in tags if t.startswith("GPS:") or "GPS" in t]
        assert_clean(cleaned, tags)
        assert decoded(cleaned, transpose=False) == decoded(jpeg, transpose=False)
    assert b"<metadata" not in svg and b"<rdf:" not in svg and b"sodipodi:docname" not in svg
    assert scrub(result.data).data == result.data  # stable: nothing left to remove


def test_docx_with_an_emf_carrying_a_bitmap_is_refused() -> None:
    picture = samples.emf(bitmap=samples.jpeg_with_gps())
    original = samples.docx_with_media([("image2.emf", "image/x-emf", picture)])
    with pytest.raises(ScrubError) as refused:
        scrub(original)
    assert refused.value.reason == "unsupported" and refused.value.kind == "docx"
    assert "bitmap" in str(refused.value)


def test_vector_emf_is_kept_without_its_description() -> None:
    picture = samples.emf(shapes=12)
    original = samples.docx_with_media([("image2.emf", "image/x-emf", picture)])
    result = scrub(original)
    members = unzipped(result.data)
    assert marker_hits(members) == []
    kept = zipfile.ZipFile(io.BytesIO(result.data)).read("word/media/image2.emf")
    before, after = samples.emf_records(picture), samples.emf_records(kept)
    assert [t for t, _ in after] == [t for t, _ in before]  # header, rectangles, end
    assert after[1:] == before[1:]  # the drawing is the same, byte for byte
    assert len(kept) == len(picture) and kept[40:44] == b" EMF"
    assert "software" in result.removed


@pytest.mark.parametrize(
    ("name", "picture"),
    [
        ("image2.emf", lambda: samples.emf_plus_image(samples.jpeg_with_gps())),
        ("image2.wmf", lambda: samples.wmf(bitmap=samples.jpeg_with_gps())),
        ("image2.svm", lambda: samples.svm(bitmap=samples.jpeg_with_gps())),
    ],
)
def test_metafiles_carrying_a_photo_are_refused(name: str, picture: Callable[[], bytes]) -> None:
    original = samples.docx_with_media([(name, "image/x-emf", picture())])
    with pytest.raises(ScrubError) as refused:
        scrub(original)
    assert refused.value.reason == "unsupported" and "bitmap" in str(refused.value)


@pytest.mark.parametrize(
    ("name", "picture"), [("image2.wmf", samples.wmf), ("image2.svm", samples.svm)]
)
def test_vector_wmf_and_svm_are_kept(name: str, picture: Callable[[], bytes]) -> None:
    original = samples.docx_with_media([(name, "image/x-wmf", picture())])
    kept = zipfile.ZipFile(io.BytesIO(scrub(original).data)).read(f"word/media/{name}")
    assert kept == picture()


def test_svg_refuses_inline_data_it_cannot_clean() -> None:
    jpeg = samples.jpeg_with_gps()
    inline = base64.b64encode(jpeg).decode()
    for svg in (
        samples.svg_with_data_jpeg(b"not a picture we know"),
        f'<svg xmlns="http://www.w3.org/2000/svg"><style>rect {{ fill: url("data:image/jpeg;'
        f'base64,{inline}") }}</style><rect width="2" height="2"/></svg>'.encode(),
        f'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(d\\61ta:image/jpeg;'
        f'base64,{inline})" width="2" height="2"/></svg>'.encode(),
    ):
        with pytest.raises(ScrubError) as refused:
            scrub(samples.docx_with_media([("image2.svg", "image/svg+xml", svg)]))
        assert refused.value.reason == "unsupported"


def test_odf_inline_picture_is_scrubbed(tmp_path: Path) -> None:
    jpeg = samples.jpeg_with_gps()
    result = scrub(samples.odt_with_inline_picture(jpeg))
    content = zipfile.ZipFile(io.BytesIO(result.data)).read("content.xml")
    inline = content.split(b"<office:binary-data>")[1].split(b"</office:binary-data>")[0]
    cleaned = base64.b64decode(inline)
    (tmp_path / "inline.jpg").write_bytes(cleaned)
    (tags,) = exiftool_tags(tmp_path / "inline.jpg")
    assert_clean(cleaned, tags)
    assert decoded(cleaned, transpose=False) == decoded(jpeg, transpose=False)
    assert "location" in result.removed


def test_external_links_to_local_files_keep_only_the_file_name() -> None:
    for link in (samples.LOCAL_LINK, f"../../{samples.LOCAL_USER}/Pictures/ivory-stall.jpg",
                 f"FILE:///C:/Users/{samples.LOCAL_USER}/"):  # fmt: skip
        result = scrub(samples.docx_with_media([], link=link))
        members = unzipped(result.data)
        assert samples.LOCAL_USER.encode() not in members
    kept = scrub(samples.docx_with_media([], link="https://example.org/a?b=1"))
    assert b'Target="https://example.org/a?b=1"' in unzipped(kept.data)


# -- attached files and inline images in PDF ------------------------------------------------
_FILE_TYPES = {pikepdf.Name.Filespec, pikepdf.Name.EmbeddedFile}


def _file_objects(data: bytes) -> list[str]:
    """Every file specification, embedded file or file key left anywhere in the file."""
    found = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for obj in pdf.objects:
            if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                continue
            if obj.get("/Type") in _FILE_TYPES:
                found.append(str(obj.get("/Type")))
            found += sorted({"/FS", "/EF", "/RF"} & set(obj.keys()))
    return found


@pytest.mark.parametrize("route", samples.ATTACHMENT_ROUTES)
def test_pdf_attached_photo_goes_whatever_still_reaches_it(tmp_path: Path, route: str) -> None:
    photo = samples.attached_photo()
    original = samples.pdf_with_attached_photo(route)
    assert marker_hits(samples.pdf_unpacked(original))  # GPS, serial, ... are planted
    assert photo[-64:] in samples.pdf_unpacked(original)  # the photo's own scan data
    assert _file_objects(original)

    result = scrub(original)
    (tmp_path / "out.pdf").write_bytes(result.data)
    (tags,) = exiftool_tags(tmp_path / "out.pdf")
    unpacked = samples.pdf_unpacked(result.data)
    assert_clean(result.data, tags, members=unpacked)
    assert photo[-64:] not in unpacked and photo[-64:] not in result.data
    assert b"Exif" not in unpacked and b"IMG_0042" not in unpacked
    assert _file_objects(result.data) == []
    assert "embedded_files" in result.removed
    with pikepdf.open(io.BytesIO(original)) as a, pikepdf.open(io.BytesIO(result.data)) as b:
        assert len(b.pages) == len(a.pages) == 1
        assert b.pages[0].Contents.read_bytes() == a.pages[0].Contents.read_bytes()
    assert scrub(result.data).removed == frozenset()  # nothing left to find


@pytest.mark.parametrize("route", samples.ATTACHMENT_ROUTES)
def test_pdf_read_back_finds_an_attached_file_wherever_it_hangs(route: str) -> None:
    # The check after writing sees file specifications and embedded files themselves,
    # not only the annotations in /Annots that usually lead to them: here they are gone
    # from /Annots (as an earlier cleaning left them), and still reachable.
    with pikepdf.open(io.BytesIO(samples.pdf_with_attached_photo(route))) as pdf:
        for page in pdf.pages:
            if "/Annots" in page.obj:
                page.obj.Annots = pikepdf.Array(
                    [
                        a
                        for a in page.obj.Annots
                        if a.get("/Subtype") != pikepdf.Name.FileAttachment
                    ]
                )
        buf = io.BytesIO()
        pdf.save(buf)
    assert "embedded_files" in pdf_scrub.leftovers(buf.getvalue(), Budget(DEFAULT_LIMITS))


def test_pdf_read_back_finds_an_attached_file_that_nothing_references() -> None:
    blank = pikepdf.new()
    blank.add_blank_page()
    buf = io.BytesIO()
    blank.save(buf)
    assert pdf_scrub.leftovers(buf.getvalue(), Budget(DEFAULT_LIMITS)) == set()
    unreferenced = samples.with_unreferenced_attachment(buf.getvalue())
    assert _file_objects(unreferenced)  # in the file, reachable from nowhere
    assert "embedded_files" in pdf_scrub.leftovers(unreferenced, Budget(DEFAULT_LIMITS))
    result = scrub(unreferenced)  # cleaned: the writer never copies it
    assert _file_objects(result.data) == []
    assert samples.attached_photo()[-64:] not in samples.pdf_unpacked(result.data)


def _inline_jpegs(data: bytes) -> list[bytes]:
    """The JPEG data of every inline image in the pages and form XObjects of a PDF."""
    found = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        streams: list[pikepdf.Page | pikepdf.Object] = list(pdf.pages)
        streams += [o for o in pdf.objects if isinstance(o, pikepdf.Stream)
                    and o.get("/Subtype") == pikepdf.Name.Form]  # fmt: skip
        for where in streams:
            for instruction in pikepdf.parse_content_stream(where):
                if not isinstance(instruction, pikepdf.ContentStreamInlineImage):
                    continue
                image = instruction.iimage
                raw = image.read_raw_bytes()
                filters = image.obj.get("/Filter")
                names = list(filters) if isinstance(filters, pikepdf.Array) else [filters]
                if pikepdf.Name.ASCIIHexDecode in names:
                    raw = bytes.fromhex(raw.split(b">")[0].decode())
                assert names[-1] == pikepdf.Name.DCTDecode
                found.append(raw.rstrip())
    return found


@pytest.mark.parametrize(("place", "filters"), samples.INLINE_PLACES)
def test_pdf_inline_jpeg_loses_its_exif_and_keeps_its_pixels(
    tmp_path: Path, place: str, filters: str
) -> None:
    photo = samples.attached_photo()
    original = samples.pdf_with_inline_photo(place, filters)
    assert _inline_jpegs(original) == [photo] and marker_hits(photo)

    result = scrub(original)
    (tmp_path / "out.pdf").write_bytes(result.data)
    (tags,) = exiftool_tags(tmp_path / "out.pdf")
    assert_clean(result.data, tags, members=samples.pdf_unpacked(result.data))
    assert {"location", "camera"} <= result.removed
    (jpeg,) = _inline_jpegs(result.data)  # still drawn, inline, where it was
    assert b"Exif" not in jpeg and marker_hits(jpeg) == []
    assert decoded(jpeg, transpose=False) == decoded(photo, transpose=False)
    assert scrub(result.data).removed == frozenset()


def test_pdf_jpeg_under_another_filter_is_cleaned(tmp_path: Path) -> None:
    # [/FlateDecode /DCTDecode]: the flate layer is undone (within the limits) to reach
    # the JPEG, which is cleaned and stored as plain /DCTDecode.
    photo = samples.attached_photo()
    result = scrub(samples.pdf_with_layered_photo())
    (tmp_path / "out.pdf").write_bytes(result.data)
    (tags,) = exiftool_tags(tmp_path / "out.pdf")
    assert_clean(result.data, tags, members=samples.pdf_unpacked(result.data))
    assert {"location", "camera"} <= result.removed
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        image = pdf.pages[0].Resources.XObject.Im1
        assert image.Filter == pikepdf.Name.DCTDecode
        jpeg = image.read_raw_bytes()
    assert b"Exif" not in jpeg
    assert decoded(jpeg, transpose=False) == decoded(photo, transpose=False)
