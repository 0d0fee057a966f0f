"""Cohort and enterprise dashboards, as the original endpoints meant them, with their defects fixed.

One pass over any iterable of results: each learner counts once, by their latest complete result in the
date range, so memory grows with the learners and never with the results. A real 0 counts in the
statistics, an unknown score does not; tracks are keys, not UUIDs; cohorts are keyed by id, not name;
``date_to`` includes its whole day; an unknown cohort or sponsor is an explicit empty answer.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from importlib.resources import files
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from profiler_rules import (
    Context,
    Engine,
    Explanation,
    IdText,
    ItemId,
    Outcome,
    ProfilerResult,
    Rules,
    RuleViolation,
    Subject,
    UtcDate,
    name_key,
)

COHORT_VIEW = "cohort_analytics"
ENTERPRISE_VIEW = "enterprise_analytics"
UNKNOWN_BAND = "unknown"
_FROZEN = ConfigDict(frozen=True, extra="forbid")
Name = Annotated[str, Field(max_length=256)]
"""A name of a roster: as long as a result's ids may be, since warnings quote them."""


class ReadinessBand(BaseModel):
    """One readiness band."""

    model_config = _FROZEN
    band: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        description="The band's name, as dashboards show it.",
        examples=["novice", "advanced"],
    )
    below: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Overall scores under this value (and not under an earlier band's) are in this band. "
        "Leave it out on the last band only.",
        examples=[40, 60, 80],
    )


class AnalyticsRules(BaseModel):
    """How cohort and enterprise dashboards summarise profiler results. Who may see them is decided in
    access.yaml (views cohort_analytics and enterprise_analytics)."""

    # ``rules/analytics.yaml``, built and checked. The docstrings and descriptions are what editors show.
    model_config = ConfigDict(frozen=True, extra="forbid", title="Analytics rules")

    top_strengths: int = Field(
        ge=1, le=100, description="How many of the commonest strengths a dashboard lists.", examples=[10]
    )
    readiness_bands: list[ReadinessBand] = Field(
        min_length=1,
        description="Readiness by overall score: a learner is in the first band whose 'below' their score is "
        "under. The last band has no 'below' and takes every higher score.",
        examples=[
            [
                {"band": "novice", "below": 40},
                {"band": "beginner", "below": 60},
                {"band": "intermediate", "below": 80},
                {"band": "advanced"},
            ]
        ],
    )

    @model_validator(mode="after")
    def _bands_rise_and_end_open(self) -> AnalyticsRules:
        bands = self.readiness_bands
        previous = None
        for index, band in enumerate(bands):
            if band.band == UNKNOWN_BAND:
                raise RuleViolation(
                    f"'{UNKNOWN_BAND}' is reserved for learners without an overall score",
                    "readiness_bands",
                    index,
                    "band",
                )
            last = index == len(bands) - 1
            if last != (band.below is None):
                message = (
                    "only the last band leaves out 'below'"
                    if not last
                    else "the last band takes every higher score: leave out 'below'"
                )
                raise RuleViolation(message, "readiness_bands", index)
            if band.below is not None and previous is not None and band.below <= previous:
                raise RuleViolation(
                    f"bands must rise: {band.below:g} is not above {previous:g}", "readiness_bands", index, "below"
                )
            previous = band.below if band.below is not None else previous
        return self

    def band_of(self, score: float) -> tuple[int, ReadinessBand]:
        for index, band in enumerate(self.readiness_bands):
            if band.below is None or score < band.below:
                return index, band
        raise AssertionError("the last band is open")  # guaranteed by the validator


class RosterEntry(BaseModel):
    """One enrolment: a learner in a cohort, perhaps of a sponsor. Bounded like a result's fields,
    since warnings and dashboards quote them."""

    model_config = _FROZEN
    user_id: ItemId
    cohort_id: IdText | None = None
    sponsor_id: IdText | None = None
    name: Name | None = None
    email: Name | None = None


class AnalyticsQuery(BaseModel):
    """The scope of a dashboard."""

    model_config = _FROZEN
    cohort_id: IdText | None = None
    sponsor_id: IdText | None = None
    roster: tuple[RosterEntry, ...] | None = None
    date_from: UtcDate | None = None
    date_to: UtcDate | None = None

    @model_validator(mode="after")
    def _ordered_dates(self) -> AnalyticsQuery:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from {self.date_from} is after date_to {self.date_to}")
        return self


