"""Answers over many results read on worker processes: the same answer, the same counts, failures named."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from profiler_rules import Dispatcher, ProfilerResult, ProfilerRulesError, ResultStream

from .conftest import run_cli
from .test_analytics import ADMIN, generate_cohort


def cohort_lines() -> tuple[list[str], list[dict[str, object]]]:
    """The analytics test cohort as JSON lines, with invalid lines among them (bad JSON, a bad score,
    a missing user) so that counting and naming them is compared too."""
    results, roster = generate_cohort(seed=5)
    lines = [json.dumps(item) for item in results * 60]  # more chunks than workers
    for position in range(7, len(lines), 97):
        lines[position] = ("{not json", '{"session_id": "x", "user_id": "u", "scores": {"overall": 120}}', "{}")[
            position % 3
        ]
    return lines, roster


@pytest.mark.parametrize("scope", [{"sponsor_id": "s-1"}, {"cohort_id": "c-a"}, {}])
def test_workers_give_the_answer_of_one_process(dispatcher: Dispatcher, scope: dict[str, str]) -> None:
    lines, roster = cohort_lines()
    one = dispatcher.analytics(lines, viewer=ADMIN, roster=roster, **scope)
    two = dispatcher.analytics(lines, viewer=ADMIN, roster=roster, workers=2, **scope)
    assert one.output is not None and one.output.profiled > 0
    assert one.results_invalid > 20  # more than are listed, so the "... and N more" line is compared too
    assert two.model_dump_json() == one.model_dump_json()


def test_the_command_line_reads_on_workers(tmp_path: Path) -> None:
    lines, _ = cohort_lines()
    source = tmp_path / "cohort.jsonl"
    source.write_text("\n".join(lines) + "\n")
    common = ["analytics", str(source), "--viewer", json.dumps(ADMIN), "--sponsor", "s-1"]
    one, two = run_cli(*common), run_cli(*common, "--workers", "2")
    assert one.code == two.code == 1  # invalid lines were left out
    assert two.stdout == one.stdout and json.loads(one.stdout)["results_invalid"] > 0


def count(results: Iterable[ProfilerResult]) -> int:
    return sum(1 for _ in results)


def total(counts: Sequence[int]) -> int:
    return sum(counts)


def fail_on_learner(results: Iterable[ProfilerResult], learner: str) -> int:
    for result in results:
        if result.user_id == learner:
            raise ValueError(f"cannot fold {learner}")
    return 0


def die(results: Iterable[ProfilerResult]) -> int:
    next(iter(results))
    os._exit(3)


def valid_lines(number: int) -> list[str]:
    return [json.dumps({"session_id": f"s-{index}", "user_id": f"u-{index}"}) for index in range(number)]


def test_a_stream_folds_in_shares_and_counts_every_line() -> None:
    lines = valid_lines(9_000) + ["not json"] * 3
    stream = ResultStream(lines, workers=3)
    assert stream.fold(count, total) == 9_000
    assert (stream.read, stream.invalid) == (9_003, 3)
    assert [problem.split(" left out")[0] for problem in stream.problems()] == [
        "result #9001",
        "result #9002",
        "result #9003",
    ]


def test_a_fold_failing_in_a_worker_is_an_error_naming_it() -> None:
    stream = ResultStream(valid_lines(6_000), workers=2)
    with pytest.raises(ProfilerRulesError, match="a worker failed: ValueError: cannot fold u-4500"):
        stream.fold(fail_on_learner, total, "u-4500")


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    stream = ResultStream(valid_lines(50_000), workers=2)
    with pytest.raises(ProfilerRulesError, match="a worker process died"):
        stream.fold(die, total)
