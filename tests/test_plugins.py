"""Plugins: a real installed third-party engine, broken plugins reported by name, allow and block lists."""

from __future__ import annotations

import inspect
import re
import shutil
from pathlib import Path

import pytest

from profiler_rules import Dispatcher, RulesError
from profiler_rules.core import hookspecs
from profiler_rules.core.plugins import discover_plugins

from .conftest import BUILTIN_ENGINES, FIXTURE_PLUGINS, PACKAGED_RULES, install_plugin, line_of, result, run_cli

BUILTIN_PLUGINS = BUILTIN_ENGINES  # one plugin per built-in engine, named after it


def plugin(dispatcher: Dispatcher, name: str):  # type: ignore[no-untyped-def]
    (info,) = [info for info in dispatcher.plugins if info.name == name]
    return info


# --- a third-party engine installed through an entry point -------------------------------------


def test_an_installed_engine_runs_with_its_own_schema_and_rules(site: Path) -> None:
    install_plugin(site, "badges_engine", entry_point="badges", dist="badges-engine")
    dispatcher = Dispatcher.from_rules()
    assert dispatcher.engines == (*BUILTIN_PLUGINS, "badges")
    report = dispatcher.dispatch(result(scores={"overall": 75}))
    badges = report.engines["badges"]
    assert badges.status == "ok"
    assert badges.output.model_dump() == {"awarded": True, "badge": "Strong start"}
    (because,) = badges.explain
    assert (because.file, because.line) == ("badges_engine/badges.yaml", line_of(site / because.file, "threshold:"))
    info = plugin(dispatcher, "badges")
    assert (info.source, info.distribution, info.version, info.engines) == (
        "entry point",
        "badges-engine",
        "1.0.0",
        ("badges",),
    )


def test_an_installed_engines_rules_are_validated_by_its_schema(site: Path, tmp_path: Path) -> None:
    install_plugin(site, "badges_engine", entry_point="badges")
    rules = tmp_path / "rules"
    shutil.copytree(PACKAGED_RULES, rules)
    (rules / "badges.yaml").write_text("threshold: high\nbadge: Strong start\n")
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules)
    (problem,) = raised.value.problems
    assert problem.format() == f"{rules / 'badges.yaml'}:1:12: error: 'high' is not of type 'number' [threshold]"


def test_a_host_rules_directory_without_the_installed_engines_file_serves_its_default(
    site: Path, tmp_path: Path
) -> None:
    install_plugin(site, "badges_engine", entry_point="badges")
    rules = tmp_path / "rules"
    shutil.copytree(PACKAGED_RULES, rules)
    dispatcher = Dispatcher.from_rules(rules)
    assert dispatcher.ruleset.defaults == ("badges",)
    assert dispatcher.ruleset.rules_by_engine["badges"].file == "badges_engine/badges.yaml"
    assert any(
        problem.file == str(rules / "badges.yaml") and problem.level == "warning"
        for problem in dispatcher.ruleset.warnings
    )


def test_the_cli_finds_an_installed_engine(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site, "badges_engine", entry_point="badges", dist="badges-engine")
    env = {"PYTHONPATH": str(site)}
    listed = run_cli("plugins", "--format", "json", env=env)
    assert listed.code == 0, listed.stderr
    (badges,) = [row for row in listed.json() if row["name"] == "badges"]
    assert badges["engines"] == ["badges"]
    assert badges["hooks"] == ["profiler_rules_register_engines"]
    assert badges["rules_files"][0].endswith("badges_engine/badges.yaml")
    assert run_cli("check", env=env).stdout.startswith(f"ok: rules of {len(BUILTIN_PLUGINS) + 1} engine(s)")
    assert run_cli("schema", "badges", env=env).json()["title"] == "Badges rules"
    (tmp_path / "r.json").write_text(
        '{"session_id": "s", "user_id": "u", "status": "finished", "scores": {"overall": 90}}'
    )
    dispatched = run_cli("dispatch", str(tmp_path / "r.json"), env=env)
    assert dispatched.json()["engines"]["badges"]["output"] == {"awarded": True, "badge": "Strong start"}


def test_the_same_plugin_found_twice_loads_once(site: Path) -> None:
    """Two distributions declaring the same entry point (a package renamed, the old one still installed).

    importlib.metadata already merges two copies of one distribution; this is the case it does not.
    """
    install_plugin(site, "badges_engine", entry_point="badges", dist="badges-engine")
    renamed = site / "badges_engine_legacy-1.0.0.dist-info"
    shutil.copytree(site / "badges_engine-1.0.0.dist-info", renamed)
    (renamed / "METADATA").write_text("Metadata-Version: 2.1\nName: badges-engine-legacy\nVersion: 1.0.0\n")
    dispatcher = Dispatcher.from_rules()
    assert dispatcher.engines.count("badges") == 1
    assert dispatcher.plugin_problems == ()


