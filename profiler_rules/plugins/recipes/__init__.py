"""Recipes engine: skill gaps, the skill codes they call for, and the recipes of a catalog that teach them."""

from collections.abc import Callable

from profiler_rules import Engine, hookimpl

from .engine import RecipesEngine


@hookimpl
def profiler_rules_register_engines(register: Callable[[Engine], None]) -> None:
    """Register the recipes engine."""
    register(RecipesEngine())
