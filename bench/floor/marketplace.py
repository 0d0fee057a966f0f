"""The floor's marketplace engine (marketplace.yaml): each job's match score from track, skills, level
and culture fit, and the jobs at or above the minimum."""

from __future__ import annotations

import math
from typing import Any

from .common import Answer, Explanation, Facts, RuleFile, item_id, name_key, ok, said

NAME = "marketplace"
CATALOG = "jobs"
RULES = RuleFile("marketplace")
W_TRACK, W_SKILLS, W_LEVEL, W_BEHAVIORAL = 0.70, 0.20, 0.05, 0.05
MINIMUM_SCORE = 60.0
JOB_LEVELS = ("entry", "mid", "senior", "expert")
JOB_LEVEL_INDEX = {level: index for index, level in enumerate(JOB_LEVELS)}
JOB_LEVELS_TEXT = ", ".join(JOB_LEVELS)
LEVEL_SCORES = (100.0, 50.0)
BEHAVIORAL_CUTOFF = 5.0
_DIFFICULTY_LEVELS = {
    "novice": "entry",
    "beginner": "entry",
    "intermediate": "mid",
    "advanced": "senior",
    "elite": "expert",
}
DIFFICULTIES_TEXT = ", ".join(_DIFFICULTY_LEVELS)
# folded difficulty → (learner level index, explanation)
DIFFICULTY = {
    difficulty: (
        JOB_LEVEL_INDEX[level],
        RULES.said(f"difficulty_levels.{difficulty}", f"difficulty '{difficulty}' is the job level '{level}'"),
    )
    for difficulty, level in _DIFFICULTY_LEVELS.items()
}
WEIGHTS_SAID = (
    RULES.said(
        "weights.track", f"the learner's alignment with the job's track → counts {W_TRACK:g} of the match score"
    ),
    RULES.said(
        "weights.skills",
        f"the learner's average aptitude over the job's required skills → counts {W_SKILLS:g} of the match score",
    ),
    RULES.said(
        "weights.level", f"how close the learner's level is to the job's → counts {W_LEVEL:g} of the match score"
    ),
    RULES.said(
        "weights.behavioral",
        f"the share of the job's culture-fit traits the learner shows → counts {W_BEHAVIORAL:g} of the match score",
    ),
)
# learner level index → the "levels" explanation given once per result
LEARNER_LEVEL_SAID = tuple(
    RULES.said(
        "levels",
        f"the learner's level '{level}' is step {index + 1} of {JOB_LEVELS_TEXT} "
        "→ a job's level part goes by how many steps apart their levels are",
    )
    for index, level in enumerate(JOB_LEVELS)
)


def _level_step(learner: int, job: int) -> tuple[float, Explanation]:
    steps = abs(learner - job)
    apart = (
        f"job level '{JOB_LEVELS[job]}' is {steps} step{'' if steps == 1 else 's'} "
        f"from the learner's '{JOB_LEVELS[learner]}'"
    )
    if steps < len(LEVEL_SCORES):
        return LEVEL_SCORES[steps], RULES.said(
            f"level_scores[{steps}]", f"{apart} → level part {LEVEL_SCORES[steps]:g}"
        )
    return 0.0, RULES.said("level_scores", f"{apart}, further apart than the level scores list → level part 0")


# [learner level][job level] → (level part, the explanation given once per job level)
LEVEL_STEPS = tuple(
    tuple(_level_step(learner, job) for job in range(len(JOB_LEVELS))) for learner in range(len(JOB_LEVELS))
)
TERMS = (f"{W_TRACK:g} × track", f"{W_SKILLS:g} × skills", f"{W_LEVEL:g} × level", f"{W_BEHAVIORAL:g} × behavioral")
TRACK_CITED = RULES.cite("weights.track")
SKILLS_CITED = RULES.cite("weights.skills")
LEVELS_CITED = RULES.cite("levels")
DIFFICULTY_LEVELS_CITED = RULES.cite("difficulty_levels")
CUTOFF_CITED = RULES.cite("behavioral_cutoff")
WEIGHTS_CITED = RULES.cite("weights")
MINIMUM_CITED = RULES.cite("minimum_score")
NO_JOBS_SAID = said(("jobs", None, None), "no jobs catalog was given, so there are no jobs to match")

