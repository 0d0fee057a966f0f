"""Re-evaluation keeps a decision record of each learner whose decisions it changed, in process and on
Celery, once per change: what a learner was decided, and when, stays readable after a rule change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from profiler_rules import Dispatcher
from tests.conftest import edit

from .test_reevaluate import _learners, _reevaluate

pytestmark = pytest.mark.django_db


def _records(origin_prefix: str = "reevaluation") -> list[Any]:
    from profiler_rules.contrib.django.models import DecisionRecord

    return list(DecisionRecord.objects.filter(origin__startswith=origin_prefix).order_by("pk"))


def test_a_rule_change_records_each_learner_it_changed_and_no_other(
    rules_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    from profiler_rules.contrib.django.models import ReevaluationRun

    changed = _learners(2, django_capture_on_commit_callbacks)  # difficulty "intermediate": level 2
    unchanged = _learners(1, django_capture_on_commit_callbacks, difficulty_selection="novice")
    assert _records() == [], "completion records as completion"
    edit(rules_dir / "missions.yaml", "intermediate: 2", "intermediate: 3")

    _reevaluate("--rules", str(rules_dir))
    run = ReevaluationRun.objects.latest("pk")
    records = _records()
    assert sorted(record.learner_id for record in records) == sorted(str(learner.pk) for learner in changed)
    assert str(unchanged[0].pk) not in {record.learner_id for record in records}
    digest = Dispatcher.from_rules(rules_dir).ruleset.digest
    for record in records:
        assert record.origin == f"reevaluation run {run.pk}"
        assert record.ruleset_digest == digest and record.viewer_id is None
        assert record.answers["missions"]["output"]["max_difficulty"] == 3
        assert "explain" not in record.answers["missions"]

    _reevaluate("--rules", str(rules_dir))  # nothing changes now: nothing more is recorded
    assert len(_records()) == len(records)


def test_a_dry_run_records_nothing(rules_dir: Path, django_capture_on_commit_callbacks: Any) -> None:
    _learners(2, django_capture_on_commit_callbacks)
    edit(rules_dir / "missions.yaml", "intermediate: 2", "intermediate: 3")
    _reevaluate("--rules", str(rules_dir), "--dry-run")
    assert _records() == []


def test_records_off_records_no_reevaluation(
    rules_dir: Path, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.PROFILER_RULES = {**settings.PROFILER_RULES, "RECORDS": {"ENABLED": False}}
    _learners(2, django_capture_on_commit_callbacks)
    edit(rules_dir / "missions.yaml", "intermediate: 2", "intermediate: 3")
    _reevaluate("--rules", str(rules_dir))
    assert _records() == []


def test_a_celery_chunk_records_its_changes_once_however_often_it_is_delivered(
    rules_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    pytest.importorskip("celery")
    from profiler_rules.contrib.django.tasks import create_run, reevaluate_chunk_task

    learners = _learners(3, django_capture_on_commit_callbacks)
    edit(rules_dir / "missions.yaml", "intermediate: 2", "intermediate: 3")
    run, [(index, keys)] = create_run(Dispatcher.from_rules(rules_dir))
    reevaluate_chunk_task(run.pk, index, keys)
    reevaluate_chunk_task(run.pk, index, keys)  # delivered again: the chunk is done, nothing is recorded
    records = _records()
    assert sorted(record.learner_id for record in records) == sorted(str(learner.pk) for learner in learners)
    assert {record.origin for record in records} == {f"reevaluation run {run.pk}"}
    assert {record.ruleset_digest for record in records} == {run.ruleset_digest}
