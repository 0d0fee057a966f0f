"""Analytics engine: cohort and enterprise (sponsor) dashboards over many results, in one pass."""

from collections.abc import Callable

from profiler_rules import Engine, hookimpl

from .engine import AnalyticsEngine


@hookimpl
def profiler_rules_register_engines(register: Callable[[Engine], None]) -> None:
    """Register the analytics engine."""
    register(AnalyticsEngine())
