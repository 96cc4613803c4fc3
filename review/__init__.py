"""Reviewer tools: claim, decrypt locally, render, export, verdict, follow-up.

Everything here runs on a reviewer's own machine, with the reviewer's identities; see
docs/review.md. The ``tipline review`` command (tipline/commands/review.py) is a thin
layer over :class:`Desk` and the views in :mod:`review.render`.
"""

from review.desk import (
    Claimed,
    Desk,
    NextResult,
    Stats,
    ThreadItem,
    UnknownCase,
    VerdictOutcome,
)
from review.export import ExportedFile, detect_type, export_case
from review.tip import OpenedTip, TipUnreadable, open_tip
from review.verdicts import VERDICTS, Verdict

__all__ = [
    "VERDICTS",
    "Claimed",
    "Desk",
    "ExportedFile",
    "NextResult",
    "OpenedTip",
    "Stats",
    "ThreadItem",
    "TipUnreadable",
    "UnknownCase",
    "Verdict",
    "VerdictOutcome",
    "detect_type",
    "export_case",
    "open_tip",
]
