"""Analytics: dashboards against a plain recomputation, date ranges, empty scopes, bounded memory."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from profiler_rules import Dispatcher, InvalidInputError
from profiler_rules.plugins.analytics import dashboard

from .conftest import EXAMPLES, run_cli

ADMIN = {"user_id": "admin-1", "roles": ["admin"]}
BANDS = (("novice", 40), ("beginner", 60), ("intermediate", 80), ("advanced", None))


def generate_cohort(seed: int = 11) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Results with repeat sessions, zeros, unknowns, incomplete sessions, and roster learners without results."""
    rng = random.Random(seed)
    roster, results = [], []
    for index in range(120):
        user = f"u-{index:03}"
        cohort = ("c-a", "c-b", "c-c")[index % 3]
        sponsor = "s-1" if cohort != "c-c" else "s-2"
        roster.append(
            {
                "user_id": user,
                "cohort_id": cohort,
                "sponsor_id": sponsor,
                "name": f"Learner {index}",
                "email": f"{user}@x.io",
            }
        )
        for session in range(rng.choice([0, 1, 1, 2, 3])):
            aptitude = rng.choice([None, 0, 0.0, round(rng.uniform(0, 100), 2)])
            overall = rng.choice([None, 0, 40, 60, 80, round(rng.uniform(0, 100), 2)])
            when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))
            results.append(
                {
                    "session_id": f"{user}-{session}",
                    "user_id": user,
                    "status": rng.choice(["finished", "locked", "locked", "in_progress"]),
                    "completed_at": when.isoformat(),
                    "scores": {"aptitude": aptitude, "overall": overall},
                    "recommended_track": rng.choice([None, "defender", "offensive", "grc"]),
                    "strengths": rng.sample(["curiosity", "teamwork", "grit", "focus"], rng.randint(0, 2)),
                    "cohort_id": cohort,
                    "sponsor_id": sponsor,
                }
            )
    rng.shuffle(results)
    return results, roster