PARTS = ("track", "skills", "level", "behavioral")
WEIGHTS = (W_TRACK, W_SKILLS, W_LEVEL, W_BEHAVIORAL)
FIELD_OF_PART = {"track": "track_key", "skills": "required_skills", "level": "job_level", "behavioral": "culture_fit"}
UNKNOWN_CITED = RULES.cite("unknown_component")
# (id, title, track as written, track folded, ((skill as written, its key), ...), level folded, level as
# written, culture-fit keys, the parts the job can not be scored on); None for a field the job lacks
Job = tuple[Any, str, str, Any, Any, Any, Any, Any, tuple[str, ...]]


def prepare(items: list[dict[str, Any]]) -> tuple[Job, ...]:
    """The jobs catalog with each job's track, skills, level and culture folded once."""
    jobs = []
    for job in items:
        track_key, required, job_level, culture = (job.get(field) for field in FIELD_OF_PART.values())
        skills: dict[str, str] | None = None
        if required is not None:
            skills = {}
            for skill in required:
                skills.setdefault(name_key(skill), skill.strip())
        jobs.append(
            (
                item_id(job["id"]),
                job["title"],
                "" if track_key is None else track_key.strip(),
                None if track_key is None else track_key.strip().casefold(),
                None if skills is None else tuple((written, key) for key, written in skills.items()),
                None if job_level is None else job_level.strip().casefold(),
                job_level,
                None if culture is None else tuple(dict.fromkeys(name_key(trait) for trait in culture)),
                tuple(
                    part
                    for part, value in zip(PARTS, (track_key, required, job_level, culture), strict=True)
                    if value is None
                ),
            )
        )
    return tuple(jobs)


def _not_complete(facts: Facts, explain: bool) -> Answer:
    """An ok answer with no matches (not a skip): explained only when asked, as any ok answer."""
    output = {"profiler_complete": False, "recommended_track": None, "total_jobs_considered": 0, "matches": []}
    if not explain:
        return ok(output, [], [])
    shown = "unknown" if facts.status is None else repr(facts.status)
    message = f"the result's status is {shown}; talent matching needs a finished or locked result → no matches"
    return ok(output, [said(("status", None, None), message)], [])


def _learner_level(raw: str | None, add: Any, warnings: list[str]) -> int | None:
    """The learner's job level index from the difficulty selection, or None (then every level part is 0)."""
    selection = raw.strip().casefold() if raw else ""
    found = DIFFICULTY.get(selection) if selection else None
    if found is not None:
        if add is not None:
            add(found[1])
        return found[0]
    if not selection:
        reason = "the result has no difficulty selection"
    else:
        reason = f"difficulty_selection {raw!r} is not a known difficulty"
        warnings.append(f"{reason} (allowed: {DIFFICULTIES_TEXT}); the level part is 0 for every job")
    if add is not None:
        add(said(DIFFICULTY_LEVELS_CITED, f"{reason}: the level part is 0 for every job"))
    return None


def _folded(facts: Facts) -> tuple[dict[str, float], dict[str, float | None], frozenset[str]]:
    """What the result says that jobs are scored on, folded once: alignment by track, aptitude by
    category key (first of each), and the traits the learner shows."""
    alignment: dict[str, float] = {}
    for name, value in facts.alignment:
        alignment.setdefault(name.strip().casefold(), value)
    aptitude: dict[str, float | None] = {}
    for name, value in facts.breakdown:
        aptitude.setdefault(name_key(name), value)
    strong = [trait for trait, mean in facts.traits.items() if mean >= BEHAVIORAL_CUTOFF]
    shown = frozenset(map(name_key, (*facts.strengths, *facts.profile_strengths, *strong)))
    return alignment, aptitude, shown


