# ruff: noqa: E501  (XML written out in full, as the applications write it)
"""Document samples: PDF (pikepdf), DOCX (python-docx, then planted by zipfile), and
XLSX, PPTX, ODT, ODS, ODP written part by part with zipfile."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import io
import re
import struct
import zipfile
import zlib

import docx
import pikepdf
from pikepdf import Array, Dictionary, Name, String

from . import CITY, COMMENT, MAKE, NAME, SOFTWARE, YEAR, exif_block, photo, zip_bytes

_PAGE_TEXT = b"BT /F1 12 Tf 20 100 Td (Two men sold ivory carvings) Tj ET"


def _jpeg_with_gps() -> bytes:
    buf = io.BytesIO()
    photo((32, 24)).save(buf, "JPEG", exif=exif_block(1))
    return buf.getvalue()


# -- PDF ------------------------------------------------------------------------------------
def pdf_sample(*, incremental: bool = True) -> bytes:
    """Two pages; document info, XMP, page metadata and thumbnail, JavaScript (open
    action, name tree, link), a launch action, an attachment and a file-attachment
    annotation, an annotation author, a JPEG with GPS, and an incremental update."""
    pdf = pikepdf.new()
    font = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    image = pikepdf.Stream(pdf, _jpeg_with_gps())
    image.Type, image.Subtype, image.Filter = Name.XObject, Name.Image, Name.DCTDecode
    image.Width, image.Height, image.BitsPerComponent = 32, 24, 8
    image.ColorSpace = Name.DeviceRGB
    for text in (
        _PAGE_TEXT,
        b"BT /F1 12 Tf 20 60 Td (Page two) Tj ET q 32 0 0 24 10 10 cm /Im1 Do Q",
    ):
        pdf.add_blank_page(page_size=(200, 200))
        page = pdf.pages[-1].obj
        page.Contents = pdf.make_stream(text)
        page.Resources = Dictionary(Font=Dictionary(F1=font), XObject=Dictionary(Im1=image))
    first = pdf.pages[0].obj
    first.Metadata = pdf.make_stream(f"<x:xmpmeta>{NAME}</x:xmpmeta>".encode())
    first.Thumb = pikepdf.Stream(pdf, _jpeg_with_gps())
    first.PieceInfo = Dictionary(Secret=Dictionary(Private=String(NAME)))
    first.LastModified = String(f"D:{YEAR}0721101112Z")
    first.AA = Dictionary(O=Dictionary(S=Name.JavaScript, JS=String("app.alert('open')")))
    note = Dictionary(Type=Name.Annot, Subtype=Name.Text, Rect=Array([0, 0, 10, 10]),
                      T=String(NAME), Contents=String("note on the pickup"),
                      M=String(f"D:{YEAR}0721"))  # fmt: skip
    link_js = Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=Array([20, 20, 60, 40]),
                         A=Dictionary(S=Name.JavaScript, JS=String("this.submitForm()")))  # fmt: skip
    launch = Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=Array([60, 20, 90, 40]),
                        A=Dictionary(S=Name.Launch, F=String("calc.exe")))  # fmt: skip
    web = Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=Array([90, 20, 120, 40]),
                     A=Dictionary(S=Name.URI, URI=String("https://example.org/")))  # fmt: skip
    attach = Dictionary(Type=Name.Annot, Subtype=Name.FileAttachment, Rect=Array([0, 0, 5, 5]),
                        FS=Dictionary(Type=Name.Filespec, F=String("a.txt"),
                                      EF=Dictionary(F=pdf.make_stream(NAME.encode()))))  # fmt: skip
    first.Annots = Array([pdf.make_indirect(a) for a in (note, link_js, launch, web, attach)])
    pdf.attachments["informant.txt"] = pikepdf.AttachedFileSpec(pdf, f"{NAME}\n".encode())
    pdf.Root.OpenAction = Dictionary(S=Name.JavaScript, JS=String(f"app.alert('{NAME}')"))
    names = pdf.Root.Names
    names.JavaScript = Dictionary(
        Names=Array(
            [
                String("init"),
                pdf.make_indirect(
                    Dictionary(
                        S=Name.JavaScript, JS=String("app.launchURL('https://example.org')")
                    )
                ),
            ]
        )
    )
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = [NAME]
        meta["xmp:CreatorTool"] = SOFTWARE
        meta["photoshop:City"] = CITY
    pdf.docinfo[Name.Author] = NAME
    pdf.docinfo[Name.Producer] = SOFTWARE
    pdf.docinfo[Name.Subject] = COMMENT
    pdf.docinfo[Name.CreationDate] = f"D:{YEAR}0721101112Z"
    buf = io.BytesIO()
    pdf.save(buf, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    data = buf.getvalue()
    return _append_revision(data) if incremental else data


def _append_revision(data: bytes) -> bytes:
    """An incremental update, as editors append one: a new info dictionary; the old one
    (with the author) stays in the file's earlier revision."""
    startxref = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    size = int(re.findall(rb"/Size (\d+)", data)[-1])
    root: bytes = re.findall(rb"/Root (\d+ \d+ R)", data)[-1]
    obj = f"{size} 0 obj\n<< /Title (Revised) >>\nendobj\n".encode()
    offset = len(data)
    xref_at = offset + len(obj)
    xref = f"xref\n0 1\n0000000000 65535 f \n{size} 1\n{offset:010d} 00000 n \n".encode()
    trailer = (b"trailer\n<< /Size " + str(size + 1).encode() + b" /Root " + root
               + f" /Info {size} 0 R /Prev {startxref} >>\nstartxref\n{xref_at}\n%%EOF\n".encode())  # fmt: skip
    return data + obj + xref + trailer


