"""Skill gaps from a profiler result, the skill codes they call for, and the recipes that teach them.

It follows the seed and the original gap analysis, with the original's defects fixed: an unknown score
is no gap (a real 0 is the worst gap), both stored shapes of the aptitude breakdown are read, category
names match by exact name or declared alias (never by substring), and codes come out in a stable order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cached_property
from importlib.resources import files
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

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
SkillCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]


class AptitudeRules(BaseModel):
    model_config = _FROZEN
    gap_cutoff: float


class TechnicalRules(BaseModel):
    model_config = _FROZEN
    gap_cutoff: float
    skill_codes: list[SkillCode]


class PriorityBand(BaseModel):
    model_config = _FROZEN
    priority: str
    below: float


class BehavioralRules(BaseModel):
    model_config = _FROZEN
    gap_cutoff: float
    priority: str
    keywords: dict[str, list[SkillCode]]

    @model_validator(mode="after")
    def _check(self) -> BehavioralRules:
        self.by_word  # noqa: B018 - builds the index, raising on a repeated keyword
        return self

    @cached_property
    def by_word(self) -> dict[str, tuple[str, list[str]]]:
        """Each keyword, case-folded, with its name as written and its codes."""
        index: dict[str, tuple[str, list[str]]] = {}
        for written, codes in self.keywords.items():
            word = written.strip().casefold()
            if word in index:
                raise RuleViolation(f"keyword '{written}' repeats '{index[word][0]}'", "keywords", written)
            index[word] = (written, codes)
        return index

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        if not self.by_word:
            return None
        # A whole word, whatever its case; '_' separates words too ("communication_skills").
        words = "|".join(re.escape(word) for word in sorted(self.by_word, key=len, reverse=True))
        return re.compile(rf"(?<![^\W_])(?:{words})(?![^\W_])", re.IGNORECASE)

    def keywords_in(self, text: str) -> list[tuple[str, list[str]]]:
        """The keywords found in ``text`` as whole words, in the order they appear, each once."""
        if self.pattern is None:
            return []
        found = dict.fromkeys(match.group().casefold() for match in self.pattern.finditer(text))
        return [self.by_word[word] for word in found]


class CategoryRule(BaseModel):
    model_config = _FROZEN
    skill_codes: list[SkillCode]
    aliases: list[str] = []


class RecommendationRules(BaseModel):
    model_config = _FROZEN
    max_recipes: int
    priority_weights: dict[str, float]


class RecipeRules(BaseModel):
    """``rules/recipes.yaml``, built and cross-checked."""

    model_config = _FROZEN

    aptitude: AptitudeRules
    technical_exposure: TechnicalRules
    priority_bands: list[PriorityBand]
    behavioral: BehavioralRules
    categories: dict[str, CategoryRule]
    recommendations: RecommendationRules

    @model_validator(mode="after")
    def _check(self) -> RecipeRules:
        self._check_bands()
        self.by_name  # noqa: B018 - builds the index, raising on a name given to two categories
        used = [band.priority for band in self.priority_bands] + [self.behavioral.priority]
        for priority in dict.fromkeys(used):
            if priority not in self.recommendations.priority_weights:
                raise RuleViolation(f"priority '{priority}' has no weight", "recommendations", "priority_weights")
        return self

    def _check_bands(self) -> None:
        previous = None
        for index, band in enumerate(self.priority_bands):
            if previous is not None and band.below <= previous:
                raise RuleViolation(
                    f"bands must rise: {band.below:g} is not above {previous:g}", "priority_bands", index, "below"
                )
            previous = band.below
        for section, cutoff in (
            ("aptitude", self.aptitude.gap_cutoff),
            ("technical_exposure", self.technical_exposure.gap_cutoff),
        ):
            if previous is not None and cutoff > previous:
                message = f"gap_cutoff {cutoff:g} is above the last priority band (below {previous:g}): some gaps would have no priority"
                raise RuleViolation(message, section, "gap_cutoff")

    @cached_property
    def by_name(self) -> dict[str, str]:
        """Each category name and alias, as :func:`name_key` reads it, with its category."""
        index: dict[str, str] = {}
        for name, rule in self.categories.items():
            names = [(name, ("categories", name))] + [
                (alias, ("categories", name, "aliases", position)) for position, alias in enumerate(rule.aliases)
            ]
            for written, path in names:
                key = name_key(written)
                if key in index and index[key] != name:
                    raise RuleViolation(f"'{written}' already names category '{index[key]}'", *path)
                index[key] = name
        return index

    def category(self, name: str) -> str | None:
        """The category (as written in the rules) that ``name`` names exactly or by alias."""
        return self.by_name.get(name_key(name))

    def alias_index(self, category: str, name: str) -> int | None:
        """The position of the alias of ``category`` that ``name`` matched; ``None`` when it is the name itself."""
        key = name_key(name)
        if key == name_key(category):
            return None
        return next(
            (index for index, alias in enumerate(self.categories[category].aliases) if name_key(alias) == key), None
        )

    def band(self, score: float) -> tuple[int, PriorityBand]:
        """The first band whose ``below`` the score is under; gap cutoffs guarantee there is one."""
        for index, band in enumerate(self.priority_bands):
            if score < band.below:
                return index, band
        return len(self.priority_bands) - 1, self.priority_bands[-1]


class Recipe(BaseModel):
    """One item of the ``recipes`` catalog."""

    model_config = _FROZEN

    id: ItemId
    title: str
    skill_codes: tuple[Annotated[str, AfterValidator(lambda code: code.strip().upper())], ...]
    is_active: bool = True
    usage_count: Annotated[int, Field(ge=0)] = 0
    avg_rating: float | None = None

    @cached_property
    def codes(self) -> tuple[str, ...]:
        """The skill codes, each once, worked out once per catalog rather than once per result."""
        return tuple(dict.fromkeys(self.skill_codes))


class Gap(BaseModel):
    model_config = ConfigDict(frozen=True)

    category: str
    type: Literal["aptitude", "technical", "behavioral"]
    score: float | None
    priority: str


class RecommendedRecipe(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    skill_codes: tuple[str, ...]
    coverage: float


class RecipesOutput(BaseModel):
    """The recipes engine's answer, in the seed's shape."""

    model_config = ConfigDict(frozen=True)

    gaps: tuple[Gap, ...]
    recommended_recipe_skills: tuple[str, ...]
    aptitude_score: float | None
    technical_exposure_score: float | None
    total_gaps: int
    total_skills: int
    recommended_recipes: tuple[RecommendedRecipe, ...] | None


class _Analysis:
    """The gaps, codes and explanations of one result, gathered in a stable order."""

    def __init__(self, rules: Rules[RecipeRules]) -> None:
        self.rules = rules
        self.settings = rules.settings
        self.gaps: list[Gap] = []
        self.codes: dict[str, float] = {}
        self.weighed_by: dict[str, str] = {}  # the priority whose weight each code has, for the explanations
        self.explain: list[Explanation] = []

    def add_gap(self, gap: Gap, codes: Iterable[str]) -> None:
        self.gaps.append(gap)
        weight = self.settings.recommendations.priority_weights[gap.priority]
        for code in codes:
            if code not in self.codes or weight > self.codes[code]:
                self.weighed_by[code] = gap.priority
            self.codes[code] = max(weight, self.codes.get(code, weight))

    def aptitude(self, category: str, score: float | None) -> None:
        cutoff = self.settings.aptitude.gap_cutoff
        if score is None:
            self.explain.append(self.rules.explain("aptitude.gap_cutoff", f"{category} has no known score → no gap"))
            return
        if score >= cutoff:
            self.explain.append(
                self.rules.explain(
                    "aptitude.gap_cutoff", f"{category} {score:g} is not below the aptitude cutoff {cutoff:g} → no gap"
                )
            )
            return
        priority = self._priority(category, score, f"the aptitude cutoff {cutoff:g}", "aptitude.gap_cutoff")
        name = self.settings.category(category)
        if name is None:
            self.explain.append(
                self.rules.explain("categories", f"{category} is not a category or alias in the rules → no skill codes")
            )
            codes: list[str] = []
        else:
            codes = self.settings.categories[name].skill_codes
            alias = self.settings.alias_index(name, category)
            if alias is not None:
                message = f"{category} is an alias of {name} → its skill codes"
                self.explain.append(self.rules.explain(("categories", name, "aliases", alias), message))
            self.explain.append(
                self.rules.explain(("categories", name, "skill_codes"), f"{category} calls for {', '.join(codes)}")
            )
        self.add_gap(Gap(category=category, type="aptitude", score=score, priority=priority), codes)

    def technical(self, score: float | None) -> None:
        rule = self.settings.technical_exposure
        if score is None:
            self.explain.append(
                self.rules.explain("technical_exposure.gap_cutoff", "technical exposure has no known score → no gap")
            )
        elif score >= rule.gap_cutoff:
            message = f"technical exposure {score:g} is not below its cutoff {rule.gap_cutoff:g} → no gap"
            self.explain.append(self.rules.explain("technical_exposure.gap_cutoff", message))
        else:
            priority = self._priority(
                "technical exposure", score, f"its cutoff {rule.gap_cutoff:g}", "technical_exposure.gap_cutoff"
            )
            message = f"technical exposure calls for {', '.join(rule.skill_codes)}"
            self.explain.append(self.rules.explain("technical_exposure.skill_codes", message))
            self.add_gap(
                Gap(category="technical_exposure", type="technical", score=score, priority=priority), rule.skill_codes
            )

    def _priority(self, what: str, score: float, cutoff: str, rule: str) -> str:
        index, band = self.settings.band(score)
        self.explain.append(self.rules.explain(rule, f"{what} {score:g} is below {cutoff} → gap"))
        message = f"{what} {score:g} is below {band.below:g} → priority {band.priority}"
        self.explain.append(self.rules.explain(("priority_bands", index, "below"), message))
        return band.priority

    def behavioral(self, result: ProfilerResult) -> None:
        rule = self.settings.behavioral
        profile = result.behavioral_profile
        if profile.areas_for_growth is not None:
            for area in profile.areas_for_growth:
                text = area.strip()
                if text:
                    message = f"growth area '{text}' → gap, priority {rule.priority}"
                    self.explain.append(self.rules.explain("behavioral.priority", message))
                    self._behavioral_gap(text, None)
            return
        for trait, mean in profile.traits.items():
            if mean < rule.gap_cutoff:
                message = f"trait {trait} {mean:g} is below the behavioral cutoff {rule.gap_cutoff:g} → gap, priority {rule.priority}"
                self.explain.append(self.rules.explain("behavioral.gap_cutoff", message))
                self._behavioral_gap(trait, mean)

    def _behavioral_gap(self, text: str, score: float | None) -> None:
        codes: list[str] = []
        for written, keyword_codes in self.settings.behavioral.keywords_in(text):
            message = f"'{text}' mentions {written} → {', '.join(keyword_codes)}"
            self.explain.append(self.rules.explain(("behavioral", "keywords", written), message))
            codes.extend(keyword_codes)
        gap = Gap(category=text, type="behavioral", score=score, priority=self.settings.behavioral.priority)
        self.add_gap(gap, codes)

    def recipes(self, catalog: tuple[Recipe, ...]) -> tuple[RecommendedRecipe, ...]:
        ranked = []
        for recipe in catalog:
            matched = tuple(code for code in recipe.codes if code in self.codes)
            if recipe.is_active and matched:
                coverage = sum(self.codes[code] for code in matched)
                ranked.append((-coverage, -recipe.usage_count, -(recipe.avg_rating or 0.0), recipe.id, recipe, matched))
        ranked.sort(key=lambda row: row[:4])
        limit = self.settings.recommendations.max_recipes
        chosen = tuple(
            RecommendedRecipe(id=recipe.id, title=recipe.title, skill_codes=matched, coverage=-coverage)
            for coverage, _, _, _, recipe, matched in ranked[:limit]
        )
        weights = self.settings.recommendations.priority_weights
        used = {self.weighed_by[code] for *_, matched in ranked for code in matched}
        for priority, weight in weights.items():  # in the order of the rules
            if priority in used:
                message = (
                    f"a needed skill code from a {priority} priority gap → it counts {weight:g} towards a recipe's rank"
                )
                self.explain.append(self.rules.explain(("recommendations", "priority_weights", priority), message))
        message = (
            f"{len(ranked)} active recipe(s) teach a needed skill; ranked by covered codes weighted by gap priority, "
            f"then usage, rating and id → at most {limit} are kept, {len(chosen)} recommended"
        )
        self.explain.append(self.rules.explain("recommendations.max_recipes", message))
        return chosen


class RecipesEngine(Engine):
    """Finds skill gaps and the recipes that close them."""

    name = "recipes"
    rules_model = RecipeRules
    schema_file = files(__package__).joinpath("schema.json")
    default_rules_file = files("profiler_rules").joinpath("rules", "recipes.yaml")
    catalogs = {"recipes": Recipe}

    def summarize(self, output: RecipesOutput) -> str:
        recipes = "" if output.recommended_recipes is None else f", {len(output.recommended_recipes)} recipe(s)"
        return f"{output.total_gaps} gap(s), {output.total_skills} skill code(s){recipes}"

    def evaluate(self, result: ProfilerResult, rules: Rules[RecipeRules], context: Context) -> Outcome:
        analysis = _Analysis(rules)
        for category, value in result.aptitude_breakdown.items():
            analysis.aptitude(category.strip(), percentage_of(value))
        analysis.technical(result.technical_exposure_score)
        analysis.behavioral(result)
        catalog = context.catalog("recipes")
        recommended = None if catalog is None else analysis.recipes(catalog)
        output = RecipesOutput(
            gaps=tuple(analysis.gaps),
            recommended_recipe_skills=tuple(analysis.codes),
            aptitude_score=result.scores.aptitude,
            technical_exposure_score=result.technical_exposure_score,
            total_gaps=len(analysis.gaps),
            total_skills=len(analysis.codes),
            recommended_recipes=recommended,
        )
        return Outcome(output, analysis.explain)
