"""Safe hot reload: tested before it serves, swapped whole, the last good rules kept on any failure."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from profiler_rules import Dispatcher, ProfilerRulesError

from .conftest import edit, result

CUTOFF = "  gap_cutoff: 60\n\ntechnical_exposure:"


def set_cutoff(rules_dir: Path, value: str) -> None:
    """Rewrite recipes.yaml with another aptitude cutoff, atomically (as editors save)."""
    path = rules_dir / "recipes.yaml"
    text = path.read_text()
    start = text.index("aptitude:\n")
    line_start = text.index("  gap_cutoff:", start)
    line_end = text.index("\n", line_start)
    fresh = path.with_suffix(".tmp")
    fresh.write_text(text[:line_start] + f"  gap_cutoff: {value}" + text[line_end:])
    os.replace(fresh, path)


def drop_tests(rules_dir: Path) -> None:
    for path in (rules_dir / "tests").glob("*.yaml"):
        path.unlink()


def has_gap(report: object, category: str = "networking") -> bool:
    return any(gap.category == category for gap in report.engines["recipes"].output.gaps)  # type: ignore[attr-defined]


def test_a_good_change_serves_after_reload(rules_dir: Path) -> None:
    drop_tests(rules_dir)
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    before = dispatcher.ruleset.digest
    fifty_five = result(aptitude_breakdown={"networking": 55})
    assert has_gap(dispatcher.dispatch(fifty_five))
    set_cutoff(rules_dir, "50")
    outcome = dispatcher.reload()
    assert outcome.ok and outcome.digest != before
    assert not has_gap(dispatcher.dispatch(fifty_five))
    status = dispatcher.status()
    assert (status.digest, status.last_error) == (outcome.digest, ())
    assert status.loaded_at == status.last_attempt_at


def test_broken_rules_never_serve_and_the_error_is_kept(rules_dir: Path) -> None:
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    before = dispatcher.status()
    set_cutoff(rules_dir, "sixty")
    outcome = dispatcher.reload()
    assert not outcome.ok
    assert outcome.digest == before.digest
    assert "'sixty' is not of type 'number' [aptitude.gap_cutoff]" in outcome.problems[0]
    status = dispatcher.status()
    assert (status.digest, status.loaded_at) == (before.digest, before.loaded_at)
    assert status.last_error == outcome.problems
    assert status.last_attempt_at > before.last_attempt_at
    assert has_gap(dispatcher.dispatch(result(aptitude_breakdown={"networking": 55})))


def test_rules_that_fail_their_tests_never_serve(rules_dir: Path) -> None:
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    before = dispatcher.ruleset.digest
    edit(rules_dir / "missions.yaml", "  intermediate: 2", "  intermediate: 3")  # valid; the packaged tests expect 2
    outcome = dispatcher.reload()
    assert not outcome.ok
    assert outcome.problems and all(
        problem.startswith("rule test failed: missions.yaml::") for problem in outcome.problems
    )
    assert dispatcher.ruleset.digest == before
    assert (
        dispatcher.dispatch(result(difficulty_selection="intermediate")).engines["missions"].output.max_difficulty == 2
    )


def test_a_fixed_rule_set_serves_again_and_clears_the_error(rules_dir: Path) -> None:
    drop_tests(rules_dir)
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    set_cutoff(rules_dir, "sixty")
    assert not dispatcher.reload().ok
    set_cutoff(rules_dir, "55")
    assert dispatcher.reload().ok
    assert dispatcher.status().last_error == ()


def test_threads_dispatching_through_good_and_broken_reloads_see_whole_rule_sets(rules_dir: Path) -> None:
    """Readers never see a broken rule set nor a mix: every report's digest decides as its rules say."""
    # Switch threads twenty times as often as usual: more interleavings, and the reloader, which waits
    # on file reads, is not starved by the readers (the GIL convoy).
    previous = sys.getswitchinterval()
    drop_tests(rules_dir)
    cutoffs = {}
    for value in ("60", "50"):
        set_cutoff(rules_dir, value)
        cutoffs[Dispatcher.from_rules(rules_dir, entry_points=False).ruleset.digest] = float(value)
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    stop = threading.Event()
    failures: list[str] = []
    seen: set[str] = set()

    def reader() -> None:
        item = result(aptitude_breakdown={"networking": 55})
        while not stop.is_set():
            report = dispatcher.dispatch(item)
            digest = report.ruleset.digest
            seen.add(digest)
            if digest not in cutoffs:
                failures.append(f"served an unknown rule set {digest}")
            elif has_gap(report) != (cutoffs[digest] > 55):
                failures.append(f"{digest} decided against its cutoff {cutoffs[digest]}")

    readers = [threading.Thread(target=reader) for _ in range(4)]
    outcomes = []
    sys.setswitchinterval(previous / 20)
    try:
        for thread in readers:
            thread.start()
        for round_ in range(30):
            set_cutoff(rules_dir, ("50", "sixty", "60", "")[round_ % 4])
            outcomes.append(dispatcher.reload().ok)
    finally:
        stop.set()
        for thread in readers:
            thread.join()
        sys.setswitchinterval(previous)
    assert failures == []
    assert seen == set(cutoffs), "both good rule sets served"
    assert outcomes.count(False) == 15, "every broken rule set was refused"


def test_the_watcher_reloads_on_change(rules_dir: Path) -> None:
    drop_tests(rules_dir)
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    before = dispatcher.ruleset.digest
    with dispatcher.watch(debounce_ms=50) as watcher:
        set_cutoff(rules_dir, "50")
        deadline = time.monotonic() + 10
        while dispatcher.ruleset.digest == before and time.monotonic() < deadline:
            time.sleep(0.05)
    assert dispatcher.ruleset.digest != before
    assert watcher.reloads >= 1 and watcher.last_result is not None


def test_the_packaged_rules_cannot_be_watched() -> None:
    with pytest.raises(ProfilerRulesError, match="only a rules directory can be watched"):
        Dispatcher.from_rules(entry_points=False).watch()
