"""A hand-written, plain-Python baseline of the seven built-in engines' per-result work.

The performance benchmark compares ``Dispatcher.dispatch`` with :func:`dispatch` below to answer "how
much does the machinery (pydantic models, rule objects, plugin dispatch, report models) cost over doing
the same work by hand?". So this module:

* hard-codes the DEFAULT rules (``profiler_rules/rules/*.yaml`` and ``access.yaml``) as module constants,
  with every lookup table, rule path and rules-only message precomputed at import;
* reads a result as the plain dict of its JSON (assumed valid: no validation, no models), converting
  values where the model would (``"62.40"`` → 62.4, counts → a percentage, timestamps → ISO text);
* makes the same decisions as the engines and one ``(rule_path, message)`` tuple for every explanation
  an engine emits, in the same order; messages that depend on the result are built with f-strings;
* does not skip engine work: e.g. the leadership engine builds the value statement again, so this does
  too; access is checked separately for mentorship and analytics, as the engines do.

Catalog items are read once by :func:`prepare_catalogs` (the analogue of ``Dispatcher.prepare_catalogs``
plus the jobs' cached folded fields); :func:`dispatch` accepts prepared or raw catalogs (raw ones are
prepared on every call).

    python bench/baseline.py             # check against the dispatcher: bundled example + 2,000 samples
    python bench/baseline.py --messages  # ... comparing explanation messages too, not only rule paths
    python bench/baseline.py --time      # ... then time the baseline and the dispatcher per result
"""

from __future__ import annotations

import json
import math
import random
import re
import sys
import timeit
from collections import Counter
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "profiler_rules" / "examples"
ENGINES = ("missions", "recipes", "portfolio", "leadership", "marketplace", "mentorship", "analytics")
COMPLETE_STATUSES = frozenset({"finished", "locked"})
_STRUCTURED_KEYS = frozenset({"traits", "strengths", "areas_for_growth"})
_SEPARATORS = re.compile(r"[\s_\-]+")
_separators_to_underscore = _SEPARATORS.sub


def name_key(name: str) -> str:
    """Trimmed, case-folded, runs of spaces/'-'/'_' alike (as ``profiler_rules.name_key``)."""
    return _separators_to_underscore("_", name.strip().casefold()).strip("_")


# ---------------------------------------------------------------------------------------------------
# missions.yaml
# ---------------------------------------------------------------------------------------------------
MISSION_LABELS = {1: "Beginner", 2: "Intermediate", 3: "Advanced", 4: "Expert", 5: "Master"}
MISSION_DEFAULT_CAP = 1
MISSION_ALLOWED = "novice, beginner, intermediate, advanced, elite"


def _mission_label_explain(cap: int) -> tuple[str, str]:
    return (f"difficulty_labels['{cap}']", f"mission difficulty {cap} → label {MISSION_LABELS[cap]}")


# folded level → (cap, label, its explanation, the label's explanation)
MISSION_LEVELS = {
    level: (
        cap,
        MISSION_LABELS[cap],
        (f"levels.{level}", f"difficulty '{level}' allows missions up to difficulty {cap} ({MISSION_LABELS[cap]})"),
        _mission_label_explain(cap),
    )
    for level, cap in {"novice": 1, "beginner": 1, "intermediate": 2, "advanced": 3, "elite": 4}.items()
}
MISSION_DEFAULT_LABEL = MISSION_LABELS[MISSION_DEFAULT_CAP]
MISSION_DEFAULT_LABEL_EXPLAIN = _mission_label_explain(MISSION_DEFAULT_CAP)
MISSION_DEFAULT_TAIL = f": the default max difficulty {MISSION_DEFAULT_CAP} ({MISSION_DEFAULT_LABEL}) applies"

# ---------------------------------------------------------------------------------------------------
# recipes.yaml
# ---------------------------------------------------------------------------------------------------
APTITUDE_CUTOFF = 60.0
TECHNICAL_CUTOFF = 60.0
TECHNICAL_CODES = ("TECH", "BASICS", "FUNDAMENTALS")
TECHNICAL_CODES_EXPLAIN = ("technical_exposure.skill_codes", "technical exposure calls for TECH, BASICS, FUNDAMENTALS")
# (below, priority, rule path of its "below"); the gap cutoffs (60) do not exceed the last band
PRIORITY_BANDS = ((40.0, "high", "priority_bands[0].below"), (60.0, "medium", "priority_bands[1].below"))
BEHAVIORAL_CUTOFF = 5.0
BEHAVIORAL_PRIORITY = "medium"
PRIORITY_WEIGHTS = {"high": 2.0, "medium": 1.0}
MAX_RECIPES = 10
PRIORITY_WEIGHT_EXPLAIN = {
    priority: (
        f"recommendations.priority_weights.{priority}",
        f"a needed skill code from a {priority} priority gap → it counts {weight:g} towards a recipe's rank",
    )
    for priority, weight in PRIORITY_WEIGHTS.items()
}
_CATEGORIES = {
    "networking": (("NET", "NETW", "TCPIP", "DNS", "HTTP"), ("network", "networks")),
    "security": (("SEC", "SECOPS", "SIEM", "IDS", "IPS"), ()),
    "programming": (("PROG", "PYTHON", "BASH", "SCRIPT"), ("python", "scripting")),
    "linux": (("LINUX", "SYSADMIN", "CLI"), ()),
    "windows": (("WIN", "WINDOWS", "POWERSHELL"), ()),
    "cloud": (("CLOUD", "AWS", "AZURE", "GCP"), ("aws", "azure", "gcp")),
    "cryptography": (("CRYPTO", "ENCRYPT", "HASH"), ("crypto",)),
    "forensics": (("DFIR", "FORENSICS", "INVESTIGATION"), ("dfir",)),
    "malware": (("MALWARE", "REVERSE", "ANALYSIS"), ("reverse engineering",)),
    "web": (("WEB", "WEBAPP", "OWASP", "XSS", "SQLI"), ()),
}
# name_key of a category or alias → (category, alias rule path or None, skill_codes rule path, codes, codes joined)
CATEGORY_BY_KEY: dict[str, tuple[str, str | None, str, tuple[str, ...], str]] = {}
for _name, (_codes, _aliases) in _CATEGORIES.items():
    _entry = (_name, None, f"categories.{_name}.skill_codes", _codes, ", ".join(_codes))
    for _position, _alias in reversed(list(enumerate(_aliases))):  # the first alias of a key wins
        CATEGORY_BY_KEY[name_key(_alias)] = (_name, f"categories.{_name}.aliases[{_position}]", *_entry[2:])
    CATEGORY_BY_KEY[name_key(_name)] = _entry
