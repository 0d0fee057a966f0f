"""Issue 10, "the platform team's first plugin works": the README's plugin example as a real wheel,
disabling an engine without breaking anything, every default rule exercised, and a value statement
that reads as sentences."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from profiler_rules import Dispatcher
from profiler_rules.core.plugins import DISABLED_PLUGINS_VARIABLE, builtin_plugin_names
from profiler_rules.core.ruleschema import settings_schema

from .conftest import EXAMPLES, FIXTURE_PLUGINS, PACKAGED_RULES, edit, install_plugin, line_of, result, run_cli

# The catalog each built-in engine reads, if any: disabling that engine leaves the catalog unread.
CATALOG_OF = {"missions": "missions", "recipes": "recipes", "marketplace": "jobs"}


def example_catalogs() -> dict[str, object]:
    return json.loads((EXAMPLES / "catalogs.json").read_text(encoding="utf-8"))


# --- Disabling an engine never breaks the examples or a host -------------------------------------------


@pytest.mark.parametrize("engine", builtin_plugin_names())
def test_every_example_command_works_with_any_builtin_engine_disabled(engine: str) -> None:
    env = {DISABLED_PLUGINS_VARIABLE: engine}
    catalog = CATALOG_OF.get(engine)
    for command in ("dispatch", "explain", "diff", "analytics"):
        run = run_cli(command, "--example", env=env)
        if command == "dispatch":
            answers = run.json()["engines"]
            assert engine not in answers
            assert all(answer["status"] in ("ok", "skipped") for answer in answers.values())
        if command == "analytics" and engine == "analytics":
            # The command is the disabled plugin's own: a usage error in one line, no traceback.
            assert run.code == 2, run.stderr
            assert run.stderr == (
                "profiler-rules: error: no command 'analytics'; plugins not loaded, whose commands are missing: "
                "analytics\n"
            )
            continue
        assert run.code == 0, f"{command} --example with {engine} disabled: {run.stderr}"
        assert "Traceback" not in run.stderr
        warnings = [line for line in run.stderr.splitlines() if "catalog" in line]
        if catalog is not None and command != "analytics":  # analytics reads no catalog
            assert warnings == [
                f"profiler-rules: warning: catalog '{catalog}' is ignored: no loaded engine reads it "
                f"(catalogs read: {', '.join(sorted(set(CATALOG_OF.values()) - {catalog}))}; "
                f"plugins not loaded: {engine})"
            ], f"{command}: {run.stderr}"
        else:
            assert warnings == [], f"{command}: {run.stderr}"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_jsonl_batch_warns_once_about_an_ignored_catalog(workers: str) -> None:
    lines = (EXAMPLES / "cohort.jsonl").read_text(encoding="utf-8")
    run = run_cli(
        "dispatch", "--jsonl", "-", "--workers", workers, "--catalogs", str(EXAMPLES / "catalogs.json"),
        env={DISABLED_PLUGINS_VARIABLE: "missions"}, stdin=lines,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.stderr.count("catalog 'missions' is ignored") == 1
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(records) == len(lines.splitlines())
    assert all("missions" not in record["engines"] for record in records)


def test_a_host_passing_a_disabled_engines_catalog_gets_answers_and_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(DISABLED_PLUGINS_VARIABLE, "missions,marketplace")
    dispatcher = Dispatcher.from_rules(entry_points=False)
    caplog.set_level(logging.WARNING, logger="profiler_rules")
    prepared = dispatcher.prepare_catalogs(example_catalogs())
    assert prepared.ignored == ("missions", "jobs")
    because = "no loaded engine reads it (catalogs read: recipes; plugins not loaded: marketplace, missions)"
    assert prepared.warnings == (f"catalog 'missions' is ignored: {because}", f"catalog 'jobs' is ignored: {because}")
    assert set(prepared.items) == {"recipes"}
    assert [record.getMessage() for record in caplog.records] == list(prepared.warnings)
    result = json.loads((EXAMPLES / "result.json").read_text(encoding="utf-8"))
    viewer = json.loads((EXAMPLES / "viewer.json").read_text(encoding="utf-8"))
    for catalogs in (prepared, example_catalogs()):
        report = dispatcher.dispatch(result, viewer=viewer, catalogs=catalogs)
        assert "missions" not in report.engines and "marketplace" not in report.engines
        assert report.engines["recipes"].status == "ok"
        assert report.engines["recipes"].output.recommended_recipes


def test_with_every_plugin_loaded_an_unread_catalog_is_still_a_mistake(
    dispatcher: Dispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from profiler_rules import InvalidInputError

    prepared = dispatcher.prepare_catalogs(example_catalogs())
    assert prepared.ignored == () and prepared.warnings == ()
    with pytest.raises(InvalidInputError, match="recipe: no engine reads this catalog"):
        dispatcher.prepare_catalogs({"recipe": []})  # a typo of recipes, with nothing disabled
    monkeypatch.setenv(DISABLED_PLUGINS_VARIABLE, "missions")
    disabled = Dispatcher.from_rules(entry_points=False)
    # The catalogs of the engines still loaded are checked as strictly as ever.
    with pytest.raises(InvalidInputError, match=r"recipes\.0\.skill_codes"):
        disabled.prepare_catalogs({"missions": [], "recipes": [{"id": "r", "title": "x", "skill_codes": "NET"}]})
    long_name = "x" * 10_000 + "\x1b[2J"
    (warning,) = disabled.prepare_catalogs({long_name: []}).warnings
    assert len(warning) < 300 and "\x1b" not in warning


@pytest.mark.parametrize("engine", ["missions", "portfolio", "analytics"])
def test_check_and_test_pass_on_the_packaged_rules_with_an_engine_disabled(engine: str) -> None:
    env = {DISABLED_PLUGINS_VARIABLE: engine}
    check = run_cli("check", env=env)
    assert check.code == 0, check.stdout + check.stderr
    tested = run_cli("test", env=env)
    assert tested.code == 0, tested.stdout + tested.stderr
    summary = tested.stdout.splitlines()[-1]
    match = re.fullmatch(r"(\d+) passed, 0 failed, (\d+) skipped: their engines are not loaded \((.+)\)", summary)
    assert match, tested.stdout
    # Portfolio off takes leadership with it: it reads the portfolio rules.
    unloaded = {"portfolio": "leadership, portfolio"}.get(engine, engine)
    assert match[3] == unloaded
    assert int(match[2]) > 0
    as_json = run_cli("test", "--format", "json", env=env).json()
    skipped = [case for case in as_json["cases"] if case["skipped"]]
    assert len(skipped) == as_json["skipped"] == int(match[2])
    names = match[3].split(", ")
    assert all(case["passed"] is False for case in skipped)
    assert all(any(f"engine '{name}' is not loaded" in case["skipped"] for name in names) for case in skipped)


def test_skipped_rule_tests_are_skipped_in_junit_too() -> None:
    run = run_cli("test", "--format", "junit", env={DISABLED_PLUGINS_VARIABLE: "missions"})
    assert run.code == 0, run.stderr
    from xml.etree import ElementTree

    suite = ElementTree.fromstring(run.stdout)
    skipped = suite.findall("testcase/skipped")
    assert int(suite.get("skipped", "0")) == len(skipped) > 0
    assert all("engine 'missions' is not loaded (plugin disabled)" in item.get("message", "") for item in skipped)


def test_rule_tests_under_pytest_skip_the_cases_of_a_disabled_engine(
    pytester: pytest.Pytester, rules_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (pytester.path / "rules").symlink_to(rules_dir)
    pytester.makeini("[pytest]\nprofiler_rules_dirs = rules\ntestpaths = rules/tests\n")
    monkeypatch.setenv(DISABLED_PLUGINS_VARIABLE, "missions")
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", "rules/tests/missions.yaml")
    cases = (rules_dir / "tests" / "missions.yaml").read_text(encoding="utf-8").count("  - name: ")
    outcome.assert_outcomes(skipped=cases)
    outcome.stdout.fnmatch_lines(["*engine 'missions' is not loaded (plugin disabled)*"])


def test_an_engine_name_that_no_plugin_has_is_still_an_error_in_a_test_file(rules_dir: Path) -> None:
    (rules_dir / "tests" / "typo.yaml").write_text(
        "cases:\n  - name: typo\n    result: {session_id: s, user_id: u}\n    expect:\n      misions: {status: ok}\n",
        encoding="utf-8",
    )
    run = run_cli("test", "--rules", str(rules_dir), env={DISABLED_PLUGINS_VARIABLE: "missions"})
    assert run.code == 2
    assert "typo.yaml:5:7: error: 'misions' is not one of" in run.stderr


def test_a_reload_with_an_engine_disabled_skips_that_engines_rule_tests(
    rules_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DISABLED_PLUGINS_VARIABLE, "missions")
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    suite = dispatcher.test_rules()
    assert suite.passed and suite.skipped
    assert {case.unloaded for case in suite.skipped} == {("missions",)}
    assert dispatcher.reload().ok


# --- The default portfolio templates write sentences ---------------------------------------------------

WHY = "I am drawn to cybersecurity because: "
GOAL = "My goal is to: "
VALUES = "My core values align with protecting and advancing cybersecurity."


def value_statement(dispatcher: Dispatcher, **answers: object) -> str:
    report = dispatcher.dispatch(result(answers=answers))
    summary = report.engines["portfolio"].output.summary
    assert report.engines["leadership"].output.value_statement == summary  # one statement, two engines
    return summary


def test_answers_without_final_punctuation_end_their_sentences_with_a_full_stop(dispatcher: Dispatcher) -> None:
    text = value_statement(
        dispatcher,
        why_cyber="I want to protect people from online fraud",
        what_achieve="become a SOC analyst within a year",
        identity_values=["integrity"],
    )
    assert text == (
        f"{WHY}I want to protect people from online fraud. {GOAL}become a SOC analyst within a year. {VALUES}"
    )


@pytest.mark.parametrize(
    ("answer", "sentence"),
    [
        ("I love puzzles.", "I love puzzles."),
        ("I love puzzles!", "I love puzzles!"),
        ("why not?", "why not?"),
        ("it never ends...", "it never ends..."),
        ("it never ends…", "it never ends…"),
        ('I want to "hack the planet!"', 'I want to "hack the planet!"'),
        ("to protect people (my family.)", "to protect people (my family.)"),
        ('to "hack the planet"', 'to "hack the planet".'),
        ("puzzles,", "puzzles."),
        ("puzzles;  ", "puzzles."),
        ("puzzles :", "puzzles."),
        ("  puzzles  ", "puzzles."),
    ],
)
def test_an_answers_own_final_punctuation_is_kept_and_a_dangling_one_replaced(
    dispatcher: Dispatcher, answer: str, sentence: str
) -> None:
    assert value_statement(dispatcher, why_cyber=answer, what_achieve="lead a team") == (
        f"{WHY}{sentence} {GOAL}lead a team."
    )


def test_a_template_written_without_a_full_stop_still_ends_its_sentence(rules_dir: Path) -> None:
    edit(rules_dir / "portfolio.yaml", '"My goal is to: {answer}"', '"I will {answer}"')
    edit(rules_dir / "portfolio.yaml", "identity_values: My core values", 'identity_values: "My values: {values}" #')
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    text = value_statement(dispatcher, what_achieve="lead a team", identity_values=["integrity", "service"])
    assert text == "I will lead a team. My values: integrity, service."


def test_the_packaged_rule_tests_assert_statements_for_answers_with_and_without_final_punctuation(
    dispatcher: Dispatcher,
) -> None:
    from profiler_rules.core.ruletests import load_cases, run_case

    cases = load_cases([PACKAGED_RULES / "tests" / "portfolio.yaml"], dispatcher.engines)
    endings: set[bool] = set()
    for case in cases:
        answers = case.result.get("answers", {})
        summary = (case.expect.get("portfolio", {}).get("output") or {}).get("summary")
        texts = [answers[name].strip() for name in ("why_cyber", "what_achieve") if answers.get(name, "").strip()]
        if texts and summary:
            endings.update(text.endswith((".", "!", "?")) for text in texts)
            assert run_case(dispatcher.dispatching(), case).passed, case.name
            assert re.search(r"[^.!?] My goal", summary) is None, f"{case.name}: a run-on sentence"
    assert endings == {True, False}


# --- Every default rule is exercised --------------------------------------------------------------------

DASHBOARD_RESULTS = """\
    results:
      - {session_id: s-1, user_id: u-1, status: finished, sponsor_id: acme, strengths: [networking, scripting]}
      - {session_id: s-2, user_id: u-2, status: finished, sponsor_id: acme, strengths: [scripting]}
      - {session_id: s-3, user_id: u-3, status: finished, sponsor_id: other, strengths: [forensics]}