# --- faults stay with their plugin -------------------------------------------------------------


def test_a_plugin_that_fails_to_import_is_reported_and_the_others_answer(site: Path) -> None:
    install_plugin(site, "broken_at_import", entry_point="broken")
    install_plugin(site, "badges_engine", entry_point="badges")
    dispatcher = Dispatcher.from_rules()
    assert dispatcher.engines == (*BUILTIN_PLUGINS, "badges")
    assert dispatcher.plugin_problems == (
        "plugin 'broken': failed to import: ImportError: No module named 'a_missing_dependency'",
    )
    assert plugin(dispatcher, "broken").status == "error"
    assert dispatcher.dispatch(result()).engines["badges"].status == "ok"


def test_a_broken_plugin_is_a_warning_on_the_command_line(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site, "broken_at_import", entry_point="broken")
    run = run_cli("dispatch", "--example", env={"PYTHONPATH": str(site)})
    assert run.code == 0
    assert "profiler-rules: warning: plugin 'broken': failed to import: ImportError" in run.stderr
    assert "Traceback" not in run.stderr
    listed = run_cli("plugins", env={"PYTHONPATH": str(site)})
    assert "broken (entry point, broken-at-import 1.0.0): error" in listed.stdout
    assert "error:   failed to import: ImportError: No module named 'a_missing_dependency'" in listed.stdout


def load_faulty(site: Path) -> object:
    shutil.copytree(FIXTURE_PLUGINS / "faulty_engines", site / "faulty_engines")
    import faulty_engines  # type: ignore[import-not-found]

    return faulty_engines


def faulty_rules(tmp_path: Path, *engines: str) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(PACKAGED_RULES, rules)
    for name in engines:
        (rules / f"{name}.yaml").write_text("{}\n")
    return rules


def test_an_engine_that_raises_is_an_error_in_its_own_report(
    site: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    faulty = load_faulty(site)
    dispatcher = Dispatcher.from_rules(
        faulty_rules(tmp_path, "raising", "wrong_type"), plugins=[faulty.RaisingPlugin()], entry_points=False
    )
    report = dispatcher.dispatch(result(difficulty_selection="elite"))
    assert report.engines["raising"].status == "error"
    assert report.engines["raising"].error == (
        "engine 'raising' of plugin 'RaisingPlugin' failed: RuntimeError: the engine's database is down"
    )
    assert report.engines["wrong_type"].status == "error"
    assert (
        report.engines["wrong_type"].error
        == "engine 'wrong_type' of plugin 'RaisingPlugin' returned dict, not an Outcome"
    )
    assert report.engines["missions"].output.max_difficulty == 4
    assert report.engines["recipes"].status == "ok"
    assert "engine 'raising' of plugin 'RaisingPlugin' failed on session s-1" in caplog.text


def test_an_answer_a_report_can_not_hold_is_an_error_in_its_own_report(site: Path, tmp_path: Path) -> None:
    faulty = load_faulty(site)
    names = ("misshapen_explanation", "misshapen_warning", "misshapen_status")
    dispatcher = Dispatcher.from_rules(
        faulty_rules(tmp_path, *names), plugins=[faulty.MisshapenPlugin()], entry_points=False
    )
    report = dispatcher.dispatch(result(difficulty_selection="elite"))
    errors = {name: report.engines[name].error for name in names}
    assert errors == {
        "misshapen_explanation": "engine 'misshapen_explanation' of plugin 'MisshapenPlugin' returned an answer a "
        "report can not hold: explain.0: Input should be a dictionary or an instance of Explanation "
        "(got 'the rules said so')",
        "misshapen_warning": "engine 'misshapen_warning' of plugin 'MisshapenPlugin' returned an answer a report "
        "can not hold: warnings.0: Input should be a valid string (got 404)",
        "misshapen_status": "engine 'misshapen_status' of plugin 'MisshapenPlugin' returned an answer a report "
        "can not hold: status: Input should be 'ok', 'skipped', 'denied' or 'error' (got 'maybe')",
    }
    assert report.engines["missions"].output.max_difficulty == 4  # the other engines still answer


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("RegistrationFails", "failed to register its engines: KeyError: 'configuration missing'"),
        ("DuplicateMissions", "engine 'missions' is already registered by plugin 'missions'"),
        ("MisspelledHook", "implements unknown hooks: profiler_rules_register_engine"),
        ("NotAnEngine", "registered 'object', which is not a profiler_rules.Engine"),
    ],
)
def test_registration_faults_are_reported_by_plugin_name(site: Path, name: str, problem: str) -> None:
    faulty = load_faulty(site)
    dispatcher = Dispatcher.from_rules(plugins=[getattr(faulty, name)()], entry_points=False)
    assert dispatcher.engines == BUILTIN_PLUGINS
    assert dispatcher.plugin_problems == (f"plugin '{name}': {problem}",)


