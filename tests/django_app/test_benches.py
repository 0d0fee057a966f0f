"""The Django benchmarks run (in their smoke mode, which makes no timing claim), so they never rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_the_recording_bench_runs_in_smoke_mode() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH / "django_records.py"), "--smoke"], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr
    for route in ("student missions", "recipe recommendations", "value statement", "talent matches", "mentee"):
        assert f"| {route}" in run.stdout, route
