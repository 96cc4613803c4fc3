"""``scrub_isolated`` (rule P8): the scrub runs in a child process under memory, CPU and
file limits, is killed at its deadline, and a file that needs too much gets a refusal,
not the bot's memory; an ordinary file gives exactly what the in-process scrub gives."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from privacy.scrub import (
    REMOVED_KINDS,
    Limits,
    ScrubError,
    ScrubResult,
    scrub,
    scrub_isolated,
)
from privacy.scrub.isolate import MAGIC, _BadFrame, _decode, encode_error, encode_result

from .samples import documents
from .samples.images import camera_jpeg, huge_png
from .samples.media import media_sample
from .test_scrub_hostile import HOSTILE

ROOT = Path(__file__).resolve().parents[1]
_SMALL_MEMORY = Limits(max_memory=256 * 1024 * 1024)  # the child's imports fit, 200 MB do not


def _stat(pid: str) -> tuple[int, int, str] | None:
    """(parent pid, session id, state) of a process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[3]), fields[0]


def _processes() -> dict[int, tuple[int, int, str]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(entry.name)) is not None:
            found[int(entry.name)] = stat
    return found


async def _watched(data: bytes, limits: Limits) -> tuple[ScrubResult | ScrubError, float, int]:
    """Run scrub_isolated; return its outcome, how long it took and the child's pid (seen
    in /proc while it ran)."""
    me = os.getpid()
    # Children of the test process from before (the test run's Redis servers) are not it.
    before = {p for p, (ppid, _, _) in _processes().items() if ppid == me}
    started = time.monotonic()
    task = asyncio.create_task(scrub_isolated(data, limits=limits))
    child = 0
    while not task.done():
        children = [
            p for p, (ppid, _, _) in _processes().items() if ppid == me and p not in before
        ]
        child = child or (children[0] if children else 0)
        await asyncio.sleep(0.01)
    try:
        outcome: ScrubResult | ScrubError = await task
    except ScrubError as exc:
        outcome = exc
    return outcome, time.monotonic() - started, child


def _assert_nothing_left(child: int) -> None:
    """The child is reaped (no zombie) and nothing of its session (ffmpeg) runs on."""
    assert child, "the child process was never seen"
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # already reaped by scrub_isolated
    assert _stat(str(child)) is None
    # An ffmpeg killed with it dies at once; its exit is reaped by init, not by us.
    give_up = time.monotonic() + 2
    while left := [p for p, (_, sid, st) in _processes().items() if sid == child and st != "Z"]:
        assert time.monotonic() < give_up, f"still running in the child's session: {left}"
        time.sleep(0.02)
    me = os.getpid()
    assert [p for p, (ppid, _, state) in _processes().items() if ppid == me and state == "Z"] == []


# -- the same results as in-process ------------------------------------------------------
def _ordinary(name: str, tmp_path: Path) -> bytes:
    if name == "jpeg":
        return camera_jpeg(tmp_path)
    if name == "pdf":
        return documents.pdf_sample()
    if name == "docx":
        return documents.docx_sample()
    return media_sample(name, tmp_path)


@pytest.mark.parametrize("name", ["jpeg", "pdf", "docx", "mp4", "webm", "mp3"])
async def test_an_ordinary_file_gives_the_same_result_as_in_process(
    name: str, tmp_path: Path
) -> None:
    data = _ordinary(name, tmp_path)
    isolated = await scrub_isolated(data, limits=Limits())
    assert isolated == scrub(data)
    assert isolated.removed  # each sample carries planted metadata


@pytest.mark.parametrize(
    "name",
    ["zero bytes", "decompression bomb PNG", "zip bomb disguised as a docx",
     "macro-enabled Word document", "text file", "PDF that is not one"],
)  # fmt: skip
async def test_a_refusal_keeps_its_reason_and_kind(name: str) -> None:
    data = HOSTILE[name][0]()
    with pytest.raises(ScrubError) as in_process:
        scrub(data)
    with pytest.raises(ScrubError) as isolated:
        await scrub_isolated(data)
    assert type(isolated.value) is type(in_process.value)
    assert (isolated.value.reason, isolated.value.kind) == (
        in_process.value.reason,
        in_process.value.kind,
    )
    assert str(isolated.value) == str(in_process.value)


async def test_too_large_is_refused_without_a_child() -> None:
    with pytest.raises(ScrubError) as refused:
        await scrub_isolated(bytes(2000), limits=Limits(max_bytes=1000))
    assert refused.value.reason == "too_large"


# -- memory: the child's, never the bot's ---------------------------------------------------
_PARENT = """
import asyncio, json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from privacy.scrub import Limits, ScrubError, scrub_isolated

data = open(sys.argv[2], "rb").read()
limits = Limits(**json.loads(sys.argv[3]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
try:
    outcome = asyncio.run(scrub_isolated(data, limits=limits)).kind
except ScrubError as exc:
    outcome = exc.reason
print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - started,
                  "grew_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before}))
"""


