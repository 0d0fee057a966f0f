"""Mentorship engine: the mentee view for mentors, coaches and admins, anti-cheat details only for those allowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from profiler_rules import hookimpl

if TYPE_CHECKING:
    from profiler_rules import Engine


@hookimpl
def profiler_rules_register_engines(register: Callable[[Engine], None]) -> None:
    """Register the mentorship engine."""
    # Imported here, not at the top: importing the plugin (to list it, or to find its CLI commands)
    # then costs no pydantic; the engine's models are built only when its engines are wanted.
    from .engine import MentorshipEngine

    register(MentorshipEngine())
