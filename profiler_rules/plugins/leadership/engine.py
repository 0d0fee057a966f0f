"""What the VIP Leadership Academy receives from a finished profiler: the learner's value statement, in
the shape of the original ``GET /api/v1/profiler/value-statement``, and whether they are eligible.

The statement, its status and its visibility are the portfolio entry's: this engine reads the portfolio
rules through the core (``uses_rules_of``) and builds the statement with the portfolio rules' own
method (``value_statement``), so the two can never disagree and the statement is templated in one rule file only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from importlib.resources import files
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from profiler_rules import Context, Engine, Explanation, Outcome, ProfilerResult, Rules, RuleViolation

_FROZEN = ConfigDict(frozen=True, extra="forbid")
TraitThreshold = Annotated[float, Field(ge=0, le=10)]
_ELIGIBLE = "at least one eligibility rule matched → eligible for the academy"
_NOT_ELIGIBLE = "no eligibility rule matched → not eligible for the academy"


def fold(name: str) -> str:
    """How track and trait names compare: trimmed and case-folded."""
    return name.strip().casefold()


class EligibilityRules(BaseModel):
    """The academy's eligibility rules: a learner who matches any one of them is eligible. At least one
    track or one trait threshold must be given."""

    model_config = _FROZEN

    tracks: list[
        Annotated[
            str,
            Field(
                min_length=1,
                pattern=r"\S",
                description="A track name, as the profiler recommends it.",
                examples=["leadership", "grc"],
            ),
        ]
    ] = Field(
        description="A learner whose recommended track is one of these is eligible. Tracks are matched "
        "whatever their case and surrounding spaces.",
        examples=[["leadership"], ["leadership", "grc"]],
    )
    trait_thresholds: dict[
        Annotated[str, Field(min_length=1, pattern=r"\S")],
        Annotated[
            TraitThreshold,
            Field(
                description="The lowest mean of this trait, from 0 to 10, that makes a learner eligible.",
                examples=[7],
            ),
        ],
    ] = Field(
        description="Behavioral traits and their thresholds on the profiler's 0-10 scale: a learner whose trait "
        "is at or above its threshold is eligible (exactly at the threshold is eligible). Trait names are "
        "matched whatever their case and surrounding spaces; a trait missing from the profile never matches.",
        examples=[{"leadership": 7}, {"leadership": 7, "collaboration": 8.5}],
    )

    @model_validator(mode="after")
    def _check(self) -> EligibilityRules:
        tracks, traits = self.by_track, self.by_trait  # both built now: each raises on a repeated name
        if not tracks and not traits:
            # Reported at the first of the two settings, which a content author reads first.
            raise RuleViolation("no track and no trait threshold: no learner could ever be eligible", "tracks")
        return self

    @cached_property
    def by_track(self) -> dict[str, int]:
        """Each track, trimmed and case-folded, with its position in ``tracks``."""
        index: dict[str, int] = {}
        for position, written in enumerate(self.tracks):
            track = fold(written)
            if track in index:
                raise RuleViolation(f"track '{written}' repeats '{self.tracks[index[track]]}'", "tracks", position)
            index[track] = position
        return index

    @cached_property
    def by_trait(self) -> dict[str, tuple[str, float]]:
        """Each trait, trimmed and case-folded, with its name as written and its threshold."""
        index: dict[str, tuple[str, float]] = {}
        for written, threshold in self.trait_thresholds.items():
            trait = fold(written)
            if trait in index:
                raise RuleViolation(f"trait '{written}' repeats '{index[trait][0]}'", "trait_thresholds", written)
            index[trait] = (written, threshold)
        return index

    def track_index(self, track: str) -> int | None:
        """The position in ``tracks`` of a trimmed, case-folded track, or ``None`` when it is not listed."""
        return self.by_track.get(track)

    @cached_property
    def allowed_tracks(self) -> str:
        return ", ".join(self.tracks)

    @cached_property
    def traits(self) -> tuple[tuple[str, str, float], ...]:
        """Each trait rule as (name as written, name folded, threshold), in the order of the rules."""
        return tuple((written, trait, threshold) for trait, (written, threshold) in self.by_trait.items())


class LeadershipRules(BaseModel):
    """Who is eligible for the VIP Leadership Academy. The value statement the academy receives, its
    status and its visibility are set in the portfolio rules (portfolio.yaml), not here."""

    # ``rules/leadership.yaml``, built. The docstrings and descriptions are what editors show.
    model_config = ConfigDict(frozen=True, extra="forbid", title="Leadership rules")

    eligibility: EligibilityRules


@dataclass(slots=True)
class _Check:
    """One eligibility rule applied to one result: whether it matched, in words, and where it is written.

    Not frozen: a frozen dataclass sets each field through ``object.__setattr__``, several times the
    cost, and a check lives only while its result is evaluated.
    """

    matched: bool
    reason: str
    rule: str | tuple[str | int, ...]


class LeadershipOutput(BaseModel):
    """The leadership engine's answer: the original value-statement endpoint's body, plus eligibility."""

    model_config = ConfigDict(frozen=True)

    value_statement: str
    created_at: datetime | None
    profiler_session_id: str
    status: str
    visibility: str
    eligible: bool
    eligibility_reasons: tuple[str, ...]


class LeadershipEngine(Engine):
    """Hands the learner's value statement to the VIP Leadership Academy and decides academy eligibility."""

    name = "leadership"
    report_order = 40  # built-ins: missions 10, recipes 20, portfolio 30, leadership 40, ... analytics 70
    settings_model = LeadershipRules
    default_rules_file = files("profiler_rules").joinpath("rules", "leadership.yaml")
    uses_rules_of = ("portfolio",)

    def summarize(self, output: LeadershipOutput) -> str:
        return "eligible for the academy" if output.eligible else "not eligible for the academy"

    def evaluate(self, result: ProfilerResult, rules: Rules[LeadershipRules], context: Context) -> Outcome:
        portfolio = context.rules_of("portfolio")
        # Built by the portfolio's own rules model: no plugin imports another's code.
        statement = portfolio.settings.value_statement(result, portfolio, explain=context.explain)
        entry = portfolio.settings
        checks = _checks(result, rules.settings.eligibility)
        eligible = any(check.matched for check in checks)
        # An eligible learner's reasons are the rules they met; otherwise every rule they missed, and why.
        reasons = tuple(check.reason for check in checks if check.matched == eligible)
        # The compiled validator, without Model(...)'s or model_validate's Python wrapper (a microsecond per
        # result); looked up here, not at import, so that a model built on first use stays so.
        output = LeadershipOutput.__pydantic_validator__.validate_python(
            {
                "value_statement": statement.text,
                "created_at": result.completed_at,
                "profiler_session_id": result.session_id,
                "status": entry.status,
                "visibility": entry.visibility,
                "eligible": eligible,
                "eligibility_reasons": reasons,
            }
        )
        if not context.explain:
            return Outcome(output)
        shared = portfolio.explain(
            "status",
            f"the academy sees the portfolio entry's status '{entry.status}' and visibility '{entry.visibility}'",
        )
        return Outcome(output, (*statement.explain, shared, *_explanations(rules, checks, eligible)))


