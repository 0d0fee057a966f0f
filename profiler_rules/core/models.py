"""The pydantic models a host exchanges with the dispatcher: profiler results and viewers in, reports out.

Input models are immutable and strict about meaning: ``None`` is "unknown" and never becomes 0, numbers
may arrive as the numeric strings Django REST framework writes for decimals ("62.40"), and a boolean,
NaN or an out-of-range value is an error that names its field.
"""

from __future__ import annotations

import functools
import json
import math
import re
import types
import typing
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timezone
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args, get_origin
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import CoreSchema, PydanticCustomError, TzInfo, core_schema

from .errors import FieldError, InvalidInputError
from .faults import describe

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
MAX_ROLE = 256
Role = Annotated[str, Field(min_length=1, max_length=MAX_ROLE)]
"""A role name. The vocabulary is open: whatever the access rules grant (``admin``, ``mentor``,
``program_director``, ``sponsor_admin`` ...); a role no grant names grants nothing."""
USUAL_ROLES = ("student", "mentor", "coach", "analyst", "admin", "director", "sponsor_admin")
"""The roles the packaged access rules grant: what editors suggest, never a closed list."""


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
                # Text first (Django REST framework writes decimals as text): a branch that refuses text
                # costs a microsecond, one that refuses a number a tenth of that. Each input type
                # matches one branch only, so the order changes no value and no error.
                core_schema.str_schema(strict=True),
                core_schema.int_schema(strict=True),
                core_schema.float_schema(strict=True),
                core_schema.is_instance_schema(Decimal),
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


MAX_ID = 256
_ID_NUMBERS = 10**MAX_ID  # an integer id as long as a text id may be: its text is short, str() can make it


def _integer_id_text(value: int) -> str:
    if -_ID_NUMBERS < value < _ID_NUMBERS:
        return str(value)
    # str() of an integer of thousands of digits would raise; no id is that long anyway.
    raise PydanticCustomError("string_too_long", "an id is at most {max_length} characters", {"max_length": MAX_ID})


