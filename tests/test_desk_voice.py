"""A recording the caller sent some other way, added at the desk: the operator reads the
caller the question whose voice it holds, and the caller's own voice is disguised before
anything of it is stored; someone else's is kept as recorded (only its metadata gone)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from aiohttp import FormData

from conversations import messages as m
from privacy import decrypt
from privacy.scrub import scrub

from .deskharness import Client, DeskParts, hidden, step_of
from .test_desk_http import ANSWERS, client, new_call, parts, post, signed_in, take_call
from .test_scrub_voice import _speech

__all__ = ["client", "parts"]  # test_desk_http's fixtures


def _note(tmp: Path, lang: str, name: str) -> bytes:
    out = tmp / name
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(_speech(tmp, lang)), "-c:a",
         "libopus", "-metadata", "artist=Amani Kiprono", str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


async def test_the_caller_is_asked_whose_voice_and_their_own_is_disguised(
    client: Client, parts: DeskParts, tmp_path: Path
) -> None:
    own, trader = _note(tmp_path, "sw", "own.ogg"), _note(tmp_path, "en", "trader.ogg")
    csrf = await signed_in(client)
    url = await new_call(client, csrf)
    answers = {**ANSWERS, "followup": {"choice": "no"}}
    html = await (await client.get(url)).text()
    while (step := step_of(html)) != "evidence":
        assert step is not None
        html = await post(client, url, html, **answers[step])

    async def upload(data: bytes) -> str:
        form = FormData()
        form.add_field("csrf", hidden(html, "csrf"))
        form.add_field("step", "evidence")
        form.add_field("command", "attach")
        form.add_field("file", data, filename="note.ogg", content_type="audio/ogg")
        response = await client.post(url, data=form)
        assert response.status == 200
        return await response.text()

    html = await upload(own)
    assert step_of(html) == "_voice"  # read to the caller, in their language
    html = await post(client, url, html, choice="own")
    assert m.VOICE_DISGUISED in html and "1 file received so far." in html
    assert step_of(html) == "evidence"
    html = await upload(trader)
    html = await post(client, url, html, choice="other")
    assert "2 files received so far." in html
    html = await take_call(client, url, answers)
    assert 'id="done"' in html
    tip = await parts.queue.claim_next("test-reviewer")
    assert tip is not None and len(tip.attachments) == 2
    sealed_own, sealed_trader = (decrypt(a, [parts.reviewer]) for a in tip.attachments)
    assert sealed_own != scrub(own).data  # the voice changed
    assert sealed_trader == scrub(trader).data  # evidence: as recorded, metadata gone
    transcript = json.loads(decrypt(tip.sealed, [parts.reviewer]))
    assert [a["voice"] for a in transcript["attachments"]] == [
        {"said": "own", "disguised": True},
        {"said": "other", "disguised": False},
    ]
