"""A Babel extraction method for questionnaire files.

Registered as ``tipline_questionnaire`` (see ``pyproject.toml``), so that
``pybabel extract`` takes the prompts, labels and help texts of a questionnaire YAML
file into the catalogue template, exactly as the engine will look them up.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

import yaml

__all__ = ["extract_questionnaire"]

TRANSLATED_FIELDS = ("prompt", "label", "help")


def _walk(node: yaml.Node, path: str) -> Iterator[tuple[int, str, str]]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else "?"
            if name in TRANSLATED_FIELDS and isinstance(value, yaml.ScalarNode):
                text = str(value.value).strip()
                if text:
                    yield value.start_mark.line + 1, text, f"{path}.{name}".lstrip(".")
            else:
                yield from _walk(value, f"{path}.{name}")
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            ident = ""
            if isinstance(item, yaml.MappingNode):
                for key, value in item.value:
                    if getattr(key, "value", None) == "id" and isinstance(value, yaml.ScalarNode):
                        ident = str(value.value)
            yield from _walk(item, f"{path}[{ident or index}]")


def extract_questionnaire(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Yield ``(line, None, msgid, [where])`` for every translatable questionnaire text."""
    root = yaml.compose(fileobj.read().decode("utf-8"))
    if root is None:
        return
    for line, text, where in _walk(root, ""):
        yield line, None, text, [f"questionnaire: {where}"]
