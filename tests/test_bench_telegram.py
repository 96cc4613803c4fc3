"""The Telegram benchmark still runs: once, in its quick mode, with a few tipsters.

Not a timed test: it checks that every bot of the bench (the real one, the echo floor,
the usual-way FSM bot) served every simulated tipster to the end and that the figures
were printed, not how fast anything was.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOTS = ("echo-ptb", "tipline-ptb", "fsm-aiogram")


def test_the_telegram_bench_runs_in_quick_mode() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "telegram_http.py"), "--quick"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = {
        (m["bot"], m["phase"]): m
        for m in re.finditer(
            r"^(?P<bot>[a-z]+-[a-z]+) +(?P<phase>saturated|paced) +(?P<updates>\d+) "
            r"+(?P<rate>[\d.]+) .* (?P<lost>\d+)$",
            done.stdout,
            re.M,
        )
    }
    assert {bot for bot, _phase in rows} == set(BOTS), done.stdout
    for bot in BOTS:
        saturated = rows[(bot, "saturated")]
        # 10 tipsters, one whole conversation each, every reply received.
        assert int(saturated["updates"]) >= 10 * 17 and saturated["lost"] == "0"
        assert float(saturated["rate"]) > 0 and rows[(bot, "paced")]["lost"] == "0"
    assert re.search(r"tipline-ptb: [\d.]+ x echo-ptb upd/s", done.stdout)
