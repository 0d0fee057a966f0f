"""The seed's difficulty mapping (novice→1 … elite→4, default 1), with the original's defects fixed:
input is trimmed and case-insensitive, and an unknown value is never silently mapped."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from importlib.resources import files
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from profiler_rules import Context, Engine, Explanation, ItemId, Outcome, ProfilerResult, Rules, RuleViolation

MissionDifficulty = Annotated[int, Field(ge=1, le=5)]
_DIFFICULTY_LABELS = {"1": "Beginner", "2": "Intermediate", "3": "Advanced", "4": "Expert", "5": "Master"}


@dataclass(frozen=True, slots=True)
class LevelCap:
    """What a known level decides: its cap and label, and the rule path and message that explain it."""

    cap: int
    label: str
    rule: str
    message: str


class MissionRules(BaseModel):
    """The highest mission difficulty a learner may take, decided by the difficulty they chose in the
    profiler. Mission difficulties run from 1 (Beginner) to 5 (Master)."""

    # ``rules/missions.yaml``, built. The docstring and the fields' descriptions are what editors show.
    model_config = ConfigDict(frozen=True, extra="forbid", title="Missions rules")

    levels: dict[
        Annotated[str, Field(min_length=1, pattern=r"\S")],
        Annotated[
            MissionDifficulty,
            Field(
                description="The highest mission difficulty this level opens: 1 Beginner, 2 Intermediate, "
                "3 Advanced, 4 Expert, 5 Master.",
                examples=[1, 4],
            ),
        ],
    ] = Field(
        min_length=1,
        description="Each profiler difficulty (as the learner chose it, any case) and the highest mission "
        "difficulty it opens, from 1 to 5.",
        examples=[{"novice": 1, "beginner": 1, "intermediate": 2, "advanced": 3, "elite": 4}],
    )
    default_max_difficulty: MissionDifficulty = Field(
        description="The cap when the result is not complete, has no difficulty, or names one that is not a "
        "level above.",
        examples=[1],
    )
    difficulty_labels: dict[
        Annotated[str, Field(json_schema_extra={"enum": list(_DIFFICULTY_LABELS)})],
        Annotated[
            str,
            Field(
                min_length=1, description="The difficulty's name as learners see it.", examples=["Beginner", "Expert"]
            ),
        ],
    ] = Field(description="The name of each mission difficulty, shown beside the cap.", examples=[_DIFFICULTY_LABELS])

    @model_validator(mode="after")
    def _check(self) -> MissionRules:
        self.by_level  # noqa: B018 - builds the index, raising on a repeated level
        for cap in {*self.levels.values(), self.default_max_difficulty}:
            if str(cap) not in self.difficulty_labels:
                raise RuleViolation(f"mission difficulty {cap} is used but has no label", "difficulty_labels")
        return self

    # Lookups are cached properties, not private attributes: pydantic reads those through a slow
    # __getattr__, about a microsecond each, on the per-result path.
    @cached_property
    def by_level(self) -> dict[str, tuple[str, int]]:
        """Each level, trimmed and case-folded, with its name as written and its cap."""
        index: dict[str, tuple[str, int]] = {}
        for written, cap in self.levels.items():
            level = written.strip().casefold()
            if level in index:
                raise RuleViolation(f"level '{written}' repeats '{index[level][0]}'", "levels", written)
            index[level] = (written, cap)
        return index

    def level(self, selection: str) -> LevelCap | None:
        """What a trimmed, case-folded selection decides, or ``None`` when it is not a level."""
        return self.level_caps.get(selection)

    @cached_property
    def allowed(self) -> str:
        return ", ".join(self.by_level)

    @cached_property
    def level_caps(self) -> dict[str, LevelCap]:
        """Each trimmed, case-folded level with its cap, label and the explanation's rule and message.

        The message names the folded selection, which is the level's key here: it depends on the rules
        only, so it is written once rather than for every result.
        """
        return {
            level: LevelCap(
                cap,
                self.difficulty_labels[str(cap)],
                f"levels.{written}",
                f"difficulty '{level}' allows missions up to difficulty {cap} ({self.difficulty_labels[str(cap)]})",
            )
            for level, (written, cap) in self.by_level.items()
        }

    @cached_property
    def default_tail(self) -> str:
        """The end of the default cap's message, after the reason the default applies."""
        cap = self.default_max_difficulty
        return f": the default max difficulty {cap} ({self.difficulty_labels[str(cap)]}) applies"

    @cached_property
    def locked_reasons(self) -> dict[tuple[int, int], tuple[tuple[str, ...], str]]:
        """For each cap and each difficulty above it: the rule path and the words that say why its
        missions are locked. Written once: they depend on the rules only, and locked missions are
        explained for every result dispatched with a missions catalog."""
        reasons: dict[tuple[int, int], tuple[tuple[str, ...], str]] = {}
        for cap in range(1, 6):
            for difficulty in range(cap + 1, 6):
                # Labels are required only for the caps in use; a difficulty without one is named by number.
                named = self.difficulty_labels.get(str(difficulty))
                rule = ("difficulty_labels", str(difficulty)) if named else ("difficulty_labels",)
                shown = f" ({named})" if named else ""
                reasons[cap, difficulty] = (rule, f"of difficulty {difficulty}{shown} above the cap {cap} → locked")
        return reasons

    @cached_property
    def label_explanations(self) -> dict[int, tuple[tuple[str, str], str]]:
        """Each used cap's label explanation, as rule path and message: where the label is written."""
        caps = {*self.levels.values(), self.default_max_difficulty}
        return {
            cap: (
                ("difficulty_labels", str(cap)),
                f"mission difficulty {cap} → label {self.difficulty_labels[str(cap)]}",
            )
            for cap in caps
        }


