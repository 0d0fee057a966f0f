"""What every engine of the floor shares: the packaged rule files and their lines, name folding, the
result read once, access, and the report's shape.

Everything here that depends on the rules alone is worked out once, at import: the floor answers for
the packaged default rules (``profiler_rules/rules/*.yaml``) and nothing else.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

RULES = Path(__file__).resolve().parents[2] / "profiler_rules" / "rules"
COMPLETE_STATUSES = frozenset({"finished", "locked"})
_SEPARATORS = re.compile(r"[\s_\-]+")
_separators_to_underscore = _SEPARATORS.sub

# An explanation as the report's JSON writes it: {"rule", "file", "line", "message"}.
Explanation = dict[str, Any]
# (rule, file, line): where a rule is written, resolved once.
Cited = tuple[str, str | None, int | None]
# An engine's answer as the report's JSON writes it: {"status", "output", "explain", "warnings", "error"}.
Answer = dict[str, Any]


def name_key(name: str) -> str:
    """Trimmed, case-folded, runs of spaces/'-'/'_' alike (as ``profiler_rules.name_key``)."""
    return _separators_to_underscore("_", name.strip().casefold()).strip("_")


# ---------------------------------------------------------------------------------------------------
# rule files: where each rule path is written
# ---------------------------------------------------------------------------------------------------
def _format_path(path: tuple[str | int, ...]) -> str:
    """A rule path as reports cite it: ``categories.web.skill_codes[2]``, ``difficulty_labels['3']``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


