"""Talent matching: the jobs of a catalog scored on track alignment, skills, level and behavioral fit.

The original platform shipped only a placeholder (``matches: []``) and a planned design: a match score of
0.70 track alignment + 0.20 skill overlap + 0.05 level + 0.05 behavioral fit, a 60 % minimum, best first.
This engine builds that design with every weight, the minimum, the levels and the difficulty mapping in
the rules. Each part is 0-100. A score the learner does not have (a track without alignment, a skill
missing from the breakdown or with no known score) counts 0 for matching: a job can not be matched on
what is unknown, and the explanation says which scores were unknown. A part the *job* can not be scored
on (no ``track_key``, ``job_level``, ``culture_fit`` or ``required_skills``, as the platform's
JobPosting has only ``id``, ``title`` and ``required_skills``) is unknown, never 0: the rule
``unknown_component`` says whether the known parts' weights are rescaled to add up to 1 (``renormalize``)
or the unknown part counts 0 (``zero``); a job with no known part gets no score and is not matched.

Everything that depends on the rules alone (the weights in words, the level each difficulty leads to,
the level part of every pair of levels and why) is worked out once per rules, in cached properties, and
what depends on a job alone once per catalog item; per result, the engine folds what the result says,
scores each job with look-ups, formats the messages that quote the result and builds its output in one
validation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from importlib.resources import files
from typing import Annotated, Any, Literal, NamedTuple

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
Weight = Annotated[
    float, Field(ge=0, le=1, description="How much one part counts towards the match score, from 0 to 1.")
]
Score = Annotated[float, Field(ge=0, le=100)]
NonBlank = Annotated[str, Field(pattern=r"\S")]
Level = Annotated[
    str,
    Field(
        min_length=1,
        pattern=r"\S",
        description="A job level's name, matched whatever its case and surrounding spaces.",
        examples=["entry", "senior"],
    ),
]
PARTS = ("track", "skills", "level", "behavioral")
"""The parts of a match score, in the order they are weighted, shown and explained."""
PART_NAMES = {
    "track": "the learner's alignment with the job's track",
    "skills": "the learner's average aptitude over the job's required skills",
    "level": "how close the learner's level is to the job's",
    "behavioral": "the share of the job's culture-fit traits the learner shows",
}
"""Each part in words, for the explanations."""


RulePath = str | tuple[str | int, ...]
"""Where a rule is written, as :meth:`Rules.explain` takes it."""


class LearnerLevel(NamedTuple):
    """Where a difficulty puts the learner in the levels, and the rule and words that say so."""

    index: int
    rule: RulePath
    message: str


class LevelStep(NamedTuple):
    """The level part of a job some steps away from the learner, and the rule and words that say so."""

    score: float
    rule: RulePath
    message: str


def fold(text: str) -> str:
    """How track keys, levels and difficulties compare: trimmed and case-folded, whole strings."""
    return text.strip().casefold()


class Weights(BaseModel):
    """How much each part counts towards the match score. The four weights must add up to exactly 1."""

    model_config = _FROZEN

    track: Weight = Field(
        description="The weight of the learner's alignment with the job's track (0-100; a track with no "
        "alignment counts 0).",
        examples=[0.7],
    )
    skills: Weight = Field(
        description="The weight of the learner's average aptitude score over the job's required skills (a skill "
        "missing or with no known score counts 0; a job requiring none scores 100).",
        examples=[0.2],
    )
    level: Weight = Field(
        description="The weight of how close the learner's level (from their difficulty) is to the job's "
        "level, scored by level_scores.",
        examples=[0.05],
    )
    behavioral: Weight = Field(
        description="The weight of the share of the job's culture-fit traits the learner shows (a job listing "
        "none scores 100).",
        examples=[0.05],
    )

    def values(self) -> tuple[float, float, float, float]:
        """The weights in the order of :data:`PARTS`."""
        return (self.track, self.skills, self.level, self.behavioral)


class MarketplaceRules(BaseModel):
    """Talent matching: each job of a catalog gets four part scores from 0 to 100 (track alignment,
    skills, level, behavioral fit); its match score is their weighted sum, and jobs at or above the
    minimum are shown, best first."""

    # ``rules/marketplace.yaml``, built and cross-checked. The docstrings and descriptions are what editors show.
    model_config = ConfigDict(frozen=True, extra="forbid", title="Marketplace rules")

    weights: Weights = Field(examples=[{"track": 0.7, "skills": 0.2, "level": 0.05, "behavioral": 0.05}])
    minimum_score: Score = Field(
        description="A job is shown when its match score, rounded to 2 places, is at least this; exactly this "
        "is shown.",
        examples=[60],
    )
    levels: list[Annotated[Level, Field(description="One job level.")]] = Field(
        min_length=1,
        # Listing a level twice is reported by the schema; the model also refuses repeats that differ in case.
        json_schema_extra={"uniqueItems": True},
        description="The job levels, from the most junior to the most senior. A job whose level is not one of "
        "these scores 0 on level, with a warning.",
        examples=[["entry", "mid", "senior", "expert"]],
    )
    difficulty_levels: dict[
        Annotated[str, Field(min_length=1, pattern=r"\S")],
        Annotated[Level, Field(description="The job level of this difficulty.")],
    ] = Field(
        min_length=1,
        description="Each profiler difficulty (as the learner chose it, any case) and the job level it leads "
        "to, one of the levels above. A learner with no difficulty, or one not listed, scores 0 on level.",
        examples=[
            {"novice": "entry", "beginner": "entry", "intermediate": "mid", "advanced": "senior", "elite": "expert"}
        ],
    )
    level_scores: list[
        Annotated[
            Score, Field(description="The level score at this many steps apart, from 0 to 100.", examples=[100, 50])
        ]
    ] = Field(
        min_length=1,
        description="The level score by how many steps apart the learner's and the job's levels are: first the "
        "same level, then one step apart, and so on. Further apart than listed scores 0; a further level may "
        "not score more than a nearer one.",
        examples=[[100, 50]],
    )
    behavioral_cutoff: float = Field(
        ge=0,
        le=10,
        description="A behavioral trait (0-10 in the profiler) counts as shown by the learner when it is at or "
        "above this; the learner's listed strengths always count.",
        examples=[5],
    )
    unknown_component: Literal["renormalize", "zero"] = Field(
        default="renormalize",
        description="What a part the job can not be scored on does to its match score: a job without track_key "
        "has no track part, without job_level no level part, without culture_fit no behavioral part, without "
        "required_skills no skills part. renormalize: the known parts' weights are rescaled to add up to 1. "
        "zero: an unknown part counts 0. Either way, a job with no known part gets no score and is not matched "
        "(renormalizing, so does a job whose known parts weigh 0).",
        examples=["renormalize", "zero"],
    )

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
        return " + ".join(self.terms)

    @cached_property
    def weight_reasons(self) -> tuple[tuple[RulePath, str], ...]:
        """What each part counts, in words, in the order of the parts: the first explanations of a match."""
        return tuple(
            (("weights", part), f"{PART_NAMES[part]} → counts {weight:g} of the match score")
            for part, weight in zip(PARTS, self.weight_values, strict=True)
        )

    @cached_property
    def learner_levels(self) -> dict[str, LearnerLevel]:
        """Each difficulty, trimmed and case-folded, with the level it leads to and why."""
        return {
            selection: LearnerLevel(
                index,
                ("difficulty_levels", written),
                f"difficulty '{selection}' is the job level '{self.levels[index]}'",
            )
            for selection, (written, index) in self.by_difficulty.items()
        }

    @cached_property
    def learner_level_reasons(self) -> tuple[str, ...]:
        """For each level a learner can be at: their place in the levels, in words."""
        return tuple(
            f"the learner's level '{level}' is step {index + 1} of {self.allowed_levels} "
            "→ a job's level part goes by how many steps apart their levels are"
            for index, level in enumerate(self.levels)
        )

    @cached_property
    def level_steps(self) -> tuple[tuple[LevelStep, ...], ...]:
        """``level_steps[learner][job]``: the level part of two levels' places, and why."""
        return tuple(
            tuple(self._level_step(learner, job) for job in range(len(self.levels)))
            for learner in range(len(self.levels))
        )

    def _level_step(self, learner: int, job: int) -> LevelStep:
        steps = abs(learner - job)
        score = self.level_score(learner, job)
        apart = f"job level '{self.levels[job]}' is {steps} step{'' if steps == 1 else 's'} from the learner's '{self.levels[learner]}'"
        if steps < len(self.level_scores):
            return LevelStep(score, ("level_scores", steps), f"{apart} → level part {score:g}")
        return LevelStep(score, "level_scores", f"{apart}, further apart than the level scores list → level part 0")

    @cached_property
    def terms(self) -> tuple[str, ...]:
        """Each part with its weight, as a match's explanation shows it: ``0.7 × track``."""
        return tuple(f"{weight:g} × {part}" for part, weight in zip(PARTS, self.weight_values, strict=True))

    @cached_property
    def minimum_text(self) -> str:
        return f"{self.minimum_score:g}"

    @cached_property
    def allowed_levels(self) -> str:
        return ", ".join(self.levels)

    @cached_property
    def allowed_difficulties(self) -> str:
        return ", ".join(self.difficulty_levels)