def with_unreferenced_attachment(data: bytes) -> bytes:
    """``data`` with an update appended that adds :func:`attached_photo` as an embedded
    file and its file specification, and references neither: objects that are in the
    file but reachable from nowhere."""
    startxref = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    size = int(re.findall(rb"/Size (\d+)", data)[-1])
    root: bytes = re.findall(rb"/Root (\d+ \d+ R)", data)[-1]
    photo = attached_photo()
    stream = (f"{size} 0 obj\n<< /Type /EmbeddedFile /Length {len(photo)} >>\nstream\n".encode()
              + photo + b"\nendstream\nendobj\n")  # fmt: skip
    spec = (f"{size + 1} 0 obj\n<< /Type /Filespec /F (IMG_0042.jpg) /EF << /F {size} 0 R >> "
            f">>\nendobj\n").encode()  # fmt: skip
    first, second = len(data), len(data) + len(stream)
    xref_at = second + len(spec)
    xref = (f"xref\n0 1\n0000000000 65535 f \n{size} 2\n{first:010d} 00000 n \n"
            f"{second:010d} 00000 n \n").encode()  # fmt: skip
    trailer = (b"trailer\n<< /Size " + str(size + 2).encode() + b" /Root " + root
               + f" /Prev {startxref} >>\nstartxref\n{xref_at}\n%%EOF\n".encode())  # fmt: skip
    return data + stream + spec + xref + trailer


def encrypted_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    buf = io.BytesIO()
    pdf.save(buf, encryption=pikepdf.Encryption(owner="o", user="secret-user"))
    return buf.getvalue()


@functools.cache
def attached_photo() -> bytes:
    """The original photo a tipster might attach to a PDF: EXIF with GPS, make, model,
    owner, body serial number and a maker note (made once, so a test can look for its
    very bytes)."""
    return _jpeg_with_gps()


#: The ways an attached file can stay reachable once its annotation leaves ``/Annots``.
ATTACHMENT_ROUTES = ("popup", "structure", "names", "unknown key")


def pdf_with_attached_photo(route: str) -> bytes:
    """One page with :func:`attached_photo` attached as a file, reached through ``route``:

    - ``popup``: a file-attachment annotation whose popup (kept in ``/Annots``) points
      back to it with ``/Parent``;
    - ``structure``: the annotation is tagged content, reached from ``/StructTreeRoot``
      through a structure element's object reference (``/OBJR /Obj``) and the parent tree;
    - ``names``: the document's ``/Names /EmbeddedFiles`` tree;
    - ``unknown key``: a private key of the catalog that no rule names.
    """
    if route not in ATTACHMENT_ROUTES:
        raise ValueError(route)
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0].obj
    page.Contents = pdf.make_stream(_PAGE_TEXT)
    font = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    page.Resources = Dictionary(Font=Dictionary(F1=font))
    if route == "names":
        pdf.attachments["IMG_0042.jpg"] = pikepdf.AttachedFileSpec(
            pdf, attached_photo(), mime_type="image/jpeg", description=COMMENT
        )
        return _saved(pdf)
    embedded = pdf.make_stream(attached_photo(), Type=Name.EmbeddedFile)
    embedded.Subtype = Name("/image/jpeg")
    filespec = pdf.make_indirect(
        Dictionary(
            Type=Name.Filespec,
            F=String("IMG_0042.jpg"),
            UF=String("IMG_0042.jpg"),
            Desc=String(COMMENT),
            EF=Dictionary(F=embedded),
        )
    )
    if route == "unknown key":
        pdf.Root.PrivateEvidence = Dictionary(Photo=filespec)
        return _saved(pdf)
    attach = pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.FileAttachment,
            Rect=Array([10, 10, 30, 30]),
            FS=filespec,
            Contents=String("the photo"),
            P=page,
        )
    )
    if route == "popup":
        popup = pdf.make_indirect(
            Dictionary(
                Type=Name.Annot,
                Subtype=Name.Popup,
                Rect=Array([40, 10, 140, 60]),
                Parent=attach,
                P=page,
            )
        )
        attach.Popup = popup
        page.Annots = Array([attach, popup])
    else:  # structure
        attach.StructParent = 0
        page.Annots = Array([attach])
        element = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Annot, Pg=page))
        element.K = Dictionary(Type=Name.OBJR, Obj=attach, Pg=page)
        tree = pdf.make_indirect(
            Dictionary(
                Type=Name.StructTreeRoot,
                K=element,
                ParentTree=Dictionary(Nums=Array([0, element])),
                ParentTreeNextKey=1,
            )
        )
        element.P = tree
        pdf.Root.StructTreeRoot = tree
        pdf.Root.MarkInfo = Dictionary(Marked=True)
    return _saved(pdf)


