"""Talent matching: the jobs of a catalog scored on track alignment, skills, level and behavioral fit.

The original platform shipped only a placeholder (``matches: []``) and a planned design: a match score of
0.70 track alignment + 0.20 skill overlap + 0.05 level + 0.05 behavioral fit, a 60 % minimum, best first.
This engine builds that design with every weight, the minimum, the levels and the difficulty mapping in
the rules. Each part is 0-100. A score the learner does not have (a track without alignment, a skill
missing from the breakdown or with no known score) counts 0 for matching: a job can not be matched on
what is unknown, and the explanation says which scores were unknown.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from functools import cached_property
from importlib.resources import files
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from profiler_rules import (
    Context,
    Engine,
    Explanation,
    ItemId,
    Outcome,
    ProfilerResult,
    Rules,
    RuleViolation,
    name_key,
    percentage_of,
)

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_SUM_TOLERANCE = 1e-9
Weight = Annotated[float, Field(ge=0, le=1)]
Score = Annotated[float, Field(ge=0, le=100)]
NonBlank = Annotated[str, Field(pattern=r"\S")]
PARTS = ("track", "skills", "level", "behavioral")
"""The parts of a match score, in the order they are weighted, shown and explained."""
PART_NAMES = {
    "track": "the learner's alignment with the job's track",
    "skills": "the learner's average aptitude over the job's required skills",
    "level": "how close the learner's level is to the job's",
    "behavioral": "the share of the job's culture-fit traits the learner shows",
}
"""Each part in words, for the explanations."""


def fold(text: str) -> str:
    """How track keys, levels and difficulties compare: trimmed and case-folded, whole strings."""
    return text.strip().casefold()


class Weights(BaseModel):
    """How much each part counts towards a job's match score; together they make 1."""

    model_config = _FROZEN

    track: Weight
    skills: Weight
    level: Weight
    behavioral: Weight

    def values(self) -> tuple[float, float, float, float]:
        """The weights in the order of :data:`PARTS`."""
        return (self.track, self.skills, self.level, self.behavioral)


class MarketplaceRules(BaseModel):
    """``rules/marketplace.yaml``, built and cross-checked."""

    model_config = _FROZEN

    weights: Weights
    minimum_score: Score
    levels: list[NonBlank]
    difficulty_levels: dict[str, NonBlank]
    level_scores: list[Score]
    behavioral_cutoff: Annotated[float, Field(ge=0, le=10)]

    @model_validator(mode="after")
    def _check(self) -> MarketplaceRules:
        total = math.fsum(self.weights.values())
        if abs(total - 1) > _SUM_TOLERANCE:
            raise RuleViolation(f"the weights add up to {total:.10g}, not 1", "weights")
        self.by_difficulty  # noqa: B018 - builds both indexes, raising on a repeated name or an unknown level
        self._check_level_scores()
        return self

    @cached_property
    def by_level(self) -> dict[str, int]:
        """Each level, trimmed and case-folded, with its place in ``levels``."""
        index: dict[str, int] = {}
        for position, written in enumerate(self.levels):
            level = fold(written)
            if level in index:
                raise RuleViolation(f"level '{written}' repeats '{self.levels[index[level]]}'", "levels", position)
            index[level] = position
        return index

    @cached_property
    def by_difficulty(self) -> dict[str, tuple[str, int]]:
        """Each difficulty, trimmed and case-folded, with its name as written and its level's place."""
        index: dict[str, tuple[str, int]] = {}
        for written, level in self.difficulty_levels.items():
            difficulty = fold(written)
            if difficulty in index:
                raise RuleViolation(
                    f"difficulty '{written}' repeats '{index[difficulty][0]}'", "difficulty_levels", written
                )
            place = self.by_level.get(fold(level))
            if place is None:
                message = f"'{level}' is not one of the levels ({self.allowed_levels})"
                raise RuleViolation(message, "difficulty_levels", written)
            index[difficulty] = (written, place)
        return index

    def _check_level_scores(self) -> None:
        for index in range(1, len(self.level_scores)):
            nearer, further = self.level_scores[index - 1], self.level_scores[index]
            if further > nearer:
                message = f"a level further away can not score more: {further:g} is above {nearer:g}"
                raise RuleViolation(message, "level_scores", index)

    def difficulty(self, selection: str) -> tuple[str, int] | None:
        """For a folded difficulty selection: the difficulty as written in the rules and its level's index."""
        return self.by_difficulty.get(selection)

    def level_index(self, level: str) -> int | None:
        """The place of a folded level in the ordered levels, ``None`` when it is not a level."""
        return self.by_level.get(level)

    def level_score(self, learner: int, job: int) -> float:
        """The level part for two levels' places: by steps apart, 0 beyond the listed scores."""
        steps = abs(learner - job)
        return self.level_scores[steps] if steps < len(self.level_scores) else 0.0

    @cached_property
    def weight_values(self) -> tuple[float, float, float, float]:
        """The weights in the order of the parts: track, skills, level, behavioral."""
        return self.weights.values()

    @cached_property
    def formula(self) -> str:
        """The weighted sum in words: ``0.7 × track + 0.2 × skills + …``."""
        return " + ".join(f"{weight:g} × {part}" for part, weight in zip(PARTS, self.weights.values(), strict=True))

    @cached_property
    def allowed_levels(self) -> str:
        return ", ".join(self.levels)

    @cached_property
    def allowed_difficulties(self) -> str:
        return ", ".join(self.difficulty_levels)


