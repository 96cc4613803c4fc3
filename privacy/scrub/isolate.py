"""Scrub one file in a child process that a hostile file cannot use to take the bot down
(rule P8).

In the bot's own process a single call into qpdf, Pillow or zlib cannot be stopped, and
what it allocates is the bot's memory. :func:`scrub_isolated` runs the same
:func:`privacy.scrub.scrub` in a fresh Python process (:mod:`privacy.scrub.worker`):

- started anew (``-I -B``: no environment variables read, no user site, no current
  directory on the path, no bytecode written), in its own session, with an environment of
  ``PATH`` and ``LC_ALL=C`` only; never a fork of the event loop's process;
- before it reads the file it limits itself: ``RLIMIT_AS`` to ``Limits.max_memory``,
  ``RLIMIT_CPU`` to ``Limits.seconds`` rounded up plus one, ``RLIMIT_NOFILE`` to 64,
  ``RLIMIT_CORE`` to 0, ``RLIMIT_FSIZE`` to four times ``Limits.max_bytes``; ffmpeg
  and ffprobe, its children, inherit them;
- the file goes in on its standard input; one frame comes back on its standard output
  (below); its standard error is discarded;
- when the time is up the whole process group (the child and its ffmpeg) is killed
  with SIGKILL and reaped.

What comes back is treated as untrusted, like the file it came from. The frame::

    b"TLSCRUB3"  b"R"  kind (u8 length + ASCII)
                       partial (u8: 0 none, 1 kept, 2 kept and declared; then that many
                       f64 seconds)
                       removed (u32, one bit per REMOVED_KINDS)
                       flags (u8: bit 0, the voice was disguised)
                       sha256 (32 bytes)  data (u64 length + bytes)
    b"TLSCRUB3"  b"E"  reason (u8 length + ASCII)  kind (u8 length + ASCII, may be empty)
                       message (u16 length + UTF-8)

It must be exactly that long, the kind one of :data:`KINDS`, the reason one of
:data:`REASONS`, the bits within :data:`REMOVED_KINDS`, the SHA-256 that of the data,
a partial file's seconds finite and positive (kept less than declared, both at most
:data:`MAX_SECONDS`) and only for video or audio, and the answer at most four times
``max_bytes``; anything else refuses the file as ``malformed``. The MIME type is
looked up here, never taken from the child.

How an end maps to a refusal: a frame with a refusal is raised again with its reason
(``bomb`` when the child ran out of memory); killed at the deadline, or by its CPU limit,
``timeout``; killed by anyone else (the kernel's out-of-memory killer) ``bomb``; any
other crash ``malformed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import os
import signal
import struct
import sys
import time
from dataclasses import asdict
from pathlib import Path

from .errors import (
    REASONS,
    DecompressionBombError,
    EncryptedError,
    FileTooLargeError,
    MacrosError,
    MalformedFileError,
    ScrubError,
    ScrubTimeoutError,
    UnsupportedFormatError,
    VerifyFailedError,
)
from .limits import DEFAULT_LIMITS, Limits
from .vocab import KINDS, MIME_TYPES, REMOVED_KINDS, Partial, ScrubResult

__all__ = [
    "EXIT_OUT_OF_MEMORY",
    "MAX_SECONDS",
    "encode_error",
    "encode_result",
    "rlimits",
    "scrub_isolated",
]

MAGIC = b"TLSCRUB3"
#: The longest a partial file's kept or declared duration may be, in seconds.
MAX_SECONDS = 10 * 24 * 3600.0
#: The worker's exit status when it ran out of memory and could not even say so.
EXIT_OUT_OF_MEMORY = 70
_NOFILE = 64
_MESSAGE_MAX = 300
_ERRORS: dict[str, type[ScrubError]] = {
    "too_large": FileTooLargeError,
    "unsupported": UnsupportedFormatError,
    "malformed": MalformedFileError,
    "bomb": DecompressionBombError,
    "timeout": ScrubTimeoutError,
    "macros": MacrosError,
    "encrypted": EncryptedError,
    "verify_failed": VerifyFailedError,
}
assert set(_ERRORS) == set(REASONS)

# The directory that holds the ``privacy`` package: the child imports this very copy.
_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); from privacy.scrub.worker import main; main()"
)


# ------------------------------------------------------------------ the frame
def encode_result(result: ScrubResult) -> list[bytes]:
    """The frame of a cleaned file, in parts (the data is not copied)."""
    kind = result.kind.encode("ascii")
    bits = sum(1 << REMOVED_KINDS.index(k) for k in result.removed)
    seconds: tuple[float, ...] = ()
    if result.partial is not None:
        seconds = (result.partial.kept,)
        if result.partial.declared is not None:
            seconds += (result.partial.declared,)
    head = (
        MAGIC + b"R" + struct.pack(">B", len(kind)) + kind
        + struct.pack(f">B{len(seconds)}d", len(seconds), *seconds)
        + struct.pack(">I", bits)
        + struct.pack(">B", 1 if result.voice_disguised else 0)
    )  # fmt: skip
    digest = bytes.fromhex(result.sha256)
    return [head, digest, struct.pack(">Q", len(result.data)), result.data]


def encode_error(reason: str, kind: str | None, message: str) -> bytes:
    """The frame of a refusal."""
    reason_b = reason.encode("ascii")
    kind_b = (kind or "").encode("ascii")
    message_b = message.encode("utf-8")[: _MESSAGE_MAX * 4]
    return (
        MAGIC + b"E" + struct.pack(">B", len(reason_b)) + reason_b
        + struct.pack(">B", len(kind_b)) + kind_b
        + struct.pack(">H", len(message_b)) + message_b
    )  # fmt: skip


class _BadFrame(Exception):
    pass


def _partial(kind: str, seconds: tuple[float, ...]) -> Partial | None:
    """The partial mark of a result frame, checked: seconds within reason, kept less
    than declared, and only for the formats that can be partial."""
    if not seconds:
        return None
    if MIME_TYPES[kind].split("/")[0] not in ("video", "audio"):
        raise _BadFrame("partial")
    if not all(math.isfinite(s) and 0 < s <= MAX_SECONDS for s in seconds):
        raise _BadFrame("partial")
    if len(seconds) == 2 and not seconds[0] < seconds[1]:
        raise _BadFrame("partial")
    return Partial(*seconds)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise _BadFrame("short")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def number(self, fmt: str) -> int:
        value: int = struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
        return value

    def text(self, fmt: str) -> str:
        raw = self.take(self.number(fmt))
        if not raw.isascii():
            raise _BadFrame("not ASCII")
        return raw.decode("ascii")


def _clean_message(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    return "".join(c if c.isprintable() else "?" for c in text)[:_MESSAGE_MAX]


def _decode(frame: bytes) -> ScrubResult | ScrubError:
    """Read the child's answer; raise _BadFrame if it is anything but a valid frame."""
    r = _Reader(frame)
    if r.take(len(MAGIC)) != MAGIC:
        raise _BadFrame("magic")
    tag = r.take(1)
    if tag == b"R":
        kind = r.text(">B")
        count = r.number(">B")
        if count > 2:
            raise _BadFrame("partial")
        seconds = struct.unpack(f">{count}d", r.take(8 * count))
        bits = r.number(">I")
        flags = r.number(">B")
        digest = r.take(32)
        data = r.take(r.number(">Q"))
        if r.pos != len(frame):
            raise _BadFrame("trailing bytes")
        if kind not in KINDS or bits >> len(REMOVED_KINDS) or not data:
            raise _BadFrame("kind or removed")
        if hashlib.sha256(data).digest() != digest:
            raise _BadFrame("digest")
        removed = frozenset(k for i, k in enumerate(REMOVED_KINDS) if bits >> i & 1)
        partial = _partial(kind, seconds)
        if flags > 1 or (flags and MIME_TYPES[kind].split("/")[0] not in ("video", "audio")):
            raise _BadFrame("flags")
        return ScrubResult(
            data, kind, MIME_TYPES[kind], removed, digest.hex(), partial, bool(flags)
        )
    if tag == b"E":
        reason = r.text(">B")
        kind_text = r.text(">B")
        message = _clean_message(r.take(r.number(">H")))
        if r.pos != len(frame):
            raise _BadFrame("trailing bytes")
        if reason not in _ERRORS or (kind_text and kind_text not in KINDS):
            raise _BadFrame("reason or kind")
        return _ERRORS[reason](message, kind=kind_text or None)
    raise _BadFrame("tag")