def test_an_engine_with_an_invalid_schema_is_refused(site: Path, tmp_path: Path) -> None:
    faulty = load_faulty(site)
    dispatcher = Dispatcher.from_rules(plugins=[faulty.InvalidSchemaPlugin()], entry_points=False)
    assert dispatcher.engines == BUILTIN_PLUGINS
    assert dispatcher.plugin_problems == (
        "plugin 'InvalidSchemaPlugin': engine 'invalid_schema': the schema of its settings model "
        "InvalidSchemaRules is not valid draft-07: 'objekt' is not valid under any of the given schemas",
    )


# --- allow and block lists ---------------------------------------------------------------------


def test_the_block_list_disables_any_plugin(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(site, "badges_engine", entry_point="badges")
    monkeypatch.setenv("PROFILER_RULES_DISABLED_PLUGINS", "badges, recipes")
    dispatcher = Dispatcher.from_rules()
    assert dispatcher.engines == tuple(name for name in BUILTIN_PLUGINS if name != "recipes")
    assert plugin(dispatcher, "recipes").status == "disabled"
    assert plugin(dispatcher, "badges").status == "disabled"


def test_the_allow_list_loads_only_the_entry_points_it_names(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(site, "badges_engine", entry_point="badges")
    install_plugin(site, "broken_at_import", entry_point="broken")
    monkeypatch.setenv("PROFILER_RULES_LOAD_PLUGINS", "badges")
    dispatcher = Dispatcher.from_rules()
    assert dispatcher.engines == (*BUILTIN_PLUGINS, "badges")
    assert dispatcher.plugin_problems == ()
    assert plugin(dispatcher, "broken").status == "disabled"


def test_an_empty_allow_list_loads_no_entry_points(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(site, "badges_engine", entry_point="badges")
    monkeypatch.setenv("PROFILER_RULES_LOAD_PLUGINS", "")
    assert Dispatcher.from_rules().engines == BUILTIN_PLUGINS


def test_a_disabled_engines_rule_file_is_not_unknown(rules_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROFILER_RULES_DISABLED_PLUGINS", "recipes")
    assert "recipes" not in Dispatcher.from_rules(rules_dir, entry_points=False).engines


def test_the_variables_work_from_the_command_line(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site, "badges_engine", entry_point="badges")
    env = {"PYTHONPATH": str(site), "PROFILER_RULES_DISABLED_PLUGINS": "badges"}
    report = run_cli("dispatch", "--example", env=env).json()
    assert list(report["engines"]) == list(BUILTIN_PLUGINS)


def test_every_dispatcher_has_its_own_plugin_manager(site: Path) -> None:
    faulty = load_faulty(site)
    Dispatcher.from_rules(plugins=[faulty.MisspelledHook()], entry_points=False)
    assert discover_plugins(entry_points=False).problems == ()


# --- the hook reference ------------------------------------------------------------------------


def hooks() -> list[tuple[str, object]]:
    return [
        (name, value)
        for name, value in vars(hookspecs).items()
        if name.startswith("profiler_rules_") and callable(value)
    ]


def test_every_hook_and_argument_is_documented() -> None:
    assert hooks(), "no hooks found"
    for name, function in hooks():
        doc = inspect.getdoc(function) or ""
        assert len(doc.split()) >= 10, f"hook {name} has no docstring"
        for argument in inspect.signature(function).parameters:  # type: ignore[arg-type]
            assert re.search(rf":param {argument}:\s+\S", doc), f"hook {name} does not document {argument}"


def test_every_builtin_plugin_is_listed_and_named_after_its_engine() -> None:
    registry = discover_plugins(entry_points=False)
    # Plugins are listed as they are found (built-in ones by folder name); engines run in report order.
    assert [info.name for info in registry.plugins] == sorted(BUILTIN_PLUGINS)
    assert [info.engines for info in registry.plugins] == [(name,) for name in sorted(BUILTIN_PLUGINS)]
    assert tuple(item.engine.name for item in registry.engines) == BUILTIN_PLUGINS