class Scope(BaseModel):
    model_config = ConfigDict(frozen=True)
    cohort_id: str | None
    sponsor_id: str | None
    date_from: date | None
    date_to: date | None


class Learner(BaseModel):
    model_config = ConfigDict(frozen=True)
    user_id: str
    name: str | None
    email: str | None


class ScoreStatistics(BaseModel):
    model_config = ConfigDict(frozen=True)
    average_aptitude: float | None
    average_overall: float | None
    min_aptitude: float | None
    max_aptitude: float | None
    min_overall: float | None
    max_overall: float | None


class StrengthCount(BaseModel):
    model_config = ConfigDict(frozen=True)
    strength: str
    count: int


class CohortFigures(BaseModel):
    model_config = ConfigDict(frozen=True)
    enrolled: int | None
    profiled: int
    profiled_percentage: float | None
    average_aptitude: float | None
    average_overall: float | None


class StudentRow(BaseModel):
    model_config = ConfigDict(frozen=True)
    user_id: str
    name: str | None
    email: str | None
    profiled: bool
    session_id: str | None
    completed_at: datetime | None
    aptitude_score: float | None
    overall_score: float | None
    recommended_track: str | None
    readiness: str | None


class Dashboard(BaseModel):
    """A cohort or enterprise dashboard."""

    model_config = ConfigDict(frozen=True)

    scope: Scope
    enrolled: int | None
    profiled: int
    profiled_percentage: float | None
    not_profiled: tuple[Learner, ...] | None
    track_distribution: dict[str, int]
    score_statistics: ScoreStatistics
    top_strengths: tuple[StrengthCount, ...]
    readiness_distribution: dict[str, int]
    cohort_breakdown: dict[str, CohortFigures]
    students: tuple[StudentRow, ...] | None


class LearnerRow(BaseModel):
    """How one result counts in the dashboards (the per-result answer)."""

    model_config = ConfigDict(frozen=True)

    readiness: str | None
    aptitude_score: float | None
    overall_score: float | None
    recommended_track: str | None
    cohort_id: str | None
    cohort_ids: tuple[str, ...]
    sponsor_id: str | None


@dataclass(slots=True)
class _Latest:
    """What the dashboards keep of a learner's latest counted result: a few scalars, no result."""

    ordered_at: datetime  # completed_at, or _NEVER without one: results are ordered by it, then by session_id
    session_id: str
    completed_at: datetime | None
    aptitude: float | None
    overall: float | None
    track: str | None
    strengths: tuple[str, ...]
    cohort_ids: tuple[str, ...]


@dataclass(slots=True)
class _Pass:
    """The running state of one pass over the results."""

    latest: dict[str, _Latest] = field(default_factory=dict)
    incomplete: int = 0
    outside: int = 0
    undated: int = 0
    counted: int = 0


class AnalyticsEngine(Engine):
    """Dashboards for cohorts and sponsors; per result, the learner's dashboard row."""

    name = "analytics"
    report_order = 70  # built-ins: missions 10, recipes 20, portfolio 30, leadership 40, ... analytics 70
    settings_model = AnalyticsRules
    default_rules_file = files("profiler_rules").joinpath("rules", "analytics.yaml")
    access_views = (COHORT_VIEW, ENTERPRISE_VIEW)
    aggregate_query = AnalyticsQuery
    requires_complete = False  # access is decided first, so a denied viewer learns nothing of the result

    def summarize(self, output: LearnerRow | Dashboard) -> str:
        if isinstance(output, Dashboard):
            return f"{output.profiled} learner(s) profiled"
        return f"readiness {output.readiness or 'unknown'}"

    def evaluate(self, result: ProfilerResult, rules: Rules[AnalyticsRules], context: Context) -> Outcome:
        decision = context.check_access(COHORT_VIEW, Subject.of_result(result))
        if not decision.allowed:
            return Outcome.denied(decision.explain[0])
        if not result.is_complete:
            consequence = "only finished or locked results count in the dashboards"
            return Outcome.skipped(Explanation.of_status(result, consequence))
        overall = result.scores.overall
        band = None if overall is None else rules.settings.band_of(overall)
        # The compiled validator, without Model(...)'s or model_validate's Python wrapper (a microsecond per
        # result); looked up here, not at import, so that a model built on first use stays so.
        row = LearnerRow.__pydantic_validator__.validate_python(
            {
                "readiness": None if band is None else band[1].band,
                "aptitude_score": result.scores.aptitude,
                "overall_score": result.scores.overall,
                "recommended_track": result.recommended_track,
                "cohort_id": result.cohort_id,
                "cohort_ids": result.cohort_ids,
                "sponsor_id": result.sponsor_id,
            }
        )
        if not context.explain:
            return Outcome(row)
        return Outcome(row, (*decision.explain, _readiness(overall, band, rules)))

    def aggregate(
        self, results: Iterable[ProfilerResult], rules: Rules[AnalyticsRules], context: Context, query: AnalyticsQuery
    ) -> Outcome:
        explain: list[Explanation] = []
        for view, subject in _views(query):
            decision = context.check_access(view, subject)
            if not decision.allowed:
                return Outcome.denied(decision.explain[0])  # before reading a single result
            explain.extend(decision.explain)
        members = _members(query)
        state = _read(results, query, members)
        dashboard, warnings = _dashboard(state, query, members, rules)
        explain.extend(_summary(state, rules))
        return Outcome(dashboard, explain, warnings)