class Job(BaseModel):
    """One item of the ``jobs`` catalog.

    ``job_level`` may be any text: catalogs are validated without the rules, which hold the levels, so a
    level that is not one of them is found when a result is matched (its level part is 0, with a warning).
    """

    model_config = _FROZEN

    id: ItemId
    title: str
    track_key: NonBlank
    required_skills: tuple[NonBlank, ...] = ()
    job_level: str
    culture_fit: tuple[NonBlank, ...] = ()

    # Folded once per catalog item, when first matched, rather than again for every result.
    @cached_property
    def track(self) -> str:
        """The track key, folded."""
        return fold(self.track_key)

    @cached_property
    def skills(self) -> tuple[tuple[str, str], ...]:
        """Each required skill once (a skill written twice, in any case, counts once): as written
        (trimmed) and its category key."""
        skills: dict[str, str] = {}
        for skill in self.required_skills:
            skills.setdefault(name_key(skill), skill.strip())
        return tuple((written, key) for key, written in skills.items())

    @cached_property
    def level(self) -> str:
        """The job level, folded."""
        return fold(self.job_level)

    @cached_property
    def culture(self) -> tuple[str, ...]:
        """The culture-fit traits, folded, each once."""
        return tuple(dict.fromkeys(name_key(trait) for trait in self.culture_fit))


class Components(BaseModel):
    """A job's four parts, each 0-100, rounded to 2 places."""

    model_config = ConfigDict(frozen=True)

    track: float
    skills: float
    level: float
    behavioral: float


class JobMatch(BaseModel):
    """A job scoring at least the minimum."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    title: str
    match_score: float
    components: Components


class MarketplaceOutput(BaseModel):
    """The marketplace engine's answer. ``matches`` is ``None`` when the host gave no jobs catalog."""

    model_config = ConfigDict(frozen=True)

    profiler_complete: bool
    recommended_track: str | None
    total_jobs_considered: int
    matches: tuple[JobMatch, ...] | None


def _first_by_key(pairs: Iterable[tuple[str, float | None]], key: Callable[[str], str]) -> dict[str, float | None]:
    """Pairs keyed by ``key(name)``; when two names compare alike, the first one written counts."""
    found: dict[str, float | None] = {}
    for name, value in pairs:
        found.setdefault(key(name), value)
    return found


