"""Video and audio samples made with ffmpeg (lavfi test sources), with planted tags, and
H.264/HEVC videos with data planted in the video stream itself (SEI messages)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from . import CITY, COMMENT, MAKE, MODEL, NAME, SOFTWARE, YEAR, exiftool, need, photo

_SOURCES = {
    "video": ["-f", "lavfi", "-i", "testsrc=size=176x144:rate=10:duration=1"],
    "audio": ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1"],
}
# kind -> (has video, video codec options, audio codec options, extra muxer options)
_RECIPES: dict[str, tuple[bool, list[str], list[str], list[str]]] = {
    "mp4": (True, ["-c:v", "libx264", "-preset", "ultrafast"], ["-c:a", "aac"],
            ["-movflags", "use_metadata_tags"]),
    "mov": (True, ["-c:v", "libx264", "-preset", "ultrafast"], ["-c:a", "aac"], []),
    "3gp": (True, ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
            ["-c:a", "aac", "-ar", "16000", "-ac", "1"], []),
    "mkv": (True, ["-c:v", "libx264", "-preset", "ultrafast"], ["-c:a", "libopus"], []),
    "webm": (True, ["-c:v", "libvpx", "-deadline", "realtime"], ["-c:a", "libopus"], []),
    "m4a": (False, [], ["-c:a", "aac"], []),
    "mp3": (False, [], ["-c:a", "libmp3lame"], ["-id3v2_version", "3"]),
    "ogg": (False, [], ["-c:a", "libopus"], []),
}  # fmt: skip
#: Planted in an H.264 SEI user-data message (with x264's own "x264 - core ..." SEI).
PLANTED_SEI = f"{NAME} filmed this at {CITY} +12.34"
_SEI_UUID = "5c1e3d2a9b8f4e7d8c6b5a4f3e2d1c0b"
_NAL_TYPE = re.compile(r"\bnal_unit_type\s+[01]+ = (\d+)$")
_TAGS = [
    "-metadata", f"title={COMMENT}", "-metadata", f"artist={NAME}",
    "-metadata", f"comment={COMMENT}", "-metadata", f"encoder={SOFTWARE}",
    "-metadata", "location=+12.34+056.78/", "-metadata", f"make={MAKE}",
    "-metadata", f"model={MODEL}", "-metadata", f"creation_time={YEAR}-07-21T10:11:12Z",
    "-metadata", "com.apple.quicktime.location.ISO6709=+12.34+056.78/",
    "-metadata", f"album={CITY}",
]  # fmt: skip


def media_sample(kind: str, tmp: Path) -> bytes:
    """One second of ``kind`` with title, artist, location, make/model, creation time and,
    where the format has them, cover art (MP3) and an attachment (Matroska)."""
    video, vcodec, acodec, extra = _RECIPES[kind]
    path = tmp / f"sample.{kind}"
    args = [need("ffmpeg"), "-v", "error", "-y"]
    args += (_SOURCES["video"] if video else []) + _SOURCES["audio"]
    maps = ["-map", "0:v", "-map", "1:a"] if video else ["-map", "0:a"]
    if kind == "mp3":
        cover = tmp / "cover.jpg"
        photo((32, 32)).save(cover, "JPEG")
        args += ["-i", str(cover)]
        maps += ["-map", "1:v", "-c:v", "mjpeg", "-disposition:v", "attached_pic"]
    args += maps + vcodec + acodec + _TAGS + [
        "-metadata:s:a", f"handler_name={NAME}", "-metadata:s:a", f"title={COMMENT}",
    ]  # fmt: skip
    if kind == "mkv":
        note = tmp / "note.txt"
        note.write_text(f"{NAME} saw it\n")
        args += ["-attach", str(note), "-metadata:s:t", "mimetype=text/plain"]
    args += [*extra, "-f", {"m4a": "ipod", "mkv": "matroska"}.get(kind, kind), str(path)]
    subprocess.run(args, check=True, capture_output=True)
    if kind in ("mp4", "mov"):
        exiftool(
            "-QuickTime:GPSCoordinates=12.3456, 56.789",
            f"-QuickTime:Make={MAKE}",
            f"-QuickTime:Model={MODEL}",
            f"-XMP-dc:Creator={NAME}",
            path,
        )
    return path.read_bytes()


def probe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [need("ffprobe"), "-v", "error", "-print_format", "json", "-show_format",
         "-show_streams", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    info: dict[str, Any] = json.loads(out.stdout)
    return info


def packet_hashes(path: Path, streams: list[int]) -> list[str]:
    """MD5 of each listed stream's packets, as stored (``-c copy`` into ffmpeg's
    streamhash muxer): equal hashes mean the packets were copied, not re-encoded."""
    args = [need("ffmpeg"), "-v", "error", "-i", str(path)]
    for index in streams:
        args += ["-map", f"0:{index}"]
    args += ["-c", "copy", "-f", "streamhash", "-hash", "md5", "-"]
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    return [line.split("=", 1)[1] for line in out.stdout.splitlines() if "=" in line]


def sei_video(kind: str, codec: str, tmp: Path) -> Path:
    """One second of video with audio, whose video stream carries SEI messages.

    H.264 (libx264): x264's SEI with its version and settings, plus :data:`PLANTED_SEI`
    as an SEI user-data message (ffmpeg's h264_metadata). HEVC (libx265): x265's SEI
    with its version and settings in the decoder configuration (hvcC), and a picture
    hash SEI after every frame."""
    path = tmp / f"sei-{codec}.{kind}"
    if codec == "h264":
        vcodec = ["-c:v", "libx264", "-preset", "ultrafast",
                  "-bsf:v", f"h264_metadata=sei_user_data={_SEI_UUID}+{PLANTED_SEI}"]  # fmt: skip
    else:
        vcodec = ["-c:v", "libx265", "-preset", "ultrafast",
                  "-x265-params", "hash=1:log-level=error"]  # fmt: skip
    args = [need("ffmpeg"), "-v", "error", "-y", *_SOURCES["video"], *_SOURCES["audio"],
            "-map", "0:v", "-map", "1:a", *vcodec, "-c:a", "aac",
            "-f", {"mkv": "matroska"}.get(kind, kind), str(path)]  # fmt: skip
    subprocess.run(args, check=True, capture_output=True)
    return path


def nal_unit_types(path: Path) -> list[int]:
    """The NAL unit types of the first video stream, decoder configuration included, as
    ffmpeg's trace_headers bitstream filter reads them."""
    out = subprocess.run(
        [need("ffmpeg"), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0",
         "-c", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return [int(m[1]) for line in out.stderr.splitlines() if (m := _NAL_TYPE.search(line))]


def frame_hashes(path: Path, stream: int) -> list[str]:
    """MD5 of each decoded frame of one stream (ffmpeg stops at the first decoding
    error): equal hashes mean the same pictures."""
    out = subprocess.run(
        [need("ffmpeg"), "-v", "error", "-xerror", "-i", str(path), "-map", f"0:{stream}",
         "-f", "framemd5", "-"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return [line.rsplit(",", 1)[1].strip() for line in out.stdout.splitlines()
            if line and not line.startswith("#")]  # fmt: skip


# layout -> (kind, has video, codec and muxer options). Four seconds, so half of it is
# well past the tolerance of a partial mark; the index (moov) first where a phone or a
# messenger puts it, except "mp4-moov-last"; "webm-live" has no Duration (a browser's
# recording), "mp4-fragmented" and "mp3-bare" (no Xing header) declare none either.
_LONG: dict[str, tuple[str, bool, list[str]]] = {
    "mp4": ("mp4", True, ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                          "-movflags", "+faststart", "-f", "mp4"]),
    "mov": ("mov", True, ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                          "-movflags", "+faststart", "-f", "mov"]),
    "3gp": ("3gp", True, ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                          "-c:a", "aac", "-ar", "16000", "-ac", "1", "-movflags", "+faststart",
                          "-f", "3gp"]),
    "m4a": ("m4a", False, ["-c:a", "aac", "-movflags", "+faststart", "-f", "ipod"]),
    "mkv": ("mkv", True, ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "libopus",
                          "-f", "matroska"]),
    "webm": ("webm", True, ["-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libopus",
                            "-f", "webm"]),
    "mp3": ("mp3", False, ["-c:a", "libmp3lame", "-q:a", "4", "-f", "mp3"]),
    "mp3-bare": ("mp3", False, ["-c:a", "libmp3lame", "-write_xing", "0", "-f", "mp3"]),
    "opus": ("ogg", False, ["-c:a", "libopus", "-f", "ogg"]),
    "vorbis": ("ogg", False, ["-c:a", "libvorbis", "-f", "ogg"]),
    "webm-live": ("webm", True, ["-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libopus",
                                 "-live", "1", "-f", "webm"]),
    "mp4-fragmented": ("mp4", True, ["-c:v", "libx264", "-preset", "ultrafast", "-g", "10",
                                     "-c:a", "aac", "-movflags", "frag_keyframe+empty_moov",
                                     "-f", "mp4"]),
    "mp4-moov-last": ("mp4", True, ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                                    "-f", "mp4"]),
}  # fmt: skip
LONG_SECONDS = 4.0


