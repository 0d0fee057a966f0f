"""The mentee view of the original ``GET /profiler/mentees/<id>/results``, with its access holes closed.

Access comes from ``access.yaml`` (view ``mentee_view``), deny by default. The anti-cheat signals are
part of a different output model, built only when the grant shows ``anti_cheat``: a reduced view has no
``anti_cheat`` field at all, and no explanation or log line of it names a signal.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from importlib.resources import files
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from profiler_rules import Context, Engine, Explanation, Outcome, ProfilerResult, Rules, Subject, percentage_of

VIEW = "mentee_view"
ANTI_CHEAT = "anti_cheat"


class AsValidated:
    """Marks an output field filled from the validated, read-only result: pydantic takes the value as it
    is, without checking or copying it again, and still serialises and documents it by its declared type.

    pydantic's ``SkipValidation`` skips the check as well, but serialises through a Python function, which
    costs more per report than the validation it saves. Here pydantic's default lax mode takes any value,
    while the strict schema keeps the declared type: serialisation follows it in pydantic's compiled core,
    and so do the JSON schema and any strict validation.
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.lax_or_strict_schema(lax_schema=core_schema.any_schema(), strict_schema=handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(schema["strict_schema"])


class AntiCheatRules(BaseModel):
    """Anti-cheat signals, shown only to viewers whose grant shows anti_cheat."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    review_at: float = Field(
        ge=0,
        le=100,
        description="An anti-cheat score (0-100, higher is more suspicious) at or above this marks the result "
        "as needing review.",
        examples=[50],
    )
    patterns: dict[
        Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")],
        Annotated[
            str,
            Field(
                min_length=1,
                description="The pattern's meaning.",
                examples=["Answered faster than a careful reader could."],
            ),
        ],
    ] = Field(
        description="What each suspicious pattern the profiler records means, in words a mentor understands.",
        examples=[{"too_fast": "Answered faster than a careful reader could."}],
    )

    # The messages below depend on the rules only: they are written once, not for every result.
    @cached_property
    def review_messages(self) -> dict[str, str]:
        """The review decision in words, for a score at or above the threshold (``review``), below it
        (``below``) or unknown (``unknown``)."""
        threshold = f"the review threshold {self.review_at:g}"
        return {
            "review": f"anti-cheat score at or above {threshold} → review",
            "below": f"anti-cheat score below {threshold} → no review",
            "unknown": f"anti-cheat score unknown against {threshold} → no review",
        }

    @cached_property
    def pattern_explanations(self) -> dict[str, tuple[tuple[str, str, str], str]]:
        """Each known pattern's rule path and the message showing its meaning."""
        return {
            name: (("anti_cheat", "patterns", name), f"suspicious pattern {name} → shown with its meaning: {meaning}")
            for name, meaning in self.patterns.items()
        }


class MentorshipRules(BaseModel):
    """How the mentee view presents anti-cheat signals to viewers allowed to see them. Who may see the
    view, and its anti-cheat details, is decided in access.yaml."""

    # ``rules/mentorship.yaml``, built. The docstrings and descriptions are what editors show.
    model_config = ConfigDict(frozen=True, extra="forbid", title="Mentorship rules")
    anti_cheat: AntiCheatRules


class Scores(BaseModel):
    model_config = ConfigDict(frozen=True)
    overall: float | None
    aptitude: float | None
    behavioral: float | None


class RecommendedTrack(BaseModel):
    model_config = ConfigDict(frozen=True)
    track: str | None
    confidence: float | None


class BehavioralProfile(BaseModel):
    model_config = ConfigDict(frozen=True)
    traits: Annotated[dict[str, float], AsValidated()]
    strengths: Annotated[tuple[str, ...], AsValidated()]
    areas_for_growth: Annotated[tuple[str, ...] | None, AsValidated()]


class SuspiciousPattern(BaseModel):
    model_config = ConfigDict(frozen=True)
    pattern: str
    meaning: str | None


class AntiCheatView(BaseModel):
    model_config = ConfigDict(frozen=True)
    score: float | None
    needs_review: bool
    suspicious_patterns: tuple[SuspiciousPattern, ...]
    device_fingerprint: str | None


class MenteeView(BaseModel):
    """What a mentor, coach or admin sees of a learner's results, without anti-cheat signals."""

    model_config = ConfigDict(frozen=True)

    mentee_id: str
    session_id: str
    status: str | None
    completed_at: datetime | None
    is_locked: bool
    scores: Scores
    recommended_track: RecommendedTrack
    track_alignment: Annotated[dict[str, float], AsValidated()]
    strengths: Annotated[tuple[str, ...], AsValidated()]
    areas_for_growth: Annotated[tuple[str, ...], AsValidated()]
    behavioral_profile: BehavioralProfile
    future_you_persona: Annotated[dict[str, Any] | None, AsValidated()]
    aptitude_breakdown: Annotated[dict[str, float | None], AsValidated()]  # built here from validated entries


class MenteeViewWithAntiCheat(MenteeView):
    """The mentee view for viewers whose grant shows ``anti_cheat``."""

    anti_cheat: AntiCheatView | None


class MentorshipEngine(Engine):
    """Shows a learner's results to those the access rules allow, anti-cheat only to some."""

    name = "mentorship"
    report_order = 60  # built-ins: missions 10, recipes 20, portfolio 30, leadership 40, ... analytics 70
    settings_model = MentorshipRules
    default_rules_file = files("profiler_rules").joinpath("rules", "mentorship.yaml")
    access_views = (VIEW,)
    requires_complete = False  # access is decided first, so a denied viewer learns nothing of the result

    def summarize(self, output: MenteeView) -> str:
        return "mentee view, anti-cheat included" if isinstance(output, MenteeViewWithAntiCheat) else "mentee view"

    def evaluate(self, result: ProfilerResult, rules: Rules[MentorshipRules], context: Context) -> Outcome:
        decision = context.check_access(VIEW, Subject.of_result(result))
        if not decision.allowed:
            return Outcome.denied(decision.explain[0])
        if not result.is_complete:
            consequence = "there are no profiler results to show until it is finished or locked"
            return Outcome.skipped(Explanation.of_status(result, consequence))
        # One validation builds the view and its nested models from plain dicts, in pydantic's core.
        fields = _view_fields(result)
        if not decision.shows(ANTI_CHEAT):
            # Not even a mention: the reduced view must not tell the signals apart from their absence.
            # The compiled validator, without Model(...)'s or model_validate's Python wrapper (a microsecond per
            # result); looked up here, not at import, so that a model built on first use stays so.
            return Outcome(MenteeView.__pydantic_validator__.validate_python(fields), decision.explain)
        settings = rules.settings.anti_cheat
        fields["anti_cheat"] = _anti_cheat(result, settings)
        view = MenteeViewWithAntiCheat.__pydantic_validator__.validate_python(fields)
        if not context.explain:
            return Outcome(view)
        return Outcome(view, (*decision.explain, *_anti_cheat_explanations(result, rules, settings)))


def _view_fields(result: ProfilerResult) -> dict[str, Any]:
    scores = result.scores
    profile = result.behavioral_profile
    return {
        "mentee_id": result.user_id,
        "session_id": result.session_id,
        "status": result.status,
        "completed_at": result.completed_at,
        "is_locked": result.status == "locked",
        "scores": {"overall": scores.overall, "aptitude": scores.aptitude, "behavioral": scores.behavioral},
        "recommended_track": {"track": result.recommended_track, "confidence": result.track_confidence},
        # The result is read-only, so the view shares its containers rather than copying them.
        "track_alignment": result.track_alignment,
        "strengths": result.strengths,
        "areas_for_growth": result.areas_for_growth,
        "behavioral_profile": {
            "traits": profile.traits,
            "strengths": profile.strengths,
            "areas_for_growth": profile.areas_for_growth,
        },
        "future_you_persona": result.future_you_persona,
        "aptitude_breakdown": {category: percentage_of(value) for category, value in result.aptitude_breakdown.items()},
    }


def _anti_cheat(result: ProfilerResult, settings: AntiCheatRules) -> dict[str, Any] | None:
    """The fields of the anti-cheat view, for viewers whose grant shows it."""
    signals = result.anti_cheat
    if signals is None:
        return None
    score = signals.score
    meanings = settings.patterns
    return {
        "score": score,
        "needs_review": score is not None and score >= settings.review_at,
        "suspicious_patterns": [
            {"pattern": name, "meaning": meanings.get(name)} for name in signals.suspicious_patterns
        ],
        "device_fingerprint": signals.device_fingerprint,
    }


def _anti_cheat_explanations(
    result: ProfilerResult, rules: Rules[MentorshipRules], settings: AntiCheatRules
) -> tuple[Explanation, ...]:
    """Why the anti-cheat view says what it says: the review threshold, then each suspicious pattern's meaning."""
    signals = result.anti_cheat
    if signals is None:
        return (rules.explain("anti_cheat", "the result carries no anti-cheat signals"),)
    score = signals.score
    verdict = "unknown" if score is None else "review" if score >= settings.review_at else "below"
    explain = [rules.explain("anti_cheat.review_at", settings.review_messages[verdict])]
    for name in dict.fromkeys(signals.suspicious_patterns):
        known = settings.pattern_explanations.get(name)
        if known is not None:
            explain.append(rules.explain(*known))
        else:
            message = f"suspicious pattern {name} has no meaning in the rules → shown without one"
            explain.append(rules.explain("anti_cheat.patterns", message))
    return tuple(explain)