class _Matching:
    """One result matched against the jobs: its scores, explanations and warnings, in a stable order.

    What the result says is folded once here, so that scoring a job is dictionary look-ups only.
    """

    def __init__(self, result: ProfilerResult, rules: Rules[MarketplaceRules]) -> None:
        self.rules = rules
        self.settings = rules.settings
        self.explain: list[Explanation] = []
        self.warnings: list[str] = []
        self._noted: set[tuple[str, str]] = set()
        for part, weight in zip(PARTS, self.settings.weight_values, strict=True):
            message = f"{PART_NAMES[part]} → counts {weight:g} of the match score"
            self.explain.append(rules.explain(("weights", part), message))
        self.level = self._learner_level(result.difficulty_selection)
        self.alignment = _first_by_key(result.track_alignment.items(), fold)
        breakdown = ((name, percentage_of(value)) for name, value in result.aptitude_breakdown.items())
        self.aptitude = _first_by_key(breakdown, name_key)
        self.shown = self._shown_traits(result)
        self._traits = result.behavioral_profile.traits

    def _learner_level(self, raw: str | None) -> int | None:
        settings = self.settings
        selection = fold(raw) if raw else ""
        found = settings.difficulty(selection) if selection else None
        if found is not None:
            written, index = found
            message = f"difficulty '{selection}' is the job level '{settings.levels[index]}'"
            self.explain.append(self.rules.explain(("difficulty_levels", written), message))
            return index
        if not selection:
            reason = "the result has no difficulty selection"
        else:
            reason = f"difficulty_selection {raw!r} is not a known difficulty"
            self.warnings.append(
                f"{reason} (allowed: {settings.allowed_difficulties}); the level part is 0 for every job"
            )
        self.explain.append(self.rules.explain("difficulty_levels", f"{reason}: the level part is 0 for every job"))
        return None

    def _shown_traits(self, result: ProfilerResult) -> frozenset[str]:
        profile = result.behavioral_profile
        cutoff = self.settings.behavioral_cutoff
        strong = (trait for trait, mean in profile.traits.items() if mean >= cutoff)
        return frozenset(name_key(trait) for trait in (*result.strengths, *profile.strengths, *strong))

    def _note(self, what: tuple[str, str], rule: str, message: str) -> None:
        """Explain an unknown score once per result, however many jobs ask for it."""
        if what not in self._noted:
            self._noted.add(what)
            self.explain.append(self.rules.explain(rule, message))

    def track(self, job: Job) -> float:
        score = self.alignment.get(job.track)
        if score is None:
            message = f"the learner has no alignment for track '{job.track_key.strip()}': it counts 0 for matching"
            self._note(("track", job.track), "weights.track", message)
            return 0.0
        return score

    def skills(self, job: Job) -> float:
        if not job.skills:
            return 100.0
        return math.fsum(self._skill(written, key) for written, key in job.skills) / len(job.skills)

    def _skill(self, written: str, key: str) -> float:
        if key not in self.aptitude:
            message = f"skill '{written}' is not in the aptitude breakdown: it counts 0 for matching"
            self._note(("skill", key), "weights.skills", message)
            return 0.0
        score = self.aptitude[key]
        if score is None:
            message = f"skill '{written}' has no known score: unknown counts 0 for matching"
            self._note(("skill", key), "weights.skills", message)
            return 0.0
        return score

    def level_part(self, job: Job) -> float:
        index = self.settings.level_index(job.level)
        if index is None:
            allowed = self.settings.allowed_levels
            self.warnings.append(
                f"job {job.id!r} has job_level {job.job_level!r}, which is not a level (allowed: {allowed}); its level part is 0"
            )
            self.explain.append(
                self.rules.explain(
                    "levels", f"job {job.id} has job_level '{job.job_level}', which is not a level: its level part is 0"
                )
            )
            return 0.0
        if self.level is None:
            return 0.0
        self._explain_level(self.level, index)
        return self.settings.level_score(self.level, index)

    def _explain_level(self, learner_level: int, job_level: int) -> None:
        """Explain the learner's place in the levels once, and the score of each job level once."""
        settings, learner = self.settings, self.settings.levels[learner_level]
        if ("levels", "") not in self._noted:
            self._noted.add(("levels", ""))
            message = (
                f"the learner's level '{learner}' is step {learner_level + 1} of {settings.allowed_levels} "
                "→ a job's level part goes by how many steps apart their levels are"
            )
            self.explain.append(self.rules.explain("levels", message))
        level = settings.levels[job_level]
        if ("level", level) in self._noted:
            return
        self._noted.add(("level", level))
        steps = abs(learner_level - job_level)
        apart = f"job level '{level}' is {steps} step{'' if steps == 1 else 's'} from the learner's '{learner}'"
        if steps < len(settings.level_scores):
            message = f"{apart} → level part {settings.level_scores[steps]:g}"
            self.explain.append(self.rules.explain(("level_scores", steps), message))
        else:
            message = f"{apart}, further apart than the level scores list → level part 0"
            self.explain.append(self.rules.explain("level_scores", message))

    def behavioral(self, job: Job) -> float:
        if not job.culture:
            return 100.0
        self._explain_cutoff()
        return 100 * sum(trait in self.shown for trait in job.culture) / len(job.culture)

    def _explain_cutoff(self) -> None:
        """Which trait scores count as shown, once per result, when a job asks for culture fit."""
        if ("behavioral_cutoff", "") in self._noted or not self._traits:
            return
        self._noted.add(("behavioral_cutoff", ""))
        cutoff = self.settings.behavioral_cutoff
        shown = ", ".join(f"{trait} {mean:g}" for trait, mean in self._traits.items() if mean >= cutoff) or "none"
        below = ", ".join(f"{trait} {mean:g}" for trait, mean in self._traits.items() if mean < cutoff) or "none"
        message = f"traits at or above the behavioral cutoff {cutoff:g} → shown: {shown}; below it → not shown: {below}"
        self.explain.append(self.rules.explain("behavioral_cutoff", message))

    def score(self, job: Job) -> tuple[float, tuple[float, ...]]:
        """The job's match score and its parts, rounded to 2 places."""
        parts = (self.track(job), self.skills(job), self.level_part(job), self.behavioral(job))
        total = math.fsum(weight * part for weight, part in zip(self.settings.weight_values, parts, strict=True))
        # The minimum is compared with the rounded score, so a job shown as 60.0 is always a match.
        return round(total, 2), tuple(round(part, 2) for part in parts)

    def matches(self, catalog: tuple[Job, ...]) -> tuple[JobMatch, ...]:
        minimum = self.settings.minimum_score
        scored = [(*self.score(job), job) for job in catalog]
        kept = sorted((row for row in scored if row[0] >= minimum), key=lambda row: (-row[0], row[2].id))
        for score, parts, job in kept:
            self.explain.append(self.rules.explain("weights", self._because(job, score, parts)))
        below = len(scored) - len(kept)
        message = f"{below} of {len(scored)} job(s) scored below the minimum {minimum:g} and are not shown"
        self.explain.append(self.rules.explain("minimum_score", message))
        return tuple(
            JobMatch(
                job_id=job.id,
                title=job.title,
                match_score=score,
                components=Components(**dict(zip(PARTS, parts, strict=True))),
            )
            for score, parts, job in kept
        )

    def _because(self, job: Job, score: float, values: tuple[float, ...]) -> str:
        pairs = zip(PARTS, self.settings.weight_values, values, strict=True)
        terms = " + ".join(f"{weight:g} × {part} {value:g}" for part, weight, value in pairs)
        return f"job {job.id} '{job.title}': {terms} = {score:g}, at least the minimum {self.settings.minimum_score:g} → match"


