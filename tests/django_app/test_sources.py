"""The result and viewer sources read the platform's rows, in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_host import factories as make

from profiler_rules.contrib.django.sources import ResultSource
from profiler_rules.contrib.django.viewers import ViewerSource

pytestmark = pytest.mark.django_db


def test_a_learner_reads_in_four_queries_whatever_they_hold() -> None:
    learner = make.user("student")
    make.enroll(learner, make.cohort(), org=make.organization())
    make.session(learner, identity_values=("integrity", "service"))
    with CaptureQueriesContext(connection) as queries:
        found = ResultSource().learner(learner)
    assert found is not None
    assert len(queries) == 4
    assert found.result["answers"]["identity_values"] == ["integrity", "service"]
    assert found.result["recommended_track"] == "defender"  # the track's key, not its UUID


def test_the_latest_complete_session_is_read_and_an_unfinished_retake_is_not() -> None:
    learner = make.user()
    now = timezone.now()
    make.session(learner, completed_at=now - timedelta(days=9), difficulty_selection="novice")
    newest = make.session(learner, completed_at=now - timedelta(days=1), difficulty_selection="advanced")
    make.session(learner, status="in_progress", difficulty_selection="elite")
    found = ResultSource().learner(learner)
    assert found is not None and found.session.pk == newest.pk
    assert found.result["difficulty_selection"] == "advanced"


def test_a_locked_session_without_a_completion_time_comes_after_dated_ones() -> None:
    # The original ordered by -completed_at, which puts NULLs first on PostgreSQL.
    learner = make.user()
    dated = make.session(learner, completed_at=timezone.now() - timedelta(days=3))
    make.session(learner, completed_at=None, status="locked")
    found = ResultSource().learner(learner)
    assert found is not None and found.session.pk == dated.pk


def test_both_stored_shapes_and_a_missing_result_row_read_as_results(dispatcher) -> None:
    documented, native, bare = make.user(), make.user(), make.user()
    make.session(documented)
    make.session(native, shape="native")
    make.session(bare, with_result=False)
    source = ResultSource()
    results = {learner.pk: source.learner(learner).result for learner in (documented, native, bare)}
    reports = {pk: dispatcher.dispatch(result) for pk, result in results.items()}
    gaps = {pk: report.engines["recipes"].output.gaps for pk, report in reports.items()}
    assert {gap.category for gap in gaps[documented.pk]} >= {"networking", "web", "technical_exposure"}
    assert {gap.category for gap in gaps[native.pk]} >= {"networking", "security"}  # 0/1 and 2/4 are below 60
    assert results[bare.pk]["scores"] == {
        "overall": None,
        "aptitude": results[bare.pk]["scores"]["aptitude"],
        "behavioral": None,
    }
    assert reports[native.pk].engines["missions"].output.max_difficulty == 4  # " Elite " trimmed


def test_many_learners_read_in_a_fixed_number_of_queries_per_chunk(settings) -> None:
    settings.PROFILER_RULES = {"CHUNK_SIZE": 3}
    learners = [make.user() for _ in range(7)]
    for learner in learners:
        make.session(learner)
        make.enroll(learner, make.cohort())
    with CaptureQueriesContext(connection) as queries:
        found = list(ResultSource().learners())
    assert [item.user_pk for item in found] == [learner.pk for learner in learners]
    assert len(queries) == 3 * 5  # three chunks (3, 3, 1), five queries each, none per row
    resumed = list(ResultSource().learners(after=learners[3].pk))
    assert [item.user_pk for item in resumed] == [learner.pk for learner in learners[4:]]


def test_user_ids_follow_the_setting(settings) -> None:
    learner = make.user()
    make.session(learner)
    assert ResultSource().learner(learner).result["user_id"] == str(learner.pk)
    settings.PROFILER_RULES = {"USER_ID": "uuid_id"}
    assert ResultSource().learner(learner).result["user_id"] == str(learner.uuid_id)


def test_viewers_carry_renamed_roles_and_their_relations() -> None:
    director, mentor, sponsor_admin = make.user("program_director"), make.user("mentor"), make.user()
    staff = make.user(is_staff=True)
    directed = make.cohort(track=make.track("grc", director=director))
    mentee = make.user("mentee")
    make.assign(mentee, mentor)
    make.assign(make.user(), mentor, status="ended")
    org = make.organization()
    make.grant(sponsor_admin, "sponsor_admin", scope="org", scope_ref=str(org.pk))
    source = ViewerSource()
    assert source.viewer(director)["roles"] == ["director"]
    assert source.viewer(director)["cohort_ids"] == [str(directed.pk)]
    assert source.viewer(mentor)["mentee_ids"] == [str(mentee.pk)]
    assert source.viewer(sponsor_admin)["sponsor_ids"] == [str(org.pk)]
    assert source.viewer(staff)["roles"] == ["admin"]
    assert source.viewer(mentee)["roles"] == ["student"]


def test_an_anonymous_user_is_no_viewer() -> None:
    from django.contrib.auth.models import AnonymousUser

    assert ViewerSource().viewer(AnonymousUser()) is None
