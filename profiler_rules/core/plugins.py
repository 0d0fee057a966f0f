"""Finding plugins and collecting their engines, each plugin isolated from the others.

Built-in plugins are found by scanning the subpackages of :mod:`profiler_rules.plugins` (adding one is
adding its folder: there is no list to edit), third-party ones from the ``profiler_rules`` entry-point
group. Where each engine's answer sits in a report is the engine's own ``report_order``. Entry points
are loaded one by one rather than with pluggy's ``load_setuptools_entrypoints``, which stops at the
first plugin that fails to import (llm#1280: one broken plugin broke every command); here a failure is
recorded by plugin name and the rest load. Every dispatcher gets its own plugin manager: a module-level one lets a test's plugin
leak into other tests (datasette#2627).

The command line loads the plugins for their commands alone on every run, ``--help`` included: this
module imports the engines' side (the engine base class, rule sets, pydantic) only once engines are
collected, so that run stays faster than importing pydantic.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pluggy

from . import hookspecs
from .faults import PASSED_THROUGH, describe
from .hookspecs import Command

if TYPE_CHECKING:
    from .engine import Engine
    from .ruleset import LoadableEngine

ENTRY_POINT_GROUP = "profiler_rules"
LOAD_PLUGINS_VARIABLE = "PROFILER_RULES_LOAD_PLUGINS"
DISABLED_PLUGINS_VARIABLE = "PROFILER_RULES_DISABLED_PLUGINS"
BUILTIN_PACKAGE = "profiler_rules.plugins"
"""Each subpackage of this package is a built-in plugin, named by its folder."""

_ENGINE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_COMMAND_NAME = re.compile(r"[a-z][a-z0-9-]*")
_RESERVED_NAMES = frozenset({"ruleset", "tests"})

PluginSource = Literal["builtin", "entry point", "given"]


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """What ``profiler-rules plugins`` shows of one plugin."""

    name: str
    source: PluginSource
    module: str | None = None
    distribution: str | None = None
    version: str | None = None
    hooks: tuple[str, ...] = ()
    engines: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    status: Literal["loaded", "disabled", "error"] = "loaded"
    errors: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": list(self.hooks),
            "engines": list(self.engines),
            "commands": list(self.commands),
            "status": self.status,
            "errors": list(self.errors),
        }


@dataclass(frozen=True, slots=True)
class PluginRegistry:
    """The outcome of plugin discovery: the usable engines, in run order, and every plugin's story.

    ``commands`` are the plugins' command-line commands, each with the name of its plugin, when they
    were asked for; ``command_problems`` says, one line each, which plugin failed to give its own.
    """

    engines: tuple[LoadableEngine, ...]
    plugins: tuple[PluginInfo, ...]
    commands: tuple[tuple[str, Command], ...] = ()
    command_problems: tuple[str, ...] = ()

    @property
    def problems(self) -> tuple[str, ...]:
        """One line per plugin fault, naming the plugin."""
        return tuple(f"plugin '{info.name}': {error}" for info in self.plugins for error in info.errors)

    @property
    def ignored_stems(self) -> frozenset[str]:
        """Rule-file stems of plugins that are disabled or broken, whose files are not 'unknown'."""
        return frozenset(info.name for info in self.plugins if info.status != "loaded")


@dataclass
class _Candidate:
    info: PluginInfo
    plugin: Any = None
    errors: list[str] = field(default_factory=list)
    engines: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    command_errors: list[str] = field(default_factory=list)


def discover_plugins(
    extra: Iterable[object] = (),
    *,
    entry_points: bool = True,
    environ: Mapping[str, str] | None = None,
    engines: bool = True,
    commands_taken: Collection[str] | None = None,
) -> PluginRegistry:
    """Load built-in plugins, entry-point plugins and ``extra`` plugin objects, and collect their engines.

    ``PROFILER_RULES_DISABLED_PLUGINS`` (comma-separated names) disables any plugin, built-in ones
    included; ``PROFILER_RULES_LOAD_PLUGINS``, when set, loads only the entry-point plugins it names.

    :param engines: Collect the engines; without, nothing of the engines' side is imported (the command
        line's start, which wants the commands alone).
    :param commands_taken: Collect the plugins' commands too, refusing these names (the command
        line's own commands); ``None`` collects none.
    """
    environ = os.environ if environ is None else environ
    disabled = _names(environ.get(DISABLED_PLUGINS_VARIABLE))
    allowed = _names(environ[LOAD_PLUGINS_VARIABLE]) if LOAD_PLUGINS_VARIABLE in environ else None
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    candidates = [*_builtin(disabled)]
    if entry_points:
        candidates.extend(_from_entry_points(disabled, allowed))
    candidates.extend(_Candidate(PluginInfo(_object_name(plugin), "given"), plugin) for plugin in extra)
    for candidate in candidates:
        if candidate.plugin is not None and not candidate.errors:
            _register(manager, candidate)
    manager.check_pending()
    found = _collect_engines(manager, candidates) if engines else ()
    commands = () if commands_taken is None else _collect_commands(manager, candidates, commands_taken)
    command_problems = tuple(
        f"plugin '{candidate.info.name}': {error}" for candidate in candidates for error in candidate.command_errors
    )
    plugins = tuple(_finish(candidate, manager) for candidate in candidates)
    return PluginRegistry(found, plugins, commands, command_problems)


def _names(value: str | None) -> frozenset[str]:
    return frozenset(name.strip() for name in (value or "").split(",") if name.strip())


def _object_name(plugin: object) -> str:
    try:
        name = getattr(plugin, "__name__", None)
    except PASSED_THROUGH:
        raise
    except BaseException:  # noqa: BLE001 - a plugin whose __name__ raises is named by its type
        name = None
    return name if isinstance(name, str) and name else type(plugin).__name__


def builtin_plugin_names() -> tuple[str, ...]:
    """The built-in plugins, by name (the folders under ``profiler_rules/plugins/``), sorted.

    Only their names are read here, nothing is imported: a disabled built-in plugin is never imported.
    """
    package = importlib.import_module(BUILTIN_PACKAGE)
    return tuple(sorted(found.name for found in pkgutil.iter_modules(package.__path__) if found.ispkg))


def _builtin(disabled: frozenset[str]) -> Iterable[_Candidate]:
    for name in builtin_plugin_names():
        module = f"{BUILTIN_PACKAGE}.{name}"
        candidate = _Candidate(PluginInfo(name, "builtin", module, "profiler-rules", _own_version()))
        if name in disabled:
            candidate.info = _with(candidate.info, status="disabled")
        else:
            _import(candidate, lambda module=module: importlib.import_module(module))
        yield candidate


@functools.cache
def _own_version() -> str | None:
    try:
        return metadata.version("profiler-rules")
    except metadata.PackageNotFoundError:
        return None


def _from_entry_points(disabled: frozenset[str], allowed: frozenset[str] | None) -> Iterable[_Candidate]:
    seen: set[tuple[str, str]] = set()
    found = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda point: point.name)
    for point in found:
        # The same distribution can be on the path twice (an editable install beside a wheel).
        if (point.name, point.value) in seen:
            continue
        seen.add((point.name, point.value))
        dist = point.dist
        info = PluginInfo(
            point.name,
            "entry point",
            point.module,
            dist.name if dist else None,
            dist.version if dist else None,
        )
        candidate = _Candidate(info)
        if point.name in disabled or (allowed is not None and point.name not in allowed):
            candidate.info = _with(info, status="disabled")
        else:
            _import(candidate, point.load)
        yield candidate


def _import(candidate: _Candidate, load: Any) -> None:
    try:
        candidate.plugin = load()
    except PASSED_THROUGH:
        raise
    except BaseException as error:  # noqa: BLE001 - any import failure, sys.exit() too, is this plugin's fault
        candidate.errors.append(f"failed to import: {describe(error)}")


def _register(manager: pluggy.PluginManager, candidate: _Candidate) -> None:
    try:
        manager.register(candidate.plugin, name=candidate.info.name)
    except PASSED_THROUGH:
        raise
    except BaseException as error:  # noqa: BLE001 - pluggy's ValueError or PluginValidationError, or the plugin's own
        pluggy_says = isinstance(error, ValueError | pluggy.PluginValidationError)
        candidate.errors.append(f"failed to register: {error if pluggy_says else describe(error)}")
        return
    # check_pending() for this plugin alone, so a misspelled hook name is reported against it.
    unknown = [caller.name for caller in manager.get_hookcallers(candidate.plugin) or () if not caller.has_spec()]
    if unknown:
        manager.unregister(candidate.plugin)
        candidate.errors.append(f"implements unknown hooks: {', '.join(sorted(unknown))}")


def _registered(impl: pluggy.HookImpl, what: str, errors: list[str]) -> list[Any] | None:
    """What one plugin's register hook offers, called inside its own ``try``; ``None`` when the hook
    raised, which is recorded in ``errors`` as the plugin's fault."""
    offered: list[Any] = []
    try:
        impl.function(register=offered.append)
    except PASSED_THROUGH:
        raise
    except BaseException as error:  # noqa: BLE001 - a plugin's fault, sys.exit() too, reported by name
        errors.append(f"failed to register its {what}: {describe(error)}")
        return None
    return offered


