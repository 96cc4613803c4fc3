"""A case shared with a partner: a new bundle sealed to the partner's key only.

After triage a reliable tip may go to a partner NGO or to selected law enforcement. The
bundle is one age file, encrypted to the partner's recipient and to nobody else (no
reviewer key opens it), holding an uncompressed tar archive::

    transcript.json         the tip, with the withheld fields replaced by "[withheld]"
    thread.json             the follow-up thread (answers and questions), unless withheld
    attachments/N.<type>    the scrubbed attachments chosen
    manifest.json           what is in it, with SHA-256 sums; what was withheld

What never goes into a bundle: the receipt code (it is never stored anywhere), the answer
saying whether the tipster asked for follow-up, the follow-up linkage, verdicts and
reviewer names. A withheld field's words are absent from the bundle's bytes, not hidden:
they are never written into it.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from privacy import X25519Recipient, encrypt

from .export import detect_type

__all__ = [
    "WITHHELD",
    "Bundle",
    "ShareError",
    "build_bundle",
    "recipient_fingerprint",
    "redactable_fields",
]

WITHHELD: Final = "[withheld]"
THREAD: Final = "thread"
ATTACHMENTS: Final = "attachments"
_SCHEMA = 1


class ShareError(ValueError):
    """The share cannot be made as asked (an unknown field, for one)."""


@dataclass(frozen=True)
class Bundle:
    sealed: bytes  # the age file for the partner
    sha256: str  # of ``sealed``: what the custody log records
    shared: tuple[str, ...]  # the fields kept
    withheld: tuple[str, ...]  # the fields withheld
    files: tuple[tuple[str, str, int], ...]  # (name, sha256, size) of every archive member


def recipient_fingerprint(recipient: X25519Recipient) -> str:
    """A short name for a partner's key in the custody log (never the key itself)."""
    return "sha256:" + hashlib.sha256(str(recipient).encode("ascii")).hexdigest()[:32]


def redactable_fields(transcript: dict[str, Any], *, hidden: Iterable[str] = ()) -> list[str]:
    """What ``--redact`` accepts for this tip: each answer's question id, ``thread``,
    ``attachments`` (all of them) and ``attachment:N`` (one)."""
    answers = transcript.get("answers")
    ids = [q for q in answers if q not in set(hidden)] if isinstance(answers, dict) else []
    files = transcript.get("attachments")
    count = len(files) if isinstance(files, list) else 0
    return [*ids, THREAD, ATTACHMENTS, *(f"attachment:{i}" for i in range(count))]


def build_bundle(
    transcript_json: bytes,
    attachments: Sequence[bytes],
    *,
    to: X25519Recipient,
    redact: Iterable[str] = (),
    thread: dict[str, Any] | None = None,
    never: Iterable[str] = (),
    shared_on: date,
) -> Bundle:
    """The sealed bundle of a decrypted tip for the partner ``to``. ``redact``: fields to
    withhold (see :func:`redactable_fields`); ``never``: answers that never leave (the
    follow-up consent); ``thread``: the follow-up thread, or None when there is none."""
    doc: Any = json.loads(transcript_json)
    if not isinstance(doc, dict) or not isinstance(doc.get("answers"), dict):
        raise ShareError("not a tip transcript")
    hidden = set(never)
    valid = redactable_fields(doc, hidden=hidden)
    wanted = list(dict.fromkeys(redact))
    unknown = [f for f in wanted if f not in valid]
    if unknown:
        raise ShareError(f"cannot withhold {', '.join(unknown)}; this tip has: {', '.join(valid)}")
    withheld = set(wanted)
    if ATTACHMENTS in withheld:
        withheld |= {f"attachment:{i}" for i in range(len(attachments))}
    if thread is None:
        withheld.discard(THREAD)

    shared_doc = _redacted(doc, withheld, hidden)
    members: list[tuple[str, bytes]] = [("transcript.json", _json(shared_doc))]
    if thread is not None and THREAD not in withheld:
        members.append(("thread.json", _json(thread)))
    for index, data in enumerate(attachments):
        if f"attachment:{index}" not in withheld:
            members.append((f"attachments/{index}.{detect_type(data)}", data))
    files = tuple((name, hashlib.sha256(data).hexdigest(), len(data)) for name, data in members)
    kept = tuple(f for f in valid if f not in withheld and f != ATTACHMENTS)
    manifest = {
        "schema_version": _SCHEMA,
        "type": "share_manifest",
        "case_id": doc.get("case_id"),
        "shared_on": shared_on.isoformat(),
        "withheld": sorted(withheld - {ATTACHMENTS}),
        "files": [{"name": n, "sha256": h, "size": s} for n, h, s in files],
    }
    members.append(("manifest.json", _json(manifest)))
    archive = _tar(members)
    sealed = encrypt(archive, [to])
    return Bundle(
        sealed,
        hashlib.sha256(sealed).hexdigest(),
        kept,
        tuple(sorted(withheld - {ATTACHMENTS})),
        files,
    )


def _redacted(doc: dict[str, Any], withheld: set[str], hidden: set[str]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    gone = withheld | hidden
    answers: dict[str, Any] = out["answers"]
    for qid in list(answers):
        if qid in hidden:
            del answers[qid]
        elif qid in withheld:
            answers[qid] = WITHHELD
    entries = out.get("transcript")
    if isinstance(entries, list):
        kept = []
        for entry in entries:
            question = entry.get("question") if isinstance(entry, dict) else None
            if question in hidden:
                continue
            if question in gone:
                entry = {**entry, "answer": WITHHELD}
            kept.append(entry)
        out["transcript"] = kept
    files = out.get("attachments")
    if isinstance(files, list):
        out["attachments"] = [
            WITHHELD if f"attachment:{i}" in withheld else f for i, f in enumerate(files)
        ]
    # An attachments answer lists the files again, captions included: withheld with them.
    for qid, answer in list(answers.items()):
        answers[qid] = _without_files(answer, withheld)
    for entry in out.get("transcript") or []:
        if isinstance(entry, dict) and "answer" in entry:
            entry["answer"] = _without_files(entry["answer"], withheld)
    return out


def _without_files(answer: Any, withheld: set[str]) -> Any:
    if not isinstance(answer, dict) or answer.get("type") != "attachments":
        return answer
    listed = answer.get("files")
    if not isinstance(listed, list):
        return answer
    return {
        **answer,
        "files": [
            WITHHELD if isinstance(f, dict) and f"attachment:{f.get('index')}" in withheld else f
            for f in listed
        ],
    }


def _json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


def _tar(members: Sequence[tuple[str, bytes]]) -> bytes:
    """An uncompressed POSIX tar, the same bytes for the same members (no times, owners)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
