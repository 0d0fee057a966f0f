"""Rows of the platform, made one at a time: for the example's seed command and for tests.

Each function makes one row with the platform's usual values, which any keyword replaces.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from types import EllipsisType
from typing import Any

from django.utils import timezone
from mentorship_coordination.models import MenteeMentorAssignment
from profiler.models import ProfilerAnswer, ProfilerQuestion, ProfilerResult, ProfilerSession
from programs.models import Cohort, Enrollment, Track
from users.models import Organization, Role, User, UserRole

_numbers = itertools.count(1)

#: The documented shape of a stored profile (the reference's example (a)).
DOCUMENTED_SESSION: dict[str, Any] = {
    "difficulty_selection": "intermediate",
    "aptitude_score": Decimal("62.40"),
    "technical_exposure_score": Decimal("48.00"),
    "behavioral_profile": {
        "traits": {"leadership": 4, "teamwork": 8},
        "strengths": ["curiosity"],
        "areas_for_growth": ["Technical documentation", "communication"],
    },
    "strengths": ["analytical thinking", "problem solving"],
    "track_confidence": Decimal("0.82"),
    "anti_cheat_score": Decimal("12.50"),
    "suspicious_patterns": [],
    "device_fingerprint": "fp_9a41",
    "behavioral_responses": {"why_cyber": "I like solving puzzles", "what_achieve": "defend hospitals"},
}
DOCUMENTED_RESULT: dict[str, Any] = {
    "overall_score": Decimal("65.04"),
    "aptitude_score": Decimal("62.40"),
    "behavioral_score": Decimal("69.00"),
    "aptitude_breakdown": {"networking": 45.5, "security": 72, "web": 38, "problem_solving": 80},
    "areas_for_growth": ["Improve web skills"],
}

#: The shape the platform really writes (the reference's example (b)).
NATIVE_SESSION: dict[str, Any] = {
    "difficulty_selection": " Elite ",
    "aptitude_score": Decimal("0.00"),
    "behavioral_profile": {"work_style": 6.5, "leadership": 4.0, "collaboration": 8.5},
    "strengths": ["Strong collaboration abilities"],
}
NATIVE_RESULT: dict[str, Any] = {
    "overall_score": Decimal("34.00"),
    "aptitude_score": Decimal("0.00"),
    "behavioral_score": Decimal("63.30"),
    "aptitude_breakdown": {
        "networking": {"correct": 0, "total": 1, "points": 0},
        "security": {"correct": 2, "total": 4, "points": 20},
    },
    "behavioral_traits": {"work_style": 6.5, "leadership": 4.0, "collaboration": 8.5},
    "areas_for_growth": ["Improve networking skills", "Develop leadership skills"],
}


def user(*roles: str, **fields: Any) -> User:
    """A user holding ``roles`` (the platform's names, global scope)."""
    number = next(_numbers)
    fields.setdefault("username", f"user{number}")
    fields.setdefault("email", f"{fields['username']}@example.org")
    made = User.objects.create(**fields)
    for name in roles:
        grant(made, name)
    return made


def grant(holder: User, role: str, *, scope: str = "global", scope_ref: str = "") -> UserRole:
    """Give ``holder`` the role ``role``, optionally scoped (``scope="org"``, ``scope_ref=<org id>``)."""
    named, _ = Role.objects.get_or_create(name=role)
    return UserRole.objects.create(user=holder, role=named, scope=scope, scope_ref=scope_ref)


def track(key: str = "defender", **fields: Any) -> Track:
    fields.setdefault("name", key.title())
    return Track.objects.get_or_create(key=key, defaults=fields)[0]


def cohort(name: str = "Cohort", **fields: Any) -> Cohort:
    if "track" not in fields:
        fields["track"] = track()
    return Cohort.objects.create(name=name, **fields)


def organization(name: str = "Acme Health") -> Organization:
    return Organization.objects.create(name=name)


def enroll(learner: User, into: Cohort, *, org: Organization | None = None, status: str = "active") -> Enrollment:
    return Enrollment.objects.create(user=learner, cohort=into, org=org, status=status)


def assign(mentee: User, mentor: User, *, status: str = "active") -> MenteeMentorAssignment:
    return MenteeMentorAssignment.objects.create(mentee=mentee, mentor=mentor, status=status)


def session(
    learner: User,
    *,
    shape: str = "documented",
    status: str = "locked",
    completed_at: datetime | None | EllipsisType = ...,
    result: dict[str, Any] | None = None,
    with_result: bool = True,
    identity_values: tuple[str, ...] = ("integrity",),
    **fields: Any,
) -> ProfilerSession:
    """A profiler session of ``learner`` in the ``documented`` or ``native`` shape, with its result row."""
    base = DOCUMENTED_SESSION if shape == "documented" else NATIVE_SESSION
    values = {**base, **fields}
    if completed_at is ...:
        # A complete session was completed a day ago, unless told when (None: never, as on the platform).
        completed_at = timezone.now() - timedelta(days=1) if status in ("finished", "locked") else None
    values["completed_at"] = completed_at
    values.setdefault("recommended_track_id", track().id)
    made = ProfilerSession.objects.create(user=learner, status=status, is_locked=status == "locked", **values)
    if with_result:
        ProfilerResult.objects.create(
            session=made,
            user=learner,
            **{**(DOCUMENTED_RESULT if shape == "documented" else NATIVE_RESULT), **(result or {})},
        )
    for value in identity_values:
        question = ProfilerQuestion.objects.create(
            question_type="behavioral", category="identity_value", question_text="What do you stand for?"
        )
        ProfilerAnswer.objects.create(session=made, question=question, answer={"value": value})
    return made
