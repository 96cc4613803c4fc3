"""The error every part of the command line shares for a wrong configuration."""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(Exception):
    """The configuration is incomplete or wrong; the message tells the admin what to fix."""
