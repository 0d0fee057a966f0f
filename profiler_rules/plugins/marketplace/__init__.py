"""Marketplace engine: talent matching, the jobs of a catalog scored against a learner's profiler result."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from profiler_rules import hookimpl

if TYPE_CHECKING:
    from profiler_rules import Engine


@hookimpl
def profiler_rules_register_engines(register: Callable[[Engine], None]) -> None:
    """Register the marketplace engine."""
    # Imported here: the command line loads every plugin for its commands, and must not pay for engines.
    from .engine import MarketplaceEngine

    register(MarketplaceEngine())
