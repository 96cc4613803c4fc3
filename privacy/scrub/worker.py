"""The child process of :func:`privacy.scrub.scrub_isolated`: it limits itself, reads one
file from its standard input, scrubs it and writes one frame to its standard output.

It is started by ``isolate.py`` only (its arguments: the directory that holds the
package, then the limits, the deadline and the resource limits as JSON). Nothing it
reads from the file can change what it sets: the limits are set before the file is read.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from dataclasses import replace
from typing import Any

from . import ScrubError, ScrubTimeoutError, scrub
from .isolate import EXIT_OUT_OF_MEMORY, encode_error, encode_result
from .limits import Limits
from .voice import disguise_voice

__all__ = ["main"]


def _limit_self(rlimits: dict[str, Any]) -> None:
    for name, value in rlimits.items():
        which = getattr(resource, name)
        resource.setrlimit(which, (int(value), int(value)))


def _out_of_memory(exc: BaseException) -> bool:
    """True when a MemoryError is anywhere in the chain of ``exc``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, MemoryError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _write_all(fd: int, parts: list[bytes]) -> None:
    for part in parts:
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view) :]


def main() -> None:
    spec = json.loads(sys.argv[2])
    _limit_self(spec["rlimits"])
    limits = Limits(**spec["limits"])
    deadline = float(spec["deadline"])
    # The answer goes to a private copy of stdout; whatever a library prints goes to stderr.
    out = os.dup(1)
    os.dup2(2, 1)
    try:
        data = sys.stdin.buffer.read(limits.max_bytes + 1)
        left = deadline - time.monotonic()
        if left <= 0:
            raise ScrubTimeoutError(f"took longer than {limits.seconds:g} s")
        budget = replace(limits, seconds=left)
        if spec.get("disguise_voice"):
            result = disguise_voice(data, limits=budget)
        else:
            result = scrub(data, limits=budget)
        frame = encode_result(result)
    except ScrubError as exc:
        if _out_of_memory(exc) and exc.reason != "bomb":
            kind = exc.kind
            message = f"the {kind or ''} file needs more memory than allowed"
            frame = [encode_error("bomb", kind, message)]
        else:
            frame = [encode_error(exc.reason, exc.kind, str(exc))]
    except MemoryError:
        frame = [encode_error("bomb", None, "the file needs more memory than allowed")]
    try:
        _write_all(out, frame)
    except MemoryError:
        os._exit(EXIT_OUT_OF_MEMORY)
    os.close(out)