class Mission(BaseModel):
    """One item of the ``missions`` catalog."""

    # Texts bounded as a result's are (10,000 characters), and Unicode: a report can not hold a lone
    # surrogate, which Python's JSON reader lets through. Fields the engine does not read are ignored,
    # so that a host may pass its rows as they are (Django's model_to_dict(row)).
    model_config = ConfigDict(frozen=True, extra="ignore", str_max_length=10_000)

    id: ItemId
    title: str
    difficulty: MissionDifficulty


class MissionsOutput(BaseModel):
    """The missions engine's answer."""

    model_config = ConfigDict(frozen=True)

    profiler_difficulty: str | None
    max_difficulty: int
    label: str
    source: Literal["profiler", "default"]
    open_missions: tuple[Mission, ...] | None


class MissionsEngine(Engine):
    """Caps mission difficulty by the learner's profiler difficulty selection."""

    name = "missions"
    report_order = 10  # built-ins: missions 10, recipes 20, portfolio 30, leadership 40, ... analytics 70
    settings_model = MissionRules
    default_rules_file = files("profiler_rules").joinpath("rules", "missions.yaml")
    catalogs = {"missions": Mission}
    requires_complete = False  # an incomplete result still gets the default cap

    def evaluate(self, result: ProfilerResult, rules: Rules[MissionRules], context: Context) -> Outcome:
        settings = rules.settings
        raw = result.difficulty_selection
        selection = raw.strip().casefold() if raw else ""
        level = settings.level(selection) if selection else None
        if level is not None and result.is_complete:
            output, above = self._output(selection, level.cap, level.label, "profiler", context)
            if not context.explain:
                return Outcome(output)
            because = rules.explain(level.rule, level.message)
            return Outcome(output, (because, _label_explanation(rules, level.cap), *_locked(rules, level.cap, above)))
        cap = settings.default_max_difficulty
        warnings: list[str] = []
        if result.is_complete and level is None and selection:
            warnings.append(
                f"difficulty_selection {raw!r} is not a known level (allowed: {settings.allowed}); "
                "the default max difficulty applies"
            )
        output, above = self._output(selection or None, cap, settings.difficulty_labels[str(cap)], "default", context)
        if not context.explain:
            return Outcome(output, (), warnings)
        because = rules.explain(
            "default_max_difficulty", _default_reason(result, raw, selection) + settings.default_tail
        )
        return Outcome(output, (because, _label_explanation(rules, cap), *_locked(rules, cap, above)), warnings)

    def summarize(self, output: MissionsOutput) -> str:
        opened = "" if output.open_missions is None else f"; {len(output.open_missions)} mission(s) open"
        return f"max difficulty {output.max_difficulty} ({output.label}), from the {output.source}{opened}"

    @staticmethod
    def _output(
        selection: str | None,
        cap: int,
        label: str,
        source: Literal["profiler", "default"],
        context: Context,
    ) -> tuple[MissionsOutput, dict[int, int]]:
        """The answer, and how many of the catalog's missions of each difficulty above the cap are
        locked (none without a catalog), for the explanations."""
        catalog = context.catalog("missions")
        missions: tuple[Mission, ...] | None = None
        above: dict[int, int] = {}
        if catalog is not None:
            # One pass: the open missions, and how many of each difficulty above the cap are locked.
            opened: list[Mission] = []
            for mission in catalog:
                difficulty = mission.difficulty
                if difficulty <= cap:
                    opened.append(mission)
                else:
                    above[difficulty] = above.get(difficulty, 0) + 1
            missions = tuple(opened)
        # The compiled validator, without Model(...)'s or model_validate's Python wrapper (a microsecond per
        # result); looked up here, not at import, so that a model built on first use stays so.
        output = MissionsOutput.__pydantic_validator__.validate_python(
            {
                "profiler_difficulty": selection,
                "max_difficulty": cap,
                "label": label,
                "source": source,
                "open_missions": missions,
            }
        )
        return output, above


def _default_reason(result: ProfilerResult, raw: str | None, selection: str) -> str:
    """Why the default cap applies to a result, in words."""
    if not result.is_complete:
        return f"the result is not complete (status {result.status or 'unknown'})"
    if not selection:
        return "the result has no difficulty selection"
    return f"difficulty_selection {raw!r} is not a known level"


def _locked(rules: Rules[MissionRules], cap: int, above: dict[int, int]) -> tuple[Explanation, ...]:
    """Why the catalog's missions above the cap are not open, given how many there are of each
    difficulty: one explanation per difficulty, naming it by its label (the original's mission
    dashboard listed them as "locked")."""
    reasons = rules.settings.locked_reasons
    explain = []
    for difficulty in sorted(above):
        rule, reason = reasons[cap, difficulty]
        explain.append(rules.explain(rule, f"{above[difficulty]} mission(s) {reason}"))
    return tuple(explain)


def _label_explanation(rules: Rules[MissionRules], cap: int) -> Explanation:
    """Where the cap's label comes from: its own line under ``difficulty_labels``."""
    rule, message = rules.settings.label_explanations[cap]
    return rules.explain(rule, message)
