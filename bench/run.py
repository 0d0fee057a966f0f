"""The benchmark suite: every target of issue 12 as a same-run ratio against the hand-written floor
(bench/floor/), or against the dependencies' own import.

    python bench/run.py            # full sizes; prints the tables and writes bench/RESULTS.md
    python bench/run.py --smoke    # small sizes, no timing claims: CI runs this so the suite never rots

These machines are noisy: every figure is taken over several repeats (min and median shown), the two
sides of a ratio are measured alternately in the same run, and each ratio is taken repeat by repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import floor  # noqa: E402 - bench/floor, found through the path set just above
import make_cohort  # noqa: E402
from floor import check as floor_check  # noqa: E402
from floor.samples import load_catalogs, load_example, sample_results  # noqa: E402

from profiler_rules import Dispatcher  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    latency_calls: int
    raw_calls: int
    scaling_calls: int
    repeats: int
    batch_lines: int
    analytics_results: int
    analytics_learners: int
    cold_runs: int
    check_results: int


FULL = Sizes(
    latency_calls=5_000,
    raw_calls=500,
    scaling_calls=500,
    repeats=5,
    batch_lines=100_000,  # long enough that starting up (the cold-start rows) is a small part of a run
    analytics_results=1_000_000,
    analytics_learners=100_000,
    cold_runs=10,
    check_results=500,
)
SMOKE = Sizes(
    latency_calls=100,
    raw_calls=20,
    scaling_calls=20,
    repeats=2,
    batch_lines=300,
    analytics_results=2_000,
    analytics_learners=500,
    cold_runs=2,
    check_results=50,
)
ADMIN = floor_check.ADMIN
RECIPE_SIZES = (10, 100, 1_000)
JOB_SIZES = (10, 100, 1_000)
CATEGORY_SIZES = (2, 8, 32)
DEPENDENCIES = ("pydantic", "jsonschema", "yaml", "pluggy")
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


@dataclass(frozen=True)
class Target:
    """One target of the issue: the figure it reads (a ratio, mostly), its goal in words and its test."""

    key: str
    what: str
    compared: tuple[str, ...]  # the figures the ratio is taken between, shown beside it
    goal: str
    met: Callable[[float], bool]


# ---------------------------------------------------------------------------------------------------
# per-result latency
# ---------------------------------------------------------------------------------------------------
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


def ratios(name: str, mine: list[float], theirs: list[float]) -> Figure:
    """``mine / theirs``, repeat by repeat."""
    return Figure(name, tuple(a / b for a, b in zip(mine, theirs, strict=True)), "×")


def measure_latency(sizes: Sizes, dispatcher: Dispatcher) -> dict[str, Figure]:
    """Dispatch against the floor per result, with and without explanations: admin viewer, the bundled
    catalogs prepared once by each side, varied results; the four alternate within each repeat."""
    results = sample_results(sizes.latency_calls)
    catalogs = load_catalogs()
    prepared = dispatcher.prepare_catalogs(catalogs)
    by_hand = floor.prepare_catalogs(catalogs)
    dispatcher.dispatch(results[0], viewer=ADMIN, catalogs=prepared)  # warm: the first call builds lazy lookups
    rows: dict[str, list[float]] = {
        key: [] for key in ("floor", "dispatch", "floor_99", "dispatch_99", "floor_q", "quiet")
    }
    for _ in range(sizes.repeats):
        mine = latencies(lambda item: floor.dispatch(item, ADMIN, by_hand), results)
        theirs = latencies(
            lambda item: dispatcher.dispatch(item, viewer=ADMIN, catalogs=prepared, explain=True), results
        )
        mine_quiet = latencies(lambda item: floor.dispatch(item, ADMIN, by_hand, explain=False), results)
        quiet = latencies(
            lambda item: dispatcher.dispatch(item, viewer=ADMIN, catalogs=prepared, explain=False), results
        )
        rows["floor"].append(statistics.median(mine))
        rows["dispatch"].append(statistics.median(theirs))
        rows["floor_99"].append(percentile(mine, 0.99))
        rows["dispatch_99"].append(percentile(theirs, 0.99))
        rows["floor_q"].append(statistics.median(mine_quiet))
        rows["quiet"].append(statistics.median(quiet))
    return {
        "floor_p50": Figure("floor, p50, with explanations", tuple(rows["floor"]), "µs"),
        "dispatch_p50": Figure("Dispatcher.dispatch, p50, with explanations", tuple(rows["dispatch"]), "µs"),
        "ratio_p50": ratios("dispatch p50 / floor p50, with explanations", rows["dispatch"], rows["floor"]),
        "floor_p99": Figure("floor, p99, with explanations", tuple(rows["floor_99"]), "µs"),
        "dispatch_p99": Figure("Dispatcher.dispatch, p99, with explanations", tuple(rows["dispatch_99"]), "µs"),
        "ratio_p99": ratios("dispatch p99 / floor p99, with explanations", rows["dispatch_99"], rows["floor_99"]),
        "floor_quiet_p50": Figure("floor, p50, without explanations", tuple(rows["floor_q"]), "µs"),
        "quiet_p50": Figure("Dispatcher.dispatch(explain=False), p50", tuple(rows["quiet"]), "µs"),
        "ratio_quiet": ratios("dispatch p50 / floor p50, without explanations", rows["quiet"], rows["floor_q"]),
    }


def measure_engines(sizes: Sizes, dispatcher: Dispatcher) -> dict[str, Figure]:
    """Each engine alone (``engines=[name]``, with explanations) against the floor's same engine: where
    the distance to the floor is. Each includes its side's fixed cost (reading the result, the report)."""
    results = sample_results(sizes.latency_calls // 5, seed=23)
    catalogs = load_catalogs()
    prepared = dispatcher.prepare_catalogs(catalogs)
    by_hand = floor.prepare_catalogs(catalogs)
    figures: dict[str, Figure] = {}
    for name in floor.NAMES:
        mine, theirs = [], []
        for _ in range(sizes.repeats):
            mine.append(statistics.median(latencies(partial(_floor_engine, name, by_hand), results)))
            theirs.append(statistics.median(latencies(partial(_dispatch_engine, dispatcher, name, prepared), results)))
        figures[f"engine_{name}"] = Figure(
            f"{name} alone, p50: dispatch {statistics.median(theirs):,.1f} µs, floor {statistics.median(mine):,.1f} µs;"
            " dispatch / floor",
            tuple(a / b for a, b in zip(theirs, mine, strict=True)),
            "×",
        )
    return figures


def _floor_engine(name: str, catalogs: Any, item: dict) -> object:
    return floor.dispatch(item, ADMIN, catalogs, engines=(name,))


def _dispatch_engine(dispatcher: Dispatcher, name: str, catalogs: Any, item: dict) -> object:
    return dispatcher.dispatch(item, viewer=ADMIN, catalogs=catalogs, engines=[name], explain=True)


def many_recipes(count: int, seed: int = 5) -> list[dict[str, Any]]:
    """``count`` recipes teaching the rules' skill codes (and some they do not call for), varied usage
    and rating, a few inactive."""
    rng = random.Random(seed)
    codes = ["NET", "DNS", "SEC", "SIEM", "PYTHON", "BASH", "LINUX", "CLOUD", "AWS", "CRYPTO", "DFIR", "WEB",
             "XSS", "TECH", "BASICS", "COMM", "LEAD", "DOC", "GRC", "OSINT"]  # fmt: skip
    return [
        {
            "id": f"r-{index}",
            "title": f"Recipe {index}",
            "skill_codes": rng.sample(codes, rng.randint(1, 4)),
            "is_active": rng.random() > 0.05,
            "usage_count": rng.randint(0, 5_000),
            "avg_rating": None if rng.random() < 0.1 else round(rng.uniform(1, 5), 1),
        }
        for index in range(count)
    ]


def many_jobs(count: int, seed: int = 6) -> list[dict[str, Any]]:
    """``count`` jobs over the tracks, levels, skills and traits the sample results name."""
    rng = random.Random(seed)
    skills = ["networking", "security", "programming", "linux", "cloud", "forensics", "web", "cryptography"]
    traits = ["teamwork", "communication", "curiosity", "leadership", "analytical thinking"]
    return [
        {
            "id": f"job-{index}",
            "title": f"Job {index}",
            "track_key": rng.choice(["defender", "offensive", "innovation", "leadership", "grc"]),
            "required_skills": rng.sample(skills, rng.randint(1, 4)),
            "job_level": rng.choice(["entry", "mid", "senior", "expert"]),
            "culture_fit": rng.sample(traits, rng.randint(0, 3)),
        }
        for index in range(count)
    ]


def p50_of(dispatcher: Dispatcher, results: list[dict], catalogs: Any, repeats: int) -> list[float]:
    """The p50 of a dispatch (admin viewer) over ``results`` with ``catalogs`` as given, each repeat."""
    dispatcher.dispatch(results[0], viewer=ADMIN, catalogs=catalogs)  # warm
    return [
        statistics.median(latencies(lambda item: dispatcher.dispatch(item, viewer=ADMIN, catalogs=catalogs), results))
        for _ in range(repeats)
    ]


def measure_raw_catalogs(sizes: Sizes, dispatcher: Dispatcher) -> dict[str, Figure]:
    """The same raw catalogs passed on every call (as a host reading them once would) against the same
    catalogs prepared once: with the bundled catalogs and with 1,000 recipes added."""
    results = sample_results(sizes.raw_calls, seed=13)
    figures: dict[str, Figure] = {}
    bundled = load_catalogs()
    for label, raw in (("bundled", bundled), ("1,000 recipes", {**bundled, "recipes": many_recipes(1_000)})):
        prepared = dispatcher.prepare_catalogs(raw)
        raw_p50, prepared_p50 = [], []
        for _ in range(sizes.repeats):
            raw_p50.extend(p50_of(dispatcher, results, raw, 1))
            prepared_p50.extend(p50_of(dispatcher, results, prepared, 1))
        figures[f"raw_{label}"] = Figure(f"raw catalogs passed each call, {label}, p50", tuple(raw_p50), "µs")
        figures[f"prepared_{label}"] = Figure(f"prepared catalogs, {label}, p50", tuple(prepared_p50), "µs")
        figures[f"ratio_raw_{label}"] = ratios(f"raw catalogs / prepared, {label}", raw_p50, prepared_p50)
    return figures


def _with_categories(count: int, seed: int = 17) -> list[dict[str, Any]]:
    """Complete results whose aptitude breakdown has ``count`` categories, all below the cutoff (each a
    gap): the rules' ten categories first, then names the rules do not know."""
    names = ["networking", "security", "programming", "linux", "windows", "cloud", "cryptography", "forensics",
             "malware", "web"] + [f"topic {index}" for index in range(count)]  # fmt: skip
    rng = random.Random(seed)
    example = load_example()
    return [
        {
            **example,
            "session_id": f"c-{index}",
            "aptitude_breakdown": {name: round(rng.uniform(0, 59), 2) for name in names[:count]},
        }
        for index in range(200)
    ]


def measure_scaling(sizes: Sizes, dispatcher: Dispatcher) -> dict[str, Figure]:
    """Dispatch p50 (prepared catalogs) at a few catalog sizes and aptitude category counts, and the
    cost each further item adds between sizes: linear means that cost does not grow with the size."""
    results = sample_results(sizes.scaling_calls, seed=19)
    bundled = load_catalogs()
    figures: dict[str, Figure] = {}
    for kind, unit_name, sizes_of, make in (
        ("recipes", "recipe", RECIPE_SIZES, many_recipes),
        ("jobs", "job", JOB_SIZES, many_jobs),
    ):
        p50s = {}
        for size in sizes_of:
            catalogs = dispatcher.prepare_catalogs({**bundled, kind: make(size)})
            p50s[size] = p50_of(dispatcher, results, catalogs, sizes.repeats)
            figures[f"{kind}_{size}"] = Figure(f"dispatch p50 with {size:,} {kind}", tuple(p50s[size]), "µs")
        figures.update(_per_item(kind, unit_name, p50s))
    p50s = {}
    for count in CATEGORY_SIZES:
        p50s[count] = p50_of(dispatcher, _with_categories(count), load_catalogs(), sizes.repeats)
        figures[f"categories_{count}"] = Figure(
            f"dispatch p50 with {count} aptitude categories", tuple(p50s[count]), "µs"
        )
    figures.update(_per_item("categories", "category", p50s))
    return figures


def _per_item(kind: str, unit_name: str, p50s: dict[int, list[float]]) -> dict[str, Figure]:
    """The cost each further item adds between consecutive sizes, and the last step's over the first's."""
    steps = list(p50s)
    figures = {}
    per_step = []
    for small, large in zip(steps, steps[1:], strict=False):
        costs = tuple((b - a) / (large - small) for a, b in zip(p50s[small], p50s[large], strict=True))
        per_step.append(costs)
        figures[f"{kind}_per_{small}_{large}"] = Figure(f"  per {unit_name}, from {small:,} to {large:,}", costs, "µs")
    first, last = per_step[0], per_step[-1]
    figures[f"{kind}_linear"] = Figure(
        f"per {unit_name} from {steps[-2]:,} to {steps[-1]:,} / from {steps[0]:,} to {steps[1]:,}",
        tuple(b / a for a, b in zip(first, last, strict=True)),
        "×",
    )
    return figures


# ---------------------------------------------------------------------------------------------------
# processes: batch, analytics, cold start
# ---------------------------------------------------------------------------------------------------
def run_measured(command: list[str], stdout: Path | None = None, cwd: Path | None = None) -> tuple[float, float]:
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
        cwd=cwd,
    )
    elapsed, peak, code = run.stdout.split()
    if int(code) not in (0, 1):
        raise RuntimeError(f"{command} exited {code}")
    return float(elapsed), float(peak)


