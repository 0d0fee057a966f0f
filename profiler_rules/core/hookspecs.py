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
``llm``'s ``register_models(register)`` and tox's ``tox_register_tox_env(register)``. Commands are
registered the same way, for the same reason.

This module imports pluggy alone: ``profiler-rules --help`` reads it, and stays faster than importing
pydantic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import argparse

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


@dataclass(frozen=True, slots=True)
class Command:
    """A command a plugin adds to ``profiler-rules``: ``profiler-rules <name> [options]``.

    ``help`` is its one line in ``profiler-rules --help``; ``arguments`` adds its options and arguments
    to the command's ``argparse`` parser; ``run`` is called with the parsed arguments and returns the
    exit code (0 ok, 1 findings, 2 usage; see ``profiler-rules --help``). ``run`` may raise
    ``profiler_rules.cli.common.CommandError`` to end with one line ``profiler-rules: error: ...``; any
    other exception it raises ends the command the same way, naming the plugin (exit 2).

    ``profiler_rules.cli.options`` adds the options commands share (``--rules``, ``--viewer``,
    ``--strict``, ``INPUT``, ``--example``), and ``profiler_rules.cli.common`` holds what commands do
    with them (``build_dispatcher``, ``input_source``, ``load_viewer``...): the analytics plugin's
    ``command.py`` is a whole command built with them.
    """

    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], None] | None = None


@hookspec
def profiler_rules_register_commands(register: Callable[[Command], None]) -> None:
    """Register the ``profiler-rules`` commands this plugin provides, once, when the command line starts.

    Call ``register`` with each :class:`Command`. ``profiler-rules --help`` lists them beside the
    built-in commands, so this hook runs for every command line, ``--help`` included: keep the plugin's
    module and this hook light (argparse, not the engine, nor pydantic), and import the rest inside
    ``run``. The analytics plugin's ``analytics`` command is built this way.

    A plugin whose hook raises, that registers what is not a ``Command``, or a name that another
    command has already taken (a built-in command, or an earlier plugin's), is reported by name on
    standard error and by ``profiler-rules plugins``; every other command still works. This is the
    ``register_commands(cli)`` hook of llm and Datasette, with a callback in place of the CLI object
    so that one plugin can neither break nor replace another's commands.

    :param register: Callable taking one :class:`Command`. It may be called several times, once per
        command.
    """
