"""One engine's answer over many results, read once (the analytics dashboards, say).

The dispatcher finds the engine and names it (:meth:`Dispatcher.aggregate`); this module validates the
query and the viewer, streams the results to the engine, validating each as it is read, and builds the
:class:`AggregateReport`. Invalid results are counted, named in the warnings and left out; they do not
stop the pass.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from .catalogs import NO_CATALOGS
from .engine import Context, Outcome
from .errors import FieldError, InvalidInputError
from .faults import PASSED_THROUGH, describe, log_failure
from .jsonl import InvalidLine
from .models import AggregateReport, ProfilerResult, Viewer, answer_problem, validate_input
from .ruleset import LoadableEngine, RuleSet
from .running import IN_DISPATCH

logger = logging.getLogger("profiler_rules")

_LISTED_PROBLEMS = 20
"""Invalid results named one by one in the warnings; the rest are counted."""


def aggregate(
    item: LoadableEngine, ruleset: RuleSet, results: Iterable[Any], viewer: Any, query: Mapping[str, Any], who: str
) -> AggregateReport:
    """The answer of ``item``'s engine, which answers over many results, under ``ruleset``.

    ``who`` names the engine in errors (``engine 'analytics'``, with its plugin when that differs).

    :raises InvalidInputError: for an invalid viewer or query, or ``results`` that are not many
        results (one mapping, one text, or not iterable).
    """
    engine = item.engine.name
    _check_many(results)
    checked_query = validate_input(item.engine.aggregate_query, query, f"{engine} query")
    checked_viewer = None if viewer is None else validate_input(Viewer, viewer, "viewer")
    context = Context(checked_viewer, NO_CATALOGS.items, ruleset.rules_by_engine, ruleset.access)
    stream = _ResultStream(results, ruleset.access.protected)
    entered = IN_DISPATCH.set(True)
    try:
        answer = _run_aggregate(item, stream, ruleset, context, checked_query, who)
    finally:
        IN_DISPATCH.reset(entered)
    common = {
        "engine": engine,
        "ruleset": ruleset.stamp,
        "results_read": stream.read,
        "results_invalid": stream.invalid,
    }
    try:
        return AggregateReport(**{**answer, "warnings": (*answer.get("warnings", ()), *stream.problems())}, **common)
    except PASSED_THROUGH:
        raise
    except BaseException as error:  # noqa: BLE001 - an answer a report can not hold is the engine's error
        failure = f"{who} returned an answer a report can not hold: {answer_problem(error)}"
        return AggregateReport(status="error", error=failure, warnings=stream.problems(), **common)


def _run_aggregate(
    item: LoadableEngine, stream: _ResultStream, ruleset: RuleSet, context: Context, query: Any, who: str
) -> dict[str, Any]:
    """An engine's answer over many results, as the fields of an :class:`AggregateReport`."""
    name = item.engine.name
    try:
        outcome = item.engine.aggregate(stream, ruleset.rules_by_engine[name], context, query)
        if not isinstance(outcome, Outcome):
            return {
                "status": "error",
                "error": f"{who} returned {type(outcome).__name__}, not an Outcome",
            }
        return {
            "status": outcome.status,
            "output": outcome.output,
            "explain": tuple(outcome.explain),
            "warnings": tuple(outcome.warnings),
        }
    except PASSED_THROUGH:
        raise
    except BaseException as error:  # noqa: BLE001 - reported in the answer, like a per-result failure
        log_failure(logger, "%s failed to aggregate", who)
        return {"status": "error", "error": f"{who} failed: {describe(error)}"}


def _check_many(results: Any) -> None:
    """Refuse ``results`` that are not many results: iterating one result's JSON text, mapping or
    model would read its characters or its keys as results, each one invalid."""
    if isinstance(results, str | bytes | bytearray | Mapping | BaseModel) or not isinstance(results, Iterable):
        problem = f"expected an iterable of profiler results, got {type(results).__name__}"
        raise InvalidInputError("results", [FieldError("", problem)])


class _ResultStream:
    """Validates results one at a time as an engine reads them, counting and naming the invalid ones.

    The lines of JSON Lines come read by :func:`.jsonl.read_results`: a line that gave no result is an
    :class:`InvalidLine`, named as every command names it (``line 7: the line is blank``).
    """

    def __init__(self, results: Iterable[Any], protected: Collection[str]) -> None:
        self._results = results
        self._protected = protected
        self.read = 0
        self.invalid = 0
        self._problems: list[str] = []

    def __iter__(self) -> Iterator[ProfilerResult]:
        for number, raw in enumerate(self._results, start=1):
            self.read = number
            if isinstance(raw, ProfilerResult):  # read and validated already (by jsonl.read_results, say)
                yield raw
                continue
            if isinstance(raw, InvalidLine):
                self._left_out(str(raw))
                continue
            try:
                yield validate_input(ProfilerResult, raw, "profiler result", self._protected)
            except InvalidInputError as error:
                self._left_out(f"result #{number} left out: {error}")

    def _left_out(self, problem: str) -> None:
        self.invalid += 1
        if len(self._problems) < _LISTED_PROBLEMS:
            self._problems.append(problem)

    def problems(self) -> tuple[str, ...]:
        more = self.invalid - len(self._problems)
        return (*self._problems, *([f"... and {more} more invalid result(s)"] if more > 0 else []))
