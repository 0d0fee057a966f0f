"""The floor's analytics engine (analytics.yaml, access.yaml's cohort_analytics): the learner's row of
a cohort's dashboards."""

from __future__ import annotations

from typing import Any

from .common import Answer, Explanation, Facts, RuleFile, access, denied, ok, said, skipped

NAME = "analytics"
VIEW = "cohort_analytics"
RULES = RuleFile("analytics")
# (below or None for the open last band, band, cited, "below 40" / "the last band")
READINESS_BANDS = tuple(
    (below, band, RULES.cite(f"readiness_bands[{index}]"), "the last band" if below is None else f"below {below:g}")
    for index, (below, band) in enumerate(
        ((40.0, "novice"), (60.0, "beginner"), (80.0, "intermediate"), (None, "advanced"))
    )
)
UNKNOWN_SAID = RULES.said("readiness_bands", "the overall score is unknown → no readiness band")


def _readiness(overall: float | None, reasons: list[Explanation], explain: bool) -> str | None:
    if overall is None:
        if explain:
            reasons.append(UNKNOWN_SAID)
        return None
    for below, band, cited, limit in READINESS_BANDS:
        if below is None or overall < below:
            if explain:
                reasons.append(said(cited, f"overall {overall:g} is {limit} → readiness {band}"))
            return band
    raise AssertionError("the last band is open")


def evaluate(facts: Facts, viewer: dict[str, Any] | None, catalogs: dict[str, Any], explain: bool) -> Answer:
    """The learner's dashboard row, for viewers cohort_analytics allows; skipped for a result that is not complete."""
    # access first, so a denied viewer learns nothing of the result
    allowed, _, reasons = access(VIEW, viewer, facts, explain)
    if not allowed:
        return denied(reasons[0])
    if not facts.complete:
        shown = "unknown" if facts.status is None else repr(facts.status)
        message = f"the result's status is {shown}; only finished or locked results count in the dashboards"
        return skipped(said(("status", None, None), message))
    cohort_id = facts.cohort_id
    output = {
        "readiness": _readiness(facts.overall, reasons, explain),
        "aptitude_score": facts.aptitude_score,
        "overall_score": facts.overall,
        "recommended_track": facts.recommended,
        "cohort_id": cohort_id,
        "cohort_ids": [] if cohort_id is None else [cohort_id],  # the sample results hold one cohort each
        "sponsor_id": facts.sponsor_id,
    }
    return ok(output, reasons, [])
