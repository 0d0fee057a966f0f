"""Portfolio engine: the "My Value Statement" reflection entry a learner's portfolio gets on completion."""

from collections.abc import Callable

from profiler_rules import Engine, hookimpl

from .engine import PortfolioEngine


@hookimpl
def profiler_rules_register_engines(register: Callable[[Engine], None]) -> None:
    """Register the portfolio engine."""
    register(PortfolioEngine())
