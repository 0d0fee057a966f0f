"""Realistic platform data for the example host: what ``manage.py seed_platform`` makes.

The same ``seed`` always makes the same rows (ids included), so a benchmark or a ``curl`` of a cohort's
analytics can name them. The people who run the platform (an admin, an analyst, a coach, a director per
track, mentors, sponsor admins) come first, one at a time through :mod:`django_host.factories`; the
learners come in chunks, with ``bulk_create``, so 100,000 of them take well under two minutes on SQLite.

The learners hold what the platform really holds: both stored shapes of a profile (the documented one,
and the flat one the platform writes), a text trait (``{"work_style": "collaborative"}``), difficulty
selections such as ``""``, ``" Elite "`` and ``"ADVANCED"``, a locked session whose ``completed_at`` is
NULL, a session without its result row, retakes, unfinished sessions, several enrollments, sponsors.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model
from django.db.models.fields import AutoFieldMixin
from marketplace.models import JobPosting
from mentorship_coordination.models import MenteeMentorAssignment
from missions.models import Mission
from profiler.models import ProfilerAnswer, ProfilerQuestion, ProfilerResult, ProfilerSession
from programs.models import Cohort, Enrollment, Track
from recipes.models import Recipe
from users.models import Organization, Role, User, UserRole

from django_host import factories as make

PASSWORD = "profiler-demo"
"""Every seeded user's password (the example host is a demo: never seed a real database)."""