class _IdText:
    """An id as hosts hold it: text, an integer (a database key, never a boolean) or a UUID, read as its
    string form (``str(value)``), so ``42`` and ``"42"`` are one id.

    Text is matched first by pydantic's compiled core (a strict string schema), so the common case costs
    no Python call; integers and UUIDs go through ``str``. The length limits of the Field before this
    annotation apply to the text, whatever the id came as.
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        text = handler(source)  # str, with the limits of the Field before this annotation
        allowed = core_schema.union_schema(
            [
                core_schema.str_schema(strict=True),
                core_schema.no_info_after_validator_function(
                    _integer_id_text,
                    core_schema.int_schema(strict=True),  # strict: a boolean is refused
                ),
                core_schema.no_info_after_validator_function(str, core_schema.is_instance_schema(UUID)),
            ],
            mode="left_to_right",
            custom_error_type="id_type",
            custom_error_message="Input should be a valid id: text, an integer or a UUID",
        )
        return core_schema.chain_schema([allowed, text])


_Id = _IdText()
ItemId = Annotated[str, Field(min_length=1, max_length=MAX_ID), _Id]
"""An id: of a result, a learner, a viewer, a cohort, a sponsor or a catalog item, 1-256 characters.
Text, an integer or a UUID, read as its string form: hosts use UUIDs and integer keys straight from the
ORM, and answers carry the string."""
IdText = Annotated[str, Field(max_length=MAX_ID), _Id]
"""An id where an empty text has always been taken (a viewer's or roster's ids): text, an integer or a
UUID, read as its string form, at most 256 characters."""


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
            raise PydanticCustomError(
                "counts_order",
                "correct ({correct}) is more than total ({total})",
                {"correct": self.correct, "total": self.total},
            )
        return self

    @property
    def percentage(self) -> float | None:
        """correct/total as a 0-100 percentage rounded to 2 places; ``None`` when nothing was asked."""
        if self.total == 0:
            return None
        return round(self.correct * 100 / self.total, 2)


_PERCENTAGE_TYPES = frozenset({float, int, str})


def _breakdown_shape(value: Any) -> str:
    # Runs for every category of every result: the usual types are told by type alone, as isinstance
    # of an abstract class (Mapping, a model) walks the abc machinery.
    kind = type(value)
    if kind is dict:
        return "counts"
    if kind in _PERCENTAGE_TYPES:
        return "percentage"
    return "counts" if isinstance(value, Mapping | AptitudeCounts) else "percentage"


AptitudeScore = Annotated[
    Annotated[Percent, Tag("percentage")] | Annotated[AptitudeCounts, Tag("counts")],
    Discriminator(_breakdown_shape),
]


def percentage_of(value: float | AptitudeCounts | None) -> float | None:
    """The 0-100 percentage of a breakdown entry in either stored shape, ``None`` when unknown."""
    if value is None or type(value) is float:
        return value  # the usual entry, told without isinstance of a model class (the abc machinery)
    if isinstance(value, AptitudeCounts):
        return value.percentage
    return value


_SEPARATORS = re.compile(r"[\s_\-]+")


@functools.lru_cache(maxsize=4096)
def name_key(name: str) -> str:
    """How category, skill and trait names compare across the platform: trimmed, case-folded, with
    runs of spaces, '-' and '_' alike ("Reverse-Engineering" and "reverse engineering" are one name).
    Never by part of a word.

    Cached: every result and catalog item names the same few dozen categories, skills and traits,
    and a look-up costs a fifth of folding again. The cache is bounded, so names that never come
    back (hostile input) only push the oldest out.
    """
    return _SEPARATORS.sub("_", name.strip().casefold()).strip("_")


_DISTINCT_SEEN: set[tuple[str, ...]] = set()
"""Lists of names already found distinct. Results name the same few categories (traits, tracks) in
the same order over and over: a set look-up decides then, at a tenth of folding each name again."""
_DISTINCT_SEEN_SIZE = 1024
_DISTINCT_SEEN_NAMES = 16  # longer lists are rare, and would make the memory of the cache large


def _distinct_names(names: tuple[str, ...], kind: str) -> None:
    """Refuse two names (of a list, or keys of a mapping) that :func:`name_key` reads as one: engines
    would read the one name twice, each its own way (one takes the first score, another the last).
    Blank names name nothing and are left to the engines, which skip them."""
    if len(names) < 2 or names in _DISTINCT_SEEN:
        return
    first_of: dict[str, str] = {}
    for name in names:
        key = name_key(name)
        if not key:
            continue
        if key not in first_of:
            first_of[key] = name
            continue
        first = first_of[key]
        if first == name:
            raise PydanticCustomError(
                "repeated_name", "'{name}' is listed twice; keep one", {"name": name, "kind": kind}
            )
        raise PydanticCustomError(
            "same_name",
            "'{first}' and '{second}' are the same {kind}; keep one",
            {"first": first, "second": name, "kind": kind},
        )
    if len(names) <= _DISTINCT_SEEN_NAMES:
        if len(_DISTINCT_SEEN) >= _DISTINCT_SEEN_SIZE:
            _DISTINCT_SEEN.clear()  # bounded: hostile input empties it, and the usual lists come back
        _DISTINCT_SEEN.add(names)


def _distinct(kind: str) -> AfterValidator:
    """A list of names of ``kind`` in which no two are the same name."""

    def check(names: tuple[str, ...]) -> tuple[str, ...]:
        if len(names) > 1:  # most lists are empty or hold one name: no call for those
            _distinct_names(names, kind)
        return names

    return AfterValidator(check)


def _distinct_keys(kind: str) -> AfterValidator:
    """A mapping keyed by names of ``kind``, no two the same name, made read-only (see FrozenDict)."""

    def check(mapping: dict[str, Any]) -> FrozenDict:
        if not mapping:
            return _NO_ITEMS  # most results leave some mappings empty: one shared, read-only, for all
        if len(mapping) > 1:
            _distinct_names(tuple(mapping), kind)
        return FrozenDict(mapping)

    return AfterValidator(check)


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


_NO_ITEMS = FrozenDict()
"""The empty mapping every validated result shares: read-only, so one serves all."""


# Bounds on what a host may send: a result is a few kilobytes; these stop a runaway or hostile input
# (megabyte strings, thousands of categories, deeply nested free-form JSON) before any engine runs.
MAX_TEXT = 10_000
MAX_ITEMS = 200
MAX_FREE_FORM_DEPTH = 16
MAX_FREE_FORM_VALUES = 1_000

Text = Annotated[str, Field(max_length=MAX_TEXT)]
Name = Annotated[str, Field(max_length=MAX_ID)]
Names = Annotated[tuple[Annotated[str, Field(max_length=MAX_TEXT)], ...], Field(max_length=MAX_ITEMS)]


def _read_free_form(value: dict[str, Any]) -> FrozenDict:
    """Check free-form JSON and make it read-only, in one pass: JSON types only, at most 16 deep and
    1,000 values, strings of at most 10,000 characters. pydantic has read the top level as a dict,
    without looking deeper."""
    budget = [MAX_FREE_FORM_VALUES]
    return _frozen_json(value, 1, budget)


_FREE_FORM_INTEGERS = 2**63
"""Integers of free-form JSON fit 64 bits: a report holding a longer one is JSON that many readers
refuse (Python's past 4,300 digits) or misread."""


def _frozen_json(item: Any, depth: int, budget: list[int]) -> Any:
    # The messages say what is wrong, never the value: free-form JSON may be a protected detail.
    budget[0] -= 1
    if budget[0] < 0:
        raise _free_form_error(f"holds more than {MAX_FREE_FORM_VALUES} values")
    if depth > MAX_FREE_FORM_DEPTH:  # checked before going deeper, so recursion stays shallow
        raise _free_form_error(f"is nested deeper than {MAX_FREE_FORM_DEPTH} levels")
    if isinstance(item, str):
        if len(item) > MAX_TEXT:
            raise _free_form_error(f"holds text longer than {MAX_TEXT} characters")
        if not (item.isascii() or _is_unicode(item)):
            raise _free_form_error("holds text that is not Unicode (a lone surrogate)")
        return item
    if item is None or isinstance(item, bool):
        return item
    if isinstance(item, _INTEGERS):
        if isinstance(item, _LongInteger) or not -_FREE_FORM_INTEGERS <= item < _FREE_FORM_INTEGERS:
            raise _free_form_error("holds an integer of more than 64 bits")
        return item
    if isinstance(item, float):
        if not math.isfinite(item):
            raise _free_form_error("holds a number that is not finite")
        return item
    if isinstance(item, Mapping):
        for key in item:
            if not (isinstance(key, str) and (key.isascii() or _is_unicode(key))):
                raise _free_form_error("has a key that is not text")
        return FrozenDict(zip(item.keys(), _frozen_values(item.values(), depth + 1, budget), strict=True))
    if isinstance(item, list | tuple):
        return tuple(_frozen_values(item, depth + 1, budget))
    raise _free_form_error(f"holds a {type(item).__name__}, which is not JSON")


def _frozen_values(values: Iterable[Any], depth: int, budget: list[int]) -> list[Any]:
    """:func:`_frozen_json` of each value at ``depth``, in order. The usual value (ASCII text of a few
    words, a finite float, null) is checked in this loop rather than by a call per value: the same checks,
    and each value counted against the budget as that function counts it."""
    frozen: list[Any] = []
    keep = frozen.append
    shallow = depth <= MAX_FREE_FORM_DEPTH
    for value in values:
        kind = type(value)
        if (
            shallow
            and budget[0] > 0
            and (
                (kind is str and len(value) <= MAX_TEXT and value.isascii())
                or (kind is float and math.isfinite(value))
                or value is None
            )
        ):
            budget[0] -= 1
            keep(value)
        else:
            keep(_frozen_json(value, depth, budget))
    return frozen


def _free_form_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("free_form", message)


def _is_unicode(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8: Python strings may hold lone surrogates, which no
    report can."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


FreeForm = Annotated[dict[str, Any], AfterValidator(_read_free_form)]
"""Free-form JSON (the future-you persona): bounded, and read-only once read."""


_STRUCTURED_KEYS = frozenset({"traits", "strengths", "areas_for_growth"})
_LISTS = (list, tuple)
_NOT_A_TRAIT = "left out: a trait's value must be a number from 0 to 10"
_NOT_DOCUMENTED = "ignored: not a key of the documented shape"


def _documented_shape(data: Mapping[str, Any]) -> bool:
    """Whether a profile is the documented shape: it has ``traits`` holding a mapping, or ``strengths``
    or ``areas_for_growth`` holding a list. Anything else is the flat shape, ``{trait: mean}``: a flat
    profile may name a trait "strengths", but then with a number."""
    traits = data.get("traits")
    return (
        type(traits) is dict
        or isinstance(traits, Mapping)
        or isinstance(data.get("strengths"), _LISTS)
        or isinstance(data.get("areas_for_growth"), _LISTS)
    )


_NUMBERS = frozenset({int, float, Decimal})


def _is_trait_value(value: Any) -> bool:
    """Whether a trait's value is what the engines read, or at least looks like it (a number, or text of
    one): those are validated as trait means, so 12 or NaN stay errors. Text such as "collaborative",
    a boolean, a list, a mapping or null are not, and are left out."""
    if type(value) in _NUMBERS:
        return True  # the common case, decided without isinstance's walk of the class hierarchy
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float | Decimal):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


class BehavioralProfile(BaseModel):
    """A behavioral profile in either stored shape, read into one.

    The documented shape is ``{traits: {name: mean}, strengths: [...], areas_for_growth: [...]}``; the
    platform itself writes the flat ``{category: mean}``, which becomes ``traits``. The two are told
    apart by :func:`_documented_shape`. Other keys of the documented shape are ignored, and traits whose
    value is not a number (text such as "collaborative") are left out; ``left_out`` records each, by
    its path under ``behavioral_profile``, for the dispatch report's ``warnings``. ``areas_for_growth``
    stays ``None`` when the profile does not give it, so "not given" and "none" differ.
    """

    model_config = _FROZEN

    traits: Annotated[dict[Name, TraitMean], Field(max_length=MAX_ITEMS), _distinct_keys("trait")] = Field(
        default_factory=FrozenDict
    )
    strengths: Annotated[Names, _distinct("strength")] = ()
    areas_for_growth: Annotated[Names, _distinct("area for growth")] | None = None
    left_out: tuple[tuple[tuple[str, ...], str], ...] = Field(default=(), exclude=True, repr=False)
    """What was not read: each part's path under the profile (its keys are the host's data) and why.
    Only the profile's own validation fills it: a key of that name in the input is itself ignored."""

    @model_validator(mode="before")
    @classmethod
    def _read_shape(cls, data: Any) -> Any:
        # Runs for every result: the common profiles (documented keys only, or a flat one, every trait
        # a number) go through unchanged, without a copy.
        if not data or not (type(data) is dict or isinstance(data, Mapping)):
            return data
        if not _documented_shape(data):
            traits, left_out = _numeric_traits(data, ())
            return {"traits": traits, "left_out": left_out} if left_out else {"traits": data}
        traits = data.get("traits")
        if data.keys() <= _STRUCTURED_KEYS and (traits is None or all(map(_is_trait_value, traits.values()))):
            return data
        read = {key: value for key, value in data.items() if key in _STRUCTURED_KEYS}
        left_out = [((field_name(key),), _NOT_DOCUMENTED) for key in data if key not in _STRUCTURED_KEYS]
        if isinstance(read.get("traits"), Mapping):
            read["traits"], trait_problems = _numeric_traits(read["traits"], ("traits",))
            left_out.extend(trait_problems)
        if left_out:
            read["left_out"] = tuple(left_out)
        return read

    def warnings(self, protected: bool) -> tuple[str, ...]:
        """One line per part left out or ignored, named by its path, never by its value; within a
        ``protected`` profile, keys show as ``*``."""
        lines = []
        for path, reason in self.left_out:
            shown = (*path[:-1], "*") if protected else path
            lines.append(f"behavioral_profile.{'.'.join(shown)}: {reason}")
        return tuple(lines)


def _numeric_traits(
    traits: Mapping[str, Any], under: tuple[str, ...]
) -> tuple[Mapping[str, Any], tuple[tuple[tuple[str, ...], str], ...]]:
    """The traits whose values are numbers (or look like them), and the path of each left out."""
    if all(map(_is_trait_value, traits.values())):
        return traits, ()
    left_out = tuple(
        ((*under, field_name(key)), _NOT_A_TRAIT) for key, value in traits.items() if not _is_trait_value(value)
    )
    return {key: value for key, value in traits.items() if _is_trait_value(value)}, left_out


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


_FIXED_ZONES = (TzInfo, timezone)


def in_utc(value: datetime) -> datetime:
    """A host's datetime as an aware one: a naive datetime is read as UTC, so that results and dates from
    different sources compare; an aware one keeps its offset.

    Naive is what Python says, not what tzinfo says: a host's time zone may have no offset to give, and
    is then read as UTC too.
    """
    zone = value.tzinfo
    if zone is None:
        return value.replace(tzinfo=UTC)
    if type(zone) in _FIXED_ZONES:
        return value  # what parsing gives: a fixed offset, never None
    try:
        offset = value.utcoffset()
    except Exception:  # noqa: BLE001 - a host's own tzinfo may fail any way; the field is invalid
        raise PydanticCustomError("time_zone", "its time zone gives no offset from UTC") from None
    return value.replace(tzinfo=UTC) if offset is None else value


UtcDatetime = Annotated[datetime, AfterValidator(in_utc)]
"""A datetime, naive ones read as UTC (see :func:`in_utc`). Checked inside ``| None``, so that a result
without the time pays no call."""


_DATE_TEXT = len("2026-02-01")


_DATETIME = TypeAdapter(datetime)


def _date_in_utc(value: Any) -> Any:
    """A datetime given where a date is asked for, as its date in UTC (a naive one read as UTC); a date,
    or text of a date, is left to the date schema."""
    if isinstance(value, str) and len(value.strip()) > _DATE_TEXT:
        try:
            value = _DATETIME.validate_python(value)
        except ValidationError:
            raise PydanticCustomError("date_type", "Input should be a valid date or datetime") from None
    if isinstance(value, datetime):
        return in_utc(value).astimezone(UTC).date()
    return value


UtcDate = Annotated[date, BeforeValidator(_date_in_utc)]
"""A calendar date. A datetime (or its text) is read as its date in UTC: a naive one as UTC, an aware one
converted, so ``2026-02-01T22:30-05:00`` is 2026-02-02."""


class ProfilerResult(BaseModel):
    """One learner's profiler result, as a host hands it to the dispatcher.

    Only ``session_id`` and ``user_id`` are required. Engines act on complete results only, whose
    ``status`` is ``finished`` or ``locked``; a result without a status is not complete.
    """

    model_config = _FROZEN

    session_id: ItemId
    user_id: ItemId
    status: SessionStatus | None = None
    completed_at: UtcDatetime | None = None
    difficulty_selection: Name | None = None
    scores: Scores = Scores()  # frozen and hashable, so pydantic shares it rather than copying it
    technical_exposure_score: Percent | None = None
    aptitude_breakdown: Annotated[
        dict[Name, AptitudeScore | None], Field(max_length=MAX_ITEMS), _distinct_keys("category")
    ] = Field(default_factory=FrozenDict)
    behavioral_profile: BehavioralProfile = BehavioralProfile()  # read-only and hashable: shared, not copied
    strengths: Annotated[Names, _distinct("strength")] = ()
    areas_for_growth: Annotated[Names, _distinct("area for growth")] = ()
    recommended_track: Name | None = None
    track_confidence: Fraction | None = None
    track_alignment: Annotated[dict[Name, Percent], Field(max_length=MAX_ITEMS), _distinct_keys("track")] = Field(
        default_factory=FrozenDict
    )
    future_you_persona: FreeForm | None = None
    anti_cheat: AntiCheat | None = None
    answers: Answers = Answers()
    cohort_id: IdText | None = None
    cohort_ids: Annotated[tuple[IdText, ...], Field(max_length=MAX_ITEMS)] = ()
    sponsor_id: IdText | None = None

    @model_validator(mode="after")
    def _all_cohorts(self) -> ProfilerResult:
        # cohort_ids holds every cohort of the learner, cohort_id the first of them: a host giving
        # either, or both, finds both filled in. Cheap when neither is given, as for most results.
        cohort, cohorts = self.cohort_id, self.cohort_ids
        if not cohorts:
            if cohort is not None:
                self.__dict__["cohort_ids"] = (cohort,)
            return self
        every = tuple(dict.fromkeys((*(() if cohort is None else (cohort,)), *cohorts)))
        if every != cohorts or cohort != every[0]:
            # The model is frozen to its users; this is its own validation finishing the fields.
            self.__dict__.update(cohort_id=every[0], cohort_ids=every)
        return self

    def input_warnings(self, protected: Collection[str] = ("anti_cheat",)) -> tuple[str, ...]:
        """What of this result was left out rather than read (a text trait, an unknown key of the
        documented profile), one line each naming the field, never its value; keys within a protected
        field show as ``*`` (by default, :data:`PROTECTED_FIELDS`). A dispatch report carries them in its
        ``warnings``."""
        profile = self.behavioral_profile
        if not profile.left_out:
            return ()
        return profile.warnings("behavioral_profile" in protected)

    @property
    def is_complete(self) -> bool:
        """True when the session is ``finished`` or ``locked``: the only results engines act on."""
        return self.status in COMPLETE_STATUSES


class Viewer(BaseModel):
    """Who is asking, for the engines whose answers depend on access rules."""

    model_config = _FROZEN

    user_id: IdText | None = None
    roles: frozenset[Role] = frozenset()
    mentee_ids: frozenset[IdText] = frozenset()
    coachee_ids: frozenset[IdText] = frozenset()
    cohort_ids: frozenset[IdText] = frozenset()
    sponsor_ids: frozenset[IdText] = frozenset()


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
    warnings: tuple[str, ...] = ()
    """What of the result was left out rather than read, one line each naming the field, never its
    value (a text trait of the behavioral profile, a key the documented profile does not have). The
    result still answers; every engine read it without those parts."""


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


PROTECTED_FIELDS: frozenset[str] = frozenset({"anti_cheat"})
"""The fields whose values no message ever quotes, whatever the access rules say: the anti-cheat
signals, which only viewers the access rules allow may see. The access rules add the details their
grants show (see :attr:`AccessPolicy.protected <profiler_rules.core.access.AccessPolicy.protected>`)."""


def field_errors(
    error: ValidationError, protected: Collection[str] = PROTECTED_FIELDS, root: Any = None
) -> list[FieldError]:
    """pydantic's errors as dotted field names and plain messages.

    Other fields' messages show what was given, when it is short: ``(got 120)``. A field named in
    ``protected``, and everything within it, is named and its problem said, but what was given is
    never shown: no ``(got ...)``, no message that quotes input (a validator's own words, a union's
    tag), and no key of a mapping or name of an unknown field within it, which are the host's data
    too and show as ``*`` (``anti_cheat.*: Extra inputs are not permitted``). ``root`` is the type
    validated, which tells declared names from keys; without it, all below a protected name is ``*``.

    This runs only once a validation has failed, so protecting costs a valid input nothing.
    """
    found = []
    for item in error.errors(include_url=False):
        loc = item["loc"]
        at = next((index for index, part in enumerate(loc) if isinstance(part, str) and part in protected), None)
        if at is None:
            found.append(FieldError(".".join(map(field_name, loc)), _message(item, shown=True)))
        else:
            found.append(FieldError(_protected_path(root, loc, at), _message(item, shown=False)))
    return found


def answer_problem(error: BaseException) -> str:
    """What was wrong with an engine's answer, which a report could not hold or write: each invalid
    field, or what reading it raised."""
    if isinstance(error, ValidationError):
        return "; ".join(f"{item.field}: {item.message}" for item in field_errors(error))
    return describe(error)


_RANGE_ERRORS = frozenset({"greater_than_equal", "less_than_equal", "greater_than", "less_than"})
_NUMBER_ERRORS = frozenset({"float_type", "int_type"})
_UNQUOTED_ERRORS = frozenset({"missing", "extra_forbidden", "json_invalid"})
"""Errors whose input is not the field's value: a missing field has none, an unknown field's is not
interesting, and invalid JSON's is the whole document, which may hold anything."""

_SCHEMA_CONTEXT = frozenset(
    {
        "class_name", "class", "gt", "ge", "lt", "le", "multiple_of", "field_type", "min_length", "max_length",
        "expected_plural", "pattern", "expected", "max_digits", "decimal_places", "whole_digits",
        "discriminator", "expected_tags", "expected_schemes", "expected_version", "kind",
    }
)  # fmt: skip
"""What pydantic fills its messages with that comes from the models, not from the input: a message
whose context holds only these quotes nothing protected (``Input should be less than or equal to 100``)."""

_PROTECTED_MESSAGES = {
    # pydantic's own that say how many items were given: how many suspicious patterns is protected too
    "too_short": "{field_type} should have at least {min_length} item(s)",
    "too_long": "{field_type} should have at most {max_length} item(s)",
    "counts_order": "correct is more than total",
    "same_name": "two names are the same {kind}; keep one",
    "repeated_name": "a {kind} is listed twice; keep one",
}
"""Messages that quote input, as they read for a protected field: this module's own, and pydantic's
whose context holds more than :data:`_SCHEMA_CONTEXT`."""


def _message(item: Any, shown: bool) -> str:
    """An error's message in plain words; with ``shown``, and the input short, what was given too."""
    kind, given, context = item["type"], item.get("input"), item.get("ctx") or {}
    if not shown and not context.keys() <= _SCHEMA_CONTEXT:
        template = _PROTECTED_MESSAGES.get(kind)
        return (
            f"{kind} (the reason is not shown: the field is protected)"
            if template is None
            else template.format(**context)
        )
    message: str = item["msg"].removeprefix("Value error, ")
    if kind in _RANGE_ERRORS and not _finite(given):
        # Ranges reject NaN and infinities too, but "should be >= 0" would be a puzzling reason.
        message = "Input should be a finite number"
    elif kind in _NUMBER_ERRORS and isinstance(given, bool):
        message = "a boolean is not a number"
    elif kind in _NUMBER_ERRORS and isinstance(given, _INTEGERS):
        message = "Input should be a number within range"  # an integer no float can hold
    if shown and kind not in _UNQUOTED_ERRORS and (text := _shown(given)) is not None:
        message += f" (got {text})"
    return message


def _finite(value: Any) -> bool:
    if isinstance(value, _INTEGERS):
        return True  # float() of a huge integer overflows; an integer is finite all the same
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        return True  # not a number at all: the range message stands


_SHOWN_LENGTH = 60


def _shown(value: Any) -> str | None:
    """A given value as a message shows it: short ones whole, a long integer by its length (writing
    it out would take str(), which refuses 4,300 digits and more), anything else not at all."""
    if isinstance(value, _LongInteger):
        return f"an integer of {value.digits:,} digits"
    if isinstance(value, int):
        digits = _digits(value)
        return repr(value) if digits <= _SHOWN_LENGTH else f"an integer of {digits:,} digits"
    if isinstance(value, float):
        # Ranges are checked after conversion, so 120 arrives as 120.0: show it as written.
        return f"{value:g}" if math.isfinite(value) else repr(value)
    if isinstance(value, str) and len(value) <= _SHOWN_LENGTH:
        text = repr(value)
        return text if len(text) <= _SHOWN_LENGTH else None
    return None


def _digits(value: int) -> int:
    """The number of decimal digits of ``value``, without writing it out."""
    magnitude = abs(value)
    estimate = max(1, int((magnitude.bit_length() - 1) * math.log10(2)) + 1)  # exact or one short
    return estimate + 1 if magnitude >= 10**estimate else estimate


def field_name(part: Any) -> str:
    """One step of a field's dotted name, such as a mapping's key, which is the host's: a long one is
    cut short, and an integer of thousands of digits (which str() refuses) is named by its length."""
    if isinstance(part, int) and not isinstance(part, bool):
        digits = _digits(part)
        return str(part) if digits <= _SHOWN_LENGTH else f"<an integer of {digits:,} digits>"
    text = str(part)
    if not (text.isascii() or _is_unicode(text)):
        # A lone surrogate: no report or message can be written in UTF-8 with it, so it is shown escaped.
        text = text.encode("utf-8", "backslashreplace").decode()
    return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 1] + "…"