def _checks(result: ProfilerResult, eligibility: EligibilityRules) -> list[_Check]:
    """Every eligibility rule applied to the result, tracks first, then traits as the rules list them."""
    checks = []
    if eligibility.tracks:
        checks.append(_track(result.recommended_track, eligibility))
    traits = _folded_traits(result.behavioral_profile.traits)
    for written, trait, threshold in eligibility.traits:
        checks.append(_trait(written, threshold, traits.get(trait)))
    return checks


def _track(recommended: str | None, eligibility: EligibilityRules) -> _Check:
    track = fold(recommended or "")
    if not track:
        return _Check(False, "no recommended track", "eligibility.tracks")
    index = eligibility.track_index(track)
    if index is None:
        reason = f"recommended track '{track}' is not an academy track ({eligibility.allowed_tracks})"
        return _Check(False, reason, "eligibility.tracks")
    return _Check(True, f"recommended track '{track}' is an academy track", ("eligibility", "tracks", index))


def _folded_traits(traits: Mapping[str, float]) -> dict[str, tuple[str, float]]:
    # Of two names that fold alike ("Leadership", "leadership"), the first in the profile counts: read
    # in reverse, the first is written last. Only lookups use this dict, so its order does not matter.
    return {fold(name): (name.strip(), mean) for name, mean in reversed(traits.items())}


def _trait(written: str, threshold: float, found: tuple[str, float] | None) -> _Check:
    rule = ("eligibility", "trait_thresholds", written)
    if found is None:
        return _Check(False, f"trait {written.strip()} is unknown (not in the behavioral profile)", rule)
    name, mean = found
    if mean >= threshold:
        return _Check(True, f"trait {name} {mean:g} is at or above {threshold:g}", rule)
    return _Check(False, f"trait {name} {mean:g} is below {threshold:g}", rule)


def _explanations(rules: Rules[LeadershipRules], checks: list[_Check], eligible: bool) -> list[Explanation]:
    """One explanation per rule applied, at its own line, then the decision."""
    explain = [
        rules.explain(check.rule, f"{check.reason} → {'match' if check.matched else 'no match'}") for check in checks
    ]
    explain.append(rules.explain("eligibility", _ELIGIBLE if eligible else _NOT_ELIGIBLE))
    return explain
