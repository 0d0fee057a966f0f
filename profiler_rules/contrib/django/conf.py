"""The app's settings: one dict, ``PROFILER_RULES``, merged over the platform's defaults.

A host writes only what differs from the platform it was built for (``reference/original-system.md``):
its rules directory, a model or field of another name, a role of another name, a relation read another way.
Read through :func:`app_settings`, which merges once and again whenever a test overrides ``PROFILER_RULES``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.signals import setting_changed
from django.db.models import Model
from django.dispatch import receiver
from django.utils.module_loading import import_string

SETTING = "PROFILER_RULES"

MIN_CELERY_CHUNK_SIZE = 1000
"""The fewest user keys a ``reevaluate --celery`` message may carry (``CELERY_CHUNK_SIZE``)."""

#: Which model holds what, as ``app_label.ModelName``.
DEFAULT_MODELS: dict[str, str] = {
    "session": "profiler.ProfilerSession",
    "result": "profiler.ProfilerResult",
    "answer": "profiler.ProfilerAnswer",
    "portfolio_item": "dashboard.PortfolioItem",
    "mission": "missions.Mission",
    "recipe": "recipes.Recipe",
    "job": "marketplace.JobPosting",
    "enrollment": "programs.Enrollment",
    "mentor_assignment": "mentorship_coordination.MenteeMentorAssignment",
    "track": "programs.Track",
    "cohort": "programs.Cohort",
    "user_role": "users.UserRole",
}

#: The field names of each model, where the platform's differ from a host's. Each key is what the app
#: reads; each value the host's field (a ``__`` path where it is reached through a relation).
DEFAULT_FIELDS: dict[str, dict[str, str]] = {
    "session": {
        "user": "user",
        "status": "status",
        "completed_at": "completed_at",
        "started_at": "started_at",
        "difficulty_selection": "difficulty_selection",
        "aptitude_score": "aptitude_score",
        "technical_exposure_score": "technical_exposure_score",
        "behavioral_profile": "behavioral_profile",
        "behavioral_responses": "behavioral_responses",
        "strengths": "strengths",
        "recommended_track_id": "recommended_track_id",
        "track_confidence": "track_confidence",
        "track_alignment": "track_alignment_percentages",
        "future_you_persona": "futureyou_persona",
        "is_locked": "is_locked",
        "anti_cheat_score": "anti_cheat_score",
        "suspicious_patterns": "suspicious_patterns",
        "device_fingerprint": "device_fingerprint",
    },
    "result": {
        "session": "session",
        "overall_score": "overall_score",
        "aptitude_score": "aptitude_score",
        "behavioral_score": "behavioral_score",
        "aptitude_breakdown": "aptitude_breakdown",
        "behavioral_traits": "behavioral_traits",
        "strengths": "strengths",
        "areas_for_growth": "areas_for_growth",
        # Stored as the platform wrote them; the mentee view shows them as they are.
        "recommended_tracks": "recommended_tracks",
        "learning_path_suggestions": "learning_path_suggestions",
        "och_mapping": "och_mapping",
    },
    "answer": {"session": "session", "answer": "answer", "category": "question__category"},
    "portfolio_item": {
        "user": "user",
        "title": "title",
        "summary": "summary",
        "item_type": "item_type",
        "status": "status",
        "visibility": "visibility",
        "session": "profiler_session_id",
        "created_at": "created_at",
        "updated_at": "updated_at",
    },
    # Catalogs: "active" names the flag that keeps a row in its catalog (None: every row counts).
    "mission": {"title": "title", "difficulty": "difficulty", "active": "is_active"},
    "recipe": {
        "title": "title",
        "skill_codes": "skill_codes",
        "usage_count": "usage_count",
        "avg_rating": "avg_rating",
        "active": "is_active",
    },
    "job": {"title": "title", "required_skills": "required_skills"},
    "enrollment": {"user": "user", "cohort": "cohort", "sponsor": "org", "status": "status"},
    "mentor_assignment": {"mentor": "mentor", "mentee": "mentee", "status": "status"},
    "track": {"key": "key", "director": "director"},
    "cohort": {"track": "track", "name": "name"},
    "user_role": {
        "user": "user",
        "role": "role__name",
        "scope": "scope",
        "scope_ref": "scope_ref",
        "active": "is_active",
    },
}

#: ``RECORDS``: whether the app records each dispatch it serves, where to (each sink a dotted path to a
#: class called without arguments, or ``{"CLASS": dotted path, "OPTIONS": {keyword arguments}}``, as
#: ``{"CLASS": "profiler_rules.core.records.JsonLinesSink", "OPTIONS": {"path": ..., "archive": ...}}``),
#: whether the records keep the protected values (anti-cheat) the report held for its viewer, and
#: ``SPOOL``: ``None`` writes each record in its request (durable, and slower: a commit per request);
#: ``{"DIR": path}`` appends it to a spool file there instead (durable too, and cheap), which a thread
#: of each process delivers to the sinks every ``FLUSH_SECONDS``, ``BATCH`` records at a time.
DEFAULT_RECORDS: dict[str, Any] = {
    "ENABLED": True,
    "SINKS": ["profiler_rules.contrib.django.records.DatabaseRecordSink"],
    "RECORD_PROTECTED": False,
    "SPOOL": None,
}
DEFAULT_SPOOL: dict[str, Any] = {"DIR": None, "FLUSH_SECONDS": 1.0, "BATCH": 500}

DEFAULTS: dict[str, Any] = {
    # None: the rules packaged with profiler-rules.
    "RULES_DIR": None,
    # Reload the rules when their directory changes (needs profiler-rules[watch]).
    "WATCH": False,
    # Which user id the rules see: "pk" or "uuid_id".
    "USER_ID": "pk",
    # The host's role names that are other words in the access rules; any other role passes as it is.
    "ROLES": {"program_director": "director", "mentee": "student"},
    # The access role of staff users (is_staff or is_superuser); None gives them nothing extra.
    "STAFF_ROLE": "admin",
    # The statuses of a session that the integrations read, and of enrollments and assignments that count.
    "COMPLETE_STATUSES": ("finished", "locked"),
    "ACTIVE_STATUS": "active",
    # The question category whose answers are the learner's identity values.
    "IDENTITY_CATEGORY": "identity_value",
    "MODELS": DEFAULT_MODELS,
    "FIELDS": DEFAULT_FIELDS,
    # Dotted paths, each replacing one part of the app (see the README's Django section).
    "RESULT_SOURCE": "profiler_rules.contrib.django.sources.ResultSource",
    "VIEWER_SOURCE": "profiler_rules.contrib.django.viewers.ViewerSource",
    "RELATIONS": {},
    # Rows per query when many learners are read (re-evaluation, dashboards).
    "CHUNK_SIZE": 500,
    # User keys per task message of `reevaluate --celery`: at least 1,000 (MIN_CELERY_CHUNK_SIZE), so that
    # the cost of a message stays a small share of the chunk it carries.
    "CELERY_CHUNK_SIZE": 2000,
    # The Celery queue the chunks go to (None: Celery's default queue, or the host's task_routes).
    "CELERY_QUEUE": None,
    # The values a new portfolio entry gets beside those the portfolio rules give: the platform's JSON
    # text columns, which its own code fills with "[]" (the app never changes them afterwards).
    "PORTFOLIO_CREATE_DEFAULTS": {"skill_tags": "[]", "evidence_files": "[]"},
    # Decision records of the dispatches the app serves (views and completion); see .records.
    "RECORDS": DEFAULT_RECORDS,
}


@dataclass(frozen=True)
class AppSettings:
    """``PROFILER_RULES`` merged over :data:`DEFAULTS`; ``MODELS`` and ``FIELDS`` merged key by key."""

    values: Mapping[str, Any]
    unknown: tuple[str, ...]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def model(self, key: str) -> type[Model]:
        """The host's model that holds ``key`` (``"session"``, ``"recipe"``, ...)."""
        return apps.get_model(self.values["MODELS"][key])

    def field(self, model: str, name: str) -> str:
        """The host's field (or ``__`` path) that holds ``name`` on the model of ``model``."""
        return self.values["FIELDS"][model][name]

    def user_key(self, user: Model) -> str:
        """The id of ``user`` as the rules see it (``USER_ID``: the pk or ``uuid_id``, as text)."""
        return str(user.pk if self.values["USER_ID"] == "pk" else getattr(user, self.values["USER_ID"]))

    def user_key_lookup(self, relation: str) -> str:
        """The lookup reading, through the foreign key ``relation`` to a user, the id the rules see."""
        return f"{relation}_id" if self.values["USER_ID"] == "pk" else f"{relation}__{self.values['USER_ID']}"

    def dotted(self, key: str) -> Callable[..., Any]:
        """The object a dotted-path setting names."""
        return import_string(self.values[key])


def _merged(given: Mapping[str, Any]) -> AppSettings:
    values = {**DEFAULTS, **given}
    values["MODELS"] = {**DEFAULT_MODELS, **given.get("MODELS", {})}
    fields = {model: dict(names) for model, names in DEFAULT_FIELDS.items()}
    for model, names in given.get("FIELDS", {}).items():
        fields.setdefault(model, {}).update(names)
    values["FIELDS"] = fields
    values["ROLES"] = {**DEFAULTS["ROLES"], **given.get("ROLES", {})}
    values["RECORDS"] = {**DEFAULT_RECORDS, **given.get("RECORDS", {})}
    return AppSettings(values, tuple(sorted(set(given) - set(DEFAULTS))))


@cache
def app_settings() -> AppSettings:
    """The app's settings, merged once per process (and again when a test changes them)."""
    given = getattr(settings, SETTING, None) or {}
    return _merged(given if isinstance(given, Mapping) else {})


@receiver(setting_changed)
def _forget_settings(*, setting: str, **_: Any) -> None:
    if setting == SETTING:
        app_settings.cache_clear()