class Job(BaseModel):
    """One item of the ``jobs`` catalog: ``id`` and ``title``, and what the job is scored on.

    A field the job does not have (``None`` or left out) makes its part unknown: the platform's
    JobPosting has only ``required_skills``. An empty list is known: a job asking for no skills (or no
    culture fit) scores 100 on that part. Fields the engine does not read are ignored, so a host may
    pass ``model_to_dict(row)``. ``job_level`` may be any text: catalogs are validated without the
    rules, which hold the levels, so a level that is not one of them is found when a result is matched
    (its level part is 0, with a warning).
    """

    # Texts bounded as a result's are (10,000 characters), and Unicode: a report can not hold a lone
    # surrogate, which Python's JSON reader lets through.
    model_config = ConfigDict(frozen=True, extra="ignore", str_max_length=10_000)

    id: ItemId
    title: str
    track_key: NonBlank | None = None
    required_skills: tuple[NonBlank, ...] | None = None
    job_level: str | None = None
    culture_fit: tuple[NonBlank, ...] | None = None

    # Folded once per catalog item, when first matched, rather than again for every result.
    @cached_property
    def track(self) -> str | None:
        """The track key, folded; ``None`` when the job has none."""
        return None if self.track_key is None else fold(self.track_key)

    @cached_property
    def skills(self) -> tuple[tuple[str, str], ...] | None:
        """Each required skill once (a skill written twice, in any case, counts once): as written
        (trimmed) and its category key; ``None`` when the job lists none."""
        if self.required_skills is None:
            return None
        skills: dict[str, str] = {}
        for skill in self.required_skills:
            skills.setdefault(name_key(skill), skill.strip())
        return tuple((written, key) for key, written in skills.items())

    @cached_property
    def track_written(self) -> str:
        """The track key as the explanations quote it: trimmed."""
        return "" if self.track_key is None else self.track_key.strip()

    @cached_property
    def level(self) -> str | None:
        """The job level, folded; ``None`` when the job has none."""
        return None if self.job_level is None else fold(self.job_level)

    @cached_property
    def culture(self) -> tuple[str, ...] | None:
        """The culture-fit traits, folded, each once; ``None`` when the job has none."""
        if self.culture_fit is None:
            return None
        return tuple(dict.fromkeys(name_key(trait) for trait in self.culture_fit))

    @cached_property
    def unknown(self) -> tuple[str, ...]:
        """The parts this job can not be scored on, in the order of :data:`PARTS`."""
        given = (self.track_key, self.required_skills, self.job_level, self.culture_fit)
        return tuple(part for part, value in zip(PARTS, given, strict=True) if value is None)


