"""The hooks a profiler-rules plugin may implement. This module's docstrings are the hook reference.

A plugin is a module (or any object) with functions marked ``@hookimpl``; built-in engines are plugins
like anyone else's. Third-party plugins are found through the ``profiler_rules`` entry-point group,
whose entry names the module holding the hooks; the entry's name is the plugin's name (the one
``PROFILER_RULES_DISABLED_PLUGINS`` and ``PROFILER_RULES_LOAD_PLUGINS`` take)::

    [project.entry-points.profiler_rules]
    badges = "badges_engine"

The README's "For the platform team" section is a whole plugin package built this way (its code, its
settings model, its rule file and the ``pyproject.toml`` that ships them), tested as a wheel.

Engines are registered through a callback rather than answered from a per-result hook, so the core can
run each engine inside its own ``try``: pluggy stops a 1:N hook call at the first exception (pluggy#419
declines to change that), and one broken engine must never silence the others. This is the pattern of
``llm``'s ``register_models(register)`` and tox's ``tox_register_tox_env(register)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .engine import Engine

PROJECT_NAME = "profiler_rules"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin function as the implementation of a hook of the same name."""


@hookspec
def profiler_rules_register_engines(register: Callable[[Engine], None]) -> None:
    """Register the engines this plugin provides, once, when a dispatcher is built.

    Call ``register`` with each engine instance. An engine is a subclass of
    :class:`profiler_rules.Engine` naming its rules schema and its default rule file; the core loads and
    validates its rules and calls its ``evaluate`` for every profiler result.

    An engine whose name is already taken, which is not an ``Engine``, or whose schema is invalid is
    refused and reported against this plugin; the engines of other plugins still load.

    :param register: Callable taking one :class:`profiler_rules.Engine` instance. It may be called
        several times, once per engine.
    """
