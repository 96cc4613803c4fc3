"""Several worker processes on one listening socket, kept running.

``tipline run telegram --webhook URL --workers N`` opens the webhook's socket once and
starts N workers, each the same command told to accept from that socket: the kernel
hands each connection to one of them. A worker that dies (killed, out of memory) is
started again, after a pause that grows while it keeps dying; meanwhile Telegram's posts
wait in the socket's queue or go to the others, and what the dead worker had not
answered 200 is posted again (rule P7). A worker that fails at once with an error (a
refused token, a bad setting) stops them all: starting it again would fail the same way.
SIGTERM or SIGINT is passed on to the workers, which finish the updates in flight.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from typing import Final

__all__ = ["supervise"]

log = logging.getLogger(__name__)

#: A worker that exits with an error within this many seconds of its start is broken.
EARLY: Final = 10.0
MAX_PAUSE: Final = 30.0
STOP_TIMEOUT: Final = 30.0


async def supervise(
    command: Callable[[int], Sequence[str]],
    count: int,
    stop: asyncio.Event,
    *,
    env: Mapping[str, str],
    pass_fds: Sequence[int] = (),
    early: float = EARLY,
) -> int:
    """Run ``command(i)`` for i in 0..count-1 until ``stop`` is set, starting again any
    that dies; the exit status to give (0, or a broken worker's)."""
    workers: dict[int, asyncio.subprocess.Process] = {}
    started: dict[int, float] = {}
    deaths: dict[int, int] = dict.fromkeys(range(count), 0)

    async def start(index: int) -> None:
        process = await asyncio.create_subprocess_exec(
            *command(index),
            env=dict(env),
            pass_fds=tuple(pass_fds),
            stdin=asyncio.subprocess.DEVNULL,
        )
        workers[index] = process
        started[index] = time.monotonic()
        log.info("worker %d started (pid %d)", index, process.pid)

    status = 0
    try:
        for index in range(count):
            await start(index)
        while not stop.is_set():
            waiting = {asyncio.ensure_future(p.wait()): i for i, p in workers.items()}
            stopping = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait([*waiting, stopping], return_when=asyncio.FIRST_COMPLETED)
            for task in [*waiting, stopping]:
                if task not in done:
                    task.cancel()
            if stop.is_set():
                break
            for task in done:
                which = waiting.get(task)
                if which is None:
                    continue
                code = workers[which].returncode
                assert code is not None
                lived = time.monotonic() - started[which]
                if code > 0 and lived < early:
                    log.error(
                        "worker %d failed at its start (exit status %d); stopping", which, code
                    )
                    stop.set()
                    status = code
                    break
                deaths[which] = deaths[which] + 1 if lived < early else 1
                pause = min(MAX_PAUSE, 0.5 * 2 ** (deaths[which] - 1))
                how = f"signal {-code}" if code < 0 else f"exit status {code}"
                log.warning(
                    "worker %d stopped (%s); starting it again in %.1f s", which, how, pause
                )
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
                if not stop.is_set():
                    await start(which)
    finally:
        await _stop_all(list(workers.values()))
    if status == 0 and any(p.returncode not in (0, None) for p in workers.values()):
        log.warning("a worker did not stop cleanly")
    return status


async def _stop_all(processes: list[asyncio.subprocess.Process]) -> None:
    """SIGTERM to the running workers; SIGKILL to those still running after a while."""
    running = [p for p in processes if p.returncode is None]
    for process in running:
        with suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
    if not running:
        return
    _, late = await asyncio.wait(
        [asyncio.ensure_future(p.wait()) for p in running], timeout=STOP_TIMEOUT
    )
    for process in running:
        if process.returncode is None:
            log.warning("worker pid %d did not stop in time; killing it", process.pid)
            with suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    for task in late:
        task.cancel()
