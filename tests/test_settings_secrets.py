"""Secrets from files (``*_FILE``, as Docker and Compose secrets are mounted) and the
Redis settings: logins, TLS, Sentinel. Nothing secret may appear in a message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage import RedisTarget
from tipline.settings import ConfigError, Settings, secret_from_env

ROOT = Path(__file__).resolve().parents[1]
RECIPIENT = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"


def _env(**extra: str) -> dict[str, str]:
    return {"TIPLINE_RECIPIENTS": RECIPIENT, **extra}


def test_a_password_is_read_from_its_file_without_the_final_newline(tmp_path: Path) -> None:
    (tmp_path / "bot").write_text("s3cret-bot-password\n")
    (tmp_path / "eph").write_text("  other-password  \n")
    settings = Settings.from_env(
        _env(
            REDIS_URL="redis://redis:6379/0",
            REDIS_USERNAME="tipline-bot",
            REDIS_PASSWORD_FILE=str(tmp_path / "bot"),
            REDIS_EPHEMERAL_URL="redis://redis-ephemeral:6379/0",
            REDIS_EPHEMERAL_PASSWORD_FILE=str(tmp_path / "eph"),
        )
    )
    assert settings.redis == RedisTarget(
        url="redis://redis:6379/0", username="tipline-bot", password="s3cret-bot-password"
    )
    assert settings.ephemeral_redis is not None
    assert settings.ephemeral_redis.password == "other-password"
    assert settings.ephemeral_redis.username is None
    assert "s3cret" not in repr(settings.redis)


def test_the_variable_itself_wins_over_its_file(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("from-file")
    env = {"REDIS_PASSWORD": "direct", "REDIS_PASSWORD_FILE": str(tmp_path / "pw")}
    assert secret_from_env(env, "REDIS_PASSWORD") == "direct"
    assert secret_from_env({}, "REDIS_PASSWORD") is None


def test_a_missing_or_empty_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read REDIS_PASSWORD_FILE"):
        secret_from_env({"REDIS_PASSWORD_FILE": str(tmp_path / "absent")}, "REDIS_PASSWORD")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="empty file"):
        secret_from_env({"REDIS_PASSWORD_FILE": str(tmp_path / "empty")}, "REDIS_PASSWORD")


def test_a_secret_file_that_is_not_text_is_refused_without_showing_it(tmp_path: Path) -> None:
    (tmp_path / "bin").write_bytes(b"\xff\xfesecret-bytes")
    with pytest.raises(ConfigError) as raised:
        secret_from_env({"REDIS_PASSWORD_FILE": str(tmp_path / "bin")}, "REDIS_PASSWORD")
    assert "secret-bytes" not in str(raised.value)


def test_the_server_secret_comes_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("ab" * 32 + "\n")
    settings = Settings.from_env(_env(TIPLINE_SECRET_FILE=str(tmp_path / "secret")))
    assert settings.secret() == Settings.from_env(_env(TIPLINE_SECRET="ab" * 32)).secret()


def test_no_redis_settings_means_embedded_servers() -> None:
    settings = Settings.from_env(_env())
    assert settings.redis is None
    assert settings.ephemeral_redis is None


def test_sentinels_and_their_master(tmp_path: Path) -> None:
    (tmp_path / "sentinel").write_text("sentinel-pw")
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    settings = Settings.from_env(
        _env(
            REDIS_SENTINELS="10.0.0.1:26379, s2.example.org:26380,[::1]:26381",
            REDIS_SENTINEL_MASTER="tipline",
            REDIS_EPHEMERAL_SENTINEL_MASTER="tipline-ephemeral",
            REDIS_SENTINEL_PASSWORD_FILE=str(tmp_path / "sentinel"),
            REDIS_SENTINEL_TLS="1",
            REDIS_TLS_CA_FILE=str(tmp_path / "ca.pem"),
            REDIS_USERNAME="tipline-bot",
            REDIS_PASSWORD="bot-pw",
        )
    )
    durable, ephemeral = settings.redis, settings.ephemeral_redis
    assert durable is not None
    assert ephemeral is not None
    assert durable.sentinels == (("10.0.0.1", 26379), ("s2.example.org", 26380), ("::1", 26381))
    assert (durable.master, ephemeral.master) == ("tipline", "tipline-ephemeral")
    assert durable.sentinel_password == "sentinel-pw"
    assert durable.uses_tls
    assert durable.ca_file == str(tmp_path / "ca.pem")
    assert (durable.username, durable.password) == ("tipline-bot", "bot-pw")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"REDIS_SENTINELS": "host:26379"}, "REDIS_SENTINEL_MASTER"),
        ({"REDIS_SENTINEL_MASTER": "tipline"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINELS": "host", "REDIS_SENTINEL_MASTER": "t"}, "host:port"),
        ({"REDIS_SENTINELS": "host:99999", "REDIS_SENTINEL_MASTER": "t"}, "host:port"),
        (
            {"REDIS_SENTINELS": "h:1", "REDIS_SENTINEL_MASTER": "t", "REDIS_URL": "redis://x"},
            "not both",
        ),
        ({"REDIS_URL": "http://redis:6379"}, "redis://"),
        ({"REDIS_URL": "rediss://redis:6380/0?ssl_cert_reqs=none"}, "certificate checking"),
        ({"REDIS_URL": "rediss://r:6380/0?ssl_check_hostname=false"}, "certificate checking"),
        ({"REDIS_TLS_CA_FILE": "/nonexistent/ca.pem"}, "REDIS_TLS_CA_FILE"),
    ],
)
def test_wrong_redis_settings_are_explained(extra: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(_env(**extra))


def _run_telegram(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "TIPLINE_RECIPIENTS": RECIPIENT,
        "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 30,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "tipline", "run", "telegram", *args],
        env=full,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_webhook_secret_is_read_from_its_file(tmp_path: Path) -> None:
    # A secret too short to be random is refused: so the file was read.
    (tmp_path / "webhook").write_text("short-secret_123\n")
    run = _run_telegram(
        tmp_path,
        "--webhook",
        "https://example.org/hook",
        TELEGRAM_WEBHOOK_SECRET_FILE=str(tmp_path / "webhook"),
    )
    assert run.returncode != 0
    assert "random secret of 32" in run.stderr, run.stderr
    assert "short-secret_123" not in run.stderr
    missing = _run_telegram(
        tmp_path,
        "--webhook",
        "https://example.org/hook",
        TELEGRAM_WEBHOOK_SECRET_FILE=str(tmp_path / "absent"),
    )
    assert "cannot read TELEGRAM_WEBHOOK_SECRET_FILE" in missing.stderr, missing.stderr


def test_min_replicas() -> None:
    assert Settings.from_env(_env()).redis_replicas == 0
    assert Settings.from_env(_env(REDIS_MIN_REPLICAS="1")).redis_replicas == 1
    with pytest.raises(ConfigError, match="REDIS_MIN_REPLICAS"):
        Settings.from_env(_env(REDIS_MIN_REPLICAS="one"))
