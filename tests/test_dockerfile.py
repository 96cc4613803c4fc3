"""The container image: ffmpeg is installed (without it every video and voice note is
refused), from Debian without recommended packages, and Tipline runs as a user of its
own, never as root."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each line of the Dockerfile, continuations joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def _commands(run: str) -> list[list[str]]:
    """The simple commands of a RUN line (split at && and ;)."""
    return [shlex.split(part) for part in re.split(r"&&|;", run) if part.strip()]


def test_ffmpeg_is_installed_from_debian_without_recommends() -> None:
    installs = [
        (command, run)
        for word, run in _instructions()
        if word == "RUN"
        for command in _commands(run)
        if command[:2] == ["apt-get", "install"]
    ]
    assert installs, "the Dockerfile installs nothing with apt-get"
    for command, run in installs:
        assert "--no-install-recommends" in command
        assert "-y" in command or "--yes" in command
        assert "apt-get update" in run  # in the same layer, so the lists are not stale
        assert "rm -rf /var/lib/apt/lists/*" in run
    packages = {arg for command, _ in installs for arg in command[2:] if not arg.startswith("-")}
    assert "ffmpeg" in packages


def test_the_image_runs_as_a_user_of_its_own() -> None:
    instructions = _instructions()
    users = [(i, args) for i, (word, args) in enumerate(instructions) if word == "USER"]
    assert users, "the image runs as root"
    last, user = users[-1]
    name = user.split(":")[0]
    assert name not in ("root", "0")
    created = [args for word, args in instructions[:last] if word == "RUN" and "useradd" in args]
    assert any(shlex.split(args)[-1] == name for args in created)
    entry = [i for i, (word, _) in enumerate(instructions) if word in ("ENTRYPOINT", "CMD")]
    assert entry and min(entry) > last
