"""Missions engine: the highest mission difficulty a learner may take, and the missions open to them."""

from collections.abc import Callable

from profiler_rules import Engine, hookimpl

from .engine import MissionsEngine


@hookimpl
def profiler_rules_register_engines(register: Callable[[Engine], None]) -> None:
    """Register the missions engine."""
    register(MissionsEngine())
