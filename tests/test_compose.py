"""docker-compose.yml, checked two ways: Debian's ``docker-compose`` (which needs no
Docker daemon for ``config``) must accept it with a sample ``.env`` and the secret files,
and the file itself must keep the deployment rules of docs/deploy.md: Redis never
published, a healthcheck for every service, read-only root file systems, own users,
named volumes, secrets only from files, the durable and the ephemeral Redis apart."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from privacy import X25519Identity

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
SECRETS = (
    "telegram_token",
    "telegram_webhook_secret",
    "tipline_secret",
    "redis_bot_password",
    "redis_desk_password",
    "redis_ephemeral_password",
    "redis_reviewer_password",
    "desk.crt",
    "desk.key",
)
OUR_IMAGE = "tipline:local"
REDIS_PORTS = {"6379", "6380", "26379"}


def _docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail(
            "the compose check needs Debian's docker-compose package (scripts/bootstrap "
            "installs it)",
            pytrace=False,
        )
    return found


def _project(tmp_path: Path, env: str) -> Path:
    """A copy of the deployment as an admin would lay it out: the compose file, the
    build context, a .env and the secret files."""
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    shutil.copy(ROOT / "Dockerfile", tmp_path / "Dockerfile")
    (tmp_path / ".env").write_text(env)
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    for name in SECRETS:
        (secrets / name).write_text("0123456789abcdef" * 4 + "\n")
    return tmp_path


def _sample_env() -> str:
    example = (ROOT / ".env.example").read_text()
    recipient = str(X25519Identity.generate().recipient)
    return re.sub(r"(?m)^TIPLINE_RECIPIENTS=$", f"TIPLINE_RECIPIENTS={recipient}", example)


def _argv(command: str | list[str]) -> list[str]:
    """A service's command as the argument list Compose runs (a string is split as by a
    shell, without one)."""
    return shlex.split(command) if isinstance(command, str) else command


def _config(project: Path, *profiles: str) -> subprocess.CompletedProcess[str]:
    args = [_docker_compose(), "--project-directory", str(project)]
    for profile in profiles:
        args += ["--profile", profile]
    return subprocess.run(
        [*args, "-f", str(project / "docker-compose.yml"), "config"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("profiles", [(), ("webhook",), ("webhook", "desk", "console")])
def test_docker_compose_accepts_the_file_with_a_sample_env(
    tmp_path: Path, profiles: tuple[str, ...]
) -> None:
    project = _project(tmp_path, _sample_env())
    run = _config(project, *profiles)
    assert run.returncode == 0, run.stderr
    resolved: dict[str, Any] = yaml.safe_load(run.stdout)
    services = resolved["services"]
    assert {"redis", "redis-ephemeral", "bot"} <= set(services)
    bot = services["bot"]
    assert _argv(bot["command"])[:4] == ["run", "telegram", "--framework", "ptb"]
    assert bot["environment"]["TIPLINE_RECIPIENTS"].startswith("age1")
    for secret in resolved["secrets"].values():
        assert Path(secret["file"]).is_file()


def test_webhook_arguments_from_env_reach_the_bot(tmp_path: Path) -> None:
    env = _sample_env() + (
        "COMPOSE_PROFILES=webhook\nTIPLINE_WEBHOOK_HOST=tips.example.org\n"
        "TIPLINE_WEBHOOK_ARGS=--webhook https://tips.example.org/telegram "
        "--listen 0.0.0.0:8080\n"
    )
    run = _config(_project(tmp_path, env))
    assert run.returncode == 0, run.stderr
    services = yaml.safe_load(run.stdout)["services"]
    assert _argv(services["bot"]["command"])[-4:] == [
        "--webhook",
        "https://tips.example.org/telegram",
        "--listen",
        "0.0.0.0:8080",
    ]
    assert "https://tips.example.org" in _argv(services["proxy"]["command"])


def test_docker_compose_refuses_a_deployment_without_reviewers(tmp_path: Path) -> None:
    run = _config(_project(tmp_path, "TIPLINE_FRAMEWORK=ptb\n"))
    assert run.returncode != 0
    assert "set the reviewers' recipients" in run.stderr


# -- the rules, read from the file itself ----------------------------------------------


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _redis_services() -> list[str]:
    return [
        name for name, s in _services().items() if str(s.get("image", "")).startswith("redis:")
    ]


def _script(service: dict[str, Any]) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def test_redis_publishes_no_port() -> None:
    assert sorted(_redis_services()) == ["redis", "redis-ephemeral"]
    for name in _redis_services():
        assert "ports" not in _services()[name]
        assert _services()[name]["networks"] == ["internal"]
    assert _compose()["networks"]["internal"]["internal"] is True
    for name, service in _services().items():
        for port in service.get("ports", []):
            published = str(port).split(":")[-1].split("/")[0]
            assert published not in REDIS_PORTS, name


def test_every_service_has_a_healthcheck() -> None:
    for name, service in _services().items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert not check.get("disable"), name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_every_service_runs_read_only_without_capabilities() -> None:
    for name, service in _services().items():
        assert service.get("read_only") is True, name
        assert service.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert set(service.get("cap_add", [])) <= {"NET_BIND_SERVICE"}, name


def test_our_programs_and_redis_run_as_users_of_their_own() -> None:
    for name, service in _services().items():
        if service.get("image") == OUR_IMAGE or name in _redis_services():
            user = str(service.get("user", ""))
            assert user, f"{name} runs as the image's default user"
            assert user.split(":")[0] not in ("0", "root"), name


def test_volumes_are_named_and_the_bot_writes_only_to_its_data_volume_and_tmpfs() -> None:
    declared = set(_compose()["volumes"])
    for name, service in _services().items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            assert not source.startswith((".", "/", "~")), f"{name} bind-mounts {source}"
            assert source in declared, f"{name} uses an undeclared volume {source}"
    bot = _services()["bot"]
    assert bot["volumes"] == ["tipline-data:/data"]
    assert any(t.startswith("/run/tipline-scrub:") for t in bot["tmpfs"])
    assert bot["environment"]["TIPLINE_SCRUB_TMPDIR"] == "/run/tipline-scrub"
    assert _services()["redis"]["volumes"] == ["redis-data:/data"]


def test_the_durable_redis_fsyncs_every_write_and_the_ephemeral_one_keeps_nothing() -> None:
    durable = shlex.split(_script(_services()["redis"]).split("exec redis-server", 1)[1])
    assert durable[durable.index("--appendonly") + 1] == "yes"
    assert durable[durable.index("--appendfsync") + 1] == "always"
    ephemeral_service = _services()["redis-ephemeral"]
    ephemeral = shlex.split(_script(ephemeral_service).split("exec redis-server", 1)[1])
    assert ephemeral[ephemeral.index("--appendonly") + 1] == "no"
    assert ephemeral[ephemeral.index("--save") + 1] == ""
    assert "volumes" not in ephemeral_service
    # LFU: OBJECT IDLETIME is refused, so Redis tells no last-access times (threat model).
    assert durable[durable.index("--maxmemory-policy") + 1] == "volatile-lfu"
    assert ephemeral[ephemeral.index("--maxmemory-policy") + 1] == "volatile-lfu"
    assert "/data" in ephemeral_service["tmpfs"]  # the image's VOLUME, kept in memory


def test_redis_logs_in_nobody_by_default_and_keeps_no_plain_password() -> None:
    for name in _redis_services():
        script = _script(_services()[name])
        assert "user default off" in script, name
        for line in script.splitlines():
            words = line.split()
            if words[:1] == ["user"] and "nopass" in words:  # a healthcheck: PING only
                assert words[-2:] == ["-@all", "+ping"], line
            elif words[:1] == ["user"] and words[2] == "on":
                assert re.search(r" #\$\$\(hash redis_\w+_password\) ", line), line
                assert " >" not in line, line


def test_secrets_come_from_files_never_from_the_environment() -> None:
    compose = _compose()
    for name, service in _services().items():
        env = service.get("environment", {})
        mounted = {f"/run/secrets/{s}" for s in service.get("secrets", [])}
        for key, value in env.items():
            if re.search(r"TOKEN|PASSWORD|SECRET", key):
                assert key.endswith("_FILE"), f"{name}: {key} is given in the environment"
                assert value in mounted, f"{name}: {key} names {value}, not one of its secrets"
        for secret in service.get("secrets", []):
            assert compose["secrets"][secret]["file"].startswith("./secrets/")


def test_the_optional_parts_are_profiles() -> None:
    services = _services()
    assert services["proxy"]["profiles"] == ["webhook"]
    assert services["desk"]["profiles"] == ["desk"]
    assert services["console"]["profiles"] == ["console"]
    assert "profiles" not in services["bot"]
    desk = services["desk"]["command"]
    assert desk[:5] == ["desk", "--host", "0.0.0.0", "--port", "8480"]  # noqa: S104
    assert "--tls-cert" in desk
    assert "--tls-key" in desk
    # Only the proxy and the desk face the outside, each on a network of its own.
    for name, service in services.items():
        if "ports" in service:
            assert name in ("proxy", "desk")
            assert "internal" not in service["networks"] or name == "desk"


def test_the_bot_is_healthy_when_ready_and_its_metrics_stay_inside() -> None:
    bot = _services()["bot"]
    assert bot["environment"]["TIPLINE_METRICS_PORT"] == "9464"
    assert "TIPLINE_METRICS_HOST" not in bot["environment"]  # loopback, the default
    assert "http://127.0.0.1:9464/readyz" in " ".join(bot["healthcheck"]["test"])
    assert not any("9464" in str(port) for port in bot.get("ports", []))


def test_reviewers_reach_the_durable_redis_over_tls_only(tmp_path: Path) -> None:
    project = _project(tmp_path, _sample_env())
    shutil.copy(ROOT / "docker-compose.reviewers.yml", project / "docker-compose.reviewers.yml")
    for name in ("redis.crt", "redis.key"):
        (project / "secrets" / name).write_text("pem\n")
    run = subprocess.run(
        [
            _docker_compose(),
            "--project-directory",
            str(project),
            "-f",
            str(project / "docker-compose.yml"),
            "-f",
            str(project / "docker-compose.reviewers.yml"),
            "config",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    services = yaml.safe_load(run.stdout)["services"]
    redis = services["redis"]
    published = [str(p["published"] if isinstance(p, dict) else p) for p in redis["ports"]]
    assert [p.split(":")[0] for p in published] == ["6380"]
    args = shlex.split(redis["environment"]["REDIS_TLS_ARGS"])
    assert args[args.index("--tls-port") + 1] == "6380"
    assert args[args.index("--tls-protocols") + 1] == "TLSv1.3"
    secrets = {s["source"] if isinstance(s, dict) else s for s in redis["secrets"]}
    assert {"redis_tls_cert", "redis_tls_key", "redis_reviewer_password"} <= secrets
    assert "reviewers" in redis["networks"]
    # The plain-text port stays unpublished; only the proxy and the desk publish others.
    for name, service in services.items():
        for port in service.get("ports", []):
            target = str(port.get("target") if isinstance(port, dict) else port).split(":")[-1]
            assert target != "6379", name


def test_the_guide_s_second_tipline_service_is_accepted(tmp_path: Path) -> None:
    """The override file of docs/deploy.md ("Several tiplines on one deployment") on top
    of docker-compose.yml: a bot of its own, with its own secrets only."""
    guide = (ROOT / "docs" / "deploy.md").read_text()
    section = guide[guide.index("## Several tiplines on one deployment") :]
    section = section[section.index("**With Docker Compose.**") :]
    override = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert override is not None
    project = _project(tmp_path, _sample_env())
    (project / "docker-compose.tiplines.yml").write_text(override.group(1))
    (project / "tiplines.yaml").write_text("tiplines: {}\n")
    for name in (
        "forest_watch_token",
        "redis_forest_watch_bot_password",
        "redis_forest_watch_ephemeral_password",
    ):
        (project / "secrets" / name).write_text("x\n")
    run = subprocess.run(
        [
            _docker_compose(),
            "--project-directory",
            str(project),
            "-f",
            str(project / "docker-compose.yml"),
            "-f",
            str(project / "docker-compose.tiplines.yml"),
            "config",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    services = yaml.safe_load(run.stdout)["services"]
    bot = services["bot-forest-watch"]
    assert _argv(bot["command"]) == ["run", "telegram", "--tipline", "forest-watch"]
    assert {s["source"] for s in bot["secrets"]} == {
        "tipline_secret",
        "forest_watch_token",
        "redis_forest_watch_bot_password",
        "redis_forest_watch_ephemeral_password",
    }
    assert set(bot["environment"]).isdisjoint(
        {"TIPLINE_RECIPIENTS", "TELEGRAM_BOT_TOKEN_FILE", "REDIS_USERNAME", "REDIS_PASSWORD_FILE"}
    )
    assert bot["read_only"] and bot["cap_drop"] == ["ALL"] and "healthcheck" in bot
    assert "internal" in bot["networks"] and not bot.get("ports")
    assert _argv(services["bot"]["command"])[:2] == ["run", "telegram"]