# keyword (case-folded) → (keyword as written, its rule path, its codes, codes joined)
KEYWORDS = {
    word: (word, f"behavioral.keywords.{word}", codes, ", ".join(codes))
    for word, codes in {"communication": ("COMM",), "leadership": ("LEAD",), "documentation": ("DOC",)}.items()
}
KEYWORD_PATTERN = re.compile(
    r"(?<![^\W_])(?:" + "|".join(re.escape(w) for w in sorted(KEYWORDS, key=len, reverse=True)) + r")(?![^\W_])",
    re.IGNORECASE,
)
_RANK_KEY = itemgetter(0, 1, 2, 3)

# ---------------------------------------------------------------------------------------------------
# portfolio.yaml (and the statement leadership shares)
# ---------------------------------------------------------------------------------------------------
ITEM_TYPE = "reflection"
TITLE = "My Value Statement"
ENTRY_STATUS = "approved"
VISIBILITY = "private"
KEY_PREFIX = "value-statement:"  # idempotency_key "value-statement:{user_id}"
ON_RETAKE = "replace"
WHY_TEMPLATE = "I am drawn to cybersecurity because: "  # + {answer}
WHAT_TEMPLATE = "My goal is to: "  # + {answer}
VALUES_SENTENCE = "My core values align with protecting and advancing cybersecurity.".strip()
FALLBACK_SENTENCE = "I am committed to advancing in cybersecurity.".strip()
WHY_MISSING = ("statement.why_cyber", "why_cyber is missing or blank → its sentence is left out")
WHAT_MISSING = ("statement.what_achieve", "what_achieve is missing or blank → its sentence is left out")
VALUES_MISSING = ("statement.identity_values", "no identity values given → their sentence is left out")
FALLBACK_EXPLAIN = ("statement.fallback", "no answer gives a sentence → the fallback is the statement")
PORTFOLIO_FIELDS_EXPLAIN = (
    ("item_type", f"the value statement → a portfolio entry of type '{ITEM_TYPE}'"),
    ("title", f"the entry's title → '{TITLE}'"),
    ("status", f"the entry is created → review status '{ENTRY_STATUS}'"),
    ("visibility", f"the entry is created → visibility '{VISIBILITY}'"),
)

# ---------------------------------------------------------------------------------------------------
# leadership.yaml
# ---------------------------------------------------------------------------------------------------
ACADEMY_TRACKS = {"leadership": "eligibility.tracks[0]"}  # folded track → its rule path
ACADEMY_TRACKS_TEXT = "leadership"
# (name as written, folded, threshold, rule path)
TRAIT_THRESHOLDS = (("leadership", "leadership", 7.0, "eligibility.trait_thresholds.leadership"),)
ACADEMY_SHARED_EXPLAIN = (
    "status",
    f"the academy sees the portfolio entry's status '{ENTRY_STATUS}' and visibility '{VISIBILITY}'",
)
ELIGIBLE_EXPLAIN = ("eligibility", "at least one eligibility rule matched → eligible for the academy")
NOT_ELIGIBLE_EXPLAIN = ("eligibility", "no eligibility rule matched → not eligible for the academy")

# ---------------------------------------------------------------------------------------------------
# marketplace.yaml
# ---------------------------------------------------------------------------------------------------
W_TRACK, W_SKILLS, W_LEVEL, W_BEHAVIORAL = 0.70, 0.20, 0.05, 0.05
MINIMUM_SCORE = 60.0
JOB_LEVELS = ("entry", "mid", "senior", "expert")
JOB_LEVEL_INDEX = {level: index for index, level in enumerate(JOB_LEVELS)}
JOB_LEVELS_TEXT = ", ".join(JOB_LEVELS)
LEVEL_SCORES = (100.0, 50.0)
MARKET_BEHAVIORAL_CUTOFF = 5.0
_DIFFICULTY_LEVELS = {
    "novice": "entry",
    "beginner": "entry",
    "intermediate": "mid",
    "advanced": "senior",
    "elite": "expert",
}
MARKET_DIFFICULTIES_TEXT = ", ".join(_DIFFICULTY_LEVELS)
# folded difficulty → (learner level index, explanation)
MARKET_DIFFICULTY = {
    difficulty: (
        JOB_LEVEL_INDEX[level],
        (f"difficulty_levels.{difficulty}", f"difficulty '{difficulty}' is the job level '{level}'"),
    )
    for difficulty, level in _DIFFICULTY_LEVELS.items()
}
MARKET_WEIGHTS_EXPLAIN = (
    ("weights.track", f"the learner's alignment with the job's track → counts {W_TRACK:g} of the match score"),
    (
        "weights.skills",
        f"the learner's average aptitude over the job's required skills → counts {W_SKILLS:g} of the match score",
    ),
    ("weights.level", f"how close the learner's level is to the job's → counts {W_LEVEL:g} of the match score"),
    (
        "weights.behavioral",
        f"the share of the job's culture-fit traits the learner shows → counts {W_BEHAVIORAL:g} of the match score",
    ),
)
# learner level index → the "levels" explanation given once per result
MARKET_LEARNER_LEVEL_EXPLAIN = tuple(
    (
        "levels",
        f"the learner's level '{level}' is step {index + 1} of {JOB_LEVELS_TEXT} "
        "→ a job's level part goes by how many steps apart their levels are",
    )
    for index, level in enumerate(JOB_LEVELS)
)


def _level_step(learner: int, job: int) -> tuple[float, tuple[str, str]]:
    steps = abs(learner - job)
    apart = f"job level '{JOB_LEVELS[job]}' is {steps} step{'' if steps == 1 else 's'} from the learner's '{JOB_LEVELS[learner]}'"
    if steps < len(LEVEL_SCORES):
        return LEVEL_SCORES[steps], (f"level_scores[{steps}]", f"{apart} → level part {LEVEL_SCORES[steps]:g}")
    return 0.0, ("level_scores", f"{apart}, further apart than the level scores list → level part 0")


# [learner level][job level] → (level part, the explanation given once per job level)
MARKET_LEVEL_STEPS = tuple(
    tuple(_level_step(learner, job) for job in range(len(JOB_LEVELS))) for learner in range(len(JOB_LEVELS))
)
MARKET_TERMS = (
    f"{W_TRACK:g} × track",
    f"{W_SKILLS:g} × skills",
    f"{W_LEVEL:g} × level",
    f"{W_BEHAVIORAL:g} × behavioral",
)

# ---------------------------------------------------------------------------------------------------
# mentorship.yaml
# ---------------------------------------------------------------------------------------------------
REVIEW_AT = 50.0
AC_PATTERNS = {
    "too_fast": "Answered faster than a careful reader could.",
    "identical_responses": "Gave the same answer to many questions in a row.",
}
AC_PATTERN_EXPLAIN = {
    name: (f"anti_cheat.patterns.{name}", f"suspicious pattern {name} → shown with its meaning: {meaning}")
    for name, meaning in AC_PATTERNS.items()
}
AC_NONE_EXPLAIN = ("anti_cheat", "the result carries no anti-cheat signals")
AC_REVIEW_EXPLAIN = (
    "anti_cheat.review_at",
    f"anti-cheat score at or above the review threshold {REVIEW_AT:g} → review",
)
AC_BELOW_EXPLAIN = ("anti_cheat.review_at", f"anti-cheat score below the review threshold {REVIEW_AT:g} → no review")
AC_UNKNOWN_EXPLAIN = (
    "anti_cheat.review_at",
    f"anti-cheat score unknown against the review threshold {REVIEW_AT:g} → no review",
)

