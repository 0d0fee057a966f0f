"""Issue 10, parts 4 and 5: plugins can not take the host down or change the rules; reload and watch
never serve untested or stale rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from profiler_rules import Dispatcher

from .conftest import EXAMPLES, FIXTURE_PLUGINS, PACKAGED_RULES, install_plugin, result, run_cli
from .fixtures.hostile_engines import MUTATIONS

EXAMPLE = json.loads((EXAMPLES / "result.json").read_text())
EXAMPLE_CATALOGS = json.loads((EXAMPLES / "catalogs.json").read_text())
ADMIN = {"user_id": "admin-1", "roles": ["admin"]}
BUILTIN = ("missions", "recipes", "portfolio", "leadership", "marketplace", "mentorship", "analytics")


@pytest.fixture
def hostile(site: Path) -> Any:
    """The hostile_engines fixture package, imported from a fresh site directory."""
    shutil.copytree(FIXTURE_PLUGINS / "hostile_engines", site / "hostile_engines")
    import hostile_engines  # type: ignore[import-not-found]

    return hostile_engines


def rules_with(tmp_path: Path, *engines: str, loose: bool = False) -> Path:
    """A copy of the packaged rules with an empty rule file for each engine named, and loose.yaml."""
    rules = tmp_path / "rules"
    shutil.copytree(PACKAGED_RULES, rules)
    for name in engines:
        (rules / f"{name}.yaml").write_text("{}\n")
    if loose:
        shutil.copy(FIXTURE_PLUGINS / "hostile_engines" / "loose.yaml", rules / "loose.yaml")
    return rules


def decided(answer: Any) -> Any:
    """What an engine decided, whatever file its rules were read from."""
    return (answer.status, answer.output, answer.warnings, [because.message for because in answer.explain])


# --- 1. a BaseException is the plugin's or engine's error, like any exception ---------------------


@pytest.mark.parametrize("error", ["SystemExit", "Fatal"])
def test_an_engine_raising_a_base_exception_is_an_error_in_its_own_report(
    hostile: Any, tmp_path: Path, error: str
) -> None:
    raised = SystemExit if error == "SystemExit" else hostile.Fatal
    engine = hostile.ExitingEngine("evaluate", raised)
    dispatcher = Dispatcher.from_rules(
        rules_with(tmp_path, "exiting"), plugins=[hostile.Registers(engine)], entry_points=False
    )
    report = dispatcher.dispatch(result(difficulty_selection="elite"))
    assert report.engines["exiting"].status == "error"
    assert report.engines["exiting"].error.startswith(f"engine 'exiting' of plugin 'Registers' failed: {error}")
    assert report.engines["missions"].output.max_difficulty == 4
    assert all(report.engines[name].status != "error" for name in BUILTIN)


@pytest.mark.parametrize("error", [KeyboardInterrupt, GeneratorExit])
def test_keyboard_interrupt_and_generator_exit_still_propagate(hostile: Any, tmp_path: Path, error: type) -> None:
    engine = hostile.ExitingEngine("evaluate", error)
    dispatcher = Dispatcher.from_rules(
        rules_with(tmp_path, "exiting"), plugins=[hostile.Registers(engine)], entry_points=False
    )
    with pytest.raises(error):
        dispatcher.dispatch(result())


def test_an_engine_raising_system_exit_in_aggregate_is_an_error_in_the_answer(hostile: Any, tmp_path: Path) -> None:
    engine = hostile.ExitingEngine("aggregate")
    dispatcher = Dispatcher.from_rules(
        rules_with(tmp_path, "exiting"), plugins=[hostile.Registers(engine)], entry_points=False
    )
    answer = dispatcher.aggregate("exiting", [result()])
    assert answer.status == "error"
    assert answer.error == "engine 'exiting' of plugin 'Registers' failed: SystemExit: 0"


def test_an_engine_raising_system_exit_in_summarize_gives_no_summary(hostile: Any, tmp_path: Path) -> None:
    engine = hostile.ExitingEngine("summarize")
    dispatcher = Dispatcher.from_rules(
        rules_with(tmp_path, "exiting"), plugins=[hostile.Registers(engine)], entry_points=False
    )
    report = dispatcher.dispatch(result())
    assert dispatcher.summarize("exiting", report.engines["exiting"].output) is None
    assert dispatcher.summarize("missions", report.engines["missions"].output).startswith("max difficulty 1")


@pytest.mark.parametrize(
    ("plugin", "problem"),
    [
        ("ExitsAtRegistration", "plugin 'ExitsAtRegistration': failed to register its engines: SystemExit: 3"),
        ("ExitsWhenListed", "plugin 'ExitsWhenListed': failed to register: SystemExit: 4"),
        ("ExitingSchema", "plugin 'Registers': engine 'exiting_schema': SystemExit: 6"),
    ],
)
def test_a_plugin_raising_system_exit_while_loading_is_reported_by_name(
    hostile: Any, plugin: str, problem: str
) -> None:
    made = hostile.Registers(hostile.ExitingSchema()) if plugin == "ExitingSchema" else getattr(hostile, plugin)()
    dispatcher = Dispatcher.from_rules(plugins=[made], entry_points=False)
    assert dispatcher.engines == BUILTIN
    assert dispatcher.plugin_problems == (problem,)


def test_a_plugin_whose_name_raises_is_reported_under_its_type(hostile: Any) -> None:
    dispatcher = Dispatcher.from_rules(plugins=[hostile.ExitsWhenNamed()], entry_points=False)
    assert dispatcher.engines == BUILTIN
    assert dispatcher.plugin_problems == ()
    assert dispatcher.plugins[-1].name == "ExitsWhenNamed"


def test_a_plugin_exiting_at_import_is_reported_and_the_command_runs(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site, "exits_at_import", entry_point="exits")
    run = run_cli("dispatch", "--example", env={"PYTHONPATH": str(site)})
    assert run.code == 0, run.stderr
    assert "profiler-rules: warning: plugin 'exits': failed to import: SystemExit: 0" in run.stderr
    assert set(json.loads(run.stdout)["engines"]) == set(BUILTIN)
    listed = run_cli("plugins", env={"PYTHONPATH": str(site)})
    assert "failed to import: SystemExit: 0" in listed.stdout


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_batch_with_an_engine_raising_system_exit_writes_every_record(tmp_path: Path, workers: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site, "hostile_engines", entry_point="exiting")
    rules = rules_with(tmp_path, "exiting")
    lines = [json.dumps(result(session_id=f"s-{number}")) for number in range(600)]
    lines[3] = json.dumps(result(session_id="spare-3"))
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    run = run_cli("dispatch", str(source), "--rules", str(rules), "--workers", workers, env={"PYTHONPATH": str(site)})
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(records) == 600, run.stderr
    assert [record["session_id"] for record in records] == [json.loads(line)["session_id"] for line in lines]
    errors = [record["engines"]["exiting"]["error"] for record in records]
    assert errors[3] is None
    assert errors[0] == "engine 'exiting' failed: SystemExit: 0"
    assert sum(error is not None for error in errors) == 599
    assert "600 line(s): 600 dispatched, 0 with errors, 599 with an engine error" in run.stderr
    assert run.code == 0
    strict = run_cli(
        "dispatch", str(source), "--rules", str(rules), "--workers", workers, "--strict", env={"PYTHONPATH": str(site)}
    )
    assert strict.code == 1 and len(strict.stdout.splitlines()) == 600


@pytest.mark.parametrize(
    ("attribute", "value", "raises", "problem"),
    [
        ("name", None, SystemExit, "an engine's name failed: SystemExit: 7"),
        ("catalogs", ["missions"], None, "engine 'odd' has catalogs that are not a mapping of catalog name to a"),
        ("catalogs", None, RuntimeError, "engine 'odd': RuntimeError: catalogs is broken"),
        ("requires_complete", "yes", None, "engine 'odd' has a requires_complete of type str, not bool"),
        ("requires_complete", None, SystemExit, "engine 'odd': SystemExit: 7"),
        ("access_views", "mentee_view", None, "engine 'odd' has access_views that are not a tuple of names"),
        ("uses_rules_of", "missions", None, "engine 'odd' has uses_rules_of that are not a tuple of names"),
        ("uses_rules_of", None, SystemExit, "engine 'odd': SystemExit: 7"),
        ("aggregate_query", {"since": 1}, None, "engine 'odd' has an aggregate_query that is not a pydantic model"),
        ("default_rules_file", "odd.yaml", None, "engine 'odd' has a default_rules_file of type str, not a Path"),
        ("rules_model", None, SystemExit, "engine 'odd': SystemExit: 7"),
        ("summarize", "briefly", None, "engine 'odd' has a summarize that is not a method"),
    ],
)
def test_an_engine_attribute_that_raises_or_is_junk_refuses_the_engine_at_registration(
    hostile: Any, attribute: str, value: Any, raises: type[BaseException] | None, problem: str
) -> None:
    engine = hostile.attribute_engine(attribute, value, raises=raises)
    dispatcher = Dispatcher.from_rules(plugins=[hostile.Registers(engine)], entry_points=False)
    assert dispatcher.engines == BUILTIN
    assert len(dispatcher.plugin_problems) == 1
    assert dispatcher.plugin_problems[0].startswith(f"plugin 'Registers': {problem}")
    assert dispatcher.dispatch(result(), viewer=ADMIN).engines["missions"].status == "ok"


@pytest.mark.parametrize("kind", ["recursive", "object"])
def test_an_output_that_can_not_be_written_as_json_is_that_engines_error(
    hostile: Any, tmp_path: Path, kind: str
) -> None:
    dispatcher = Dispatcher.from_rules(
        rules_with(tmp_path, "odd_output"),
        plugins=[hostile.Registers(hostile.OddOutputEngine(kind))],
        entry_points=False,
    )
    report, text = dispatcher.to_json(dispatcher.dispatch(EXAMPLE, viewer=ADMIN))
    written = json.loads(text)
    assert written == report.model_dump(mode="json")
    assert written["engines"]["odd_output"]["status"] == "error"
    assert written["engines"]["odd_output"]["error"].startswith(
        "engine 'odd_output' of plugin 'Registers' answered with what can not be written as JSON: "
    )
    clean = Dispatcher.from_rules(entry_points=False).dispatch(EXAMPLE, viewer=ADMIN)
    assert {name: decided(report.engines[name]) for name in BUILTIN} == {
        name: decided(answer) for name, answer in clean.engines.items()
    }


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_batch_with_an_output_that_can_not_be_written_writes_every_record(tmp_path: Path, workers: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site, "hostile_engines", entry_point="hostile")
    rules = rules_with(tmp_path, "odd_output")
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(result(session_id=f"s-{number}")) + "\n" for number in range(300)))
    env = {"PYTHONPATH": str(site), "HOSTILE_ENGINES": "odd_output:recursive"}
    run = run_cli("dispatch", str(source), "--rules", str(rules), "--workers", workers, env=env)
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(records) == 300, run.stderr
    assert {record["engines"]["odd_output"]["status"] for record in records} == {"error"}
    assert "300 line(s): 300 dispatched, 0 with errors, 300 with an engine error" in run.stderr
    single = run_cli("dispatch", "--example", "--rules", str(rules), env=env)
    assert single.code == 0, single.stderr
    assert json.loads(single.stdout)["engines"]["odd_output"]["status"] == "error"


# --- 1. engines receive read-only rules, catalogs and access policy -------------------------------


GADGETS = [{"id": "g-1", "tags": ["a", "b"]}]


def loose_dispatcher(hostile: Any, rules: Path, *engines: Any) -> Dispatcher:
    return Dispatcher.from_rules(
        rules, plugins=[hostile.Registers(hostile.LooseEngine(), *engines)], entry_points=False
    )


@pytest.mark.parametrize("attempt", sorted(MUTATIONS))
def test_an_engine_can_not_change_the_rules_catalogs_or_access_policy(
    hostile: Any, tmp_path: Path, attempt: str
) -> None:
    dispatcher = loose_dispatcher(
        hostile, rules_with(tmp_path / "a", "mutating_rules", loose=True), hostile.MutatingRulesEngine(attempt)
    )
    catalogs = dispatcher.prepare_catalogs({**EXAMPLE_CATALOGS, "gadgets": GADGETS})
    first = dispatcher.dispatch(EXAMPLE, viewer=ADMIN, catalogs=catalogs)
    second = dispatcher.dispatch(EXAMPLE, viewer=ADMIN, catalogs=catalogs)
    error = first.engines["mutating_rules"].error or ""
    assert first.engines["mutating_rules"].status == "error", f"{attempt} went through"
    # A frozen model holding only values that can not change is kept as it is: pydantic refuses it.
    refusal = "Instance is frozen" if attempt == "catalog_item" else "TypeError: rules are read-only: "
    assert refusal in error
    clean = loose_dispatcher(hostile, rules_with(tmp_path / "b", loose=True))
    expected = clean.dispatch(EXAMPLE, viewer=ADMIN, catalogs={**EXAMPLE_CATALOGS, "gadgets": GADGETS})
    for name, answer in expected.engines.items():
        assert decided(first.engines[name]) == decided(answer) == decided(second.engines[name]), name
    assert first.ruleset == second.ruleset == dispatcher.ruleset.stamp
    assert catalogs.items["gadgets"][0].tags == ["a", "b"] and catalogs.items["gadgets"][0].id == "g-1"
    assert [mission.difficulty for mission in catalogs.items["missions"]] == [
        mission["difficulty"] for mission in EXAMPLE_CATALOGS["missions"]
    ]


def test_read_only_rules_write_and_compare_exactly_as_before(hostile: Any, tmp_path: Path) -> None:
    dispatcher = loose_dispatcher(hostile, rules_with(tmp_path, loose=True))
    for name, rules in dispatcher.ruleset.rules.items():
        settings = rules.settings
        thawed = type(settings).__mro__[1 if getattr(type(settings), "__read_only__", False) else 0]
        fresh = thawed.model_validate(settings.model_dump())
        assert settings.model_dump() == fresh.model_dump(), name
        assert settings.model_dump_json() == fresh.model_dump_json(), name
        assert settings == fresh and repr(settings) == repr(fresh), name
        assert type(settings).__name__ == thawed.__name__
    loose = dispatcher.ruleset.rules["loose"].settings
    dumped = loose.model_dump()
    assert (type(dumped["tags"]), type(dumped["limits"]), type(dumped["seen"])) == (list, dict, set)
    written = json.loads(loose.model_dump_json())
    assert sorted(written.pop("seen")) == ["x", "y"]
    assert written == {
        "tags": ["alpha", "beta"],
        "limits": {"alpha": 1, "beta": 2},
        "inner": {"values": [1, 2, 3], "flag": False},
    }


def test_cached_properties_of_read_only_rules_are_worked_out_once_and_read_only(hostile: Any, tmp_path: Path) -> None:
    loose = loose_dispatcher(hostile, rules_with(tmp_path, loose=True)).ruleset.rules["loose"].settings
    assert "index" not in loose.__dict__  # not worked out until an engine asks
    assert loose.index == {"alpha": 0, "beta": 1}
    assert loose.index is loose.index
    with pytest.raises(TypeError, match="rules are read-only"):
        loose.index["gamma"] = 2


def test_copies_of_read_only_rules_are_the_engines_own(hostile: Any, tmp_path: Path) -> None:
    loose = loose_dispatcher(hostile, rules_with(tmp_path, loose=True)).ruleset.rules["loose"].settings
    tags, limits, seen = loose.tags.copy(), dict(loose.limits), set(loose.seen)
    tags.append("gamma"), limits.pop("alpha"), seen.add("z")
    changed = loose.model_copy(update={"tags": ["other"]})
    assert changed.tags == ["other"] and loose.tags == ["alpha", "beta"]


def test_read_only_catalogs_survive_pickling_for_workers(hostile: Any) -> None:
    import pickle

    dispatcher = Dispatcher.from_rules(plugins=[hostile.Registers(hostile.LooseEngine())], entry_points=False)
    catalogs = dispatcher.prepare_catalogs({**EXAMPLE_CATALOGS, "gadgets": GADGETS})
    copied = pickle.loads(pickle.dumps(catalogs))
    assert copied == catalogs
    with pytest.raises(TypeError, match="rules are read-only"):
        copied.items["gadgets"][0].tags.append("x")
    with pytest.raises(TypeError, match="rules are read-only"):
        copied.items.pop("gadgets")  # type: ignore[attr-defined]
