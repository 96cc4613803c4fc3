"""Exporting a case: the progress a large attachment reports as it is written."""

from __future__ import annotations

import os
from pathlib import Path

from review.export import CHUNK, export_case


def test_a_large_attachment_reports_its_progress_as_it_is_written(tmp_path: Path) -> None:
    video = b"\x1a\x45\xdf\xa3webm" + os.urandom(CHUNK * 5 // 2)
    heard: list[tuple[int, int]] = []
    written = export_case(
        tmp_path / "case",
        transcript_json=b'{"case_id": "x"}',
        transcript_txt="Case x\n",
        attachments=[b"%PDF-1.7 small", video],
        progress=lambda done, total: heard.append((done, total)),
    )
    total = 16 + 7 + 14 + len(video)
    assert {t for _d, t in heard} == {total}
    done = [d for d, _t in heard]
    assert done == sorted(done) and done[-1] == total
    # The large file is reported piece by piece, not only when it is complete.
    during = [d for d in done if 16 + 7 + 14 < d < total]
    assert len(during) >= 2
    assert (tmp_path / "case" / "attachment-1.webm").read_bytes() == video
    assert [f.name for f in written][-1] == "SHA256SUMS"
