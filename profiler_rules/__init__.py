"""profiler-rules: the rules engine behind the profiler's integrations.

Host apps need one import::

    from profiler_rules import Dispatcher

    dispatcher = Dispatcher.from_rules()          # packaged default rules
    report = dispatcher.dispatch(result_dict, catalogs={"missions": [...]})
    report.engines["missions"].output.max_difficulty

Importing this package reads no files and loads no plugins: names are imported on first use, so the
command line's ``--help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "AccessDecision",
    "AggregateReport",
    "AptitudeCounts",
    "Catalogs",
    "Command",
    "Context",
    "DispatchReport",
    "Dispatcher",
    "Engine",
    "EngineReport",
    "Explanation",
    "FieldError",
    "IdText",
    "InvalidInputError",
    "ItemId",
    "Outcome",
    "PluginLoadError",
    "Problem",
    "ProfilerResult",
    "ProfilerRulesError",
    "Rules",
    "RulesError",
    "RulesetStamp",
    "RuleViolation",
    "Subject",
    "UtcDate",
    "Viewer",
    "hookimpl",
    "name_key",
    "percentage_of",
]

_HOMES = {
    "AccessDecision": "access",
    "Subject": "access",
    "AggregateReport": "models",
    "Catalogs": "catalogs",
    "Dispatcher": "dispatcher",
    "Context": "engine",
    "Engine": "engine",
    "Outcome": "engine",
    "Rules": "rulefile",
    "RuleViolation": "rulefile",
    "FieldError": "errors",
    "InvalidInputError": "errors",
    "PluginLoadError": "errors",
    "IdText": "models",
    "ItemId": "models",
    "UtcDate": "models",
    "Problem": "errors",
    "ProfilerRulesError": "errors",
    "RulesError": "errors",
    "hookimpl": "hookspecs",
    "Command": "hookspecs",
    "AptitudeCounts": "models",
    "DispatchReport": "models",
    "EngineReport": "models",
    "Explanation": "models",
    "ProfilerResult": "models",
    "RulesetStamp": "models",
    "Viewer": "models",
    "name_key": "models",
    "percentage_of": "models",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'profiler_rules' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"profiler_rules.core.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    from .core.access import AccessDecision, Subject
    from .core.catalogs import Catalogs
    from .core.dispatcher import Dispatcher
    from .core.engine import Context, Engine, Outcome
    from .core.errors import FieldError, InvalidInputError, PluginLoadError, Problem, ProfilerRulesError, RulesError
    from .core.hookspecs import Command, hookimpl
    from .core.models import (
        AggregateReport,
        AptitudeCounts,
        DispatchReport,
        EngineReport,
        Explanation,
        IdText,
        ItemId,
        ProfilerResult,
        RulesetStamp,
        UtcDate,
        Viewer,
        name_key,
        percentage_of,
    )
    from .core.rulefile import Rules, RuleViolation
