"""The seed's routes as plain Django views, answering with the original platform's JSON bodies.

Each view reads what it needs in a fixed number of queries (never one per row), runs only the engines
it needs (``dispatch(..., engines=[...])``), and answers with the field names the platform's frontend
reads (``reference/original-system.md`` sections 3 and 5). Where the original was wrong (section 6) the
views do better, and each view's docstring lists how its body differs.

For every route: GET (and HEAD) only, else 405; an anonymous user gets 401
``{"error": "Authentication required"}``; a viewer the access rules deny gets 403 with the reason, and
gets it whatever exists (no enumeration of learners or cohorts); a learner with no complete result is
404 only for a viewer allowed to know it; a bad query parameter is 400 ``{"error", "parameter"}``. Stored
data the dispatcher can not read is a 500 naming the invalid fields (never their values), logged.

The learner routes (missions, recipes, value statement, talent matches) answer about the user who asks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from profiler_rules import AggregateReport, Dispatcher, DispatchReport, EngineReport, InvalidInputError
from profiler_rules.plugins import analytics
from profiler_rules.plugins.analytics.engine import COHORT_VIEW, ENTERPRISE_VIEW
from profiler_rules.plugins.mentorship.engine import VIEW as MENTEE_VIEW

from . import catalogs
from .conf import AppSettings, app_settings
from .runtime import get_dispatcher
from .sources import Learner, ResultSource, result_source
from .viewers import viewer_source

logger = logging.getLogger("profiler_rules.django")

NO_SESSION = "none"
"""The session id of the result a learner without a complete one is dispatched as: a result with no
status, which the engines answer as they answer an incomplete one (missions: the default cap;
marketplace: ``profiler_complete: false``; mentorship: access first, then no results)."""

COMPLETE_PROFILER_RECIPES = "Complete profiler to get personalized recipe recommendations"
COMPLETE_PROFILER_MATCHES = "Complete profiler to get talent matches"
NO_VALUE_STATEMENT = "Value statement not found. Please complete profiler first."
NO_PROFILER_RESULTS = "No profiler results found"

_INTEGER = re.compile(r"-?[0-9]{1,9}")
LARGEST_KEY = 2**63 - 1
"""The largest integer primary key a database holds (a signed 64-bit integer)."""
MAX_SHOWN = 256
"""The longest name or email a dashboard's roster holds (the analytics engine's limit)."""


class _Answer(Exception):  # noqa: N818 - not an error: an answer a view gives before its end
    """An answer decided before a view's end (denied, not found, a bad parameter)."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _bad_parameter(name: str, message: str) -> _Answer:
    return _Answer(400, {"error": message, "parameter": name})


