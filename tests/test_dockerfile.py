"""The container image: a pinned slim base, two stages (the final one without build
tools, pip runs or compilers), catalogues checked and compiled, ffmpeg installed (without
it every video and voice note is refused) from Debian without recommended packages, and
Tipline running as a user of its own, never as root."""

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


def _stages() -> list[list[tuple[str, str]]]:
    """The instructions of each build stage (the ARGs before the first FROM are left out)."""
    stages: list[list[tuple[str, str]]] = []
    for word, args in _instructions():
        if word == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((word, args))
    return stages


def _base_images() -> list[str]:
    """The image of each FROM, with the ARG defaults declared before it filled in."""
    defaults = {}
    images = []
    for word, args in _instructions():
        if word == "ARG" and "=" in args:
            name, _, value = args.partition("=")
            defaults[name] = value
        elif word == "FROM":
            image = args.split()[0]
            images.append(re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], image))
    return images


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
    created = [
        command
        for word, args in instructions[:last]
        if word == "RUN"
        for command in _commands(args)
        if command[0] == "useradd"
    ]
    assert any(command[-1] == name for command in created)
    entry = [i for i, (word, _) in enumerate(instructions) if word in ("ENTRYPOINT", "CMD")]
    assert entry and min(entry) > last


def test_the_base_is_a_pinned_slim_image() -> None:
    images = _base_images()
    assert len(images) >= 2, "build and final stages"
    for image in images:
        name, _, tag = image.partition(":")
        assert name == "python", image
        assert re.fullmatch(r"3\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", tag), image
    assert len(set(images)) == 1  # the virtualenv's interpreter is the same in both


def test_the_final_stage_has_no_build_tools() -> None:
    *builds, final = _stages()
    assert builds, "a single-stage image"
    runs = [command for word, args in final if word == "RUN" for command in _commands(args)]
    for command in runs:
        assert command[0] not in ("pip", "pip3", "pybabel", "make", "gcc", "cc"), command
        assert not (command[0].endswith("python") and "pip" in command), command
        assert not (command[0].endswith("/pip")), command
    installed = {a for c in runs if c[:2] == ["apt-get", "install"] for a in c[2:]}
    installed -= {a for a in installed if a.startswith("-")}
    assert installed == {"ffmpeg"}
    copies = [args for word, args in final if word == "COPY"]
    assert copies, "nothing is copied from the build stage"
    assert all(args.startswith("--from=") for args in copies), copies


def test_the_catalogues_are_checked_and_compiled_next_to_the_packages() -> None:
    build = _stages()[0]
    runs = [command for word, args in build if word == "RUN" for command in _commands(args)]
    assert any(c[-2:] == ["catalogues", "check"] for c in runs)
    compile_ = [c for c in runs if c[1:2] == ["compile"] and c[0].endswith("pybabel")]
    # The tipsters' messages and the desks' own words: two domains.
    domains = {c[c.index("-D") + 1] for c in compile_ if "-D" in c and "-d" in c}
    assert domains == {"tipline", "desk"}, compile_
    assert all(c[c.index("-d") + 1] == "locales" for c in compile_)
    # bots/render.py reads the catalogues from ../locales next to the bots package.
    copied = [c for c in runs if c[:2] == ["cp", "-r"] and c[2] == "locales"]
    assert copied
    assert copied[0][3].endswith("/site-packages/locales")


def test_the_data_directory_belongs_to_the_user() -> None:
    final = _stages()[-1]
    runs = [command for word, args in final if word == "RUN" for command in _commands(args)]
    assert any(c[:2] == ["install", "-d"] and "tipline" in c and c[-1] == "/data" for c in runs)
    env = " ".join(args for word, args in final if word == "ENV")
    assert "TIPLINE_DATA_DIR=/data" in env
