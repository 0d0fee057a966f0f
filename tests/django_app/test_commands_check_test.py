"""``manage.py profiler_rules check|test``: the CLI's check and test, on the rules PROFILER_RULES configures."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from tests.conftest import BUILTIN_ENGINES, Run, edit, run_cli
from tests.django_app.conftest import EXAMPLE_HOST


def manage(*args: str, rules: Path | None = None) -> Run:
    """``python manage.py <args>`` in the example host, as its developer runs it."""
    environment = {key: value for key, value in os.environ.items() if key != "EXAMPLE_HOST_DATABASE"}
    if rules is not None:
        environment["PROFILER_RULES_DIR"] = str(rules)
    completed = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE_HOST,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


def test_check_prints_what_the_cli_prints_and_exits_1_on_problems(rules_dir: Path) -> None:
    edit(rules_dir / "missions.yaml", "  elite: 4", "  elite: high")
    edit(rules_dir / "recipes.yaml", "\nbehavioral:", "\nbehavioural:")
    command = manage("profiler_rules", "check", rules=rules_dir)
    cli = run_cli("check", "--rules", str(rules_dir))
    assert (command.code, cli.code) == (1, 1)
    assert command.stdout == cli.stdout
    assert f"{rules_dir / 'missions.yaml'}:" in command.stdout and f"{rules_dir / 'recipes.yaml'}:" in command.stdout
    assert command.stderr == cli.stderr  # the count and the advice; no "CommandError", no traceback


def test_check_of_valid_rules_exits_0(rules_dir: Path) -> None:
    out = StringIO()
    with override_settings(PROFILER_RULES={"RULES_DIR": str(rules_dir)}):
        call_command("profiler_rules", "check", stdout=out, stderr=StringIO())
    assert out.getvalue().startswith(f"ok: rules of {len(BUILTIN_ENGINES)} engine(s) are valid (sha256:")


def test_check_runs_on_rules_the_system_checks_refuse(rules_dir: Path) -> None:
    # The system checks would stop any other command; this one is how the problems are read.
    edit(rules_dir / "missions.yaml", "  elite: 4", "  elite: high")
    out = StringIO()
    with override_settings(PROFILER_RULES={"RULES_DIR": str(rules_dir)}), pytest.raises(CommandError) as raised:
        call_command("profiler_rules", "check", stdout=out, stderr=StringIO())
    assert raised.value.returncode == 1
    assert "'high' is not of type 'integer' [levels.elite]" in out.getvalue()


def test_check_json_is_the_clis(rules_dir: Path) -> None:
    out = StringIO()
    with override_settings(PROFILER_RULES={"RULES_DIR": str(rules_dir)}):
        call_command("profiler_rules", "check", "--format", "json", stdout=out)
    assert out.getvalue() == run_cli("check", "--rules", str(rules_dir), "--format", "json").stdout


def test_test_runs_the_configured_rules_tests(rules_dir: Path) -> None:
    out = StringIO()
    with override_settings(PROFILER_RULES={"RULES_DIR": str(rules_dir)}):
        call_command("profiler_rules", "test", stdout=out, stderr=StringIO())
    assert out.getvalue().endswith(" passed, 0 failed\n")


def test_a_failing_rule_test_exits_1_with_the_clis_report(rules_dir: Path) -> None:
    edit(rules_dir / "missions.yaml", "  elite: 4", "  elite: 3")
    command = manage("profiler_rules", "test", rules=rules_dir)
    cli = run_cli("test", "--rules", str(rules_dir))
    assert (command.code, cli.code) == (1, 1)
    assert "FAIL missions.yaml::elite opens missions up to difficulty 4" in command.stdout
    assert command.stdout == cli.stdout
    assert "Traceback" not in command.stderr


def test_test_k_selects_cases_by_name(rules_dir: Path) -> None:
    out = StringIO()
    with override_settings(PROFILER_RULES={"RULES_DIR": str(rules_dir)}):
        call_command("profiler_rules", "test", "-k", "elite opens", stdout=out, stderr=StringIO())
    assert out.getvalue() == run_cli("test", "--rules", str(rules_dir), "-k", "elite opens").stdout


def test_an_unusable_rules_directory_is_one_error_line_and_exit_2(tmp_path: Path) -> None:
    for subcommand in ("check", "test"):
        run = manage("profiler_rules", subcommand, rules=tmp_path / "nowhere")
        assert run.code == 2
        assert run.stderr == f"profiler_rules: error: {tmp_path / 'nowhere'}: no such rules directory\n"


def test_call_command_raises_the_error_with_its_code(tmp_path: Path) -> None:
    with (
        override_settings(PROFILER_RULES={"RULES_DIR": str(tmp_path / "nowhere")}),
        pytest.raises(CommandError) as raised,
    ):
        call_command("profiler_rules", "test", stdout=StringIO(), stderr=StringIO())
    assert raised.value.returncode == 2
    assert str(raised.value) == f"{tmp_path / 'nowhere'}: no such rules directory"


def test_a_subcommand_is_required() -> None:
    run = manage("profiler_rules")
    assert run.code != 0
    assert "SUBCOMMAND" in run.stderr and "Traceback" not in run.stderr