def _views(query: AnalyticsQuery) -> list[tuple[str, Subject]]:
    """The views a scope needs: its cohort's, and the enterprise's for a sponsor or the whole platform."""
    views = []
    if query.cohort_id is not None:
        views.append((COHORT_VIEW, Subject(cohort_id=query.cohort_id, sponsor_id=query.sponsor_id)))
    if query.sponsor_id is not None or query.cohort_id is None:
        views.append((ENTERPRISE_VIEW, Subject(cohort_id=query.cohort_id, sponsor_id=query.sponsor_id)))
    return views


def _members(query: AnalyticsQuery) -> dict[str, list[RosterEntry]] | None:
    """The roster's learners in scope, with their enrolments; ``None`` without a roster."""
    if query.roster is None:
        return None
    members: dict[str, list[RosterEntry]] = {}
    for entry in query.roster:
        if _in_scope(entry.cohort_id, entry.sponsor_id, query):
            members.setdefault(entry.user_id, []).append(entry)
    return members


def _in_scope(cohort_id: str | None, sponsor_id: str | None, query: AnalyticsQuery) -> bool:
    return (query.cohort_id is None or cohort_id == query.cohort_id) and (
        query.sponsor_id is None or sponsor_id == query.sponsor_id
    )


def _window(query: AnalyticsQuery) -> tuple[datetime | None, datetime | None]:
    """The first and the last instants counted, both included, in UTC.

    ``date_to`` includes its whole day (the original compared with midnight and lost it): the window
    ends at the day's last microsecond, the finest a datetime tells apart. The next midnight would be
    the same bound, but after 9999-12-31 there is none.
    """
    start = None if query.date_from is None else datetime.combine(query.date_from, time.min, UTC)
    end = None if query.date_to is None else datetime.combine(query.date_to, time.max, UTC)
    return start, end


def _read(
    results: Iterable[ProfilerResult], query: AnalyticsQuery, members: Mapping[str, list[RosterEntry]] | None
) -> _Pass:
    # This loop runs once per result of a cohort (a million, for a large one): the scope and the date
    # window are decided once, counts are kept in locals, and a result that is not its learner's
    # latest costs one comparison.
    latest: dict[str, _Latest] = {}
    incomplete = outside = undated = counted = 0
    start, end = _window(query)
    dated = start is not None or end is not None
    cohort, sponsor = query.cohort_id, query.sponsor_id
    for result in results:
        if not result.is_complete:
            incomplete += 1
            continue
        if members is not None:
            if result.user_id not in members:
                outside += 1
                continue
        elif (cohort is not None and cohort not in result.cohort_ids) or (
            sponsor is not None and result.sponsor_id != sponsor
        ):
            outside += 1
            continue
        when = result.completed_at
        if when is None:
            if dated:
                undated += 1
                continue
            when = _NEVER
        elif (start is not None and when < start) or (end is not None and when > end):
            outside += 1
            continue
        counted += 1
        # Ties on completion time go to the greater session id, so the order of the input never matters.
        # (Compared field by field: building a (time, session) pair per result costs more.)
        user = result.user_id
        kept = latest.get(user)
        if kept is None or kept.ordered_at < when or (kept.ordered_at == when and kept.session_id < result.session_id):
            latest[user] = _latest(when, result)
    return _Pass(latest, incomplete, outside, undated, counted)


