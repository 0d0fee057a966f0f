"""The benchmark suite runs in a smoke mode on every CI run, so it never rots (no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parent.parent / "bench"


def test_the_benchmark_runs_in_smoke_mode() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--smoke"], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    for measure in (
        "Dispatcher.dispatch, p50",
        "hand-written baseline JSONL",
        "--workers 2",
        "analytics over",
        "Dispatcher.from_rules()",
        "--help",
    ):
        assert measure in run.stdout


def test_the_baseline_decides_as_the_engines_do() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import baseline
    finally:
        sys.path.remove(str(BENCH))
    results = [baseline.load_example(), *baseline.sample_results(300, seed=3)]
    for viewer in (
        {"user_id": "admin-1", "roles": ["admin"]},
        {"user_id": "c", "roles": ["coach"], "coachee_ids": ["x"]},
        None,
    ):
        baseline.check(results, viewer, baseline.load_catalogs(), messages=True)
