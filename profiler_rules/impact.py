"""Impact preview: what a rule change does to real results, before it ships.

Each result is validated once and dispatched under both rule sets, in one streaming pass. Per engine,
the two answers are reduced to their *decisions* (the status, each scalar field, each list of plain
values, and the number of items of each list of records), and every decision that differs becomes a
change such as ``max_difficulty 2→3`` or ``recommended_recipe_skills +NET -DOC``. Changes are counted
with a few example sessions each; the count of distinct changes kept is capped, the rest are pooled
per field, so memory never grows with the input.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .core.jsonl import InvalidLine
from .core.models import ProfilerResult

MAX_DISTINCT_CHANGES = 10_000
EXAMPLES_PER_CHANGE = 3
LISTED_INVALID = 20


@dataclass(slots=True)
class EngineImpact:
    """How one engine's decisions changed over the results."""

    changed: int = 0
    changes: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def count(self, change: str, session: str) -> None:
        if change not in self.changes and len(self.changes) >= MAX_DISTINCT_CHANGES:
            change = change.split(" ", 1)[0] + " (other changes)"
        self.changes[change] += 1
        examples = self.examples.setdefault(change, [])
        if len(examples) < EXAMPLES_PER_CHANGE:
            examples.append(session)

    def commonest(self, limit: int) -> list[dict[str, Any]]:
        ranked = sorted(self.changes.items(), key=lambda pair: (-pair[1], pair[0]))[:limit]
        return [{"change": change, "count": count, "examples": self.examples[change]} for change, count in ranked]


@dataclass(slots=True)
class Impact:
    """The whole preview: counts, per-engine changes, and the invalid lines."""

    engines: dict[str, EngineImpact]
    results: int = 0
    invalid: int = 0
    invalid_examples: list[str] = field(default_factory=list)

    def as_dict(self, limit: int = 10) -> dict[str, Any]:
        return {
            "results": self.results,
            "invalid": self.invalid,
            "invalid_examples": self.invalid_examples,
            "engines": {
                name: {"changed": impact.changed, "changes": impact.commonest(limit)}
                for name, impact in self.engines.items()
            },
        }


def decisions(answer: Mapping[str, Any]) -> dict[str, Any]:
    """An engine's answer (its report entry as JSON) reduced to comparable decisions."""
    found: dict[str, Any] = {"status": answer["status"]}
    _flatten(answer.get("output"), "", found)
    return found


def _flatten(value: Any, prefix: str, found: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else key, found)
    elif isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            found[prefix] = tuple(value)
        else:
            found[f"{prefix} items"] = len(value)
    elif prefix:
        found[prefix] = value


def describe(name: str, old: Any, new: Any) -> str:
    """One decision's change, in the words the preview prints."""
    if isinstance(old, tuple) and isinstance(new, tuple):
        added = [f"+{item}" for item in new if item not in old]
        removed = [f"-{item}" for item in old if item not in new]
        return f"{name} {' '.join(added + removed) or 'reordered'}"
    return f"{name} {_show(old)}→{_show(new)}"


def _show(value: Any) -> str:
    return "none" if value is None else json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def compare(
    results: Iterable[ProfilerResult | InvalidLine],
    dispatch_base: Any,
    dispatch_new: Any,
    engines: Iterable[str],
) -> Impact:
    """Replay results through two dispatch functions (``result -> DispatchReport``) and compare.

    ``results`` are those :func:`profiler_rules.core.jsonl.read_results` reads from JSON Lines: each
    line's result, or the :class:`InvalidLine` counted and named in its place.
    """
    impact = Impact({name: EngineImpact() for name in engines})
    for result in results:
        impact.results += 1
        if isinstance(result, InvalidLine):
            impact.invalid += 1
            if len(impact.invalid_examples) < LISTED_INVALID:
                impact.invalid_examples.append(str(result))
            continue
        base = dispatch_base(result).model_dump(mode="json")["engines"]
        new = dispatch_new(result).model_dump(mode="json")["engines"]
        for name, engine_impact in impact.engines.items():
            compare_answers(engine_impact, base.get(name), new.get(name), result.session_id)
    return impact


def compare_answers(
    impact: EngineImpact, base: Mapping[str, Any] | None, new: Mapping[str, Any] | None, session: str
) -> None:
    """Count in ``impact`` how one engine's answer for ``session`` changed (answers as JSON, with at
    least ``status`` and ``output``); nothing when either is missing."""
    if base is None or new is None:
        return
    before, after = decisions(base), decisions(new)
    changes = [
        describe(key, before.get(key), after.get(key))
        for key in dict.fromkeys([*before, *after])
        if before.get(key) != after.get(key)
    ]
    if changes:
        impact.changed += 1
        for change in changes:
            impact.count(change, session)
