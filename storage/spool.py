"""The local spool (rule P7): sealed tips wait on disk while Redis is down.

Spooled tips are ciphertext, so they are safe at rest. One file per case,
``<case_id>.tip``, written atomically (temporary file, fsync, rename, fsync of the
directory). File format, all integers big-endian::

    b"TLSPOOL2"                       magic and format version (8 bytes)
    u64 sequence number               the spool's order: 1 + the highest one waiting
    u16 length, case id (ASCII)       must match the file name
    u32 number of blobs (1 + attachments)
    per blob: u64 length, bytes       the sealed tip first, then sealed attachments
    32 bytes SHA-256 of everything above

(``TLSPOOL1`` files, without the sequence number, are still read, as sequence 0.)

A file that does not parse or whose digest does not match is never pushed and never
deleted: it is moved to ``quarantine/`` and reported (log warning, `SpoolCorruptError`).

No time of a tip is kept (P4): every file, and the directory, gets the start of the UTC
day as its modification and access time; tips are ordered by their sequence number, not
by time; temporary and quarantined names carry a random token, not a clock; and nothing
is logged per tip (a log line's timestamp would be the moment a tip arrived): the spool
logs counts only, and never a case id.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import logging
import os
import secrets
import struct
import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from redis.exceptions import RedisError

from storage.errors import SpoolCorruptError, StorageError, StorageUnavailableError
from storage.processes import pid_alive
from storage.queue import TipQueue, sealed_blobs, validate_case_id

__all__ = ["SPOOL_MAGIC", "Spool", "submit_durably"]

log = logging.getLogger(__name__)

SPOOL_MAGIC = b"TLSPOOL2"
_OLD_MAGIC = b"TLSPOOL1"
_SEQ = struct.Struct(">Q")
_SUFFIX = ".tip"
_TMP_SUFFIX = ".tmp"
_DIGEST_SIZE = hashlib.sha256().digest_size


def _encode(case_id: str, blobs: Sequence[bytes], seq: int) -> bytes:
    case = case_id.encode("ascii")
    parts = [SPOOL_MAGIC, _SEQ.pack(seq), struct.pack(">H", len(case)), case]
    parts.append(struct.pack(">I", len(blobs)))
    for blob in blobs:
        parts += [struct.pack(">Q", len(blob)), blob]
    body = b"".join(parts)
    return body + hashlib.sha256(body).digest()


def _decode(case_id: str, data: bytes) -> tuple[bytes, tuple[bytes, ...]]:
    """Parse a spool file; ValueError with a short reason if it is not intact."""
    if len(data) < len(SPOOL_MAGIC) + _DIGEST_SIZE or not data.startswith(
        (SPOOL_MAGIC, _OLD_MAGIC)
    ):
        raise ValueError("bad magic or too short")
    body, digest = data[:-_DIGEST_SIZE], data[-_DIGEST_SIZE:]
    if hashlib.sha256(body).digest() != digest:
        raise ValueError("digest mismatch (truncated or damaged)")
    pos = len(SPOOL_MAGIC) + (_SEQ.size if data.startswith(SPOOL_MAGIC) else 0)
    try:
        (case_len,) = struct.unpack_from(">H", body, pos)
        pos += 2
        stored_case = body[pos : pos + case_len].decode("ascii")
        pos += case_len
        (count,) = struct.unpack_from(">I", body, pos)
        pos += 4
        blobs: list[bytes] = []
        for _ in range(count):
            (size,) = struct.unpack_from(">Q", body, pos)
            pos += 8
            if pos + size > len(body):
                raise ValueError("blob runs past the end")
            blobs.append(body[pos : pos + size])
            pos += size
    except (struct.error, UnicodeDecodeError) as exc:
        raise ValueError("malformed header") from exc
    if pos != len(body) or count < 1:
        raise ValueError("unexpected layout")
    if not blobs[0]:
        raise ValueError("empty sealed tip")
    if stored_case != case_id:
        raise ValueError("case id does not match the file name")
    return blobs[0], tuple(blobs[1:])


def _start_of_day_ns() -> int:
    """The start of the current UTC day, in nanoseconds since the epoch."""
    day = 86_400 * 1_000_000_000
    return time.time_ns() // day * day


def _blur_time(path: Path) -> None:
    """Set ``path``'s access and modification times to the start of the UTC day (P4)."""
    day = _start_of_day_ns()
    os.utime(path, ns=(day, day))


