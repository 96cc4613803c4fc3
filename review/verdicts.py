"""A reviewer's assessment of a tip, as the sealed document stored for the case.

The document (JSON, UTF-8) is sealed to the reviewers like the tip itself, so the bot
host and whoever reads Redis learn only that a case has a verdict::

    {
      "schema_version": 1,
      "type": "verdict",
      "case_id": "7mjmvml2yydjclcjogmqgl3u",
      "verdict": "reliable",            # one of VERDICTS
      "note": "Matches the ivory seizure of ...",    # or null
      "reviewer": "alice",
      "decided_on": "2026-11-24",       # the day only, never the time
      "risk": "high",                   # the source's risk if the case is acted on: RISKS
      "risk_reason": "Only three people saw the shipment",   # or null
      "history": [ {earlier verdicts, the same fields without "history"}, ... ]
    }
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Final

__all__ = ["RISKS", "VERDICTS", "Verdict", "verdict_from_json", "verdict_to_json"]

#: The assessments a reviewer can record (WildLeaks' "reliable and potentially useful").
VERDICTS: Final = ("reliable", "unreliable", "duplicate", "needs-follow-up")
#: How much acting on the case (or sharing it) could endanger the source. A verdict
#: recorded before risk levels existed reads as "unknown".
RISKS: Final = ("low", "medium", "high", "unknown")
_SCHEMA = 1
_MAX_NOTE = 10_000


@dataclass(frozen=True)
class Verdict:
    case_id: str
    verdict: str
    note: str | None
    reviewer: str
    decided_on: date
    history: tuple[Verdict, ...] = ()
    risk: str = "unknown"
    risk_reason: str | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"a verdict is one of {', '.join(VERDICTS)}")
        if self.risk not in RISKS:
            raise ValueError(f"a risk level is one of {', '.join(RISKS)}")
        for text in (self.note, self.risk_reason):
            if text is not None and len(text) > _MAX_NOTE:
                raise ValueError(f"a note has at most {_MAX_NOTE} characters")

    def same_assessment(self, other: Verdict) -> bool:
        """The same verdict, note and risk: recording it again changes nothing."""
        return self._assessment() == other._assessment()

    def _assessment(self) -> tuple[str, str | None, str, str | None]:
        return (self.verdict, self.note or None, self.risk, self.risk_reason or None)

    def replacing(self, previous: Verdict | None) -> Verdict:
        """This verdict, keeping ``previous`` (and its history) as history."""
        if previous is None:
            return self
        earlier = (*previous.history, _flat(previous))
        return replace(self, history=earlier)


def _flat(verdict: Verdict) -> Verdict:
    return replace(verdict, history=())


def _fields(verdict: Verdict) -> dict[str, Any]:
    return {
        "case_id": verdict.case_id,
        "verdict": verdict.verdict,
        "note": verdict.note,
        "reviewer": verdict.reviewer,
        "decided_on": verdict.decided_on.isoformat(),
        "risk": verdict.risk,
        "risk_reason": verdict.risk_reason,
    }


def verdict_to_json(verdict: Verdict) -> bytes:
    document = {
        "schema_version": _SCHEMA,
        "type": "verdict",
        **_fields(verdict),
        "history": [_fields(v) for v in verdict.history],
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _parse(doc: Any, nested: bool) -> Verdict:
    if not isinstance(doc, dict):
        raise ValueError("a verdict is a JSON object")
    if not nested and (doc.get("schema_version") != _SCHEMA or doc.get("type") != "verdict"):
        raise ValueError("not a verdict document of a known version")
    note = doc.get("note")
    fields = (doc.get("case_id"), doc.get("verdict"), doc.get("reviewer"), doc.get("decided_on"))
    if not all(isinstance(f, str) for f in fields) or not isinstance(note, str | None):
        raise ValueError("a verdict field has the wrong type")
    history = doc.get("history", []) if not nested else []
    if not isinstance(history, list):
        raise ValueError("history is not a list")
    risk, risk_reason = doc.get("risk", "unknown"), doc.get("risk_reason")
    if not isinstance(risk, str) or not isinstance(risk_reason, str | None):
        raise ValueError("a risk field has the wrong type")
    return Verdict(
        case_id=str(doc["case_id"]),
        verdict=str(doc["verdict"]),
        note=note,
        reviewer=str(doc["reviewer"]),
        decided_on=date.fromisoformat(str(doc["decided_on"])),
        history=tuple(_parse(h, True) for h in history),
        risk=risk,
        risk_reason=risk_reason,
    )


def verdict_from_json(data: bytes) -> Verdict:
    """Inverse of :func:`verdict_to_json`; ValueError on anything else."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("a verdict is JSON text") from exc
    return _parse(doc, False)