# ------------------------------------------------------------------ the child's limits
def rlimits(limits: Limits) -> dict[str, int]:
    """The resource limits the worker sets on itself (names of ``resource.RLIMIT_*``)."""
    return {
        "RLIMIT_AS": limits.max_memory,
        "RLIMIT_CPU": math.ceil(limits.seconds) + 1,
        "RLIMIT_NOFILE": _NOFILE,
        "RLIMIT_CORE": 0,
        "RLIMIT_FSIZE": 4 * limits.max_bytes,
    }


def _child_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}


def _kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the child's whole process group (it leads its own session), ffmpeg too."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


async def _feed(stdin: asyncio.StreamWriter, data: bytes) -> None:
    try:
        stdin.write(data)
        await stdin.drain()
        stdin.close()
        await stdin.wait_closed()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the child stopped reading (it died); its exit status tells why


class _TooLong(Exception):
    pass


async def _answer(proc: asyncio.subprocess.Process, data: bytes, cap: int) -> bytes:
    """Send the file, read the answer (at most ``cap`` bytes), wait for the exit."""
    assert proc.stdin is not None
    assert proc.stdout is not None
    feeding = asyncio.create_task(_feed(proc.stdin, data))
    out = bytearray()
    try:
        while chunk := await proc.stdout.read(1 << 20):
            out += chunk
            if len(out) > cap:
                raise _TooLong
        await feeding
    finally:
        feeding.cancel()
    await proc.wait()
    return bytes(out)


