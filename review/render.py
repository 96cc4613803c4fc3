"""A decrypted tip as text a reviewer reads (the minimal reviewer view)."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

from bots.render import Renderer
from conversations import Questionnaire
from conversations.answers import answer_from_json

__all__ = ["render_tip"]


def _value(renderer: Renderer, question_id: str, data: Any) -> str:
    try:
        value = answer_from_json(data)
    except ValueError:
        return repr(data)
    text = renderer.answer(question_id, value)
    if isinstance(data, dict) and data.get("type") == "country":
        text += f" ({data.get('code')}; typed: {data.get('typed')!r})"
    return text


def render_tip(
    transcript: dict[str, Any], questionnaire: Questionnaire, attachments: int, lang: str = "en"
) -> str:
    """Every answer, then the question-and-answer transcript in the order given."""
    renderer = Renderer(lang, questionnaire)
    received = str(transcript.get("received_on"))
    with contextlib.suppress(ValueError):
        received = renderer.date(date.fromisoformat(received))
    lines = [
        f"Case {transcript.get('case_id')}",
        f"  received on {received} via {transcript.get('channel')}, "
        f"language {transcript.get('language')}, "
        f"schema version {transcript.get('schema_version')}",
        "",
    ]
    answers = transcript.get("answers", {})
    for question in questionnaire.questions:
        if question.id in answers and question.type not in ("notice", "review"):
            label = renderer.msgid(question.label)
            lines.append(f"{label}: {_value(renderer, question.id, answers[question.id])}")
    for question_id, data in answers.items():
        if questionnaire.get(question_id) is None:
            lines.append(f"{question_id}: {_value(renderer, question_id, data)}")
    lines.append(f"Sealed attachments: {attachments}")
    lines += ["", "Transcript:"]
    for entry in transcript.get("transcript", []):
        question_id = str(entry.get("question"))
        prompt = " ".join(str(entry.get("prompt", "")).split())
        lines.append(f"  Q [{question_id}] {prompt}")
        lines.append(f"  A {_value(renderer, question_id, entry.get('answer'))}")
    return "\n".join(lines)
