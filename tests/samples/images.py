"""Image samples: JPEG, PNG, WebP, GIF, TIFF and HEIC with planted metadata."""

from __future__ import annotations

import functools
import io
import struct
import zlib
from pathlib import Path

import pillow_heif
from PIL import Image, ImageCms

from . import (
    CITY,
    COMMENT,
    MAKE,
    MODEL,
    NAME,
    SERIAL,
    SOFTWARE,
    YEAR,
    exif_block,
    exiftool,
    icc_profile,
    photo,
)

pillow_heif.register_heif_opener()

# What exiftool plants in every image format that can hold it.
_EXIFTOOL_TAGS = (
    f"-EXIF:Make={MAKE}",
    f"-EXIF:Model={MODEL}",
    f"-EXIF:SerialNumber={SERIAL}",
    f"-EXIF:Artist={NAME}",
    f"-EXIF:Copyright={NAME}",
    f"-EXIF:Software={SOFTWARE}",
    f"-EXIF:OwnerName={NAME}",
    "-EXIF:LensSerialNumber=LENS-4455",
    f"-EXIF:DateTimeOriginal={YEAR}:07:21 10:11:12",
    f"-EXIF:ImageDescription={COMMENT}",
    "-GPSLatitude=12.3456",
    "-GPSLatitudeRef=N",
    "-GPSLongitude=56.789",
    "-GPSLongitudeRef=E",
    f"-XMP-dc:Creator={NAME}",
    f"-XMP-photoshop:City={CITY}",
    f"-XMP-xmp:CreatorTool={SOFTWARE}",
)


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def standard_icc() -> bytes:
    """lcms's built-in sRGB profile: impersonal, so it is kept (normalised)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_jpeg(tmp: Path, *, size: tuple[int, int] = (96, 64), quality: int = 90) -> bytes:
    """A phone photo: EXIF (GPS, make, model, serial, owner, maker note, orientation 6),
    an EXIF thumbnail, XMP, IPTC, a comment and an ICC profile that names its owner."""
    path = tmp / "camera.jpg"
    thumb = tmp / "thumb.jpg"
    photo((16, 12)).save(thumb, "JPEG")
    photo(size).save(
        path, "JPEG", quality=quality, exif=exif_block(6),
        icc_profile=icc_profile(f"{NAME}'s monitor"),
    )  # fmt: skip
    exiftool(
        *_EXIFTOOL_TAGS,
        f"-IPTC:By-line={NAME}",
        f"-IPTC:City={CITY}",
        f"-Comment={COMMENT}",
        f"-ThumbnailImage<={thumb}",
        path,
    )
    return path.read_bytes()


def jpeg_with_standard_icc() -> bytes:
    return _save(photo(), "JPEG", quality=85, icc_profile=standard_icc())


def png_sample(tmp: Path, image: Image.Image | None = None, **options: object) -> bytes:
    """A PNG with text chunks, eXIf, XMP, tIME and an identifying ICC profile."""
    path = tmp / "sample.png"
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", NAME)
    info.add_text("Comment", COMMENT, zip=True)
    info.add_itxt("Description", COMMENT, lang="en")
    (image or photo()).save(
        path, "PNG", pnginfo=info, exif=exif_block(3), icc_profile=icc_profile(NAME), **options
    )
    exiftool(*_EXIFTOOL_TAGS, f"-PNG:ModifyDate={YEAR}:07:21 10:11:12", path)
    return path.read_bytes()


def webp_sample(tmp: Path, *, lossless: bool) -> bytes:
    path = tmp / "sample.webp"
    image = photo().convert("RGBA")
    image.save(path, "WEBP", lossless=lossless, quality=80, exif=exif_block(6),
               icc_profile=icc_profile(NAME))  # fmt: skip
    exiftool(*_EXIFTOOL_TAGS, path)
    return path.read_bytes()


def gif_sample(tmp: Path) -> bytes:
    """An animated GIF (two frames, looping) with a comment and XMP."""
    path = tmp / "sample.gif"
    frames = [
        photo().convert("P"),
        photo().transpose(Image.Transpose.FLIP_TOP_BOTTOM).convert("P"),
    ]
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], loop=0, duration=100,
                   comment=COMMENT.encode())  # fmt: skip
    exiftool(f"-XMP-dc:Creator={NAME}", f"-XMP-photoshop:City={CITY}", path)
    return path.read_bytes()


def tiff_sample(tmp: Path) -> bytes:
    """A two-page LZW TIFF with camera, GPS, XMP, IPTC and Photoshop tags."""
    path = tmp / "sample.tif"
    pages = [photo(), photo((48, 32))]
    pages[0].save(path, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw")
    exiftool(*_EXIFTOOL_TAGS, f"-IPTC:By-line={NAME}", "-EXIF:HostComputer=JaneTipster-PC", path)
    return path.read_bytes()


def heic_sample(tmp: Path, *, grid: bool = False) -> bytes:
    """A HEIC with EXIF, XMP and a thumbnail (optionally a grid of tiles, as phones do)."""
    path = tmp / "sample.heic"
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>{NAME}</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>'  # noqa: E501
    options: dict[str, object] = {"quality": 90, "exif": exif_block(1), "xmp": xmp.encode(),
                                  "thumbnails": [32]}  # fmt: skip
    if grid:
        options["tile_size"] = 64
    photo((160, 96) if grid else (96, 64)).save(path, "HEIF", **options)
    exiftool(f"-EXIF:Make={MAKE}", f"-EXIF:Model={MODEL}", "-GPSLatitude=12.3456",
             "-GPSLatitudeRef=N", path)  # fmt: skip
    return path.read_bytes()


_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))  # fmt: skip


@functools.cache
def huge_png(side: int = 7071) -> bytes:
    """A blank RGBA PNG of ``side``² pixels (50 million at the default: just inside the
    default limits), interlaced, every row Paeth-filtered: a few hundred kilobytes that
    Pillow spends about 200 MB and a second of one uninterruptible call to decode.
    Written row by row, so building it costs no such memory here."""
    deflate = zlib.compressobj(9)
    parts = []
    for x0, y0, dx, dy in _ADAM7:
        width, height = (side - x0 + dx - 1) // dx, (side - y0 + dy - 1) // dy
        if width and height:
            row = b"\x04" + bytes(4 * width)
            parts += [deflate.compress(row) for _ in range(height)]
    parts.append(deflate.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(
        b"IDAT", b"".join(parts)) + _png_chunk(b"IEND", b"")  # fmt: skip


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))
    )
