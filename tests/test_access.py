"""The access matrix: every role, with and without each relation, against every guarded view.

The expected policy is written out here, plainly, from the issue; the engines must agree with it for
every viewer, and no denied or reduced answer may carry an anti-cheat field or value.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
from pathlib import Path
from typing import Any

import pytest

from profiler_rules import Dispatcher, RulesError
from profiler_rules.plugins.analytics import dashboard

from .conftest import EXAMPLES, edit, line_of

LEARNER, COHORT, SPONSOR = "learner-123", "cohort-2026-spring", "sponsor-acme"
ROLES = (None, "student", "mentor", "coach", "analyst", "admin", "director")
RELATIONS = ("self", "mentee", "coachee", "cohort", "sponsor")
FINGERPRINT = "fp_9a41c7"


def example() -> dict[str, Any]:
    return json.loads((EXAMPLES / "result.json").read_text())


def viewer(role: str | None, relations: tuple[str, ...]) -> dict[str, Any]:
    return {
        "user_id": LEARNER if "self" in relations else "someone-else",
        "roles": [role] if role else [],
        "mentee_ids": [LEARNER] if "mentee" in relations else ["learner-999"],
        "coachee_ids": [LEARNER] if "coachee" in relations else [],
        "cohort_ids": [COHORT] if "cohort" in relations else ["cohort-other"],
        "sponsor_ids": [SPONSOR] if "sponsor" in relations else [],
    }


def expected_mentee_view(role: str | None, relations: tuple[str, ...]) -> tuple[bool, bool]:
    """(may see the view, may see anti-cheat), by the issue's defaults."""
    mentor = role == "mentor" and "mentee" in relations
    allowed = (
        "self" in relations or mentor or role in ("admin", "analyst") or (role == "coach" and "coachee" in relations)
    )
    return allowed, mentor or role == "admin"


def expected_cohort(role: str | None, relations: tuple[str, ...]) -> bool:
    return role == "admin" or (role == "director" and "cohort" in relations)


def expected_enterprise(role: str | None, relations: tuple[str, ...]) -> bool:
    return role == "admin"


CASES = [
    (role, tuple(relation for relation, on in zip(RELATIONS, flags, strict=True) if on))
    for role in ROLES
    for flags in itertools.product((False, True), repeat=len(RELATIONS))
]


def assert_no_anti_cheat(text: str) -> None:
    assert "anti_cheat" not in text
    assert "anti-cheat" not in text
    assert FINGERPRINT not in text
    assert "12.5" not in text


@pytest.mark.parametrize(("role", "relations"), CASES)
def test_mentee_view_and_anti_cheat(dispatcher: Dispatcher, role: str | None, relations: tuple[str, ...]) -> None:
    report = dispatcher.dispatch(example(), viewer=viewer(role, relations)).engines["mentorship"]
    allowed, anti_cheat = expected_mentee_view(role, relations)
    text = report.model_dump_json()
    if not allowed:
        assert report.status == "denied"
        assert report.output is None
        assert report.explain and "denied" in report.explain[0].message
        assert_no_anti_cheat(text)
    elif not anti_cheat:
        assert report.status == "ok"
        assert report.output.mentee_id == LEARNER
        assert "anti_cheat" not in report.output.model_dump()
        assert_no_anti_cheat(text)
    else:
        assert report.status == "ok"
        assert report.output.anti_cheat.device_fingerprint == FINGERPRINT
        assert report.output.anti_cheat.score == 12.5


@pytest.mark.parametrize(("role", "relations"), CASES)
def test_analytics_scopes(dispatcher: Dispatcher, role: str | None, relations: tuple[str, ...]) -> None:
    results = [example()]
    cohort = dashboard(dispatcher, results, viewer=viewer(role, relations), cohort_id=COHORT)
    enterprise = dashboard(dispatcher, results, viewer=viewer(role, relations), sponsor_id=SPONSOR)
    per_result = dispatcher.dispatch(example(), viewer=viewer(role, relations)).engines["analytics"]
    for report, allowed in (
        (cohort, expected_cohort(role, relations)),
        (enterprise, expected_enterprise(role, relations)),
    ):
        assert report.status == ("ok" if allowed else "denied")
        assert (report.output is not None) == allowed
        if not allowed:
            assert report.results_read == 0, "a denied dashboard reads no result"
            assert_no_anti_cheat(report.model_dump_json())
    assert per_result.status == ("ok" if expected_cohort(role, relations) else "denied")


