"""The seed's routes, for every kind of viewer, on both stored shapes, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from . import people

pytestmark = pytest.mark.django_db

COACHES_BY_ROLE = {"RELATIONS": {"coachee_ids": "tests.django_app.people.coachees"}}


@pytest.fixture
def world() -> people.Cast:
    made = people.cast()
    entry(made["learner"])  # completion wrote the learner's value statement
    return made


def get(client: Client, user: Any, url: str, params: dict[str, Any] | None = None) -> Any:
    if user is not None:
        client.force_login(user)
    return client.get(url, params or {})


def missions_url(world: people.Cast) -> str:
    return reverse("profiler_rules:student-missions")


def recipes_url(world: people.Cast) -> str:
    return reverse("profiler_rules:recipe-recommendations")


def statement_url(world: people.Cast) -> str:
    return reverse("profiler_rules:value-statement")


def talent_url(world: people.Cast) -> str:
    return reverse("profiler_rules:talent-matches")


def mentee_url(world: people.Cast, who: str = "learner") -> str:
    return reverse("profiler_rules:mentee-results", args=[world[who].pk])


def cohort_url(world: people.Cast) -> str:
    return reverse("profiler_rules:cohort-analytics", args=[world.cohort_a.pk])


def enterprise_url(world: people.Cast) -> str:
    return reverse("profiler_rules:enterprise-analytics") + f"?sponsor_id={world.sponsor_a.pk}"


ROUTES: list[Callable[[people.Cast], str]] = [
    missions_url,
    recipes_url,
    statement_url,
    talent_url,
    mentee_url,
    cohort_url,
    enterprise_url,
]

# Each kind of viewer, and the status of each route of ROUTES, in order. The learner routes answer
# about the viewer themself (only the learner has a value statement); the mentee route is the learner's.
EXPECTED: dict[str | None, tuple[int, ...]] = {
    "learner": (200, 200, 200, 200, 200, 403, 403),
    "other": (200, 200, 404, 200, 403, 403, 403),
    "newcomer": (200, 200, 404, 200, 403, 403, 403),
    "mentor": (200, 200, 404, 200, 200, 403, 403),
    "unassigned_mentor": (200, 200, 404, 200, 403, 403, 403),
    "coach": (200, 200, 404, 200, 403, 403, 403),
    "analyst": (200, 200, 404, 200, 200, 403, 403),
    "admin": (200, 200, 404, 200, 200, 200, 200),
    "director_a": (200, 200, 404, 200, 403, 200, 403),
    "director_b": (200, 200, 404, 200, 403, 403, 403),
    "sponsor_admin_a": (200, 200, 404, 200, 403, 403, 200),
    "sponsor_admin_b": (200, 200, 404, 200, 403, 403, 403),
    None: (401, 401, 401, 401, 401, 401, 401),
}
TABLE = [
    pytest.param(kind, route, status, id=f"{kind}-{route.__name__}")
    for kind, statuses in EXPECTED.items()
    for route, status in zip(ROUTES, statuses, strict=True)
]


@pytest.mark.parametrize(("kind", "route", "status"), TABLE)
def test_every_route_answers_every_kind_of_viewer(
    client: Client, world: people.Cast, kind: str | None, route: Callable[[people.Cast], str], status: int
) -> None:
    response = get(client, None if kind is None else world[kind], route(world))
    assert response.status_code == status, response.content
    body = response.json()
    if status == 401:
        assert body == {"error": "Authentication required"}
    if status == 403:
        assert body["error"] == "Permission denied"
        assert "denied" in body["reason"]


@pytest.mark.parametrize("route", ROUTES)
def test_a_route_answers_get_only(client: Client, world: people.Cast, route: Callable[[people.Cast], str]) -> None:
    client.force_login(world["admin"])
    for method in (client.post, client.put, client.delete):
        response = method(route(world))
        assert response.status_code == 405
        assert response["Allow"] == "GET, HEAD"
        assert response.json() == {"error": "Method not allowed"}


# -- missions ---------------------------------------------------------------------------------------


@pytest.fixture
def missions() -> dict[int, Any]:
    from missions.models import Mission

    made = {
        level: Mission.objects.create(code=f"M{level}", title=f"Mission {level}", difficulty=level)
        for level in range(1, 6)
    }
    Mission.objects.create(code="OLD", title="Retired", difficulty=1, is_active=False)
    return made


@pytest.mark.parametrize(
    ("kind", "cap", "levels"),
    [
        ("learner", 2, [1, 2]),  # documented shape: "intermediate"
        ("other", 4, [1, 2, 3, 4]),  # native shape: " Elite ", trimmed and case-folded
        ("newcomer", 1, [1]),  # no complete result: the rules' default
        ("admin", 1, [1]),
    ],
)
def test_missions_are_capped_by_the_viewers_own_difficulty(
    client: Client, world: people.Cast, missions: dict[int, Any], kind: str, cap: int, levels: list[int]
) -> None:
    body = get(client, world[kind], missions_url(world)).json()
    assert body["max_difficulty"] == cap
    assert [mission["difficulty"] for mission in body["missions"]] == levels
    assert [mission["id"] for mission in body["missions"]] == [str(missions[level].id) for level in levels]
    assert {"code", "title", "description", "track", "estimated_duration_min", "is_active"} <= set(body["missions"][0])


@pytest.mark.parametrize(
    ("given", "levels", "narrowed"),
    [("2", [2], 2), ("1", [1], 1), ("3", [], 3), ("5", [], 5), ("all", [1, 2], None), ("", [1, 2], None)],
)
def test_a_difficulty_narrows_the_missions_and_never_lifts_the_cap(
    client: Client, world: people.Cast, missions: dict[int, Any], given: str, levels: list[int], narrowed: int | None
) -> None:
    body = get(client, world["learner"], missions_url(world), {"difficulty": given}).json()
    assert [mission["difficulty"] for mission in body["missions"]] == levels
    assert (body["max_difficulty"], body["difficulty_filter"], body["profiler_difficulty"]) == (
        2,
        narrowed,
        "intermediate",
    )


@pytest.mark.parametrize("given", ["x", "2.5", "1e3", " 2", "3_0", "9" * 50])
def test_a_difficulty_that_is_not_an_integer_is_a_bad_parameter(client: Client, world: people.Cast, given: str) -> None:
    response = get(client, world["learner"], missions_url(world), {"difficulty": given})
    assert response.status_code == 400
    assert response.json()["parameter"] == "difficulty"


# -- recipes ----------------------------------------------------------------------------------------


@pytest.fixture
def recipes() -> dict[str, Any]:
    from recipes.models import Recipe

    def recipe(slug: str, codes: list[str], **fields: Any) -> Any:
        return Recipe.objects.create(slug=slug, title=slug.title(), skill_codes=codes, **fields)

    return {
        "web": recipe("web", ["WEB", "OWASP"], usage_count=5),  # two codes of a high gap: weight 4
        "dns": recipe("dns", ["DNS"], usage_count=90, avg_rating=Decimal("4.50")),  # medium gap: 1
        "net": recipe("net", ["NET"], usage_count=90, avg_rating=Decimal("4.80")),  # medium: 1, better rated
        "logs": recipe("logs", ["LOG_ANALYSIS"]),  # teaches nothing needed
        "retired": recipe("retired", ["WEB", "XSS", "SQLI"], is_active=False),
    }


def test_recipes_are_the_hosts_rows_ranked_by_the_engine(
    client: Client, world: people.Cast, recipes: dict[str, Any]
) -> None:
    from profiler.models import ProfilerResult

    body = get(client, world["learner"], recipes_url(world)).json()
    assert [row["slug"] for row in body["recommended_recipes"]] == ["web", "net", "dns"]
    assert body["recommended_recipes"][0]["id"] == str(recipes["web"].id)
    assert body["recommended_recipes"][1]["avg_rating"] == "4.80"  # the host's row, as Django writes decimals
    gaps = body["gaps_analysis"]["gaps"]
    # Aptitude gaps follow the stored breakdown's key order, which is the database's: PostgreSQL's jsonb
    # keeps keys shortest first, SQLite as written.
    stored = ProfilerResult.objects.get(user=world["learner"]).aptitude_breakdown
    aptitude = {"networking": ("networking", "aptitude", "medium"), "web": ("web", "aptitude", "high")}
    assert [(gap["category"], gap["type"], gap["priority"]) for gap in gaps] == [
        *(aptitude[name] for name in stored if name in aptitude),
        ("technical_exposure", "technical", "medium"),
        ("Technical documentation", "behavioral", "medium"),
        ("communication", "behavioral", "medium"),
    ]
    assert all("score" in gap for gap in gaps)  # behavioral gaps too (null), unlike the original
    assert body["gaps_analysis"]["aptitude_score"] == 62.4
    assert body["gaps_analysis"]["technical_exposure_score"] == 48.0
    assert body["total_gaps"] == 5
    assert body["total_skills"] == len(body["gaps_analysis"]["recommended_recipe_skills"])
    assert body["profiler_status"]["accessible"] is True
    assert "message" not in body


def test_recipes_read_the_platforms_own_shape(client: Client, world: people.Cast, recipes: dict[str, Any]) -> None:
    body = get(client, world["other"], recipes_url(world)).json()
    gaps = {(gap["category"], gap["type"]): gap["score"] for gap in body["gaps_analysis"]["gaps"]}
    # {"correct": 0, "total": 1} is 0 %: the original's gap analysis raised on it and found nothing.
    assert gaps[("networking", "aptitude")] == 0.0
    assert gaps[("security", "aptitude")] == 50.0
    assert body["gaps_analysis"]["aptitude_score"] == 0.0  # a real 0, not the original's None
    # Networking at 0 % is a high gap calling for NET and DNS: equal weight, then the better rated first.
    assert [row["slug"] for row in body["recommended_recipes"]] == ["net", "dns"]


def test_recipes_without_a_complete_result_answer_the_originals_body(client: Client, world: people.Cast) -> None:
    body = get(client, world["newcomer"], recipes_url(world)).json()
    assert body == {
        "gaps_analysis": {"gaps": [], "recommended_recipe_skills": []},
        "recommended_recipes": [],
        "total_gaps": 0,
        "total_skills": 0,
        "profiler_status": {
            "accessible": False,
            "session_id": None,
            "has_scores": False,
            "has_breakdown": False,
            "message": "No profiler session found",
        },
        "message": "Complete profiler to get personalized recipe recommendations",
    }


# -- the value statement ----------------------------------------------------------------------------


def entry(user: Any, **fields: Any) -> Any:
    """A "My Value Statement" portfolio row, as completion writes it."""
    from dashboard.models import PortfolioItem

    values = {
        "title": "My Value Statement",
        "item_type": "reflection",
        "summary": "I am drawn to cybersecurity because: I like solving puzzles",
        "status": "approved",
        "visibility": "private",
        "profiler_session_id": user.profiler_sessions.first().id,
        **fields,
    }
    return PortfolioItem.objects.create(user=user, **values)


def test_the_value_statement_is_the_stored_entry_with_the_academys_decision(client: Client, world: people.Cast) -> None:
    from dashboard.models import PortfolioItem

    learner = world["learner"]
    made = PortfolioItem.objects.get(user=learner)
    made.visibility = "public"  # the learner made it public: what is stored is shown
    made.save()
    older = entry(learner, summary="An older statement")
    PortfolioItem.objects.filter(pk=older.pk).update(created_at=made.created_at - timedelta(days=30))
    entry(learner, title="Another reflection", summary="not the value statement")
    body = get(client, learner, statement_url(world)).json()
    assert body == {
        "value_statement": "I am drawn to cybersecurity because: I like solving puzzles",
        "created_at": made.created_at.isoformat(),
        "profiler_session_id": str(made.profiler_session_id),
        "status": "approved",
        "visibility": "public",
        "eligible": False,  # track defender, leadership trait 4
        "eligibility_reasons": [
            "recommended track 'defender' is not an academy track (leadership)",
            "trait leadership 4 is below 7",
        ],
    }


def test_the_value_statement_of_a_leader_says_eligible(client: Client, world: people.Cast) -> None:
    from django_host import factories as make

    leader = make.user("student")
    make.session(leader, behavioral_profile={"leadership": 8.5})
    entry(leader)
    body = get(client, leader, statement_url(world)).json()
    assert (body["eligible"], body["eligibility_reasons"]) == (True, ["trait leadership 8.5 is at or above 7"])


def test_no_value_statement_is_the_originals_404(client: Client, world: people.Cast) -> None:
    response = get(client, world["other"], statement_url(world))
    assert response.status_code == 404
    assert response.json() == {
        "value_statement": None,
        "message": "Value statement not found. Please complete profiler first.",
    }


# -- talent matches ---------------------------------------------------------------------------------


@pytest.fixture
def jobs() -> dict[str, Any]:
    from marketplace.models import JobPosting

    return {
        "soc": JobPosting.objects.create(title="SOC analyst", required_skills=["security"]),
        "netops": JobPosting.objects.create(title="Network engineer", required_skills=["networking"]),
        "appsec": JobPosting.objects.create(title="AppSec", required_skills=["security", "problem_solving"]),
    }


def test_talent_matches_are_the_hosts_jobs_the_engine_scores(
    client: Client, world: people.Cast, jobs: dict[str, Any]
) -> None:
    body = get(client, world["learner"], talent_url(world)).json()
    # On the platform's JobPosting only the skills part is known: security 72, problem solving 80.
    assert [(match["job_id"], match["match_score"]) for match in body["matches"]] == [
        (str(jobs["appsec"].id), 76.0),
        (str(jobs["soc"].id), 72.0),
    ]
    assert body["matches"][0]["components"]["track"] is None  # unknown for the job, never 0
    assert body["profiler_complete"] is True
    assert body["recommended_track"] == "defender"
    assert (body["track_confidence"], body["aptitude_score"], body["difficulty_selection"]) == (
        0.82,
        62.4,
        "intermediate",
    )
    assert body["total_jobs_considered"] == 3


def test_talent_matches_without_a_complete_result(client: Client, world: people.Cast, jobs: dict[str, Any]) -> None:
    body = get(client, world["newcomer"], talent_url(world)).json()
    assert body == {"matches": [], "message": "Complete profiler to get talent matches", "profiler_complete": False}


# -- a mentee's results -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "anti_cheat"),
    [("learner", False), ("mentor", True), ("admin", True), ("analyst", False)],
)
def test_anti_cheat_is_shown_as_the_grant_says(client: Client, world: people.Cast, kind: str, anti_cheat: bool) -> None:
    body = get(client, world[kind], mentee_url(world)).json()
    if anti_cheat:
        assert body["anti_cheat"] == {
            "score": 12.5,
            "suspicious_patterns": [],
            "device_fingerprint": "fp_9a41",
            "needs_review": False,
            "pattern_meanings": {},
        }
    else:
        assert body["anti_cheat"] is None
        assert "fp_9a41" not in str(body)


def test_the_mentee_body_has_the_originals_fields(client: Client, world: people.Cast) -> None:
    learner = world["learner"]
    session = learner.profiler_sessions.get()
    session.result.och_mapping = {"tier": 1, "readiness_score": 65.04, "recommended_foundations": []}
    session.result.save()
    body = get(client, world["mentor"], mentee_url(world)).json()
    assert body["mentee_id"] == learner.pk
    assert (body["mentee_email"], body["mentee_name"]) == (learner.email, "Amina K")
    assert (body["session_id"], body["is_locked"], body["status"]) == (str(session.id), True, "locked")
    assert body["scores"] == {"overall": 65.04, "aptitude": 62.4, "behavioral": 69.0}
    assert body["recommended_track"] == {
        "track_id": str(session.recommended_track_id),
        "track": "defender",
        "confidence": 0.82,
    }
    assert body["aptitude_breakdown"] == {"networking": 45.5, "security": 72.0, "web": 38.0, "problem_solving": 80.0}
    assert body["behavioral_profile"]["areas_for_growth"] == ["Technical documentation", "communication"]
    assert body["och_mapping"] == {"tier": 1, "readiness_score": 65.04, "recommended_foundations": []}
    assert (body["recommended_tracks"], body["learning_path_suggestions"]) == ([], [])


def test_the_mentee_view_reads_the_platforms_own_shape(client: Client, world: people.Cast) -> None:
    body = get(client, world["admin"], mentee_url(world, "other")).json()
    assert body["aptitude_breakdown"] == {"networking": 0.0, "security": 50.0}
    assert body["behavioral_profile"]["traits"] == {"work_style": 6.5, "leadership": 4.0, "collaboration": 8.5}
    assert body["scores"]["aptitude"] == 0.0


def test_a_denied_viewer_learns_nothing_of_what_exists(client: Client, world: people.Cast) -> None:
    missing = reverse("profiler_rules:mentee-results", args=[world["admin"].pk + 1000])
    urls = {"with results": mentee_url(world), "without": mentee_url(world, "newcomer"), "nobody": missing}
    denied = {name: get(client, world["other"], url) for name, url in urls.items()}
    assert {response.status_code for response in denied.values()} == {403}
    assert len({response.content for response in denied.values()}) == 1
    allowed = {name: get(client, world["admin"], url) for name, url in urls.items()}
    assert allowed["with results"].status_code == 200
    assert allowed["without"].status_code == 404
    assert allowed["without"].json() == {
        "error": "No profiler results found",
        "mentee_id": world["newcomer"].pk,
        "profiling_complete": False,
    }
    assert (allowed["nobody"].status_code, allowed["nobody"].json()) == (404, {"error": "Mentee not found"})


def test_a_coach_sees_a_coachee_only_where_the_host_gives_the_relation(
    client: Client, world: people.Cast, settings: Any
) -> None:
    assert get(client, world["coach"], mentee_url(world)).status_code == 403  # the platform has no coachees
    settings.PROFILER_RULES = {**settings.PROFILER_RULES, **COACHES_BY_ROLE}
    coached = get(client, world["coach"], mentee_url(world))
    assert coached.status_code == 200
    assert coached.json()["anti_cheat"] is None  # the coach grant shows no anti-cheat
    assert get(client, world["coach"], mentee_url(world, "other")).status_code == 403


def test_a_mentee_id_too_large_for_any_key_is_not_found(client: Client, world: people.Cast) -> None:
    huge = reverse("profiler_rules:mentee-results", args=[10**30])
    assert get(client, world["other"], huge).status_code == 403
    assert get(client, world["admin"], huge).json() == {"error": "Mentee not found"}


def test_stored_data_the_rules_can_not_read_is_named_not_quoted(client: Client, world: people.Cast) -> None:
    result = world["learner"].profiler_sessions.get().result
    result.overall_score = Decimal("150.00")  # the model's validators are not run on save
    result.save()
    response = get(client, world["mentor"], mentee_url(world))
    assert response.status_code == 500
    assert response.json() == {"error": "invalid profiler result", "fields": ["scores.overall"]}
    assert b"150" not in response.content


# -- dashboards -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["admin", "director_a"])
def test_a_cohorts_dashboard_in_the_originals_fields(client: Client, world: people.Cast, kind: str) -> None:
    body = get(client, world[kind], cohort_url(world)).json()
    learner, newcomer = world["learner"], world["newcomer"]
    assert (body["cohort_id"], body["cohort_name"]) == (str(world.cohort_a.pk), "Cohort 2026")
    assert (body["total_students"], body["profiled_students"], body["not_profiled_count"]) == (2, 1, 1)
    assert body["profiled_percentage"] == 50.0
    assert body["track_distribution"] == {"defender": 1}
    assert body["score_statistics"]["average_overall"] == 65.04
    assert body["top_strengths"] == [
        {"strength": "analytical thinking", "count": 1},
        {"strength": "problem solving", "count": 1},
    ]
    [student] = body["students"]
    assert (student["student_id"], student["student_name"], student["student_email"]) == (
        str(learner.pk),
        "Amina K",
        learner.email,
    )
    assert (student["profiled"], student["overall_score"], student["readiness"]) == (True, 65.04, "intermediate")
    assert body["not_profiled_students"] == [
        {
            "student_id": str(newcomer.pk),
            "student_email": newcomer.email,
            "student_name": newcomer.email,
            "profiled": False,
        }
    ]


def test_a_learner_counts_once_whatever_their_sessions(client: Client, world: people.Cast) -> None:
    from django_host import factories as make

    make.session(world["learner"], completed_at=timezone.now() - timedelta(days=9))  # an older complete one
    body = get(client, world["admin"], cohort_url(world)).json()
    assert (body["profiled_students"], body["profiled_percentage"]) == (1, 50.0)


@pytest.mark.parametrize(("kind", "status"), [("admin", 404), ("director_a", 403), ("learner", 403)])
def test_an_unknown_cohort_is_404_only_for_who_may_see_it(
    client: Client, world: people.Cast, kind: str, status: int
) -> None:
    url = reverse("profiler_rules:cohort-analytics", args=["00000000-0000-4000-8000-000000000000"])
    response = get(client, world[kind], url)
    assert response.status_code == status
    if status == 404:
        assert response.json() == {"error": "Cohort not found"}


def test_a_sponsors_dashboard_in_the_originals_fields(client: Client, world: people.Cast) -> None:
    body = get(client, world["sponsor_admin_a"], enterprise_url(world)).json()
    cohort = str(world.cohort_a.pk)
    assert (body["sponsor_id"], body["cohort_id"]) == (str(world.sponsor_a.pk), None)
    assert body["date_range"] == {"from": None, "to": None}
    assert (body["total_employees"], body["profiled_employees"], body["not_profiled_count"]) == (2, 1, 1)
    assert body["cohort_breakdown"] == {
        cohort: {
            "cohort_name": "Cohort 2026",
            "total": 2,
            "profiled": 1,
            "avg_aptitude": 62.4,
            "avg_overall": 65.04,
            "profiled_percentage": 50.0,
        }
    }
    assert body["readiness_distribution"] == {
        "novice": 0,
        "beginner": 0,
        "intermediate": 1,
        "advanced": 0,
        "unknown": 0,
    }


def test_the_platforms_dashboard_keys_cohorts_by_id_not_name(client: Client, world: people.Cast) -> None:
    body = get(client, world["admin"], reverse("profiler_rules:enterprise-analytics")).json()
    assert (body["total_employees"], body["profiled_employees"]) == (3, 2)
    breakdown = body["cohort_breakdown"]
    assert set(breakdown) == {str(world.cohort_a.pk), str(world.cohort_b.pk)}  # both named "Cohort 2026"
    assert {figures["cohort_name"] for figures in breakdown.values()} == {"Cohort 2026"}


def test_the_dates_include_the_whole_last_day(client: Client, world: people.Cast) -> None:
    yesterday = (timezone.now() - timedelta(days=1)).date()
    url = reverse("profiler_rules:enterprise-analytics")
    counted = get(client, world["admin"], url, {"date_from": yesterday, "date_to": yesterday}).json()
    assert counted["profiled_employees"] == 2
    assert counted["date_range"] == {"from": yesterday.isoformat(), "to": yesterday.isoformat()}
    later = get(client, world["admin"], url, {"date_from": yesterday + timedelta(days=1)}).json()
    assert later["profiled_employees"] == 0


@pytest.mark.parametrize(
    ("kind", "params", "status"),
    [
        ("admin", {}, 200),
        ("sponsor_admin_a", {}, 403),  # the whole platform is not their sponsor
        ("sponsor_admin_a", {"sponsor_id": "b5e0c9a4-0000-4000-8000-000000000000"}, 403),
        ("admin", {"sponsor_id": "b5e0c9a4-0000-4000-8000-000000000000"}, 404),
        ("admin", {"cohort_id": "b5e0c9a4-0000-4000-8000-000000000000"}, 404),
        ("director_a", {"cohort_id": "b5e0c9a4-0000-4000-8000-000000000000"}, 403),
    ],
)
def test_the_enterprise_scope_is_checked_before_it_is_found(
    client: Client, world: people.Cast, kind: str, params: dict[str, str], status: int
) -> None:
    response = get(client, world[kind], reverse("profiler_rules:enterprise-analytics"), params)
    assert response.status_code == status


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"sponsor_id": "acme"}, "sponsor_id"),
        ({"cohort_id": "12"}, "cohort_id"),
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2026-02-10", "date_to": "2026-02-01"}, "date_from"),
    ],
)
def test_a_bad_enterprise_parameter_is_named(
    client: Client, world: people.Cast, params: dict[str, str], parameter: str
) -> None:
    response = get(client, world["admin"], reverse("profiler_rules:enterprise-analytics"), params)
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter


# -- queries per request ----------------------------------------------------------------------------

# Each route's queries, with the session and user of the login (2) counted: never one per row. A
# route that dispatches records it (the default): in the test's transaction a savepoint 2 + the rule
# set looked for 1 (+ kept 2, on the first request under it) + the record 1. (Outside a transaction,
# once the rule set is kept: the record only.)
FIRST_RECORDED = 6
QUERIES = [
    (missions_url, "learner", 7 + FIRST_RECORDED),  # learner 4 + missions 1
    (recipes_url, "learner", 7 + FIRST_RECORDED),  # learner 4 + recipes 1
    (statement_url, "learner", 7 + FIRST_RECORDED),  # entry 1 + learner 4
    (talent_url, "learner", 7 + FIRST_RECORDED),  # learner 4 + jobs 1
    (mentee_url, "mentor", 9 + FIRST_RECORDED),  # roles 1 + mentees 1 + mentee 1 + learner 4
    (cohort_url, "director_a", 11),  # roles 1 + cohorts 1 + cohort 1 + roster 1 + a chunk of learners 5
    (enterprise_url, "sponsor_admin_a", 10),  # roles 1 + sponsor 1 + roster 1 + a chunk of learners 5
]


@pytest.mark.parametrize(("route", "kind", "most"), QUERIES, ids=[route.__name__ for route, _, _ in QUERIES])
def test_queries_per_request_are_fixed(
    client: Client,
    world: people.Cast,
    missions: Any,
    recipes: Any,
    jobs: Any,
    django_assert_max_num_queries: Any,
    route: Callable[[people.Cast], str],
    kind: str,
    most: int,
) -> None:
    client.force_login(world[kind])
    with django_assert_max_num_queries(most):
        assert client.get(route(world)).status_code == 200


@pytest.mark.parametrize(("route", "kind", "most"), QUERIES, ids=[route.__name__ for route, _, _ in QUERIES])
def test_queries_do_not_grow_with_the_rows(
    client: Client, world: people.Cast, route: Callable[[people.Cast], str], kind: str, most: int
) -> None:
    from django_host import factories as make
    from marketplace.models import JobPosting
    from missions.models import Mission
    from recipes.models import Recipe

    client.force_login(world[kind])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(route(world)).status_code == 200
        return len(captured)

    queries()  # the first request under the rules keeps them with its record (2 queries, once)
    before = queries()
    for number in range(6):
        learner = make.user("student")
        make.enroll(learner, world.cohort_a, org=world.sponsor_a)
        make.session(learner, shape="native" if number % 2 else "documented")
        Mission.objects.create(code=f"X{number}", title="More", difficulty=1)
        Recipe.objects.create(slug=f"r{number}", title="More", skill_codes=["NET"])
        JobPosting.objects.create(title="More", required_skills=["security"])
    assert queries() == before


# -- the example host's Basic authentication --------------------------------------------------------


def test_the_example_host_takes_basic_credentials(client: Client, world: people.Cast, settings: Any) -> None:
    import base64

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, for the test only
    admin = world["admin"]
    admin.set_password("s3cret")
    admin.save()

    def basic(credentials: bytes) -> str:
        return "Basic " + base64.b64encode(credentials).decode()

    url = cohort_url(world)
    assert client.get(url, HTTP_AUTHORIZATION=basic(f"{admin.username}:s3cret".encode())).status_code == 200
    for wrong in (basic(f"{admin.username}:wrong".encode()), basic(b"\xff\xfe"), "Basic not-base64!", "Bearer x"):
        refused = client.get(url, HTTP_AUTHORIZATION=wrong)
        assert refused.status_code == 401
        assert refused["WWW-Authenticate"] == 'Basic realm="profiler-rules example host"'


# -- catalogs ---------------------------------------------------------------------------------------


def test_a_changed_catalog_row_is_seen_at_once(client: Client, world: people.Cast, recipes: dict[str, Any]) -> None:
    from recipes.models import Recipe

    assert [row["slug"] for row in get(client, world["learner"], recipes_url(world)).json()["recommended_recipes"]] == [
        "web",
        "net",
        "dns",
    ]
    Recipe.objects.filter(pk=recipes["dns"].pk).update(usage_count=1000)  # no signal: a bulk write
    ranked = get(client, world["learner"], recipes_url(world)).json()["recommended_recipes"]
    assert [row["slug"] for row in ranked] == ["web", "dns", "net"]
    assert ranked[1]["usage_count"] == 1000


def test_equal_catalog_rows_are_validated_once(world: people.Cast, recipes: dict[str, Any]) -> None:
    from recipes.models import Recipe

    from profiler_rules.contrib.django import catalogs
    from profiler_rules.contrib.django.runtime import get_dispatcher

    dispatcher = get_dispatcher()
    first = catalogs.load("recipes").prepared(dispatcher)
    assert catalogs.load("recipes").prepared(dispatcher) is first
    Recipe.objects.filter(pk=recipes["net"].pk).update(title="Networking, again")
    changed = catalogs.load("recipes").prepared(dispatcher)
    assert changed is not first
    assert "Networking, again" in {recipe.title for recipe in changed.items["recipes"]}


def test_an_invalid_catalog_row_is_named_not_served(
    client: Client, world: people.Cast, recipes: dict[str, Any]
) -> None:
    from recipes.models import Recipe

    Recipe.objects.filter(pk=recipes["dns"].pk).update(usage_count=-7)
    response = get(client, world["learner"], recipes_url(world))
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "invalid catalogs"
    [field] = body["fields"]
    assert field.startswith("recipes.") and field.endswith(".usage_count")


def test_a_dashboard_reads_only_what_it_shows(client: Client, world: people.Cast) -> None:
    from profiler.models import ProfilerSession

    # An anti-cheat score the mentee view can not read (it is out of range) does not hide a learner from
    # a dashboard, which never reads anti-cheat signals.
    ProfilerSession.objects.filter(user=world["learner"]).update(anti_cheat_score=Decimal("150.00"))
    assert get(client, world["mentor"], mentee_url(world)).status_code == 500
    body = get(client, world["admin"], cohort_url(world)).json()
    assert (body["profiled_students"], body["warnings"]) == (1, [])


def test_a_learner_of_two_cohorts_counts_in_both(client: Client, world: people.Cast) -> None:
    from django_host import factories as make

    make.enroll(world["learner"], world.cohort_b, org=world.sponsor_b)
    director_b = get(client, world["director_b"], reverse("profiler_rules:cohort-analytics", args=[world.cohort_b.pk]))
    assert {student["student_id"] for student in director_b.json()["students"]} == {
        str(world["learner"].pk),
        str(world["other"].pk),
    }
    assert get(client, world["director_a"], cohort_url(world)).json()["profiled_students"] == 1


def test_the_test_datas_text_traits_answer_every_route(client: Client, world: people.Cast) -> None:
    from profiler.models import ProfilerSession

    text = {"work_style": "collaborative", "learning_preference": "hands-on"}  # seen on the platform
    ProfilerSession.objects.filter(user=world["learner"]).update(behavioral_profile=text)
    for route in ROUTES[:5]:
        assert (
            get(client, world["mentor"] if route is mentee_url else world["learner"], route(world)).status_code == 200
        )


def test_a_name_longer_than_a_dashboard_holds_is_cut_not_refused(client: Client, world: people.Cast) -> None:
    from django_host import factories as make

    long = make.user("student", first_name="A" * 150, last_name="B" * 150)
    make.enroll(long, world.cohort_a)
    body = get(client, world["admin"], cohort_url(world)).json()
    [shown] = [row for row in body["not_profiled_students"] if row["student_id"] == str(long.pk)]
    assert shown["student_name"] == ("A" * 150 + " " + "B" * 150)[:256]


def test_a_route_whose_engine_is_not_loaded_says_so(client: Client, world: people.Cast, monkeypatch: Any) -> None:
    from profiler_rules.contrib.django.runtime import reset_dispatcher

    monkeypatch.setenv("PROFILER_RULES_DISABLED_PLUGINS", "recipes")
    reset_dispatcher()
    try:
        response = get(client, world["learner"], recipes_url(world))
    finally:
        monkeypatch.undo()
        reset_dispatcher()
    assert response.status_code == 500
    assert response.json()["error"] == "invalid engines"
    assert get(client, world["learner"], missions_url(world)).status_code == 200