def pdf_with_layered_photo() -> bytes:
    """One page drawing :func:`attached_photo` as an image XObject stored
    ``[/FlateDecode /DCTDecode]`` (a JPEG compressed once more, as some writers do)."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0].obj
    image = pdf.make_stream(b"")
    image.write(zlib.compress(attached_photo()), filter=Array([Name.FlateDecode, Name.DCTDecode]))
    image.Type, image.Subtype = Name.XObject, Name.Image
    image.Width, image.Height, image.BitsPerComponent = 32, 24, 8
    image.ColorSpace = Name.DeviceRGB
    page.Resources = Dictionary(XObject=Dictionary(Im1=image))
    page.Contents = pdf.make_stream(b"q 32 0 0 24 10 10 cm /Im1 Do Q")
    return _saved(pdf)


#: Where :func:`pdf_with_inline_photo` draws its inline image, and how it encodes it.
INLINE_PLACES = (("page", "/DCT"), ("page", "[/AHx /DCT]"), ("form", "/DCT"))


def pdf_with_inline_photo(place: str = "page", filters: str = "/DCT") -> bytes:
    """One page drawing :func:`attached_photo` as an inline image (``BI ... ID ... EI``)
    in the page's content stream or in a form XObject's; ``filters`` as ``/F`` says."""
    jpeg = attached_photo()
    data = jpeg.hex().encode() + b">" if "/AHx" in filters else jpeg
    if re.search(rb"\sEI\s", data):
        raise AssertionError("the photo's bytes would end the inline image early")
    inline = (b"q 32 0 0 24 10 10 cm BI /W 32 /H 24 /CS /RGB /BPC 8 /F " + filters.encode()
              + b" ID " + data + b"\nEI Q")  # fmt: skip
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0].obj
    font = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    page.Resources = Dictionary(Font=Dictionary(F1=font))
    if place == "page":
        page.Contents = pdf.make_stream(_PAGE_TEXT + b"\n" + inline)
    else:
        form = pdf.make_stream(inline, Type=Name.XObject, Subtype=Name.Form,
                               BBox=Array([0, 0, 200, 200]))  # fmt: skip
        page.Resources.XObject = Dictionary(Fm1=form)
        page.Contents = pdf.make_stream(_PAGE_TEXT + b"\n/Fm1 Do")
    return _saved(pdf)


def _zeros_deflated(size_mib: int) -> bytes:
    """A zlib stream of ``size_mib`` MiB of zeros, about 1/1000 of that, made in a blink:
    after a full flush the compressor starts afresh, so every further MiB compresses to
    the same block; the checksum (Adler-32) of n zeros is ``(n mod 65521) << 16 | 1``."""
    mib = bytes(1 << 20)
    compressor = zlib.compressobj(9)
    head = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()[:-4]  # the last (empty) block, without the checksum
    checksum = (((size_mib << 20) % 65521) << 16) | 1
    return head + block * (size_mib - 1) + end + struct.pack(">I", checksum)


def pdf_flate_bomb(where: str = "image", size_mib: int = 1536) -> bytes:
    """A PDF with about 1.6 MB of flate that inflates to ``size_mib`` MiB (1.5 GiB):

    - ``image``: a 64×64 image whose data is ``[/FlateDecode /DCTDecode]``, so the flate
      layer must be undone before the JPEG is seen;
    - ``content``: the page's content stream (zero bytes are white space there).
    """
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0].obj
    if where == "content":
        page.Contents = pdf.make_stream(b"")
        page.Contents.write(_zeros_deflated(size_mib), filter=Name.FlateDecode)
        return _saved(pdf)
    image = pdf.make_stream(b"")
    image.write(_zeros_deflated(size_mib), filter=Array([Name.FlateDecode, Name.DCTDecode]))
    image.Type, image.Subtype = Name.XObject, Name.Image
    image.Width, image.Height, image.BitsPerComponent = 64, 64, 8
    image.ColorSpace = Name.DeviceRGB
    page.Resources = Dictionary(XObject=Dictionary(Im1=image))
    page.Contents = pdf.make_stream(b"q 64 0 0 64 10 10 cm /Im1 Do Q")
    return _saved(pdf)


def _saved(pdf: pikepdf.Pdf) -> bytes:
    buf = io.BytesIO()
    pdf.save(buf, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return buf.getvalue()


def pdf_unpacked(data: bytes) -> bytes:
    """Everything a PDF holds, as a reader would see it: every object in the file
    (reachable or not), dictionaries as text, stream data decoded where qpdf can."""
    parts: list[bytes] = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream):
                parts.append(repr(obj.stream_dict).encode())
                try:
                    parts.append(obj.read_bytes())
                except pikepdf.PdfError:  # an image: its data as stored
                    parts.append(obj.read_raw_bytes())
            else:
                parts.append(repr(obj).encode())
    return b"\n".join(parts)


# -- DOCX -----------------------------------------------------------------------------------
DOCX_TEXT = ["Two men sold ivory carvings", "from a blue pickup"]
_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx_sample() -> bytes:
    """python-docx's document with core properties, a comment and a photo with GPS, then
    rsids, a tracked change, document variables, a template path, people, custom
    properties and printer settings planted with zipfile."""
    document = docx.Document()
    first = document.add_paragraph(DOCX_TEXT[0])
    document.add_paragraph(DOCX_TEXT[1])
    document.add_comment(first.runs, text="check the plate", author=NAME, initials="JT")
    document.add_picture(io.BytesIO(_jpeg_with_gps()))
    core = document.core_properties
    core.author = core.last_modified_by = NAME
    core.comments, core.keywords, core.title = COMMENT, CITY, "Report"
    core.created = core.modified = dt.datetime(int(YEAR), 7, 21, 10, 11, 12)
    core.revision = 7
    buf = io.BytesIO()
    document.save(buf)
    return _plant_docx(buf.getvalue())


def _plant_docx(data: bytes) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    body = members["word/document.xml"].decode()
    body = body.replace("<w:p>", '<w:p w:rsidR="00A1B2C3" w:rsidRDefault="00A1B2C3">', 1)
    body = body.replace(
        "</w:body>",
        f'<w:p><w:ins w:id="901" w:author="{NAME}" w:date="{YEAR}-07-21T10:11:12Z">'
        "<w:r><w:t>inserted later</w:t></w:r></w:ins></w:p></w:body>",
    )
    members["word/document.xml"] = body.encode()
    settings = members["word/settings.xml"].decode()
    settings = re.sub(
        r"(<w:settings[^>]*>)",
        r'\1<w:attachedTemplate r:id="rIdTpl"/>'
        f'<w:docVars><w:docVar w:name="informant" w:val="{NAME}"/></w:docVars>',
        settings,
        count=1,
    )
    settings = settings.replace(
        "</w:settings>", '<w:rsids><w:rsidRoot w:val="00A1B2C3"/></w:rsids></w:settings>'
    )
    if 'xmlns:r="' not in settings:
        settings = settings.replace(
            "<w:settings ",
            '<w:settings xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ',
            1,
        )
    members["word/settings.xml"] = settings.encode()
    members["word/_rels/settings.xml.rels"] = (
        b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rIdTpl" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate"'
        b' Target="file:///C:/Users/JaneTipster/Templates/Normal.dotm" TargetMode="External"/>'
        b"</Relationships>"
    )  # fmt: skip
    members["word/people.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?><w15:people xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml">'
        f'<w15:person w15:author="{NAME}"><w15:presenceInfo w15:providerId="AD" w15:userId="jane@example.org"/></w15:person>'
        "</w15:people>"
    ).encode()  # fmt: skip
    members["docProps/custom.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?><Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"'
        ' xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="2" name="Informant"><vt:lpwstr>{NAME}</vt:lpwstr></property>'
        "</Properties>"
    ).encode()  # fmt: skip
    members["word/printerSettings/printerSettings1.bin"] = b"HP-Jane-Office\x00" * 8
    rels = (
        members["_rels/.rels"]
        .decode()
        .replace(
            "</Relationships>",
            '<Relationship Id="rIdCustom" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties" Target="docProps/custom.xml"/></Relationships>',
        )
    )
    members["_rels/.rels"] = rels.encode()
    doc_rels = (
        members["word/_rels/document.xml.rels"]
        .decode()
        .replace(
            "</Relationships>",
            '<Relationship Id="rIdPeople" Type="http://schemas.microsoft.com/office/2011/relationships/people" Target="people.xml"/>'
            '<Relationship Id="rIdPrint" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/printerSettings" Target="printerSettings/printerSettings1.bin"/>'
            "</Relationships>",
        )
    )
    members["word/_rels/document.xml.rels"] = doc_rels.encode()
    types = (
        members["[Content_Types].xml"]
        .decode()
        .replace(
            "</Types>",
            '<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.printerSettings"/>'
            '<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>'
            '<Override PartName="/word/people.xml" ContentType="application/vnd.ms-word.people+xml"/></Types>',
        )
    )
    members["[Content_Types].xml"] = types.encode()
    order = ["[Content_Types].xml", *(n for n in members if n != "[Content_Types].xml")]
    return zip_bytes([(name, members[name]) for name in order])


def docm_sample() -> bytes:
    """A macro-enabled Word document: its content type says so and it has a VBA project."""
    data = docx_sample()
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [(n, archive.read(n)) for n in archive.namelist()]
    members = [
        (n, b.replace(b"vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                      b"vnd.ms-word.document.macroEnabled.main+xml")
         if n == "[Content_Types].xml" else b)
        for n, b in members
    ]  # fmt: skip
    return zip_bytes([*members, ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0VBA" * 10)])


# -- XLSX, PPTX -----------------------------------------------------------------------------
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_PR = "http://schemas.openxmlformats.org/package/2006/relationships"
XLSX_TEXT = "Pangolin scales 40 kg"
PPTX_TEXT = "Rhino horn shipment"


def _core() -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:creator>{NAME}</dc:creator><cp:lastModifiedBy>{NAME}</cp:lastModifiedBy>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{YEAR}-07-21T10:11:12Z</dcterms:created>'
        f"<dc:description>{COMMENT}</dc:description></cp:coreProperties>"
    ).encode()  # fmt: skip


def _app(application: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        f"<Application>{application}</Application><Company>{MAKE} for {NAME}</Company>"
        "<AppVersion>16.0300</AppVersion></Properties>"
    ).encode()  # fmt: skip


def _package_rels(main: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PR}">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="{main}"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId3" Type="{_REL}/extended-properties" Target="docProps/app.xml"/>'
        "</Relationships>"
    ).encode()


def xlsx_sample() -> bytes:
    types = (
        f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_CT}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.printerSettings"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/comments1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        "</Types>"
    ).encode()
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{_REL}"'
        ' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x15ac"'
        ' xmlns:x15ac="http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac">'
        '<fileVersion appName="xl" lastEdited="7" lowestEdited="7" rupBuild="27328"/>'
        f'<fileSharing userName="{NAME}"/>'
        '<mc:AlternateContent><mc:Choice Requires="x15ac">'
        '<x15ac:absPath url="C:\\Users\\JaneTipster\\Desktop\\"/></mc:Choice></mc:AlternateContent>'
        '<sheets><sheet name="Seizures" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ).encode()  # fmt: skip
    workbook_rels = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PR}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>"
    ).encode()
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{_REL}">'
        f'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>{XLSX_TEXT}</t></is></c></row></sheetData>'
        '<pageSetup orientation="portrait" r:id="rId1"/></worksheet>'
    ).encode()  # fmt: skip
    sheet_rels = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PR}">'
        f'<Relationship Id="rId1" Type="{_REL}/printerSettings" Target="../printerSettings/printerSettings1.bin"/>'
        f'<Relationship Id="rId2" Type="{_REL}/comments" Target="../comments1.xml"/>'
        "</Relationships>"
    ).encode()
    comments = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<authors><author>{NAME}</author></authors><commentList>"
        '<comment ref="A1" authorId="0"><text><t>weighed at the port</t></text></comment>'
        "</commentList></comments>"
    ).encode()
    return zip_bytes([
        ("[Content_Types].xml", types), ("_rels/.rels", _package_rels("xl/workbook.xml")),
        ("docProps/core.xml", _core()), ("docProps/app.xml", _app("Microsoft Excel")),
        ("xl/workbook.xml", workbook), ("xl/_rels/workbook.xml.rels", workbook_rels),
        ("xl/worksheets/sheet1.xml", sheet), ("xl/worksheets/_rels/sheet1.xml.rels", sheet_rels),
        ("xl/comments1.xml", comments),
        ("xl/printerSettings/printerSettings1.bin", b"HP-Jane-Office\x00" * 8),
    ])  # fmt: skip


def pptx_sample() -> bytes:
    p = 'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
    a = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    types = (
        f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_CT}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="jpeg" ContentType="image/jpeg"/>'
        '<Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/>'
        '<Override PartName="/ppt/slides/slide1.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slide+xml"/>'
        '<Override PartName="/ppt/commentAuthors.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.commentAuthors+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        "</Types>"
    ).encode()
    presentation = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:presentation {p} xmlns:r="{_REL}">'
        '<p:sldIdLst><p:sldId id="256" r:id="rId2"/></p:sldIdLst></p:presentation>'
    ).encode()
    presentation_rels = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PR}">'
        f'<Relationship Id="rId2" Type="{_REL}/slide" Target="slides/slide1.xml"/>'
        f'<Relationship Id="rId3" Type="{_REL}/commentAuthors" Target="commentAuthors.xml"/>'
        "</Relationships>"
    ).encode()
    slide = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:sld {p} {a} xmlns:r="{_REL}">'
        f"<p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>{PPTX_TEXT}</a:t></a:r></a:p>"
        '</p:txBody></p:sp><p:pic><p:blipFill><a:blip r:embed="rId1"/></p:blipFill></p:pic>'
        "</p:spTree></p:cSld></p:sld>"
    ).encode()
    slide_rels = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PR}">'
        f'<Relationship Id="rId1" Type="{_REL}/image" Target="../media/image1.jpeg"/>'
        "</Relationships>"
    ).encode()
    authors = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:cmAuthorLst {p}>'
        f'<p:cmAuthor id="1" name="{NAME}" initials="JT" lastIdx="1" clrIdx="0"/></p:cmAuthorLst>'
    ).encode()
    return zip_bytes([
        ("[Content_Types].xml", types), ("_rels/.rels", _package_rels("ppt/presentation.xml")),
        ("docProps/core.xml", _core()), ("docProps/app.xml", _app("Microsoft PowerPoint")),
        ("ppt/presentation.xml", presentation), ("ppt/_rels/presentation.xml.rels", presentation_rels),
        ("ppt/slides/slide1.xml", slide), ("ppt/slides/_rels/slide1.xml.rels", slide_rels),
        ("ppt/commentAuthors.xml", authors), ("ppt/media/image1.jpeg", _jpeg_with_gps()),
    ])  # fmt: skip


# -- OpenDocument ---------------------------------------------------------------------------
_ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0" '
    'xmlns:officeooo="http://openoffice.org/2009/office" office:version="1.3"'
)
ODF_TEXT = "Pangolins in the back of the truck"
_ODF_BODY = {
    "odt": f'<office:text><text:p text:style-name="P1">{ODF_TEXT}</text:p></office:text>',
    "ods": (f'<office:spreadsheet><table:table table:name="S"><table:table-row><table:table-cell>'
            f"<text:p>{ODF_TEXT}</text:p></table:table-cell></table:table-row></table:table>"
            "</office:spreadsheet>"),
    "odp": (f'<office:presentation><draw:page draw:name="p1"><draw:frame><draw:text-box>'
            f"<text:p>{ODF_TEXT}</text:p></draw:text-box></draw:frame></draw:page>"
            "</office:presentation>"),
}  # fmt: skip
_ODF_MIME = {
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
}


def odf_sample(kind: str, *, macros: bool = False) -> bytes:
    """An OpenDocument file with full meta.xml, printer settings, rsids, an annotation,
    a tracked change, an author field, an event listener, a thumbnail and a photo."""
    body = _ODF_BODY[kind]
    extras = (
        f"<text:p><office:annotation><dc:creator>{NAME}</dc:creator><dc:date>{YEAR}-07-21T10:11:12</dc:date>"
        "<text:p>look at the plate</text:p></office:annotation>Signed: "
        f"<text:author-name>{NAME}</text:author-name></text:p>"
        '<draw:frame><draw:image xlink:href="Pictures/photo.jpg" xlink:type="simple"/></draw:frame>'
        '<draw:frame><draw:image xlink:href="file:///home/JaneTipster/secret.png"/></draw:frame>'
    )  # fmt: skip
    tracked = (
        '<text:tracked-changes><text:changed-region text:id="c1"><text:insertion>'
        f"<office:change-info><dc:creator>{NAME}</dc:creator><dc:date>{YEAR}-07-21T10:11:12</dc:date>"
        "</office:change-info></text:insertion></text:changed-region></text:tracked-changes>"
    )  # fmt: skip
    inner = body.split(">", 1)
    body = inner[0] + ">" + tracked + extras + inner[1]
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS}>'
        '<office:scripts><office:event-listeners><script:event-listener script:language="ooo:script"'
        ' script:event-name="dom:load" xlink:href="vnd.sun.star.script:Standard.Module1.Main"/>'
        "</office:event-listeners></office:scripts>"
        '<office:automatic-styles><style:style style:name="P1" style:family="paragraph">'
        '<style:text-properties officeooo:rsid="00a1b2c3" officeooo:paragraph-rsid="00a1b2c3"/>'
        "</style:style></office:automatic-styles>"
        f"<office:body>{body}</office:body></office:document-content>"
    ).encode()  # fmt: skip
    meta = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {_ODF_NS}><office:meta>'
        f"<meta:initial-creator>{NAME}</meta:initial-creator><dc:creator>{NAME}</dc:creator>"
        f"<meta:creation-date>{YEAR}-07-21T10:11:12</meta:creation-date>"
        f"<dc:date>{YEAR}-07-22T10:11:12</dc:date><meta:generator>{SOFTWARE}/7.4</meta:generator>"
        f"<meta:printed-by>{NAME}</meta:printed-by><dc:description>{COMMENT}</dc:description>"
        f'<meta:user-defined meta:name="City">{CITY}</meta:user-defined>'
        "<meta:editing-cycles>12</meta:editing-cycles></office:meta></office:document-meta>"
    ).encode()  # fmt: skip
    settings = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-settings {_ODF_NS}><office:settings>'
        '<config:config-item-set config:name="ooo:configuration-settings">'
        '<config:config-item config:name="PrinterName" config:type="string">HP-Jane-Office</config:config-item>'
        '<config:config-item config:name="PrinterSetup" config:type="base64Binary">SFAtSmFuZS1PZmZpY2U=</config:config-item>'
        '<config:config-item config:name="Rsid" config:type="int">10597059</config:config-item>'
        '<config:config-item config:name="PrintReversed" config:type="boolean">false</config:config-item>'
        "</config:config-item-set></office:settings></office:document-settings>"
    ).encode()  # fmt: skip
    styles = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-styles {_ODF_NS}>'
        "<office:styles/></office:document-styles>"
    ).encode()
    files = ["content.xml", "styles.xml", "meta.xml", "settings.xml", "manifest.rdf",
             "Thumbnails/thumbnail.png", "Pictures/photo.jpg"]  # fmt: skip
    if macros:
        files.append("Basic/Standard/Module1.xml")
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{_ODF_MIME[kind]}"/>'
        + "".join(f'<manifest:file-entry manifest:full-path="{f}" manifest:media-type=""/>' for f in files)
        + "</manifest:manifest>"
    ).encode()  # fmt: skip
    thumb = io.BytesIO()
    photo((16, 12)).save(thumb, "PNG")
    members = [
        ("mimetype", _ODF_MIME[kind].encode()), ("content.xml", content), ("styles.xml", styles),
        ("meta.xml", meta), ("settings.xml", settings),
        ("manifest.rdf", f"<rdf:RDF><rdf:Description>{NAME}</rdf:Description></rdf:RDF>".encode()),
        ("Thumbnails/thumbnail.png", thumb.getvalue()), ("Pictures/photo.jpg", _jpeg_with_gps()),
        ("META-INF/manifest.xml", manifest),
    ]  # fmt: skip
    if macros:
        members.append(("Basic/Standard/Module1.xml", b"<script>Sub Main</script>"))
    return zip_bytes(members, stored=("mimetype",))


# -- pictures inside documents: SVG with a data: JPEG, metafiles ----------------------------
#: The account name an SVG editor writes into links to local files.
LOCAL_USER = "someuser"
LOCAL_LINK = f"file:///home/{LOCAL_USER}/Pictures/ivory-stall.jpg"


def jpeg_with_gps() -> bytes:
    """A small JPEG whose EXIF holds GPS, camera, owner and a maker note."""
    return _jpeg_with_gps()


def svg_with_data_jpeg(jpeg: bytes) -> bytes:
    """An SVG as editors write it: metadata (RDF), a comment, an editor attribute, the
    photo inline as a ``data:`` URI (once with ``xlink:href``, once with SVG 2's
    ``href``) and a link to a file in the author's home folder."""
    inline = base64.b64encode(jpeg).decode()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<!-- drawn by {NAME} -->\n"
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        ' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"'
        f' width="32" height="24" sodipodi:docname="/home/{LOCAL_USER}/ivory.svg">'
        f"<metadata><rdf:RDF><rdf:Description><dc:creator>{NAME}</dc:creator></rdf:Description></rdf:RDF></metadata>"
        '<rect width="32" height="24" fill="url(#g)"/>'
        f'<image id="inline1" width="32" height="24" xlink:href="data:image/jpeg;base64,{inline}"/>'
        f'<image id="inline2" width="32" height="24" href="data:image/jpeg;base64,{inline}"/>'
        f'<image id="linked" width="32" height="24" xlink:href="{LOCAL_LINK}"/>'
        "</svg>"
    ).encode()  # fmt: skip


