"""Where a media file is written for ffmpeg: a directory in memory, never on a disk.

ffmpeg and ffprobe need the file by name (MP4 and MOV cannot be read from, or written
to, a pipe: their index is found and written by seeking), so the original is written
to a private directory for the time of one scrub. An unscrubbed original must not reach
a disk, where deleting it would leave its bytes behind (journals, free blocks, SSD
wear levelling, backups of the volume). The directory is therefore on a file system
held in memory (``tmpfs`` or ``ramfs``): ``$TIPLINE_SCRUB_TMPDIR`` when it is set,
else ``/dev/shm``. When it is not in memory, media are refused rather than written.

The file system type is read from the kernel's mount table (``/proc/self/mounts``):
the mount that holds the directory is the one with the longest mount point above it,
the last of them when several are mounted on the same point.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import UnsupportedFormatError

__all__ = ["ENV", "MEMORY_FILESYSTEMS", "filesystem", "memory_dir"]

#: Environment variable naming the directory (a tmpfs mount) media are written to.
ENV = "TIPLINE_SCRUB_TMPDIR"
#: File systems whose files live in memory only.
MEMORY_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})
_DEFAULT = Path("/dev/shm")  # noqa: S108 (a private directory is made inside it)
_MOUNTS = Path("/proc/self/mounts")
_ESCAPE = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    """A mount point as the kernel writes it: space, tab, newline, backslash in octal."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def filesystem(path: Path, mounts: str) -> str | None:
    """The type of the file system holding the absolute, resolved ``path``, from a mount
    table in the format of ``/proc/self/mounts``; ``None`` when no mount holds it."""
    depth, found = -1, None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = Path(_unescape(fields[1]))
        if (point == path or point in path.parents) and len(point.parts) >= depth:
            depth, found = len(point.parts), fields[2]
    return found


def memory_dir() -> Path:
    """The directory media are written to, checked to be in memory.

    Raises :class:`UnsupportedFormatError` (media cannot be cleaned on this machine)
    when it does not exist, is not writable, or is not on ``tmpfs``/``ramfs``.
    """
    configured = os.environ.get(ENV, "")
    directory = Path(configured) if configured else _DEFAULT
    origin = f"{ENV} ({configured})" if configured else f"{_DEFAULT} ({ENV} is not set)"
    try:
        resolved = directory.resolve(strict=True)
        mounts = _MOUNTS.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UnsupportedFormatError(
            f"no directory in memory for media: {origin} cannot be used; "
            f"set {ENV} to a tmpfs mount"
        ) from exc
    fstype = filesystem(resolved, mounts)
    if fstype not in MEMORY_FILESYSTEMS:
        raise UnsupportedFormatError(
            f"no directory in memory for media: {origin} is on {fstype or 'an unknown'} "
            f"file system, not tmpfs; set {ENV} to a tmpfs mount"
        )
    if not resolved.is_dir() or not os.access(resolved, os.W_OK | os.X_OK):
        raise UnsupportedFormatError(
            f"no directory in memory for media: {origin} is not a writable directory; "
            f"set {ENV} to a tmpfs mount"
        )
    return resolved