def _positions(node: yaml.Node, path: tuple[str | int, ...], lines: dict[str, int]) -> None:
    """Every path below ``node`` with its line; a key's own line wins over its value's."""
    if path:
        lines.setdefault(_format_path(path), node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[_format_path((*path, key.value))] = key.start_mark.line + 1
            _positions(value, (*path, key.value), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _positions(item, (*path, index), lines)


class RuleFile:
    """One packaged rule file: its name as reports show it, and the line of every rule path in it."""

    def __init__(self, stem: str) -> None:
        self.file = f"profiler_rules/rules/{stem}.yaml"
        self.lines: dict[str, int] = {}
        _positions(yaml.compose((RULES / f"{stem}.yaml").read_text()), (), self.lines)

    def line_of(self, rule: str) -> int | None:
        """The line of ``rule`` or of its nearest parent written in the file."""
        while rule:
            line = self.lines.get(rule)
            if line is not None:
                return line
            cut = max(rule.rfind("."), rule.rfind("["))
            rule = rule[:cut] if cut > 0 else ""
        return None

    def cite(self, rule: str) -> Cited:
        return (rule, self.file, self.line_of(rule))

    def said(self, rule: str, message: str) -> Explanation:
        """An explanation citing ``rule``: for rules-only messages worked out once, at import."""
        return said(self.cite(rule), message)


def said(cited: Cited, message: str) -> Explanation:
    """An explanation of a decision made by the rule ``cited``."""
    return {"rule": cited[0], "file": cited[1], "line": cited[2], "message": message}


def _ruleset_stamp() -> dict[str, Any]:
    """The report's ``ruleset``: the digest the core computes over the packaged files, and their version."""
    digest = hashlib.sha256()
    for path in sorted(RULES.glob("*.yaml"), key=lambda path: path.stem):
        digest.update(path.stem.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    version = yaml.safe_load((RULES / "ruleset.yaml").read_text()).get("version")
    return {"digest": f"sha256:{digest.hexdigest()}", "version": version, "defaults": []}


RULESET = _ruleset_stamp()


# ---------------------------------------------------------------------------------------------------
# the report's shape
# ---------------------------------------------------------------------------------------------------
def ok(output: dict[str, Any], explain: list[Explanation], warnings: list[str]) -> Answer:
    return {"status": "ok", "output": output, "explain": explain, "warnings": warnings, "error": None}


def skipped(reason: Explanation) -> Answer:
    """No answer, for one reason: kept with or without explanations, as the dispatcher keeps it."""
    return {"status": "skipped", "output": None, "explain": [reason], "warnings": [], "error": None}


def denied(reason: Explanation) -> Answer:
    return {"status": "denied", "output": None, "explain": [reason], "warnings": [], "error": None}


def status_reason(status: str | None, consequence: str) -> Explanation:
    """Why an engine does not act on a result that is not complete (it cites no file)."""
    shown = "unknown" if status is None else repr(status)
    return said(("status", None, None), f"the result's status is {shown}; {consequence}")


# ---------------------------------------------------------------------------------------------------
# the result, read once (assumed valid: the floor validates nothing), values converted as the model does
# ---------------------------------------------------------------------------------------------------
def number(value: Any) -> float | None:
    return None if value is None else float(value)


def iso(value: str | None) -> str | None:
    """A timestamp as the report's JSON writes it: naive read as UTC, UTC written ``Z``."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    text = moment.isoformat()
    if moment.tzinfo is None:
        return text + "Z"
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class Facts:
    """One result's values as the engines read them. The scores and profile are read only for a
    complete result: engines do not act on the others."""

    __slots__ = (
        "raw",
        "session_id",
        "user_id",
        "status",
        "complete",
        "cohort_id",
        "sponsor_id",
        "difficulty",
        "overall",
        "aptitude_score",
        "behavioral_score",
        "technical",
        "breakdown",
        "traits",
        "profile_strengths",
        "areas",
        "strengths",
        "recommended",
        "alignment",
        "answers",
        "completed_at",
        "warnings",
    )

    def __init__(self, result: dict[str, Any]) -> None:
        get = result.get
        self.raw = result
        self.session_id = result["session_id"]
        self.user_id = result["user_id"]
        self.status = get("status")
        self.complete = self.status in COMPLETE_STATUSES
        self.cohort_id = get("cohort_id")
        self.sponsor_id = get("sponsor_id")
        self.difficulty = get("difficulty_selection")
        self.traits, self.profile_strengths, self.areas, self.warnings = _profile(get("behavioral_profile"))
        if self.complete:
            self._read_complete(get)

    def _read_complete(self, get: Any) -> None:
        scores = get("scores") or {}
        self.overall = number(scores.get("overall"))
        self.aptitude_score = number(scores.get("aptitude"))
        self.behavioral_score = number(scores.get("behavioral"))
        self.technical = number(get("technical_exposure_score"))
        self.breakdown = _breakdown(get("aptitude_breakdown") or {})
        self.strengths = list(get("strengths") or ())
        self.recommended = get("recommended_track")
        self.alignment = [(name, float(value)) for name, value in (get("track_alignment") or {}).items()]
        self.answers = get("answers") or {}
        self.completed_at = iso(get("completed_at"))


def _breakdown(raw: dict[str, Any]) -> list[tuple[str, float | None]]:
    """(category, score) in order; the platform's counts become a percentage, ``total: 0`` unknown."""
    breakdown: list[tuple[str, float | None]] = []
    for name, value in raw.items():
        if value is None:
            breakdown.append((name, None))
        elif type(value) is dict:
            total = int(value["total"])
            breakdown.append((name, None if total == 0 else round(int(value["correct"]) * 100 / total, 2)))
        else:
            breakdown.append((name, float(value)))
    return breakdown


_NOT_A_TRAIT = "left out: a trait's value must be a number from 0 to 10"


def _is_trait_value(value: Any) -> bool:
    """A number, or text of one (as the model reads a trait's mean); anything else is left out."""
    if type(value) is int or type(value) is float:
        return True
    if type(value) is str:
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def _profile(profile: Any) -> tuple[dict[str, float], list[str], list[str] | None, list[str]]:
    """(traits, the profile's strengths, its growth areas or None, the report's warnings) of both
    shapes: the documented one has ``traits`` as a mapping, or ``strengths`` or ``areas_for_growth``
    as a list; the platform's flat ``{trait: mean}`` is anything else, its non-numeric traits left out."""
    if not profile:
        return {}, [], None, []
    get = profile.get
    if type(get("traits")) is dict or type(get("strengths")) is list or type(get("areas_for_growth")) is list:
        areas = get("areas_for_growth")
        return (
            {name: float(mean) for name, mean in (get("traits") or {}).items()},
            list(get("strengths") or ()),
            None if areas is None else list(areas),
            [],
        )
    traits = {name: float(mean) for name, mean in profile.items() if _is_trait_value(mean)}
    warnings = [f"behavioral_profile.{name}: {_NOT_A_TRAIT}" for name in profile if name not in traits]
    return traits, [], None, warnings


# ---------------------------------------------------------------------------------------------------
# access.yaml: deny by default
# ---------------------------------------------------------------------------------------------------
ACCESS_FILE = RuleFile("access")
_NO_DETAILS: frozenset[str] = frozenset()
# view → its grants: (cited, role or None, relation or None, details, ", with …" text)
_GRANTS: dict[str, tuple[tuple[Cited, str | None, str | None, frozenset[str], str], ...]] = {
    view: tuple(
        (
            ACCESS_FILE.cite(f"{view}[{index}]"),
            grant.get("role"),
            grant.get("relation"),
            frozenset(grant.get("details") or ()),
            f", with {', '.join(grant['details'])}" if grant.get("details") else "",
        )
        for index, grant in enumerate(grants)
    )
    for view, grants in yaml.safe_load((RULES / "access.yaml").read_text()).items()
}
_NO_VIEWER = {view: ACCESS_FILE.said(view, f"no viewer was given; {view} is denied without one") for view in _GRANTS}


def access(
    view: str, viewer: dict[str, Any] | None, facts: Facts, explain: bool
) -> tuple[bool, frozenset[str], list[Explanation]]:
    """(allowed, details shown, explanations) for ``view`` of a learner. A denial always carries its
    one reason; the grants that allowed are explained only when asked."""
    if viewer is None:
        return False, _NO_DETAILS, [_NO_VIEWER[view]]
    roles = viewer.get("roles") or ()
    reasons: list[Explanation] = []
    details = _NO_DETAILS
    allowed = False
    for cited, role, relation, grant_details, with_text in _GRANTS[view]:
        if role is not None and role not in roles:
            continue
        if relation is not None and not _holds(relation, viewer, facts):
            continue
        allowed = True
        if grant_details:
            details = details | grant_details
        if explain:
            how = f"has role {role}" if relation is None else _words(relation, facts)
            if role is not None and relation is not None:
                how = f"has role {role} and {how}"
            reasons.append(said(cited, f"the viewer {how} → {view} allowed{with_text}"))
    if not allowed:
        shown = ", ".join(sorted(set(roles))) or "none"
        return (
            False,
            _NO_DETAILS,
            [ACCESS_FILE.said(view, f"the viewer (roles: {shown}) matches no grant of {view} → denied")],
        )
    return True, details, reasons


def _holds(relation: str, viewer: dict[str, Any], facts: Facts) -> bool:
    """Whether the viewer holds ``relation`` to the learner."""
    if relation == "self":
        viewer_id = viewer.get("user_id")
        return viewer_id is not None and viewer_id == facts.user_id
    if relation == "assigned_mentee":
        return facts.user_id in (viewer.get("mentee_ids") or ())
    if relation == "assigned_coachee":
        return facts.user_id in (viewer.get("coachee_ids") or ())
    if relation == "own_cohort":
        return facts.cohort_id in (viewer.get("cohort_ids") or ())
    return facts.sponsor_id in (viewer.get("sponsor_ids") or ())  # own_sponsor


def _words(relation: str, facts: Facts) -> str:
    """How the viewer holds ``relation`` to the learner, in words."""
    if relation == "self":
        return "is the learner"
    if relation == "assigned_mentee":
        return f"is assigned {facts.user_id} as mentee"
    if relation == "assigned_coachee":
        return f"coaches {facts.user_id}"
    if relation == "own_cohort":
        return f"holds cohort {facts.cohort_id}"
    return f"holds sponsor {facts.sponsor_id}"


def item_id(value: Any) -> Any:
    """A catalog item's id as the model reads it: an integer becomes text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value
