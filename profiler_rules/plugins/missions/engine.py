"""The seed's difficulty mapping (novice→1 … elite→4, default 1), with the original's defects fixed:
input is trimmed and case-insensitive, and an unknown value is never silently mapped."""

from __future__ import annotations

from functools import cached_property
from importlib.resources import files
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from profiler_rules import Context, Engine, Explanation, ItemId, Outcome, ProfilerResult, Rules, RuleViolation

MissionDifficulty = Annotated[int, Field(ge=1, le=5)]


class MissionRules(BaseModel):
    """``rules/missions.yaml``, built."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    levels: dict[str, MissionDifficulty]
    default_max_difficulty: MissionDifficulty
    difficulty_labels: dict[str, str]

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

    def level(self, selection: str) -> tuple[str, int] | None:
        """The level as written in the rules and its cap, for a trimmed, case-folded selection."""
        return self.by_level.get(selection)

    @cached_property
    def allowed(self) -> str:
        return ", ".join(self.by_level)


class Mission(BaseModel):
    """One item of the ``missions`` catalog."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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
    rules_model = MissionRules
    schema_file = files(__package__).joinpath("schema.json")
    default_rules_file = files("profiler_rules").joinpath("rules", "missions.yaml")
    catalogs = {"missions": Mission}
    requires_complete = False  # an incomplete result still gets the default cap

    def evaluate(self, result: ProfilerResult, rules: Rules[MissionRules], context: Context) -> Outcome:
        settings = rules.settings
        raw = result.difficulty_selection
        selection = raw.strip().casefold() if raw else ""
        level = settings.level(selection) if selection else None
        warnings: list[str] = []
        if not result.is_complete:
            reason = f"the result is not complete (status {result.status or 'unknown'})"
        elif not selection:
            reason = "the result has no difficulty selection"
        elif level is None:
            reason = f"difficulty_selection {raw!r} is not a known level"
            warnings.append(f"{reason} (allowed: {settings.allowed}); the default max difficulty applies")
        else:
            written, cap = level
            label = settings.difficulty_labels[str(cap)]
            because = rules.explain(
                f"levels.{written}", f"difficulty '{selection}' allows missions up to difficulty {cap} ({label})"
            )
            named = _label_explanation(rules, cap, label)
            return Outcome(self._output(selection, cap, label, "profiler", context), (because, named))
        cap = settings.default_max_difficulty
        label = settings.difficulty_labels[str(cap)]
        because = rules.explain(
            "default_max_difficulty", f"{reason}: the default max difficulty {cap} ({label}) applies"
        )
        named = _label_explanation(rules, cap, label)
        return Outcome(self._output(selection or None, cap, label, "default", context), (because, named), warnings)

    def summarize(self, output: MissionsOutput) -> str:
        opened = "" if output.open_missions is None else f"; {len(output.open_missions)} mission(s) open"
        return f"max difficulty {output.max_difficulty} ({output.label}), from the {output.source}{opened}"

    @staticmethod
    def _output(
        selection: str | None, cap: int, label: str, source: Literal["profiler", "default"], context: Context
    ) -> MissionsOutput:
        catalog = context.catalog("missions")
        missions = None if catalog is None else tuple(mission for mission in catalog if mission.difficulty <= cap)
        return MissionsOutput(
            profiler_difficulty=selection,
            max_difficulty=cap,
            label=label,
            source=source,
            open_missions=missions,
        )


def _label_explanation(rules: Rules[MissionRules], cap: int, label: str) -> Explanation:
    """Where the cap's label comes from: its own line under ``difficulty_labels``."""
    return rules.explain(("difficulty_labels", str(cap)), f"mission difficulty {cap} → label {label}")