def _latest(ordered_at: datetime, result: ProfilerResult) -> _Latest:
    # Tracks and strengths are a few words repeated for every learner: interned, they are stored once.
    scores, track = result.scores, result.recommended_track
    return _Latest(
        ordered_at,
        result.session_id,
        result.completed_at,
        scores.aptitude,
        scores.overall,
        None if track is None else sys.intern(track),
        tuple(map(sys.intern, result.strengths)),
        result.cohort_ids,
    )


_NEVER = datetime.min.replace(tzinfo=UTC)
"""The completion time of a result without one: before every other."""


def _dashboard(
    state: _Pass, query: AnalyticsQuery, members: Mapping[str, list[RosterEntry]] | None, rules: Rules[AnalyticsRules]
) -> tuple[Dashboard, list[str]]:
    latest = state.latest
    profiled = len(latest)
    enrolled = None if members is None else len(members)
    warnings = _empty_scope_warnings(query, members, profiled)
    if state.undated:
        warnings.append(f"{state.undated} complete result(s) have no completed_at and were left out of the date range")
    dashboard = Dashboard(
        scope=Scope(
            cohort_id=query.cohort_id, sponsor_id=query.sponsor_id, date_from=query.date_from, date_to=query.date_to
        ),
        enrolled=enrolled,
        profiled=profiled,
        profiled_percentage=_percentage(profiled, enrolled),
        not_profiled=None
        if members is None
        else tuple(_learner(user, entries) for user, entries in sorted(members.items()) if user not in latest),
        track_distribution=_track_distribution(latest.values()),
        score_statistics=_statistics(latest.values()),
        top_strengths=_top_strengths(latest.values(), rules.settings.top_strengths),
        readiness_distribution=_readiness_distribution(latest.values(), rules.settings),
        cohort_breakdown=_cohort_breakdown(latest, members),
        students=None if query.cohort_id is None else _students(latest, members, rules.settings),
    )
    return dashboard, warnings


def _empty_scope_warnings(
    query: AnalyticsQuery, members: Mapping[str, list[RosterEntry]] | None, profiled: int
) -> list[str]:
    scope = " and ".join(
        f"{kind} {value!r}" for kind, value in (("cohort", query.cohort_id), ("sponsor", query.sponsor_id)) if value
    )
    if not scope:
        return []
    if members is not None and not members:
        return [f"no learner of the roster is in {scope}: the answer is empty"]
    if members is None and profiled == 0:
        return [f"no complete result is in {scope}: the answer is empty"]
    return []


def _percentage(part: int, whole: int | None) -> float | None:
    return None if not whole else round(part * 100 / whole, 2)


def _learner(user_id: str, entries: list[RosterEntry]) -> Learner:
    return Learner(user_id=user_id, name=entries[0].name, email=entries[0].email)


def _track_distribution(latest: Iterable[_Latest]) -> dict[str, int]:
    counts = Counter(item.track for item in latest if item.track is not None)
    return dict(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])))


def _statistics(latest: Iterable[_Latest]) -> ScoreStatistics:
    items = list(latest)
    aptitude = [item.aptitude for item in items if item.aptitude is not None]
    overall = [item.overall for item in items if item.overall is not None]
    return ScoreStatistics(
        average_aptitude=_average(aptitude),
        average_overall=_average(overall),
        min_aptitude=min(aptitude, default=None),
        max_aptitude=max(aptitude, default=None),
        min_overall=min(overall, default=None),
        max_overall=max(overall, default=None),
    )