def test_a_missing_viewer_is_denied_everything(dispatcher: Dispatcher) -> None:
    report = dispatcher.dispatch(example())
    assert report.engines["mentorship"].status == "denied"
    assert report.engines["mentorship"].explain[0].message == "no viewer was given; mentee_view is denied without one"
    assert report.engines["analytics"].status == "denied"
    assert dashboard(dispatcher, [example()], viewer=None, cohort_id=COHORT).status == "denied"


def test_a_denial_cites_the_view_in_the_access_rules(dispatcher: Dispatcher) -> None:
    from .conftest import PACKAGED_RULES

    because = dispatcher.dispatch(example(), viewer=viewer("student", ())).engines["mentorship"].explain[0]
    assert (because.file, because.line) == (
        "profiler_rules/rules/access.yaml",
        line_of(PACKAGED_RULES / "access.yaml", "mentee_view:"),
    )


def test_random_viewers_never_see_more_than_the_policy(
    dispatcher: Dispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(2026)
    caplog.set_level(logging.DEBUG, logger="profiler_rules")
    for _ in range(300):
        roles = rng.sample(ROLES[1:], rng.randint(0, 3))
        relations = tuple(relation for relation in RELATIONS if rng.random() < 0.4)
        raw = viewer(None, relations) | {"roles": roles}
        report = dispatcher.dispatch(example(), viewer=raw).engines["mentorship"]
        verdicts = [expected_mentee_view(role, relations) for role in roles or [None]]
        allowed = any(verdict[0] for verdict in verdicts)
        anti_cheat = any(verdict[1] for verdict in verdicts)
        assert report.status == ("ok" if allowed else "denied")
        if not anti_cheat:
            assert_no_anti_cheat(report.model_dump_json())
    assert FINGERPRINT not in caplog.text


def test_access_rules_change_the_policy(rules_dir: Path) -> None:
    edit(rules_dir / "access.yaml", "  - role: analyst\n", "")
    changed = Dispatcher.from_rules(rules_dir, entry_points=False)
    assert changed.dispatch(example(), viewer=viewer("analyst", ())).engines["mentorship"].status == "denied"


def test_a_grant_naming_nobody_is_a_rule_problem(rules_dir: Path) -> None:
    path = rules_dir / "access.yaml"
    edit(path, "  - role: analyst\n", "  - details:\n      - anti_cheat\n")
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    (problem,) = raised.value.problems
    assert problem.line == line_of(path, "  - details:")
    assert problem.path == "mentee_view[4]"


def test_an_unknown_relation_is_a_rule_problem(rules_dir: Path) -> None:
    path = rules_dir / "access.yaml"
    edit(path, "    relation: assigned_coachee\n", "    relation: coachee\n")
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    (problem,) = raised.value.problems
    assert (problem.line, problem.path) == (line_of(path, "relation: coachee"), "mentee_view[3].relation")


def test_a_misspelt_view_is_a_warning_and_denies(rules_dir: Path) -> None:
    path = rules_dir / "access.yaml"
    edit(path, "mentee_view:", "mentee_veiw:")
    changed = Dispatcher.from_rules(rules_dir, entry_points=False)
    (warning,) = changed.ruleset.warnings
    assert warning.format() == (
        f"{path}:{line_of(path, 'mentee_veiw:')}:1: warning: no loaded engine checks view 'mentee_veiw' "
        "(views checked: cohort_analytics, enterprise_analytics, mentee_view) [mentee_veiw]"
    )
    assert changed.dispatch(example(), viewer=viewer("admin", ())).engines["mentorship"].status == "denied"


def test_the_access_rules_are_required_in_a_rules_directory(rules_dir: Path) -> None:
    (rules_dir / "access.yaml").unlink()
    with pytest.raises(RulesError, match="missing rule file of the access rules"):
        Dispatcher.from_rules(rules_dir, entry_points=False)


def test_a_denied_viewer_learns_nothing_of_an_incomplete_result(dispatcher: Dispatcher) -> None:
    unfinished = example() | {"status": "aptitude_complete"}
    report = dispatcher.dispatch(unfinished, viewer=viewer("student", ()))
    for engine in ("mentorship", "analytics"):
        assert report.engines[engine].status == "denied"
        assert "aptitude_complete" not in report.engines[engine].model_dump_json()
    allowed = dispatcher.dispatch(unfinished, viewer=viewer("admin", ()))
    assert allowed.engines["analytics"].status == "skipped"