# ---------------------------------------------------------------------------------------------------
# analytics.yaml
# ---------------------------------------------------------------------------------------------------
# (below or None for the open last band, band, rule path, "below 40" / "the last band")
READINESS_BANDS = tuple(
    (below, band, f"readiness_bands[{index}]", "the last band" if below is None else f"below {below:g}")
    for index, (below, band) in enumerate(
        ((40.0, "novice"), (60.0, "beginner"), (80.0, "intermediate"), (None, "advanced"))
    )
)
READINESS_UNKNOWN_EXPLAIN = ("readiness_bands", "the overall score is unknown → no readiness band")

# ---------------------------------------------------------------------------------------------------
# access.yaml: view → grants (rule path, role or None, relation or None, details, ", with …" text)
# ---------------------------------------------------------------------------------------------------
MENTEE_VIEW = "mentee_view"
COHORT_VIEW = "cohort_analytics"


def _grants(view: str, grants: list[tuple[str | None, str | None, tuple[str, ...]]]) -> tuple:
    return tuple(
        (f"{view}[{index}]", role, relation, frozenset(details), f", with {', '.join(details)}" if details else "")
        for index, (role, relation, details) in enumerate(grants)
    )


ACCESS = {
    MENTEE_VIEW: _grants(
        MENTEE_VIEW,
        [
            (None, "self", ()),
            ("mentor", "assigned_mentee", ("anti_cheat",)),
            ("admin", None, ("anti_cheat",)),
            ("coach", "assigned_coachee", ()),
            ("analyst", None, ()),
        ],
    ),
    COHORT_VIEW: _grants(COHORT_VIEW, [("admin", None, ()), ("director", "own_cohort", ())]),
    "enterprise_analytics": _grants("enterprise_analytics", [("admin", None, ())]),
}
_NO_VIEWER = {view: (view, f"no viewer was given; {view} is denied without one") for view in ACCESS}
_NO_DETAILS: frozenset[str] = frozenset()


def _access(view: str, viewer: dict | None, user: str, cohort: str | None, sponsor: str | None):
    """(allowed, details shown, explanations) for ``view`` of a learner, deny by default."""
    if viewer is None:
        return False, _NO_DETAILS, [_NO_VIEWER[view]]
    roles = viewer.get("roles") or ()
    explain = []
    details = _NO_DETAILS
    for path, role, relation, grant_details, with_text in ACCESS[view]:
        if role is not None and role not in roles:
            continue
        if relation is None:
            said = f"has role {role}"
        else:
            if relation == "self":
                viewer_id = viewer.get("user_id")
                if viewer_id is None or viewer_id != user:
                    continue
                words = "is the learner"
            elif relation == "assigned_mentee":
                if user not in (viewer.get("mentee_ids") or ()):
                    continue
                words = f"is assigned {user} as mentee"
            elif relation == "assigned_coachee":
                if user not in (viewer.get("coachee_ids") or ()):
                    continue
                words = f"coaches {user}"
            elif relation == "own_cohort":
                if cohort not in (viewer.get("cohort_ids") or ()):
                    continue
                words = f"holds cohort {cohort}"
            else:  # own_sponsor
                if sponsor not in (viewer.get("sponsor_ids") or ()):
                    continue
                words = f"holds sponsor {sponsor}"
            said = words if role is None else f"has role {role} and {words}"
        if grant_details:
            details = details | grant_details
        explain.append((path, f"the viewer {said} → {view} allowed{with_text}"))
    if not explain:
        shown = ", ".join(sorted(set(roles))) or "none"
        return False, _NO_DETAILS, [(view, f"the viewer (roles: {shown}) matches no grant of {view} → denied")]
    return True, details, explain


# ---------------------------------------------------------------------------------------------------
# catalogs
# ---------------------------------------------------------------------------------------------------
class PreparedCatalogs(dict):
    """Catalogs read once: ``missions``, ``recipes`` and ``jobs`` as tuples of plain rows, or ``None``."""


