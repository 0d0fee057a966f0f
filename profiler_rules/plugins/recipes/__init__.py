"""Recipes engine: skill gaps, the skill codes they call for, and the recipes of a catalog that teach them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from profiler_rules import hookimpl

if TYPE_CHECKING:
    from profiler_rules import Engine


@hookimpl
def profiler_rules_register_engines(register: Callable[[Engine], None]) -> None:
    """Register the recipes engine."""
    # Imported here: the command line loads every plugin for its commands, and must not pay for engines.
    from .engine import RecipesEngine

    register(RecipesEngine())