def recompute(
    results: list[dict[str, Any]],
    roster: list[dict[str, Any]],
    cohort: str | None,
    sponsor: str | None,
    start: date | None,
    end: date | None,
) -> dict[str, Any]:
    """The dashboard the plain way: whole lists, no streaming, no cleverness."""
    members = {
        row["user_id"]
        for row in roster
        if (cohort is None or row["cohort_id"] == cohort) and (sponsor is None or row["sponsor_id"] == sponsor)
    }
    latest: dict[str, dict[str, Any]] = {}
    for result in results:
        when = datetime.fromisoformat(result["completed_at"])
        if result["status"] not in ("finished", "locked") or result["user_id"] not in members:
            continue
        if (start and when.date() < start) or (end and when.date() > end):
            continue
        kept = latest.get(result["user_id"])
        if kept is None or (datetime.fromisoformat(kept["completed_at"]), kept["session_id"]) < (
            when,
            result["session_id"],
        ):
            latest[result["user_id"]] = result
    aptitude = [r["scores"]["aptitude"] for r in latest.values() if r["scores"]["aptitude"] is not None]
    overall = [r["scores"]["overall"] for r in latest.values() if r["scores"]["overall"] is not None]
    readiness = Counter()
    for r in latest.values():
        score = r["scores"]["overall"]
        readiness[
            "unknown" if score is None else next(name for name, below in BANDS if below is None or score < below)
        ] += 1
    strengths = Counter(s for r in latest.values() for s in r["strengths"])
    tracks = Counter(r["recommended_track"] for r in latest.values() if r["recommended_track"])
    return {
        "enrolled": len(members),
        "profiled": len(latest),
        "profiled_percentage": round(len(latest) * 100 / len(members), 2),
        "not_profiled": sorted(members - set(latest)),
        "track_distribution": dict(sorted(tracks.items(), key=lambda kv: (-kv[1], kv[0]))),
        "score_statistics": {
            "average_aptitude": round(sum(aptitude) / len(aptitude), 2),
            "average_overall": round(sum(overall) / len(overall), 2),
            "min_aptitude": min(aptitude),
            "max_aptitude": max(aptitude),
            "min_overall": min(overall),
            "max_overall": max(overall),
        },
        "top_strengths": [
            {"strength": s, "count": c} for s, c in sorted(strengths.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        ],
        "readiness_distribution": {name: readiness[name] for name, _ in BANDS} | {"unknown": readiness["unknown"]},
        "latest": {user: r["session_id"] for user, r in latest.items()},
    }


@pytest.mark.parametrize(
    ("cohort", "sponsor", "start", "end"),
    [
        ("c-a", None, None, None),
        (None, "s-1", None, None),
        ("c-b", "s-1", date(2026, 1, 10), date(2026, 2, 10)),
        (None, None, None, date(2026, 1, 31)),
    ],
)
def test_dashboard_matches_a_plain_recomputation(
    dispatcher: Dispatcher, cohort: str | None, sponsor: str | None, start: date | None, end: date | None
) -> None:
    results, roster = generate_cohort()
    report = dashboard(
        dispatcher,
        iter(results),
        viewer=ADMIN,
        cohort_id=cohort,
        sponsor_id=sponsor,
        roster=roster,
        date_from=start,
        date_to=end,
    )
    assert report.status == "ok"
    output = report.output.model_dump(mode="json")
    expected = recompute(results, roster, cohort, sponsor, start, end)
    for key in (
        "enrolled",
        "profiled",
        "profiled_percentage",
        "track_distribution",
        "score_statistics",
        "top_strengths",
        "readiness_distribution",
    ):
        assert output[key] == expected[key], key
    assert [learner["user_id"] for learner in output["not_profiled"]] == expected["not_profiled"]
    assert report.results_read == len(results)
    if cohort is not None:
        rows = {row["user_id"]: row for row in output["students"]}
        assert {user: row["session_id"] for user, row in rows.items() if row["profiled"]} == expected["latest"]
        assert len(rows) == expected["enrolled"]
    else:
        assert output["students"] is None


def test_zero_counts_and_unknown_does_not(dispatcher: Dispatcher) -> None:
    results = [
        {"session_id": "a", "user_id": "a", "status": "locked", "scores": {"aptitude": 0, "overall": 0}},
        {"session_id": "b", "user_id": "b", "status": "locked", "scores": {"aptitude": None, "overall": 90}},
    ]
    output = dashboard(dispatcher, results, viewer=ADMIN).output
    assert output.score_statistics.model_dump() == {
        "average_aptitude": 0.0,
        "average_overall": 45.0,
        "min_aptitude": 0.0,
        "max_aptitude": 0.0,
        "min_overall": 0.0,
        "max_overall": 90.0,
    }
    assert output.readiness_distribution == {"novice": 1, "beginner": 0, "intermediate": 0, "advanced": 1, "unknown": 0}


def test_date_to_includes_its_whole_day(dispatcher: Dispatcher) -> None:
    late = {"session_id": "a", "user_id": "a", "status": "locked", "completed_at": "2026-02-09T23:59:59Z"}
    after = {"session_id": "b", "user_id": "b", "status": "locked", "completed_at": "2026-02-10T00:00:00Z"}
    output = dashboard(dispatcher, [late, after], viewer=ADMIN, date_from="2026-02-09", date_to="2026-02-09").output
    assert output.profiled == 1


def test_latest_result_counts_once_whatever_the_order(dispatcher: Dispatcher) -> None:
    first = {
        "session_id": "1",
        "user_id": "a",
        "status": "locked",
        "completed_at": "2026-02-01T10:00:00Z",
        "recommended_track": "grc",
    }
    second = {
        "session_id": "2",
        "user_id": "a",
        "status": "locked",
        "completed_at": "2026-02-05T10:00:00Z",
        "recommended_track": "defender",
    }
    for order in ([first, second], [second, first]):
        output = dashboard(dispatcher, order, viewer=ADMIN, cohort_id=None).output
        assert (output.profiled, output.track_distribution) == (1, {"defender": 1})


def test_an_unknown_cohort_is_an_explicit_empty_answer(dispatcher: Dispatcher) -> None:
    results, roster = generate_cohort()
    report = dashboard(dispatcher, results, viewer=ADMIN, cohort_id="no-such-cohort", roster=roster)
    assert (report.output.enrolled, report.output.profiled, report.output.students) == (0, 0, ())
    assert report.warnings == ("no learner of the roster is in cohort 'no-such-cohort': the answer is empty",)
    without_roster = dashboard(dispatcher, results, viewer=ADMIN, sponsor_id="no-such-sponsor")
    assert (
        without_roster.output.enrolled,
        without_roster.output.profiled,
        without_roster.output.track_distribution,
    ) == (None, 0, {})
    assert without_roster.warnings == ("no complete result is in sponsor 'no-such-sponsor': the answer is empty",)


def test_without_a_roster_enrolment_is_unknown(dispatcher: Dispatcher) -> None:
    results, _ = generate_cohort()
    output = dashboard(dispatcher, results, viewer=ADMIN, cohort_id="c-a").output
    assert (output.enrolled, output.profiled_percentage, output.not_profiled) == (None, None, None)
    assert output.profiled > 0


def test_cohort_breakdown_is_keyed_by_cohort_id(dispatcher: Dispatcher) -> None:
    results, roster = generate_cohort()
    output = dashboard(dispatcher, results, viewer=ADMIN, sponsor_id="s-1", roster=roster).output
    assert list(output.cohort_breakdown) == ["c-a", "c-b"]
    assert sum(figures.enrolled for figures in output.cohort_breakdown.values()) == output.enrolled


def test_invalid_results_are_counted_named_and_left_out(dispatcher: Dispatcher) -> None:
    results = [
        {"session_id": "a", "user_id": "a", "status": "locked"},
        {"session_id": "b"},
        "{broken",
        {"session_id": "c", "user_id": "c", "status": "locked"},
    ]
    report = dashboard(dispatcher, results, viewer=ADMIN)
    assert (report.results_read, report.results_invalid, report.output.profiled) == (4, 2, 2)
    assert report.warnings[0] == "result #2 left out: invalid profiler result: user_id: Field required"
    assert report.warnings[1].startswith("result #3 left out: invalid profiler result:")


def test_bad_queries_are_typed_errors(dispatcher: Dispatcher) -> None:
    with pytest.raises(InvalidInputError) as raised:
        dashboard(dispatcher, [], viewer=ADMIN, date_from="2026-03-01", date_to="2026-02-01")
    assert raised.value.what == "analytics query"
    with pytest.raises(InvalidInputError) as raised:
        dashboard(dispatcher, [], viewer=ADMIN, roster=[{"cohort_id": "c"}])
    assert raised.value.fields == ("roster.0.user_id",)


def test_the_bundled_example_cohort_from_the_command_line() -> None:
    run = run_cli("analytics", "--example")
    assert run.code == 0, run.stderr
    report = run.json()
    assert report["status"] == "ok"
    output = report["output"]
    assert output["scope"]["cohort_id"] == "cohort-2026-spring"
    assert output["enrolled"] == 6 and output["profiled"] == 5
    assert [row["user_id"] for row in output["not_profiled"]] == ["learner-104"]


def test_the_command_line_denies_without_a_viewer() -> None:
    run = run_cli("analytics", str(EXAMPLES / "cohort.jsonl"), "--cohort", "cohort-2026-spring")
    assert run.code == 1
    assert run.json()["status"] == "denied"


def test_the_command_line_reports_invalid_lines(tmp_path: Path) -> None:
    source = tmp_path / "results.jsonl"
    source.write_text('{"session_id": "a", "user_id": "a", "status": "locked"}\n{nope\n')
    run = run_cli("analytics", str(source), "--viewer", json.dumps(ADMIN))
    assert run.code == 1
    assert run.json()["results_invalid"] == 1
    assert "profiler-rules: warning: line 2: invalid JSON: key must be a string at column 2" in run.stderr


def test_a_line_that_is_not_utf8_is_that_lines_error(tmp_path: Path) -> None:
    source = tmp_path / "results.jsonl"
    good = b'{"session_id": "a", "user_id": "a", "status": "locked"}\n'
    source.write_bytes(good + b'{"session_id": "\xff", "user_id": "b"}\n' + good.replace(b'"a"', b'"c"'))
    run = run_cli("analytics", str(source), "--viewer", json.dumps(ADMIN))
    assert run.code == 1 and "Traceback" not in run.stderr
    report = run.json()
    assert (report["results_read"], report["results_invalid"], report["output"]["profiled"]) == (3, 1, 2)
    assert "line 2: not UTF-8: byte 0xff at column 17" in run.stderr


PEAK_SCRIPT = """
import resource, sys
from profiler_rules import Dispatcher
from profiler_rules.plugins.analytics import dashboard
results, learners = int(sys.argv[1]), int(sys.argv[2])
def stream():
    for i in range(results):
        user = i % learners
        yield {"session_id": f"s{i}", "user_id": f"u{user}", "status": "finished",
               "completed_at": f"2026-02-{1 + i % 28:02d}T10:00:00Z",
               "scores": {"aptitude": (i * 7) % 101, "overall": (i * 13) % 101},
               "recommended_track": ("defender", "grc", "offensive")[i % 3],
               "strengths": ["curiosity", "teamwork"] if i % 2 else ["problem solving"], "sponsor_id": "acme"}
report = dashboard(Dispatcher.from_rules(entry_points=False), stream(), viewer={"roles": ["admin"]}, sponsor_id="acme")
assert report.output.profiled == learners and report.results_read == results
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_kib(results: int, learners: int) -> int:
    run = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(results), str(learners)], capture_output=True, text=True, check=True
    )
    return int(run.stdout)


def test_a_million_results_take_the_memory_of_their_learners() -> None:
    """1,000,000 results of 50,000 learners peak no higher than 100,000 results of the same learners.

    Keeping the results would cost about a kilobyte each, a gigabyte in all; a result read and dropped
    costs nothing, so the two peaks differ by noise only.
    """
    small = peak_kib(100_000, 50_000)
    large = peak_kib(1_000_000, 50_000)
    assert large < small + 16 * 1024, f"peak grew from {small} KiB to {large} KiB with the number of results"
