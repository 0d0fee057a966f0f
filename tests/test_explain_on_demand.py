"""Issue 12, Deliver 3: explanations on demand (``dispatch(..., explain=False)``), and Deliver 4: a
host passing the same raw catalogs each call pays no re-validation, and one that mutates them in place
gets fresh answers."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from profiler_rules import Context, Dispatcher, Engine, Explanation, Outcome, ProfilerResult, Rules, hookimpl
from profiler_rules.batch import dispatch_lines
from profiler_rules.core.engine import Rules as RulesClass

from .conftest import EXAMPLES, FIXTURE_PLUGINS, edit, result, run_cli, sample_results

EXAMPLE = json.loads((EXAMPLES / "result.json").read_text())
EXAMPLE_CATALOGS = json.loads((EXAMPLES / "catalogs.json").read_text())
ADMIN = {"user_id": "admin-1", "roles": ["admin"]}
COACH = {"user_id": "coach-1", "roles": ["coach"], "coachee_ids": ["learner-4", "learner-7"]}


@pytest.fixture(scope="module")
def varied() -> list[dict[str, Any]]:
    return [EXAMPLE, *sample_results(300, seed=12)]


def without_ok_explanations(report: Any) -> dict[str, Any]:
    """A report as JSON, with the explanations of its ok answers emptied: what ``explain=False`` gives."""
    return _emptied(json.loads(report.model_dump_json()))


# --- the report ------------------------------------------------------------------------------------


@pytest.mark.parametrize("viewer", [ADMIN, COACH, None], ids=["admin", "coach", "no viewer"])
@pytest.mark.parametrize("with_catalogs", [True, False], ids=["catalogs", "no catalogs"])
def test_without_explanations_the_report_is_the_explained_one_with_ok_explanations_emptied(
    dispatcher: Dispatcher, varied: list[dict[str, Any]], viewer: Any, with_catalogs: bool
) -> None:
    catalogs = dispatcher.prepare_catalogs(EXAMPLE_CATALOGS if with_catalogs else None)
    statuses: set[str] = set()
    for given in varied:
        explained = dispatcher.dispatch(given, viewer=viewer, catalogs=catalogs)
        bare = dispatcher.dispatch(given, viewer=viewer, catalogs=catalogs, explain=False)
        assert json.loads(bare.model_dump_json()) == without_ok_explanations(explained)
        statuses.update(answer.status for answer in bare.engines.values())
        for answer in bare.engines.values():
            if answer.status == "ok":
                assert answer.explain == ()
    assert {"ok", "skipped"} <= statuses  # the samples reach both kinds of answer


def test_the_default_explains_every_answer(dispatcher: Dispatcher) -> None:
    default = dispatcher.dispatch(EXAMPLE, viewer=ADMIN, catalogs=EXAMPLE_CATALOGS)
    explained = dispatcher.dispatch(EXAMPLE, viewer=ADMIN, catalogs=EXAMPLE_CATALOGS, explain=True)
    assert default.model_dump_json() == explained.model_dump_json()
    assert all(answer.status == "ok" and answer.explain for answer in default.engines.values())


def test_skipped_and_denied_answers_keep_their_reason_and_warnings_stay(dispatcher: Dispatcher) -> None:
    started = result(status="started", difficulty_selection="wizard")
    report = dispatcher.dispatch(started, viewer=None, explain=False)
    assert report.engines["recipes"].status == "skipped"
    assert report.engines["recipes"].explain[0].message.startswith("the result's status is 'started'")
    assert report.engines["mentorship"].status == "denied"
    assert report.engines["mentorship"].explain[0].message == "no viewer was given; mentee_view is denied without one"
    unknown_level = dispatcher.dispatch(result(difficulty_selection="wizard"), explain=False)
    missions = unknown_level.engines["missions"]
    assert missions.explain == ()
    assert missions.warnings == dispatcher.dispatch(result(difficulty_selection="wizard")).engines["missions"].warnings
    assert "'wizard' is not a known level" in missions.warnings[0]


def _count_calls(codes: set[Any], call: Callable[[], Any]) -> int:
    """How many times the functions of ``codes`` ran during ``call``: real calls, counted by the profiler hook."""
    calls = 0

    def hook(frame: Any, event: str, _arg: Any) -> None:
        nonlocal calls
        if event == "call" and frame.f_code in codes:
            calls += 1

    sys.setprofile(hook)
    try:
        call()
    finally:
        sys.setprofile(None)
    return calls


def test_engines_build_no_explanation_when_none_is_read(dispatcher: Dispatcher, varied: list[dict[str, Any]]) -> None:
    catalogs = dispatcher.prepare_catalogs(EXAMPLE_CATALOGS)
    complete = [given for given in varied if given.get("status") in ("finished", "locked")]
    explaining = {RulesClass.explain.__code__, Explanation.__init__.__code__}

    def dispatch_all(explain: bool) -> Callable[[], Any]:
        return lambda: [
            dispatcher.dispatch(given, viewer=ADMIN, catalogs=catalogs, explain=explain) for given in complete
        ]

    assert _count_calls(explaining, dispatch_all(True)) > 40 * len(complete)
    assert _count_calls(explaining, dispatch_all(False)) == 0


# --- an engine that does not read Context.explain ---------------------------------------------------


class _Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    threshold: float
    badge: str


class _Badge(BaseModel):
    awarded: bool


class _UnheedingEngine(Engine):
    """A third-party engine written before explanations were optional: it explains every answer."""

    name = "badges"
    settings_model = _Rules
    default_rules_file = FIXTURE_PLUGINS / "badges_engine" / "badges.yaml"
    requires_complete = False

    def evaluate(self, result: ProfilerResult, rules: Rules[_Rules], context: Context) -> Outcome:
        if result.status is None:
            return Outcome.skipped(rules.explain("threshold", "no status → no badge yet"))
        overall = result.scores.overall
        awarded = overall is not None and overall >= rules.settings.threshold
        return Outcome(_Badge(awarded=awarded), [rules.explain("threshold", f"overall {overall} → {awarded}")], ["w"])


class _UnheedingPlugin:
    @hookimpl
    def profiler_rules_register_engines(self, register: Callable[[Engine], None]) -> None:
        register(_UnheedingEngine())


def test_an_engine_that_ignores_explain_still_works_and_its_explanations_are_dropped() -> None:
    dispatcher = Dispatcher.from_rules(plugins=[_UnheedingPlugin()], entry_points=False)
    scored = result(scores={"overall": 80})
    explained = dispatcher.dispatch(scored, engines=["badges"]).engines["badges"]
    bare = dispatcher.dispatch(scored, engines=["badges"], explain=False).engines["badges"]
    assert explained.explain[0].message == "overall 80.0 → True"
    assert (bare.status, bare.output, bare.explain, bare.warnings) == ("ok", explained.output, (), ("w",))
    skipped = dispatcher.dispatch({"session_id": "s", "user_id": "u"}, engines=["badges"], explain=False)
    assert [because.message for because in skipped.engines["badges"].explain] == ["no status → no badge yet"]


# --- batch and CLI ---------------------------------------------------------------------------------


def _lines(results: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(given) + "\n" for given in results]


def _emptied(record: dict[str, Any]) -> dict[str, Any]:
    """A report record (JSON) with the explanations of its ok answers emptied."""
    for answer in record["engines"].values():
        if answer["status"] == "ok":
            answer["explain"] = []
    return record


def test_dispatch_lines_without_explanations(dispatcher: Dispatcher, varied: list[dict[str, Any]]) -> None:
    given = varied[:40]
    lines = [*_lines(given), "not json\n"]
    catalogs = dispatcher.prepare_catalogs(EXAMPLE_CATALOGS)
    explained = list(dispatch_lines(dispatcher, lines, viewer=ADMIN, catalogs=catalogs))
    bare = list(dispatch_lines(dispatcher, lines, viewer=ADMIN, catalogs=catalogs, explain=False))
    assert [kind for _, kind in bare] == [kind for _, kind in explained]
    assert bare[-1] == explained[-1]  # an invalid line's error record is the same
    for (text, _), (full, _) in zip(bare[:-1], explained[:-1], strict=True):
        assert json.loads(text) == _emptied(json.loads(full))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_cli_dispatch_no_explain_on_json_lines(tmp_path: Path, varied: list[dict[str, Any]], workers: str) -> None:
    source = tmp_path / "results.jsonl"
    source.write_text("".join(_lines(varied[:30])))
    common = ["dispatch", str(source), "--catalogs", str(EXAMPLES / "catalogs.json"), "--workers", workers]
    explained = run_cli(*common, "--viewer", json.dumps(ADMIN))
    bare = run_cli(*common, "--viewer", json.dumps(ADMIN), "--no-explain")
    assert (explained.code, bare.code) == (0, 0), bare.stderr
    assert bare.stderr == explained.stderr
    records = [json.loads(line) for line in bare.stdout.splitlines()]
    assert records == [_emptied(json.loads(line)) for line in explained.stdout.splitlines()]
    assert len(records) == 30


def test_cli_dispatch_no_explain_on_one_result() -> None:
    explained = run_cli("dispatch", "--example")
    bare = run_cli("dispatch", "--example", "--no-explain")
    assert (explained.code, bare.code) == (0, 0), bare.stderr
    report = bare.json()
    assert all(answer["status"] == "ok" and answer["explain"] == [] for answer in report["engines"].values())
    assert report == _emptied(explained.json())
    assert bare.stdout.startswith("{\n  ")  # indented as before


# --- raw catalogs prepared once per content --------------------------------------------------------


def _raw_catalogs() -> dict[str, Any]:
    return json.loads((EXAMPLES / "catalogs.json").read_text())


def test_the_same_raw_catalogs_are_prepared_once() -> None:
    dispatcher = Dispatcher.from_rules(entry_points=False)
    first = dispatcher.prepare_catalogs(_raw_catalogs())
    assert dispatcher.prepare_catalogs(_raw_catalogs()) is first  # an equal copy: not validated again
    raw = _raw_catalogs()
    assert dispatcher.prepare_catalogs(raw) is dispatcher.prepare_catalogs(raw)


def test_catalogs_changed_in_place_give_fresh_answers(varied: list[dict[str, Any]]) -> None:
    dispatcher = Dispatcher.from_rules(entry_points=False)
    raw = _raw_catalogs()
    given = varied[:25]

    def answers(by: Dispatcher) -> list[str]:
        return [by.dispatch(one, viewer=ADMIN, catalogs=raw).model_dump_json() for one in given]

    before = answers(dispatcher)
    job_title = raw["jobs"][0]["title"]
    raw["recipes"][0]["skill_codes"].append("WEB")
    raw["jobs"][0]["title"] = "Renamed"
    raw["missions"].append({"id": "m-new", "title": "New", "difficulty": 1})
    after = answers(dispatcher)
    assert after == answers(Dispatcher.from_rules(entry_points=False))  # a fresh dispatcher's answers
    assert after != before
    raw["recipes"][0]["skill_codes"].pop()  # back as it was, in place: the first answers again
    raw["jobs"][0]["title"] = job_title
    raw["missions"].pop()
    assert answers(dispatcher) == before


def test_catalogs_that_only_look_alike_are_validated_each(dispatcher: Dispatcher) -> None:
    from datetime import datetime

    from profiler_rules import InvalidInputError

    as_text = {"missions": [{"id": "m-1", "title": "2026-01-01T00:00:00", "difficulty": 1}]}
    assert dispatcher.prepare_catalogs(as_text).items["missions"][0].title == "2026-01-01T00:00:00"
    as_datetime = {"missions": [{"id": "m-1", "title": datetime(2026, 1, 1), "difficulty": 1}]}
    with pytest.raises(InvalidInputError, match="missions.0.title"):
        dispatcher.prepare_catalogs(as_datetime)
    with pytest.raises(InvalidInputError, match="missions.0.title"):
        dispatcher.prepare_catalogs({"missions": [{"id": "m-1", "title": 5, "difficulty": 1}]})


def test_catalogs_of_a_hosts_own_types_are_still_prepared(dispatcher: Dispatcher) -> None:
    from collections import OrderedDict

    own = OrderedDict(missions=[OrderedDict(id="m-1", title="One", difficulty=2)])
    prepared = dispatcher.prepare_catalogs(own)
    assert [mission.id for mission in prepared.items["missions"]] == ["m-1"]
    own["missions"][0]["difficulty"] = 5
    assert dispatcher.prepare_catalogs(own).items["missions"][0].difficulty == 5


def test_threads_preparing_many_catalogs_each_get_their_own(dispatcher: Dispatcher) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def prepare(number: int) -> int:
        raw = {"missions": [{"id": f"m-{number}", "title": "T", "difficulty": 1 + number % 5}]}
        prepared = dispatcher.prepare_catalogs(raw)
        return prepared.items["missions"][0].difficulty

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(prepare, range(400))) == [1 + number % 5 for number in range(400)]


def test_the_impact_preview_builds_no_explanation(rules_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from profiler_rules.cli import main

    edit(rules_dir / "missions.yaml", "default_max_difficulty: 1", "default_max_difficulty: 2")
    explaining = {RulesClass.explain.__code__, Explanation.__init__.__code__}
    built = _count_calls(explaining, lambda: main(["diff", "--rules", str(rules_dir), "--example", "--format", "json"]))
    summary = json.loads(capsys.readouterr().out)
    assert summary["engines"]["missions"]["changed"] > 0  # the preview still sees the change
    # The only explanations built are the reasons of skipped and denied answers (each at most an
    # Explanation and the Rules.explain that made it), which are the answers themselves.
    viewer = json.loads((EXAMPLES / "viewer.json").read_text())
    cohort = [json.loads(line) for line in (EXAMPLES / "cohort.jsonl").read_text().splitlines() if line.strip()]
    declined = sum(
        answer.status != "ok"
        for rules in (None, rules_dir)
        for given in cohort
        for answer in Dispatcher.from_rules(rules, entry_points=False)
        .dispatch(given, viewer=viewer, catalogs=EXAMPLE_CATALOGS, explain=False)
        .engines.values()
    )
    assert built <= 2 * declined