def _in_a_fresh_parent(data: bytes, tmp_path: Path, **limits: int) -> tuple[str, float, int]:
    """Run scrub_isolated in a fresh Python process (the bot), so that its peak memory is
    its own and not what earlier tests left in this one."""
    source = tmp_path / "input"
    source.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-c", _PARENT, str(ROOT), str(source), json.dumps(limits)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    answer = json.loads(done.stdout)
    return str(answer["outcome"]), float(answer["seconds"]), int(answer["grew_kib"])


def test_a_huge_decode_costs_the_child_memory_not_the_bot(tmp_path: Path) -> None:
    # 50 million pixels, inside the default limits: Pillow needs 200 MB to decode it.
    outcome, _, grew_kib = _in_a_fresh_parent(huge_png(), tmp_path)
    assert outcome == "png"
    assert grew_kib < 48 * 1024, grew_kib  # in-process it grows by ~200 MB


def test_a_decode_past_max_memory_is_refused_in_time(tmp_path: Path) -> None:
    outcome, seconds, grew_kib = _in_a_fresh_parent(
        huge_png(), tmp_path, max_memory=_SMALL_MEMORY.max_memory
    )
    assert outcome == "bomb"
    assert seconds < Limits().seconds
    assert grew_kib < 48 * 1024, grew_kib


async def test_a_child_out_of_memory_leaves_nothing_behind() -> None:
    outcome, _, child = await _watched(huge_png(), _SMALL_MEMORY)
    assert isinstance(outcome, ScrubError) and outcome.reason == "bomb", outcome
    assert outcome.kind == "png"
    _assert_nothing_left(child)


# -- time: killed at the deadline --------------------------------------------------------
async def test_a_decode_that_outlasts_the_time_limit_is_killed_at_the_deadline() -> None:
    # The in-process scrub cannot stop Pillow's decode (over a second here): it notices
    # only afterwards. The child is killed at the deadline.
    limits = Limits(seconds=0.5)
    outcome, took, child = await _watched(huge_png(), limits)
    assert isinstance(outcome, ScrubError) and outcome.reason == "timeout", outcome
    assert took < limits.seconds + 0.6  # in-process the decode runs on for seconds
    _assert_nothing_left(child)


async def test_a_video_past_its_time_is_killed_and_leaves_nothing_behind(tmp_path: Path) -> None:
    data = media_sample("mkv", tmp_path)
    limits = Limits(seconds=0.4)
    outcome, took, child = await _watched(data, limits)
    assert isinstance(outcome, ScrubError) and outcome.reason == "timeout", outcome
    assert took < limits.seconds + 0.6  # in-process the decode runs on for seconds
    _assert_nothing_left(child)


async def test_a_cancelled_scrub_kills_and_reaps_its_child() -> None:
    me = os.getpid()
    before = {p for p, (ppid, _, _) in _processes().items() if ppid == me}
    task = asyncio.create_task(scrub_isolated(huge_png()))
    child = 0
    while not child:
        await asyncio.sleep(0.01)
        child = next(
            (p for p, (ppid, _, _) in _processes().items() if ppid == me and p not in before), 0
        )
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    _assert_nothing_left(child)


# -- the child's answer is untrusted -----------------------------------------------------
def _result(data: bytes = b"clean", kind: str = "jpeg") -> ScrubResult:
    import hashlib

    return ScrubResult(data, kind, "image/jpeg", frozenset({"location"}),
                       hashlib.sha256(data).hexdigest())  # fmt: skip


def test_a_valid_frame_reads_back() -> None:
    frame = b"".join(encode_result(_result()))
    assert _decode(frame) == _result()
    refusal = _decode(encode_error("macros", "docx", "the docx file carries macros"))
    assert isinstance(refusal, ScrubError) and refusal.reason == "macros"
    assert refusal.kind == "docx"


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        MAGIC,
        MAGIC + b"X",
        b"".join(encode_result(_result()))[:-1],  # truncated
        b"".join(encode_result(_result())) + b"\x00",  # trailing bytes
        b"".join(encode_result(_result(kind="exe"))),  # unknown kind
        b"".join(encode_result(_result()))[:-5] + b"dirty",  # data not matching its digest
        encode_error("pwned", None, "x"),  # unknown reason
        encode_error("malformed", "exe", "x"),  # unknown kind
    ],
)
def test_a_bad_frame_is_refused(frame: bytes) -> None:
    with pytest.raises(_BadFrame):
        _decode(frame)


def test_removed_bits_outside_the_vocabulary_are_refused() -> None:
    head, digest, size, data = encode_result(_result())
    bits = (1 << len(REMOVED_KINDS)).to_bytes(4, "big")
    with pytest.raises(_BadFrame, match="removed"):
        _decode(head[:-5] + bits + head[-1:] + digest + size + data)


def test_a_disguised_voice_is_claimed_only_for_sound_and_with_a_known_flag() -> None:
    head, digest, size, data = encode_result(_result())  # a picture
    assert _decode(head + digest + size + data) == _result()
    for flags in (b"\x01", b"\x02"):
        with pytest.raises(_BadFrame, match="flags"):
            _decode(head[:-1] + flags + digest + size + data)