class Components(BaseModel):
    """A job's four parts, each 0-100, rounded to 2 places; ``None`` for a part the job can not be
    scored on (unknown, never 0)."""

    model_config = ConfigDict(frozen=True)

    track: float | None
    skills: float | None
    level: float | None
    behavioral: float | None


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


def _first_by_key(pairs: Iterable[tuple[str, Any]], key: Callable[[str], str]) -> dict[str, Any]:
    """Pairs keyed by ``key(name)``; when two names compare alike, the first one written counts."""
    found: dict[str, Any] = {}
    for name, value in pairs:
        found.setdefault(key(name), value)
    return found


def _aptitude_by_key(breakdown: Mapping[str, Any]) -> dict[str, float | None]:
    """Each category's percentage (``None`` when unknown) by its :func:`name_key`; when two names
    compare alike, the first one written counts."""
    found: dict[str, float | None] = {}
    for name, value in breakdown.items():
        key = name_key(name)
        if key not in found:
            found[key] = percentage_of(value)
    return found


# A scored job: its rounded match score, the job, and its four parts unrounded, None when unknown
# (only matches show them).
_Parts = tuple[float | None, float | None, float | None, float | None]
_Scored = tuple[float, Job, _Parts]
FIELD_OF_PART = {"track": "track_key", "skills": "required_skills", "level": "job_level", "behavioral": "culture_fit"}
"""The job field each part is scored on: without it, the part is unknown."""


