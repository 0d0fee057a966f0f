"""The floor: hand-written, plain-Python code making the built-in engines' decisions on the packaged
rules, with the same explanation content (rule, file, line, message) and the report's shape.

The benchmark (``bench/run.py``) measures ``Dispatcher.dispatch`` against :func:`dispatch` here, so
the machinery's cost (validation, models, rule objects, plugin dispatch) is a same-run ratio.

* One module per engine (``missions.py`` … ``analytics.py``), each with ``evaluate(facts, viewer,
  catalogs, explain)`` and, for an engine with a catalog, ``prepare(items)``: changing an engine
  means changing its module. Everything that depends on the rules alone is worked out at import.
* :mod:`.common`: the rule files' lines, the result read once (:class:`~.common.Facts`), access, the
  report's shape. :mod:`.check`: the checker against the dispatcher. :mod:`.samples`: varied results.
* A result is read as the plain dict of its JSON, assumed valid: the floor validates nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from types import ModuleType
from typing import Any

from . import analytics, leadership, marketplace, mentorship, missions, portfolio, recipes
from .common import RULESET, Facts

# The dispatcher's order of the built-in engines.
ENGINES: tuple[ModuleType, ...] = (missions, recipes, portfolio, leadership, marketplace, mentorship, analytics)
NAMES = tuple(engine.NAME for engine in ENGINES)
_CATALOGS = {engine.CATALOG: engine.prepare for engine in ENGINES if hasattr(engine, "CATALOG")}


class PreparedCatalogs(dict):
    """Catalogs read once (each by its engine's ``prepare``), or ``None`` for a catalog not given."""


def prepare_catalogs(catalogs: dict[str, Any] | None) -> PreparedCatalogs:
    """Read the catalogs once, as ``Dispatcher.prepare_catalogs`` validates them once."""
    if isinstance(catalogs, PreparedCatalogs):
        return catalogs
    catalogs = catalogs or {}
    return PreparedCatalogs(
        {name: prepare(catalogs[name]) if name in catalogs else None for name, prepare in _CATALOGS.items()}
    )


def dispatch(
    result: dict[str, Any],
    viewer: dict[str, Any] | None,
    catalogs: dict[str, Any] | None,
    *,
    explain: bool = True,
    engines: Collection[str] | None = None,
) -> dict[str, Any]:
    """Every built-in engine's answer to one result (the JSON of a valid result), as the report's JSON;
    or only the ``engines`` named, in the same order. Raw catalogs are prepared on every call, as the
    dispatcher does with raw ones."""
    if not isinstance(catalogs, PreparedCatalogs):
        catalogs = prepare_catalogs(catalogs)
    facts = Facts(result)
    return {
        "session_id": facts.session_id,
        "user_id": facts.user_id,
        "ruleset": RULESET,
        "engines": {
            engine.NAME: engine.evaluate(facts, viewer, catalogs, explain)
            for engine in ENGINES
            if engines is None or engine.NAME in engines
        },
        "warnings": facts.warnings,
    }