class MarketplaceEngine(Engine):
    """Scores the jobs of a catalog against a learner's result and keeps those at or above the minimum."""

    name = "marketplace"
    rules_model = MarketplaceRules
    schema_file = files(__package__).joinpath("schema.json")
    default_rules_file = files("profiler_rules").joinpath("rules", "marketplace.yaml")
    catalogs = {"jobs": Job}
    requires_complete = False  # an incomplete result answers "profiler_complete: false", as the original did

    def summarize(self, output: MarketplaceOutput) -> str:
        if not output.profiler_complete:
            return "no matching until the profiler is complete"
        if output.matches is None:
            return "no jobs catalog given"
        return f"{len(output.matches)} of {output.total_jobs_considered} job(s) match"

    def evaluate(self, result: ProfilerResult, rules: Rules[MarketplaceRules], context: Context) -> Outcome:
        if not result.is_complete:
            because = Explanation.of_status(result, "talent matching needs a finished or locked result → no matches")
            return Outcome(_output(result, complete=False, considered=0, matches=()), (because,))
        catalog = context.catalog("jobs")
        if catalog is None:
            because = Explanation(
                rule="jobs", file=None, line=None, message="no jobs catalog was given, so there are no jobs to match"
            )
            return Outcome(_output(result, complete=True, considered=0, matches=None), (because,))
        matching = _Matching(result, rules)
        matches = matching.matches(catalog)
        return Outcome(
            _output(result, complete=True, considered=len(catalog), matches=matches),
            matching.explain,
            matching.warnings,
        )


def _output(
    result: ProfilerResult, *, complete: bool, considered: int, matches: tuple[JobMatch, ...] | None
) -> MarketplaceOutput:
    return MarketplaceOutput(
        profiler_complete=complete,
        recommended_track=result.recommended_track if complete else None,
        total_jobs_considered=considered,
        matches=matches,
    )
