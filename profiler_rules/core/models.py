"""The pydantic models a host exchanges with the dispatcher: profiler results and viewers in, reports out.

Input models are immutable and strict about meaning: ``None`` is "unknown" and never becomes 0, numbers
may arrive as the numeric strings Django REST framework writes for decimals ("62.40"), and a boolean,
NaN or an out-of-range value is an error that names its field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import CoreSchema, core_schema

from .errors import FieldError, InvalidInputError

COMPLETE_STATUSES = frozenset({"finished", "locked"})

SessionStatus = Literal[
    "started",
    "in_progress",
    "aptitude_complete",
    "behavioral_complete",
    "current_self_complete",
    "future_you_complete",
    "finished",
    "locked",
]
Role = Literal["student", "mentor", "coach", "analyst", "admin", "director"]


class _NotABoolean:
    """Numbers and numeric text only: pydantic's lax mode would read ``True`` as 1, and a boolean is
    never a score or a count.

    A strict union in front of the number's own schema lets through ints, floats, decimals and text,
    which the number schema then converts and range-checks; all of it runs in pydantic's compiled core.
    A Python validator instead would cost more than the rest of a result's validation: a result has
    dozens of numbers.
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        number = handler(source)  # float or int, with the limits of the Field before this annotation
        allowed = core_schema.union_schema(
            [
                core_schema.int_schema(strict=True),
                core_schema.float_schema(strict=True),
                core_schema.is_instance_schema(Decimal),
                core_schema.str_schema(strict=True),
            ],
            mode="left_to_right",
            custom_error_type=f"{number['type']}_type",  # "Input should be a valid number" (or integer)
        )
        return core_schema.chain_schema([allowed, number])


_Number = _NotABoolean()
Percent = Annotated[float, Field(ge=0, le=100), _Number]
"""A 0-100 score; numeric strings such as "62.40" are read as numbers."""
TraitMean = Annotated[float, Field(ge=0, le=10), _Number]
"""A behavioral mean on the platform's 0-10 scale."""
Fraction = Annotated[float, Field(ge=0, le=1), _Number]
MAX_COUNT = 100_000
Count = Annotated[int, Field(ge=0, le=MAX_COUNT), _Number]
"""A number of questions or points: a profiler asks hundreds, never millions."""

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _id_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


ItemId = Annotated[str, BeforeValidator(_id_text), Field(min_length=1)]
"""A catalog item's id: hosts use UUID strings or integers; integers are read as their text."""


class Scores(BaseModel):
    """The result's headline scores, each 0-100 or ``None`` when unknown."""

    model_config = _FROZEN

    overall: Percent | None = None
    aptitude: Percent | None = None
    behavioral: Percent | None = None


class AptitudeCounts(BaseModel):
    """The shape the platform really stores per aptitude category: answers right out of answers asked."""

    model_config = _FROZEN

    correct: Count
    total: Count
    points: Annotated[float, Field(ge=0, le=MAX_COUNT), _Number] | None = None

    @model_validator(mode="after")
    def _correct_within_total(self) -> AptitudeCounts:
        if self.correct > self.total:
            raise ValueError(f"correct ({self.correct}) is more than total ({self.total})")
        return self

    @property
    def percentage(self) -> float | None:
        """correct/total as a 0-100 percentage rounded to 2 places; ``None`` when nothing was asked."""
        if self.total == 0:
            return None
        return round(self.correct * 100 / self.total, 2)


def _breakdown_shape(value: Any) -> str:
    return "counts" if isinstance(value, Mapping | AptitudeCounts) else "percentage"


AptitudeScore = Annotated[
    Annotated[Percent, Tag("percentage")] | Annotated[AptitudeCounts, Tag("counts")],
    Discriminator(_breakdown_shape),
]


def percentage_of(value: float | AptitudeCounts | None) -> float | None:
    """The 0-100 percentage of a breakdown entry in either stored shape, ``None`` when unknown."""
    if isinstance(value, AptitudeCounts):
        return value.percentage
    return value


_SEPARATORS = re.compile(r"[\s_\-]+")


def name_key(name: str) -> str:
    """How category, skill and trait names compare across the platform: trimmed, case-folded, with
    runs of spaces, '-' and '_' alike ("Reverse-Engineering" and "reverse engineering" are one name).
    Never by part of a word."""
    return _SEPARATORS.sub("_", name.strip().casefold()).strip("_")


