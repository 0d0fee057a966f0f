"""Completion: a session that becomes complete is decided after its transaction commits, its decisions
kept, its portfolio entry applied as the rules say."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from profiler_rules.core.plugins import discover_plugins
from tests.conftest import edit

pytestmark = pytest.mark.django_db

KEPT_ENGINES = {item.engine.name for item in discover_plugins(entry_points=False, environ={}).engines} - {
    "mentorship",
    "analytics",
}
"""Without a viewer, mentorship and analytics answer denied, which is not about the learner: not kept."""


def _decisions(session: Any) -> dict[str, Any]:
    from profiler_rules.contrib.django.models import ProfilerDecision

    return {row.engine: row for row in ProfilerDecision.objects.filter(session_id=str(session.pk))}


def _entries(learner: Any) -> list[Any]:
    from dashboard.models import PortfolioItem

    return list(PortfolioItem.objects.filter(user=learner))


def _rules_with(rules_dir: Path, *changes: tuple[str, str, str]) -> Any:
    from django.conf import settings

    for file, old, new in changes:
        edit(rules_dir / file, old, new)
    return override_settings(PROFILER_RULES={**settings.PROFILER_RULES, "RULES_DIR": str(rules_dir)})


@pytest.mark.parametrize("shape", ["documented", "native"])
def test_a_session_created_complete_is_decided_after_commit(
    shape: str, django_capture_on_commit_callbacks: Any
) -> None:
    from django_host import factories as make

    from profiler_rules.contrib.django.signals import decided

    sent: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        sent.append(kwargs)

    decided.connect(receiver)
    try:
        learner = make.user("student")
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            session = make.session(learner, shape=shape, status="locked")
            assert not _decisions(session), "decided inside the transaction"
    finally:
        decided.disconnect(receiver)
    assert len(callbacks) == 1
    decisions = _decisions(session)
    assert set(decisions) == KEPT_ENGINES
    missions = decisions["missions"]
    assert missions.status == "ok" and missions.learner_id == str(learner.pk)
    assert missions.ruleset_digest.startswith("sha256:") and missions.decided_at is not None
    assert isinstance(missions.output["max_difficulty"], int)
    [entry] = _entries(learner)
    assert (entry.title, entry.item_type, entry.status, entry.visibility) == (
        "My Value Statement",
        "reflection",
        "approved",
        "private",
    )
    assert (entry.skill_tags, entry.evidence_files) == ("[]", "[]")
    assert entry.profiler_session_id == session.pk
    assert entry.user_id == learner.uuid_id  # the foreign key's to_field, not the user's pk
    assert entry.summary == decisions["portfolio"].output["summary"]
    [signal] = sent
    assert signal["session_pk"] == session.pk
    assert signal["learner"].key == str(learner.pk)
    assert signal["report"].engines["missions"].status == "ok"


def test_only_a_change_to_complete_decides(django_capture_on_commit_callbacks: Any) -> None:
    from django_host import factories as make

    from profiler_rules.contrib.django.models import ProfilerDecision

    learner = make.user("student")
    with django_capture_on_commit_callbacks(execute=True) as started:
        session = make.session(learner, status="in_progress", with_result=False)
    assert not started and not ProfilerDecision.objects.exists()
    session.status, session.completed_at = "finished", timezone.now()
    with django_capture_on_commit_callbacks(execute=True) as finishing:
        session.save()
    assert len(finishing) == 1 and set(_decisions(session)) == KEPT_ENGINES
    with django_capture_on_commit_callbacks(execute=True) as again:
        session.is_locked = True
        session.save()  # complete before, complete now: not a completion
    assert not again
    from profiler.models import ProfilerSession

    loaded = ProfilerSession.objects.get(pk=session.pk)
    with django_capture_on_commit_callbacks(execute=True) as reloaded:
        loaded.status = "locked"
        loaded.save()  # finished → locked: complete before as loaded
    assert not reloaded


@pytest.mark.django_db(transaction=True)
def test_a_rollback_decides_nothing() -> None:
    from django_host import factories as make

    from profiler_rules.contrib.django.models import ProfilerDecision

    learner = make.user("student")
    with pytest.raises(RuntimeError), transaction.atomic():
        make.session(learner, status="finished")
        raise RuntimeError("the host's view fails after saving")
    assert not ProfilerDecision.objects.exists()
    assert not _entries(learner)
    with transaction.atomic():
        session = make.session(learner, status="finished")
        assert not ProfilerDecision.objects.exists(), "decided before the commit"
    assert set(_decisions(session)) == KEPT_ENGINES
    assert len(_entries(learner)) == 1


def test_a_retake_replaces_the_entry_and_keeps_the_learners_visibility(django_capture_on_commit_callbacks: Any) -> None:
    from django_host import factories as make

    learner = make.user("student")
    first_answers = {"why_cyber": "I like puzzles", "what_achieve": "defend hospitals"}
    with django_capture_on_commit_callbacks(execute=True):
        first = make.session(
            learner, behavioral_responses=first_answers, completed_at=timezone.now() - timedelta(days=9)
        )
    [entry] = _entries(learner)
    created_at = entry.created_at
    entry.visibility = "public"  # the learner shares it
    entry.save()
    with django_capture_on_commit_callbacks(execute=True):
        second = make.session(learner, behavioral_responses={"why_cyber": "I want to protect my town"})
    [entry] = _entries(learner)
    assert entry.profiler_session_id == second.pk != first.pk
    assert "protect my town" in entry.summary and "puzzles" not in entry.summary
    assert entry.visibility == "public"
    assert entry.created_at == created_at and entry.updated_at > created_at


def test_a_retake_keeps_the_entry_when_the_rules_say_keep(
    rules_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    from django_host import factories as make

    learner = make.user("student")
    with _rules_with(rules_dir, ("portfolio.yaml", "on_retake: replace", "on_retake: keep")):
        with django_capture_on_commit_callbacks(execute=True):
            first = make.session(learner, completed_at=timezone.now() - timedelta(days=9))
        [before] = _entries(learner)
        with django_capture_on_commit_callbacks(execute=True):
            second = make.session(learner, behavioral_responses={"why_cyber": "I want to protect my town"})
    [after] = _entries(learner)
    assert (after.summary, after.profiler_session_id, after.updated_at) == (
        before.summary,
        first.pk,
        before.updated_at,
    )
    assert _decisions(second)["portfolio"].output["on_retake"] == "keep"


def test_an_older_session_completing_late_never_overwrites(django_capture_on_commit_callbacks: Any) -> None:
    from django_host import factories as make

    learner = make.user("student")
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        late = make.session(learner, status="in_progress", completed_at=None, with_result=False)
        newest = make.session(learner, completed_at=now - timedelta(hours=1))
    [entry] = _entries(learner)
    late.status, late.completed_at = "finished", now - timedelta(days=3)  # it was finished earlier
    late.behavioral_responses = {"why_cyber": "an older answer"}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        late.save()
    assert len(callbacks) == 1
    assert set(_decisions(late)) == KEPT_ENGINES  # its own decisions are kept
    [after] = _entries(learner)
    assert (after.profiler_session_id, after.summary) == (newest.pk, entry.summary)
    # With no entry at all (deleted by the learner), an older session does not write one either.
    after.delete()
    with django_capture_on_commit_callbacks(execute=True):
        late.status = "in_progress"
        late.save()
        late.status = "finished"
        late.save()
    assert not _entries(learner)


def test_an_entry_that_links_a_later_session_is_not_overwritten(django_capture_on_commit_callbacks: Any) -> None:
    from django_host import factories as make

    from profiler_rules.contrib.django.completion import complete

    learner = make.user("student")
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        older = make.session(learner, completed_at=now - timedelta(days=2))
        newer = make.session(learner, completed_at=now - timedelta(days=1), behavioral_responses={"why_cyber": "newer"})
    [entry] = _entries(learner)
    assert entry.profiler_session_id == newer.pk
    # The newer session is reset (no longer complete): the older one is the newest complete now, and
    # completing it again must still not take the entry from the later session it links.
    type(newer).objects.filter(pk=newer.pk).update(status="in_progress")
    with django_capture_on_commit_callbacks(execute=True):
        complete(older.pk)
    [after] = _entries(learner)
    assert (after.profiler_session_id, after.summary) == (newer.pk, entry.summary)


def test_bulk_updates_send_no_signal_and_complete_decides(django_capture_on_commit_callbacks: Any) -> None:
    from django_host import factories as make
    from profiler.models import ProfilerSession

    from profiler_rules.contrib.django.completion import complete

    learner = make.user("student")
    session = make.session(learner, status="in_progress", completed_at=None)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ProfilerSession.objects.filter(pk=session.pk).update(status="finished", completed_at=timezone.now())
    assert not callbacks and not _decisions(session)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        complete(session.pk)
        assert not _decisions(session), "complete() waits for the commit"
    assert len(callbacks) == 1
    assert set(_decisions(session)) == KEPT_ENGINES
    assert len(_entries(learner)) == 1


def test_completing_an_unfinished_session_decides_nothing(
    django_capture_on_commit_callbacks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from django_host import factories as make

    from profiler_rules.contrib.django.completion import complete

    session = make.session(make.user("student"), status="in_progress", completed_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        complete(session.pk)
    assert not _decisions(session)
    assert f"session {session.pk} is not complete" in caplog.text


def test_a_failure_is_logged_with_the_session_never_raised_nor_quoting_protected_values(
    django_capture_on_commit_callbacks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from django_host import factories as make

    learner = make.user("student")
    caplog.set_level(logging.ERROR, logger="profiler_rules.contrib.django")
    with django_capture_on_commit_callbacks(execute=True):
        session = make.session(learner, anti_cheat_score=Decimal("987.65"))  # out of range: invalid
    assert not _decisions(session) and not _entries(learner)
    assert f"session {session.pk} was not decided" in caplog.text
    assert "anti_cheat" in caplog.text and "987" not in caplog.text


def test_a_failing_receiver_is_logged_and_the_decisions_stand(
    django_capture_on_commit_callbacks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from django_host import factories as make

    from profiler_rules.contrib.django.signals import decided

    def broken(**_: Any) -> None:
        raise ValueError("the host's receiver fails")

    decided.connect(broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            session = make.session(make.user("student"))
    finally:
        decided.disconnect(broken)
    assert set(_decisions(session)) == KEPT_ENGINES
    assert f"failed for session {session.pk}: ValueError" in caplog.text
