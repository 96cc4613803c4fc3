"""Benchmark: scrubbing a 12-megapixel camera JPEG, against ``exiftool -all=``.

Run from the repository root::

    .venv/bin/python bench/scrub_jpeg.py [--runs N]

It builds a 4000 × 3000 photo-like JPEG (quality 92, 4:2:0) and plants what a phone
leaves in one: EXIF with GPS, make, model, serial number, owner, dates and a maker
note; an EXIF thumbnail; XMP; IPTC; a comment. Then, on that same file in the same run,
it times ``privacy.scrub.scrub`` (in process, as the bot calls it) and
``exiftool -all= -o OUT IN`` (a subprocess, as a pipeline would shell out to it), takes
the median of each, and prints the ratio. The goal is at least 10 times faster than
exiftool. exiftool's own start-up time (``exiftool -ver``) is printed too, as the floor
of any call to it.

It also checks the scrub is lossless: Pillow decodes the same pixels (orientation
applied) before and after, and the scan data is the same bytes. The exit status is 1
if the scrub is not lossless or misses the goal. Needs Debian's exiftool.
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from privacy.scrub import scrub

GOAL = 10.0
SIZE = (4000, 3000)


def camera_like(size: tuple[int, int]) -> Image.Image:
    """A photo-like picture: smooth gradients with sensor-like noise."""
    gradient = Image.linear_gradient("L").resize(size)
    red = Image.blend(gradient, Image.effect_noise(size, 24), 0.25)
    green = Image.blend(gradient.transpose(Image.Transpose.ROTATE_180),
                        Image.effect_noise(size, 24), 0.25)  # fmt: skip
    blue = Image.blend(gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                       Image.effect_noise(size, 24), 0.25)  # fmt: skip
    return Image.merge("RGB", (red, green, blue))


def exif_block() -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0131] = "AcmeCam", "Phone9 Pro", "Camera 4.2"
    exif[0x013B], exif[0x0112] = "Jane Tipster", 6
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (4.0, 2.0, 36.6), "E", (39.0, 40.0, 5.7)
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = sub[0x9004] = "2024:03:14 06:12:44"
    sub[0xA431] = "SN-00417731"
    sub[0x927C] = b"MAKERNOTE" + bytes(range(256)) * 120  # a maker note of ~30 KB
    return exif.tobytes()


def build(tmp: Path, exiftool: str) -> Path:
    path, thumb = tmp / "camera.jpg", tmp / "thumb.jpg"
    image = camera_like(SIZE)
    image.resize((160, 120)).save(thumb, "JPEG", quality=80)
    image.save(path, "JPEG", quality=92, subsampling="4:2:0", exif=exif_block())
    subprocess.run(
        [exiftool, "-q", "-m", "-overwrite_original", f"-ThumbnailImage<={thumb}",
         "-XMP-dc:Creator=Jane Tipster", "-XMP-photoshop:City=Mombasa",
         "-IPTC:By-line=Jane Tipster", "-Comment=shot from the bus", str(path)],
        check=True,
    )  # fmt: skip
    return path


def median_seconds(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return ImageOps.exif_transpose(image).tobytes()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each (median)")
    args = parser.parse_args()
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        print("exiftool is needed (Debian package libimage-exiftool-perl)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        source = build(tmp, exiftool)
        data = source.read_bytes()
        out = tmp / "exiftool-out.jpg"

        def run_exiftool() -> None:
            out.unlink(missing_ok=True)
            subprocess.run([exiftool, "-q", "-all=", "-o", str(out), str(source)], check=True)

        scrub(data)  # warm up (imports, first allocation)
        ours = median_seconds(lambda: scrub(data), args.runs)
        theirs = median_seconds(run_exiftool, args.runs)
        floor = median_seconds(
            lambda: subprocess.run([exiftool, "-ver"], check=True, capture_output=True), 3
        )
        result = scrub(data)
        lossless = pixels(result.data) == pixels(data) and (
            data[data.rindex(b"\xff\xda") :] == result.data[result.data.rindex(b"\xff\xda") :]
        )
    ratio = theirs / ours
    print(f"image: {SIZE[0]}×{SIZE[1]} ({SIZE[0] * SIZE[1] / 1e6:.0f} MP), "
          f"{len(data) / 1e6:.1f} MB in, {len(result.data) / 1e6:.1f} MB out")  # fmt: skip
    print(f"removed: {', '.join(sorted(result.removed))}")
    print(f"scrub (in process):  {ours * 1000:8.1f} ms  (median of {args.runs})")
    print(f"exiftool -all= -o:   {theirs * 1000:8.1f} ms  (median of {args.runs})")
    print(f"exiftool start-up:   {floor * 1000:8.1f} ms  (exiftool -ver, its floor)")
    print(f"ratio: {ratio:.1f}× faster than exiftool (goal ≥ {GOAL:.0f}×)")
    print(f"lossless: {'yes' if lossless else 'NO'} (same decoded pixels, same scan bytes)")
    return 0 if lossless and ratio >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
