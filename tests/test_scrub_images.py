"""Images (rule P3): planted metadata is gone (exiftool reads the result back), the
pixels are the same (the image data is copied, never re-encoded), orientation is kept."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from privacy.scrub import ScrubResult, scrub

from .samples import assert_clean, decoded, exiftool_tags, photo
from .samples import images as samples


def _scrub_and_read(
    data: bytes, tmp_path: Path, ext: str
) -> tuple[ScrubResult, dict[str, object]]:
    result = scrub(data)
    out = tmp_path / f"clean.{ext}"
    out.write_bytes(result.data)
    (tags,) = exiftool_tags(out)
    assert_clean(result.data, tags)
    return result, tags


def test_camera_jpeg_loses_everything_but_its_pixels_and_orientation(tmp_path: Path) -> None:
    original = samples.camera_jpeg(tmp_path)
    (before,) = exiftool_tags(tmp_path / "camera.jpg")
    assert before["IFD0:Make"] == "AcmeCam" and "GPS:GPSLatitude" in before
    assert "IFD1:ThumbnailImage" in before and "IPTC:By-line" in before

    result, tags = _scrub_and_read(original, tmp_path, "jpg")

    assert result.kind == "jpeg" and result.mime == "image/jpeg"
    assert {"location", "camera", "author", "timestamps", "software", "thumbnail", "comments",
            "xmp", "iptc"} <= result.removed  # fmt: skip
    assert tags["IFD0:Orientation"] == "Rotate 90 CW"
    assert "ICC_Profile:ProfileDescription" not in tags  # it named its owner
    assert decoded(result.data) == decoded(original)
    # Lossless: the scan data is the same bytes (only marker segments changed).
    assert (
        original[original.rindex(b"\xff\xda") :] == result.data[result.data.rindex(b"\xff\xda") :]
    )


def test_a_standard_colour_profile_is_kept_and_normalised() -> None:
    result = scrub(samples.jpeg_with_standard_icc())
    assert result.removed == frozenset()
    with Image.open(io.BytesIO(result.data)) as image:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
    assert ImageCms.getProfileDescription(profile).strip() == "sRGB built-in"
    assert image.info["icc_profile"][24:36] == bytes(12)  # its creation time is gone


def test_scrubbing_twice_changes_nothing(tmp_path: Path) -> None:
    once = scrub(samples.camera_jpeg(tmp_path))
    twice = scrub(once.data)
    assert twice.data == once.data and twice.removed == frozenset()


@pytest.mark.parametrize(
    ("ext", "build"),
    [
        ("png", lambda tmp: samples.png_sample(tmp)),
        ("png16", lambda tmp: samples.png_sample(tmp, Image.new("I;16", (40, 30), 51234))),
        ("apng", lambda tmp: samples.png_sample(tmp, save_all=True, append_images=[
            Image.new("RGB", (96, 64), "red")], duration=100)),
        ("webp", lambda tmp: samples.webp_sample(tmp, lossless=False)),
        ("webp-lossless", lambda tmp: samples.webp_sample(tmp, lossless=True)),
        ("gif", samples.gif_sample),
        ("tiff", samples.tiff_sample),
        ("heic", samples.heic_sample),
        ("heic-grid", lambda tmp: samples.heic_sample(tmp, grid=True)),
    ],
)  # fmt: skip
def test_image_formats(tmp_path: Path, ext: str, build: Callable[[Path], bytes]) -> None:
    original = build(tmp_path)
    result, _ = _scrub_and_read(original, tmp_path, ext.split("-")[0].rstrip("16"))
    assert result.kind == {"apng": "png", "png16": "png"}.get(ext, ext.split("-")[0])
    assert result.removed & {"author", "xmp", "comments"}
    assert decoded(result.data) == decoded(original)
    with Image.open(io.BytesIO(original)) as a, Image.open(io.BytesIO(result.data)) as b:
        assert getattr(a, "n_frames", 1) == getattr(b, "n_frames", 1)


def test_png_keeps_its_orientation_alone(tmp_path: Path) -> None:
    result = scrub(samples.png_sample(tmp_path))
    with Image.open(io.BytesIO(result.data)) as image:
        exif = image.getexif()
    assert dict(exif) == {0x0112: 3}


def test_heic_thumbnail_and_exif_items_are_dropped(tmp_path: Path) -> None:
    original = samples.heic_sample(tmp_path, grid=True)
    result = scrub(original)
    assert {"thumbnail", "xmp", "location", "camera"} <= result.removed
    assert b"Exif" not in result.data and b"mime" not in result.data
    with Image.open(io.BytesIO(result.data)) as image:
        assert not image.info.get("thumbnails") and not image.info.get("exif")


@pytest.mark.parametrize("mode", ["RGB", "CMYK", "L"])
@pytest.mark.parametrize(
    "options", [{"progressive": True}, {"restart_marker_blocks": 2}, {"subsampling": 0}]
)
def test_jpeg_variants_keep_their_pixels(mode: str, options: dict[str, object]) -> None:
    buf = io.BytesIO()
    photo((97, 61)).convert(mode).save(buf, "JPEG", **options)
    result = scrub(buf.getvalue())
    assert decoded(result.data) == decoded(buf.getvalue())
