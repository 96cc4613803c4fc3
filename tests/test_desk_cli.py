"""``tipline desk`` and ``tipline desk users`` as an admin runs them: accounts created
from a pipe, listed, disabled, reset; the desk refuses to listen beyond loopback
without TLS, and serves on loopback."""

from __future__ import annotations

import asyncio
import http.client
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from desk import Accounts
from privacy import X25519Identity
from storage import connect
from tipline.cli import main
from tipline.commands.desk import check_listen

from .leaks import assert_absent, redis_contents

PASSWORD = "Ngorongoro-Crater-2026"
NEW_PASSWORD = "Serengeti-Plains-Later-5"


@dataclass
class Admin:
    env: dict[str, str]
    root: Path

    def run(self, *args: str, stdin: str = "") -> Result:
        """In this process (click's runner): a second interpreter per command is slow."""
        return CliRunner().invoke(main, ["desk", *args], input=stdin, env=self.env)


@pytest.fixture
def admin(tmp_path: Path, redis_url: str, ephemeral_url: str) -> Admin:
    env = {
        "HOME": str(tmp_path / "home"),
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "TIPLINE_RECIPIENTS": str(X25519Identity.generate().recipient),
        "REDIS_URL": redis_url,
        "REDIS_EPHEMERAL_URL": ephemeral_url,
    }

    async def flush() -> None:
        for url in (redis_url, ephemeral_url):
            client = await connect(url)
            await client.flushdb()
            await client.aclose()

    asyncio.run(flush())
    return Admin(env, tmp_path)


def _stored(admin: Admin) -> tuple[bytes, list[bool]]:
    """What Redis holds, and which passwords each account takes now."""

    async def read() -> tuple[bytes, list[bool]]:
        durable = await connect(admin.env["REDIS_URL"])
        ephemeral = await connect(admin.env["REDIS_EPHEMERAL_URL"])
        try:
            accounts = Accounts(durable)
            checks = [
                await accounts.authenticate("amina", PASSWORD) is not None,
                await accounts.authenticate("amina", NEW_PASSWORD) is not None,
            ]
            return await redis_contents(durable, ephemeral), checks
        finally:
            await durable.aclose()
            await ephemeral.aclose()

    return asyncio.run(read())


def test_accounts_from_the_command_line(admin: Admin) -> None:
    added = admin.run("users", "add", "amina", "--role", "operator", stdin=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output
    again = admin.run("users", "add", "amina", "--role", "operator", stdin=PASSWORD + "\n")
    assert again.exit_code != 0 and "already" in again.output
    short = admin.run("users", "add", "bao", "--role", "reviewer", stdin="short\n")
    assert short.exit_code != 0 and "at least" in short.output
    bad = admin.run("users", "add", "Amina Said", "--role", "operator", stdin=PASSWORD + "\n")
    assert bad.exit_code != 0 and "account name" in bad.output
    rita = admin.run("users", "add", "rita", "--role", "reviewer", stdin=PASSWORD + "\n")
    assert rita.exit_code == 0, rita.output

    listed = admin.run("users", "list")
    assert listed.stdout.splitlines() == ["amina\toperator\tactive", "rita\treviewer\tactive"]
    assert _stored(admin)[1] == [True, False]

    reset = admin.run("users", "reset-password", "amina", stdin=NEW_PASSWORD + "\n")
    assert reset.exit_code == 0, reset.output
    assert _stored(admin)[1] == [False, True]

    assert admin.run("users", "disable", "amina").exit_code == 0
    assert "amina\toperator\tdisabled" in admin.run("users", "list").stdout
    assert _stored(admin)[1] == [False, False]
    assert admin.run("users", "disable", "amina", "--enable").exit_code == 0
    assert _stored(admin)[1] == [False, True]
    missing = admin.run("users", "disable", "nobody")
    assert missing.exit_code != 0 and "no account" in missing.output

    # Only Argon2id hashes are stored, never a password.
    stored, _ = _stored(admin)
    assert_absent(stored, [PASSWORD, NEW_PASSWORD], "Redis")
    assert b"$argon2id$" in stored


def test_the_desk_refuses_to_listen_beyond_loopback_without_tls(admin: Admin) -> None:
    everywhere = "0.0.0.0"  # noqa: S104 (the address the desk must refuse)
    refused = admin.run("--host", everywhere)
    assert refused.exit_code != 0
    assert "not a loopback address" in refused.output and "--allow-remote" in refused.output
    no_tls = admin.run("--host", "192.0.2.7", "--allow-remote")
    assert no_tls.exit_code != 0 and "only over TLS" in no_tls.output
    half = admin.run("--host", "127.0.0.1", "--tls-cert", __file__)
    assert half.exit_code != 0 and "both --tls-cert and --tls-key" in half.output
    reviewer = admin.run("--role", "reviewer")
    assert reviewer.exit_code != 0 and "reviewer desk" in reviewer.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as an admin would make with openssl."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "desk.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "desk.crt", directory / "desk.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _serve(admin: Admin, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tipline", "desk", *args],
        env={
            **admin.env,
            "PATH": os.environ["PATH"],
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        },
        cwd=admin.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _login_page(process: subprocess.Popen[str], url: str, context: ssl.SSLContext | None) -> Any:
    """The login page's response, once the desk answers."""
    deadline = time.monotonic() + 30
    while True:
        try:
            # The URL is the desk's own on loopback, built above.
            with urllib.request.urlopen(url, timeout=2, context=context) as page:  # noqa: S310
                page.read()
                return page
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ssl.SSLError):
                raise
        except OSError:
            pass
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the desk did not start"
        time.sleep(0.2)


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    return err


def test_the_desk_serves_on_loopback_until_stopped(admin: Admin) -> None:
    port = _free_port()
    process = _serve(admin, "--port", str(port))
    try:
        page = _login_page(process, f"http://127.0.0.1:{port}/login", None)
        assert page.status == 200
        assert page.headers["Cache-Control"] == "no-store"
    finally:
        err = _stop(process)
    assert f"serving on http://127.0.0.1:{port}/" in err


def test_the_desk_serves_over_tls(admin: Admin) -> None:
    cert, key = _self_signed(admin.root)
    port = _free_port()
    process = _serve(admin, "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        page = _login_page(process, f"https://127.0.0.1:{port}/login", trusting)
        assert page.status == 200
        cookie = page.headers["Set-Cookie"]
        assert cookie.startswith("__Host-tipline-login=") and "Secure" in cookie
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        # Plain HTTP on the TLS port gets nothing.
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
    finally:
        err = _stop(process)
    assert f"serving on https://127.0.0.1:{port}/" in err


def test_beyond_loopback_needs_the_flag_and_tls() -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    for host in ("127.0.0.1", "::1", "[::1]", "localhost", "127.8.9.10"):
        check_listen(host, allow_remote=False, tls=None)
    for host in ("0.0.0.0", "192.0.2.7", "::", "desk.example"):  # noqa: S104
        with pytest.raises(click.UsageError, match="not a loopback address"):
            check_listen(host, allow_remote=False, tls=context)
        with pytest.raises(click.UsageError, match="only over TLS"):
            check_listen(host, allow_remote=True, tls=None)
        check_listen(host, allow_remote=True, tls=context)
