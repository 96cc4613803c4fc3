"""``rediss://``: a real redis-server speaking TLS only, with a certificate authority
made here. The server's certificate and host name are checked, always: a server signed
by another authority, or named otherwise, is refused, and a URL cannot turn that off."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from redis.exceptions import NoPermissionError

from privacy import X25519Identity
from storage import RedisTarget, StorageUnavailableError, TipQueue, connect
from tipline.runtime import open_runtime
from tipline.settings import ConfigError, Settings

from .redis_processes import START_LIMIT, RedisProcess, free_port, running

ROOT = Path(__file__).resolve().parents[1]


def _chain(exc: BaseException) -> str:
    """Every exception behind ``exc`` (causes and contexts), as text."""
    found: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(found) < 20:
        found.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    return " <- ".join(found)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _authority(directory: Path, name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    (directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def _server_certificate(
    directory: Path, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate
) -> tuple[Path, Path]:
    """A certificate for the DNS name ``localhost`` only (not for 127.0.0.1)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, Path]]:
    """(TLS port, our CA file, another CA's file) of a redis-server that speaks TLS only."""
    directory = tmp_path_factory.mktemp("redis-tls")
    ca_key, ca = _authority(directory, "tipline-test-ca")
    _authority(directory, "other-ca")
    cert_file, key_file = _server_certificate(directory, ca_key, ca)
    server = RedisProcess(directory / "server", [])
    options = [
        "--port", "0",
        "--tls-port", str(server.port),
        "--tls-cert-file", str(cert_file),
        "--tls-key-file", str(key_file),
        "--tls-ca-cert-file", str(directory / "tipline-test-ca.pem"),
        "--tls-auth-clients", "no",
        "--appendonly", "no",
    ]  # fmt: skip
    server.options = options
    with running(server):
        yield server.port, directory / "tipline-test-ca.pem", directory / "other-ca.pem"


async def test_rediss_with_our_authority_works(tls_server: tuple[int, Path, Path]) -> None:
    port, ca, _ = tls_server
    client = await connect(
        RedisTarget(url=f"rediss://localhost:{port}/0", ca_file=str(ca)), check=True
    )
    try:
        queue = TipQueue(client, stream="tls:tips", prefix="tls:tip:")
        await queue.ensure_group()
        entry = await queue.submit("case-over-tls", b"sealed bytes")
        assert (await client.hget("tls:tip:case-over-tls", "entry")) == entry.encode()
        assert await client.config_get("port") == {"port": "0"}  # no plain-text port
    finally:
        await client.flushdb()
        await client.aclose()


async def test_a_server_signed_by_another_authority_is_refused(
    tls_server: tuple[int, Path, Path],
) -> None:
    port, _, other = tls_server
    target = RedisTarget(url=f"rediss://localhost:{port}/0", ca_file=str(other))
    with pytest.raises(StorageUnavailableError) as raised:
        await connect(target, check=True)
    assert "certificate verify failed" in _chain(raised.value)


async def test_the_system_trust_store_does_not_know_a_private_authority(
    tls_server: tuple[int, Path, Path],
) -> None:
    port, _, _ = tls_server
    with pytest.raises(StorageUnavailableError) as raised:
        await connect(f"rediss://localhost:{port}/0", check=True)
    assert "certificate verify failed" in _chain(raised.value)


async def test_a_server_under_another_name_is_refused(tls_server: tuple[int, Path, Path]) -> None:
    port, ca, _ = tls_server
    assert ipaddress.ip_address("127.0.0.1").is_loopback  # the same server, another name
    target = RedisTarget(url=f"rediss://127.0.0.1:{port}/0", ca_file=str(ca))
    with pytest.raises(StorageUnavailableError) as raised:
        await connect(target, check=True)
    assert "IP address mismatch" in _chain(raised.value)


def test_a_url_cannot_turn_certificate_checking_off(tls_server: tuple[int, Path, Path]) -> None:
    port, _, _ = tls_server
    for query in ("ssl_cert_reqs=none", "ssl_check_hostname=False"):
        with pytest.raises(ValueError, match="certificate checking"):
            RedisTarget(url=f"rediss://localhost:{port}/0?{query}")
        with pytest.raises(ConfigError, match="certificate checking"):
            Settings.from_env({"REDIS_URL": f"rediss://localhost:{port}/0?{query}"})


