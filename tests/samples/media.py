"""Video and audio samples made with ffmpeg (lavfi test sources), with planted tags."""

from __future__ import annotations

import json
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
    "3gp": (True, ["-c:v", "h263"], ["-c:a", "aac", "-ar", "16000", "-ac", "1"], []),
    "mkv": (True, ["-c:v", "libx264", "-preset", "ultrafast"], ["-c:a", "libopus"], []),
    "webm": (True, ["-c:v", "libvpx", "-deadline", "realtime"], ["-c:a", "libopus"], []),
    "m4a": (False, [], ["-c:a", "aac"], []),
    "mp3": (False, [], ["-c:a", "libmp3lame"], ["-id3v2_version", "3"]),
    "ogg": (False, [], ["-c:a", "libopus"], []),
}  # fmt: skip
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