def docx_with_media(media: list[tuple[str, str, bytes]], *, link: str = "") -> bytes:
    """python-docx's document with one paragraph and a PNG picture, plus ``media``
    (file name in ``word/media/``, content type, bytes) related as images from the main
    part, and, with ``link``, an external hyperlink relationship to it."""
    document = docx.Document()
    document.add_paragraph(DOCX_TEXT[0])
    png = io.BytesIO()
    photo((16, 12)).save(png, "PNG")
    document.add_picture(png)
    buf = io.BytesIO()
    document.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    rels = ""
    types = ""
    for index, (name, content_type, body) in enumerate(media):
        members[f"word/media/{name}"] = body
        rels += f'<Relationship Id="rIdMedia{index}" Type="{_REL}/image" Target="media/{name}"/>'
        types += f'<Default Extension="{name.rsplit(".", 1)[1]}" ContentType="{content_type}"/>'
    if link:
        rels += (
            f'<Relationship Id="rIdLink" Type="{_REL}/hyperlink" Target="{link}"'
            ' TargetMode="External"/>'
        )
    key = "word/_rels/document.xml.rels"
    members[key] = members[key].replace(b"</Relationships>", rels.encode() + b"</Relationships>")
    key = "[Content_Types].xml"
    members[key] = members[key].replace(b"</Types>", types.encode() + b"</Types>")
    order = ["[Content_Types].xml", *(n for n in members if n != "[Content_Types].xml")]
    return zip_bytes([(name, members[name]) for name in order])


