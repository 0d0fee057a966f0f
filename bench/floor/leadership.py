"""The floor's leadership engine (leadership.yaml): academy eligibility, with the value statement built
from portfolio's rules (as the engine reads them)."""

from __future__ import annotations

from typing import Any

from . import portfolio
from .common import Answer, Facts, RuleFile, ok, said, skipped, status_reason

NAME = "leadership"
RULES = RuleFile("leadership")
ACADEMY_TRACKS = {"leadership": RULES.cite("eligibility.tracks[0]")}  # folded track → where it is written
ACADEMY_TRACKS_TEXT = "leadership"
TRACKS_CITED = RULES.cite("eligibility.tracks")
# (name as written, folded, threshold, cited)
TRAIT_THRESHOLDS = (("leadership", "leadership", 7.0, RULES.cite("eligibility.trait_thresholds.leadership")),)
SHARED_SAID = portfolio.RULES.said(
    "status",
    f"the academy sees the portfolio entry's status '{portfolio.ENTRY_STATUS}' and visibility '{portfolio.VISIBILITY}'",
)
ELIGIBLE_SAID = RULES.said("eligibility", "at least one eligibility rule matched → eligible for the academy")
NOT_ELIGIBLE_SAID = RULES.said("eligibility", "no eligibility rule matched → not eligible for the academy")
_SKIP_REASON = "leadership acts only on finished or locked results"


def _checks(recommended: str | None, traits: dict[str, float]) -> list[tuple[bool, str, Any]]:
    """Each eligibility rule: (matched, the reason in words, where it is written)."""
    checks = []
    track = (recommended or "").strip().casefold()
    if not track:
        checks.append((False, "no recommended track", TRACKS_CITED))
    else:
        cited = ACADEMY_TRACKS.get(track)
        if cited is None:
            reason = f"recommended track '{track}' is not an academy track ({ACADEMY_TRACKS_TEXT})"
            checks.append((False, reason, TRACKS_CITED))
        else:
            checks.append((True, f"recommended track '{track}' is an academy track", cited))
    folded: dict[str, tuple[str, float]] = {}
    for name, mean in traits.items():
        folded.setdefault(name.strip().casefold(), (name.strip(), mean))
    for written, trait, threshold, cited in TRAIT_THRESHOLDS:
        found = folded.get(trait)
        if found is None:
            checks.append((False, f"trait {written} is unknown (not in the behavioral profile)", cited))
        elif found[1] >= threshold:
            checks.append((True, f"trait {found[0]} {found[1]:g} is at or above {threshold:g}", cited))
        else:
            checks.append((False, f"trait {found[0]} {found[1]:g} is below {threshold:g}", cited))
    return checks


def evaluate(facts: Facts, viewer: dict[str, Any] | None, catalogs: dict[str, Any], explain: bool) -> Answer:
    """Academy eligibility and the value statement; skipped for a result that is not complete."""
    if not facts.complete:
        return skipped(status_reason(facts.status, _SKIP_REASON))
    text, reasons = portfolio.statement(facts.answers, explain)
    checks = _checks(facts.recommended, facts.traits)
    eligible = any(matched for matched, _, _ in checks)
    if explain:
        reasons.append(SHARED_SAID)
        for matched, reason, cited in checks:
            reasons.append(said(cited, f"{reason} → {'match' if matched else 'no match'}"))
        reasons.append(ELIGIBLE_SAID if eligible else NOT_ELIGIBLE_SAID)
    output = {
        "value_statement": text,
        "created_at": facts.completed_at,
        "profiler_session_id": facts.session_id,
        "status": portfolio.ENTRY_STATUS,
        "visibility": portfolio.VISIBILITY,
        "eligible": eligible,
        "eligibility_reasons": [reason for matched, reason, _ in checks if matched == eligible],
    }
    return ok(output, reasons, [])
