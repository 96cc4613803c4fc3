"""Video and audio (rule P3): container and stream metadata, location atoms included,
are gone, and so are the SEI messages inside H.264 and HEVC video (encoder settings,
planted text); the audio and video packets are copied (same hashes; for H.264 and HEVC
the same decoded pictures), not re-encoded; the duration and the number of audio and
video streams are the same. The original is written only to a directory in memory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from privacy.scrub import Limits, ScrubError, scrub

from .samples import assert_clean, exiftool_tags, need
from .samples.media import (
    PLANTED_SEI,
    frame_hashes,
    media_sample,
    nal_unit_types,
    packet_hashes,
    probe,
    sei_video,
)

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
    codecs = {s["index"]: s.get("codec_name") for s in info_in["streams"]}
    for position, index in enumerate(kept):
        if codecs[index] in ("h264", "hevc"):  # SEI units gone: the same pictures
            assert frame_hashes(out, position) == frame_hashes(source, index)
        else:
            assert packet_hashes(out, [position]) == packet_hashes(source, [index])
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


@pytest.mark.parametrize("kind", ["mp4", "mov", "mkv"])
def test_sei_in_h264_video_is_removed(tmp_path: Path, kind: str) -> None:
    source = sei_video(kind, "h264", tmp_path)
    original = source.read_bytes()
    assert b"x264 - core" in original
    assert PLANTED_SEI.encode() in original
    assert 6 in nal_unit_types(source)

    result = scrub(original)
    out = tmp_path / f"clean.{kind}"
    out.write_bytes(result.data)
    assert b"x264 - core" not in result.data
    assert b"x264" not in result.data
    assert PLANTED_SEI.encode() not in result.data
    assert "other" in result.removed
    (tags,) = exiftool_tags(out)
    assert_clean(result.data, tags)
    assert not [v for v in tags.values() if "x264" in str(v) or PLANTED_SEI in str(v)]

    types = nal_unit_types(out)
    assert 6 not in types
    assert {1, 5, 7, 8} <= set(types)  # slices and parameter sets are still there
    info = probe(out)
    assert [s["codec_name"] for s in info["streams"]] == ["h264", "aac"]
    pictures = frame_hashes(out, 0)
    assert len(pictures) == 10
    assert pictures == frame_hashes(source, 0)
    assert packet_hashes(out, [1]) == packet_hashes(source, [1])
    assert scrub(result.data).removed == frozenset()  # nothing more to remove


@pytest.mark.parametrize("kind", ["mp4", "mov"])
def test_sei_in_hevc_video_and_its_configuration_is_removed(tmp_path: Path, kind: str) -> None:
    source = sei_video(kind, "hevc", tmp_path)
    original = source.read_bytes()
    assert b"x265 (build" in original
    before = nal_unit_types(source)
    assert 39 in before  # x265's settings, in the hvcC box
    assert 40 in before  # a picture hash after each frame

    result = scrub(original)
    out = tmp_path / f"clean.{kind}"
    out.write_bytes(result.data)
    assert b"x265" not in result.data
    assert b"Multicoreware" not in result.data
    assert "other" in result.removed
    (tags,) = exiftool_tags(out)
    assert_clean(result.data, tags)

    types = nal_unit_types(out)
    assert not {39, 40} & set(types)
    assert {32, 33, 34} <= set(types)
    info = probe(out)
    assert [s["codec_name"] for s in info["streams"]] == ["hevc", "aac"]
    pictures = frame_hashes(out, 0)
    assert len(pictures) == 10
    assert pictures == frame_hashes(source, 0)
    assert packet_hashes(out, [1]) == packet_hashes(source, [1])


def test_hevc_configuration_sei_in_matroska_is_refused(tmp_path: Path) -> None:
    """Matroska's CodecPrivate is not rewritten: the read-back finds x265's SEI there and
    the file is refused, never passed on."""
    source = sei_video("mkv", "hevc", tmp_path)
    with pytest.raises(ScrubError) as refused:
        scrub(source.read_bytes())
    assert refused.value.reason == "verify_failed"
    assert "x265" not in str(refused.value)


@pytest.mark.parametrize(("codec", "kind"), [("mpeg4", "mp4"), ("h263", "3gp")])
def test_video_with_user_data_we_do_not_inspect_is_refused(
    tmp_path: Path, codec: str, kind: str
) -> None:
    """MPEG-4 part 2 keeps encoder strings in user-data start codes (ffmpeg writes
    "Lavc" there), H.263 can carry text in picture messages: both are refused."""
    path = tmp_path / f"{codec}.{kind}"
    subprocess.run(
        [need("ffmpeg"), "-v", "error", "-f", "lavfi", "-i",
         "testsrc=size=176x144:rate=10:duration=1", "-c:v", codec, str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    if codec == "mpeg4":
        assert b"Lavc" in path.read_bytes()
    with pytest.raises(ScrubError) as refused:
        scrub(path.read_bytes())
    assert refused.value.reason == "unsupported"
    assert refused.value.kind == kind


def test_annexb_reader_finds_every_unit_type() -> None:
    from privacy.scrub.media import annexb_types

    sps, pps, sei, idr = b"\x67\x42\x00", b"\x68\xce", b"\x06\x05\x10", b"\x65\x88"
    stream = b"\0\0\0\1" + sps + b"\0\0\1" + pps + b"\0\0\0\1" + sei + b"\0\0\1" + idr
    assert annexb_types(stream, "h264") == {7, 8, 6, 5}
    assert annexb_types(b"junk" + stream, "h264") == {-1, 7, 8, 6, 5}
    assert annexb_types(b"\0\0\1\x86\x00", "h264") == {-1, 6}  # forbidden bit set
    assert annexb_types(b"\0\0\1\x4e\x01\0\0\1\x50\x01", "hevc") == {39, 40}
    assert annexb_types(b"", "hevc") == {-1}


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
