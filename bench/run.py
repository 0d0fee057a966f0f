"""The benchmark suite: the dispatcher against a hand-written baseline, batch, analytics, cold start.

    python bench/run.py            # full sizes; prints the table and writes bench/RESULTS.md
    python bench/run.py --smoke    # small sizes, no timing claims: CI runs this so the suite never rots

These machines are noisy: every figure is taken over several repeats (min and median shown), and each
ratio is taken between two figures of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import baseline  # noqa: E402 - the sibling module, found through the path set just above
import make_cohort  # noqa: E402

from profiler_rules import Dispatcher  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    latency_calls: int
    repeats: int
    batch_lines: int
    analytics_results: int
    analytics_learners: int
    cold_runs: int


FULL = Sizes(
    latency_calls=5_000,
    repeats=5,
    batch_lines=100_000,  # long enough that starting up (the cold-start rows) is a small part of a run
    analytics_results=1_000_000,
    analytics_learners=100_000,
    cold_runs=10,
)
SMOKE = Sizes(
    latency_calls=100, repeats=2, batch_lines=300, analytics_results=2_000, analytics_learners=500, cold_runs=2
)
ADMIN = {"user_id": "admin-1", "roles": ["admin"]}
# Commands run as after a normal install, which compiles the package's bytecode: a machine that sets
# PYTHONDONTWRITEBYTECODE would otherwise compile every module from source on every start.
ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


@dataclass(frozen=True)
class Figure:
    name: str
    values: tuple[float, ...]
    unit: str

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)


def latencies(function: Callable[[dict], object], results: list[dict]) -> list[float]:
    """Microseconds of each call, one call per result."""
    clock = time.perf_counter_ns
    found = []
    for item in results:
        start = clock()
        function(item)
        found.append((clock() - start) / 1000)
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure_latency(sizes: Sizes) -> dict[str, Figure]:
    results = baseline.sample_results(sizes.latency_calls)
    catalogs = baseline.load_catalogs()
    baseline.check(results[:200], ADMIN, catalogs)  # the baseline decides as the engines do
    dispatcher = Dispatcher.from_rules(entry_points=False)
    prepared = dispatcher.prepare_catalogs(catalogs)
    dispatcher.dispatch(results[0], viewer=ADMIN)  # warm: the first call builds lazy lookups
    hand_catalogs = baseline.prepare_catalogs(catalogs)
    by_hand, p50, p99 = [], [], []
    for _ in range(sizes.repeats):
        mine = latencies(lambda item: baseline.dispatch(item, ADMIN, hand_catalogs), results)
        theirs = latencies(lambda item: dispatcher.dispatch(item, viewer=ADMIN, catalogs=prepared), results)
        by_hand.append(statistics.median(mine))
        p50.append(statistics.median(theirs))
        p99.append(percentile(theirs, 0.99))
    return {
        "baseline_p50": Figure("hand-written baseline, p50", tuple(by_hand), "µs"),
        "dispatch_p50": Figure("Dispatcher.dispatch, p50", tuple(p50), "µs"),
        "dispatch_p99": Figure("Dispatcher.dispatch, p99", tuple(p99), "µs"),
        "ratio_p50": Figure(
            "dispatch p50 / baseline p50", tuple(a / b for a, b in zip(p50, by_hand, strict=True)), "×"
        ),
        "ratio_p99": Figure(
            "dispatch p99 / baseline p50", tuple(a / b for a, b in zip(p99, by_hand, strict=True)), "×"
        ),
    }


def run_measured(command: list[str], stdout: Path | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a command, measured in a fresh wrapper process."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "out = open(sys.argv[1], 'w') if sys.argv[1] != '-' else subprocess.DEVNULL\n"
        "start = time.perf_counter()\n"
        "code = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL).returncode\n"
        "elapsed = time.perf_counter() - start\n"
        "print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, code)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", wrapper, str(stdout or "-"), *command],
        capture_output=True,
        text=True,
        check=True,
        env=ENVIRONMENT,
    )
    elapsed, peak, code = run.stdout.split()
    if int(code) not in (0, 1):
        raise RuntimeError(f"{command} exited {code}")
    return float(elapsed), float(peak)


def baseline_lines_per_second(lines: list[str]) -> float:
    """The hand-written baseline's own JSONL → JSONL rate in this process: parse, decide, write JSON."""
    start = time.perf_counter()
    for line in lines:
        json.dumps(baseline.dispatch(json.loads(line), None, None))
    return len(lines) / (time.perf_counter() - start)


def measure_batch(sizes: Sizes, workdir: Path) -> dict[str, Figure]:
    source = workdir / "batch.jsonl"
    lines = [json.dumps(item) for item in baseline.sample_results(sizes.batch_lines, seed=11)]
    source.write_text("\n".join(lines) + "\n")
    command = [sys.executable, "-m", "profiler_rules", "dispatch", str(source)]
    by_hand, one, two = [], [], []
    for _ in range(sizes.repeats):
        by_hand.append(baseline_lines_per_second(lines))
        one.append(sizes.batch_lines / run_measured(command)[0])
        two.append(sizes.batch_lines / run_measured([*command, "--workers", "2"])[0])
    return {
        "batch_baseline": Figure("hand-written baseline JSONL → JSONL, in process", tuple(by_hand), "results/s"),
        "batch_1": Figure("dispatch JSONL → JSONL, 1 worker", tuple(one), "results/s"),
        "batch_2": Figure("dispatch JSONL → JSONL, --workers 2", tuple(two), "results/s"),
        "batch_ratio": Figure("2 workers / 1 worker", tuple(b / a for a, b in zip(one, two, strict=True)), "×"),
    }