def _cutoff_said(traits: dict[str, float]) -> Explanation:
    above = ", ".join(f"{t} {m:g}" for t, m in traits.items() if m >= BEHAVIORAL_CUTOFF) or "none"
    below = ", ".join(f"{t} {m:g}" for t, m in traits.items() if m < BEHAVIORAL_CUTOFF) or "none"
    return said(
        CUTOFF_CITED,
        f"traits at or above the behavioral cutoff {BEHAVIORAL_CUTOFF:g} → shown: {above}; below it → not shown: {below}",
    )


def _scored(
    facts: Facts, jobs: tuple[Job, ...], learner: int | None, add: Any, warnings: list[str]
) -> list[tuple[Any, ...]]:
    """Each job that can be scored: (score rounded to 2 places, id, title, its parts, its unknown
    parts). One plain loop: each unknown track, skill and job level is explained once per result."""
    alignment, aptitude, shown = _folded(facts)
    traits = facts.traits
    noted: set[Any] = set()
    level_said = cutoff_said = False
    fsum = math.fsum
    scored = []
    for job_id, title, track_key, track, skills, level, job_level, culture, unknown in jobs:
        track_part = None if track is None else alignment.get(track)
        if track_part is None and track is not None:
            track_part = 0.0
            if add is not None and track not in noted:
                noted.add(track)
                add(
                    said(TRACK_CITED, f"the learner has no alignment for track '{track_key}': it counts 0 for matching")
                )
        if skills is None:
            skills_part = None
        elif not skills:
            skills_part = 100.0
        else:
            values = []
            for written, key in skills:
                score = aptitude.get(key)
                if score is None:  # not in the breakdown, or no known score: counts 0
                    if add is not None and ("skill", key) not in noted:
                        noted.add(("skill", key))
                        if key in aptitude:
                            add(
                                said(
                                    SKILLS_CITED, f"skill '{written}' has no known score: unknown counts 0 for matching"
                                )
                            )
                        else:
                            add(
                                said(
                                    SKILLS_CITED,
                                    f"skill '{written}' is not in the aptitude breakdown: it counts 0 for matching",
                                )
                            )
                    score = 0.0
                values.append(score)
            skills_part = fsum(values) / len(values)
        if level is None:
            level_part = None
        else:
            job_index = JOB_LEVEL_INDEX.get(level)
            if job_index is None:
                warnings.append(
                    f"job {job_id!r} has job_level {job_level!r}, which is not a level (allowed: {JOB_LEVELS_TEXT}); "
                    "its level part is 0"
                )
                if add is not None:
                    add(
                        said(
                            LEVELS_CITED,
                            f"job {job_id} has job_level '{job_level}', which is not a level: its level part is 0",
                        )
                    )
                level_part = 0.0
            elif learner is None:
                level_part = 0.0
            else:
                level_part, because = LEVEL_STEPS[learner][job_index]
                if add is not None and job_index not in noted:
                    if not level_said:
                        level_said = True
                        add(LEARNER_LEVEL_SAID[learner])
                    noted.add(job_index)
                    add(because)
        if culture is None:
            behavioral_part = None
        elif not culture:
            behavioral_part = 100.0
        else:
            if add is not None and not cutoff_said and traits:
                cutoff_said = True
                add(_cutoff_said(traits))
            behavioral_part = 100 * len(shown.intersection(culture)) / len(culture)
        parts = (track_part, skills_part, level_part, behavioral_part)
        if unknown:
            total = _with_unknown(job_id, title, parts, unknown, add, noted)
            if total is None:
                continue
        else:
            total = fsum(
                (W_TRACK * track_part, W_SKILLS * skills_part, W_LEVEL * level_part, W_BEHAVIORAL * behavioral_part)
            )  # type: ignore[operator]
        scored.append((round(total, 2), job_id, title, parts, unknown))
    return scored