"""
DASHBOARD_CASE = f"""\
cases:
  - name: the sponsor's dashboard lists its commonest strengths
{DASHBOARD_RESULTS}    query:
      sponsor_id: acme
    viewer: {{user_id: a-1, roles: [admin]}}
    expect:
      analytics:
        status: ok
        output:
          profiled: 2
          top_strengths:
            - {{strength: scripting, count: 2}}
            - {{strength: networking, count: 1}}
"""


def test_the_packaged_rule_tests_leave_no_default_rule_unexercised() -> None:
    run = run_cli("test", "--coverage")
    assert run.code == 0, run.stdout + run.stderr
    assert "not exercised" not in run.stdout, run.stdout


def test_a_rule_test_can_check_a_dashboard_over_many_results(rules_dir: Path) -> None:
    (rules_dir / "tests" / "dashboards.yaml").write_text(DASHBOARD_CASE, encoding="utf-8")
    passed = run_cli("test", "--rules", str(rules_dir), "-k", "sponsor's dashboard")
    assert (passed.code, passed.stdout) == (0, "1 passed, 0 failed\n"), passed.stderr
    edit(rules_dir / "analytics.yaml", "top_strengths: 10", "top_strengths: 1")
    failed = run_cli("test", "--rules", str(rules_dir), "-k", "sponsor's dashboard")
    assert failed.code == 1
    assert (
        f"{rules_dir / 'tests' / 'dashboards.yaml'}:15:11: analytics.output.top_strengths: expected "
        '[{"strength": "scripting", "count": 2}, {"strength": "networking", "count": 1}], '
        'got [{"strength": "scripting", "count": 2}]'
    ) in failed.stdout


def test_a_reload_runs_dashboard_cases_under_the_new_rules(rules_dir: Path) -> None:
    (rules_dir / "tests" / "dashboards.yaml").write_text(DASHBOARD_CASE, encoding="utf-8")
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    assert dispatcher.reload().ok
    edit(rules_dir / "analytics.yaml", "top_strengths: 10", "top_strengths: 1")
    reloaded = dispatcher.reload()
    assert not reloaded.ok
    assert any("the sponsor's dashboard lists its commonest strengths" in problem for problem in reloaded.problems)


@pytest.mark.parametrize(
    ("change", "position", "message"),
    [
        (
            ("    expect:\n", "    expect:\n      missions: {status: ok}\n"),
            "10:5",
            "a case with 'results' checks the answer of one engine over them; name one engine under 'expect'",
        ),
        (
            ("    query:\n", "    catalogs: {missions: []}\n    query:\n"),
            "7:5",
            "an answer over many results reads no catalogs; remove 'catalogs'",
        ),
        (
            ("    results:\n", "    result: {session_id: s, user_id: u}\n    results:\n"),
            "2:5",
            "the case has 'result' and 'results': keep one of them [cases[0]]",
        ),
        (
            (DASHBOARD_RESULTS, "    result: {session_id: s-1, user_id: u-1}\n"),
            "2:5",
            "'query' says what an answer over many results covers: use it with 'results', or remove it",
        ),
        (
            (DASHBOARD_RESULTS, ""),
            "2:5",
            "the case has no input: give it 'result' (one result), 'result_file' or 'results' (many)",
        ),
        (
            ("    results:\n", "    results_of:\n"),
            "3:5",
            "unknown key 'results_of' (allowed: catalogs, catalogs_file, expect, name, query, result, result_file, results, viewer)",
        ),
    ],
)
def test_a_dashboard_case_written_wrong_is_a_mistake_at_its_line(
    rules_dir: Path, change: tuple[str, str], position: str, message: str
) -> None:
    (rules_dir / "tests" / "dashboards.yaml").write_text(DASHBOARD_CASE.replace(*change), encoding="utf-8")
    run = run_cli("test", "--rules", str(rules_dir))
    assert run.code == 2
    (line,) = [line for line in run.stderr.splitlines() if "dashboards.yaml" in line]
    assert line.startswith(f"{rules_dir / 'tests' / 'dashboards.yaml'}:{position}: error: ")
    assert message in line
    assert "networking" not in line  # the case is named by its place, not quoted whole


def test_a_dashboard_case_of_an_engine_that_answers_one_result_at_a_time_fails_by_name(rules_dir: Path) -> None:
    text = DASHBOARD_CASE.replace("      analytics:\n        status: ok", "      missions:\n        status: ok")
    (rules_dir / "tests" / "dashboards.yaml").write_text(text, encoding="utf-8")
    run = run_cli("test", "--rules", str(rules_dir), "-k", "sponsor's dashboard")
    assert run.code == 1
    assert "no loaded engine named 'missions' answers over many results" in run.stdout


def test_missions_above_the_cap_are_explained_as_locked_by_their_label(dispatcher: Dispatcher) -> None:
    catalog = {"missions": [{"id": f"m-{n}", "title": f"Mission {n}", "difficulty": n} for n in (1, 2, 4, 5, 5)]}
    report = dispatcher.dispatch(result(difficulty_selection="advanced"), catalogs=catalog)
    missions = report.engines["missions"]
    assert [mission.id for mission in missions.output.open_missions] == ["m-1", "m-2"]
    rules = PACKAGED_RULES / "missions.yaml"
    assert [(because.rule, because.line, because.message) for because in missions.explain[2:]] == [
        (
            "difficulty_labels['4']",
            line_of(rules, "  4: Expert"),
            "1 mission(s) of difficulty 4 (Expert) above the cap 3 → locked",
        ),
        (
            "difficulty_labels['5']",
            line_of(rules, "  5: Master"),
            "2 mission(s) of difficulty 5 (Master) above the cap 3 → locked",
        ),
    ]
    # Nothing locked, nothing said: without a catalog, or with every mission open.
    assert len(dispatcher.dispatch(result(difficulty_selection="advanced")).engines["missions"].explain) == 2
    opened = dispatcher.dispatch(result(difficulty_selection="elite"), catalogs={"missions": catalog["missions"][:3]})
    assert len(opened.engines["missions"].explain) == 2


def test_a_difficulty_without_a_label_is_named_by_its_number_when_locked(rules_dir: Path) -> None:
    edit(rules_dir / "missions.yaml", "  5: Master\n", "")
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    catalog = {"missions": [{"id": "m-5", "title": "Red team", "difficulty": 5}]}
    (because,) = dispatcher.dispatch(result(), catalogs=catalog).engines["missions"].explain[2:]
    assert (because.rule, because.message) == (
        "difficulty_labels",
        "1 mission(s) of difficulty 5 above the cap 1 → locked",
    )


# --- The README's plugin example, as the platform team would ship it -------------------------------------

REPOSITORY = Path(__file__).resolve().parent.parent
README = REPOSITORY / "README.md"
PLUGIN_SECTION = "## For the platform team: engine plugins"
EXAMPLE_FILES = {
    "pyproject.toml",
    "badges_engine/__init__.py",
    "badges_engine/badges.yaml",
}


def readme_example() -> dict[str, str]:
    """The files of the README's plugin example, by path: each code block follows a line naming its file
    (`` `badges_engine/badges.yaml`: ``)."""
    text = README.read_text(encoding="utf-8")
    start = text.index(PLUGIN_SECTION)
    end = text.find("\n## ", start + len(PLUGIN_SECTION))
    blocks = re.findall(r"^`([\w./-]+)`:\n```\w*\n(.*?)^```$", text[start:end], re.MULTILINE | re.DOTALL)
    files = dict(blocks)
    assert len(files) == len(blocks), "the README names a file twice"
    return files


def test_the_readme_plugin_example_is_complete_and_is_the_test_fixture(site: Path) -> None:
    files = readme_example()
    assert set(files) == EXAMPLE_FILES
    # The tests' installed plugin (tests/fixtures/badges_engine) is this example, byte for byte.
    for name in EXAMPLE_FILES - {"pyproject.toml"}:
        assert (FIXTURE_PLUGINS / name).read_text(encoding="utf-8") == files[name], name
    project = tomllib.loads(files["pyproject.toml"])
    assert project["project"]["entry-points"]["profiler_rules"] == {"badges": "badges_engine"}
    assert set(project["tool"]["setuptools"]["package-data"]["badges_engine"]) == {"badges.yaml"}
    # The rule shape is written once, in the settings model; the schema generated from it describes every setting.
    install_plugin(site, "badges_engine", entry_point="badges")  # the fixture: the README's files, as asserted above
    schema = settings_schema(importlib.import_module("badges_engine").BadgesEngine.settings_model)
    assert (schema["$schema"], schema["title"]) == ("http://json-schema.org/draft-07/schema#", "Badges rules")
    for name, setting in schema["properties"].items():
        assert {"description", "examples"} <= set(setting), name


def test_one_entry_point_form_everywhere() -> None:
    from profiler_rules.core import hookspecs

    forms = set(re.findall(r'^\s*badges = "([\w.]+)"$', f"{README.read_text()}\n{hookspecs.__doc__}", re.MULTILINE))
    assert forms == {"badges_engine"}
    # install_plugin, which the plugin tests use, declares the same entry point.
    assert "{point} = {package}" in (REPOSITORY / "tests" / "conftest.py").read_text()


def test_init_points_a_plugins_rule_file_at_the_schema_it_writes(site: Path, tmp_path: Path) -> None:
    install_plugin(site, "badges_engine", entry_point="badges")
    from profiler_rules.authoring import init_rules
    from profiler_rules.core.plugins import discover_plugins

    target = tmp_path / "my-rules"
    init_rules(discover_plugins().engines, target)
    first, _, rest = (target / "badges.yaml").read_text(encoding="utf-8").partition("\n")
    assert first == "# yaml-language-server: $schema=schemas/badges.schema.json"
    assert (target / "schemas" / "badges.schema.json").is_file()
    assert rest == (FIXTURE_PLUGINS / "badges_engine" / "badges.yaml").read_text(encoding="utf-8")
    assert Dispatcher.from_rules(target).engines[-1] == "badges"


def pip(*args: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def build_isolation() -> list[str]:
    """Build without isolation when this environment's setuptools can build the wheels itself (68 or
    newer, with bdist_wheel built in since 70.1): no index needed. Otherwise pip fetches setuptools
    for the build, from its cache or the index, as it would for any user."""
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return []
    major, minor = (int(part) for part in re.findall(r"\d+", version)[:2])
    return ["--no-build-isolation"] if (major, minor) >= (70, 1) else []


@pytest.mark.slow
def test_the_readme_plugin_example_works_installed_as_wheels_in_a_fresh_environment(tmp_path: Path) -> None:
    """Slow (two wheel builds and a virtual environment, 15-30 s), and run by the normal suite."""
    project = tmp_path / "badges-engine"
    for name, text in readme_example().items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    # profiler-rules is built from a copy of the repository, so the build writes nothing into it.
    source = tmp_path / "profiler-rules"
    source.mkdir()
    shutil.copy(REPOSITORY / "pyproject.toml", source)
    shutil.copy(README, source)
    shutil.copytree(
        REPOSITORY / "profiler_rules", source / "profiler_rules", ignore=shutil.ignore_patterns("__pycache__")
    )
    wheels = tmp_path / "wheels"
    pip("wheel", "--no-deps", *build_isolation(), "--wheel-dir", str(wheels), str(source), str(project))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    # The third-party dependencies (pydantic, jsonschema, ...) come from this test environment, after
    # the fresh environment's own packages: installing them again would download them, and they are not
    # what this test is about. profiler-rules and the plugin are the real wheels, installed there.
    own = sysconfig.get_paths()
    (site_packages / "test_dependencies.pth").write_text(f"{own['purelib']}\n{own['platlib']}\n", encoding="utf-8")
    pip("--python", str(python), "install", "--no-deps", "--no-index", *map(str, sorted(wheels.glob("*.whl"))))

    env = {key: value for key, value in os.environ.items() if not key.startswith(("PROFILER_RULES_", "PYTHON"))}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / args[0]), *args[1:]], capture_output=True, text=True, env=env, cwd=tmp_path
        )

    where = run(
        "python", "-c", "import profiler_rules, badges_engine; print(profiler_rules.__file__, badges_engine.__file__)"
    )
    modules = [Path(path) for path in where.stdout.split()]
    assert len(modules) == 2 and all(path.is_relative_to(site_packages) for path in modules), where.stderr

    listed = run("profiler-rules", "plugins", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    (badges,) = [row for row in json.loads(listed.stdout) if row["name"] == "badges"]
    assert (badges["status"], badges["engines"], badges["distribution"], badges["version"], badges["errors"]) == (
        "loaded", ["badges"], "badges-engine", "1.0.0", []
    )  # fmt: skip
    (rules_file,) = badges["rules_files"]
    assert Path(rules_file) == site_packages / "badges_engine" / "badges.yaml" and Path(rules_file).is_file()

    checked = run("profiler-rules", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith(f"ok: rules of {len(builtin_plugin_names()) + 1} engine(s) are valid")

    dispatched = run("profiler-rules", "dispatch", "--example")
    assert dispatched.returncode == 0, dispatched.stderr
    answer = json.loads(dispatched.stdout)["engines"]["badges"]
    assert (answer["status"], answer["output"]) == ("ok", {"awarded": False, "badge": None})  # overall 65.04 < 70

    # The content team's side: their own rules directory, the plugin's file in it, pointing at its schema.
    initialised = run("profiler-rules", "init", str(tmp_path / "my-rules"))
    assert initialised.returncode == 0, initialised.stderr
    copied = (tmp_path / "my-rules" / "badges.yaml").read_text(encoding="utf-8")
    assert copied.startswith("# yaml-language-server: $schema=schemas/badges.schema.json\n")
    assert (tmp_path / "my-rules" / "schemas" / "badges.schema.json").is_file()
    assert run("profiler-rules", "check", "--rules", str(tmp_path / "my-rules")).returncode == 0