def measure_analytics(sizes: Sizes, workdir: Path) -> dict[str, Figure]:
    source = workdir / "cohort.jsonl"
    make_cohort.write(source, sizes.analytics_results, sizes.analytics_learners)
    command = [
        sys.executable,
        "-m",
        "profiler_rules",
        "analytics",
        str(source),
        "--viewer",
        json.dumps(ADMIN),
        "--sponsor",
        "acme",
    ]
    times, peaks = [], []
    for _ in range(max(1, sizes.repeats - 2)):
        elapsed, peak = run_measured(command)
        times.append(elapsed)
        peaks.append(peak)
    few = workdir / "few.jsonl"
    make_cohort.write(few, sizes.analytics_learners, sizes.analytics_learners)
    small_peak = run_measured([*command[:4], str(few), *command[5:]])[1]
    return {
        "analytics_time": Figure(f"analytics over {sizes.analytics_results:,} results", tuple(times), "s"),
        "analytics_rss": Figure("  its peak RSS", tuple(peaks), "MiB"),
        "analytics_rss_tenth": Figure(
            f"  peak RSS over {sizes.analytics_learners:,} results of the same learners", (small_peak,), "MiB"
        ),
    }


def measure_cold_start(sizes: Sizes) -> dict[str, Figure]:
    script = (
        "import sys, time; start = time.perf_counter()\n"
        "from profiler_rules import Dispatcher\n"
        "imported = time.perf_counter()\n"
        "dispatcher = Dispatcher.from_rules()\n"
        "built = time.perf_counter()\n"
        "dispatcher.dispatch(sys.argv[1], viewer={'roles': ['admin']})\n"
        "print(built - imported, built - start, time.perf_counter() - built)\n"
    )
    example = json.dumps(baseline.load_example())
    build, whole, first, helps = [], [], [], []
    run_measured([sys.executable, "-m", "profiler_rules", "check"])  # writes the bytecode, as an install does
    for _ in range(sizes.cold_runs):
        out = subprocess.run(
            [sys.executable, "-c", script, example], capture_output=True, text=True, check=True, env=ENVIRONMENT
        ).stdout.split()
        build.append(float(out[0]) * 1000)
        whole.append(float(out[1]) * 1000)
        first.append(float(out[2]) * 1000)
        helps.append(run_measured([sys.executable, "-m", "profiler_rules", "--help"])[0] * 1000)
    return {
        "from_rules": Figure("Dispatcher.from_rules(), in a fresh process", tuple(build), "ms"),
        "import_and_from_rules": Figure("  with the import of profiler_rules", tuple(whole), "ms"),
        "first_dispatch": Figure("  then the first dispatch (the bundled example)", tuple(first), "ms"),
        "help": Figure("profiler-rules --help", tuple(helps), "ms"),
    }


TARGETS = {
    "ratio_p50": ("≤ 2.0×", lambda value: value <= 2.0),
    "ratio_p99": ("≤ 4.0×", lambda value: value <= 4.0),
    "batch_1": ("≥ 40,000 results/s", lambda value: value >= 40_000),
    "batch_ratio": ("≥ 1.7×", lambda value: value >= 1.7),
    "analytics_time": ("≤ 4 s", lambda value: value <= 4),
    "analytics_rss": ("≤ 128 MiB", lambda value: value <= 128),
    "from_rules": ("≤ 50 ms", lambda value: value <= 50),
    "help": ("≤ 250 ms", lambda value: value <= 250),
}


def table(figures: dict[str, Figure], smoke: bool) -> str:
    rows = ["| measure | min | median | target | met |", "| --- | --- | --- | --- | --- |"]
    for key, figure in figures.items():
        target, check = TARGETS.get(key, ("", None))
        met = "" if check is None or smoke else ("yes" if check(figure.median) else "**no**")
        rows.append(
            f"| {figure.name} | {_show(figure.min, figure.unit)} | {_show(figure.median, figure.unit)} | {target} | {met} |"
        )
    return "\n".join(rows)


def _show(value: float, unit: str) -> str:
    if unit == "results/s":
        return f"{value:,.0f} {unit}"
    return f"{value:,.2f} {unit}" if unit in ("×", "s") else f"{value:,.1f} {unit}"


def machine() -> str:
    cores = os.cpu_count()
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("profiler-rules", "pydantic", "pydantic-core", "PyYAML", "jsonschema", "pluggy")
    )
    return (
        f"{platform.machine()}, {cores} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; {versions}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, no timing claims")
    args = parser.parse_args()
    sizes = SMOKE if args.smoke else FULL
    figures: dict[str, Figure] = {}
    with tempfile.TemporaryDirectory() as temporary:
        workdir = Path(temporary)
        figures.update(measure_latency(sizes))
        figures.update(measure_batch(sizes, workdir))
        figures.update(measure_analytics(sizes, workdir))
        figures.update(measure_cold_start(sizes))
    report = f"Machine: {machine()}\n\n{table(figures, args.smoke)}\n"
    print(report)
    if not args.smoke:
        results = HERE / "RESULTS.md"
        text = results.read_text() if results.exists() else "# Benchmark results\n"
        marker = "<!-- bench/run.py -->"
        head, _, tail = text.partition(marker)
        tail = tail.split("<!-- /bench/run.py -->", 1)[-1] if tail else ""
        results.write_text(f"{head}{marker}\n{report}<!-- /bench/run.py -->{tail}")


if __name__ == "__main__":
    main()
