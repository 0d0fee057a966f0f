"""Mentorship engine: the mentee view for mentors, coaches and admins, anti-cheat details only for those allowed."""

from collections.abc import Callable

from profiler_rules import Engine, hookimpl

from .engine import MentorshipEngine


@hookimpl
def profiler_rules_register_engines(register: Callable[[Engine], None]) -> None:
    """Register the mentorship engine."""
    register(MentorshipEngine())