def api_view(view: Callable[..., Mapping[str, Any]]) -> Callable[..., HttpResponse]:
    """A route of this app: GET only, authenticated, its answer (a mapping) as JSON.

    CSRF-exempt: the routes only read, and a POST must be told 405, not the CSRF failure page.
    """

    @csrf_exempt
    @wraps(view)
    def route(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            refused = JsonResponse({"error": "Method not allowed"}, status=405)
            refused["Allow"] = "GET, HEAD"
            return refused
        if not request.user.is_authenticated:
            return JsonResponse({"error": "Authentication required"}, status=401)
        try:
            return JsonResponse(view(request, *args, **kwargs))
        except _Answer as answer:
            return JsonResponse(answer.body, status=answer.status)
        except InvalidInputError as error:
            # The host's rows (a result, a catalog, a roster) or its setup (an engine not loaded), never
            # the request: a server error, naming the fields; the message never quotes a protected value.
            logger.error("profiler_rules: %s: %s", request.path, error)
            return JsonResponse({"error": f"invalid {error.what}", "fields": list(error.fields)}, status=500)

    return route


# -- shared steps -----------------------------------------------------------------------------------


def _result_or_none(learner: Learner | None, user: Model, source: ResultSource) -> Mapping[str, Any]:
    """The learner's result, or for a user without a complete one the result with no status."""
    if learner is not None:
        return learner.result
    return {"session_id": NO_SESSION, "user_id": source.user_key(user)}


def _answer(report: DispatchReport | AggregateReport, engine: str) -> EngineReport | AggregateReport:
    """The engine's answer, unless it failed (500, logged) or denied the viewer (403, with the reason).

    The views dispatch with ``explain=False``: no body shows an explanation, and a denied answer keeps
    its reason all the same.
    """
    answer = report.engines[engine] if isinstance(report, DispatchReport) else report
    if answer.status == "error":
        # The dispatcher has logged the failure; its words may quote the data the engine failed on, so
        # they are neither answered nor logged again.
        raise _Answer(500, {"error": "the profiler rules could not answer", "engine": engine})
    if answer.status == "denied":
        raise _Answer(403, {"error": "Permission denied", "reason": answer.explain[0].message})
    return answer


def _viewer(request: HttpRequest, dispatcher: Dispatcher, *views: str) -> dict[str, Any] | None:
    """The user as a viewer, with only the relations the access rules of ``views`` read."""
    relations = dispatcher.ruleset.access.viewer_fields(*views)
    return viewer_source().viewer(request.user, relations=sorted(relations))


def _asking(request: HttpRequest, dispatcher: Dispatcher) -> dict[str, Any] | None:
    """The user who asks, by id, as the viewer a learner route dispatches with, so that its decision
    record names who asked; ``None`` when nothing is recorded. By id alone: the engines of these routes
    read no viewer and decide nothing by access, and reading the roles would cost a query a request."""
    if dispatcher.recorder is None:
        return None
    return {"user_id": viewer_source().user_key(request.user)}


def _origin(request: HttpRequest) -> str:
    """What a decision record says of a view's dispatch: ``view`` and the route's name."""
    match = request.resolver_match
    return f"view {match.view_name if match is not None else request.path}"


def _number(value: Any) -> float | None:
    """A stored decimal as the JSON number the original's serializers gave."""
    return None if value is None else float(value)


def _field(row: Model | None, config: AppSettings, model: str, name: str) -> Any:
    return None if row is None else getattr(row, config.field(model, name), None)


# -- the learner's own routes -----------------------------------------------------------------------


@api_view
def student_missions(request: HttpRequest) -> Mapping[str, Any]:
    """``GET student/missions[?difficulty=N|all]``: the active missions up to the profiler's cap.

    ``?difficulty=N`` narrows the list to difficulty N; it never lifts the cap (N above it gives an
    empty list), where the original let an explicit ``?difficulty=`` bypass the cap. ``all`` (or no
    parameter) narrows nothing. A learner without a complete result gets the rules' default cap.
    """
    narrowed = _difficulty(request.GET.get("difficulty"))
    dispatcher, source = get_dispatcher(), result_source()
    learner = source.learner(request.user)
    missions = catalogs.load("missions", where=None if narrowed is None else {"difficulty": narrowed})
    report = dispatcher.dispatch(
        _result_or_none(learner, request.user, source),
        viewer=_asking(request, dispatcher),
        catalogs=missions.prepared(dispatcher),
        engines=["missions"],
        explain=False,  # the body shows no explanation
        origin=_origin(request),
    )
    output = _answer(report, "missions").output
    return {
        "missions": missions.rows(mission.id for mission in output.open_missions),
        "max_difficulty": output.max_difficulty,
        "max_difficulty_label": output.label,
        "profiler_difficulty": output.profiler_difficulty,
        "difficulty_source": output.source,
        "difficulty_filter": narrowed,
    }


def _difficulty(given: str | None) -> int | None:
    if given is None or given == "" or given == "all":
        return None
    if not _INTEGER.fullmatch(given):
        raise _bad_parameter("difficulty", "difficulty must be a mission difficulty (an integer) or 'all'")
    return int(given)


@api_view
def recipe_recommendations(request: HttpRequest) -> Mapping[str, Any]:
    """``GET recipes/profiler-recommendations``: the learner's skill gaps and the recipes that close them.

    Unlike the original: gaps are found in both stored shapes (the original's gap analysis was dead code
    on the platform's own shape); skills are in a stable order (not ``list(set())``); every gap has a
    ``score`` (``null`` for a behavioral one); recipes are the host's active rows ranked by the engine
    (covered skills weighted by gap priority, then usage and rating), at most as many as the rules say,
    where the original's ``__overlap`` lookup on a JSON field never matched any.
    """
    dispatcher, source = get_dispatcher(), result_source()
    learner = source.learner(request.user)
    if learner is None:
        return _no_recipes(_profiler_status(None))
    recipes = catalogs.load("recipes")
    report = dispatcher.dispatch(
        learner.result,
        viewer=_asking(request, dispatcher),
        catalogs=recipes.prepared(dispatcher),
        engines=["recipes"],
        explain=False,
        origin=_origin(request),
    )
    answer = _answer(report, "recipes")
    if answer.status != "ok":  # skipped: the source gives complete results only, but the rules decide
        return _no_recipes(_profiler_status(learner))
    output = answer.output
    return {
        "gaps_analysis": {
            "gaps": [gap.model_dump(mode="json") for gap in output.gaps],
            "recommended_recipe_skills": list(output.recommended_recipe_skills),
            "aptitude_score": output.aptitude_score,
            "technical_exposure_score": output.technical_exposure_score,
        },
        "recommended_recipes": recipes.rows(recipe.id for recipe in output.recommended_recipes),
        "total_gaps": output.total_gaps,
        "total_skills": output.total_skills,
        "profiler_status": _profiler_status(learner),
    }


def _no_recipes(status: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "gaps_analysis": {"gaps": [], "recommended_recipe_skills": []},
        "recommended_recipes": [],
        "total_gaps": 0,
        "total_skills": 0,
        "profiler_status": status,
        "message": COMPLETE_PROFILER_RECIPES,
    }


def _profiler_status(learner: Learner | None) -> dict[str, Any]:
    """The original's ``verify_profiler_accessibility``, with ``None`` checks where it tested truth."""
    if learner is None:
        return {
            "accessible": False,
            "session_id": None,
            "has_scores": False,
            "has_breakdown": False,
            "message": "No profiler session found",
        }
    result = learner.result
    return {
        "accessible": True,
        "session_id": result["session_id"],
        "has_scores": result["scores"]["aptitude"] is not None or result["technical_exposure_score"] is not None,
        "has_breakdown": bool(result["aptitude_breakdown"]),
        "message": "Profiler results accessible",
    }


@api_view
def value_statement(request: HttpRequest) -> Mapping[str, Any]:
    """``GET profiler/value-statement``: the learner's "My Value Statement" portfolio entry, as stored.

    The entry is found as the portfolio rules name it (item type and title), newest first; what the
    learner sees is what is stored (the entry is written on completion, and kept or replaced on a retake
    as the rules say). Beside the original's fields, the leadership engine's academy decision on the
    learner's latest complete result: ``eligible`` and ``eligibility_reasons`` (``null`` without one),
    since this endpoint is the VIP Leadership Academy's.
    """
    dispatcher, config = get_dispatcher(), app_settings()
    entry = _portfolio_entry(request.user, dispatcher, config)
    if entry is None:
        raise _Answer(404, {"value_statement": None, "message": NO_VALUE_STATEMENT})
    f = config.field
    linked = getattr(entry, f("portfolio_item", "session"))
    created = getattr(entry, f("portfolio_item", "created_at"))
    learner = result_source().learner(request.user)
    eligible, reasons = None, None
    if learner is not None:
        report = dispatcher.dispatch(
            learner.result,
            viewer=_asking(request, dispatcher),
            engines=["leadership"],
            explain=False,
            origin=_origin(request),
        )
        answer = _answer(report, "leadership")
        if answer.status == "ok":
            eligible, reasons = answer.output.eligible, list(answer.output.eligibility_reasons)
    return {
        "value_statement": getattr(entry, f("portfolio_item", "summary")),
        "created_at": None if created is None else created.isoformat(),
        "profiler_session_id": None if linked is None else str(linked),
        "status": getattr(entry, f("portfolio_item", "status")),
        "visibility": getattr(entry, f("portfolio_item", "visibility")),
        "eligible": eligible,
        "eligibility_reasons": reasons,
    }


def _portfolio_entry(user: Model, dispatcher: Dispatcher, config: AppSettings) -> Model | None:
    rules = dispatcher.settings("portfolio")
    f = config.field
    return (
        config.model("portfolio_item")
        ._default_manager.filter(
            **{
                f("portfolio_item", "user"): user,
                f("portfolio_item", "item_type"): rules.item_type,
                f("portfolio_item", "title"): rules.title,
            }
        )
        .order_by(f"-{f('portfolio_item', 'created_at')}", "-pk")
        .first()
    )


@api_view
def talent_matches(request: HttpRequest) -> Mapping[str, Any]:
    """``GET marketplace/talent-matches/profiler``: the host's jobs matched to the learner's results.

    The original answered a placeholder (``matches: []``, "coming soon"); here ``matches`` are the jobs
    the marketplace engine scores at or above the rules' minimum, best first, scored on what the job
    has (on the platform: its ``required_skills``). ``recommended_track`` is the track's key (the
    original gave the track's UUID, kept as ``recommended_track_id``); a learner without a
    recommended track is still matched on the rest.
    """
    dispatcher, source, config = get_dispatcher(), result_source(), app_settings()
    learner = source.learner(request.user)
    jobs = catalogs.load("jobs")
    report = dispatcher.dispatch(
        _result_or_none(learner, request.user, source),
        viewer=_asking(request, dispatcher),
        catalogs=jobs.prepared(dispatcher),
        engines=["marketplace"],
        explain=False,
        origin=_origin(request),
    )
    output = _answer(report, "marketplace").output
    if learner is None or not output.profiler_complete:
        return {"matches": [], "message": COMPLETE_PROFILER_MATCHES, "profiler_complete": False}
    result = learner.result
    track_id = _field(learner.session, config, "session", "recommended_track_id")
    matches = [match.model_dump(mode="json") for match in output.matches or ()]
    return {
        "recommended_track": output.recommended_track,
        "recommended_track_id": None if track_id is None else str(track_id),
        "track_confidence": _number(result["track_confidence"]),
        "aptitude_score": _number(result["scores"]["aptitude"]),
        "difficulty_selection": result["difficulty_selection"],
        "matches": matches,
        "total_jobs_considered": output.total_jobs_considered,
        "message": f"{len(matches)} job(s) match your profiler results",
        "profiler_complete": True,
    }


# -- a mentee's results -----------------------------------------------------------------------------


@api_view
def mentee_results(request: HttpRequest, mentee_id: int) -> Mapping[str, Any]:
    """``GET profiler/mentees/<mentee_id>/results``: a learner's results, for those the rules allow.

    The mentorship engine decides access (``mentee_view`` of ``access.yaml``), on the mentee's result or,
    without one, on the result with no status: a denied viewer gets 403 whether or not the mentee exists
    or has results, and only an allowed one learns "Mentee not found" or "No profiler results found".
    (A result with no status has no cohort or sponsor: a viewer whom host rules allow by cohort or
    sponsor only is told 403 there, never more than they may know.)
    Unlike the original (section 6.9): no role or flag lets anyone read anyone; an unassigned mentor is
    denied; ``anti_cheat`` is shown as the grant says (an assigned mentor, an admin), not by the
    viewer's mentor flag, and is ``null`` otherwise. ``behavioral_profile`` is one shape whatever was
    stored (``{traits, strengths, areas_for_growth}``) and ``aptitude_breakdown`` a percentage per
    category for both stored shapes. ``enhanced_results`` (a call to a route that never existed) and
    ``foundations_reflection`` (a model the host may not have) are not in the body.
    """
    dispatcher, source, config = get_dispatcher(), result_source(), app_settings()
    viewer = _viewer(request, dispatcher, MENTEE_VIEW)
    # No database this app runs on keeps a larger integer key; Django 4.2 on SQLite raises on one.
    fits = mentee_id <= LARGEST_KEY
    mentee = get_user_model()._default_manager.filter(pk=mentee_id).first() if fits else None
    learner = None if mentee is None else source.learner(mentee)
    if learner is None:
        key = str(mentee_id) if mentee is None else source.user_key(mentee)
        report = dispatcher.dispatch(
            {"session_id": NO_SESSION, "user_id": key},
            viewer=viewer,
            engines=["mentorship"],
            explain=False,
            origin=_origin(request),
        )
        _answer(report, "mentorship")  # 403 for a denied viewer, before saying what exists
        if mentee is None:
            raise _Answer(404, {"error": "Mentee not found"})
        raise _Answer(404, {"error": NO_PROFILER_RESULTS, "mentee_id": mentee_id, "profiling_complete": False})
    report = dispatcher.dispatch(
        learner.result, viewer=viewer, engines=["mentorship"], explain=False, origin=_origin(request)
    )
    answer = _answer(report, "mentorship")
    if answer.status != "ok":  # skipped: the rules found no complete result to show
        raise _Answer(404, {"error": NO_PROFILER_RESULTS, "mentee_id": mentee_id, "profiling_complete": False})
    return _mentee_body(mentee, learner, answer.output.model_dump(mode="json"), config)


def _mentee_body(mentee: Model, learner: Learner, view: dict[str, Any], config: AppSettings) -> dict[str, Any]:
    row = learner.session
    stored = result_source().result_row(row)
    track_id = _field(row, config, "session", "recommended_track_id")
    email = getattr(mentee, get_user_model().get_email_field_name(), None)
    anti_cheat = view.get("anti_cheat")
    return {
        "mentee_id": mentee.pk,
        "mentee_email": email,
        "mentee_name": _full_name(mentee) or email,
        "session_id": view["session_id"],
        "status": view["status"],
        "completed_at": view["completed_at"],
        "is_locked": view["is_locked"],
        "scores": view["scores"],
        "recommended_track": {
            "track_id": None if track_id is None else str(track_id),
            "track": view["recommended_track"]["track"],
            "confidence": view["recommended_track"]["confidence"],
        },
        "track_alignment": view["track_alignment"],
        "strengths": view["strengths"],
        "areas_for_growth": view["areas_for_growth"],
        "behavioral_profile": view["behavioral_profile"],
        "future_you_persona": view["future_you_persona"],
        "aptitude_breakdown": view["aptitude_breakdown"],
        "recommended_tracks": _field(stored, config, "result", "recommended_tracks"),
        "learning_path_suggestions": _field(stored, config, "result", "learning_path_suggestions"),
        "och_mapping": _field(stored, config, "result", "och_mapping"),
        "anti_cheat": None if anti_cheat is None else _anti_cheat(anti_cheat),
    }


def _anti_cheat(view: Mapping[str, Any]) -> dict[str, Any]:
    """The original's ``{score, suspicious_patterns, device_fingerprint}`` (patterns as their names),
    with the rules' ``needs_review`` and each pattern's meaning."""
    return {
        "score": view["score"],
        "suspicious_patterns": [pattern["pattern"] for pattern in view["suspicious_patterns"]],
        "device_fingerprint": view["device_fingerprint"],
        "needs_review": view["needs_review"],
        "pattern_meanings": {pattern["pattern"]: pattern["meaning"] for pattern in view["suspicious_patterns"]},
    }


def _full_name(user: Model) -> str:
    full = getattr(user, "get_full_name", None)
    return (full() if callable(full) else "").strip()


# -- dashboards -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Roster:
    """The active enrolments of a scope: for the engine, by learner, and the cohorts' names."""

    entries: tuple[dict[str, Any], ...]
    user_pks: tuple[Any, ...]
    cohort_names: Mapping[str, str]


def _roster(config: AppSettings, **scope: Any) -> _Roster:
    """Every active enrolment in ``scope`` (``cohort``, ``sponsor``: ``FIELDS["enrollment"]`` keys), in
    one query, with the learner's name and email."""
    f = config.field
    user, cohort = f("enrollment", "user"), f("enrollment", "cohort")
    key = config.user_key_lookup(user)
    person = _person_fields(user)
    rows = (
        config.model("enrollment")
        ._default_manager.filter(
            **{f("enrollment", "status"): config["ACTIVE_STATUS"]},
            **{f("enrollment", name): value for name, value in scope.items() if value is not None},
        )
        .order_by("pk")
        .values_list(
            f"{user}_id",
            key,
            f"{cohort}_id",
            f"{cohort}__{f('cohort', 'name')}",
            f"{f('enrollment', 'sponsor')}_id",
            *person.values(),
        )
    )
    entries, pks, names = [], {}, {}
    for user_pk, user_key, cohort_pk, cohort_name, sponsor_pk, *details in rows:
        found = dict(zip(person, details, strict=True))
        name = " ".join(part for part in (found.get("first_name"), found.get("last_name")) if part).strip()
        email = found.get("email") or None
        entries.append(
            {
                "user_id": str(user_key),
                "cohort_id": None if cohort_pk is None else str(cohort_pk),
                "sponsor_id": None if sponsor_pk is None else str(sponsor_pk),
                # Shown as written, up to the length a dashboard holds (Django's two 150-character name
                # fields together may exceed it): a long name is cut, never a reason to refuse the roster.
                "name": (name or email or "")[:MAX_SHOWN] or None,
                "email": None if email is None else email[:MAX_SHOWN],
            }
        )
        pks[user_pk] = None
        if cohort_pk is not None:
            names[str(cohort_pk)] = cohort_name
    return _Roster(tuple(entries), tuple(sorted(pks)), names)


def _person_fields(user: str) -> dict[str, str]:
    """The user model's name and email columns, as paths from an enrolment."""
    model = get_user_model()
    present = {field.name for field in model._meta.concrete_fields}
    wanted = {"first_name": "first_name", "last_name": "last_name", "email": model.get_email_field_name()}
    return {name: f"{user}__{column}" for name, column in wanted.items() if column in present}


# What the dashboards read of a result (the analytics engine's per-learner figures and scope); the
# rest (answers, anti-cheat, breakdowns, profiles) is left out before validation, which then costs a
# fraction, and a dashboard never holds what it does not show.
DASHBOARD_FIELDS = (
    "session_id",
    "user_id",
    "status",
    "completed_at",
    "scores",
    "recommended_track",
    "strengths",
    "cohort_id",
    "cohort_ids",
    "sponsor_id",
)


def _results_of(user_pks: tuple[Any, ...], config: AppSettings) -> Iterator[Mapping[str, Any]]:
    """The learners' latest complete results, as the dashboards read them, lazily a chunk of users at a
    time (never one query per learner, and no ``IN`` list longer than ``CHUNK_SIZE``)."""
    source, chunk = result_source(), config["CHUNK_SIZE"]
    for start in range(0, len(user_pks), chunk):
        for learner in source.learners(users=user_pks[start : start + chunk]):
            result = learner.result
            yield {name: result[name] for name in DASHBOARD_FIELDS if name in result}


def _pk_param(request: HttpRequest, name: str, model: type[Model] | None) -> Any:
    """A query parameter naming a row of ``model`` by primary key, or 400 naming the parameter.

    Without a model (a sponsor that is a plain column, not a relation) the id is taken as written.
    """
    given = request.GET.get(name)
    if given is None or given == "":
        return None
    if model is None:
        return given
    try:
        return model._meta.pk.to_python(given)
    except ValidationError:
        raise _bad_parameter(name, f"{name} is not a valid id") from None


def _date(request: HttpRequest, name: str) -> date | None:
    given = request.GET.get(name)
    if given is None or given == "":
        return None
    try:
        return date.fromisoformat(given)
    except ValueError:
        raise _bad_parameter(name, f"{name} must be a date, YYYY-MM-DD") from None


def _unknown_scope(dispatcher: Dispatcher, viewer: Any, what: str, **scope: str | None) -> _Answer:
    """404 for a scope that does not exist, if the viewer may see it were it there; else the rules' 403."""
    _answer(analytics.dashboard(dispatcher, (), viewer=viewer, **scope), "analytics")
    return _Answer(404, {"error": f"{what} not found"})


@api_view
def cohort_analytics(request: HttpRequest, cohort_id: Any) -> Mapping[str, Any]:
    """``GET profiler/admin/cohorts/<cohort_id>/analytics``: one cohort's dashboard.

    Access from the rules (``cohort_analytics``: an admin; a director of the cohort, through the
    director of its track). Unlike the original: each learner counts once, by their latest complete
    result (the original counted sessions, past 100 %); a session without a result row is read, not a
    500; a real 0 counts in the statistics and an unknown score does not (averages are ``null``, not
    0, with no scores); ``track_distribution`` is keyed by the track's key, not its UUID;
    ``profiled_percentage`` is ``null`` for a cohort without learners. ``readiness_distribution``,
    each student's ``readiness`` and ``warnings`` are added.
    """
    dispatcher, config = get_dispatcher(), app_settings()
    viewer = _viewer(request, dispatcher, COHORT_VIEW)
    scope = str(cohort_id)
    cohort = config.model("cohort")._default_manager.filter(pk=cohort_id).values_list(config.field("cohort", "name"))
    found = cohort.first()
    if found is None:
        raise _unknown_scope(dispatcher, viewer, "Cohort", cohort_id=scope)
    roster = _roster(config, cohort=cohort_id)
    report = analytics.dashboard(
        dispatcher, _results_of(roster.user_pks, config), viewer=viewer, cohort_id=scope, roster=roster.entries
    )
    dashboard = _answer(report, "analytics").output
    students = [_student(row) for row in dashboard.students or () if row.profiled]
    return {
        "cohort_id": scope,
        "cohort_name": found[0],
        "total_students": dashboard.enrolled,
        "profiled_students": dashboard.profiled,
        "profiled_percentage": dashboard.profiled_percentage,
        "not_profiled_count": (dashboard.enrolled or 0) - dashboard.profiled,
        "track_distribution": dashboard.track_distribution,
        "score_statistics": dashboard.score_statistics.model_dump(mode="json"),
        "top_strengths": [strength.model_dump(mode="json") for strength in dashboard.top_strengths],
        "readiness_distribution": dashboard.readiness_distribution,
        "students": students,
        "not_profiled_students": [
            {"student_id": row.user_id, "student_email": row.email, "student_name": row.name, "profiled": False}
            for row in dashboard.not_profiled or ()
        ],
        "warnings": list(report.warnings),
    }


def _student(row: Any) -> dict[str, Any]:
    shown = row.model_dump(mode="json")
    return {
        "student_id": shown["user_id"],
        "student_email": shown["email"],
        "student_name": shown["name"],
        "profiled": True,
        "session_id": shown["session_id"],
        "aptitude_score": shown["aptitude_score"],
        "overall_score": shown["overall_score"],
        "recommended_track": shown["recommended_track"],
        "readiness": shown["readiness"],
        "completed_at": shown["completed_at"],
    }


@api_view
def enterprise_analytics(request: HttpRequest) -> Mapping[str, Any]:
    """``GET profiler/admin/enterprise/analytics?sponsor_id&cohort_id&date_from&date_to``: a sponsor's
    (or the whole platform's) dashboard.

    Access from the rules (``enterprise_analytics``: an admin; a sponsor admin of their own sponsor;
    with ``cohort_id``, ``cohort_analytics`` too). Unlike the original: an unknown sponsor or cohort is
    404 (for a viewer who may see it), never every enrolment; ``total_employees`` counts learners, not
    enrolments; each learner counts once; ``date_to`` includes its whole day; ``cohort_breakdown`` is
    keyed by cohort id (two cohorts may share a name), each with its ``cohort_name``; ``top_strengths``
    and ``warnings`` are added.
    """
    dispatcher, config = get_dispatcher(), app_settings()
    sponsor_model, cohort_model = _sponsor_model(config), config.model("cohort")
    sponsor = _pk_param(request, "sponsor_id", sponsor_model)
    cohort = _pk_param(request, "cohort_id", cohort_model)
    date_from, date_to = _date(request, "date_from"), _date(request, "date_to")
    if date_from and date_to and date_from > date_to:
        raise _bad_parameter("date_from", "date_from is after date_to")
    views = (COHORT_VIEW, ENTERPRISE_VIEW) if cohort is not None else (ENTERPRISE_VIEW,)
    viewer = _viewer(request, dispatcher, *views)
    scope = {
        "cohort_id": None if cohort is None else str(cohort),
        "sponsor_id": None if sponsor is None else str(sponsor),
    }
    if cohort is not None and not cohort_model._default_manager.filter(pk=cohort).exists():
        raise _unknown_scope(dispatcher, viewer, "Cohort", **scope)
    if (
        sponsor is not None
        and sponsor_model is not None
        and not sponsor_model._default_manager.filter(pk=sponsor).exists()
    ):
        raise _unknown_scope(dispatcher, viewer, "Sponsor", **scope)
    roster = _roster(config, cohort=cohort, sponsor=sponsor)
    report = analytics.dashboard(
        dispatcher,
        _results_of(roster.user_pks, config),
        viewer=viewer,
        roster=roster.entries,
        date_from=date_from,
        date_to=date_to,
        **scope,
    )
    dashboard = _answer(report, "analytics").output
    return {
        **scope,
        "date_range": {"from": _iso(date_from), "to": _iso(date_to)},
        "total_employees": dashboard.enrolled,
        "profiled_employees": dashboard.profiled,
        "profiled_percentage": dashboard.profiled_percentage,
        "not_profiled_count": (dashboard.enrolled or 0) - dashboard.profiled,
        "score_statistics": dashboard.score_statistics.model_dump(mode="json"),
        "track_distribution": dashboard.track_distribution,
        "top_strengths": [strength.model_dump(mode="json") for strength in dashboard.top_strengths],
        "cohort_breakdown": {
            cohort_key: {
                "cohort_name": roster.cohort_names.get(cohort_key),
                "total": figures.enrolled,
                "profiled": figures.profiled,
                "avg_aptitude": figures.average_aptitude,
                "avg_overall": figures.average_overall,
                "profiled_percentage": figures.profiled_percentage,
            }
            for cohort_key, figures in dashboard.cohort_breakdown.items()
        },
        "readiness_distribution": dashboard.readiness_distribution,
        "warnings": list(report.warnings),
    }


def _sponsor_model(config: AppSettings) -> type[Model] | None:
    """The model the enrolment's sponsor points at (``Organization`` on the platform), if it is a relation."""
    field = config.model("enrollment")._meta.get_field(config.field("enrollment", "sponsor"))
    return field.related_model if field.is_relation else None


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


__all__ = [
    "api_view",
    "cohort_analytics",
    "enterprise_analytics",
    "mentee_results",
    "recipe_recommendations",
    "student_missions",
    "talent_matches",
    "value_statement",
]