def measure_batch(sizes: Sizes, workdir: Path) -> dict[str, Figure]:
    """``profiler-rules dispatch X.jsonl --output Y`` (one process, bundled catalogs, admin viewer)
    against the floor's batch on the same lines (bench/floor/batch.py: read, json.loads, dispatch,
    json.dumps, write), with and without explanations; each a fresh process, alternating."""
    source = workdir / "batch.jsonl"
    source.write_text("".join(json.dumps(item) + "\n" for item in sample_results(sizes.batch_lines, seed=11)))
    catalogs = workdir / "catalogs.json"
    catalogs.write_text(json.dumps(load_catalogs()))
    common = [
        str(source),
        "--output",
        str(workdir / "out.jsonl"),
        "--catalogs",
        str(catalogs),
        "--viewer",
        json.dumps(ADMIN),
    ]
    cli = [sys.executable, "-m", "profiler_rules", "dispatch", *common]
    by_hand = [sys.executable, "-m", "floor.batch", *common]
    rates: dict[str, list[float]] = {key: [] for key in ("floor", "cli", "floor_q", "cli_q")}
    for _ in range(sizes.repeats):
        rates["floor"].append(sizes.batch_lines / run_measured(by_hand, cwd=HERE)[0])
        rates["cli"].append(sizes.batch_lines / run_measured(cli)[0])
        rates["floor_q"].append(sizes.batch_lines / run_measured([*by_hand, "--no-explain"], cwd=HERE)[0])
        rates["cli_q"].append(sizes.batch_lines / run_measured([*cli, "--no-explain"])[0])
    return {
        "batch_floor": Figure("floor batch JSONL → JSONL, with explanations", tuple(rates["floor"]), "results/s"),
        "batch_cli": Figure(
            "profiler-rules dispatch JSONL → JSONL, with explanations", tuple(rates["cli"]), "results/s"
        ),
        "batch_ratio": ratios("batch rate / floor batch rate, with explanations", rates["cli"], rates["floor"]),
        "batch_floor_quiet": Figure("floor batch, without explanations", tuple(rates["floor_q"]), "results/s"),
        "batch_cli_quiet": Figure("profiler-rules dispatch --no-explain", tuple(rates["cli_q"]), "results/s"),
        "batch_ratio_quiet": ratios(
            "batch rate / floor batch rate, without explanations", rates["cli_q"], rates["floor_q"]
        ),
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
    """Whole processes, alternating: one importing only the dependencies, one building the dispatcher
    (importing profiler_rules included), and ``profiler-rules --help``."""
    dependencies = [sys.executable, "-c", "; ".join(f"import {name}" for name in DEPENDENCIES)]
    build = [sys.executable, "-c", "from profiler_rules import Dispatcher; Dispatcher.from_rules()"]
    helps = [sys.executable, "-m", "profiler_rules", "--help"]
    run_measured([sys.executable, "-m", "profiler_rules", "check"])  # writes the bytecode, as an install does
    found: dict[str, list[float]] = {"deps": [], "build": [], "help": []}
    for _ in range(sizes.cold_runs):
        found["deps"].append(run_measured(dependencies)[0] * 1000)
        found["build"].append(run_measured(build)[0] * 1000)
        found["help"].append(run_measured(helps)[0] * 1000)
    return {
        "cold_deps": Figure(f"a process importing {', '.join(DEPENDENCIES)}", tuple(found["deps"]), "ms"),
        "cold_build": Figure(
            "a process building the dispatcher (Dispatcher.from_rules())", tuple(found["build"]), "ms"
        ),
        "cold_help": Figure("profiler-rules --help", tuple(found["help"]), "ms"),
        "cold_ratio": ratios("building the dispatcher / importing the dependencies", found["build"], found["deps"]),
        "help_ratio": ratios("--help / importing the dependencies", found["help"], found["deps"]),
    }


# ---------------------------------------------------------------------------------------------------
# the tables
# ---------------------------------------------------------------------------------------------------
TARGETS = (
    Target("ratio_p50", "dispatch p50, with explanations", ("dispatch_p50", "floor_p50"), "≤ 1.5× the floor", lambda v: v <= 1.5),
    Target("ratio_p99", "dispatch p99, with explanations (shown, no goal of its own)", ("dispatch_p99", "floor_p99"), "", lambda v: True),
    Target("ratio_quiet", "dispatch p50, explain=False", ("quiet_p50", "floor_quiet_p50"), "≤ 1.2× the floor without explanations", lambda v: v <= 1.2),
    Target("ratio_raw_bundled", "raw catalogs each call, bundled catalogs", ("raw_bundled", "prepared_bundled"), "≤ 1.1× prepared", lambda v: v <= 1.1),
    Target("ratio_raw_1,000 recipes", "raw catalogs each call, 1,000 recipes", ("raw_1,000 recipes", "prepared_1,000 recipes"), "≤ 1.1× prepared", lambda v: v <= 1.1),
    Target("batch_ratio", "batch JSONL → JSONL, one core, with explanations", ("batch_cli", "batch_floor"), "≥ 0.5× the floor's rate", lambda v: v >= 0.5),
    Target("batch_ratio_quiet", "batch JSONL → JSONL, one core, --no-explain", ("batch_cli_quiet", "batch_floor_quiet"), "≥ 0.7× the floor's rate", lambda v: v >= 0.7),
    Target("analytics_time", "analytics over 1,000,000 results", (), "≤ 4 s", lambda v: v <= 4),
    Target("analytics_rss", "analytics peak RSS", (), "as now: ≤ 128 MiB (66 MiB before)", lambda v: v <= 128),
    Target("recipes_linear", "cost per recipe stays linear", ("recipes_per_10_100", "recipes_per_100_1000"), "per-item cost does not grow: ≤ 1.5×", lambda v: v <= 1.5),
    Target("jobs_linear", "cost per job stays linear", ("jobs_per_10_100", "jobs_per_100_1000"), "per-item cost does not grow: ≤ 1.5×", lambda v: v <= 1.5),
    Target("categories_linear", "cost per aptitude category stays linear", ("categories_per_2_8", "categories_per_8_32"), "per-item cost does not grow: ≤ 1.5×", lambda v: v <= 1.5),
    Target("cold_ratio", "cold start: building the dispatcher", ("cold_build", "cold_deps"), "≤ 1.5× importing the dependencies", lambda v: v <= 1.5),
    Target("help_ratio", "cold start: --help", ("cold_help", "cold_deps"), "< 1× importing the dependencies", lambda v: v < 1),
)  # fmt: skip


def targets_table(figures: dict[str, Figure], smoke: bool) -> str:
    rows = [
        "| target | figures (median) | ratio (median; min-max) | goal | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for target in TARGETS:
        figure = figures[target.key]
        shown = " vs ".join(_show(figures[key].median, figures[key].unit) for key in target.compared)
        spread = f"{_show(figure.median, figure.unit)}; {_show(figure.min, figure.unit)}-{_show(max(figure.values), figure.unit)}"
        met = "" if smoke or not target.goal else ("yes" if target.met(figure.median) else "**no**")
        rows.append(f"| {target.what} | {shown} | {spread} | {target.goal} | {met} |")
    return "\n".join(rows)


def figures_table(figures: dict[str, Figure]) -> str:
    rows = ["| measure | min | median |", "| --- | --- | --- |"]
    rows.extend(
        f"| {figure.name} | {_show(figure.min, figure.unit)} | {_show(figure.median, figure.unit)} |"
        for figure in figures.values()
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
    compared = floor_check.check_all(sizes.check_results)  # the floor decides and explains as the engines do
    dispatcher = Dispatcher.from_rules(entry_points=False)
    figures: dict[str, Figure] = {}
    with tempfile.TemporaryDirectory() as temporary:
        workdir = Path(temporary)
        figures.update(measure_latency(sizes, dispatcher))
        figures.update(measure_engines(sizes, dispatcher))
        figures.update(measure_raw_catalogs(sizes, dispatcher))
        figures.update(measure_scaling(sizes, dispatcher))
        figures.update(measure_batch(sizes, workdir))
        figures.update(measure_analytics(sizes, workdir))
        figures.update(measure_cold_start(sizes))
    report = (
        f"Machine: {machine()}\n\nThe floor agreed with the dispatcher on {compared:,} reports before timing.\n\n"
        f"### Targets\n\n{targets_table(figures, args.smoke)}\n\n### Every measure\n\n{figures_table(figures)}\n"
    )
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