def _collect_engines(manager: pluggy.PluginManager, candidates: list[_Candidate]) -> tuple[LoadableEngine, ...]:
    implementations = {impl.plugin: impl for impl in manager.hook.profiler_rules_register_engines.get_hookimpls()}
    engines: dict[str, LoadableEngine] = {}
    owners: dict[str, str] = {}
    for candidate in candidates:
        impl = implementations.get(candidate.plugin) if candidate.plugin is not None else None
        if impl is None or candidate.errors:
            continue
        offered = _registered(impl, "engines", candidate.errors)
        if offered is None:
            continue
        for engine in offered:
            loadable, problem = _checked_engine(engine, owners)
            if loadable is None:
                candidate.errors.append(problem)
            else:
                engines[loadable.engine.name] = loadable
                owners[loadable.engine.name] = candidate.info.name
                candidate.engines.append(loadable.engine.name)
    _drop_unmet_needs(engines, owners, {candidate.info.name: candidate for candidate in candidates})
    # A stable sort: engines of equal report_order keep the order their plugins were found in.
    return tuple(sorted(engines.values(), key=lambda item: item.report_order))


def _checked_engine(engine: Any, owners: Mapping[str, str]) -> tuple[LoadableEngine | None, str]:
    """The engine with its schema generated (once per settings model), or why it is refused.

    Every attribute the core reads is read and checked here, once, so a property that raises (even
    ``SystemExit``) or a value of the wrong type refuses the engine at registration rather than failing
    later, in a dispatch or a reload.
    """
    from .engine import Engine  # the engines' side, imported once engines are collected (see above)
    from .ruleset import LoadableEngine

    if not isinstance(engine, Engine):
        return None, f"registered {type(engine).__name__!r}, which is not a profiler_rules.Engine"
    try:
        name = engine.name
    except PASSED_THROUGH:
        raise
    except BaseException as error:  # noqa: BLE001 - the plugin's fault, reported by name
        return None, f"an engine's name failed: {describe(error)}"
    if not isinstance(name, str) or not _ENGINE_NAME.fullmatch(name) or name in _RESERVED_NAMES:
        return None, f"engine name {name!r} is not a lowercase identifier (or is reserved)"
    if name in owners:
        return None, f"engine '{name}' is already registered by plugin '{owners[name]}'"
    try:
        problem = _attribute_problem(engine)
        if problem is not None:
            return None, f"engine '{name}' {problem}"
        return LoadableEngine.prepare(engine), ""
    except PASSED_THROUGH:
        raise
    except BaseException as error:  # noqa: BLE001 - a property or schema that fails is the plugin's fault
        reason = describe(error).removeprefix("ValueError: ") if type(error) is ValueError else describe(error)
        return None, f"engine '{name}': {reason}"