def _protected_path(root: Any, loc: tuple[Any, ...], at: int) -> str:
    """The dotted name of an error within the protected field at ``loc[at]``: its declared names
    (fields, positions in lists, shapes) as written, each key or unknown name as ``*``."""
    annotation = root
    for part in loc[: at + 1]:
        annotation, _ = _step(annotation, part)
    names = [field_name(part) for part in loc[: at + 1]]
    for part in loc[at + 1 :]:
        annotation, declared = _step(annotation, part)
        names.append(field_name(part) if declared else "*")
        if annotation is _UNKNOWN:
            break  # nothing below an unknown place is known either: one '*' stands for all of it
    return ".".join(names)


_UNKNOWN: Any = object()


def _step(annotation: Any, part: Any) -> tuple[Any, bool]:
    """The type found at ``part`` of a loc within ``annotation``, and whether ``part`` is a declared
    name (a model's field, a list position, a union's tag, pydantic's ``[key]``) rather than data
    (a mapping's key, an unknown field's name). ``_UNKNOWN`` once the type is not known."""
    annotation = _bare(annotation)
    if part == "[key]":
        return annotation, True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(part) if isinstance(part, str) else None
        return (_UNKNOWN, False) if field is None else (field.annotation, True)
    origin, arguments = get_origin(annotation), get_args(annotation)
    if origin in (tuple, list, set, frozenset) and isinstance(part, int) and arguments:
        return arguments[0], True
    if origin in (dict, Mapping) and len(arguments) == 2:
        return arguments[1], False
    if origin in (typing.Union, types.UnionType):
        for member in arguments:
            tags = [meta.tag for meta in getattr(member, "__metadata__", ()) if isinstance(meta, Tag)]
            if part in tags:
                return member, True
    return _UNKNOWN, False


