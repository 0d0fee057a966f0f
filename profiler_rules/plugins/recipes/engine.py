"""Skill gaps from a profiler result, the skill codes they call for, and the recipes that teach them.

It follows the seed and the original gap analysis, with the original's defects fixed: an unknown score
is no gap (a real 0 is the worst gap), both stored shapes of the aptitude breakdown are read, category
names match by exact name or declared alias (never by substring), and codes come out in a stable order.

Everything that depends on the rules alone (which category a name leads to, the texts of cutoffs and
bands, the joined codes) is worked out once per rules, in cached properties; per result, the engine
only looks things up, formats the messages that quote the result and builds its output in one
validation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cached_property
from importlib.resources import files
from operator import itemgetter
from typing import Annotated, Any, Literal, NamedTuple

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
SkillCode = Annotated[
    str,
    Field(
        pattern=r"^[A-Z][A-Z0-9_]*$",
        description="A skill code as recipes are tagged with it: capital letters, digits and '_'.",
        examples=["NET", "LOG_ANALYSIS"],
    ),
]
SkillCodes = Annotated[
    list[SkillCode],
    Field(
        min_length=1,
        description="Skill codes, in the order they are recommended.",
        examples=[["NET", "TCPIP", "DNS"]],
    ),
]
Priority = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        description="A priority name, as the recommendation weights name it.",
        examples=["high", "medium"],
    ),
]
Percent = Annotated[float, Field(ge=0, le=100)]
RulePath = str | tuple[str | int, ...]
"""Where a rule is written, as :meth:`Rules.explain` takes it."""


class CategoryMatch(NamedTuple):
    """What a category name or alias found in a result leads to."""

    category: str
    """The category as written in the rules."""
    alias_rule: RulePath | None
    """The alias that matched, ``None`` when the category's own name did."""
    codes_rule: RulePath
    codes: tuple[str, ...]
    codes_text: str
    """The codes as the explanations list them: ``NET, NETW, TCPIP``."""


class KeywordMatch(NamedTuple):
    """A behavioral keyword: as written in the rules, where, and the codes it adds."""

    written: str
    rule: RulePath
    codes: tuple[str, ...]
    codes_text: str


class BandMatch(NamedTuple):
    """A priority band, with the end of the message that places a score in it."""

    below: float
    priority: str
    rule: RulePath
    because: str
    """`` is below 40 → priority high``, said after the name and score."""


class WeightReason(NamedTuple):
    """Why a priority's codes count what they do towards a recipe's rank."""

    priority: str
    rule: RulePath
    message: str


class AptitudeRules(BaseModel):
    """Gaps in the aptitude breakdown, per category."""

    model_config = _FROZEN
    gap_cutoff: Percent = Field(
        description="A category scoring below this percentage is a gap; a score exactly at the cutoff is not. "
        "Unknown scores are never gaps.",
        examples=[60],
    )

    @cached_property
    def cutoff_text(self) -> str:
        return f"the aptitude cutoff {self.gap_cutoff:g}"


class TechnicalRules(BaseModel):
    """The gap in technical exposure."""

    model_config = _FROZEN
    gap_cutoff: Percent = Field(
        description="A technical exposure score below this is a gap (a real 0 is one); exactly at the cutoff is not.",
        examples=[60],
    )
    skill_codes: SkillCodes = Field(description="The skill codes a technical exposure gap calls for.")

    @cached_property
    def cutoff_text(self) -> str:
        return f"its cutoff {self.gap_cutoff:g}"

    @cached_property
    def codes_message(self) -> str:
        return f"technical exposure calls for {', '.join(self.skill_codes)}"


class PriorityBand(BaseModel):
    """One priority band."""

    model_config = _FROZEN
    priority: Priority = Field(description="The priority of gaps in this band.")
    below: Percent = Field(
        description="Scores under this value (and not under an earlier band's) get this band's priority.",
        examples=[40, 60],
    )