def _attribute_problem(engine: Engine) -> str | None:
    """What is wrong with the attributes the core reads of an engine (besides its name), or ``None``."""
    if not _is_model(getattr(engine, "settings_model", None)):
        return "has no settings_model (a pydantic model class)"
    rule_file = getattr(engine, "default_rules_file", None)
    if rule_file is None:
        return "has no default_rules_file"
    if not isinstance(rule_file, Traversable | Path):
        kind = type(rule_file).__name__
        return f"has a default_rules_file of type {kind}, not a Path or importlib.resources file"
    catalogs = engine.catalogs
    if not isinstance(catalogs, Mapping) or not all(
        isinstance(catalog, str) and _is_model(model) for catalog, model in catalogs.items()
    ):
        return "has catalogs that are not a mapping of catalog name to a pydantic model class"
    if type(engine.report_order) is not int:  # bool is an int to Python, not an order
        return f"has a report_order of type {type(engine.report_order).__name__}, not int"
    if not isinstance(engine.requires_complete, bool):
        return f"has a requires_complete of type {type(engine.requires_complete).__name__}, not bool"
    for attribute in ("access_views", "uses_rules_of"):
        names = getattr(engine, attribute)
        if (
            isinstance(names, str)
            or not isinstance(names, tuple | list | frozenset)
            or not all(isinstance(item, str) for item in names)
        ):
            return f"has {attribute} that are not a tuple of names"
    query = engine.aggregate_query
    if query is not None and not _is_model(query):
        return "has an aggregate_query that is not a pydantic model class"
    for method in ("evaluate", "aggregate", "summarize"):
        if not callable(getattr(engine, method)):
            return f"has a {method} that is not a method"
    return None


