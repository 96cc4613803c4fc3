"""Subcommands that live in their own module: each module here defines ``command``, a
click command or group that ``tipline`` adds under its own name."""

from __future__ import annotations

import importlib
import pkgutil

import click

__all__ = ["discovered"]


def discovered() -> list[click.Command]:
    found = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        command = getattr(loaded, "command", None)
        if not isinstance(command, click.Command):
            raise TypeError(f"{loaded.__name__} defines no click `command`")
        found.append(command)
    return found
