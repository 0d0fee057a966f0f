"""Missions: the seed's difficulty mapping, the default, and the open missions of a catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from profiler_rules import Dispatcher

from .conftest import PACKAGED_RULES, edit, line_of, result

CATALOG = [
    {"id": "m-1", "title": "Packets", "difficulty": 1},
    {"id": 2, "title": "Hardening", "difficulty": 2},
    {"id": "m-3", "title": "Hunting", "difficulty": 3},
    {"id": "m-5", "title": "Red team", "difficulty": 5},
]


def missions(dispatcher: Dispatcher, catalogs: dict[str, Any] | None = None, **fields: Any) -> Any:
    return dispatcher.dispatch(result(**fields), catalogs=catalogs).engines["missions"]


@pytest.mark.parametrize(
    ("selection", "cap", "label"),
    [
        ("novice", 1, "Beginner"),
        ("beginner", 1, "Beginner"),
        ("intermediate", 2, "Intermediate"),
        ("advanced", 3, "Advanced"),
        ("elite", 4, "Expert"),
    ],
)
def test_the_seed_mapping(dispatcher: Dispatcher, selection: str, cap: int, label: str) -> None:
    report = missions(dispatcher, difficulty_selection=selection)
    assert report.status == "ok"
    assert report.output.model_dump() == {
        "profiler_difficulty": selection,
        "max_difficulty": cap,
        "label": label,
        "source": "profiler",
        "open_missions": None,
    }
    assert report.warnings == ()


@pytest.mark.parametrize("selection", [" elite", "ELITE", "Elite\n", "\telite  "])
def test_selection_is_trimmed_and_case_insensitive(dispatcher: Dispatcher, selection: str) -> None:
    output = missions(dispatcher, difficulty_selection=selection).output
    assert (output.max_difficulty, output.profiler_difficulty, output.source) == (4, "elite", "profiler")


@pytest.mark.parametrize("selection", [None, "", "   "])
def test_no_selection_gives_the_default_without_a_warning(dispatcher: Dispatcher, selection: str | None) -> None:
    report = missions(dispatcher, difficulty_selection=selection)
    assert (report.output.max_difficulty, report.output.source) == (1, "default")
    assert report.warnings == ()
    assert "no difficulty selection" in report.explain[0].message


def test_unknown_selection_gives_the_default_and_a_warning(dispatcher: Dispatcher) -> None:
    report = missions(dispatcher, difficulty_selection="expert")
    assert (report.output.max_difficulty, report.output.source) == (1, "default")
    (warning,) = report.warnings
    assert "'expert'" in warning
    assert "novice, beginner, intermediate, advanced, elite" in warning


@pytest.mark.parametrize("status", ["in_progress", None])
def test_incomplete_result_gets_the_default(dispatcher: Dispatcher, status: str | None) -> None:
    report = missions(dispatcher, status=status, difficulty_selection="elite")
    assert report.status == "ok"
    assert (report.output.max_difficulty, report.output.source) == (1, "default")
    assert "not complete" in report.explain[0].message


def test_explanation_cites_the_rule_line(dispatcher: Dispatcher) -> None:
    because, label = missions(dispatcher, difficulty_selection="advanced").explain
    assert (label.rule, label.message) == ("difficulty_labels['3']", "mission difficulty 3 → label Advanced")
    assert because.rule == "levels.advanced"
    assert because.file == "profiler_rules/rules/missions.yaml"
    assert because.line == line_of(PACKAGED_RULES / "missions.yaml", "advanced: 3")
    assert because.message == "difficulty 'advanced' allows missions up to difficulty 3 (Advanced)"


def test_catalog_missions_at_or_below_the_cap_are_open(dispatcher: Dispatcher) -> None:
    output = missions(dispatcher, {"missions": CATALOG}, difficulty_selection="intermediate").output
    assert [mission.id for mission in output.open_missions] == ["m-1", "2"]


def test_default_cap_opens_difficulty_one_only(dispatcher: Dispatcher) -> None:
    output = missions(dispatcher, {"missions": CATALOG}).output
    assert [mission.id for mission in output.open_missions] == ["m-1"]


def test_a_rule_change_moves_the_cap(rules_dir: Path) -> None:
    edit(rules_dir / "missions.yaml", "  elite: 4", "  elite: 5")
    output = missions(
        Dispatcher.from_rules(rules_dir, entry_points=False), {"missions": CATALOG}, difficulty_selection="elite"
    ).output
    assert (output.max_difficulty, output.label) == (5, "Master")
    assert [mission.id for mission in output.open_missions] == ["m-1", "2", "m-3", "m-5"]


def test_levels_may_be_written_in_any_case(rules_dir: Path) -> None:
    edit(rules_dir / "missions.yaml", "  elite: 4", "  Elite: 4")
    output = missions(Dispatcher.from_rules(rules_dir, entry_points=False), difficulty_selection="ELITE").output
    assert output.max_difficulty == 4


def test_a_label_missing_for_a_used_difficulty_is_a_rule_problem(rules_dir: Path) -> None:
    from profiler_rules import RulesError

    edit(rules_dir / "missions.yaml", "  4: Expert\n", "")
    with pytest.raises(RulesError, match="mission difficulty 4 is used but has no label"):
        Dispatcher.from_rules(rules_dir, entry_points=False)