async def scrub_isolated(
    data: bytes, *, limits: Limits = DEFAULT_LIMITS, disguise_voice: bool = False
) -> ScrubResult:
    """:func:`privacy.scrub.scrub` in a child process under ``limits`` (see the module);
    with ``disguise_voice``, :func:`privacy.scrub.voice.disguise_voice` instead (the
    file scrubbed, then the voice in it shifted).

    Returns the same :class:`ScrubResult` or raises the same :class:`ScrubError`; in
    addition the file is refused as ``bomb`` when the child needs more than
    ``limits.max_memory``, and as ``timeout`` when it is killed at ``limits.seconds``.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("scrub_isolated() takes bytes")
    data = bytes(data)
    if len(data) > limits.max_bytes:
        raise FileTooLargeError(f"the file is {len(data):,} bytes, more than {limits.max_bytes:,}")
    deadline = time.monotonic() + limits.seconds
    spec = json.dumps(
        {
            "limits": asdict(limits),
            "deadline": deadline,
            "rlimits": rlimits(limits),
            "disguise_voice": disguise_voice,
        }
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-B", "-c", _BOOT, _ROOT, spec,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, env=_child_env(), start_new_session=True,
    )  # fmt: skip
    timed_out = too_long = False
    frame = b""
    try:
        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
            frame = await _answer(proc, data, 4 * limits.max_bytes + 4096)
    except TimeoutError:
        timed_out = True
    except _TooLong:
        too_long = True
    finally:
        if proc.returncode is None:
            _kill(proc)
            # Reaped here even when the caller is cancelled: the child leaves no zombie.
            await asyncio.shield(proc.wait())
        elif proc.returncode != 0:
            # It died on its own; an ffmpeg it started may still run in its group (whose
            # id stays taken while it has a member).
            _kill(proc)
    return _outcome(proc.returncode, frame, limits, timed_out=timed_out, too_long=too_long)


def _outcome(
    status: int | None, frame: bytes, limits: Limits, *, timed_out: bool, too_long: bool
) -> ScrubResult:
    if timed_out or status == -signal.SIGXCPU:
        raise ScrubTimeoutError(f"took longer than {limits.seconds:g} s")
    if too_long:
        raise MalformedFileError("the scrub process gave too long an answer")
    if status == EXIT_OUT_OF_MEMORY or status == -signal.SIGKILL:
        raise DecompressionBombError("the file needs more memory than allowed")
    if status != 0:
        raise MalformedFileError(f"the scrub process ended with status {status}")
    try:
        outcome = _decode(frame)
    except (_BadFrame, struct.error, UnicodeDecodeError, ValueError) as exc:
        raise MalformedFileError("the scrub process gave an unreadable answer") from exc
    if isinstance(outcome, ScrubError):
        raise outcome
    return outcome