class BehavioralRules(BaseModel):
    """Behavioral gaps: the profile's growth areas when it gives them, otherwise its traits below the cutoff."""

    model_config = _FROZEN
    gap_cutoff: float = Field(
        ge=0,
        le=10,
        description="Without growth areas, a trait whose mean (on the 0-10 scale) is below this is a gap.",
        examples=[5],
    )
    priority: Priority = Field(description="The priority of every behavioral gap.")
    keywords: dict[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9 ]*$")], SkillCodes] = Field(
        description="Keywords looked for as whole words (any case) in a behavioral gap's text, and the skill "
        "codes each adds.",
        examples=[{"communication": ["COMM"]}],
    )

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
    def matches_by_word(self) -> dict[str, KeywordMatch]:
        """Each keyword, case-folded, with what the engine cites and adds when it is found."""
        return {
            word: KeywordMatch(written, ("behavioral", "keywords", written), tuple(codes), ", ".join(codes))
            for word, (written, codes) in self.by_word.items()
        }

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        if not self.by_word:
            return None
        # A whole word, whatever its case; '_' separates words too ("communication_skills").
        words = "|".join(re.escape(word) for word in sorted(self.by_word, key=len, reverse=True))
        return re.compile(rf"(?<![^\W_])(?:{words})(?![^\W_])", re.IGNORECASE)

    @cached_property
    def gap_because(self) -> str:
        """`` is below the behavioral cutoff 5 → gap, priority medium``, said after a trait and its mean."""
        return f" is below the behavioral cutoff {self.gap_cutoff:g} → gap, priority {self.priority}"

    def words_in(self, text: str) -> list[str]:
        """The keywords (case-folded) found in ``text`` as whole words, in the order they appear, each once."""
        if self.pattern is None:
            return []
        # The pattern has no capturing group, so findall gives each whole match.
        return list(dict.fromkeys(map(str.casefold, self.pattern.findall(text))))

    def keywords_in(self, text: str) -> list[tuple[str, list[str]]]:
        """The keywords found in ``text`` as whole words, in the order they appear, each once."""
        return [self.by_word[word] for word in self.words_in(text)]


class CategoryRule(BaseModel):
    """One category."""

    model_config = _FROZEN
    skill_codes: SkillCodes = Field(description="The skill codes a gap in this category calls for.")
    aliases: list[Annotated[str, Field(min_length=1, description="Another name of the category.")]] = Field(
        default=[],
        description="Other names the profiler may give this category.",
        examples=[["network", "networks"]],
    )


class RecommendationRules(BaseModel):
    """How recipes of a catalog are chosen: active recipes teaching a needed skill code, ranked by the
    weight of the codes they cover, then usage, rating and id."""

    model_config = _FROZEN
    max_recipes: int = Field(ge=1, le=100, description="At most this many recipes are recommended.", examples=[10])
    priority_weights: dict[
        Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")],
        Annotated[float, Field(ge=0, description="The weight of a code needed by a gap of this priority.")],
    ] = Field(
        description="How much each needed skill code counts towards a recipe's rank, by the priority of the "
        "gap that needs it.",
        examples=[{"high": 2, "medium": 1}],
    )

    @cached_property
    def weight_reasons(self) -> tuple[WeightReason, ...]:
        """Each priority's weight in words, in the order of the rules."""
        return tuple(
            WeightReason(
                priority,
                ("recommendations", "priority_weights", priority),
                f"a needed skill code from a {priority} priority gap → it counts {weight:g} towards a recipe's rank",
            )
            for priority, weight in self.priority_weights.items()
        )