def odt_with_svg(svg: bytes) -> bytes:
    """An OpenDocument text whose picture is ``Pictures/drawing.svg``."""
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS}><office:body>'
        f"<office:text><text:p>{ODF_TEXT}</text:p><draw:frame>"
        '<draw:image xlink:href="Pictures/drawing.svg" xlink:type="simple"/></draw:frame>'
        "</office:text></office:body></office:document-content>"
    ).encode()  # fmt: skip
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{_ODF_MIME["odt"]}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        '<manifest:file-entry manifest:full-path="Pictures/drawing.svg" manifest:media-type="image/svg+xml"/>'
        "</manifest:manifest>"
    ).encode()  # fmt: skip
    return zip_bytes(
        [("mimetype", _ODF_MIME["odt"].encode()), ("META-INF/manifest.xml", manifest),
         ("content.xml", content), ("Pictures/drawing.svg", svg)],
        stored=("mimetype",),
    )  # fmt: skip


# EMF record types (MS-EMF 2.1.1).
EMR_HEADER, EMR_EOF, EMR_RECTANGLE, EMR_STRETCHDIBITS = 1, 14, 43, 81


def _emf_record(rtype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    return struct.pack("<II", rtype, 8 + len(body)) + body


def emf(
    *, bitmap: bytes = b"", shapes: int = 1, description: str = f"{SOFTWARE}\0{NAME}\0\0"
) -> bytes:
    """A minimal valid EMF: EMR_HEADER (with its description), ``shapes`` rectangles,
    with ``bitmap`` an EMR_STRETCHDIBITS whose DIB is that JPEG (BI_JPEG), and EMR_EOF."""
    records = [
        _emf_record(EMR_RECTANGLE, struct.pack("<4i", 2 + n, 2, 30, 22)) for n in range(shapes)
    ]
    if bitmap:
        info = struct.pack("<IiiHHIIiiII", 40, 32, 24, 1, 0, 4, len(bitmap), 0, 0, 0, 0)  # BI_JPEG
        fixed = 8 + 16 + 24 + 16 + 16
        head = struct.pack(
            "<4i6i4I4I", 0, 0, 32, 24, 0, 0, 0, 0, 32, 24,
            fixed, len(info), fixed + len(info), len(bitmap), 0, 0x00CC0020, 32, 24,
        )  # fmt: skip
        records.append(_emf_record(EMR_STRETCHDIBITS, head + info + bitmap))
    records.append(_emf_record(EMR_EOF, struct.pack("<III", 0, 16, 20)))
    text = description.encode("utf-16-le")
    fixed_header = 108  # with both header extensions
    header_size = fixed_header + len(text) + (-len(text) % 4)
    total = header_size + sum(len(r) for r in records)
    header = struct.pack(
        "<II4i4i4sIIIHHIIIiiiiIII", EMR_HEADER, header_size, 0, 0, 32, 24, 0, 0, 846, 635,
        b" EMF", 0x10000, total, 1 + len(records), 1, 0, len(description), fixed_header, 0,
        1920, 1080, 508, 285, 0, 0, 0,
    ) + struct.pack("<ii", 508000, 285000)  # fmt: skip
    header += text + bytes(-len(text) % 4)
    assert len(header) == header_size
    return header + b"".join(records)


def emf_records(data: bytes) -> list[tuple[int, bytes]]:
    """The (type, whole record) list of an EMF, read by its sizes."""
    out = []
    pos = 0
    while pos < len(data):
        rtype, size = struct.unpack_from("<II", data, pos)
        out.append((rtype, data[pos : pos + size]))
        pos += size
    return out


def emf_plus_image(image: bytes) -> bytes:
    """An EMF whose EMF+ comment holds an image object (a compressed bitmap: ``image``)."""
    version, bitmap, compressed = 0xDBC01002, 1, 1
    data = struct.pack("<II5I", version, bitmap, 32, 24, 0, 0, compressed) + image
    data += bytes(-len(data) % 4)
    plus = struct.pack("<HHII", 0x4008, 5 << 8, 12 + len(data), len(data)) + data
    comment = _emf_record(70, struct.pack("<I", 4 + len(plus)) + b"EMF+" + plus)
    plain = emf(description="")
    return plain[:108] + comment + plain[108:]


def _wmf(records: list[bytes]) -> bytes:
    records = [*records, struct.pack("<IH", 3, 0)]  # META_EOF
    size = (18 + sum(len(r) for r in records)) // 2
    largest = max(len(r) for r in records) // 2
    return struct.pack("<HHHIHIH", 1, 9, 0x0300, size, 0, largest, 0) + b"".join(records)


def wmf(*, bitmap: bytes = b"") -> bytes:
    """A WMF with a rectangle and, with ``bitmap``, a META_STRETCHDIB of that JPEG."""
    records = [struct.pack("<IH4h", 7, 0x041B, 22, 30, 2, 2)]  # META_RECTANGLE
    if bitmap:
        info = struct.pack("<IiiHHIIiiII", 40, 32, 24, 1, 0, 4, len(bitmap), 0, 0, 0, 0)
        body = struct.pack("<IH8h", 0x00CC0020, 0, 24, 32, 0, 0, 24, 32, 0, 0) + info + bitmap
        body += bytes(len(body) % 2)
        records.append(struct.pack("<IH", (6 + len(body)) // 2, 0x0F43) + body)
    return _wmf(records)


def svm(*, bitmap: bytes = b"") -> bytes:
    """A StarView metafile with a rectangle and, with ``bitmap``, a bitmap action."""
    map_mode = struct.pack("<HI", 1, 27) + struct.pack("<H6iB", 0, 0, 0, 1, 1, 1, 1, 1)
    actions = [struct.pack("<HHI4i", 103, 1, 16, 2, 2, 30, 22)]  # META_RECT_ACTION
    if bitmap:
        actions.append(struct.pack("<HHI", 116, 1, 8 + len(bitmap)) + bytes(8) + bitmap)
    header = struct.pack("<I", 0) + map_mode + struct.pack("<2iI", 32, 24, len(actions))
    return b"VCLMTF" + struct.pack("<HI", 1, len(header)) + header + b"".join(actions)


def odt_with_inline_picture(image: bytes) -> bytes:
    """An OpenDocument text whose picture is inline, as ``office:binary-data``."""
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS}><office:body>'
        f"<office:text><text:p>{ODF_TEXT}</text:p><draw:frame><draw:image><office:binary-data>"
        f"{base64.encodebytes(image).decode()}</office:binary-data></draw:image></draw:frame>"
        "</office:text></office:body></office:document-content>"
    ).encode()  # fmt: skip
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{_ODF_MIME["odt"]}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    ).encode()  # fmt: skip
    return zip_bytes(
        [("mimetype", _ODF_MIME["odt"].encode()), ("META-INF/manifest.xml", manifest),
         ("content.xml", content)],
        stored=("mimetype",),
    )  # fmt: skip
