"""``tipline scrub IN --out OUT``: remove identifying metadata from one file.

The same step the intake runs on every attachment (design rule P3): the format is
detected from the content, the file is written anew without its metadata and read
back, in a child process under memory and time limits (as the bot does it). A file
that cannot be cleaned is refused with its reason and exit status 2;
nothing is written then.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path

import click

__all__ = ["command"]


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=".scrub-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.command("scrub")
@click.argument("in_path", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the cleaned file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--disguise-voice",
    is_flag=True,
    help="Also change the voice in an audio file or video (pitch and formants shifted 3 "
    "to 5 semitones at random; the words and length stay). Audio becomes Opus in Ogg.",
)
def command(in_path: Path, out_path: Path, as_json: bool, disguise_voice: bool) -> None:
    """Remove identifying metadata (location, camera, author, ...) from IN into OUT.

    The format is detected from the content, not from the file name. With
    --disguise-voice, the speaker's voice is disguised too: for the tipster's own voice,
    never for a recording kept as evidence.
    """
    from privacy.scrub import REMOVED_KINDS, ScrubError, scrub_isolated

    try:
        data = in_path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {in_path}: {exc.strerror}") from exc
    try:
        result = asyncio.run(scrub_isolated(data, disguise_voice=disguise_voice))
    except ScrubError as exc:
        click.echo(f"refused ({exc.reason}): {exc}", err=True)
        raise SystemExit(2) from exc
    try:
        _write(out_path, result.data)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out_path}: {exc.strerror}") from exc
    removed = [kind for kind in REMOVED_KINDS if kind in result.removed]
    if as_json:
        summary = {
            "kind": result.kind,
            "mime": result.mime,
            "size": len(result.data),
            "sha256": result.sha256,
            "removed": removed,
            "voice_disguised": disguise_voice,
            "partial": None
            if result.partial is None
            else {
                "kept_seconds": result.partial.kept,
                "declared_seconds": result.partial.declared,
            },
        }
        click.echo(json.dumps(summary))
        return
    click.echo(
        f"{result.kind} ({result.mime}), {len(result.data):,} bytes, sha256 {result.sha256}"
    )
    click.echo("removed: " + (", ".join(removed) if removed else "nothing identifying found"))
    if disguise_voice:
        click.echo("voice: disguised (pitch and formants shifted; the amount is not kept)")
    if result.partial is not None:
        of = (
            f" of {result.partial.declared:g} s declared"
            if result.partial.declared is not None
            else " (the file is damaged; its full length is not known)"
        )
        click.echo(f"partial: only {result.partial.kept:g} s kept{of}")
    click.echo(f"written to {out_path}")