class RecipeRules(BaseModel):
    """Skill gaps from a profiler result, the skill codes each gap calls for, and how recipes of a
    catalog are ranked."""

    # ``rules/recipes.yaml``, built and cross-checked. The docstrings and descriptions are what editors show.
    model_config = ConfigDict(frozen=True, extra="forbid", title="Recipes rules")

    aptitude: AptitudeRules
    technical_exposure: TechnicalRules
    priority_bands: list[PriorityBand] = Field(
        min_length=1,
        description="A gap's priority: the first band whose 'below' its score is under. Bands rise, and the "
        "last must reach every gap cutoff.",
        examples=[[{"priority": "high", "below": 40}, {"priority": "medium", "below": 60}]],
    )
    behavioral: BehavioralRules
    categories: dict[str, CategoryRule] = Field(
        description="Each aptitude category and the skill codes its gap calls for. A breakdown category "
        "matches by name or alias, ignoring case, surrounding spaces and the difference between ' ', '-' and "
        "'_'; never by part of a word.",
        examples=[{"networking": {"skill_codes": ["NET", "TCPIP"], "aliases": ["networks"]}}],
    )
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

    @cached_property
    def matches_by_name(self) -> dict[str, CategoryMatch]:
        """Each category name and alias, as :func:`name_key` reads it, with all a match on it leads to."""
        matches: dict[str, CategoryMatch] = {}
        for name, rule in self.categories.items():
            codes = tuple(rule.skill_codes)
            for written in (name, *rule.aliases):
                key = name_key(written)
                if key in matches:  # an alias naming its category again, or an earlier alias
                    continue
                alias = self.alias_index(name, written)
                alias_rule = None if alias is None else ("categories", name, "aliases", alias)
                matches[key] = CategoryMatch(
                    name, alias_rule, ("categories", name, "skill_codes"), codes, ", ".join(codes)
                )
        return matches

    @cached_property
    def bands(self) -> tuple[BandMatch, ...]:
        """The priority bands, in order, each with what the engine cites and says when a score falls in it."""
        return tuple(
            BandMatch(
                band.below,
                band.priority,
                ("priority_bands", index, "below"),
                f" is below {band.below:g} → priority {band.priority}",
            )
            for index, band in enumerate(self.priority_bands)
        )

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

    # Texts bounded as a result's are (10,000 characters), and Unicode: a report can not hold a lone
    # surrogate, which Python's JSON reader lets through. Fields the engine does not read are ignored,
    # so that a host may pass its rows as they are (Django's model_to_dict(row)).
    model_config = ConfigDict(frozen=True, extra="ignore", str_max_length=10_000)

    id: ItemId
    title: str
    skill_codes: tuple[Annotated[str, AfterValidator(lambda code: code.strip().upper())], ...]
    is_active: bool = True
    usage_count: Annotated[int, Field(ge=0)] = 0
    avg_rating: Annotated[float, Field(allow_inf_nan=False)] | None = None  # NaN would rank at random

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


# A ranked recipe: (-coverage, -usage, -rating, id, recipe, matched codes); the first four order it.
_RANK = itemgetter(0, 1, 2, 3)