def long_sample(layout: str, tmp: Path) -> tuple[str, bytes]:
    """(kind, bytes) of a :data:`LONG_SECONDS` video or audio file with planted tags."""
    kind, video, options = _LONG[layout]
    path = tmp / f"long-{layout}.{kind}"
    rate = "16000" if kind == "3gp" else "48000"
    args = [need("ffmpeg"), "-v", "error", "-y"]
    if video:
        args += ["-f", "lavfi", "-i", f"testsrc=size=176x144:rate=10:duration={LONG_SECONDS:g}"]
    args += [
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:sample_rate={rate}:duration={LONG_SECONDS:g}",
    ]
    args += ["-map", "0:v", "-map", "1:a"] if video else ["-map", "0:a"]
    args += [*_TAGS, *options, str(path)]
    subprocess.run(args, check=True, capture_output=True)
    return kind, path.read_bytes()


def packet_md5s(path: Path, stream: int) -> list[str]:
    """MD5 of each packet of one stream as stored (``-c copy`` into framemd5)."""
    out = subprocess.run(
        [need("ffmpeg"), "-v", "error", "-i", str(path), "-map", f"0:{stream}", "-c", "copy",
         "-f", "framemd5", "-"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return [line.rsplit(",", 1)[1].strip() for line in out.stdout.splitlines()
            if line and not line.startswith("#")]  # fmt: skip