ANCHOR = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""Sessions complete in the 180 days before this moment: fixed, so that a seed gives the same rows any day."""

TRACKS = {
    "defender": "Defender",
    "offensive": "Offensive Security",
    "innovation": "Innovation",
    "leadership": "Leadership",
    "grc": "Governance, Risk and Compliance",
}
ORGANIZATIONS = ("Acme Health", "Northwind Bank", "Contoso Energy")
SHARED_COHORT_NAME = "Pilot"  # the name of a defender cohort and of a grc cohort: names are not ids
DIFFICULTIES = ("novice", "beginner", "intermediate", "advanced", "elite", "", " Elite ", "ADVANCED")
IDENTITY_VALUES = ("integrity", "service", "curiosity", "excellence", "community", "resilience")
CATEGORIES = ("networking", "security", "web", "programming", "linux", "cryptography", "forensics")
TRAITS = ("leadership", "teamwork", "communication", "curiosity", "work_style", "collaboration")
GROWTH_AREAS = (
    "Technical documentation",
    "Improve networking skills",
    "Improve web skills",
    "Develop leadership skills",
    "communication",
    "Strengthen security fundamentals",
)
STRENGTHS = (
    "analytical thinking",
    "problem solving",
    "curiosity",
    "Strong collaboration abilities",
    "attention to detail",
)

#: Recipes whose skill codes are the ones the packaged recipes rules ask for (rules/recipes.yaml).
RECIPES = (
    ("Subnetting by hand", ["NET", "TCPIP"]),
    ("DNS from the wire up", ["DNS", "NETW"]),
    ("HTTP requests and responses", ["HTTP", "WEB"]),
    ("SIEM rule writing", ["SIEM", "SECOPS"]),
    ("Intrusion detection with Suricata", ["IDS", "IPS", "SEC"]),
    ("Python for analysts", ["PYTHON", "PROG"]),
    ("Bash one-liners", ["BASH", "SCRIPT"]),
    ("Linux hardening", ["LINUX", "SYSADMIN"]),
    ("The command line", ["CLI", "LINUX"]),
    ("PowerShell for defenders", ["POWERSHELL", "WINDOWS"]),
    ("Cloud IAM in practice", ["CLOUD", "AWS", "AZURE"]),
    ("Hashes and salts", ["CRYPTO", "HASH"]),
    ("Encryption at rest", ["ENCRYPT", "CRYPTO"]),
    ("Disk forensics", ["DFIR", "FORENSICS"]),
    ("Incident investigation", ["INVESTIGATION", "DFIR"]),
    ("Malware triage", ["MALWARE", "ANALYSIS"]),
    ("Reverse engineering basics", ["REVERSE", "MALWARE"]),
    ("OWASP Top 10 hands-on", ["OWASP", "WEBAPP"]),
    ("XSS and SQL injection labs", ["XSS", "SQLI", "WEB"]),
    ("Technical foundations", ["TECH", "BASICS", "FUNDAMENTALS"]),
    ("Writing incident reports", ["DOC", "COMM"]),
    ("Briefing executives", ["COMM", "LEAD"]),
    ("Leading a SOC shift", ["LEAD"]),
    ("Runbooks that get used", ["DOC"]),
)
#: Jobs as the platform's JobPosting has them: a title and required skills, nothing more.
JOBS = (
    ("SOC analyst (tier 1)", ["networking", "security"]),
    ("SOC analyst (tier 2)", ["networking", "security", "programming"]),
    ("Penetration tester", ["web", "programming"]),
    ("Cloud security engineer", ["security", "linux"]),
    ("Incident responder", ["forensics", "security"]),
    ("Malware analyst", ["programming", "forensics"]),
    ("Cryptography engineer", ["cryptography", "programming"]),
    ("GRC analyst", ["compliance"]),
    ("Security architect", ["networking", "security", "cryptography"]),
    ("Application security engineer", ["web", "security"]),
)


@dataclass
class Seeded:
    """What a seed made: rows by model, and one login of each kind of user."""

    counts: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)
    """(kind, username); every password is :data:`PASSWORD`."""
    cohorts: list[tuple[str, str, str]] = field(default_factory=list)
    """(id, name, track key) of each cohort."""
    organizations: list[tuple[str, str]] = field(default_factory=list)
    """(id, name) of each sponsor."""

    def count(self, model: type[Model], made: int) -> None:
        name = model._meta.label
        self.counts[name] = self.counts.get(name, 0) + made


class AlreadySeeded(Exception):
    """The database already holds platform data; the seed adds to an empty one only."""


def seed(
    learners: int = 200, *, seed: int = 1, chunk: int = 2000, progress: Callable[[int], None] | None = None
) -> Seeded:
    """Make the platform's rows for ``learners`` learners, the same rows for the same ``seed``.

    ``progress`` is called with the number of learners made so far, after each chunk.

    :raises AlreadySeeded: when the database already holds tracks or profiler sessions.
    """
    if Track.objects.exists() or ProfilerSession.objects.exists():
        raise AlreadySeeded(
            "the database already holds platform data; seed an empty one ('manage.py flush' empties it)"
        )
    with transaction.atomic():
        platform = _Platform(random.Random(seed), seed)
        platform.staff()
        platform.catalogs()
        for made in platform.learners(learners, chunk):
            if progress is not None:
                progress(made)
    return platform.seeded


class _Platform:
    """The seed's state: its random numbers, the rows made so far, what it tells the caller."""

    def __init__(self, rng: random.Random, seed: int) -> None:
        self.rng = rng
        self.seeded = Seeded()
        # One hash for every user: hashing is made slow on purpose, and 100,000 of them would take hours.
        self.password = make_password(PASSWORD, salt=f"seed{seed}profiler")
        self.roles: dict[str, Role] = {}
        self.tracks: list[Track] = []
        self.cohorts: list[Cohort] = []
        self.organizations: list[Organization] = []
        self.mentors: list[User] = []
        self.questions: list[ProfilerQuestion] = []
        self.tables = {
            model: _Table(model)
            for model in (
                User,
                UserRole,
                Enrollment,
                MenteeMentorAssignment,
                ProfilerSession,
                ProfilerResult,
                ProfilerAnswer,
            )
        }

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    # -- the people who run the platform, and its structure ---------------------------------------

    def user(self, kind: str, username: str, *roles: str, **fields: Any) -> User:
        made = make.user(*roles, username=username, password=self.password, uuid_id=self.uid(), **fields)
        self.seeded.count(User, 1)
        self.seeded.count(UserRole, len(roles))
        if kind:
            self.seeded.logins.append((kind, username))
        return made

    def staff(self) -> None:
        self.user("admin (is_staff)", "admin", "admin", is_staff=True)
        self.user("analyst", "analyst", "analyst")
        self.user("coach", "coach", "coach")
        for key, name in TRACKS.items():
            director = self.user(
                "program_director of the defender cohorts" if key == "defender" else "",
                f"director_{key}",
                "program_director",
            )
            self.tracks.append(make.track(key, id=self.uid(), name=name, director=director))
        self.seeded.count(Track, len(self.tracks))
        self.organizations = [Organization(id=self.uid(), name=name) for name in ORGANIZATIONS]
        Organization.objects.bulk_create(self.organizations)
        self.seeded.count(Organization, len(self.organizations))
        self.seeded.organizations = [(str(org.id), org.name) for org in self.organizations]
        for number, org in enumerate(self.organizations, 1):
            admin = self.user("sponsor_admin (of the first sponsor)" if number == 1 else "", f"sponsor_admin{number}")
            make.grant(admin, "sponsor_admin", scope="org", scope_ref=str(org.id))
            self.seeded.count(UserRole, 1)
        self.cohorts = [
            Cohort(id=self.uid(), name=f"{track.name} 2026 Spring", track=track) for track in self.tracks
        ] + [
            Cohort(id=self.uid(), name=SHARED_COHORT_NAME, track=self.tracks[0]),
            Cohort(id=self.uid(), name=SHARED_COHORT_NAME, track=self.tracks[-1]),
        ]
        Cohort.objects.bulk_create(self.cohorts)
        self.seeded.count(Cohort, len(self.cohorts))
        self.seeded.cohorts = [(str(cohort.id), cohort.name, cohort.track.key) for cohort in self.cohorts]
        self.roles = {name: Role.objects.get_or_create(name=name)[0] for name in ("student", "mentee", "mentor")}

    def catalogs(self) -> None:
        missions = [
            Mission(
                id=self.uid(),
                code=f"{key[:3].upper()}-{difficulty}{number:02d}",
                title=f"{name}: level {difficulty} mission {number}",
                track=key,
                difficulty=difficulty,
                estimated_duration_min=30 * difficulty,
                is_active=number != 3,  # one retired mission per track and level
            )
            for key, name in TRACKS.items()
            for difficulty in range(1, 6)
            for number in range(1, 4)
        ]
        Mission.objects.bulk_create(missions)
        recipes = [
            Recipe(
                id=self.uid(),
                slug=f"recipe-{number:02d}",
                title=title,
                skill_codes=codes,
                usage_count=self.rng.randint(0, 2000),
                avg_rating=Decimal(self.rng.randint(30, 50)) / 10,
                is_active=number % 12 != 0,
            )
            for number, (title, codes) in enumerate(RECIPES, 1)
        ]
        Recipe.objects.bulk_create(recipes)
        jobs = [JobPosting(id=self.uid(), title=title, required_skills=skills) for title, skills in JOBS]
        JobPosting.objects.bulk_create(jobs)
        self.questions = [
            ProfilerQuestion(id=self.uid(), question_type="behavioral", category="identity_value", question_text=text)
            for text in ("What do you stand for?", "Which values guide your work?")
        ]
        ProfilerQuestion.objects.bulk_create(self.questions)
        for model, made in (
            (Mission, missions),
            (Recipe, recipes),
            (JobPosting, jobs),
            (ProfilerQuestion, self.questions),
        ):
            self.seeded.count(model, len(made))

    # -- the learners ------------------------------------------------------------------------------

    def learners(self, count: int, chunk: int) -> Iterator[int]:
        """Make ``count`` learners in chunks; yields how many are made after each chunk."""
        self.mentors = [
            self.user(
                "mentor (assigned to learner000001)" if number == 1 else "", f"mentor{number}", "mentor", is_mentor=True
            )
            for number in range(1, max(3, count // 50) + 1)
        ]
        self.user("mentor with no mentees", "mentor_unassigned", "mentor", is_mentor=True)
        for start in range(0, count, chunk):
            self._chunk(range(start, min(count, start + chunk)))
            yield min(count, start + chunk)
        if count >= 1:
            self.seeded.logins.append(("learner (a complete result, documented shape)", "learner000001"))
        if count >= 2:
            self.seeded.logins.append(("another learner (native shape)", "learner000002"))

    def _chunk(self, numbers: range) -> None:
        rng = self.rng
        users = [
            {
                "username": f"learner{number + 1:06d}",
                "email": f"learner{number + 1:06d}@example.org",
                "first_name": rng.choice(("Amara", "Bao", "Chidi", "Dana", "Eitan", "Farah", "Gus", "Hana")),
                "last_name": rng.choice(("Okafor", "Nguyen", "Silva", "Kowalski", "Haddad", "Berg", "Ito")),
                "password": self.password,
                "uuid_id": self.uid(),
                "date_joined": ANCHOR - timedelta(days=200),
            }
            for number in numbers
        ]
        self.tables[User].write(users)
        first, last = users[0]["username"], users[-1]["username"]
        keys = dict(User.objects.filter(username__range=(first, last)).values_list("username", "pk"))
        rows: dict[type[Model], list[dict[str, Any]]] = {model: [] for model in self.tables if model is not User}
        for number, user in zip(numbers, users, strict=True):
            self._learner(number, keys[user["username"]], rows)
        for model, made in rows.items():
            self.tables[model].write(made)
            self.seeded.count(model, len(made))
        self.seeded.count(User, len(users))

    def _learner(self, number: int, user: int, rows: dict[type[Model], list[dict[str, Any]]]) -> None:
        rng = self.rng
        mentored = number == 0 or rng.random() < 0.3
        rows[UserRole].append({"user_id": user, "role_id": self.roles["mentee" if mentored else "student"].pk})
        if mentored:
            mentor = self.mentors[0] if number == 0 else rng.choice(self.mentors)
            rows[MenteeMentorAssignment].append({"id": self.uid(), "mentee_id": user, "mentor_id": mentor.pk})
            if rng.random() < 0.1:  # an earlier mentor, no longer assigned
                earlier = rng.choice(self.mentors)
                rows[MenteeMentorAssignment].append(
                    {"id": self.uid(), "mentee_id": user, "mentor_id": earlier.pk, "status": "ended"}
                )
        cohort = self.cohorts[0] if number == 0 else rng.choice(self.cohorts)
        sponsor = self.organizations[0] if number == 0 else rng.choice((*self.organizations, None, None))
        enrollment = {"user_id": user, "org_id": None if sponsor is None else sponsor.pk}
        rows[Enrollment].append({**enrollment, "id": self.uid(), "cohort_id": cohort.pk})
        if rng.random() < 0.08:  # enrolled in a second cohort too
            rows[Enrollment].append({**enrollment, "id": self.uid(), "cohort_id": rng.choice(self.cohorts).pk})
        if rng.random() < 0.03:
            withdrawn = {"id": self.uid(), "cohort_id": rng.choice(self.cohorts).pk, "status": "withdrawn"}
            rows[Enrollment].append({**enrollment, **withdrawn})
        for session in self._sessions(number):
            self._session(user, session, rows)

    def _sessions(self, number: int) -> list[dict[str, Any]]:
        """What each session of learner ``number`` is like; the first learners cover every special case."""
        rng = self.rng
        completed = ANCHOR - timedelta(days=rng.uniform(0, 180))
        sessions = SPECIAL_LEARNERS.get(number)
        if sessions is None:
            one = {
                "shape": rng.choice(("documented", "native")),
                "status": rng.choice(("finished", "locked", "locked")) if rng.random() < 0.92 else "aptitude_complete",
                "difficulty": rng.choice(DIFFICULTIES),
                "text_trait": rng.random() < 0.02,
                "no_completed_at": rng.random() < 0.005,
                "no_result": rng.random() < 0.01,
            }
            sessions = [one]
            if rng.random() < 0.1:  # a retake: an older complete session first
                earlier = rng.randint(20, 120)
                older = {**one, "status": "locked", "difficulty": rng.choice(DIFFICULTIES), "days_earlier": earlier}
                sessions = [older, one]
        return [{**session, "completed": completed} for session in sessions]

    def _session(self, user: int, plan: dict[str, Any], rows: dict[type[Model], list[dict[str, Any]]]) -> None:
        rng = self.rng
        complete = plan["status"] in ("finished", "locked")
        completed_at = None
        if complete and not plan.get("no_completed_at"):
            completed_at = plan["completed"] - timedelta(days=plan.get("days_earlier", 0))
        started_at = (completed_at or plan["completed"]) - timedelta(minutes=45)
        documented = plan["shape"] == "documented"
        aptitude = _percent(rng, 20, 95)
        traits: dict[str, Any] = {name: rng.randint(1, 10) for name in rng.sample(TRAITS, 3)}
        if plan.get("text_trait"):
            traits["work_style"] = "collaborative"
        growth = rng.sample(GROWTH_AREAS, rng.randint(1, 3))
        strengths = rng.sample(STRENGTHS, 2)
        track = rng.choice(self.tracks)
        session = self.uid()
        rows[ProfilerSession].append(
            {
                "id": session,
                "user_id": user,
                "status": plan["status"],
                "is_locked": plan["status"] == "locked",
                "locked_at": completed_at if plan["status"] == "locked" else None,
                "started_at": started_at,
                "completed_at": completed_at,
                "difficulty_selection": plan["difficulty"],
                # The platform leaves the session's aptitude score at 0 in the shape it writes.
                "aptitude_score": aptitude if documented else Decimal("0.00"),
                "technical_exposure_score": _percent(rng, 0, 100) if documented else None,
                "behavioral_profile": (
                    {"traits": traits, "strengths": strengths[:1], "areas_for_growth": growth} if documented else traits
                ),
                "behavioral_responses": {"why_cyber": "I like solving puzzles", "what_achieve": "defend hospitals"},
                "strengths": strengths,
                "recommended_track_id": track.pk if documented or rng.random() < 0.3 else None,
                "track_confidence": Decimal(rng.randint(40, 95)) / 100,
                "track_alignment_percentages": (
                    {key: round(rng.uniform(20, 95), 1) for key in TRACKS} if documented or rng.random() < 0.5 else {}
                ),
                "futureyou_persona": (
                    {"name": "Cyber Sentinel", "archetype": "Defender", "track": "SOC Analyst", "confidence": 0.75}
                    if rng.random() < 0.4
                    else None
                ),
                "device_fingerprint": f"fp_{rng.getrandbits(32):08x}",
                "suspicious_patterns": ["rapid_answers"] if rng.random() < 0.05 else [],
                "anti_cheat_score": _percent(rng, 0, 40),
            }
        )
        if not complete:
            return
        if not plan.get("no_result"):
            rows[ProfilerResult].append(
                {
                    "session_id": session,
                    "user_id": user,
                    "overall_score": _percent(rng, 25, 95),
                    "aptitude_score": aptitude,
                    "behavioral_score": _percent(rng, 30, 95),
                    "aptitude_breakdown": _breakdown(rng, documented),
                    "behavioral_traits": {} if documented else traits,
                    "strengths": strengths,
                    "areas_for_growth": growth[:5],
                    "created_at": completed_at or started_at,
                }
            )
        values = rng.sample(IDENTITY_VALUES, rng.randint(1, 2))
        answer: Any = rng.choice(({"value": values[0]}, values, values[0]))  # the three forms the platform stores
        rows[ProfilerAnswer].append(
            {"session_id": session, "question_id": self.questions[0].pk, "answer": answer, "created_at": started_at}
        )


class _Table:
    """Rows of one model written with one ``executemany``: each value prepared by its field, as Django
    prepares it, without building a model instance per row (which would take most of a large seed).

    A row is a dict by field attname; a field it leaves out gets the field's default. Keys the
    database assigns (auto fields) are left to it.
    """

    _AS_IS = frozenset({"CharField", "TextField", "SlugField", "EmailField", "IntegerField", "BooleanField"})

    def __init__(self, model: type[Model]) -> None:
        # The connection itself, not django.db.connection: each attribute read through that proxy costs
        # a thread-local lookup, and a large seed reads it millions of times.
        self.connection = connection = connections[DEFAULT_DB_ALIAS]
        self.fields = [column for column in model._meta.concrete_fields if not isinstance(column, AutoFieldMixin)]
        self.as_is = [column.get_internal_type() in self._AS_IS for column in self.fields]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(column.column) for column in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        self.sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        prepared = [self._values(row) for row in rows]
        with self.connection.cursor() as cursor:
            cursor.executemany(self.sql, prepared)

    def _values(self, row: dict[str, Any]) -> tuple[Any, ...]:
        connection, values = self.connection, []
        for column, as_is in zip(self.fields, self.as_is, strict=True):
            value = row[column.attname] if column.attname in row else column.get_default()
            values.append(value if as_is or value is None else column.get_db_prep_save(value, connection))
        return tuple(values)


#: The first learners, each a case the integrations must read right (the rest are drawn at random).
SPECIAL_LEARNERS: dict[int, list[dict[str, Any]]] = {
    0: [{"shape": "documented", "status": "finished", "difficulty": "intermediate"}],
    1: [{"shape": "native", "status": "locked", "difficulty": " Elite "}],
    2: [{"shape": "native", "status": "finished", "difficulty": "beginner", "text_trait": True}],
    3: [{"shape": "native", "status": "locked", "difficulty": "advanced", "no_completed_at": True}],
    4: [{"shape": "documented", "status": "finished", "difficulty": "novice", "no_result": True}],
    5: [
        {"shape": "native", "status": "locked", "difficulty": "beginner", "days_earlier": 60},
        {"shape": "documented", "status": "finished", "difficulty": "advanced"},
    ],
    6: [{"shape": "documented", "status": "finished", "difficulty": ""}],
    7: [{"shape": "native", "status": "finished", "difficulty": "ADVANCED"}],
    8: [{"shape": "documented", "status": "in_progress", "difficulty": "elite"}],
}


def _percent(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _breakdown(rng: random.Random, documented: bool) -> dict[str, Any]:
    """An aptitude breakdown: scores by category (documented), or counts of answers (the platform's)."""
    categories = rng.sample(CATEGORIES, 4)
    if documented:
        return {category: round(rng.uniform(10, 95), 1) for category in categories}
    breakdown = {}
    for category in categories:
        total = rng.randint(1, 5)
        correct = rng.randint(0, total)
        breakdown[category] = {"correct": correct, "total": total, "points": correct * 10}
    return breakdown


__all__ = ["ANCHOR", "PASSWORD", "AlreadySeeded", "Seeded", "seed"]
