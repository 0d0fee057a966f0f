"""Marketplace engine: talent matching, the jobs of a catalog scored against a learner's profiler result."""

from collections.abc import Callable

from profiler_rules import Engine, hookimpl

from .engine import MarketplaceEngine


@hookimpl
def profiler_rules_register_engines(register: Callable[[Engine], None]) -> None:
    """Register the marketplace engine."""
    register(MarketplaceEngine())
