"""The independent read-back of a cleaned image: Pillow (with pillow-heif for HEIF) must
open it, find the expected size within the limits, and decode it.

The format modules rewrite containers themselves, so that no pixel is re-encoded
(lossless for 16-bit PNG, lossy WebP and HEIC, compressed TIFF alike). Pillow then
checks the result the way a viewer would read it: a file we broke, or a truncated
file we missed, is refused instead of being sealed.
"""

from __future__ import annotations

import io
import warnings

import pillow_heif
from PIL import Image

from .errors import MalformedFileError
from .limits import Budget

__all__ = ["decode_check"]

pillow_heif.register_heif_opener()

_FORMATS = {
    "png": ("PNG",),
    "webp": ("WEBP",),
    "gif": ("GIF",),
    "tiff": ("TIFF",),
    "heic": ("HEIF",),
    "jpeg": ("JPEG", "MPO"),
}


def decode_check(data: bytes, kind: str, budget: Budget) -> None:
    """Decode the first frame of ``data`` with Pillow; raise MalformedFileError if it fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=_FORMATS[kind]) as image:
                budget.pixels(image.width, image.height, f"the {kind} image")
                image.load()
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, RuntimeError) as exc:  # fmt: skip
        raise MalformedFileError(f"the cleaned {kind} image does not decode", kind=kind) from exc
    budget.check()