def _with_unknown(
    job_id: Any, title: str, parts: tuple[float | None, ...], unknown: tuple[str, ...], add: Any, noted: set[Any]
) -> float | None:
    """The score of a job with parts it can not be scored on: its known parts, their weights rescaled
    to add up to 1 (unknown_component renormalize); None when no part of weight above 0 is known."""
    weighed = math.fsum([weight for part, weight in zip(parts, WEIGHTS, strict=True) if part is not None])
    if len(unknown) == len(PARTS) or weighed == 0:
        if add is not None:
            add(said(UNKNOWN_CITED, f"job {job_id} '{title}': {_unscorable(unknown)} → no score, not matched"))
        return None
    if add is not None and unknown not in noted:
        noted.add(unknown)
        add(said(UNKNOWN_CITED, _unknown_message(job_id, unknown)))
    return math.fsum([weight * part for weight, part in zip(WEIGHTS, parts, strict=True) if part is not None]) / weighed


def _unscorable(unknown: tuple[str, ...]) -> str:
    if len(unknown) == len(PARTS):
        return f"no component can be scored (it has none of {', '.join(FIELD_OF_PART.values())})"
    return f"no component of weight above 0 can be scored (unknown: {', '.join(unknown)})"


def _unknown_message(job_id: Any, unknown: tuple[str, ...]) -> str:
    fields = ", ".join(FIELD_OF_PART[part] for part in unknown)
    weights = ", ".join(
        f"{part} {weight:g}" for part, weight in zip(PARTS, WEIGHTS, strict=True) if part not in unknown
    )
    return (
        f"job {job_id} (and any other job without {fields}) → unknown: {', '.join(unknown)}; "
        f"unknown_component renormalize → the known parts' weights ({weights}) are rescaled to add up to 1"
    )


def evaluate(facts: Facts, viewer: dict[str, Any] | None, catalogs: dict[str, Any], explain: bool) -> Answer:
    """The jobs at or above the minimum score, best first; none for a result that is not complete."""
    if not facts.complete:
        return _not_complete(facts, explain)
    jobs = catalogs["jobs"]
    if jobs is None:
        output = {
            "profiler_complete": True,
            "recommended_track": facts.recommended,
            "total_jobs_considered": 0,
            "matches": None,
        }
        return ok(output, [NO_JOBS_SAID] if explain else [], [])
    reasons: list[Explanation] = list(WEIGHTS_SAID) if explain else []
    add = reasons.append if explain else None
    warnings: list[str] = []
    scored = _scored(facts, jobs, _learner_level(facts.difficulty, add, warnings), add, warnings)
    kept = sorted((row for row in scored if row[0] >= MINIMUM_SCORE), key=lambda row: (-row[0], row[1]))
    matches = []
    for score, job_id, title, parts, unknown in kept:
        shown = tuple(None if part is None else round(part, 2) for part in parts)
        if add is not None:
            add(_match_said(score, job_id, title, parts, shown, unknown))
        matches.append(
            {"job_id": job_id, "title": title, "match_score": score, "components": dict(zip(PARTS, shown, strict=True))}
        )
    if add is not None:
        message = (
            f"{len(scored) - len(kept)} of {len(scored)} job(s) scored below the minimum {MINIMUM_SCORE:g} "
            "and are not shown"
        )
        if len(scored) < len(jobs):
            message += f"; {len(jobs) - len(scored)} job(s) could not be scored"
        add(said(MINIMUM_CITED, message))
    output = {
        "profiler_complete": True,
        "recommended_track": facts.recommended,
        "total_jobs_considered": len(jobs),
        "matches": matches,
    }
    return ok(output, reasons, warnings)


def _match_said(
    score: float, job_id: Any, title: str, parts: tuple[Any, ...], shown: tuple[Any, ...], unknown: tuple[str, ...]
) -> Explanation:
    formula = " + ".join(f"{term} {part:g}" for term, part in zip(TERMS, shown, strict=True) if part is not None)
    if unknown:
        formula = f"({formula}) / {math.fsum(weight for weight, part in zip(WEIGHTS, parts, strict=True) if part is not None):g}"
    return said(
        WEIGHTS_CITED,
        f"job {job_id} '{title}': {formula} = {score:g}, at least the minimum {MINIMUM_SCORE:g} → match",
    )
