"""Leadership engine: the value statement handed to the VIP Leadership Academy, and academy eligibility."""

from collections.abc import Callable

from profiler_rules import Engine, hookimpl

from .engine import LeadershipEngine


@hookimpl
def profiler_rules_register_engines(register: Callable[[Engine], None]) -> None:
    """Register the leadership engine."""
    register(LeadershipEngine())
