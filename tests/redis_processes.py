"""Real redis-server and redis-sentinel processes on loopback TCP, for the tests of TLS,
ACL users and Sentinel failover (the shared test server in conftest.py listens on a unix
socket only). Each is started with the options given, waited for by its log, and
stopped (SIGKILL, if asked, to play a crash)."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Upper bound on how long a server may take to come up; a failure, never a measure.
START_LIMIT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"these tests need Debian's {name} (scripts/bootstrap installs it)", pytrace=False
        )
    return found


class RedisProcess:
    """One redis-server (or, with ``sentinel``, redis-sentinel) process."""

    def __init__(
        self,
        directory: Path,
        options: Sequence[str],
        *,
        sentinel: bool = False,
        ready: str = "Ready to accept connections",
    ) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.options = list(options)
        self.sentinel = sentinel
        self.ready = ready
        self.log = directory / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisProcess:
        self.log.write_text("")
        if self.sentinel:
            config = self.directory / "sentinel.conf"
            config.write_text(
                f"port {self.port}\nbind 127.0.0.1\ndir {self.directory}\n"
                + "".join(f"{line}\n" for line in self.options)
            )
            argv = [binary("redis-sentinel"), str(config), "--logfile", str(self.log)]
        else:
            argv = [
                binary("redis-server"),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.log),
                "--daemonize",
                "no",
                "--save",
                "",
                *self.options,
            ]
            if "--port" not in self.options:
                argv += ["--port", str(self.port)]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + START_LIMIT
        while self.ready not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None:
                err = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                pytest.fail(f"{argv[0]} did not start: {err}{self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"{argv[0]} did not come up: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        return self

    def stop(self, *, kill: bool = False) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if process.stderr is not None:
            process.stderr.close()


@contextmanager
def running(*servers: RedisProcess) -> Iterator[tuple[RedisProcess, ...]]:
    """Start the servers in order; stop them all, whatever happens."""
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in reversed(servers):
            server.stop()


async def run_tipline(env: dict[str, str], *args: str, stdin: str = "") -> tuple[int, str]:
    """Run ``tipline ARGS`` as its own process (stdin piped in); its exit code and its
    output (stdout and stderr together)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tipline",
        *args,
        env=env,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate((stdin + "\n").encode()), 120)
    assert process.returncode is not None
    return process.returncode, out.decode()
