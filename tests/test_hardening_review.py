"""What the lead's own hostile review of issue 10's work found, each fixed and pinned here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from profiler_rules import Dispatcher, RulesError
from profiler_rules.core.errors import RulesDirectoryError

from .conftest import PACKAGED_RULES, run_cli


def test_a_rule_set_version_can_not_send_terminal_commands(tmp_path: Path) -> None:
    # check, explain and diff print the version: a control character in it would act on the terminal.
    rules = tmp_path / "rules"
    shutil.copytree(PACKAGED_RULES, rules)
    (rules / "ruleset.yaml").write_text('version: "1.0\\e[31mred"\n', encoding="utf-8")
    run = run_cli("check", "--rules", str(rules))
    assert run.code == 1
    assert f"{rules}/ruleset.yaml:1:10: error: '1.0\\x1b[31mred' is not allowed here" in run.stdout
    assert "\x1b" not in run.stdout + run.stderr
    (rules / "ruleset.yaml").write_text("version: 2026.11.1\n", encoding="utf-8")
    assert run_cli("check", "--rules", str(rules)).code == 0


@pytest.mark.parametrize("path", ["", "rules\x00"])
def test_an_empty_or_impossible_rules_path_is_a_rules_directory_error(path: str) -> None:
    # An empty path would be the current directory to pathlib; a NUL byte a ValueError from the OS layer.
    with pytest.raises(RulesDirectoryError) as raised:
        Dispatcher.from_rules(path, entry_points=False)
    assert isinstance(raised.value, RulesError) and len(raised.value.problems) == 1


def test_an_empty_rules_option_is_unusable_input_for_every_command() -> None:
    for command in ("check", "test", "dispatch", "explain", "diff", "analytics"):
        run = run_cli(command, "--rules", "", *(["--example"] if command not in ("check", "test") else []))
        assert run.code == 2, (command, run.stderr)
        assert "the rules directory is an empty path" in run.stderr and "Traceback" not in run.stderr
