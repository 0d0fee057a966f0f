"""The floor's recipes engine (recipes.yaml): skill gaps, the skill codes they call for, and the recipes
that teach them, ranked."""

from __future__ import annotations

import re
from operator import itemgetter
from typing import Any

from .common import Answer, Cited, Explanation, Facts, RuleFile, item_id, name_key, ok, said, skipped, status_reason

NAME = "recipes"
CATALOG = "recipes"
RULES = RuleFile("recipes")
APTITUDE_CUTOFF = 60.0
TECHNICAL_CUTOFF = 60.0
TECHNICAL_CODES = ("TECH", "BASICS", "FUNDAMENTALS")
TECHNICAL_CODES_SAID = RULES.said(
    "technical_exposure.skill_codes", "technical exposure calls for TECH, BASICS, FUNDAMENTALS"
)
# (below, priority, its "below" cited); the gap cutoffs (60) do not exceed the last band
PRIORITY_BANDS = (
    (40.0, "high", RULES.cite("priority_bands[0].below")),
    (60.0, "medium", RULES.cite("priority_bands[1].below")),
)
BEHAVIORAL_CUTOFF = 5.0
BEHAVIORAL_PRIORITY = "medium"
PRIORITY_WEIGHTS = {"high": 2.0, "medium": 1.0}
MAX_RECIPES = 10
PRIORITY_WEIGHT_SAID = {
    priority: RULES.said(
        f"recommendations.priority_weights.{priority}",
        f"a needed skill code from a {priority} priority gap → it counts {weight:g} towards a recipe's rank",
    )
    for priority, weight in PRIORITY_WEIGHTS.items()
}
APTITUDE_CITED = RULES.cite("aptitude.gap_cutoff")
TECHNICAL_CITED = RULES.cite("technical_exposure.gap_cutoff")
CATEGORIES_CITED = RULES.cite("categories")
BEHAVIORAL_PRIORITY_CITED = RULES.cite("behavioral.priority")
BEHAVIORAL_CUTOFF_CITED = RULES.cite("behavioral.gap_cutoff")
MAX_RECIPES_CITED = RULES.cite("recommendations.max_recipes")
TECHNICAL_UNKNOWN_SAID = RULES.said("technical_exposure.gap_cutoff", "technical exposure has no known score → no gap")
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
# name_key of a category or alias → (category, alias cited or None, skill_codes cited, codes, codes joined)
CATEGORY_BY_KEY: dict[str, tuple[str, Cited | None, Cited, tuple[str, ...], str]] = {}
for _name, (_codes, _aliases) in _CATEGORIES.items():
    _entry = (_name, None, RULES.cite(f"categories.{_name}.skill_codes"), _codes, ", ".join(_codes))
    for _position, _alias in reversed(list(enumerate(_aliases))):  # the first alias of a key wins
        CATEGORY_BY_KEY[name_key(_alias)] = (_name, RULES.cite(f"categories.{_name}.aliases[{_position}]"), *_entry[2:])
    CATEGORY_BY_KEY[name_key(_name)] = _entry
# keyword (case-folded) → (keyword as written, cited, its codes, codes joined)
KEYWORDS = {
    word: (word, RULES.cite(f"behavioral.keywords.{word}"), codes, ", ".join(codes))
    for word, codes in {"communication": ("COMM",), "leadership": ("LEAD",), "documentation": ("DOC",)}.items()
}
KEYWORD_PATTERN = re.compile(
    r"(?<![^\W_])(?:" + "|".join(re.escape(w) for w in sorted(KEYWORDS, key=len, reverse=True)) + r")(?![^\W_])",
    re.IGNORECASE,
)
_RANK_KEY = itemgetter(0, 1, 2, 3)
_SKIP_REASON = "recipes acts only on finished or locked results"

Recipe = tuple[Any, str, tuple[str, ...], bool, int, float | None]


def prepare(items: list[dict[str, Any]]) -> tuple[Recipe, ...]:
    """The recipes catalog as (id, title, normalised codes, active, usage, rating)."""
    return tuple(
        (
            item_id(r["id"]),
            r["title"],
            tuple(code.strip().upper() for code in r["skill_codes"]),
            r.get("is_active", True),
            r.get("usage_count", 0),
            None if r.get("avg_rating") is None else float(r["avg_rating"]),
        )
        for r in items
    )


class _Gaps:
    """The gaps found so far, the skill codes they call for (each at its heaviest priority's weight),
    and the explanations, when asked for."""

    __slots__ = ("gaps", "codes", "weighed_by", "explain", "add")

    def __init__(self, explain: bool) -> None:
        self.gaps: list[dict[str, Any]] = []
        self.codes: dict[str, float] = {}
        self.weighed_by: dict[str, str] = {}
        self.explain: list[Explanation] | None = [] if explain else None
        self.add = None if self.explain is None else self.explain.append

    def gap(
        self, category: str, kind: str, score: float | None, priority: str, codes: tuple[str, ...] | list[str]
    ) -> None:
        self.gaps.append({"category": category, "type": kind, "score": score, "priority": priority})
        weight = PRIORITY_WEIGHTS[priority]
        for code in codes:
            known = self.codes.get(code)
            if known is None or weight > known:
                self.weighed_by[code] = priority
                self.codes[code] = weight

    def priority(self, what: str, score: float, cutoff_text: str, cited: Cited) -> str:
        for band in PRIORITY_BANDS:  # the first band whose "below" the score is under
            if score < band[0]:
                break
        below, priority, band_cited = band
        if self.add is not None:
            self.add(said(cited, f"{what} {score:g} is below {cutoff_text} → gap"))
            self.add(said(band_cited, f"{what} {score:g} is below {below:g} → priority {priority}"))
        return priority