def _bare(annotation: Any) -> Any:
    """``annotation`` without its Annotated metadata and without ``| None``: what a loc steps into."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [member for member in get_args(annotation) if member is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


class _LongInteger:
    """An integer of JSON text too long for Python to read (4,300 digits and more), in its place while
    the text is read again to name the field that holds it; every field refuses it."""

    __slots__ = ("digits",)

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))


_INTEGERS = (int, _LongInteger)


def _integer(text: str) -> int | _LongInteger:
    try:
        return int(text)
    except ValueError:
        return _LongInteger(text)


def _reread(validator: Any, text: str | bytes | bytearray, error: ValidationError) -> ValidationError:
    """The errors of JSON text that pydantic could not parse for a number out of its range, found by
    reading the text again with Python's parser, which keeps such numbers (as :class:`_LongInteger`
    when too long even for Python), so that the error names the field that holds the number."""
    if not any("number out of range" in str((item.get("ctx") or {}).get("error")) for item in error.errors()):
        return error
    try:
        data = json.loads(text, parse_int=_integer)
        validator.validate_python(data)
    except ValidationError as found:
        return found
    except (ValueError, RecursionError):
        pass  # not JSON to Python either: pydantic's own error stands
    return error


def validate_input(model: type[BaseModel], value: Any, what: str, protected: Collection[str] = PROTECTED_FIELDS) -> Any:
    """Validate a host's input given as a model, a mapping or JSON text; raise InvalidInputError.

    :param protected: The fields whose values the error never quotes (see :func:`field_errors`).
    """
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
        raise invalid_input(model, value, error, what, protected) from None


def invalid_input(
    model: type[BaseModel], value: Any, error: ValidationError, what: str, protected: Collection[str] = PROTECTED_FIELDS
) -> InvalidInputError:
    """The :class:`InvalidInputError` of ``value``, which ``model`` refused with ``error``: each field
    named, no protected value quoted, and a number too long to parse named at its field."""
    if isinstance(value, (str, bytes, bytearray)):
        error = _reread(model.__pydantic_validator__, value, error)
    return InvalidInputError(what, field_errors(error, protected, model))