class _Analysis:
    """The gaps, codes and explanations of one result, gathered in a stable order.

    Gaps and recommended recipes are kept as plain dicts of their fields: the output model is validated
    once, for the whole answer, which costs far less than a model per gap.
    """

    def __init__(self, rules: Rules[RecipeRules], explaining: bool) -> None:
        self.cite = rules.explain
        self.settings = rules.settings
        self.explaining = explaining  # when false, no explanation is built and no message written
        self.gaps: list[dict[str, Any]] = []
        self.codes: dict[str, float] = {}  # each needed skill code, in order, with its weight
        self.weighed_by: dict[str, str] = {}  # the priority whose weight each code has, for the explanations
        self.explain: list[Explanation] = []

    def add_gap(self, category: str, kind: str, score: float | None, priority: str, codes: Iterable[str]) -> None:
        self.gaps.append({"category": category, "type": kind, "score": score, "priority": priority})
        weight = self.settings.recommendations.priority_weights[priority]
        needed = self.codes
        for code in codes:
            if code not in needed or weight > needed[code]:  # a code keeps the highest weight of its gaps
                self.weighed_by[code] = priority
                needed[code] = weight

    def aptitude(self, category: str, score: float | None) -> None:
        settings, say, cite, explaining = self.settings, self.explain.append, self.cite, self.explaining
        if score is None:
            if explaining:
                say(cite("aptitude.gap_cutoff", f"{category} has no known score → no gap"))
            return
        if score >= settings.aptitude.gap_cutoff:
            if explaining:
                message = f"{category} {score:g} is not below {settings.aptitude.cutoff_text} → no gap"
                say(cite("aptitude.gap_cutoff", message))
            return
        priority = self._priority(category, score, settings.aptitude.cutoff_text, "aptitude.gap_cutoff")
        found = settings.matches_by_name.get(name_key(category))
        if found is None:
            if explaining:
                say(cite("categories", f"{category} is not a category or alias in the rules → no skill codes"))
            self.add_gap(category, "aptitude", score, priority, ())
            return
        if explaining:
            if found.alias_rule is not None:
                say(cite(found.alias_rule, f"{category} is an alias of {found.category} → its skill codes"))
            say(cite(found.codes_rule, f"{category} calls for {found.codes_text}"))
        self.add_gap(category, "aptitude", score, priority, found.codes)

    def technical(self, score: float | None) -> None:
        rule, say, cite, explaining = self.settings.technical_exposure, self.explain.append, self.cite, self.explaining
        if score is None:
            if explaining:
                say(cite("technical_exposure.gap_cutoff", "technical exposure has no known score → no gap"))
        elif score >= rule.gap_cutoff:
            if explaining:
                message = f"technical exposure {score:g} is not below {rule.cutoff_text} → no gap"
                say(cite("technical_exposure.gap_cutoff", message))
        else:
            priority = self._priority("technical exposure", score, rule.cutoff_text, "technical_exposure.gap_cutoff")
            if explaining:
                say(cite("technical_exposure.skill_codes", rule.codes_message))
            self.add_gap("technical_exposure", "technical", score, priority, rule.skill_codes)

    def _priority(self, what: str, score: float, cutoff: str, rule: str) -> str:
        # The first band the score is under, as RecipeRules.band finds it: the gap cutoffs make sure
        # there is one, and the last band stands otherwise.
        for band in self.settings.bands:
            if score < band.below:
                break
        if self.explaining:
            scored = f"{what} {score:g}"
            self.explain.append(self.cite(rule, f"{scored} is below {cutoff} → gap"))
            self.explain.append(self.cite(band.rule, scored + band.because))
        return band.priority

    def behavioral(self, result: ProfilerResult) -> None:
        rule, say, cite, explaining = self.settings.behavioral, self.explain.append, self.cite, self.explaining
        profile = result.behavioral_profile
        if profile.areas_for_growth is not None:
            for area in profile.areas_for_growth:
                text = area.strip()
                if text:
                    if explaining:
                        say(cite("behavioral.priority", f"growth area '{text}' → gap, priority {rule.priority}"))
                    self._behavioral_gap(text, None)
            return
        for trait, mean in profile.traits.items():
            if mean < rule.gap_cutoff:
                if explaining:
                    say(cite("behavioral.gap_cutoff", f"trait {trait} {mean:g}{rule.gap_because}"))
                self._behavioral_gap(trait, mean)

    def _behavioral_gap(self, text: str, score: float | None) -> None:
        rule = self.settings.behavioral
        codes: list[str] = []
        for word in rule.words_in(text):
            keyword = rule.matches_by_word[word]
            if self.explaining:
                self.explain.append(
                    self.cite(keyword.rule, f"'{text}' mentions {keyword.written} → {keyword.codes_text}")
                )
            codes.extend(keyword.codes)
        self.add_gap(text, "behavioral", score, rule.priority, codes)

    def recipes(self, catalog: tuple[Recipe, ...]) -> list[dict[str, Any]]:
        ranked = self._ranked(catalog)
        limit = self.settings.recommendations.max_recipes
        chosen = [
            {"id": recipe.id, "title": recipe.title, "skill_codes": matched, "coverage": -coverage}
            for coverage, _, _, _, recipe, matched in ranked[:limit]
        ]
        if self.explaining:
            self._explain_ranking(ranked, limit, len(chosen))
        return chosen

    def _explain_ranking(self, ranked: list[tuple[Any, ...]], limit: int, chosen: int) -> None:
        """Which priorities' weights ranked the recipes, and how many were kept."""
        used: set[str] = set()  # the priorities whose weights ranked the recipes
        for *_, matched in ranked:
            used.update(map(self.weighed_by.__getitem__, matched))
        for priority, rule, message in self.settings.recommendations.weight_reasons:  # in the order of the rules
            if priority in used:
                self.explain.append(self.cite(rule, message))
        message = (
            f"{len(ranked)} active recipe(s) teach a needed skill; ranked by covered codes weighted by gap priority, "
            f"then usage, rating and id → at most {limit} are kept, {chosen} recommended"
        )
        self.explain.append(self.cite("recommendations.max_recipes", message))

    def _ranked(self, catalog: tuple[Recipe, ...]) -> list[tuple[Any, ...]]:
        """The active recipes that teach a needed code, best first: most covered weight, then the most
        used, the best rated, and by id."""
        needed = self.codes
        if not needed:
            return []
        ranked: list[tuple[Any, ...]] = []
        for recipe in catalog:
            if not recipe.is_active:
                continue
            matched: list[str] = []
            for code in recipe.codes:  # a plain loop: cheaper than a comprehension for a recipe's few codes
                if code in needed:
                    matched.append(code)
            if matched:
                coverage = sum(map(needed.__getitem__, matched))
                ranked.append((-coverage, -recipe.usage_count, -(recipe.avg_rating or 0.0), recipe.id, recipe, matched))
        ranked.sort(key=_RANK)
        return ranked