def _aptitude(gaps: _Gaps, breakdown: list[tuple[str, float | None]]) -> None:
    add = gaps.add
    for raw_name, score in breakdown:
        category = raw_name.strip()
        if score is None:
            if add is not None:
                add(said(APTITUDE_CITED, f"{category} has no known score → no gap"))
            continue
        if score >= APTITUDE_CUTOFF:
            if add is not None:
                add(said(APTITUDE_CITED, f"{category} {score:g} is not below the aptitude cutoff 60 → no gap"))
            continue
        priority = gaps.priority(category, score, "the aptitude cutoff 60", APTITUDE_CITED)
        found = CATEGORY_BY_KEY.get(name_key(category))
        if found is None:
            if add is not None:
                add(said(CATEGORIES_CITED, f"{category} is not a category or alias in the rules → no skill codes"))
            codes: tuple[str, ...] = ()
        else:
            name, alias_cited, codes_cited, codes, joined = found
            if add is not None:
                if alias_cited is not None:
                    add(said(alias_cited, f"{category} is an alias of {name} → its skill codes"))
                add(said(codes_cited, f"{category} calls for {joined}"))
        gaps.gap(category, "aptitude", score, priority, codes)


def _technical(gaps: _Gaps, technical: float | None) -> None:
    add = gaps.add
    if technical is None:
        if add is not None:
            add(TECHNICAL_UNKNOWN_SAID)
    elif technical >= TECHNICAL_CUTOFF:
        if add is not None:
            add(said(TECHNICAL_CITED, f"technical exposure {technical:g} is not below its cutoff 60 → no gap"))
    else:
        priority = gaps.priority("technical exposure", technical, "its cutoff 60", TECHNICAL_CITED)
        if add is not None:
            add(TECHNICAL_CODES_SAID)
        gaps.gap("technical_exposure", "technical", technical, priority, TECHNICAL_CODES)


def _behavioral_gap(gaps: _Gaps, text: str, score: float | None) -> None:
    codes: list[str] = []
    for word in dict.fromkeys([match.group().casefold() for match in KEYWORD_PATTERN.finditer(text)]):
        written, cited, word_codes, joined = KEYWORDS[word]
        if gaps.add is not None:
            gaps.add(said(cited, f"'{text}' mentions {written} → {joined}"))
        codes.extend(word_codes)
    gaps.gap(text, "behavioral", score, BEHAVIORAL_PRIORITY, codes)


def _behavioral(gaps: _Gaps, traits: dict[str, float], areas: list[str] | None) -> None:
    add = gaps.add
    if areas is not None:
        for area in areas:
            text = area.strip()
            if text:
                if add is not None:
                    add(said(BEHAVIORAL_PRIORITY_CITED, f"growth area '{text}' → gap, priority {BEHAVIORAL_PRIORITY}"))
                _behavioral_gap(gaps, text, None)
        return
    for trait, mean in traits.items():
        if mean < BEHAVIORAL_CUTOFF:
            if add is not None:
                add(
                    said(
                        BEHAVIORAL_CUTOFF_CITED,
                        f"trait {trait} {mean:g} is below the behavioral cutoff 5 → gap, priority {BEHAVIORAL_PRIORITY}",
                    )
                )
            _behavioral_gap(gaps, trait, mean)


def _recommend(gaps: _Gaps, recipes: tuple[Recipe, ...]) -> list[dict[str, Any]]:
    """The active recipes teaching a needed code, ranked by covered codes weighted by gap priority,
    then usage, rating and id; at most :data:`MAX_RECIPES`."""
    codes = gaps.codes
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
    if gaps.add is not None:
        used = {gaps.weighed_by[code] for row in ranked for code in row[5]}
        for priority, because in PRIORITY_WEIGHT_SAID.items():
            if priority in used:
                gaps.add(because)
        gaps.add(
            said(
                MAX_RECIPES_CITED,
                f"{len(ranked)} active recipe(s) teach a needed skill; ranked by covered codes weighted by gap "
                f"priority, then usage, rating and id → at most {MAX_RECIPES} are kept, {len(recommended)} recommended",
            )
        )
    return recommended


def evaluate(facts: Facts, viewer: dict[str, Any] | None, catalogs: dict[str, Any], explain: bool) -> Answer:
    """The gaps, the skill codes they call for and the recipes that teach them; skipped for a result that is not complete."""
    if not facts.complete:
        return skipped(status_reason(facts.status, _SKIP_REASON))
    gaps = _Gaps(explain)
    _aptitude(gaps, facts.breakdown)
    _technical(gaps, facts.technical)
    _behavioral(gaps, facts.traits, facts.areas)
    recipes = catalogs["recipes"]
    recommended = None if recipes is None else _recommend(gaps, recipes)
    output = {
        "gaps": gaps.gaps,
        "recommended_recipe_skills": list(gaps.codes),
        "aptitude_score": facts.aptitude_score,
        "technical_exposure_score": facts.technical,
        "total_gaps": len(gaps.gaps),
        "total_skills": len(gaps.codes),
        "recommended_recipes": recommended,
    }
    return ok(output, gaps.explain or [], [])