def _read_seq(path: Path) -> int:
    """A spool file's sequence number (0 for the old format or an unreadable header)."""
    with path.open("rb") as fh:
        head = fh.read(len(SPOOL_MAGIC) + _SEQ.size)
    if head.startswith(SPOOL_MAGIC) and len(head) == len(SPOOL_MAGIC) + _SEQ.size:
        return int(_SEQ.unpack_from(head, len(SPOOL_MAGIC))[0])
    return 0


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """A directory of sealed tips waiting for Redis (created 0700)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.quarantine_dir = self.directory / "quarantine"
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        self._lock = threading.Lock()
        self._writing: set[str] = set()  # this process's temporary files in progress

    def _path(self, case_id: str) -> Path:
        return self.directory / (validate_case_id(case_id) + _SUFFIX)

    def put(self, case_id: str, sealed: bytes, attachments: Sequence[bytes] = ()) -> None:
        """Write a sealed tip durably (replacing an earlier file for the same case)."""
        target = self._path(case_id)
        blobs = sealed_blobs(sealed, attachments)
        tmp = self.directory / f".{case_id}.{os.getpid()}.{secrets.token_hex(8)}{_TMP_SUFFIX}"
        with self._lock:
            seq = 1 + max((seq for seq, _ in self._entries()), default=0)
            self._writing.add(tmp.name)
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    with os.fdopen(fd, "wb") as fh:
                        fh.write(_encode(case_id, blobs, seq))
                        fh.flush()
                        os.fsync(fh.fileno())
                    _blur_time(tmp)
                    os.replace(tmp, target)
                except BaseException:
                    with contextlib.suppress(OSError):
                        tmp.unlink()
                    raise
            finally:
                self._writing.discard(tmp.name)
            _blur_time(self.directory)
            _fsync_dir(self.directory)

    def list(self) -> builtins.list[str]:
        """Case ids waiting in the spool, oldest first (by sequence number)."""
        return [case_id for _, case_id in sorted(self._entries())]

    def _entries(self) -> builtins.list[tuple[int, str]]:
        found: list[tuple[int, str]] = []
        for path in self.directory.iterdir():
            name = path.name
            if not name.endswith(_SUFFIX) or name.startswith("."):
                continue
            case_id = name[: -len(_SUFFIX)]
            try:
                validate_case_id(case_id)
                found.append((_read_seq(path), case_id))
            except (ValueError, OSError):
                continue
        return found

    def days(self) -> builtins.list[date]:
        """The UTC day each waiting tip was spooled on (its file's time, which is only
        ever the start of a day), for counting; nothing else of a file is read."""
        found: list[date] = []
        for path in self.directory.iterdir():
            if not path.name.endswith(_SUFFIX) or path.name.startswith("."):
                continue
            try:
                found.append(datetime.fromtimestamp(path.stat().st_mtime, UTC).date())
            except OSError:
                continue
        return found

    def load(self, case_id: str) -> tuple[bytes, tuple[bytes, ...]]:
        """Return ``(sealed, attachments)``; a damaged file is quarantined and
        `SpoolCorruptError` raised. FileNotFoundError if the case is not spooled."""
        path = self._path(case_id)
        data = path.read_bytes()
        try:
            return _decode(case_id, data)
        except ValueError as exc:
            moved = self._quarantine(path)
            raise SpoolCorruptError(
                f"spool file for case {case_id} is damaged ({exc}); moved to {moved}"
            ) from exc

    def remove(self, case_id: str) -> None:
        """Delete a spooled tip (after Redis acknowledged it); missing is not an error."""
        try:
            self._path(case_id).unlink()
        except FileNotFoundError:
            return
        _blur_time(self.directory)
        _fsync_dir(self.directory)

    def quarantined(self) -> builtins.list[str]:
        """File names in ``quarantine/``: damaged spool files waiting for a human."""
        if not self.quarantine_dir.is_dir():
            return []
        return sorted(p.name for p in self.quarantine_dir.iterdir())

    async def flush(self, queue: TipQueue) -> int:
        """Push every spooled tip to ``queue``, oldest first, removing each file only
        after Redis accepted it. Returns how many were pushed; stops (without raising)
        at the first `StorageUnavailableError`, leaving the rest in the spool."""
        pushed, _ = await self._flush(queue)
        return pushed

    async def _flush(self, queue: TipQueue) -> tuple[int, bool]:
        """Like `flush`; also says whether it stopped because Redis is unavailable."""
        await asyncio.to_thread(self._quarantine_stale_tmp)
        return await self._push_all(queue)

    async def _push_all(self, queue: TipQueue) -> tuple[int, bool]:
        pushed = refused = 0
        for case_id in await asyncio.to_thread(self.list):
            try:
                sealed, attachments = await asyncio.to_thread(self.load, case_id)
            except FileNotFoundError:
                continue  # pushed and removed by a concurrent flush
            except SpoolCorruptError:
                continue  # quarantined and logged
            try:
                await queue.submit(case_id, sealed, attachments)
            except StorageUnavailableError:
                self._report(pushed, refused)
                return pushed, True
            except (StorageError, RedisError):
                # One tip Redis will not take must not block the others: it stays here.
                refused += 1
                continue
            await asyncio.to_thread(self.remove, case_id)
            pushed += 1
        self._report(pushed, refused)
        return pushed, False

    @staticmethod
    def _report(pushed: int, refused: int) -> None:
        """Counts only (P4): no case id, and nothing when nothing happened."""
        if refused:
            log.warning("%d spooled tip(s) were refused by Redis and stay in the spool", refused)

    def _quarantine(self, path: Path) -> Path:
        self.quarantine_dir.mkdir(mode=0o700, exist_ok=True)
        target = self.quarantine_dir / path.name
        if target.exists():
            target = self.quarantine_dir / f"{path.name}.{secrets.token_hex(4)}"
        os.replace(path, target)
        with contextlib.suppress(OSError):
            _blur_time(target)
        _blur_time(self.quarantine_dir)
        _blur_time(self.directory)
        _fsync_dir(self.quarantine_dir)
        _fsync_dir(self.directory)
        log.warning(
            "a spool file was damaged and quarantined (%d in quarantine)",
            len(self.quarantined()),
        )
        return target

    def _quarantine_stale_tmp(self) -> None:
        """Temporary files left by a crash mid-write are partial: quarantine them. A
        temporary file is left over when the process that wrote it (its name carries the
        pid) is gone, or is this one and is not writing it: no clock is needed."""
        for path in self.directory.iterdir():
            if not (path.name.startswith(".") and path.name.endswith(_TMP_SUFFIX)):
                continue
            try:
                pid = int(path.name[: -len(_TMP_SUFFIX)].split(".")[2])
            except (IndexError, ValueError):
                pid = -1
            if pid == os.getpid():
                stale = path.name not in self._writing
            else:
                stale = pid <= 0 or not pid_alive(pid)
            if stale:
                with contextlib.suppress(FileNotFoundError):
                    self._quarantine(path)


async def submit_durably(
    queue: TipQueue,
    spool: Spool,
    case_id: str,
    sealed: bytes,
    attachments: Sequence[bytes] = (),
) -> Literal["queued", "spooled"]:
    """Queue a sealed tip, or spool it if Redis is unavailable.

    Older spooled tips are pushed first so reviewers see tips in order. Either outcome
    is durable, so the tipster may be told the tip was received. Errors other than
    unavailability (a bug, a full disk for the spool) propagate.
    """
    validate_case_id(case_id)
    _, unavailable = await spool._flush(queue)
    if not unavailable:
        try:
            await queue.submit(case_id, sealed, attachments)
            return "queued"
        except StorageUnavailableError:
            pass
    await asyncio.to_thread(spool.put, case_id, sealed, attachments)
    return "spooled"