def _is_model(value: Any) -> bool:
    """A pydantic model class that is ready to validate (not waiting for an undefined annotation)."""
    from pydantic import BaseModel  # the engines' side, as in _checked_engine

    if not (isinstance(value, type) and issubclass(value, BaseModel)):
        return False
    return value.__pydantic_complete__ or bool(value.model_rebuild(raise_errors=False))


def _drop_unmet_needs(
    engines: dict[str, LoadableEngine], owners: dict[str, str], candidates: Mapping[str, _Candidate]
) -> None:
    """Refuse engines that read the rules of an engine that is not loaded, until none is left."""
    changed = True
    while changed:
        changed = False
        for name, item in list(engines.items()):
            missing = [need for need in item.engine.uses_rules_of if need not in engines]
            if missing:
                del engines[name]
                candidate = candidates[owners[name]]
                candidate.engines.remove(name)
                candidate.errors.append(f"engine '{name}' reads the rules of {', '.join(missing)}, which is not loaded")
                changed = True


def _collect_commands(
    manager: pluggy.PluginManager, candidates: list[_Candidate], taken: Collection[str]
) -> tuple[tuple[str, Command], ...]:
    """Each plugin's commands, in plugin order, each plugin's hook called inside its own ``try``."""
    implementations = {impl.plugin: impl for impl in manager.hook.profiler_rules_register_commands.get_hookimpls()}
    owners = dict.fromkeys(taken, "")  # "" owns the command line's own commands
    commands: list[tuple[str, Command]] = []
    for candidate in candidates:
        impl = implementations.get(candidate.plugin) if candidate.plugin is not None else None
        if impl is None or candidate.errors:
            continue
        offered = _registered(impl, "commands", candidate.command_errors)
        if offered is None:
            continue
        for command in offered:
            problem = _command_problem(command, owners)
            if problem is not None:
                candidate.command_errors.append(problem)
                continue
            owners[command.name] = candidate.info.name
            candidate.commands.append(command.name)
            commands.append((candidate.info.name, command))
    return tuple(commands)


def _command_problem(command: Any, owners: Mapping[str, str]) -> str | None:
    """Why a command a plugin registered is refused, or ``None``."""
    if not isinstance(command, Command):
        return f"registered {type(command).__name__!r} as a command, which is not a profiler_rules.Command"
    name = command.name
    if not isinstance(name, str) or not _COMMAND_NAME.fullmatch(name):
        return f"command name {name!r} is not lowercase letters, digits and hyphens"
    if name in owners:
        owner = owners[name]
        return (
            f"command '{name}' is {f'already registered by plugin {owner!r}' if owner else 'a profiler-rules command'}"
        )
    if not isinstance(command.help, str) or not callable(command.run):
        return f"command '{name}' has no help text or no run function"
    if command.arguments is not None and not callable(command.arguments):
        return f"command '{name}' has arguments that are not a function"
    return None


def _finish(candidate: _Candidate, manager: pluggy.PluginManager) -> PluginInfo:
    hooks: tuple[str, ...] = ()
    if candidate.plugin is not None and manager.is_registered(candidate.plugin):
        hooks = tuple(sorted(caller.name for caller in manager.get_hookcallers(candidate.plugin) or ()))
    status = candidate.info.status
    errors = (*candidate.errors, *candidate.command_errors)
    if errors:
        status = "error"
    return _with(
        candidate.info,
        hooks=hooks,
        engines=tuple(candidate.engines),
        commands=tuple(candidate.commands),
        status=status,
        errors=errors,
    )


def _with(info: PluginInfo, **changes: Any) -> PluginInfo:
    return replace(info, **changes)
