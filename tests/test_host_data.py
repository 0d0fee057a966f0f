"""The library takes what hosts hold (issue 11, item 1): ids as the ORM gives them, open roles, catalog
rows straight from ``model_to_dict``, jobs as the platform stores them, one engine per request, public
read-only settings, a learner's every cohort, and free-form profiles that do not void a result."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from profiler_rules import Dispatcher, InvalidInputError, Viewer
from profiler_rules.core.access import ACCESS_SCHEMA
from profiler_rules.core.models import ProfilerResult
from profiler_rules.plugins.analytics import dashboard

from .conftest import edit, result, run_cli

SESSION = uuid.UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")
COHORT = uuid.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")
OTHER_COHORT = uuid.UUID("6fa459ea-ee8a-3ca4-894e-db77e160355e")


# -- 1. ids of every kind, datetimes read as UTC ------------------------------------------------------------


def test_result_and_viewer_ids_may_be_ints_and_uuids(dispatcher: Dispatcher) -> None:
    mentor = {"user_id": 7, "roles": ["mentor"], "mentee_ids": [42, uuid.uuid4()]}
    report = dispatcher.dispatch(result(session_id=SESSION, user_id=42, cohort_id=COHORT, sponsor_id=3), viewer=mentor)
    assert (report.session_id, report.user_id) == (str(SESSION), "42")
    assert report.engines["mentorship"].status == "ok"  # the int mentee id 42 is the learner "42"
    assert report.engines["analytics"].status == "denied"


def test_every_viewer_relation_takes_ints_and_uuids() -> None:
    viewer = Viewer.model_validate(
        {"user_id": uuid.UUID(int=1), "roles": ["director"], "mentee_ids": [1], "coachee_ids": [uuid.UUID(int=2)],
         "cohort_ids": [COHORT, 5], "sponsor_ids": [9]}
    )  # fmt: skip
    assert viewer.user_id == str(uuid.UUID(int=1))
    assert (viewer.mentee_ids, viewer.coachee_ids) == ({"1"}, {str(uuid.UUID(int=2))})
    assert (viewer.cohort_ids, viewer.sponsor_ids) == ({str(COHORT), "5"}, {"9"})


@pytest.mark.parametrize("field", ["session_id", "user_id", "cohort_id", "sponsor_id"])
def test_a_boolean_is_not_an_id(dispatcher: Dispatcher, field: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch(result(**{field: True}))
    assert raised.value.fields == (field,)


def test_a_boolean_is_not_a_viewer_id(dispatcher: Dispatcher) -> None:
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch(result(), viewer={"user_id": "m-1", "roles": ["mentor"], "mentee_ids": [False]})
    assert raised.value.fields[0].startswith("mentee_ids")


def test_analytics_ids_and_roster_ids_may_be_ints_and_uuids(dispatcher: Dispatcher) -> None:
    results = [result(session_id=uuid.uuid4(), user_id=1, cohort_id=COHORT, scores={"overall": 80})]
    roster = [{"user_id": 1, "cohort_id": COHORT, "sponsor_id": 4}, {"user_id": 2, "cohort_id": COHORT}]
    viewer = {"user_id": 99, "roles": ["director"], "cohort_ids": [COHORT]}
    report = dashboard(dispatcher, results, viewer=viewer, cohort_id=COHORT, roster=roster)
    assert report.status == "ok"
    assert report.output.scope.cohort_id == str(COHORT)
    assert (report.output.enrolled, report.output.profiled) == (2, 1)
    assert [learner.user_id for learner in report.output.not_profiled] == ["2"]
    sponsor_report = dashboard(dispatcher, results, viewer={"roles": ["admin"]}, sponsor_id=4, roster=roster)
    assert sponsor_report.output.scope.sponsor_id == "4"


def test_datetimes_given_as_analytics_dates_are_read_in_utc(dispatcher: Dispatcher) -> None:
    late_evening_in_new_york = datetime(2026, 2, 1, 22, 30, tzinfo=timezone(timedelta(hours=-5)))
    report = dashboard(
        dispatcher,
        [],
        viewer={"roles": ["admin"]},
        date_from=late_evening_in_new_york,
        date_to=datetime(2026, 2, 28, 23, 0),
    )
    # 22:30 at -05:00 is 03:30 on the 2nd in UTC; a naive datetime is read as UTC, as completed_at is.
    assert (report.output.scope.date_from, report.output.scope.date_to) == (date(2026, 2, 2), date(2026, 2, 28))


def test_naive_completed_at_is_read_as_utc() -> None:
    read = ProfilerResult.model_validate(result(completed_at=datetime(2026, 2, 1, 10, 0)))
    assert read.completed_at == datetime(2026, 2, 1, 10, 0, tzinfo=UTC)


# -- 2. roles are an open vocabulary ---------------------------------------------------------------------------


def test_a_role_no_grant_names_grants_nothing_and_is_no_error(dispatcher: Dispatcher) -> None:
    viewer = {"user_id": "u-2", "roles": ["mentee", "program_director"]}
    report = dispatcher.dispatch(result(), viewer=viewer)
    assert report.engines["mentorship"].status == "denied"
    assert "program_director" in report.engines["mentorship"].explain[0].message


@pytest.mark.parametrize("role", ["", "x" * 257])
def test_a_role_is_a_bounded_non_empty_name(role: str) -> None:
    with pytest.raises(Exception, match="roles"):
        Viewer.model_validate({"roles": [role]})


def test_access_rules_grant_any_role_name(rules_dir: Path) -> None:
    edit(rules_dir / "access.yaml", "cohort_analytics:\n", "cohort_analytics:\n  - role: program_director\n")
    checked = run_cli("check", "--rules", str(rules_dir))
    assert checked.code == 0, checked.stdout + checked.stderr
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    report = dashboard(dispatcher, [], viewer={"roles": ["program_director"]}, cohort_id="c-9")
    assert report.status == "ok"


def test_the_access_schema_lists_no_closed_set_of_roles_but_suggests_the_usual() -> None:
    schema = ACCESS_SCHEMA
    role = schema["additionalProperties"]["items"]["properties"]["role"]
    assert "enum" not in role
    assert {"student", "mentor", "admin", "director", "sponsor_admin"} <= set(role["examples"])


def test_a_sponsor_admin_sees_the_dashboard_of_their_own_sponsor_only(dispatcher: Dispatcher) -> None:
    results = [result(user_id="u-1", sponsor_id="acme", scores={"overall": 70}),
               result(session_id="s-2", user_id="u-2", sponsor_id="other", scores={"overall": 70})]  # fmt: skip
    admin = {"user_id": 5, "roles": ["sponsor_admin"], "sponsor_ids": ["acme"]}
    own = dashboard(dispatcher, results, viewer=admin, sponsor_id="acme")
    assert (own.status, own.output.profiled) == ("ok", 1)
    assert any("sponsor_admin" in item.message for item in own.explain)
    assert dashboard(dispatcher, results, viewer=admin, sponsor_id="other").status == "denied"
    assert dashboard(dispatcher, results, viewer=admin).status == "denied"  # the whole platform is not theirs


# -- 3. catalog rows as the host holds them; jobs scored on what they have ---------------------------------------


def _model_to_dict_rows() -> dict[str, list[dict[str, Any]]]:
    created = datetime(2025, 1, 1, 12, 0)
    mission_ids = [uuid.UUID(int=n) for n in (1, 2, 3)]
    return {
        "missions": [
            {
                "id": mission_ids[0],
                "title": "Read a capture",
                "difficulty": 1,
                "is_active": True,
                "created_at": created,
            },
            {"id": mission_ids[1], "title": "Harden a host", "difficulty": 2, "xp": 100, "track_id": uuid.uuid4()},
            {"id": mission_ids[2], "title": "Red-team", "difficulty": 5, "created_at": created},
        ],
        "recipes": [
            {
                "id": 11,
                "title": "DNS",
                "skill_codes": ["NET"],
                "is_active": True,
                "usage_count": 3,
                "avg_rating": Decimal("4.50"),
                "created_at": created,
                "author_id": 8,
            },
            {
                "id": 12,
                "title": "Routing",
                "skill_codes": ["NET"],
                "is_active": True,
                "usage_count": 9,
                "avg_rating": Decimal("3.10"),
                "created_at": created,
                "author_id": 8,
            },
        ],  # fmt: skip
    }


def test_catalog_rows_from_model_to_dict_are_read_and_answered_with_the_hosts_ids(dispatcher: Dispatcher) -> None:
    catalogs = dispatcher.prepare_catalogs(_model_to_dict_rows())
    report = dispatcher.dispatch(
        result(difficulty_selection="intermediate", aptitude_breakdown={"networking": 20}), catalogs=catalogs
    )
    missions = report.engines["missions"].output.open_missions
    assert [mission.id for mission in missions] == [str(uuid.UUID(int=1)), str(uuid.UUID(int=2))]
    recipes = report.engines["recipes"].output.recommended_recipes
    assert [recipe.id for recipe in recipes] == ["12", "11"]  # ranked by usage: the host's ids, as text


def test_catalog_fields_the_engine_reads_are_still_checked(dispatcher: Dispatcher) -> None:
    rows = _model_to_dict_rows()
    rows["missions"][0]["difficulty"] = 9
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.prepare_catalogs(rows)
    assert raised.value.fields == ("missions.0.difficulty",)


JOB_POSTINGS = [  # the platform's JobPosting: id, title, required_skills, and fields the engine does not read
    {"id": uuid.UUID(int=21), "title": "SOC analyst", "required_skills": ["networking"], "salary_max": Decimal("90000.00")},
    {"id": uuid.UUID(int=22), "title": "Pen tester", "required_skills": ["exploitation"], "is_remote": True},
]  # fmt: skip


def _matches(dispatcher: Dispatcher, breakdown: dict[str, float], jobs: list[dict[str, Any]]) -> Any:
    report = dispatcher.dispatch(result(aptitude_breakdown=breakdown), catalogs={"jobs": jobs})
    return report.engines["marketplace"]


def test_jobs_as_the_platform_stores_them_are_scored_on_their_known_components(dispatcher: Dispatcher) -> None:
    answer = _matches(dispatcher, {"networking": 80, "exploitation": 40}, JOB_POSTINGS)
    assert answer.status == "ok"
    [match] = answer.output.matches
    assert (match.job_id, match.match_score) == (str(uuid.UUID(int=21)), 80.0)  # skills alone, renormalised
    assert (match.components.track, match.components.skills, match.components.level) == (None, 80.0, None)
    assert match.components.behavioral is None
    said = " ".join(item.message for item in answer.explain)
    assert "unknown: track, level, behavioral" in said and "renormalize" in said


def test_unknown_components_count_zero_when_the_rules_say_zero(rules_dir: Path) -> None:
    edit(rules_dir / "marketplace.yaml", "unknown_component: renormalize", "unknown_component: zero")
    edit(rules_dir / "marketplace.yaml", "minimum_score: 60", "minimum_score: 5")
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    [match, _] = _matches(dispatcher, {"networking": 80, "exploitation": 40}, JOB_POSTINGS).output.matches
    assert match.match_score == 16.0  # 0.2 × 80; the unknown parts count 0
    assert match.components.track is None


def test_a_job_with_no_known_component_gets_no_score_and_is_not_matched(dispatcher: Dispatcher) -> None:
    answer = _matches(dispatcher, {"networking": 80}, [{"id": 5, "title": "Anything"}])
    assert answer.output.matches == ()
    assert answer.output.total_jobs_considered == 1
    assert any("job 5" in item.message and "no component" in item.message for item in answer.explain)


def test_the_marketplace_schema_checks_the_unknown_component_rule(rules_dir: Path) -> None:
    edit(rules_dir / "marketplace.yaml", "unknown_component: renormalize", "unknown_component: maybe")
    checked = run_cli("check", "--rules", str(rules_dir))
    assert checked.code == 1
    assert "marketplace.yaml" in checked.stdout and "unknown_component" in checked.stdout


# -- 4. only the engines a view needs ---------------------------------------------------------------------------


def test_dispatch_runs_only_the_named_engines(dispatcher: Dispatcher) -> None:
    report = dispatcher.dispatch(result(difficulty_selection="advanced"), engines=["missions"])
    assert list(report.engines) == ["missions"]
    assert report.engines["missions"].output.max_difficulty == 3
    both = dispatcher.dispatch(result(), engines=["recipes", "missions"])
    assert list(both.engines) == ["missions", "recipes"]  # in the dispatcher's order, as every report


@pytest.mark.parametrize("engines", [["mission"], "missions", []])
def test_a_selection_naming_no_known_engine_is_an_input_error(dispatcher: Dispatcher, engines: Any) -> None:
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch(result(), engines=engines)
    assert "missions" in str(raised.value)  # the known engines are named
    assert raised.value.what == "engines"


def test_the_cli_dispatches_to_the_named_engines() -> None:
    run = run_cli("dispatch", "--example", "--engine", "missions", "--engine", "portfolio")
    assert run.code == 0, run.stderr
    assert list(run.json()["engines"]) == ["missions", "portfolio"]
    wrong = run_cli("dispatch", "--example", "--engine", "mission")
    assert wrong.code == 2
    assert wrong.stderr.startswith("profiler-rules: error:") and "'mission'" in wrong.stderr


# -- 5. engines' settings, public and read-only -------------------------------------------------------------------


def test_engine_settings_are_public_and_read_only(dispatcher: Dispatcher) -> None:
    portfolio = dispatcher.settings("portfolio")
    assert (portfolio.title, portfolio.item_type, portfolio.on_retake) == (
        "My Value Statement",
        "reflection",
        "replace",
    )
    assert portfolio.status and portfolio.visibility
    missions = dispatcher.settings("missions")
    assert (missions.levels["advanced"], missions.default_max_difficulty) == (3, 1)
    assert dispatcher.settings("recipes").aptitude.gap_cutoff == 60
    with pytest.raises((TypeError, ValueError)):
        missions.levels["advanced"] = 5
    with pytest.raises((TypeError, ValueError)):
        portfolio.title = "Mine"
    assert dispatcher.settings("missions").levels["advanced"] == 3


def test_settings_of_an_unknown_engine_is_a_clear_error(dispatcher: Dispatcher) -> None:
    with pytest.raises(InvalidInputError, match="'portfolios'.*portfolio"):
        dispatcher.settings("portfolios")


# -- 6. all of a learner's cohorts ----------------------------------------------------------------------------------


def test_cohort_id_is_read_as_one_of_the_cohorts() -> None:
    assert ProfilerResult.model_validate(result(cohort_id="c-1")).cohort_ids == ("c-1",)
    both = ProfilerResult.model_validate(result(cohort_id=1, cohort_ids=["c-2", 1, COHORT]))
    assert (both.cohort_id, both.cohort_ids) == ("1", ("1", "c-2", str(COHORT)))
    only_many = ProfilerResult.model_validate(result(cohort_ids=["c-2", "c-3"]))
    assert only_many.cohort_id == "c-2"


def test_a_learner_counts_in_the_dashboard_of_each_of_their_cohorts(dispatcher: Dispatcher) -> None:
    results = [result(cohort_ids=["c-1", "c-2"], scores={"overall": 75})]
    for cohort in ("c-1", "c-2"):
        viewer = {"user_id": "d-1", "roles": ["director"], "cohort_ids": [cohort]}
        report = dashboard(dispatcher, results, viewer=viewer, cohort_id=cohort)
        assert (report.status, report.output.profiled) == ("ok", 1), cohort
    everyone = dashboard(dispatcher, results, viewer={"roles": ["admin"]})
    assert set(everyone.output.cohort_breakdown) == {"c-1", "c-2"}


def test_a_director_of_any_of_the_learners_cohorts_sees_their_dashboard_row(dispatcher: Dispatcher) -> None:
    director = {"user_id": "d-2", "roles": ["director"], "cohort_ids": ["c-2"]}
    report = dispatcher.dispatch(result(cohort_ids=["c-1", "c-2"]), viewer=director)
    assert report.engines["analytics"].status == "ok"
    assert report.engines["analytics"].output.cohort_ids == ("c-1", "c-2")


# -- 7. free-form parts: what an engine can not read is left out, with a warning -------------------------------------


def test_a_text_trait_is_left_out_with_a_warning_and_the_result_answers(dispatcher: Dispatcher) -> None:
    profile = {"work_style": "collaborative", "learning_preference": "hands-on", "leadership": 8}
    report = dispatcher.dispatch(result(behavioral_profile=profile), viewer={"roles": ["admin"]})
    assert report.engines["leadership"].output.eligible is True  # the numeric trait is still read
    assert report.warnings == (
        "behavioral_profile.work_style: left out: a trait's value must be a number from 0 to 10",
        "behavioral_profile.learning_preference: left out: a trait's value must be a number from 0 to 10",
    )
    assert "collaborative" not in json.dumps(report.model_dump(mode="json"))


def test_a_documented_profile_with_an_extra_key_is_not_read_as_the_flat_shape() -> None:
    read = ProfilerResult.model_validate(
        result(behavioral_profile={"traits": {"leadership": 8}, "strengths": ["Grit"], "note": "x"})
    )
    profile = read.behavioral_profile
    assert (dict(profile.traits), profile.strengths) == ({"leadership": 8.0}, ("Grit",))
    assert read.input_warnings() == ("behavioral_profile.note: ignored: not a key of the documented shape",)


def test_a_documented_profile_with_only_strengths_is_the_documented_shape() -> None:
    read = ProfilerResult.model_validate(result(behavioral_profile={"strengths": ["Grit"], "areas_for_growth": []}))
    assert (dict(read.behavioral_profile.traits), read.behavioral_profile.strengths) == ({}, ("Grit",))
    assert read.input_warnings() == ()


def test_a_trait_out_of_range_is_still_an_error(dispatcher: Dispatcher) -> None:
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch(result(behavioral_profile={"leadership": 12}))
    assert raised.value.fields == ("behavioral_profile.traits.leadership",)


def test_a_protected_profile_warning_names_no_key(rules_dir: Path) -> None:
    edit(
        rules_dir / "access.yaml",
        "  - role: analyst\n",
        "  - role: analyst\n    details:\n      - behavioral_profile\n",
    )
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    report = dispatcher.dispatch(result(behavioral_profile={"secret_trait": "text"}))
    assert report.warnings == ("behavioral_profile.*: left out: a trait's value must be a number from 0 to 10",)


def test_a_role_name_with_braces_is_quoted_as_written(rules_dir: Path) -> None:
    # Any text is a role now: the grant's words are a template, so a role's braces must not be read as one.
    edit(rules_dir / "access.yaml", "  - role: analyst\n", "  - role: '{team}lead'\n")
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    report = dispatcher.dispatch(result(), viewer={"roles": ["{team}lead"]})
    assert report.engines["mentorship"].status == "ok"
    assert "has role {team}lead" in report.engines["mentorship"].explain[0].message
