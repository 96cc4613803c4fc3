"""Video and audio (rule P3): container and stream metadata, location atoms included,
are gone; the audio and video packets are copied (same hashes), not re-encoded; the
duration and the number of audio and video streams are the same. The original is written
only to a directory in memory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from privacy.scrub import Limits, ScrubError, scrub

from .samples import assert_clean, exiftool_tags
from .samples.media import media_sample, packet_hashes, probe

KINDS = ["mp4", "mov", "3gp", "mkv", "webm", "m4a", "mp3", "ogg"]


def _av_streams(info: dict[str, object]) -> list[int]:
    streams = info["streams"]
    assert isinstance(streams, list)
    return [
        s["index"]
        for s in streams
        if s["codec_type"] in ("audio", "video") and not s["disposition"]["attached_pic"]
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_media_formats(tmp_path: Path, kind: str) -> None:
    original = media_sample(kind, tmp_path)
    source = tmp_path / f"sample.{kind}"
    (before,) = exiftool_tags(source)
    assert any("Jane Tipster" in str(v) or "12.34" in str(v) for v in before.values())

    result = scrub(original)
    assert result.kind == kind
    out = tmp_path / f"clean.{kind}"
    out.write_bytes(result.data)
    (tags,) = exiftool_tags(out)
    assert_clean(result.data, tags)
    assert {"location", "timestamps"} <= result.removed

    info_in, info_out = probe(source), probe(out)
    kept = _av_streams(info_in)
    assert len(info_out["streams"]) == len(kept)
    assert float(info_out["format"]["duration"]) == pytest.approx(
        float(info_in["format"]["duration"]), abs=0.05
    )
    assert packet_hashes(out, list(range(len(kept)))) == packet_hashes(source, kept)
    if kind == "mp3":
        assert "thumbnail" in result.removed  # the cover picture
    if kind == "mkv":
        assert "embedded_files" in result.removed  # the attachment


def test_rotation_of_a_phone_video_is_kept(tmp_path: Path) -> None:
    original = media_sample("mp4", tmp_path)
    rotated = tmp_path / "rotated.mp4"

    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(tmp_path / "sample.mp4"), "-c", "copy",
         "-metadata:s:v:0", "rotate=90", "-y", str(rotated)],
        check=True, capture_output=True,
    )  # fmt: skip
    assert rotated.read_bytes() != original
    out = tmp_path / "clean.mp4"
    out.write_bytes(scrub(rotated.read_bytes()).data)
    (before,) = exiftool_tags(rotated)
    (tags,) = exiftool_tags(out)
    assert tags["Composite:Rotation"] == before["Composite:Rotation"] != 0


def test_ffmpeg_runs_under_the_time_limit(tmp_path: Path) -> None:
    original = media_sample("webm", tmp_path)
    with pytest.raises(ScrubError) as refused:
        scrub(original, limits=Limits(seconds=0.01))
    assert refused.value.reason == "timeout"


# Where media are written: every file name ffmpeg and ffprobe are given, seen through
# Python's audit hook on subprocess.Popen while a test listens.
_LISTENERS: list[list[list[str]]] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "subprocess.Popen" and _LISTENERS:
        argv = args[1]
        if isinstance(argv, list | tuple):
            _LISTENERS[-1].append([str(a) for a in argv])


sys.addaudithook(_audit)


@pytest.fixture
def spawned() -> Iterator[list[list[str]]]:
    calls: list[list[str]] = []
    _LISTENERS.append(calls)
    try:
        yield calls
    finally:
        _LISTENERS.remove(calls)


def _fs_type(path: Path) -> str:
    """The file system type as coreutils' stat reads it (statfs)."""
    out = subprocess.run(
        ["stat", "-f", "-c", "%T", str(path)], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def _media_files(calls: list[list[str]]) -> list[Path]:
    """The input and output files named on ffmpeg and ffprobe command lines."""
    files = []
    for argv in calls:
        if Path(argv[0]).name not in ("ffmpeg", "ffprobe"):
            continue
        files += [Path(argv[i + 1]) for i, a in enumerate(argv[:-1]) if a == "-i"]
        if Path(argv[0]).name == "ffmpeg" and not argv[-1].startswith("pipe:"):
            files.append(Path(argv[-1]))
    return files


@pytest.fixture
def memory_dir() -> Iterator[Path]:
    shm = Path("/dev/shm")
    if not shm.is_dir() or _fs_type(shm) != "tmpfs":
        pytest.skip("this machine has no tmpfs at /dev/shm")
    made = Path(tempfile.mkdtemp(prefix="scrub-test-", dir=shm))
    try:
        yield made
    finally:
        shutil.rmtree(made)


def test_media_are_written_only_to_the_configured_tmpfs(
    tmp_path: Path, memory_dir: Path, spawned: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = media_sample("mp4", tmp_path)
    spawned.clear()  # making the sample
    monkeypatch.setenv("TIPLINE_SCRUB_TMPDIR", str(memory_dir))
    scrub(original)
    files = _media_files(spawned)
    assert len(files) >= 3  # probe, copy and read-back at least
    for path in files:
        assert memory_dir in path.parents
        assert path.parent.parent == memory_dir  # a private directory inside it
    assert _fs_type(memory_dir) == "tmpfs"
    assert list(memory_dir.iterdir()) == []  # deleted when the scrub ends


def test_media_default_to_dev_shm(
    tmp_path: Path, memory_dir: Path, spawned: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = media_sample("ogg", tmp_path)
    spawned.clear()
    monkeypatch.delenv("TIPLINE_SCRUB_TMPDIR", raising=False)
    scrub(original)
    files = _media_files(spawned)
    assert files
    assert all(path.parent.parent == memory_dir.parent for path in files)


def test_a_directory_on_disk_is_refused(
    tmp_path: Path, spawned: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = media_sample("ogg", tmp_path)
    on_disk = Path(__file__).resolve().parent
    if _fs_type(on_disk) in ("tmpfs", "ramfs"):
        pytest.skip("the tests are checked out on a tmpfs")
    spawned.clear()
    for directory in (on_disk, on_disk / "no-such-directory"):
        monkeypatch.setenv("TIPLINE_SCRUB_TMPDIR", str(directory))
        with pytest.raises(ScrubError) as refused:
            scrub(original)
        assert refused.value.reason == "unsupported"
        assert "TIPLINE_SCRUB_TMPDIR" in str(refused.value)
        assert "tmpfs" in str(refused.value)
    assert _media_files(spawned) == []  # ffmpeg never saw the file


def test_mount_table_reading() -> None:
    from privacy.scrub.scratch import filesystem

    mounts = "\n".join([
        "overlay / overlay rw 0 0",
        "tmpfs /dev/shm tmpfs rw 0 0",
        "/dev/sda1 /srv ext4 rw 0 0",
        "tmpfs /srv/scrub\\040area tmpfs rw 0 0",
        "tmpfs /mnt tmpfs rw 0 0",
        "/dev/sdb1 /mnt ext4 rw 0 0",  # mounted over the tmpfs: the disk is what is seen
    ])  # fmt: skip
    assert filesystem(Path("/dev/shm/x"), mounts) == "tmpfs"
    assert filesystem(Path("/dev/shmem"), mounts) == "overlay"
    assert filesystem(Path("/srv/scrub area/tmp"), mounts) == "tmpfs"
    assert filesystem(Path("/srv/scrub"), mounts) == "ext4"
    assert filesystem(Path("/mnt/scrub"), mounts) == "ext4"
    assert filesystem(Path("/tmp"), "") is None