class FrozenDict(dict[Any, Any]):
    """A dict that refuses changes. Every engine of a dispatch reads the same result, so no engine may
    change what the next one reads; pydantic serialises it as the dict it is."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a profiler result is read-only")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[Any, Any]]]:
        return (FrozenDict, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        # Hashable, so that a frozen model holding one can be a default pydantic shares, not copies.
        return hash(frozenset(self.items()))


_Frozen = AfterValidator(FrozenDict)  # the class itself: no Python frame per dict

# Bounds on what a host may send: a result is a few kilobytes; these stop a runaway or hostile input
# (megabyte strings, thousands of categories, deeply nested free-form JSON) before any engine runs.
MAX_ID = 256
MAX_TEXT = 10_000
MAX_ITEMS = 200
MAX_FREE_FORM_DEPTH = 16
MAX_FREE_FORM_VALUES = 1_000

Identifier = Annotated[str, Field(min_length=1, max_length=MAX_ID)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Name = Annotated[str, Field(max_length=MAX_ID)]
Names = Annotated[tuple[Annotated[str, Field(max_length=MAX_TEXT)], ...], Field(max_length=MAX_ITEMS)]


def _read_free_form(value: dict[str, Any]) -> FrozenDict:
    """Check free-form JSON and make it read-only, in one pass: JSON types only, at most 16 deep and
    1,000 values, strings of at most 10,000 characters. pydantic has read the top level as a dict,
    without looking deeper."""
    budget = [MAX_FREE_FORM_VALUES]
    return _frozen_json(value, 1, budget)


def _frozen_json(item: Any, depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError(f"holds more than {MAX_FREE_FORM_VALUES} values")
    if depth > MAX_FREE_FORM_DEPTH:  # checked before going deeper, so recursion stays shallow
        raise ValueError(f"is nested deeper than {MAX_FREE_FORM_DEPTH} levels")
    if isinstance(item, str):
        if len(item) > MAX_TEXT:
            raise ValueError(f"holds text longer than {MAX_TEXT} characters")
        return item
    if item is None or isinstance(item, bool | int):
        return item
    if isinstance(item, float):
        if not math.isfinite(item):
            raise ValueError("holds a number that is not finite")
        return item
    if isinstance(item, Mapping):
        if not all(isinstance(key, str) for key in item):
            raise ValueError("has a key that is not text")
        return FrozenDict({key: _frozen_json(child, depth + 1, budget) for key, child in item.items()})
    if isinstance(item, list | tuple):
        return tuple(_frozen_json(child, depth + 1, budget) for child in item)
    raise ValueError(f"holds a {type(item).__name__}, which is not JSON")


FreeForm = Annotated[dict[str, Any], AfterValidator(_read_free_form)]
"""Free-form JSON (the future-you persona): bounded, and read-only once read."""


_STRUCTURED_KEYS = frozenset({"traits", "strengths", "areas_for_growth"})


class BehavioralProfile(BaseModel):
    """A behavioral profile in either stored shape, read into one.

    The documented shape is ``{traits: {name: mean}, strengths: [...], areas_for_growth: [...]}``; the
    platform itself writes the flat ``{category: mean}``, which becomes ``traits``. ``areas_for_growth``
    stays ``None`` when the profile does not give it, so "not given" and "none" differ.
    """

    model_config = _FROZEN

    traits: Annotated[dict[Name, TraitMean], Field(max_length=MAX_ITEMS), _Frozen] = Field(default_factory=FrozenDict)
    strengths: Names = ()
    areas_for_growth: Names | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_flat_shape(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data and not set(data) <= _STRUCTURED_KEYS:
            return {"traits": data}
        return data


class AntiCheat(BaseModel):
    """Anti-cheat signals; only viewers the access rules allow may see them."""

    model_config = _FROZEN

    score: Percent | None = None
    suspicious_patterns: Names = ()
    device_fingerprint: Name | None = None


class Answers(BaseModel):
    """The free-text answers the value statement is built from."""

    model_config = _FROZEN

    why_cyber: Text | None = None
    what_achieve: Text | None = None
    identity_values: Names = ()


class ProfilerResult(BaseModel):
    """One learner's profiler result, as a host hands it to the dispatcher.

    Only ``session_id`` and ``user_id`` are required. Engines act on complete results only, whose
    ``status`` is ``finished`` or ``locked``; a result without a status is not complete.
    """

    model_config = _FROZEN

    session_id: Identifier
    user_id: Identifier
    status: SessionStatus | None = None
    completed_at: datetime | None = None
    difficulty_selection: Name | None = None
    scores: Scores = Scores()  # frozen and hashable, so pydantic shares it rather than copying it
    technical_exposure_score: Percent | None = None
    aptitude_breakdown: Annotated[dict[Name, AptitudeScore | None], Field(max_length=MAX_ITEMS), _Frozen] = Field(
        default_factory=FrozenDict
    )
    behavioral_profile: BehavioralProfile = BehavioralProfile()  # read-only and hashable: shared, not copied
    strengths: Names = ()
    areas_for_growth: Names = ()
    recommended_track: Name | None = None
    track_confidence: Fraction | None = None
    track_alignment: Annotated[dict[Name, Percent], Field(max_length=MAX_ITEMS), _Frozen] = Field(
        default_factory=FrozenDict
    )
    future_you_persona: FreeForm | None = None
    anti_cheat: AntiCheat | None = None
    answers: Answers = Answers()
    cohort_id: Name | None = None
    sponsor_id: Name | None = None

    @field_validator("completed_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        # Naive timestamps are read as UTC so that results from different sources compare.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @property
    def is_complete(self) -> bool:
        """True when the session is ``finished`` or ``locked``: the only results engines act on."""
        return self.status in COMPLETE_STATUSES


class Viewer(BaseModel):
    """Who is asking, for the engines whose answers depend on access rules."""

    model_config = _FROZEN

    user_id: str | None = None
    roles: frozenset[Role] = frozenset()
    mentee_ids: frozenset[str] = frozenset()
    coachee_ids: frozenset[str] = frozenset()
    cohort_ids: frozenset[str] = frozenset()
    sponsor_ids: frozenset[str] = frozenset()


@dataclass(slots=True)
class Explanation:
    """One rule that took part in a decision: where it is written and what it decided, in words.

    A slotted dataclass rather than a model: a dispatch makes dozens of these, and a report
    serialises them as objects all the same (``{"rule", "file", "line", "message"}``). Not frozen:
    a frozen dataclass sets each field through ``object.__setattr__``, four times the cost, and each
    explanation belongs to one report only.
    """

    rule: str
    file: str | None
    line: int | None
    message: str

    @classmethod
    def of_status(cls, result: ProfilerResult, consequence: str) -> Explanation:
        """Why an engine does not act on a result that is not complete, in the same words everywhere:
        ``the result's status is 'started'; <consequence>``."""
        status = "unknown" if result.status is None else repr(result.status)
        return cls("status", None, None, f"the result's status is {status}; {consequence}")