async def test_the_review_commands_open_the_queue_over_tls(
    tls_server: tuple[int, Path, Path], tmp_path: Path
) -> None:
    port, ca, _ = tls_server
    settings = Settings.from_env(
        {
            "REDIS_URL": f"rediss://localhost:{port}/0",
            "REDIS_TLS_CA_FILE": str(ca),
            "TIPLINE_DATA_DIR": str(tmp_path / "data"),
            "TIPLINE_RECIPIENTS": str(X25519Identity.generate().recipient),
        }
    )
    async with open_runtime(settings, intake=False) as runtime:
        await runtime.queue.submit("case-in-runtime", b"sealed")
        assert await runtime.queue.depth() == 1
        await runtime.client.flushdb()


async def test_the_composed_redis_speaks_tls_to_reviewers(
    tls_server: tuple[int, Path, Path], tmp_path: Path
) -> None:
    """docker-compose.yml's own start script for the durable Redis, run here with the
    reviewers' override (docker-compose.reviewers.yml): a reviewer logs in over TLS with
    the certificate checked, as tipline-reviewer, and claims a tip."""
    _, ca, _ = tls_server
    certs = ca.parent
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    passwords = {
        "redis_bot_password": "bot-" + "1f" * 16,
        "redis_desk_password": "desk-" + "2e" * 16,
        "redis_reviewer_password": "reviewer-" + "3d" * 16,
    }
    for name, password in passwords.items():
        (secrets / name).write_text(password + "\n")
    shutil.copy(certs / "server.pem", secrets / "redis_tls_cert")
    shutil.copy(certs / "server.key", secrets / "redis_tls_key")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    override = yaml.safe_load((ROOT / "docker-compose.reviewers.yml").read_text())
    script = compose["services"]["redis"]["command"][-1].replace("$$", "$")
    script = script.replace("/run/secrets/", f"{secrets}/").replace("/run/redis/", f"{tmp_path}/")
    tls_args = override["services"]["redis"]["environment"]["REDIS_TLS_ARGS"]
    port = free_port()
    # Here: no plain-text port, this test's TLS port, a log file (later options win).
    tls_args = tls_args.replace("/run/secrets/", f"{secrets}/") + (
        f" --port 0 --tls-port {port} --bind 127.0.0.1 --logfile {tmp_path}/redis.log"
    )
    data = tmp_path / "data"
    data.mkdir()
    process = await asyncio.create_subprocess_exec(
        "sh",
        "-ec",
        script,
        cwd=data,
        env={"PATH": os.environ["PATH"], "REDIS_TLS_ARGS": tls_args},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    target = RedisTarget(
        url=f"rediss://localhost:{port}/0",
        username="tipline-reviewer",
        password=passwords["redis_reviewer_password"],
        ca_file=str(ca),
    )
    try:
        reviewer = await _connect_when_up(target, process)
        bot = await connect(
            replace(target, username="tipline-bot", password=passwords["redis_bot_password"]),
            check=True,
        )
        try:
            await TipQueue(bot).submit("case-for-reviewer", b"sealed")
            tip = await TipQueue(reviewer).claim_next("alice")
            assert tip is not None
            assert tip.case_id == "case-for-reviewer"
            with pytest.raises(NoPermissionError):
                await reviewer.config_get("port")  # CONFIG is not the reviewers'
        finally:
            await bot.aclose()
            await reviewer.aclose()
        assert (data / "appendonlydir").is_dir()  # the AOF is on
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.communicate(), 10)


async def _connect_when_up(target: RedisTarget, process: asyncio.subprocess.Process) -> Any:
    deadline = time.monotonic() + START_LIMIT
    while True:
        try:
            return await connect(target, check=True)
        except StorageUnavailableError:
            if process.returncode is not None or time.monotonic() > deadline:
                _, err = await process.communicate()
                pytest.fail(f"the composed Redis did not come up: {err.decode()}")
            await asyncio.sleep(0.1)
