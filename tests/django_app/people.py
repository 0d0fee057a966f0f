"""Every kind of viewer the seed's routes meet, in one small platform: two cohorts, two sponsors.

``cast()`` makes, with the example host's factories:

- ``learner``: a student with a locked result in the documented shape, in cohort A of sponsor A,
  assigned to ``mentor``; ``other``: a student with a result in the platform's native shape, in cohort
  B of sponsor B; ``newcomer``: a student in cohort A without a complete result;
- ``mentor`` (assigned to ``learner``), ``unassigned_mentor``, ``coach`` (a coach role scoped to
  ``learner``: the platform has no coachee relation, :func:`coachees` reads this one when a test names
  it in ``RELATIONS``), ``analyst``, ``admin``;
- ``director_a`` and ``director_b``, directing the tracks of cohorts A and B;
- ``sponsor_admin_a`` and ``sponsor_admin_b``, sponsor admins scoped to sponsors A and B.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django_host import factories as make
from programs.models import Cohort
from users.models import Organization, User, UserRole


@dataclass(frozen=True)
class Cast:
    people: dict[str, User]
    cohort_a: Cohort
    cohort_b: Cohort
    sponsor_a: Organization
    sponsor_b: Organization

    def __getitem__(self, kind: str) -> User:
        return self.people[kind]


def cast() -> Cast:
    director_a, director_b = make.user("program_director"), make.user("program_director")
    cohort_a = make.cohort("Cohort 2026", track=make.track("defender", director=director_a))
    cohort_b = make.cohort("Cohort 2026", track=make.track("offensive", director=director_b))  # the same name
    sponsor_a, sponsor_b = make.organization("Acme Health"), make.organization("Globex")

    learner = make.user("student", first_name="Amina", last_name="K")
    make.enroll(learner, cohort_a, org=sponsor_a)
    make.session(learner, shape="documented")
    other = make.user("student")
    make.enroll(other, cohort_b, org=sponsor_b)
    make.session(other, shape="native")
    newcomer = make.user("student")
    make.enroll(newcomer, cohort_a, org=sponsor_a)
    make.session(newcomer, status="in_progress", with_result=False)

    mentor = make.user("mentor", is_mentor=True)
    make.assign(learner, mentor)
    coach = make.user("coach")
    make.grant(coach, "coach", scope="user", scope_ref=str(learner.pk))
    sponsor_admin_a, sponsor_admin_b = make.user(), make.user()
    make.grant(sponsor_admin_a, "sponsor_admin", scope="org", scope_ref=str(sponsor_a.pk))
    make.grant(sponsor_admin_b, "sponsor_admin", scope="org", scope_ref=str(sponsor_b.pk))
    people = {
        "learner": learner,
        "other": other,
        "newcomer": newcomer,
        "mentor": mentor,
        "unassigned_mentor": make.user("mentor", is_mentor=True),
        "coach": coach,
        "analyst": make.user("analyst"),
        "admin": make.user("admin"),
        "director_a": director_a,
        "director_b": director_b,
        "sponsor_admin_a": sponsor_admin_a,
        "sponsor_admin_b": sponsor_admin_b,
    }
    return Cast(people, cohort_a, cohort_b, sponsor_a, sponsor_b)


def coachees(user: User) -> Iterable[Any]:
    """A host's coachee relation (``RELATIONS["coachee_ids"]``): the learners a coach role is scoped to."""
    return UserRole.objects.filter(user=user, role__name="coach", scope="user", is_active=True).values_list(
        "scope_ref", flat=True
    )
