"""The benchmark suite: its floor agrees with the dispatcher, and it runs in a smoke mode on every CI
run, so it never rots (no timing assertions: those are bench/RESULTS.md's)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import run_cli

BENCH = Path(__file__).parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from floor import NAMES  # noqa: E402
from floor import check as floor_check  # noqa: E402 - bench/ is not a package; found through the path just set
from floor.samples import load_catalogs, load_example, sample_results  # noqa: E402


@pytest.mark.parametrize("explain", [True, False], ids=["with explanations", "without explanations"])
def test_the_floor_agrees_with_the_dispatcher(explain: bool) -> None:
    """Whole reports compared as JSON: decisions, outputs, warnings, explanations (rule, file, line,
    message) and the rule-set stamp, for every viewer and catalog variant the checker knows."""
    results = [load_example(), *sample_results(300, seed=3)]
    variants = floor_check.catalog_variants()
    for viewer in floor_check.VIEWERS.values():
        assert floor_check.check(results, viewer, variants["bundled"], explain=explain) == len(results)
    for name in ("none", "extended"):
        assert floor_check.check(results, floor_check.ADMIN, variants[name], explain=explain) == len(results)


def test_the_checker_finds_a_changed_explanation_line() -> None:
    from floor import dispatch, prepare_catalogs

    report = json.loads(json.dumps(dispatch(load_example(), floor_check.ADMIN, prepare_catalogs(load_catalogs()))))
    changed = copy.deepcopy(report)
    changed["engines"]["recipes"]["explain"][2]["line"] += 1
    assert floor_check.first_difference(report, report, "report") is None
    assert floor_check.first_difference(changed, report, "report") == "report.engines.recipes.explain[2].line"


@pytest.mark.parametrize("explain", [True, False], ids=["with explanations", "without explanations"])
def test_the_floor_batch_writes_the_bytes_the_cli_writes(explain: bool, tmp_path: Path) -> None:
    """The batch benchmark compares like with like: the floor's JSONL output is the CLI's, byte for byte
    (for the built-in engines: an engine added beside them is not the floor's)."""
    source = tmp_path / "results.jsonl"
    source.write_text("".join(json.dumps(item) + "\n" for item in [load_example(), *sample_results(300, seed=5)]))
    catalogs = tmp_path / "catalogs.json"
    catalogs.write_text(json.dumps(load_catalogs()))
    viewer = json.dumps(floor_check.ADMIN)
    quiet = [] if explain else ["--no-explain"]
    floor_run = subprocess.run(
        [sys.executable, "-m", "floor.batch", str(source), "--output", str(tmp_path / "floor.jsonl"),
         "--catalogs", str(catalogs), "--viewer", viewer, *quiet],
        cwd=BENCH, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert floor_run.returncode == 0, floor_run.stderr
    cli_run = run_cli(
        "dispatch", str(source), "--output", str(tmp_path / "cli.jsonl"), "--catalogs", str(catalogs),
        "--viewer", viewer, *quiet,
    )  # fmt: skip
    assert cli_run.code == 0, cli_run.stderr
    mine, theirs = (tmp_path / "floor.jsonl").read_bytes(), (tmp_path / "cli.jsonl").read_bytes()
    assert mine.count(b"\n") == theirs.count(b"\n") == 301
    for floor_line, cli_line in zip(mine.splitlines(), theirs.splitlines(), strict=True):
        report = json.loads(cli_line)
        if list(report["engines"]) == list(NAMES):
            assert floor_line == cli_line
        else:  # a plugin engine beside the built-ins: the floor answers for the built-ins only
            report["engines"] = {name: report["engines"][name] for name in NAMES}
            assert floor_check.first_difference(json.loads(floor_line), report, "report") is None


def test_the_floor_runs_without_the_package() -> None:
    """The floor is hand-written: dispatching through it imports nothing of profiler_rules."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import floor\n"
        "from floor.samples import load_catalogs, sample_results\n"
        "catalogs = floor.prepare_catalogs(load_catalogs())\n"
        "for result in sample_results(50):\n"
        "    floor.dispatch(result, {'roles': ['admin']}, catalogs)\n"
        "    floor.dispatch(result, None, catalogs, explain=False)\n"
        "print(sorted(name for name in sys.modules if name.startswith('profiler_rules')))\n"
    )
    run = subprocess.run([sys.executable, "-c", script, str(BENCH)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_the_benchmark_runs_in_smoke_mode() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--smoke"], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr
    for target in (
        "dispatch p50 / floor p50, with explanations",
        "dispatch p99 / floor p99, with explanations",
        "dispatch p50 / floor p50, without explanations",
        "raw catalogs / prepared, bundled",
        "raw catalogs / prepared, 1,000 recipes",
        "batch rate / floor batch rate, with explanations",
        "batch rate / floor batch rate, without explanations",
        "analytics over",
        "per recipe",
        "per category",
        "building the dispatcher / importing the dependencies",
        "--help / importing the dependencies",
    ):
        assert target in run.stdout, target
