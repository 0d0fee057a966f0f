"""The example host's ``seed_platform``: realistic rows, every special case, the same rows for the same seed."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db


def seed(learners: int = 30, random_seed: int = 3) -> str:
    out = StringIO()
    call_command("seed_platform", "--learners", str(learners), "--seed", str(random_seed), stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, Any]:
    """What the seed made, by the values a seed fixes (auto-increment keys aside)."""
    from mentorship_coordination.models import MenteeMentorAssignment
    from profiler.models import ProfilerAnswer, ProfilerSession
    from programs.models import Cohort, Enrollment

    return {
        "sessions": sorted(
            ProfilerSession.objects.values_list(
                "id", "user__username", "status", "difficulty_selection", "completed_at", "aptitude_score"
            )
        ),
        "answers": sorted(
            (str(session), repr(answer)) for session, answer in ProfilerAnswer.objects.values_list("session", "answer")
        ),
        "cohorts": sorted(Cohort.objects.values_list("id", "name", "track__key")),
        "enrollments": sorted(Enrollment.objects.values_list("id", "user__username", "cohort", "org", "status")),
        "assignments": sorted(
            MenteeMentorAssignment.objects.values_list("id", "mentee__username", "mentor__username", "status")
        ),
    }


def empty() -> None:
    """Delete what the seed made (the test's transaction keeps the tables)."""
    from django.apps import apps

    for label in (
        "users.User",
        "users.Role",
        "users.Organization",
        "programs.Track",
        "missions.Mission",
        "recipes.Recipe",
        "marketplace.JobPosting",
        "profiler.ProfilerQuestion",
    ):
        apps.get_model(label).objects.all().delete()


def test_the_seed_holds_every_case_the_integrations_read() -> None:
    from django.contrib.auth import authenticate
    from profiler.models import ProfilerSession
    from programs.models import Cohort, Track
    from users.models import Organization, UserRole

    printed = seed()
    sessions = ProfilerSession.objects.select_related("user")
    assert sorted(Track.objects.values_list("key", flat=True)) == [
        "defender",
        "grc",
        "innovation",
        "leadership",
        "offensive",
    ]
    assert Track.objects.filter(director__isnull=True).count() == 0
    assert Cohort.objects.filter(name="Pilot").count() == 2
    assert sessions.filter(behavioral_profile__work_style="collaborative").exists()  # a text trait
    assert {" Elite ", "", "ADVANCED"} <= set(sessions.values_list("difficulty_selection", flat=True))
    assert sessions.filter(status="locked", completed_at__isnull=True).exists()
    assert sessions.filter(status__in=("finished", "locked"), result__isnull=True).exists()
    assert sessions.filter(user__username="learner000006").count() == 2  # a retake
    assert sessions.filter(user__username="learner000009").exclude(status__in=("finished", "locked")).exists()
    documented = sessions.get(user__username="learner000001")
    assert set(documented.behavioral_profile) == {"traits", "strengths", "areas_for_growth"}
    native = sessions.get(user__username="learner000002")
    assert "traits" not in native.behavioral_profile
    sponsor_admin = UserRole.objects.get(role__name="sponsor_admin", user__username="sponsor_admin1")
    assert (sponsor_admin.scope, sponsor_admin.scope_ref) == (
        "org",
        str(Organization.objects.get(name="Acme Health").pk),
    )
    for username in ("admin", "analyst", "coach", "director_defender", "sponsor_admin1", "mentor1", "learner000001"):
        assert f"  {username} " in printed
    for username in ("admin", "learner000001"):  # one hash for all (hashing is slow on purpose)
        assert authenticate(username=username, password="profiler-demo") is not None
    assert "every password is 'profiler-demo'" in printed


def test_the_result_source_reads_the_seeded_learners() -> None:
    from profiler.models import ProfilerSession
    from users.models import User

    from profiler_rules.contrib.django.sources import ResultSource

    seed(learners=12)
    source = ResultSource()
    learner = source.learner(User.objects.get(username="learner000001"))
    assert learner is not None
    assert learner.result["difficulty_selection"] == "intermediate"
    assert learner.result["answers"]["identity_values"]
    assert source.learner(User.objects.get(username="learner000009")) is None  # never completed
    completed = ProfilerSession.objects.filter(status__in=("finished", "locked")).values("user").distinct().count()
    assert len(list(source.learners())) == source.count() == completed


def test_the_same_seed_makes_the_same_rows() -> None:
    seed(learners=15, random_seed=7)
    first = snapshot()
    empty()
    seed(learners=15, random_seed=7)
    assert snapshot() == first
    assert first["sessions"]


def test_another_seed_makes_other_rows() -> None:
    seed(learners=15, random_seed=7)
    first = snapshot()
    empty()
    seed(learners=15, random_seed=8)
    assert snapshot()["sessions"] != first["sessions"]


def test_seeding_a_seeded_database_is_refused() -> None:
    seed(learners=3)
    with pytest.raises(CommandError, match="already holds platform data"):
        seed(learners=3)