def _item_id(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def prepare_catalogs(catalogs: dict | None) -> PreparedCatalogs:
    """Read the catalogs once, as ``Dispatcher.prepare_catalogs`` validates them once (and as each job's
    folded track, skills, level and culture are cached on first use)."""
    if isinstance(catalogs, PreparedCatalogs):
        return catalogs
    catalogs = catalogs or {}
    prepared = PreparedCatalogs(missions=None, recipes=None, jobs=None)
    if "missions" in catalogs:
        prepared["missions"] = tuple(
            (int(m["difficulty"]), {"id": _item_id(m["id"]), "title": m["title"], "difficulty": int(m["difficulty"])})
            for m in catalogs["missions"]
        )
    if "recipes" in catalogs:
        prepared["recipes"] = tuple(
            (
                _item_id(r["id"]),
                r["title"],
                tuple(code.strip().upper() for code in r["skill_codes"]),
                r.get("is_active", True),
                r.get("usage_count", 0),
                None if r.get("avg_rating") is None else float(r["avg_rating"]),
            )
            for r in catalogs["recipes"]
        )
    if "jobs" in catalogs:
        jobs = []
        for job in catalogs["jobs"]:
            skills: dict[str, str] = {}
            for skill in job.get("required_skills", ()):
                skills.setdefault(name_key(skill), skill.strip())
            jobs.append(
                (
                    _item_id(job["id"]),
                    job["title"],
                    job["track_key"].strip(),
                    job["track_key"].strip().casefold(),
                    tuple((written, key) for key, written in skills.items()),
                    job["job_level"].strip().casefold(),
                    job["job_level"],
                    tuple(dict.fromkeys(name_key(trait) for trait in job.get("culture_fit", ()))),
                )
            )
        prepared["jobs"] = tuple(jobs)
    return prepared


# ---------------------------------------------------------------------------------------------------
# the per-result work
# ---------------------------------------------------------------------------------------------------
def _iso(value: str | None) -> str | None:
    """A timestamp as the report's JSON writes it: naive read as UTC, UTC written ``Z``."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    text = moment.isoformat()
    if moment.tzinfo is None:
        return text + "Z"
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _skipped(status: str | None, engine: str) -> dict:
    shown = "unknown" if status is None else repr(status)
    message = f"the result's status is {shown}; {engine} acts only on finished or locked results"
    return {"status": "skipped", "output": None, "explain": [("status", message)], "warnings": []}


def _denied(reason: tuple[str, str]) -> dict:
    return {"status": "denied", "output": None, "explain": [reason], "warnings": []}


def _locked_missions(cap: int, missions) -> list:
    """One explanation per difficulty above the cap that the catalog has missions of."""
    counts = Counter(d for d, _ in missions if d > cap)
    return [
        (
            f"difficulty_labels['{d}']",
            f"{counts[d]} mission(s) of difficulty {d} ({MISSION_LABELS[d]}) above the cap {cap} → locked",
        )
        for d in sorted(counts)
    ]


def _missions(status, complete, raw, missions) -> dict:
    selection = raw.strip().casefold() if raw else ""
    level = MISSION_LEVELS.get(selection) if selection else None
    warnings = []
    if not complete:
        reason = f"the result is not complete (status {status or 'unknown'})"
    elif not selection:
        reason = "the result has no difficulty selection"
    elif level is None:
        reason = f"difficulty_selection {raw!r} is not a known level"
        warnings.append(f"{reason} (allowed: {MISSION_ALLOWED}); the default max difficulty applies")
    else:
        cap, label, because, named = level
        return {
            "status": "ok",
            "output": {
                "profiler_difficulty": selection,
                "max_difficulty": cap,
                "label": label,
                "source": "profiler",
                "open_missions": None if missions is None else [m for d, m in missions if d <= cap],
            },
            "explain": [because, named, *(() if missions is None else _locked_missions(cap, missions))],
            "warnings": warnings,
        }
    cap = MISSION_DEFAULT_CAP
    return {
        "status": "ok",
        "output": {
            "profiler_difficulty": selection or None,
            "max_difficulty": cap,
            "label": MISSION_DEFAULT_LABEL,
            "source": "default",
            "open_missions": None if missions is None else [m for d, m in missions if d <= cap],
        },
        "explain": [
            ("default_max_difficulty", reason + MISSION_DEFAULT_TAIL),
            MISSION_DEFAULT_LABEL_EXPLAIN,
            *(() if missions is None else _locked_missions(cap, missions)),
        ],
        "warnings": warnings,
    }


def _recipes(breakdown, technical, aptitude_score, traits, areas, recipes) -> dict:
    explain = []
    gaps = []
    codes: dict[str, float] = {}
    weighed_by: dict[str, str] = {}
    add = explain.append

    def add_gap(category, kind, score, priority, gap_codes):
        gaps.append({"category": category, "type": kind, "score": score, "priority": priority})
        weight = PRIORITY_WEIGHTS[priority]
        for code in gap_codes:
            known = codes.get(code)
            if known is None or weight > known:
                weighed_by[code] = priority
                codes[code] = weight

    def priority_of(what, score, cutoff_text, rule):
        for band in PRIORITY_BANDS:  # the first band whose "below" the score is under
            if score < band[0]:
                break
        below, priority, path = band
        add((rule, f"{what} {score:g} is below {cutoff_text} → gap"))
        add((path, f"{what} {score:g} is below {below:g} → priority {priority}"))
        return priority

    for raw_name, score in breakdown:
        category = raw_name.strip()
        if score is None:
            add(("aptitude.gap_cutoff", f"{category} has no known score → no gap"))
            continue
        if score >= APTITUDE_CUTOFF:
            add(("aptitude.gap_cutoff", f"{category} {score:g} is not below the aptitude cutoff 60 → no gap"))
            continue
        priority = priority_of(category, score, "the aptitude cutoff 60", "aptitude.gap_cutoff")
        found = CATEGORY_BY_KEY.get(name_key(category))
        if found is None:
            add(("categories", f"{category} is not a category or alias in the rules → no skill codes"))
            gap_codes = ()
        else:
            name, alias_path, codes_path, gap_codes, joined = found
            if alias_path is not None:
                add((alias_path, f"{category} is an alias of {name} → its skill codes"))
            add((codes_path, f"{category} calls for {joined}"))
        add_gap(category, "aptitude", score, priority, gap_codes)

    if technical is None:
        add(("technical_exposure.gap_cutoff", "technical exposure has no known score → no gap"))
    elif technical >= TECHNICAL_CUTOFF:
        add(("technical_exposure.gap_cutoff", f"technical exposure {technical:g} is not below its cutoff 60 → no gap"))
    else:
        priority = priority_of("technical exposure", technical, "its cutoff 60", "technical_exposure.gap_cutoff")
        add(TECHNICAL_CODES_EXPLAIN)
        add_gap("technical_exposure", "technical", technical, priority, TECHNICAL_CODES)

    def behavioral_gap(text, score):
        gap_codes = []
        for word in dict.fromkeys([match.group().casefold() for match in KEYWORD_PATTERN.finditer(text)]):
            written, path, word_codes, joined = KEYWORDS[word]
            add((path, f"'{text}' mentions {written} → {joined}"))
            gap_codes.extend(word_codes)
        add_gap(text, "behavioral", score, BEHAVIORAL_PRIORITY, gap_codes)

    if areas is not None:
        for area in areas:
            text = area.strip()
            if text:
                add(("behavioral.priority", f"growth area '{text}' → gap, priority {BEHAVIORAL_PRIORITY}"))
                behavioral_gap(text, None)
    else:
        for trait, mean in traits.items():
            if mean < BEHAVIORAL_CUTOFF:
                add(
                    (
                        "behavioral.gap_cutoff",
                        f"trait {trait} {mean:g} is below the behavioral cutoff 5 → gap, priority {BEHAVIORAL_PRIORITY}",
                    )
                )
                behavioral_gap(trait, mean)

    recommended = None
    if recipes is not None:
        ranked = []
        for recipe_id, title, recipe_codes, active, usage, rating in recipes:
            matched = dict.fromkeys([code for code in recipe_codes if code in codes])
            if active and matched:
                coverage = sum(map(codes.__getitem__, matched))
                ranked.append((-coverage, -usage, -(rating or 0.0), recipe_id, title, matched))
        ranked.sort(key=_RANK_KEY)
        recommended = [
            {"id": recipe_id, "title": title, "skill_codes": list(matched), "coverage": -coverage}
            for coverage, _, _, recipe_id, title, matched in ranked[:MAX_RECIPES]
        ]
        used = {weighed_by[code] for row in ranked for code in row[5]}
        for priority, because in PRIORITY_WEIGHT_EXPLAIN.items():
            if priority in used:
                add(because)
        add(
            (
                "recommendations.max_recipes",
                f"{len(ranked)} active recipe(s) teach a needed skill; ranked by covered codes weighted by gap "
                f"priority, then usage, rating and id → at most {MAX_RECIPES} are kept, {len(recommended)} recommended",
            )
        )
    return {
        "status": "ok",
        "output": {
            "gaps": gaps,
            "recommended_recipe_skills": list(codes),
            "aptitude_score": aptitude_score,
            "technical_exposure_score": technical,
            "total_gaps": len(gaps),
            "total_skills": len(codes),
            "recommended_recipes": recommended,
        },
        "explain": explain,
        "warnings": [],
    }


def _end_sentence(text: str) -> str:
    """A sentence keeps its own final punctuation, or ends with a full stop (a dangling , ; : dropped)."""
    if text.rstrip("\"'”’»)]").endswith((".", "!", "?", "…", "。", "！", "？")):
        return text
    return text.rstrip(",;: \t") + "."


def _statement(answers: dict) -> tuple[str, list]:
    """The value statement from the answers, and its explanations (portfolio rule paths)."""
    parts = []
    explain = []
    answer = (answers.get("why_cyber") or "").strip()
    if answer:
        parts.append(_end_sentence(f"{WHY_TEMPLATE}{answer}".strip()))
        explain.append(("statement.why_cyber", f"why_cyber is answered → sentence {len(parts)} of the statement"))
    else:
        explain.append(WHY_MISSING)
    answer = (answers.get("what_achieve") or "").strip()
    if answer:
        parts.append(_end_sentence(f"{WHAT_TEMPLATE}{answer}".strip()))
        explain.append(("statement.what_achieve", f"what_achieve is answered → sentence {len(parts)} of the statement"))
    else:
        explain.append(WHAT_MISSING)
    values = [value for value in (raw.strip() for raw in answers.get("identity_values") or ()) if value]
    if values:
        joined = ", ".join(values)
        parts.append(VALUES_SENTENCE)  # the template uses no {values}
        explain.append(
            (
                "statement.identity_values",
                f"{len(values)} identity value(s) given ({joined}) → sentence {len(parts)} of the statement",
            )
        )
    else:
        explain.append(VALUES_MISSING)
    if not parts:
        parts.append(FALLBACK_SENTENCE)
        explain.append(FALLBACK_EXPLAIN)
    return " ".join(parts), explain


def _portfolio(session_id, user_id, answers) -> dict:
    text, explain = _statement(answers)
    key = KEY_PREFIX + user_id
    explain.extend(PORTFOLIO_FIELDS_EXPLAIN)
    explain.append(
        ("idempotency_key", f"learner '{user_id}' → the entry is filed under the key '{key}', one entry per learner")
    )
    explain.append(("on_retake", f"on a retake the host replaces the learner's entry '{key}' with this one"))
    return {
        "status": "ok",
        "output": {
            "item_type": ITEM_TYPE,
            "title": TITLE,
            "summary": text,
            "status": ENTRY_STATUS,
            "visibility": VISIBILITY,
            "profiler_session_id": session_id,
            "user_id": user_id,
            "idempotency_key": key,
            "on_retake": ON_RETAKE,
        },
        "explain": explain,
        "warnings": [],
    }


def _leadership(session_id, completed_at, answers, recommended, traits) -> dict:
    text, explain = _statement(answers)
    explain.append(ACADEMY_SHARED_EXPLAIN)
    checks = []  # (matched, reason, rule path)
    track = (recommended or "").strip().casefold()
    if not track:
        checks.append((False, "no recommended track", "eligibility.tracks"))
    else:
        path = ACADEMY_TRACKS.get(track)
        if path is None:
            reason = f"recommended track '{track}' is not an academy track ({ACADEMY_TRACKS_TEXT})"
            checks.append((False, reason, "eligibility.tracks"))
        else:
            checks.append((True, f"recommended track '{track}' is an academy track", path))
    folded: dict[str, tuple[str, float]] = {}
    for name, mean in traits.items():
        folded.setdefault(name.strip().casefold(), (name.strip(), mean))
    for written, trait, threshold, path in TRAIT_THRESHOLDS:
        found = folded.get(trait)
        if found is None:
            checks.append((False, f"trait {written} is unknown (not in the behavioral profile)", path))
        elif found[1] >= threshold:
            checks.append((True, f"trait {found[0]} {found[1]:g} is at or above {threshold:g}", path))
        else:
            checks.append((False, f"trait {found[0]} {found[1]:g} is below {threshold:g}", path))
    eligible = any(matched for matched, _, _ in checks)
    for matched, reason, path in checks:
        explain.append((path, f"{reason} → {'match' if matched else 'no match'}"))
    explain.append(ELIGIBLE_EXPLAIN if eligible else NOT_ELIGIBLE_EXPLAIN)
    return {
        "status": "ok",
        "output": {
            "value_statement": text,
            "created_at": completed_at,
            "profiler_session_id": session_id,
            "status": ENTRY_STATUS,
            "visibility": VISIBILITY,
            "eligible": eligible,
            "eligibility_reasons": [reason for matched, reason, _ in checks if matched == eligible],
        },
        "explain": explain,
        "warnings": [],
    }


def _marketplace(raw, recommended, alignment_pairs, breakdown, traits, strengths, profile_strengths, jobs) -> dict:
    explain = list(MARKET_WEIGHTS_EXPLAIN)
    warnings = []
    add = explain.append
    # the learner's level
    selection = raw.strip().casefold() if raw else ""
    found = MARKET_DIFFICULTY.get(selection) if selection else None
    if found is not None:
        learner, because = found
        add(because)
    else:
        learner = None
        if not selection:
            reason = "the result has no difficulty selection"
        else:
            reason = f"difficulty_selection {raw!r} is not a known difficulty"
            warnings.append(f"{reason} (allowed: {MARKET_DIFFICULTIES_TEXT}); the level part is 0 for every job")
        add(("difficulty_levels", f"{reason}: the level part is 0 for every job"))
    # what the result says, folded once
    alignment: dict[str, float] = {}
    for name, value in alignment_pairs:
        alignment.setdefault(name.strip().casefold(), value)
    aptitude: dict[str, float | None] = {}
    for name, value in breakdown:
        aptitude.setdefault(name_key(name), value)
    shown = frozenset(
        name_key(trait)
        for trait in (
            *strengths,
            *profile_strengths,
            *(trait for trait, mean in traits.items() if mean >= MARKET_BEHAVIORAL_CUTOFF),
        )
    )
    noted_tracks: set[str] = set()
    noted_skills: set[str] = set()
    noted_levels: set[int] = set()
    level_said = cutoff_said = False
    fsum = math.fsum
    scored = []
    for job_id, title, track_key, track, skills, level, job_level, culture in jobs:
        track_part = alignment.get(track)
        if track_part is None:
            if track not in noted_tracks:
                noted_tracks.add(track)
                add(
                    ("weights.track", f"the learner has no alignment for track '{track_key}': it counts 0 for matching")
                )
            track_part = 0.0
        if not skills:
            skills_part = 100.0
        else:
            values = []
            for written, key in skills:
                if key not in aptitude:
                    if key not in noted_skills:
                        noted_skills.add(key)
                        add(
                            (
                                "weights.skills",
                                f"skill '{written}' is not in the aptitude breakdown: it counts 0 for matching",
                            )
                        )
                    values.append(0.0)
                    continue
                score = aptitude[key]
                if score is None:
                    if key not in noted_skills:
                        noted_skills.add(key)
                        add(("weights.skills", f"skill '{written}' has no known score: unknown counts 0 for matching"))
                    values.append(0.0)
                else:
                    values.append(score)
            skills_part = fsum(values) / len(skills)
        job_index = JOB_LEVEL_INDEX.get(level)
        if job_index is None:
            warnings.append(
                f"job {job_id!r} has job_level {job_level!r}, which is not a level (allowed: {JOB_LEVELS_TEXT}); its level part is 0"
            )
            add(("levels", f"job {job_id} has job_level '{job_level}', which is not a level: its level part is 0"))
            level_part = 0.0
        elif learner is None:
            level_part = 0.0
        else:
            if not level_said:
                level_said = True
                add(MARKET_LEARNER_LEVEL_EXPLAIN[learner])
            level_part, because = MARKET_LEVEL_STEPS[learner][job_index]
            if job_index not in noted_levels:
                noted_levels.add(job_index)
                add(because)
        if not culture:
            behavioral_part = 100.0
        else:
            if not cutoff_said and traits:
                cutoff_said = True
                above = ", ".join(f"{t} {m:g}" for t, m in traits.items() if m >= MARKET_BEHAVIORAL_CUTOFF) or "none"
                below = ", ".join(f"{t} {m:g}" for t, m in traits.items() if m < MARKET_BEHAVIORAL_CUTOFF) or "none"
                add(
                    (
                        "behavioral_cutoff",
                        f"traits at or above the behavioral cutoff {MARKET_BEHAVIORAL_CUTOFF:g} → shown: {above}; "
                        f"below it → not shown: {below}",
                    )
                )
            behavioral_part = 100 * sum(trait in shown for trait in culture) / len(culture)
        total = fsum(
            (W_TRACK * track_part, W_SKILLS * skills_part, W_LEVEL * level_part, W_BEHAVIORAL * behavioral_part)
        )
        scored.append(
            (
                round(total, 2),
                job_id,
                title,
                round(track_part, 2),
                round(skills_part, 2),
                round(level_part, 2),
                round(behavioral_part, 2),
            )
        )
    kept = sorted((row for row in scored if row[0] >= MINIMUM_SCORE), key=lambda row: (-row[0], row[1]))
    t_track, t_skills, t_level, t_behavioral = MARKET_TERMS
    matches = []
    for score, job_id, title, c_track, c_skills, c_level, c_behavioral in kept:
        add(
            (
                "weights",
                f"job {job_id} '{title}': {t_track} {c_track:g} + {t_skills} {c_skills:g} + {t_level} {c_level:g} + "
                f"{t_behavioral} {c_behavioral:g} = {score:g}, at least the minimum {MINIMUM_SCORE:g} → match",
            )
        )
        matches.append(
            {
                "job_id": job_id,
                "title": title,
                "match_score": score,
                "components": {"track": c_track, "skills": c_skills, "level": c_level, "behavioral": c_behavioral},
            }
        )
    add(
        (
            "minimum_score",
            f"{len(scored) - len(kept)} of {len(scored)} job(s) scored below the minimum {MINIMUM_SCORE:g} and are not shown",
        )
    )
    return {
        "status": "ok",
        "output": {
            "profiler_complete": True,
            "recommended_track": recommended,
            "total_jobs_considered": len(jobs),
            "matches": matches,
        },
        "explain": explain,
        "warnings": warnings,
    }


def _readiness(overall):
    if overall is None:
        return None, READINESS_UNKNOWN_EXPLAIN
    for below, band, path, limit in READINESS_BANDS:
        if below is None or overall < below:
            return band, (path, f"overall {overall:g} is {limit} → readiness {band}")
    raise AssertionError("the last band is open")


def _number(value):
    return None if value is None else float(value)


def dispatch(result: dict, viewer: dict | None, catalogs: dict | None) -> dict:
    """Every built-in engine's answer to one result (the JSON of a valid result), by hand.

    ``{engine: {"status", "output" (JSON-ready, or None), "explain": [(rule_path, message)], "warnings"}}``
    """
    if not isinstance(catalogs, PreparedCatalogs):
        catalogs = prepare_catalogs(catalogs)
    get = result.get
    session_id = result["session_id"]
    user_id = result["user_id"]
    status = get("status")
    complete = status in COMPLETE_STATUSES
    cohort_id = get("cohort_id")
    sponsor_id = get("sponsor_id")
    difficulty = get("difficulty_selection")
    engines = {"missions": _missions(status, complete, difficulty, catalogs["missions"])}

    if not complete:
        engines["recipes"] = _skipped(status, "recipes")
        engines["portfolio"] = _skipped(status, "portfolio")
        engines["leadership"] = _skipped(status, "leadership")
        shown = "unknown" if status is None else repr(status)
        engines["marketplace"] = {
            "status": "ok",
            "output": {
                "profiler_complete": False,
                "recommended_track": None,
                "total_jobs_considered": 0,
                "matches": [],
            },
            "explain": [
                (
                    "status",
                    f"the result's status is {shown}; talent matching needs a finished or locked result → no matches",
                )
            ],
            "warnings": [],
        }
        allowed, _, because = _access(MENTEE_VIEW, viewer, user_id, cohort_id, sponsor_id)
        if not allowed:
            engines["mentorship"] = _denied(because[0])
        else:
            reason = (
                f"the result's status is {shown}; there are no profiler results to show until it is finished or locked"
            )
            engines["mentorship"] = {
                "status": "skipped",
                "output": None,
                "explain": [("status", reason)],
                "warnings": [],
            }
        # analytics decides access first too, so a denied viewer learns nothing of the result
        allowed, _, explain = _access(COHORT_VIEW, viewer, get("user_id"), get("cohort_id"), get("sponsor_id"))
        if not allowed:
            engines["analytics"] = _denied(explain[0])
        else:
            message = f"the result's status is {shown}; only finished or locked results count in the dashboards"
            engines["analytics"] = {
                "status": "skipped",
                "output": None,
                "explain": [("status", message)],
                "warnings": [],
            }
        return engines

    # The result's values, converted once where the model converts them.
    scores = get("scores") or {}
    overall = _number(scores.get("overall"))
    aptitude_score = _number(scores.get("aptitude"))
    behavioral_score = _number(scores.get("behavioral"))
    technical = _number(get("technical_exposure_score"))
    breakdown = []
    for name, value in (get("aptitude_breakdown") or {}).items():
        if value is None:
            breakdown.append((name, None))
        elif type(value) is dict:
            total = int(value["total"])
            breakdown.append((name, None if total == 0 else round(int(value["correct"]) * 100 / total, 2)))
        else:
            breakdown.append((name, float(value)))
    profile = get("behavioral_profile")
    if not profile:
        traits: dict[str, float] = {}
        profile_strengths: list[str] = []
        areas = None
    elif profile.keys() <= _STRUCTURED_KEYS:
        traits = {name: float(mean) for name, mean in (profile.get("traits") or {}).items()}
        profile_strengths = list(profile.get("strengths") or ())
        areas = profile.get("areas_for_growth")
        if areas is not None:
            areas = list(areas)
    else:  # the platform's flat {category: mean}
        traits = {name: float(mean) for name, mean in profile.items()}
        profile_strengths = []
        areas = None
    strengths = list(get("strengths") or ())
    recommended = get("recommended_track")
    alignment = [(name, float(value)) for name, value in (get("track_alignment") or {}).items()]
    answers = get("answers") or {}
    completed_at = _iso(get("completed_at"))

    engines["recipes"] = _recipes(breakdown, technical, aptitude_score, traits, areas, catalogs["recipes"])
    engines["portfolio"] = _portfolio(session_id, user_id, answers)
    engines["leadership"] = _leadership(session_id, completed_at, answers, recommended, traits)
    jobs = catalogs["jobs"]
    if jobs is None:
        engines["marketplace"] = {
            "status": "ok",
            "output": {
                "profiler_complete": True,
                "recommended_track": recommended,
                "total_jobs_considered": 0,
                "matches": None,
            },
            "explain": [("jobs", "no jobs catalog was given, so there are no jobs to match")],
            "warnings": [],
        }
    else:
        engines["marketplace"] = _marketplace(
            difficulty, recommended, alignment, breakdown, traits, strengths, profile_strengths, jobs
        )

    # mentorship: access first (mentee_view), anti-cheat only for grants that show it
    allowed, details, explain = _access(MENTEE_VIEW, viewer, user_id, cohort_id, sponsor_id)
    if not allowed:
        engines["mentorship"] = _denied(explain[0])
    else:
        view = {
            "mentee_id": user_id,
            "session_id": session_id,
            "status": status,
            "completed_at": completed_at,
            "is_locked": status == "locked",
            "scores": {"overall": overall, "aptitude": aptitude_score, "behavioral": behavioral_score},
            "recommended_track": {"track": recommended, "confidence": _number(get("track_confidence"))},
            "track_alignment": dict(alignment),
            "strengths": strengths,
            "areas_for_growth": list(get("areas_for_growth") or ()),
            "behavioral_profile": {"traits": dict(traits), "strengths": profile_strengths, "areas_for_growth": areas},
            "future_you_persona": get("future_you_persona"),
            "aptitude_breakdown": dict(breakdown),
        }
        if "anti_cheat" in details:
            signals = get("anti_cheat")
            if signals is None:
                view["anti_cheat"] = None
                explain.append(AC_NONE_EXPLAIN)
            else:
                score = _number(signals.get("score"))
                needs_review = score is not None and score >= REVIEW_AT
                patterns = signals.get("suspicious_patterns") or ()
                view["anti_cheat"] = {
                    "score": score,
                    "needs_review": needs_review,
                    "suspicious_patterns": [{"pattern": name, "meaning": AC_PATTERNS.get(name)} for name in patterns],
                    "device_fingerprint": signals.get("device_fingerprint"),
                }
                explain.append(
                    AC_REVIEW_EXPLAIN if needs_review else AC_BELOW_EXPLAIN if score is not None else AC_UNKNOWN_EXPLAIN
                )
                for name in dict.fromkeys(patterns):
                    known = AC_PATTERN_EXPLAIN.get(name)
                    explain.append(
                        known
                        if known is not None
                        else (
                            "anti_cheat.patterns",
                            f"suspicious pattern {name} has no meaning in the rules → shown without one",
                        )
                    )
        engines["mentorship"] = {"status": "ok", "output": view, "explain": explain, "warnings": []}

    # analytics: the learner's dashboard row, for viewers of the cohort's analytics
    allowed, _, explain = _access(COHORT_VIEW, viewer, user_id, cohort_id, sponsor_id)
    if not allowed:
        engines["analytics"] = _denied(explain[0])
    else:
        band, because = _readiness(overall)
        explain.append(because)
        engines["analytics"] = {
            "status": "ok",
            "output": {
                "readiness": band,
                "aptitude_score": aptitude_score,
                "overall_score": overall,
                "recommended_track": recommended,
                "cohort_id": cohort_id,
                "cohort_ids": [] if cohort_id is None else [cohort_id],  # the bench's results hold one cohort
                "sponsor_id": sponsor_id,
            },
            "explain": explain,
            "warnings": [],
        }
    return engines


# ---------------------------------------------------------------------------------------------------
# the checker
# ---------------------------------------------------------------------------------------------------
_DISPATCHER = None


def _dispatcher():
    global _DISPATCHER
    if _DISPATCHER is None:
        from profiler_rules import Dispatcher

        _DISPATCHER = Dispatcher.from_rules(entry_points=False)
    return _DISPATCHER


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _first_difference(mine: Any, theirs: Any, where: str) -> str | None:
    """Where two JSON values first differ (numbers by ==, but a bool is not a number), or None."""
    if isinstance(mine, bool) or isinstance(theirs, bool):
        return None if type(mine) is type(theirs) and mine == theirs else where
    if isinstance(mine, int | float) and isinstance(theirs, int | float):
        return None if mine == theirs else where
    if type(mine) is not type(theirs):
        return where
    if isinstance(mine, dict):
        for key in list(mine) + [key for key in theirs if key not in mine]:
            if key not in mine or key not in theirs:
                return f"{where}.{key}"
            found = _first_difference(mine[key], theirs[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(mine, list):
        for index, (a, b) in enumerate(zip(mine, theirs, strict=False)):
            found = _first_difference(a, b, f"{where}[{index}]")
            if found:
                return found
        return None if len(mine) == len(theirs) else f"{where}[{min(len(mine), len(theirs))}]"
    return None if mine == theirs else where


def _lookup(value: Any, where: str, prefix: str) -> Any:
    for part in re.findall(r"\.([^.\[]+)|\[(\d+)\]", where[len(prefix) :]):
        key, index = part
        try:
            value = value[int(index)] if index else value[key]
        except (KeyError, IndexError, TypeError):
            return "<absent>"
    return value


def check(results: list[dict], viewer: dict | None, catalogs: dict | None, *, messages: bool = False) -> None:
    """Assert that the baseline and the dispatcher agree on every result, engine by engine: status,
    output (as the report's JSON), warnings and the explanations' rule paths (and messages, if asked).

    :raises AssertionError: naming the engine, the session and the first differing field.
    """
    dispatcher = _dispatcher()
    theirs_catalogs = dispatcher.prepare_catalogs(catalogs)
    mine_catalogs = prepare_catalogs(catalogs)
    for result in results:
        report = dispatcher.dispatch(result, viewer=viewer, catalogs=theirs_catalogs)
        mine = dispatch(result, viewer, mine_catalogs)
        session = result.get("session_id")
        if tuple(mine) != tuple(report.engines):
            raise AssertionError(
                f"session {session}: engines {tuple(mine)} vs the dispatcher's {tuple(report.engines)}"
            )
        for engine, answer in report.engines.items():
            difference = _difference(mine[engine], answer, messages)
            if difference is not None:
                field, a, b = difference
                error = f" (dispatcher error: {answer.error})" if answer.error else ""
                raise AssertionError(
                    f"engine {engine}, session {session}: {field} differs: baseline {a!r}, dispatcher {b!r}{error}"
                )


def _difference(got: dict, answer: Any, messages: bool) -> tuple[str, Any, Any] | None:
    """The first field where the baseline's answer and the engine's report differ, with both values."""
    if got["status"] != answer.status:
        return "status", got["status"], answer.status
    expected = None if answer.output is None else answer.output.model_dump(mode="json")
    mine_output, their_output = _json(got["output"]), _json(expected)
    where = _first_difference(mine_output, their_output, "output")
    if where:
        return where, _lookup(mine_output, where, "output"), _lookup(their_output, where, "output")
    if list(got["warnings"]) != list(answer.warnings):
        return "warnings", got["warnings"], list(answer.warnings)
    mine_paths = [rule for rule, _ in got["explain"]]
    their_paths = [item.rule for item in answer.explain]
    if mine_paths != their_paths:
        index = next(
            (i for i, (a, b) in enumerate(zip(mine_paths, their_paths, strict=False)) if a != b),
            min(len(mine_paths), len(their_paths)),
        )
        return (
            f"explain[{index}].rule (baseline {len(mine_paths)}, dispatcher {len(their_paths)} explanations)",
            mine_paths[index] if index < len(mine_paths) else "<absent>",
            their_paths[index] if index < len(their_paths) else "<absent>",
        )
    if messages:
        for index, ((_, a), item) in enumerate(zip(got["explain"], answer.explain, strict=True)):
            if a != item.message:
                return f"explain[{index}].message", a, item.message
    return None


# ---------------------------------------------------------------------------------------------------
# sample results
# ---------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------
# python bench/baseline.py
# ---------------------------------------------------------------------------------------------------
ADMIN = {"user_id": "admin-1", "roles": ["admin"]}
COACH = {"user_id": "coach-1", "roles": ["coach"], "coachee_ids": [f"learner-{n}" for n in range(1, 301, 3)]}
# Extra viewers, beyond the three the benchmark names, to exercise the other grants and denials.
OTHER_VIEWERS = {
    "mentor": {"user_id": "mentor-1", "roles": ["mentor"], "mentee_ids": [f"learner-{n}" for n in range(1, 301, 2)]},
    "director": {"user_id": "director-1", "roles": ["director"], "cohort_ids": ["cohort-2026-spring"]},
    "learner": {"user_id": "learner-123", "roles": ["student"]},
    "many roles": {
        "user_id": "learner-7",
        "roles": ["analyst", "coach", "mentor", "coach"],
        "coachee_ids": ["learner-7"],
    },
    "no roles": {"user_id": "nobody"},
}
# Catalog items the bundled catalogs lack: integer ids, codes to normalise, an inactive and an unrated
# recipe, a job level that is not a level, a job with no skills or culture, a skill written twice.
EXTRA_CATALOGS = {
    "missions": [{"id": 7, "title": "Write a YARA rule", "difficulty": 3}],
    "recipes": [
        {"id": 9, "title": "Cloud basics", "skill_codes": [" cloud ", "aws", "AWS"], "usage_count": 320},
        {"id": "r-lead", "title": "Leading a team", "skill_codes": ["LEAD", "COMM"], "is_active": False},
        {"id": "r-net2", "title": "Networks again", "skill_codes": ["NET", "DNS"], "usage_count": 320, "avg_rating": 4.6},
    ],
    "jobs": [
        {"id": 42, "title": "Cloud engineer", "track_key": " Innovation ", "required_skills": ["Cloud", "cloud", "aws"],
         "job_level": "Lead", "culture_fit": []},
        {"id": "job-any", "title": "Apprentice", "track_key": "defender", "job_level": " ENTRY "},
        {"id": "job-lead", "title": "Team lead", "track_key": "leadership", "required_skills": ["reverse engineering"],
         "job_level": "expert", "culture_fit": ["Leadership", "communication", "leadership"]},
    ],
}  # fmt: skip


def _extra_catalogs(catalogs: dict) -> dict:
    return {name: catalogs.get(name, []) + items for name, items in EXTRA_CATALOGS.items()}


def _per_call(function, number: int = 2000, repeat: int = 5) -> float:
    return min(timeit.repeat(function, number=number, repeat=repeat)) / number


def main(argv: list[str]) -> None:
    messages = "--messages" in argv
    example = load_example()
    catalogs = load_catalogs()
    results = [example, *sample_results(2000)]
    viewers = {"admin": ADMIN, "coach": COACH, "no viewer": None}
    for viewer in viewers.values():
        check(results, viewer, catalogs, messages=messages)
    for viewer in OTHER_VIEWERS.values():
        check(results, viewer, catalogs, messages=messages)
    check(results, ADMIN, {}, messages=messages)  # no catalogs at all
    check(results, ADMIN, _extra_catalogs(catalogs), messages=messages)
    print(f"baseline agrees with the dispatcher on {len(results)} results")
    print(
        f"  (viewers: {', '.join([*viewers, *OTHER_VIEWERS])}; bundled catalogs, none, and extended ones"
        f"{'; explanation messages compared too' if messages else ''})"
    )
    if "--time" in argv:
        # timeit, min of 5 repeats: 2,000 calls on the bundled example; one pass over the 2,000 samples.
        dispatcher = _dispatcher()
        theirs = dispatcher.prepare_catalogs(catalogs)
        mine = prepare_catalogs(catalogs)
        sample = results[1:]

        def over_sample(function) -> float:
            return min(timeit.repeat(lambda: [function(result) for result in sample], number=1, repeat=5)) / len(sample)

        rows = [
            ("baseline, bundled example", _per_call(lambda: dispatch(example, ADMIN, mine))),
            (
                "dispatcher, bundled example",
                _per_call(lambda: dispatcher.dispatch(example, viewer=ADMIN, catalogs=theirs)),
            ),
            ("baseline, raw catalogs", _per_call(lambda: dispatch(example, ADMIN, catalogs))),
            (
                "dispatcher, raw catalogs",
                _per_call(lambda: dispatcher.dispatch(example, viewer=ADMIN, catalogs=catalogs), 200),
            ),
            ("baseline, 2,000 sampled", over_sample(lambda result: dispatch(result, ADMIN, mine))),
            (
                "dispatcher, 2,000 sampled",
                over_sample(lambda result: dispatcher.dispatch(result, viewer=ADMIN, catalogs=theirs)),
            ),
        ]
        print("admin viewer, bundled catalogs (prepared once unless raw):")
        for label, seconds in rows:
            print(f"{label:>30}: {seconds * 1e6:8.1f} µs per result")


if __name__ == "__main__":
    main(sys.argv[1:])
