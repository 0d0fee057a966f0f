"""Analytics engine: cohort and enterprise (sponsor) dashboards over many results, in one pass.

Besides the engine, the plugin gives the ``profiler-rules analytics`` command and, for hosts,
:func:`dashboard`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from profiler_rules import hookimpl

if TYPE_CHECKING:
    from profiler_rules import AggregateReport, Command, Dispatcher, Engine, ProfilerResult, Viewer


@hookimpl
def profiler_rules_register_engines(register: Callable[[Engine], None]) -> None:
    """Register the analytics engine."""
    # Imported here: the command line loads this plugin for its command, and must not pay for the engine.
    from .engine import AnalyticsEngine

    register(AnalyticsEngine())


@hookimpl
def profiler_rules_register_commands(register: Callable[[Command], None]) -> None:
    """Register ``profiler-rules analytics``."""
    from .command import ANALYTICS

    register(ANALYTICS)


def dashboard(
    dispatcher: Dispatcher,
    results: Iterable[ProfilerResult | Mapping[str, Any] | str | bytes],
    *,
    viewer: Viewer | Mapping[str, Any] | None,
    cohort_id: str | None = None,
    sponsor_id: str | None = None,
    roster: Iterable[Mapping[str, Any]] | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
) -> AggregateReport:
    """Cohort and enterprise (sponsor) dashboards over ``results``, any iterable, read once.

    Each learner counts once, by their latest complete result completed from ``date_from`` to
    ``date_to`` (which includes its whole day). ``roster`` (``[{user_id, cohort_id, sponsor_id,
    name, email}]``) gives the enrolled learners; without it enrolment figures are ``None``.
    A viewer the access rules do not allow gets status ``denied`` and no data. Invalid results are
    counted, named in the warnings and left out.

    The same as ``dispatcher.aggregate("analytics", results, viewer=..., cohort_id=..., ...)``, with
    the query's parameters named.

    :raises InvalidInputError: for an invalid viewer, roster or date.
    :raises ProfilerRulesError: when the analytics engine is not loaded (its plugin is disabled).
    """
    return dispatcher.aggregate(
        "analytics",
        results,
        viewer=viewer,
        cohort_id=cohort_id,
        sponsor_id=sponsor_id,
        roster=roster,  # any iterable: the query's validation reads it, or refuses what is not one
        date_from=date_from,
        date_to=date_to,
    )
