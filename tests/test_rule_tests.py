"""Rule tests in YAML: passing and failing suites, readable diffs, formats, and the pytest plugin."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest

from profiler_rules import Dispatcher

from .conftest import PACKAGED_RULES, edit, line_of, run_cli

CASE = """\
cases:
  - name: networking at 45.5 is a medium gap
    result:
      session_id: t-1
      user_id: u-1
      status: finished
      aptitude_breakdown:
        networking: 45.5
    expect:
      recipes:
        status: ok
        output:
          total_gaps: 1
          gaps:
            - category: networking
              priority: medium
  - name: elite opens difficulty 4
    result_file: elite.json
    expect:
      missions:
        output:
          max_difficulty: 4
"""


def suite_dir(rules_dir: Path, text: str = CASE) -> Path:
    tests = rules_dir / "tests"
    for old in tests.glob("*.yaml"):
        old.unlink()
    (tests / "mine.yaml").write_text(text)
    (tests / "elite.json").write_text(
        json.dumps({"session_id": "t-2", "user_id": "u-2", "status": "locked", "difficulty_selection": "elite"})
    )
    return tests / "mine.yaml"


def test_the_packaged_rules_pass_their_own_tests() -> None:
    run = run_cli("test")
    assert run.code == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith(" passed, 0 failed")


def test_a_suite_passes_with_partial_expectations(rules_dir: Path) -> None:
    suite_dir(rules_dir)
    run = run_cli("test", "--rules", str(rules_dir))
    assert (run.code, run.stdout) == (0, "2 passed, 0 failed\n")


def test_a_changed_rule_fails_with_a_readable_diff(rules_dir: Path) -> None:
    path = suite_dir(rules_dir)
    edit(rules_dir / "recipes.yaml", "  - priority: high\n    below: 40\n", "  - priority: high\n    below: 50\n")
    run = run_cli("test", "--rules", str(rules_dir))
    assert run.code == 1
    assert run.stdout.splitlines() == [
        f"FAIL mine.yaml::networking at 45.5 is a medium gap ({path}:{line_of(path, '- name: networking')})",
        f'  {path}:{line_of(path, "priority: medium")}:25: recipes.output.gaps[0].priority: expected "medium", got "high"',
        "1 passed, 1 failed",
    ]


def test_a_list_of_another_length_and_a_missing_field_are_named(rules_dir: Path) -> None:
    path = suite_dir(
        rules_dir,
        CASE.replace(
            "            - category: networking\n              priority: medium\n",
            "            - category: networking\n            - category: web\n",
        ).replace("          total_gaps: 1\n", "          total_gaps: 1\n          shoe_size: 44\n"),
    )
    run = run_cli("test", "--rules", str(rules_dir), "--format", "json")
    assert run.code == 1
    (failed,) = [case for case in run.json()["cases"] if not case["passed"]]
    fields = {mismatch["field"]: mismatch for mismatch in failed["mismatches"]}
    assert fields["recipes.output.shoe_size"]["missing"] is True
    assert fields["recipes.output.gaps"]["line"] == line_of(path, "          gaps:")
    assert len(fields["recipes.output.gaps"]["actual"]) == 1


def test_k_selects_cases_by_name(rules_dir: Path) -> None:
    suite_dir(rules_dir)
    assert run_cli("test", "--rules", str(rules_dir), "-k", "ELITE").stdout == "1 passed, 0 failed\n"
    nothing = run_cli("test", "--rules", str(rules_dir), "-k", "nothing like it")
    assert nothing.code == 2
    assert "no rule test case matched" in nothing.stderr


def test_a_mistake_in_a_test_file_is_placed_and_exits_2(rules_dir: Path) -> None:
    path = suite_dir(
        rules_dir,
        CASE.replace("      missions:\n", "      mission:\n").replace(
            "    result_file: elite.json\n", "    result_file: elite.json\n    viewr: {}\n"
        ),
    )
    run = run_cli("test", "--rules", str(rules_dir))
    assert run.code == 2
    lines = run.stderr.splitlines()
    assert f"{path}:{line_of(path, 'viewr')}:5: error: unknown key 'viewr'" in lines[0]
    assert f"{path}:{line_of(path, 'mission:')}:7: error: 'mission' is not one of ['analytics'," in lines[1]
    assert "Traceback" not in run.stderr


def test_junit_output_is_valid_xml(rules_dir: Path) -> None:
    suite_dir(rules_dir)
    edit(rules_dir / "missions.yaml", "  elite: 4", "  elite: 3")
    run = run_cli("test", "--rules", str(rules_dir), "--format", "junit")
    suite = ElementTree.fromstring(run.stdout)
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    (failure,) = suite.iter("failure")
    assert "expected 4, got 3" in failure.get("message", "")


def test_the_reference_dispatcher_api_runs_the_same_suite(rules_dir: Path) -> None:
    suite_dir(rules_dir)
    suite = Dispatcher.from_rules(rules_dir, entry_points=False).test_rules()
    assert [case.name for case in suite.cases] == ["networking at 45.5 is a medium gap", "elite opens difficulty 4"]
    assert suite.passed


def test_the_packaged_tests_exercise_every_default_rule() -> None:
    # No allow-list: a rule only dashboards use is exercised by a case over many results ("results").
    dispatcher = Dispatcher.from_rules(entry_points=False)
    suite = dispatcher.test_rules()
    assert suite.passed and not suite.skipped
    missing = sorted(f"{rule.file} {rule.rule}" for rule in dispatcher.untested_rules(suite))
    assert missing == [], "rules no packaged test exercises:\n" + "\n".join(missing)


def test_rule_tests_run_under_pytest_through_the_plugin(pytester: pytest.Pytester, rules_dir: Path) -> None:
    suite_dir(rules_dir)
    edit(rules_dir / "missions.yaml", "  elite: 4", "  elite: 3")
    host = pytester.path
    (host / "rules").symlink_to(rules_dir)
    pytester.makeini(
        textwrap.dedent(
            """
            [pytest]
            profiler_rules_dirs = rules
            testpaths = rules/tests
            """
        )
    )
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    outcome.assert_outcomes(passed=1, failed=1)
    outcome.stdout.fnmatch_lines(["*missions.output.max_difficulty: expected 4, got 3*"])


def test_plugin_fixtures_build_dispatchers_and_rule_directories(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_fixtures(profiler_rules_dispatcher, profiler_rules_dir):
            rules = profiler_rules_dir()
            (rules / "missions.yaml").write_text((rules / "missions.yaml").read_text().replace("elite: 4", "elite: 5"))
            report = profiler_rules_dispatcher(rules).dispatch(
                {"session_id": "s", "user_id": "u", "status": "locked", "difficulty_selection": "elite"})
            assert report.engines["missions"].output.max_difficulty == 5
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_packaged_test_files_are_rule_tests_of_known_engines() -> None:
    files = sorted(PACKAGED_RULES.glob("tests/*.yaml"))
    assert files
    engines = set(Dispatcher.from_rules(entry_points=False).engines)
    for path in files:
        assert path.stem in engines | {"access"}, f"{path.name} is named after no engine"
