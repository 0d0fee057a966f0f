"""Explanations for people, and the impact preview of a rule change."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from profiler_rules import Dispatcher
from profiler_rules.cli.results import explanation_text
from profiler_rules.impact import decisions, describe

from .conftest import EXAMPLES, PACKAGED_RULES, edit, line_of, run_cli


def test_explain_says_each_rule_with_its_place() -> None:
    run = run_cli("explain", "--example")
    assert run.code == 0, run.stderr
    recipes = PACKAGED_RULES / "recipes.yaml"
    cutoff = line_of(recipes, "below this percentage") + 1
    assert (
        f"  - networking 45.5 is below the aptitude cutoff 60 (profiler_rules/rules/recipes.yaml:{cutoff}) → gap"
        in run.stdout.splitlines()
    )
    assert "missions: ok: max difficulty 2 (Intermediate), from the profiler; 3 mission(s) open" in run.stdout
    assert "mentorship: ok: mentee view, anti-cheat included" in run.stdout


def test_explain_one_engine() -> None:
    run = run_cli("explain", "--example", "--engine", "missions")
    engines = [line.split(":")[0] for line in run.stdout.splitlines() if line and not line.startswith((" ", "session"))]
    assert engines == ["missions"]
    assert run_cli("explain", "--example", "--engine", "nope").code == 2


def test_the_words_come_from_the_structured_explanation(dispatcher: Dispatcher) -> None:
    report = dispatcher.dispatch(json.loads((EXAMPLES / "result.json").read_text()))
    first = report.engines["recipes"].explain[0]
    assert (
        explanation_text(first)
        == f"{first.message.split(' → ')[0]} ({first.file}:{first.line}) → {first.message.split(' → ')[1]}"
    )


def test_decisions_and_their_changes_read_plainly() -> None:
    answer = {
        "status": "ok",
        "output": {"max_difficulty": 2, "codes": ["NET", "DNS"], "gaps": [{"a": 1}], "nested": {"x": None}},
    }
    assert decisions(answer) == {
        "status": "ok",
        "max_difficulty": 2,
        "codes": ("NET", "DNS"),
        "gaps items": 1,
        "nested.x": None,
    }
    assert describe("max_difficulty", 2, 3) == "max_difficulty 2→3"
    assert describe("codes", ("NET", "DNS"), ("DNS", "WEB")) == "codes +WEB -NET"
    assert describe("readiness", None, "novice") == 'readiness none→"novice"'


def test_diff_previews_a_cutoff_change_on_the_example_cohort(tmp_path: Path) -> None:
    rules = tmp_path / "my-rules"
    assert run_cli("init", str(rules)).code == 0
    edit(rules / "recipes.yaml", "  gap_cutoff: 60\n\ntechnical_exposure:", "  gap_cutoff: 75\n\ntechnical_exposure:")
    edit(rules / "recipes.yaml", "  - priority: medium\n    below: 60\n", "  - priority: medium\n    below: 75\n")
    run = run_cli("diff", "--rules", str(rules), "--example", "--format", "json")
    assert run.code == 0, run.stderr
    summary = run.json()
    assert summary["results"] == 21 and summary["invalid"] == 0
    assert summary["new"]["directory"] == str(rules) and summary["base"]["directory"] is None
    recipes = summary["engines"]["recipes"]
    assert recipes["changed"] > 0
    changes = {change["change"]: change for change in recipes["changes"]}
    assert any(change.startswith("total_gaps ") for change in changes)
    for change in changes.values():
        assert 1 <= len(change["examples"]) <= 3 and change["count"] >= len(change["examples"])
    assert summary["engines"]["missions"] == {"changed": 0, "changes": []}
    text = run_cli("diff", "--rules", str(rules), "--example")
    assert f"recipes: {recipes['changed']} of 21 changed" in text.stdout
    assert "missions: no decision changed" in text.stdout


def test_diff_counts_invalid_lines_and_exits_1(tmp_path: Path) -> None:
    source = tmp_path / "results.jsonl"
    source.write_text('{"session_id": "a", "user_id": "a", "status": "locked"}\n{broken\n')
    run = run_cli("diff", str(source), "--format", "json")
    assert run.code == 1
    assert run.json()["invalid"] == 1
    assert run.json()["invalid_examples"] == ["line 2: invalid JSON: key must be a string at column 2"]


def peak_kib(source: Path, base: Path) -> int:
    script = (
        "import resource, sys, io, contextlib\n"
        "from profiler_rules.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['diff', '--base', sys.argv[2], sys.argv[1], '--format', 'json'])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(source), str(base)], capture_output=True, text=True, check=True
    )
    return int(run.stdout.split()[-1])


def write_results(path: Path, count: int) -> Path:
    rng = random.Random(5)
    with path.open("w") as out:
        for index in range(count):
            score = round(rng.uniform(0, 100), 2)
            out.write(
                json.dumps(
                    {
                        "session_id": f"s-{index}",
                        "user_id": f"u-{index}",
                        "status": "locked",
                        "difficulty_selection": rng.choice(["novice", "elite", "advanced"]),
                        "aptitude_breakdown": {"networking": score, "web": 100 - score},
                        "technical_exposure_score": score,
                    }
                )
                + "\n"
            )
    return path


def test_diff_memory_does_not_grow_with_the_input(tmp_path: Path, rules_dir: Path) -> None:
    edit(
        rules_dir / "recipes.yaml", "  gap_cutoff: 60\n\ntechnical_exposure:", "  gap_cutoff: 50\n\ntechnical_exposure:"
    )
    small = peak_kib(write_results(tmp_path / "small.jsonl", 2_000), rules_dir)
    large = peak_kib(write_results(tmp_path / "large.jsonl", 12_000), rules_dir)
    assert large < small + 8 * 1024, f"peak grew from {small} KiB to {large} KiB with six times the input"
