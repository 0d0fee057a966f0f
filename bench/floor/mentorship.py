"""The floor's mentorship engine (mentorship.yaml, access.yaml's mentee_view): a mentor's view of a
learner's results, with the anti-cheat signals for the grants that show them."""

from __future__ import annotations

from typing import Any

from .common import Answer, Explanation, Facts, RuleFile, access, denied, number, ok, said, skipped

NAME = "mentorship"
VIEW = "mentee_view"
RULES = RuleFile("mentorship")
REVIEW_AT = 50.0
PATTERNS = {
    "too_fast": "Answered faster than a careful reader could.",
    "identical_responses": "Gave the same answer to many questions in a row.",
}
PATTERN_SAID = {
    name: RULES.said(f"anti_cheat.patterns.{name}", f"suspicious pattern {name} → shown with its meaning: {meaning}")
    for name, meaning in PATTERNS.items()
}
PATTERNS_CITED = RULES.cite("anti_cheat.patterns")
NONE_SAID = RULES.said("anti_cheat", "the result carries no anti-cheat signals")
REVIEW_SAID = RULES.said(
    "anti_cheat.review_at", f"anti-cheat score at or above the review threshold {REVIEW_AT:g} → review"
)
BELOW_SAID = RULES.said(
    "anti_cheat.review_at", f"anti-cheat score below the review threshold {REVIEW_AT:g} → no review"
)
UNKNOWN_SAID = RULES.said(
    "anti_cheat.review_at", f"anti-cheat score unknown against the review threshold {REVIEW_AT:g} → no review"
)


def _anti_cheat(signals: dict[str, Any] | None, reasons: list[Explanation] | None) -> dict[str, Any] | None:
    """The anti-cheat signals as the view shows them, explained into ``reasons`` when asked."""
    if signals is None:
        if reasons is not None:
            reasons.append(NONE_SAID)
        return None
    score = number(signals.get("score"))
    needs_review = score is not None and score >= REVIEW_AT
    patterns = signals.get("suspicious_patterns") or ()
    if reasons is not None:
        reasons.append(REVIEW_SAID if needs_review else BELOW_SAID if score is not None else UNKNOWN_SAID)
        for name in dict.fromkeys(patterns):
            known = PATTERN_SAID.get(name)
            reasons.append(
                known
                if known is not None
                else said(PATTERNS_CITED, f"suspicious pattern {name} has no meaning in the rules → shown without one")
            )
    return {
        "score": score,
        "needs_review": needs_review,
        "suspicious_patterns": [{"pattern": name, "meaning": PATTERNS.get(name)} for name in patterns],
        "device_fingerprint": signals.get("device_fingerprint"),
    }


def evaluate(facts: Facts, viewer: dict[str, Any] | None, catalogs: dict[str, Any], explain: bool) -> Answer:
    """The mentee view, for viewers mentee_view allows; skipped for a result that is not complete."""
    # access first, so a denied viewer learns nothing of the result
    allowed, details, reasons = access(VIEW, viewer, facts, explain)
    if not allowed:
        return denied(reasons[0])
    if not facts.complete:
        shown = "unknown" if facts.status is None else repr(facts.status)
        reason = f"the result's status is {shown}; there are no profiler results to show until it is finished or locked"
        return skipped(said(("status", None, None), reason))
    get = facts.raw.get
    view = {
        "mentee_id": facts.user_id,
        "session_id": facts.session_id,
        "status": facts.status,
        "completed_at": facts.completed_at,
        "is_locked": facts.status == "locked",
        "scores": {"overall": facts.overall, "aptitude": facts.aptitude_score, "behavioral": facts.behavioral_score},
        "recommended_track": {"track": facts.recommended, "confidence": number(get("track_confidence"))},
        "track_alignment": dict(facts.alignment),
        "strengths": facts.strengths,
        "areas_for_growth": list(get("areas_for_growth") or ()),
        "behavioral_profile": {
            "traits": dict(facts.traits),
            "strengths": facts.profile_strengths,
            "areas_for_growth": facts.areas,
        },
        "future_you_persona": get("future_you_persona"),
        "aptitude_breakdown": dict(facts.breakdown),
    }
    if "anti_cheat" in details:
        view["anti_cheat"] = _anti_cheat(get("anti_cheat"), reasons if explain else None)
    return ok(view, reasons, [])