class RecipesEngine(Engine):
    """Finds skill gaps and the recipes that close them."""

    name = "recipes"
    report_order = 20  # built-ins: missions 10, recipes 20, portfolio 30, leadership 40, ... analytics 70
    settings_model = RecipeRules
    default_rules_file = files("profiler_rules").joinpath("rules", "recipes.yaml")
    catalogs = {"recipes": Recipe}

    def summarize(self, output: RecipesOutput) -> str:
        recipes = "" if output.recommended_recipes is None else f", {len(output.recommended_recipes)} recipe(s)"
        return f"{output.total_gaps} gap(s), {output.total_skills} skill code(s){recipes}"

    def evaluate(self, result: ProfilerResult, rules: Rules[RecipeRules], context: Context) -> Outcome:
        analysis = _Analysis(rules, context.explain)
        for category, value in result.aptitude_breakdown.items():
            analysis.aptitude(category.strip(), percentage_of(value))
        analysis.technical(result.technical_exposure_score)
        analysis.behavioral(result)
        catalog = context.catalog("recipes")
        recommended = None if catalog is None else analysis.recipes(catalog)
        # One validation for the whole answer: the gaps and recipes become their models on the way.
        # The compiled validator, without Model(...)'s or model_validate's Python wrapper (a microsecond per
        # result); looked up here, not at import, so that a model built on first use stays so.
        output = RecipesOutput.__pydantic_validator__.validate_python(
            {
                "gaps": analysis.gaps,
                "recommended_recipe_skills": tuple(analysis.codes),
                "aptitude_score": result.scores.aptitude,
                "technical_exposure_score": result.technical_exposure_score,
                "total_gaps": len(analysis.gaps),
                "total_skills": len(analysis.codes),
                "recommended_recipes": recommended,
            }
        )
        return Outcome(output, analysis.explain)
