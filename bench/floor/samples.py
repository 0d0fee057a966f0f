"""Varied, valid results for the checker and the benchmark, modelled on the bundled example, and the
bundled example and catalogs themselves."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from .common import name_key

EXAMPLES = Path(__file__).resolve().parents[2] / "profiler_rules" / "examples"


def load_example() -> dict:
    """The bundled example result (profiler_rules/examples/result.json)."""
    return json.loads((EXAMPLES / "result.json").read_text())


def load_catalogs() -> dict:
    """The bundled catalogs (profiler_rules/examples/catalogs.json)."""
    return json.loads((EXAMPLES / "catalogs.json").read_text())


_STATUSES = (
    ["finished"] * 6
    + ["locked"] * 6
    + [
        "started",
        "in_progress",
        "aptitude_complete",
        "behavioral_complete",
        "current_self_complete",
        "future_you_complete",
    ]
)
_DIFFICULTIES = [
    "novice", "beginner", "intermediate", "advanced", "elite",
    " Intermediate ", "ELITE", "Advanced\t", "\nbeginner", "NoViCe",
    "expert", "master", "hard", "intermediate level", " Expert\t", "", "   ",
]  # fmt: skip
_CATEGORY_NAMES = [
    "networking", "security", "programming", "linux", "windows", "cloud", "cryptography", "forensics",
    "malware", "web", "Networking ", "network", "NETWORKS", "python", "Scripting", "aws", "Azure", "gcp",
    "crypto", "dfir", "reverse engineering", "Reverse-Engineering", "reverse_engineering", "problem_solving",
    "web security", "net", "compliance", " Cloud", "Linux", "  ",
]  # fmt: skip
_TRAITS = ["leadership", "teamwork", "communication", "curiosity", "analytical thinking", "Leadership ",
           "resilience", "attention_to_detail", "documentation skills"]  # fmt: skip
_STRENGTHS = ["analytical thinking", "problem solving", "teamwork", "communication", "curiosity",
              "Analytical-Thinking", "attention to detail", "leadership"]  # fmt: skip
_GROWTH = ["Technical documentation", "communication", "COMMUNICATION skills", "communication_skills",
           "Leadership-development", "leaderships", "Team communication and LEADERSHIP", "  ",
           "documentation documentation", "time management", " public speaking "]  # fmt: skip
_TRACKS = ["defender", "offensive", "innovation", "leadership", "grc", " Leadership ", "LEADERSHIP", "Defender", ""]
_ALIGNMENT_KEYS = ["defender", "offensive", "innovation", "leadership", "grc", "Defender", " offensive "]
_PATTERNS = ["too_fast", "identical_responses", "copy_paste", "tab_switching"]
_ANSWERS = ["I want to protect the people around me from online fraud", "  curious since I was a kid  ",
            "because {answer} and {values} are fun", "", "   ", None]  # fmt: skip
_GOALS = ["become a SOC analyst within a year", "  get certified ", "", None]
_VALUES = ["integrity", "service", " curiosity ", "", "  ", "Teamwork"]


def _score(rng: random.Random, low: float = 0, high: float = 100) -> Any:
    """A score in one of the shapes hosts send: float, int, numeric string, or an edge value."""
    kind = rng.random()
    if kind < 0.15:
        return rng.choice(
            [low, high, 60, 59.99, 40, 39.99, 80, 50, 5, 4.99, 7, 6.99]
            if high == 100
            else [low, high, 5, 4.99, 7, 6.99]
        )
    value = round(rng.uniform(low, high), 2)
    if kind < 0.35:
        return f"{value:.2f}"  # as Django REST framework writes decimals
    if kind < 0.5:
        return int(value)
    return value


def _names(rng: random.Random, pool: list[str], count: int) -> list[str]:
    """``count`` names of ``pool`` at random, but of those that name_key reads alike, only the first:
    a result naming one category (trait, strength, track) twice is invalid input."""
    kept: dict[str, str] = {}
    for name in rng.sample(pool, count):
        kept.setdefault(name_key(name) or name, name)
    return list(kept.values())


def _maybe(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability


def _timestamp(rng: random.Random) -> str | None:
    day, hour, minute = rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59)
    return rng.choice(
        [
            f"2026-02-{day:02d}T{hour:02d}:{minute:02d}:00Z",
            f"2026-02-{day:02d}T{hour:02d}:{minute:02d}:00",
            f"2026-02-{day:02d}T{hour:02d}:{minute:02d}:00+00:00",
            f"2026-02-{day:02d}T{hour:02d}:{minute:02d}:30+02:00",
            f"2026-02-{day:02d}T{hour:02d}:{minute:02d}:00.250000Z",
            None,
        ]
    )


def _breakdown(rng: random.Random) -> dict:
    names = _names(rng, _CATEGORY_NAMES, rng.randint(0, 7))
    breakdown: dict[str, Any] = {}
    for name in names:
        kind = rng.random()
        if kind < 0.1:
            breakdown[name] = None
        elif kind < 0.45:  # the platform's counts
            total = rng.choice([0, 0, 1, 3, 5, 5, 7, 10])
            entry: dict[str, Any] = {"correct": rng.randint(0, total), "total": total}
            if _maybe(rng, 0.7):
                entry["points"] = rng.choice([0, 10, 30, 12.5, None])
            breakdown[name] = entry
        else:
            breakdown[name] = _score(rng)
    return breakdown


def _profile(rng: random.Random) -> dict | None:
    kind = rng.random()
    if kind < 0.1:
        return None
    if kind < 0.15:
        return {}
    traits = {trait: _score(rng, 0, 10) for trait in _names(rng, _TRAITS, rng.randint(0, 4))}
    if kind < 0.5:  # the platform's flat {category: mean}
        return traits or {"teamwork": 6}
    profile: dict[str, Any] = {}
    if _maybe(rng, 0.85):
        profile["traits"] = traits
    if _maybe(rng, 0.6):
        profile["strengths"] = _names(rng, _STRENGTHS, rng.randint(0, 3))
    choice = rng.random()
    if choice < 0.45:
        profile["areas_for_growth"] = _names(rng, _GROWTH, rng.randint(0, 4))
    elif choice < 0.55:
        profile["areas_for_growth"] = None
    return profile


def _sampled(rng: random.Random, index: int, example: dict) -> dict:
    if _maybe(rng, 0.08):  # the example, lightly changed
        result = json.loads(json.dumps(example))
        result["session_id"] = f"s-{index}"
        result["difficulty_selection"] = rng.choice(_DIFFICULTIES)
        result["status"] = rng.choice(_STATUSES)
        if _maybe(rng, 0.5):
            result["anti_cheat"] = {"score": _score(rng), "suspicious_patterns": rng.sample(_PATTERNS, 2)}
        return result
    result: dict[str, Any] = {"session_id": f"s-{index}", "user_id": f"learner-{rng.randint(1, 300)}"}
    if _maybe(rng, 0.95):
        result["status"] = rng.choice(_STATUSES)
    if _maybe(rng, 0.85):
        result["completed_at"] = _timestamp(rng)
    if _maybe(rng, 0.85):
        result["difficulty_selection"] = rng.choice(_DIFFICULTIES + [None])
    if _maybe(rng, 0.9):
        scores = {}
        for name in ("overall", "aptitude", "behavioral"):
            if _maybe(rng, 0.85):
                scores[name] = None if _maybe(rng, 0.1) else _score(rng)
        result["scores"] = scores
    if _maybe(rng, 0.8):
        result["technical_exposure_score"] = None if _maybe(rng, 0.15) else _score(rng)
    if _maybe(rng, 0.9):
        result["aptitude_breakdown"] = _breakdown(rng)
    profile = _profile(rng)
    if profile is not None:
        result["behavioral_profile"] = profile
    if _maybe(rng, 0.8):
        result["strengths"] = _names(rng, _STRENGTHS, rng.randint(0, 3))
    if _maybe(rng, 0.5):
        result["areas_for_growth"] = _names(rng, _GROWTH, rng.randint(0, 2))
    if _maybe(rng, 0.85):
        result["recommended_track"] = rng.choice(_TRACKS + [None])
    if _maybe(rng, 0.7):
        result["track_confidence"] = rng.choice([None, 0, 1, 0.82, "0.45", round(rng.random(), 3)])
    if _maybe(rng, 0.75):
        result["track_alignment"] = {key: _score(rng) for key in _names(rng, _ALIGNMENT_KEYS, rng.randint(0, 5))}
    if _maybe(rng, 0.4):
        result["future_you_persona"] = rng.choice(
            [None, {"name": "Cyber Sentinel", "archetype": "Defender", "confidence": 0.75, "tags": ["soc", 1, None]}]
        )
    kind = rng.random()
    if kind < 0.1:
        result["anti_cheat"] = None
    elif kind < 0.15:
        result["anti_cheat"] = {}
    elif kind < 0.75:
        signals: dict[str, Any] = {"score": None if _maybe(rng, 0.15) else _score(rng)}
        if _maybe(rng, 0.7):
            signals["suspicious_patterns"] = [rng.choice(_PATTERNS) for _ in range(rng.randint(0, 3))]
        if _maybe(rng, 0.6):
            signals["device_fingerprint"] = rng.choice([None, f"fp_{rng.randint(0, 1 << 24):06x}"])
        result["anti_cheat"] = signals
    if _maybe(rng, 0.9):
        answers: dict[str, Any] = {}
        if _maybe(rng, 0.8):
            answers["why_cyber"] = rng.choice(_ANSWERS)
        if _maybe(rng, 0.8):
            answers["what_achieve"] = rng.choice(_GOALS)
        if _maybe(rng, 0.7):
            answers["identity_values"] = rng.sample(_VALUES, rng.randint(0, 3))
        result["answers"] = answers
    if _maybe(rng, 0.8):
        result["cohort_id"] = rng.choice(["cohort-2026-spring", "cohort-2026-fall", None])
    if _maybe(rng, 0.7):
        result["sponsor_id"] = rng.choice(["sponsor-acme", "sponsor-globex", None])
    return result


def sample_results(count: int, seed: int = 7) -> list[dict]:
    """``count`` varied, valid results modelled on the bundled example: both aptitude_breakdown shapes
    (with ``total: 0``), unknown scores and real zeros, numeric strings, growth areas and flat traits,
    every difficulty and unknown ones with case and whitespace variants, statuses complete and not,
    anti-cheat present, empty or absent, answers given or blank, and every optional field left out."""
    rng = random.Random(seed)
    example = load_example()
    return [_sampled(rng, index, example) for index in range(count)]
