"""What the command line and the browser desk both do with one case: read what goes
with it (its follow-up thread and verdict) and export it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

from conversations import Questionnaire

from .desk import Desk, ThreadItem
from .export import ExportedFile, Progress, export_case
from .render import ViewOptions, render_text, tip_view
from .tip import OpenedTip, TipUnreadable
from .verdicts import Verdict

__all__ = ["CaseExtras", "case_extras", "export_to"]


@dataclass(frozen=True)
class CaseExtras:
    #: (questions asked, thread items); None when the case has no thread.
    thread: tuple[int, list[ThreadItem]] | None
    verdict: Verdict | None
    #: A verdict exists that these identities cannot open.
    verdict_unreadable: bool


async def case_extras(desk: Desk, case_id: str) -> CaseExtras:
    """The case's follow-up thread (None if there is none) and verdict."""
    asked, items = await desk.thread(case_id)
    thread = (asked, items) if asked or items else None
    try:
        return CaseExtras(thread, await desk.verdict_of(case_id), False)
    except TipUnreadable:
        return CaseExtras(thread, None, True)


def _followup_json(case_id: str, thread: tuple[int, list[ThreadItem]] | None) -> bytes | None:
    if thread is None:
        return None
    asked, items = thread
    return json.dumps(
        {
            "case_id": case_id,
            "questions_asked": asked,
            "thread": [{k: v for k, v in vars(i).items() if v is not None} for i in items],
        },
        ensure_ascii=False,
        indent=2,
    ).encode("utf-8")


async def export_to(
    desk: Desk,
    opened: OpenedTip,
    out: Path,
    questionnaire: Questionnaire,
    options: ViewOptions,
    progress: Progress | None = None,
) -> list[ExportedFile]:
    """Write the case into the new directory ``out`` (see :func:`export_case`; the
    readable transcript has the map link). Decrypting and writing run in a thread, so
    a large case does not stall the caller's event loop; ``progress`` hears how far
    the writing is. FileExistsError, OSError and TipUnreadable (an attachment does not
    open) as raised. The caller enters the export in the custody log."""
    files = await asyncio.to_thread(desk.attachments, opened)
    extras = await case_extras(desk, opened.case_id)
    view = tip_view(
        opened,
        questionnaire,
        ViewOptions(options.lang, True, options.species),
        thread=extras.thread,
        verdict=extras.verdict,
        verdict_unreadable=extras.verdict_unreadable,
    )
    return await asyncio.to_thread(
        export_case,
        out,
        transcript_json=opened.plaintext,
        transcript_txt=render_text(view, width=100),
        attachments=files,
        followup_json=_followup_json(opened.case_id, extras.thread),
        progress=progress,
    )
