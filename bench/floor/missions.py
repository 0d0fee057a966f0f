"""The floor's missions engine (missions.yaml): the learner's difficulty cap and the missions it opens."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .common import Answer, Explanation, Facts, RuleFile, item_id, ok, said

NAME = "missions"
CATALOG = "missions"
RULES = RuleFile("missions")
LABELS = {1: "Beginner", 2: "Intermediate", 3: "Advanced", 4: "Expert", 5: "Master"}
DEFAULT_CAP = 1
ALLOWED = "novice, beginner, intermediate, advanced, elite"


def _label_said(cap: int) -> Explanation:
    return RULES.said(f"difficulty_labels['{cap}']", f"mission difficulty {cap} → label {LABELS[cap]}")


# folded level → (cap, label, its explanation, the label's explanation)
LEVELS = {
    level: (
        cap,
        LABELS[cap],
        RULES.said(f"levels.{level}", f"difficulty '{level}' allows missions up to difficulty {cap} ({LABELS[cap]})"),
        _label_said(cap),
    )
    for level, cap in {"novice": 1, "beginner": 1, "intermediate": 2, "advanced": 3, "elite": 4}.items()
}
DEFAULT_LABEL = LABELS[DEFAULT_CAP]
DEFAULT_LABEL_SAID = _label_said(DEFAULT_CAP)
DEFAULT_CITED = RULES.cite("default_max_difficulty")
DEFAULT_TAIL = f": the default max difficulty {DEFAULT_CAP} ({DEFAULT_LABEL}) applies"
LABEL_CITED = {cap: RULES.cite(f"difficulty_labels['{cap}']") for cap in LABELS}


# cap → (the missions open at that cap, the explanations of those locked above it), for one catalog
Prepared = dict[int, tuple[list[dict[str, Any]], list[Explanation]]]


def prepare(items: list[dict[str, Any]]) -> Prepared:
    """The missions catalog worked out once for every cap the rules can give: which missions are open,
    and one explanation per difficulty above the cap that the catalog has missions of."""
    missions = [
        (int(m["difficulty"]), {"id": item_id(m["id"]), "title": m["title"], "difficulty": int(m["difficulty"])})
        for m in items
    ]
    return {cap: ([m for d, m in missions if d <= cap], _locked(cap, missions)) for cap in LABELS}


def _locked(cap: int, missions: list[tuple[int, dict[str, Any]]]) -> list[Explanation]:
    counts = Counter(d for d, _ in missions if d > cap)
    return [
        said(LABEL_CITED[d], f"{counts[d]} mission(s) of difficulty {d} ({LABELS[d]}) above the cap {cap} → locked")
        for d in sorted(counts)
    ]


def evaluate(facts: Facts, viewer: dict[str, Any] | None, catalogs: dict[str, Any], explain: bool) -> Answer:
    """The difficulty cap, its label and the missions it opens; the default cap when the selection is missing, unknown or the result not complete."""
    missions = catalogs["missions"]
    raw = facts.difficulty
    selection = raw.strip().casefold() if raw else ""
    level = LEVELS.get(selection) if selection else None
    warnings: list[str] = []
    if not facts.complete:
        reason = f"the result is not complete (status {facts.status or 'unknown'})" if explain else ""
    elif not selection:
        reason = "the result has no difficulty selection"
    elif level is None:
        reason = f"difficulty_selection {raw!r} is not a known level"
        warnings.append(f"{reason} (allowed: {ALLOWED}); the default max difficulty applies")
    else:
        cap, label, because, named = level
        output = {
            "profiler_difficulty": selection,
            "max_difficulty": cap,
            "label": label,
            "source": "profiler",
            "open_missions": None if missions is None else missions[cap][0],
        }
        if not explain:
            return ok(output, [], warnings)
        return ok(output, [because, named, *(() if missions is None else missions[cap][1])], warnings)
    cap = DEFAULT_CAP
    output = {
        "profiler_difficulty": selection or None,
        "max_difficulty": cap,
        "label": DEFAULT_LABEL,
        "source": "default",
        "open_missions": None if missions is None else missions[cap][0],
    }
    if not explain:
        return ok(output, [], warnings)
    return ok(
        output,
        [
            said(DEFAULT_CITED, reason + DEFAULT_TAIL),
            DEFAULT_LABEL_SAID,
            *(() if missions is None else missions[cap][1]),
        ],
        warnings,
    )
