"""The mentee view of the original ``GET /profiler/mentees/<id>/results``, with its access holes closed.

Access comes from ``access.yaml`` (view ``mentee_view``), deny by default. The anti-cheat signals are
part of a different output model, built only when the grant shows ``anti_cheat``: a reduced view has no
``anti_cheat`` field at all, and no explanation or log line of it names a signal.
"""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from profiler_rules import Context, Engine, Explanation, Outcome, ProfilerResult, Rules, Subject, percentage_of

VIEW = "mentee_view"
ANTI_CHEAT = "anti_cheat"


class AntiCheatRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    review_at: Annotated[float, Field(ge=0, le=100)]
    patterns: dict[str, str]


class MentorshipRules(BaseModel):
    """``rules/mentorship.yaml``, built."""

    model_config = ConfigDict(frozen=True, extra="forbid")
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
    traits: dict[str, float]
    strengths: tuple[str, ...]
    areas_for_growth: tuple[str, ...] | None


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
    track_alignment: dict[str, float]
    strengths: tuple[str, ...]
    areas_for_growth: tuple[str, ...]
    behavioral_profile: BehavioralProfile
    future_you_persona: dict[str, Any] | None
    aptitude_breakdown: dict[str, float | None]


class MenteeViewWithAntiCheat(MenteeView):
    """The mentee view for viewers whose grant shows ``anti_cheat``."""

    anti_cheat: AntiCheatView | None


class MentorshipEngine(Engine):
    """Shows a learner's results to those the access rules allow, anti-cheat only to some."""

    name = "mentorship"
    rules_model = MentorshipRules
    schema_file = files(__package__).joinpath("schema.json")
    default_rules_file = files("profiler_rules").joinpath("rules", "mentorship.yaml")
    access_views = (VIEW,)
    requires_complete = False  # access is decided first, so a denied viewer learns nothing of the result

    def summarize(self, output: MenteeView) -> str:
        return "mentee view, anti-cheat included" if isinstance(output, MenteeViewWithAntiCheat) else "mentee view"

    def evaluate(self, result: ProfilerResult, rules: Rules[MentorshipRules], context: Context) -> Outcome:
        decision = context.check_access(VIEW, Subject(result.user_id, result.cohort_id, result.sponsor_id))
        if not decision.allowed:
            return Outcome.denied(decision.explain[0])
        if not result.is_complete:
            consequence = "there are no profiler results to show until it is finished or locked"
            return Outcome.skipped(Explanation.of_status(result, consequence))
        fields = _view_fields(result)
        if not decision.shows(ANTI_CHEAT):
            # Not even a mention: the reduced view must not tell the signals apart from their absence.
            return Outcome(MenteeView(**fields), decision.explain)
        anti_cheat, because = _anti_cheat(result, rules)
        return Outcome(MenteeViewWithAntiCheat(**fields, anti_cheat=anti_cheat), (*decision.explain, *because))


def _view_fields(result: ProfilerResult) -> dict[str, Any]:
    profile = result.behavioral_profile
    return {
        "mentee_id": result.user_id,
        "session_id": result.session_id,
        "status": result.status,
        "completed_at": result.completed_at,
        "is_locked": result.status == "locked",
        "scores": Scores(**result.scores.model_dump()),
        "recommended_track": RecommendedTrack(track=result.recommended_track, confidence=result.track_confidence),
        "track_alignment": dict(result.track_alignment),
        "strengths": result.strengths,
        "areas_for_growth": result.areas_for_growth,
        "behavioral_profile": BehavioralProfile(
            traits=dict(profile.traits), strengths=profile.strengths, areas_for_growth=profile.areas_for_growth
        ),
        "future_you_persona": result.future_you_persona,
        "aptitude_breakdown": {category: percentage_of(value) for category, value in result.aptitude_breakdown.items()},
    }


def _anti_cheat(
    result: ProfilerResult, rules: Rules[MentorshipRules]
) -> tuple[AntiCheatView | None, tuple[Explanation, ...]]:
    """The anti-cheat view, for viewers whose grant shows it, and its explanations: the review threshold,
    then each suspicious pattern's meaning."""
    settings = rules.settings.anti_cheat
    signals = result.anti_cheat
    if signals is None:
        return None, (rules.explain("anti_cheat", "the result carries no anti-cheat signals"),)
    needs_review = signals.score is not None and signals.score >= settings.review_at
    patterns = tuple(
        SuspiciousPattern(pattern=name, meaning=settings.patterns.get(name)) for name in signals.suspicious_patterns
    )
    view = AntiCheatView(
        score=signals.score,
        needs_review=needs_review,
        suspicious_patterns=patterns,
        device_fingerprint=signals.device_fingerprint,
    )
    verdict = "at or above" if needs_review else "below" if signals.score is not None else "unknown against"
    message = f"anti-cheat score {verdict} the review threshold {settings.review_at:g} → {'review' if needs_review else 'no review'}"
    explain = [rules.explain("anti_cheat.review_at", message)]
    for name in dict.fromkeys(signals.suspicious_patterns):
        if name in settings.patterns:
            message = f"suspicious pattern {name} → shown with its meaning: {settings.patterns[name]}"
            explain.append(rules.explain(("anti_cheat", "patterns", name), message))
        else:
            message = f"suspicious pattern {name} has no meaning in the rules → shown without one"
            explain.append(rules.explain("anti_cheat.patterns", message))
    return view, tuple(explain)