class _Matching:
    """One result matched against the jobs: its scores, explanations and warnings, in a stable order.

    What the result says is folded once here, and what the rules say is worked out once per rules (see
    the cached properties of :class:`MarketplaceRules`), so that scoring a job is mostly look-ups. An
    unknown score is explained once per result, however many jobs ask for it.
    """

    def __init__(self, result: ProfilerResult, rules: Rules[MarketplaceRules], explaining: bool) -> None:
        self.cite = rules.explain
        self.settings = rules.settings
        self.explaining = explaining  # when false, no explanation is built and no message written
        self.explain: list[Explanation] = (
            [self.cite(rule, message) for rule, message in self.settings.weight_reasons] if explaining else []
        )
        self.warnings: list[str] = []
        self.level = self._learner_level(result.difficulty_selection)
        self.alignment: dict[str, float] = _first_by_key(result.track_alignment.items(), fold)
        # Unknown scores (no questions asked) stay None here: they count 0, with their own explanation.
        self.aptitude = _aptitude_by_key(result.aptitude_breakdown)
        self.traits = result.behavioral_profile.traits
        self.shown = self._shown_traits(result)
        self._unknown_tracks: set[str] = set()
        self._unknown_skills: set[str] = set()
        self._level_said = False
        self._steps_said: set[int] = set()
        self._cutoff_said = False
        self._unknown_said: set[tuple[str, ...]] = set()
        self._known_weight: dict[tuple[str, ...], float | None] = {}

    def _learner_level(self, raw: str | None) -> int | None:
        selection = fold(raw) if raw else ""
        found = self.settings.learner_levels.get(selection) if selection else None
        if found is not None:
            if self.explaining:
                self.explain.append(self.cite(found.rule, found.message))
            return found.index
        if not selection:
            reason = "the result has no difficulty selection"
        else:
            reason = f"difficulty_selection {raw!r} is not a known difficulty"
            self.warnings.append(
                f"{reason} (allowed: {self.settings.allowed_difficulties}); the level part is 0 for every job"
            )
        if self.explaining:
            self.explain.append(self.cite("difficulty_levels", f"{reason}: the level part is 0 for every job"))
        return None

    def _shown_traits(self, result: ProfilerResult) -> frozenset[str]:
        cutoff = self.settings.behavioral_cutoff
        strong = [trait for trait, mean in self.traits.items() if mean >= cutoff]
        return frozenset(map(name_key, (*result.strengths, *result.behavioral_profile.strengths, *strong)))

    def score(self, job: Job) -> _Scored | None:
        """The job's match score, rounded to 2 places (the minimum is compared with the score as shown,
        so a job shown as 60.0 is always a match), and its parts; ``None`` when it can not be scored."""
        if job.unknown:
            return self._score_with_unknown(job)
        track = self.alignment.get(job.track)  # type: ignore[arg-type] - a job with no unknown part has a track
        if track is None:
            track = self._unaligned(job)
        skills = self._skills_part(job) if job.skills else 100.0
        level = self._level_part(job)
        behavioral = self._behavioral_part(job) if job.culture else 100.0
        track_weight, skills_weight, level_weight, behavioral_weight = self.settings.weight_values
        total = math.fsum(
            (track_weight * track, skills_weight * skills, level_weight * level, behavioral_weight * behavioral)
        )
        return round(total, 2), job, (track, skills, level, behavioral)

    def _score_with_unknown(self, job: Job) -> _Scored | None:
        """:meth:`score` of a job with parts it can not be scored on (``None``, never 0)."""
        track = None if job.track is None else self._track_part(job)
        skills = None if job.skills is None else self._skills_part(job) if job.skills else 100.0
        level = None if job.level is None else self._level_part(job)
        behavioral = None if job.culture is None else self._behavioral_part(job) if job.culture else 100.0
        parts = (track, skills, level, behavioral)
        total = self._with_unknown(job, parts)
        return None if total is None else (round(total, 2), job, parts)

    def _with_unknown(self, job: Job, parts: _Parts) -> float | None:
        """The match score of a job with unknown parts, as the rule ``unknown_component`` says; ``None``
        when it has no known part (or, renormalising, its known parts weigh 0)."""
        if job.unknown not in self._known_weight:
            # Worked out once per set of unknown parts: a platform's jobs all lack the same ones.
            self._known_weight[job.unknown] = self._weight_known(job.unknown)
        weighed = self._known_weight[job.unknown]
        renormalize = self.settings.unknown_component == "renormalize"
        if weighed is None or (renormalize and weighed == 0):
            if self.explaining:
                self._unscorable(job)
            return None
        if self.explaining:
            self._explain_unknown(job)
        weights = self.settings.weight_values
        total = math.fsum([weight * part for weight, part in zip(weights, parts, strict=True) if part is not None])
        return total / weighed if renormalize else total

    def _weight_known(self, unknown: tuple[str, ...]) -> float | None:
        """The sum of the known parts' weights; ``None`` when no part is known."""
        known = [weight for part, weight in zip(PARTS, self.settings.weight_values, strict=True) if part not in unknown]
        return math.fsum(known) if known else None

    def _explain_unknown(self, job: Job) -> None:
        """Which parts jobs like this one can not be scored on and what the rule does, once per result
        for each set of unknown parts."""
        if job.unknown in self._unknown_said:
            return
        self._unknown_said.add(job.unknown)
        fields = ", ".join(FIELD_OF_PART[part] for part in job.unknown)
        rule = self.settings.unknown_component
        if rule == "renormalize":
            weights = ", ".join(
                f"{part} {weight:g}"
                for part, weight in zip(PARTS, self.settings.weight_values, strict=True)
                if part not in job.unknown
            )
            did = f"the known parts' weights ({weights}) are rescaled to add up to 1"
        else:
            did = "each unknown part counts 0"
        message = (
            f"job {job.id} (and any other job without {fields}) → unknown: {', '.join(job.unknown)}; "
            f"unknown_component {rule} → {did}"
        )
        self.explain.append(self.cite("unknown_component", message))

    def _unscorable(self, job: Job) -> None:
        if len(job.unknown) == len(PARTS):
            why = f"no component can be scored (it has none of {', '.join(FIELD_OF_PART.values())})"
        else:
            why = f"no component of weight above 0 can be scored (unknown: {', '.join(job.unknown)})"
        message = f"job {job.id} '{job.title}': {why} → no score, not matched"
        self.explain.append(self.cite("unknown_component", message))

    def _track_part(self, job: Job) -> float:
        track = self.alignment.get(job.track)  # type: ignore[arg-type] - known to be a track here
        return self._unaligned(job) if track is None else track

    def _unaligned(self, job: Job) -> float:
        if self.explaining and job.track not in self._unknown_tracks:
            self._unknown_tracks.add(job.track)
            message = f"the learner has no alignment for track '{job.track_written}': it counts 0 for matching"
            self.explain.append(self.cite("weights.track", message))
        return 0.0

    def _skills_part(self, job: Job) -> float:
        # A plain loop: for a job's few skills it costs a third of what comprehensions and zip cost.
        scores: list[float] = []
        for written, key in job.skills or ():
            score = self.aptitude.get(key)
            if score is None:  # not in the breakdown or no known score: counts 0, explained once per result
                if self.explaining and key not in self._unknown_skills:
                    self._explain_unknown_skill(written, key)
                score = 0.0
            scores.append(score)
        return math.fsum(scores) / len(scores)

    def _explain_unknown_skill(self, written: str, key: str) -> None:
        self._unknown_skills.add(key)
        if key in self.aptitude:
            message = f"skill '{written}' has no known score: unknown counts 0 for matching"
        else:
            message = f"skill '{written}' is not in the aptitude breakdown: it counts 0 for matching"
        self.explain.append(self.cite("weights.skills", message))

    def _level_part(self, job: Job) -> float:
        index = self.settings.by_level.get(job.level)
        if index is None:
            return self._not_a_level(job)
        if self.level is None:
            return 0.0
        step = self.settings.level_steps[self.level][index]
        if self.explaining and index not in self._steps_said:
            # The learner's place in the levels once, then the score of each job level once.
            if not self._level_said:
                self._level_said = True
                self.explain.append(self.cite("levels", self.settings.learner_level_reasons[self.level]))
            self._steps_said.add(index)
            self.explain.append(self.cite(step.rule, step.message))
        return step.score

    def _not_a_level(self, job: Job) -> float:
        allowed = self.settings.allowed_levels
        self.warnings.append(
            f"job {job.id!r} has job_level {job.job_level!r}, which is not a level (allowed: {allowed}); its level part is 0"
        )
        if self.explaining:
            message = f"job {job.id} has job_level '{job.job_level}', which is not a level: its level part is 0"
            self.explain.append(self.cite("levels", message))
        return 0.0

    def _behavioral_part(self, job: Job) -> float:
        if self.explaining and not self._cutoff_said and self.traits:
            self._cutoff_said = True
            self._explain_cutoff()
        culture = job.culture or ()
        return 100 * len(self.shown.intersection(culture)) / len(culture)

    def _explain_cutoff(self) -> None:
        """Which trait scores count as shown, once per result, when a job asks for culture fit."""
        cutoff = self.settings.behavioral_cutoff
        shown = ", ".join(f"{trait} {mean:g}" for trait, mean in self.traits.items() if mean >= cutoff) or "none"
        below = ", ".join(f"{trait} {mean:g}" for trait, mean in self.traits.items() if mean < cutoff) or "none"
        message = f"traits at or above the behavioral cutoff {cutoff:g} → shown: {shown}; below it → not shown: {below}"
        self.explain.append(self.cite("behavioral_cutoff", message))

    def matches(self, catalog: tuple[Job, ...]) -> list[dict[str, Any]]:
        """The jobs at or above the minimum, best first (then by id), as the fields of :class:`JobMatch`."""
        minimum = self.settings.minimum_score
        scored = [row for row in map(self.score, catalog) if row is not None]
        kept = [row for row in scored if row[0] >= minimum]
        kept.sort(key=lambda row: (-row[0], row[1].id))
        matches = [self._match(*row) for row in kept]
        if self.explaining:
            self._explain_minimum(len(catalog), len(scored), len(kept))
        return matches

    def _explain_minimum(self, jobs: int, scored: int, kept: int) -> None:
        """How many of the jobs scored were kept, and how many could not be scored."""
        message = (
            f"{scored - kept} of {scored} job(s) scored below the minimum "
            f"{self.settings.minimum_text} and are not shown"
        )
        if scored < jobs:
            message += f"; {jobs - scored} job(s) could not be scored"
        self.explain.append(self.cite("minimum_score", message))

    def _match(self, score: float, job: Job, parts: _Parts) -> dict[str, Any]:
        """A kept job, explained, as the fields of a :class:`JobMatch`; its parts rounded to 2 places."""
        if job.unknown:
            return self._match_with_unknown(score, job, parts)
        track, skills, level, behavioral = parts
        track, skills, level, behavioral = round(track, 2), round(skills, 2), round(level, 2), round(behavioral, 2)  # type: ignore[arg-type]
        if self.explaining:
            track_term, skills_term, level_term, behavioral_term = self.settings.terms
            message = (
                f"job {job.id} '{job.title}': {track_term} {track:g} + {skills_term} {skills:g} + {level_term} {level:g} + "
                f"{behavioral_term} {behavioral:g} = {score:g}, at least the minimum {self.settings.minimum_text} → match"
            )
            self.explain.append(self.cite("weights", message))
        components = {"track": track, "skills": skills, "level": level, "behavioral": behavioral}
        return {"job_id": job.id, "title": job.title, "match_score": score, "components": components}

    def _match_with_unknown(self, score: float, job: Job, parts: _Parts) -> dict[str, Any]:
        """:meth:`_match` for a job with unknown parts: the formula shows the known ones, and how the
        rule ``unknown_component`` made the score of them."""
        shown = tuple(None if part is None else round(part, 2) for part in parts)
        if self.explaining:
            self._explain_match_with_unknown(score, job, parts, shown)
        components = dict(zip(PARTS, shown, strict=True))
        return {"job_id": job.id, "title": job.title, "match_score": score, "components": components}

    def _explain_match_with_unknown(
        self, score: float, job: Job, parts: _Parts, shown: tuple[float | None, ...]
    ) -> None:
        terms = [f"{term} {part:g}" for term, part in zip(self.settings.terms, shown, strict=True) if part is not None]
        formula = " + ".join(terms)
        if self.settings.unknown_component == "renormalize":
            weights = zip(self.settings.weight_values, parts, strict=True)
            formula = f"({formula}) / {math.fsum(weight for weight, part in weights if part is not None):g}"
        else:
            formula += "".join(f" + {part} unknown 0" for part in job.unknown)
        message = f"job {job.id} '{job.title}': {formula} = {score:g}, at least the minimum {self.settings.minimum_text} → match"
        self.explain.append(self.cite("weights", message))