EngineStatus = Literal["ok", "skipped", "denied", "error"]


class EngineReport(BaseModel):
    """What one engine answered. ``output`` is the engine's own output model (or ``None``)."""

    model_config = ConfigDict(frozen=True)

    status: EngineStatus
    output: Any = None
    explain: tuple[Explanation, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None


class RulesetStamp(BaseModel):
    """Which rules decided: the sha256 digest of the rule files and their optional ``version``, and
    the engines that served their packaged default rules because the rules directory has no file of
    theirs (``defaults``, sorted; empty when every engine has its file). The digest covers the files
    actually used, the packaged defaults included."""

    model_config = ConfigDict(frozen=True)

    digest: str
    version: str | None = None
    defaults: tuple[str, ...] = ()


class DispatchReport(BaseModel):
    """Every engine's answer to one profiler result, under one rule set."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    user_id: str
    ruleset: RulesetStamp
    engines: dict[str, EngineReport]


class AggregateReport(BaseModel):
    """An engine's answer over many results (the analytics dashboards), under one rule set.

    ``results_read`` counts the results given; ``results_invalid`` those that failed validation,
    each named in ``warnings`` (the first ones) and left out of the answer.
    """

    model_config = ConfigDict(frozen=True)

    engine: str
    ruleset: RulesetStamp
    status: EngineStatus
    output: Any = None
    explain: tuple[Explanation, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None
    results_read: int = 0
    results_invalid: int = 0


def field_errors(error: ValidationError) -> list[FieldError]:
    """pydantic's errors as dotted field names and plain messages."""
    found = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        given = item.get("input")
        if item["type"] in _RANGE_ERRORS and not _finite(given):
            # Ranges reject NaN and infinities too, but "should be >= 0" would be a puzzling reason.
            message = "Input should be a finite number"
        elif item["type"] in _NUMBER_ERRORS and isinstance(given, bool):
            message = "a boolean is not a number"
        if item["type"] not in {"missing", "extra_forbidden"} and _short(given):
            # Ranges are checked after conversion, so 120 arrives as 120.0: show it as written.
            message += f" (got {given:g})" if isinstance(given, float) and _finite(given) else f" (got {given!r})"
        found.append(FieldError(field, message))
    return found


_RANGE_ERRORS = frozenset({"greater_than_equal", "less_than_equal", "greater_than", "less_than"})
_NUMBER_ERRORS = frozenset({"float_type", "int_type"})


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        return True  # not a number at all: the range message stands


def _short(value: Any) -> bool:
    return isinstance(value, str | int | float) and len(repr(value)) <= 60


def validate_input(model: type[BaseModel], value: Any, what: str) -> Any:
    """Validate a host's input given as a model, a mapping or JSON text; raise InvalidInputError."""
    if isinstance(value, model):
        return value
    # The model's compiled validator itself: model_validate's Python wrapper costs as much again as
    # validating a small result, and this runs once per result.
    validator = model.__pydantic_validator__
    try:
        if isinstance(value, (str, bytes, bytearray)):
            return validator.validate_json(value)
        return validator.validate_python(value)
    except ValidationError as error:
        raise InvalidInputError(what, field_errors(error)) from None
