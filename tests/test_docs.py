"""Documents that are generated or promise commands must stay true."""

from __future__ import annotations

import re
from pathlib import Path

from conversations.engine import describe_table

ROOT = Path(__file__).resolve().parents[1]


def test_the_engine_doc_shows_the_current_table() -> None:
    assert describe_table() in (ROOT / "docs" / "engine.md").read_text()


def test_the_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert block is not None and readme.index("```sh") < readme.index("\n\n", 10) + 3
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["./scripts/intake", "./scripts/check"]
    assert "scripts/check" in (ROOT / ".ci" / "run").read_text()
    for script in commands:
        assert (ROOT / script).stat().st_mode & 0o111
