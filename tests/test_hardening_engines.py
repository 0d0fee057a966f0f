"""Issue 10, parts 4 and 5: plugins can not take the host down or change the rules; reload and watch
never serve untested or stale rules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from profiler_rules import Dispatcher, ProfilerRulesError, RulesError

from .conftest import BUILTIN_ENGINES, EXAMPLES, FIXTURE_PLUGINS, PACKAGED_RULES, edit, install_plugin, result, run_cli
from .fixtures.hostile_engines import MUTATIONS

EXAMPLE = json.loads((EXAMPLES / "result.json").read_text())
EXAMPLE_CATALOGS = json.loads((EXAMPLES / "catalogs.json").read_text())
ADMIN = {"user_id": "admin-1", "roles": ["admin"]}
BUILTIN = BUILTIN_ENGINES


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


def test_an_exception_whose_message_raises_is_still_its_engines_error(
    hostile: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = hostile.ExitingEngine("evaluate", hostile.BadMessage)
    dispatcher = Dispatcher.from_rules(
        rules_with(tmp_path, "exiting"), plugins=[hostile.Registers(engine)], entry_points=False
    )
    report = dispatcher.dispatch(result())
    assert report.engines["exiting"].error == (
        "engine 'exiting' of plugin 'Registers' failed: BadMessage: (its message raised SystemExit)"
    )
    assert report.engines["missions"].status == "ok"
    assert "engine 'exiting' of plugin 'Registers' failed on session s-1" in caplog.text


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


@pytest.mark.parametrize("error", ["KeyError", "SystemExit"])
def test_a_rules_model_whose_validator_raises_is_a_problem_of_its_rule_file(
    hostile: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    rules = rules_with(tmp_path, "failing_rules")
    monkeypatch.setenv("HOSTILE_RULES_ERROR", error)
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules, plugins=[hostile.Registers(hostile.FailingRulesEngine())], entry_points=False)
    message = "failing_rules.yaml: error: the rules model FailingRules failed: " + (
        "KeyError: 'weights'" if error == "KeyError" else "SystemExit: weights"
    )
    assert [problem.format() for problem in raised.value.problems] == [f"{rules}/{message}"]
    site = tmp_path / "installed"
    site.mkdir()
    install_plugin(site, "hostile_engines", entry_point="hostile")
    env = {"PYTHONPATH": str(site), "HOSTILE_ENGINES": "failing_rules", "HOSTILE_RULES_ERROR": error}
    for command in ("check", "test", "dispatch"):
        run = run_cli(command, *(["--example"] if command == "dispatch" else []), "--rules", str(rules), env=env)
        assert "Traceback" not in run.stderr and run.code in (1, 2), (command, run.stderr)
        assert message in run.stdout + run.stderr, command


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
        ("settings_model", None, SystemExit, "engine 'odd': SystemExit: 7"),
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
    tested = run_cli("test", "--rules", str(rules), env=env)
    assert tested.code == 0 and "Traceback" not in tested.stderr, tested.stderr


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
    for name, rules in dispatcher.ruleset.rules_by_engine.items():
        settings = rules.settings
        thawed = type(settings).__mro__[1 if getattr(type(settings), "__read_only__", False) else 0]
        fresh = thawed.model_validate(settings.model_dump())
        assert settings.model_dump() == fresh.model_dump(), name
        assert settings.model_dump_json() == fresh.model_dump_json(), name
        assert settings == fresh and repr(settings) == repr(fresh), name
        assert type(settings).__name__ == thawed.__name__
    loose = dispatcher.ruleset.rules_by_engine["loose"].settings
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
    loose = loose_dispatcher(hostile, rules_with(tmp_path, loose=True)).ruleset.rules_by_engine["loose"].settings
    assert "index" not in loose.__dict__  # not worked out until an engine asks
    assert loose.index == {"alpha": 0, "beta": 1}
    assert loose.index is loose.index
    with pytest.raises(TypeError, match="rules are read-only"):
        loose.index["gamma"] = 2


def test_copies_of_read_only_rules_are_the_engines_own(hostile: Any, tmp_path: Path) -> None:
    loose = loose_dispatcher(hostile, rules_with(tmp_path, loose=True)).ruleset.rules_by_engine["loose"].settings
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


# --- 1. reload() from inside a dispatch is an error, not a deadlock -------------------------------


REENTRANT = "reload was called from inside a dispatch"


def in_thread(call: Any, timeout: float = 60) -> Any:
    """Run ``call`` in a daemon thread and return what it returned; fail (not hang) if it deadlocks."""
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(call()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "deadlocked"
    return outcome[0]


def test_reload_from_inside_evaluate_is_an_error_not_a_deadlock(hostile: Any, tmp_path: Path) -> None:
    engine = hostile.ReloadingEngine()
    dispatcher = Dispatcher.from_rules(
        rules_with(tmp_path, "reloading"), plugins=[hostile.Registers(engine)], entry_points=False
    )
    before = dispatcher.status()
    engine.dispatcher = dispatcher
    report = in_thread(lambda: dispatcher.dispatch(result()))
    assert report.engines["reloading"].output.said == "reload ok=False"
    [refused] = engine.results
    assert (refused.ok, refused.digest) == (False, before.digest)
    assert refused.problems[0].startswith(REENTRANT)
    assert dispatcher.status() == before  # nothing was attempted
    answer = in_thread(lambda: dispatcher.aggregate("reloading", [result()]))
    assert answer.output.said == "reload ok=False" and engine.results[-1].problems[0].startswith(REENTRANT)


def test_reload_from_inside_evaluate_during_a_reloads_own_test_run_is_an_error(hostile: Any, tmp_path: Path) -> None:
    engine = hostile.ReloadingEngine()
    dispatcher = Dispatcher.from_rules(
        rules_with(tmp_path, "reloading"), plugins=[hostile.Registers(engine)], entry_points=False
    )
    engine.dispatcher = dispatcher
    outcome = in_thread(dispatcher.reload)
    assert outcome.ok, outcome.problems
    assert len(engine.results) > 20  # one per rule test case the reload ran
    assert {(result.ok, result.problems[0][: len(REENTRANT)]) for result in engine.results} == {(False, REENTRANT)}
    assert in_thread(dispatcher.reload).ok  # the lock was let go


UNPRIVILEGED = "HARDENING_TESTS_UNPRIVILEGED"


def ran_unprivileged(request: pytest.FixtureRequest) -> bool:
    """For a test that needs file modes to deny: under root, run it again in a subprocess that has
    dropped the capabilities to read past them (``setpriv``), and say so; else ``False``, run it here."""
    if os.geteuid() != 0 or os.environ.get(UNPRIVILEGED):
        return False
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root reads a directory whatever its mode, and setpriv is not here to drop that")
    run = subprocess.run(
        [setpriv, "--bounding-set", "-dac_override,-dac_read_search", sys.executable, "-m", "pytest"]
        + ["-q", "-p", "no:cacheprovider", f"{request.config.rootpath}/{request.node.nodeid}"],
        cwd=request.config.invocation_params.dir,  # where this run started, so it imports the same code
        env={**os.environ, UNPRIVILEGED: "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout + run.stderr
    return True


# --- 2. reload never serves untested rules -------------------------------------------------------


def break_a_tested_rule(rules_dir: Path) -> None:
    """A valid change that the packaged rule tests refuse (they expect intermediate → 2)."""
    edit(rules_dir / "missions.yaml", "  intermediate: 2", "  intermediate: 3")


def intermediate_cap(dispatcher: Dispatcher) -> int:
    return dispatcher.dispatch(result(difficulty_selection="intermediate")).engines["missions"].output.max_difficulty


@pytest.mark.parametrize("how", ["removed", "emptied", "a link to nothing", "a file"])
def test_a_reload_without_the_tests_the_serving_rules_had_fails(rules_dir: Path, how: str) -> None:
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    before = dispatcher.ruleset.digest
    break_a_tested_rule(rules_dir)
    assert not dispatcher.reload().ok  # the tests refuse it
    tests = rules_dir / "tests"
    if how == "emptied":
        for path in tests.glob("*.yaml"):
            path.unlink()
    else:
        shutil.rmtree(tests)
        if how == "a link to nothing":
            tests.symlink_to(rules_dir / "gone")
        elif how == "a file":
            tests.write_text("cases: []\n")
    outcome = dispatcher.reload()
    assert not outcome.ok
    missing = (
        "no rule tests (tests/*.yaml): the rules serving were loaded with rule tests, so new rules must pass "
        "theirs; restore the tests"
    )
    expected = {
        "removed": missing,
        "emptied": missing,
        "a link to nothing": "the rule tests directory is a link to nothing",
        "a file": "the rule tests directory is not a directory",
    }[how]
    assert outcome.problems == (f"{tests}: error: {expected}",)
    assert dispatcher.ruleset.digest == before and intermediate_cap(dispatcher) == 2
    assert dispatcher.status().last_error == outcome.problems
    run = run_cli("test", "--rules", str(rules_dir))
    assert run.code == 2 and "Traceback" not in run.stderr  # the command calls it an error too


def test_an_unreadable_tests_directory_fails_the_reload_and_the_test_command(
    rules_dir: Path, request: pytest.FixtureRequest
) -> None:
    if ran_unprivileged(request):
        return
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    break_a_tested_rule(rules_dir)
    tests = rules_dir / "tests"
    tests.chmod(0)
    try:
        outcome = dispatcher.reload()
        run = run_cli("test", "--rules", str(rules_dir))
    finally:
        tests.chmod(0o755)
    assert not outcome.ok
    assert outcome.problems == (f"{tests}: error: cannot read the rule tests directory: Permission denied",)
    assert run.code == 2 and f"{tests}: error: cannot read the rule tests directory" in run.stderr


def test_rules_that_never_had_tests_reload_until_a_reload_brings_some(rules_dir: Path) -> None:
    saved = rules_dir.parent / "saved-tests"
    shutil.move(rules_dir / "tests", saved)
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    edit(rules_dir / "missions.yaml", "  intermediate: 2", "  intermediate: 3")
    assert dispatcher.reload().ok and intermediate_cap(dispatcher) == 3  # no tests were there to keep
    edit(rules_dir / "missions.yaml", "  intermediate: 3", "  intermediate: 2")
    shutil.move(saved, rules_dir / "tests")
    assert dispatcher.reload().ok  # now loaded with tests, which pass
    shutil.rmtree(rules_dir / "tests")
    edit(rules_dir / "missions.yaml", "  intermediate: 2", "  intermediate: 3")
    outcome = dispatcher.reload()
    assert not outcome.ok and "no rule tests" in outcome.problems[0]
    assert intermediate_cap(dispatcher) == 2


# --- 2. the watcher follows the rules path, survives every error, and shows its state -------------


def set_cutoff(rules_dir: Path, value: str) -> None:
    """Rewrite recipes.yaml with another aptitude cutoff, atomically (as editors save)."""
    path = rules_dir / "recipes.yaml"
    text = path.read_text()
    start = text.index("  gap_cutoff:", text.index("aptitude:\n"))
    end = text.index("\n", start)
    fresh = path.with_suffix(".tmp")
    fresh.write_text(f"{text[:start]}  gap_cutoff: {value}{text[end:]}")
    os.replace(fresh, path)


def untested_copy(target: Path, cutoff: str = "60") -> Path:
    """A copy of the packaged rules without rule tests (reloads are quicker), with an aptitude cutoff."""
    shutil.copytree(PACKAGED_RULES, target, ignore=shutil.ignore_patterns("tests"))
    set_cutoff(target, cutoff)
    return target


def digest_of(rules: Path) -> str:
    return Dispatcher.from_rules(rules, entry_points=False).ruleset.digest


def wait_for(condition: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_watcher_follows_a_directory_replaced_by_rename(tmp_path: Path) -> None:
    rules = untested_copy(tmp_path / "rules")
    fresh = untested_copy(tmp_path / "rules.new", "50")
    dispatcher = Dispatcher.from_rules(rules, entry_points=False)
    with dispatcher.watch(debounce_ms=50) as watcher:
        wanted = digest_of(fresh)
        os.rename(rules, tmp_path / "rules.old")
        os.rename(fresh, rules)
        wait_for(lambda: dispatcher.ruleset.digest == wanted, "the replacement to serve")
        set_cutoff(rules, "55")  # a change inside the new directory is seen too
        wanted = digest_of(rules)
        wait_for(lambda: dispatcher.ruleset.digest == wanted, "a change in the new directory to serve")
        status = dispatcher.status().watcher
        assert status is not None and status.state == "watching"
        assert status.watching == os.path.realpath(rules) and status.reloads >= 2
    assert not watcher.running


def test_the_watcher_and_reload_follow_a_symlink_swap(tmp_path: Path) -> None:
    one, two = untested_copy(tmp_path / "v1"), untested_copy(tmp_path / "v2", "50")
    rules = tmp_path / "rules"
    rules.symlink_to(one)
    dispatcher = Dispatcher.from_rules(rules, entry_points=False)
    with dispatcher.watch(debounce_ms=50):
        swap = tmp_path / "rules.swap"
        swap.symlink_to(two)
        os.replace(swap, rules)  # atomically re-pointed, as deploy tools do
        wanted = digest_of(two)
        wait_for(lambda: dispatcher.ruleset.digest == wanted, "the new target to serve")
        assert dispatcher.status().watcher.watching == str(two)  # type: ignore[union-attr]
        set_cutoff(one, "40")  # the old target is no longer what serves
        set_cutoff(two, "45")
        wanted = digest_of(two)
        wait_for(lambda: dispatcher.ruleset.digest == wanted, "a change in the new target to serve")
        time.sleep(0.5)
        assert dispatcher.ruleset.digest == wanted
    assert has_gap_at(dispatcher, 44) and not has_gap_at(dispatcher, 45)  # v2's cutoff 45, not v1's 40


def has_gap_at(dispatcher: Dispatcher, score: float) -> bool:
    gaps = dispatcher.dispatch(result(aptitude_breakdown={"networking": score})).engines["recipes"].output.gaps
    return any(gap.category == "networking" for gap in gaps)


def test_a_reload_after_a_symlink_swap_reads_only_the_new_target(tmp_path: Path) -> None:
    one, two = untested_copy(tmp_path / "v1"), untested_copy(tmp_path / "v2", "50")
    rules = tmp_path / "rules"
    rules.symlink_to(one)
    dispatcher = Dispatcher.from_rules(rules, entry_points=False)
    swap = tmp_path / "rules.swap"
    swap.symlink_to(two)
    os.replace(swap, rules)
    outcome = dispatcher.reload()
    assert outcome.ok and outcome.digest == digest_of(two)
    assert dispatcher.status().directory == str(rules)


def test_a_symlink_swapped_while_a_reload_reads_the_rules_never_mixes_two_directories(
    hostile: Any, tmp_path: Path
) -> None:
    one, two = untested_copy(tmp_path / "v1"), untested_copy(tmp_path / "v2", "50")
    for target in (one, two):
        (target / "aaswap.yaml").write_text(f"# {target.name}\n{{}}\n")  # read first, and not alike
    rules = tmp_path / "rules"
    rules.symlink_to(one)
    plugins = [hostile.Registers(hostile.SwappingEngine())]
    dispatcher = Dispatcher.from_rules(rules, plugins=plugins, entry_points=False)
    wanted = Dispatcher.from_rules(two, plugins=plugins, entry_points=False).ruleset.digest

    def swap() -> None:
        swapped = tmp_path / "rules.swap"
        swapped.symlink_to(two)
        os.replace(swapped, rules)

    hostile.SWAP_WHILE_READ.append(swap)  # after aaswap.yaml of v1 is read, before the others
    outcome = dispatcher.reload()
    assert outcome.ok and outcome.digest == wanted
    assert not has_gap_at(dispatcher, 55)  # v2's cutoff 50 decides, not v1's 60


def test_the_watcher_survives_its_directory_going_away_and_coming_back(tmp_path: Path) -> None:
    rules = untested_copy(tmp_path / "rules")
    dispatcher = Dispatcher.from_rules(rules, entry_points=False)
    before = dispatcher.ruleset.digest
    with dispatcher.watch(debounce_ms=50) as watcher:
        shutil.rmtree(rules)
        wait_for(lambda: dispatcher.status().watcher.state == "retrying", "the watcher to retry")  # type: ignore[union-attr]
        status = dispatcher.status().watcher
        assert status is not None and "FileNotFoundError" in (status.last_error or "")
        assert dispatcher.ruleset.digest == before  # the last good rules keep serving
        time.sleep(1)
        assert watcher.running and dispatcher.status().watcher.since == status.since  # type: ignore[union-attr]
        untested_copy(rules, "50")
        wanted = digest_of(rules)
        wait_for(lambda: dispatcher.ruleset.digest == wanted, "the restored rules to serve")
        wait_for(lambda: dispatcher.status().watcher.state == "watching", "the watcher to watch again")  # type: ignore[union-attr]
        assert dispatcher.status().watcher.last_error is None  # type: ignore[union-attr]
    assert dispatcher.status().watcher.state == "stopped"  # type: ignore[union-attr]


def test_the_watcher_survives_a_directory_it_can_not_read(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if ran_unprivileged(request):
        return
    rules = untested_copy(tmp_path / "rules")
    fresh = untested_copy(tmp_path / "rules.new", "50")
    dispatcher = Dispatcher.from_rules(rules, entry_points=False)
    with dispatcher.watch(debounce_ms=50) as watcher:
        fresh.chmod(0)
        try:
            os.rename(rules, tmp_path / "rules.old")
            os.rename(fresh, rules)  # the watch starts again, on a directory it can not read
            # Between the two renames the path may lead nowhere for a moment: the watcher may first
            # retry on that (FileNotFoundError), then on the directory it can not read.
            wait_for(
                lambda: "Permission" in (dispatcher.status().watcher.last_error or ""),  # type: ignore[union-attr]
                "the watcher to retry on the directory it can not read",
            )
            assert dispatcher.status().watcher.state == "retrying"  # type: ignore[union-attr]
            time.sleep(1)
            assert watcher.running and dispatcher.status().watcher.state == "retrying"  # type: ignore[union-attr]
        finally:
            rules.chmod(0o755)
        wanted = digest_of(rules)
        wait_for(lambda: dispatcher.ruleset.digest == wanted, "the rules to serve once readable")
        assert dispatcher.status().watcher.state == "watching"  # type: ignore[union-attr]


def test_stopping_the_watcher_ends_its_thread_and_a_second_watcher_waits_for_that(tmp_path: Path) -> None:
    dispatcher = Dispatcher.from_rules(untested_copy(tmp_path / "rules"), entry_points=False)
    assert dispatcher.status().watcher is None
    watcher = dispatcher.watch(debounce_ms=50)
    assert watcher.running and dispatcher.status().watcher.state == "watching"  # type: ignore[union-attr]
    with pytest.raises(ProfilerRulesError, match="watched already"):
        dispatcher.watch()
    watcher.stop()
    assert not watcher.running
    assert dispatcher.status().watcher.state == "stopped"  # type: ignore[union-attr]
    dispatcher.watch(debounce_ms=50).stop()