def _average(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _top_strengths(latest: Iterable[_Latest], limit: int) -> tuple[StrengthCount, ...]:
    """The commonest strengths, each counted once per learner. Strengths that :func:`name_key` reads
    as one ("Problem solving", "problem-solving") are one strength, shown as most learners wrote it
    (the first in sorted order on a tie); a result names each strength once (its validation says so)."""
    learners: Counter[str] = Counter()
    spellings: Counter[tuple[str, str]] = Counter()
    for item in latest:
        for strength in item.strengths:
            key = name_key(strength)
            if key:  # a blank strength names nothing
                learners[key] += 1
                spellings[key, strength.strip()] += 1
    shown: dict[str, tuple[int, str]] = {}
    for (key, spelling), count in spellings.items():
        best = shown.get(key)
        if best is None or (-count, spelling) < (-best[0], best[1]):
            shown[key] = (count, spelling)
    ranked = sorted(((shown[key][1], count) for key, count in learners.items()), key=lambda pair: (-pair[1], pair[0]))
    return tuple(StrengthCount(strength=strength, count=count) for strength, count in ranked[:limit])


def _readiness_distribution(latest: Iterable[_Latest], settings: AnalyticsRules) -> dict[str, int]:
    distribution = dict.fromkeys([band.band for band in settings.readiness_bands] + [UNKNOWN_BAND], 0)
    for item in latest:
        band = UNKNOWN_BAND if item.overall is None else settings.band_of(item.overall)[1].band
        distribution[band] += 1
    return distribution


def _cohort_breakdown(
    latest: Mapping[str, _Latest], members: Mapping[str, list[RosterEntry]] | None
) -> dict[str, CohortFigures]:
    enrolled: dict[str, set[str]] = {}
    if members is not None:
        for user, entries in members.items():
            for entry in entries:
                if entry.cohort_id is not None:
                    enrolled.setdefault(entry.cohort_id, set()).add(user)
    profiled: dict[str, list[_Latest]] = {}
    for user, item in latest.items():
        cohorts = {entry.cohort_id for entry in members[user]} if members is not None else set(item.cohort_ids)
        for cohort in cohorts - {None}:
            profiled.setdefault(str(cohort), []).append(item)
    breakdown = {}
    for cohort in sorted(set(enrolled) | set(profiled)):
        items = profiled.get(cohort, [])
        total = len(enrolled.get(cohort, ())) if members is not None else None
        statistics = _statistics(items)
        breakdown[cohort] = CohortFigures(
            enrolled=total,
            profiled=len(items),
            profiled_percentage=_percentage(len(items), total),
            average_aptitude=statistics.average_aptitude,
            average_overall=statistics.average_overall,
        )
    return breakdown


def _students(
    latest: Mapping[str, _Latest], members: Mapping[str, list[RosterEntry]] | None, settings: AnalyticsRules
) -> tuple[StudentRow, ...]:
    users = sorted(set(latest) | set(members or ()))
    rows = []
    for user in users:
        entry = members[user][0] if members is not None and user in members else None
        item = latest.get(user)
        rows.append(
            StudentRow(
                user_id=user,
                name=entry.name if entry else None,
                email=entry.email if entry else None,
                profiled=item is not None,
                session_id=item.session_id if item else None,
                completed_at=item.completed_at if item else None,
                aptitude_score=item.aptitude if item else None,
                overall_score=item.overall if item else None,
                recommended_track=item.track if item else None,
                readiness=None if item is None or item.overall is None else settings.band_of(item.overall)[1].band,
            )
        )
    return tuple(rows)


def _readiness(
    overall: float | None, found: tuple[int, ReadinessBand] | None, rules: Rules[AnalyticsRules]
) -> Explanation:
    """Why a result has its readiness band: the band ``found`` for its overall score (``None`` when unknown)."""
    if overall is None or found is None:
        return rules.explain("readiness_bands", "the overall score is unknown → no readiness band")
    index, band = found
    limit = f"below {band.below:g}" if band.below is not None else "the last band"
    return rules.explain(("readiness_bands", index), f"overall {overall:g} is {limit} → readiness {band.band}")


def _summary(state: _Pass, rules: Rules[AnalyticsRules]) -> tuple[Explanation, ...]:
    counted = (
        f"{state.counted} complete result(s) in scope counted as the latest of {len(state.latest)} learner(s); "
        f"left out: {state.incomplete} incomplete, {state.outside} outside the scope or dates, {state.undated} without a date"
    )
    bands = ", ".join(
        f"{band.band} below {band.below:g}" if band.below is not None else f"{band.band} above"
        for band in rules.settings.readiness_bands
    )
    return (
        Explanation(rule="scope", file=None, line=None, message=counted),
        rules.explain("readiness_bands", f"readiness by overall score: {bands}"),
        rules.explain("top_strengths", f"the {rules.settings.top_strengths} commonest strengths are listed"),
    )