class MarketplaceEngine(Engine):
    """Scores the jobs of a catalog against a learner's result and keeps those at or above the minimum."""

    name = "marketplace"
    report_order = 50  # built-ins: missions 10, recipes 20, portfolio 30, leadership 40, ... analytics 70
    settings_model = MarketplaceRules
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
        explaining = context.explain
        if not result.is_complete:
            output = _output(result, complete=False, considered=0, matches=())
            if not explaining:
                return Outcome(output)
            because = Explanation.of_status(result, "talent matching needs a finished or locked result → no matches")
            return Outcome(output, (because,))
        catalog = context.catalog("jobs")
        if catalog is None:
            output = _output(result, complete=True, considered=0, matches=None)
            if not explaining:
                return Outcome(output)
            because = Explanation(
                rule="jobs", file=None, line=None, message="no jobs catalog was given, so there are no jobs to match"
            )
            return Outcome(output, (because,))
        matching = _Matching(result, rules, explaining)
        matches = matching.matches(catalog)
        return Outcome(
            _output(result, complete=True, considered=len(catalog), matches=matches),
            matching.explain,
            matching.warnings,
        )


def _output(
    result: ProfilerResult, *, complete: bool, considered: int, matches: Sequence[dict[str, Any]] | None
) -> MarketplaceOutput:
    # One validation for the whole answer: the matches become JobMatch models on the way, at far less
    # cost than a model built per match and per set of components.
    # The compiled validator, without Model(...)'s or model_validate's Python wrapper (a microsecond per
    # result); looked up here, not at import, so that a model built on first use stays so.
    return MarketplaceOutput.__pydantic_validator__.validate_python(
        {
            "profiler_complete": complete,
            "recommended_track": result.recommended_track if complete else None,
            "total_jobs_considered": considered,
            "matches": matches,
        }
    )
