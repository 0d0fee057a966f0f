"""The dispatcher: one profiler result in, every engine's answer out, under one rule set."""

from __future__ import annotations

import importlib
import logging
import marshal
import os
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.resources import files
from os import PathLike
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from .engine import Context, Outcome
from .errors import FieldError, InvalidInputError, PluginLoadError, Problem, ProfilerRulesError, RulesError
from .faults import PASSED_THROUGH, describe, log_failure
from .jsonl import InvalidLine
from .models import (
    AggregateReport,
    DispatchReport,
    EngineReport,
    Explanation,
    ProfilerResult,
    Viewer,
    field_errors,
    field_name,
    validate_input,
)
from .plugins import (
    DISABLED_PLUGINS_VARIABLE,
    LOAD_PLUGINS_VARIABLE,
    PluginInfo,
    PluginRegistry,
    discover_plugins,
)
from .readonly import read_only
from .rules import LoadableEngine, RuleSet, load_ruleset, rules_directory
from .ruletests import (
    TESTS_DIRECTORY,
    SuiteResult,
    Uncovered,
    find_test_files,
    load_cases,
    run_cases,
    uncovered,
    unloaded_engines,
)
from .watch import Location, RulesWatcher, WatcherStatus

logger = logging.getLogger("profiler_rules")

_IN_DISPATCH: ContextVar[bool] = ContextVar("profiler_rules_in_dispatch", default=False)
"""Set while engines run, so that :meth:`Dispatcher.reload` called by one refuses rather than waits
for itself. A context variable: one set and one reset per dispatch, the only cost on its path."""


@dataclass(frozen=True, slots=True)
class Catalogs:
    """Catalogs validated once by :meth:`Dispatcher.prepare_catalogs`, to pass to many dispatches.

    ``ignored`` names the catalogs given that no loaded engine reads (their engine's plugin is disabled,
    say), and ``warnings`` says so in words, one line each; those catalogs are left out of ``items``.

    Read-only, items and all, from the moment they are made: every dispatch they are passed to shares
    them, so no engine may change what the next one reads.
    """

    items: Mapping[str, tuple[Any, ...]]
    ignored: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", read_only(self.items))


class DispatcherStatus(BaseModel):
    """What a dispatcher serves now, and how its last reload went."""

    model_config = ConfigDict(frozen=True)

    digest: str
    version: str | None
    directory: str | None
    loaded_at: datetime
    last_attempt_at: datetime
    last_error: tuple[str, ...] = ()
    watcher: WatcherStatus | None = None
    """What the watcher started by :meth:`Dispatcher.watch` is doing; ``None`` when none was started."""

    @classmethod
    def serving(cls, ruleset: RuleSet, since: datetime) -> DispatcherStatus:
        """The status of a rule set that has just started serving, with no error."""
        return cls(
            digest=ruleset.digest,
            version=ruleset.version,
            directory=ruleset.directory,
            loaded_at=since,
            last_attempt_at=since,
        )


class ReloadResult(BaseModel):
    """The outcome of :meth:`Dispatcher.reload`: whether the new rules serve now, and if not, why."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    digest: str
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DispatcherSpec:
    """A small, picklable description of a dispatcher, to build the same one in another process.

    ``plugins`` names the extra plugin modules by import path; ``environ`` keeps the plugin allow and
    block lists in force when the spec was made; ``digest`` is checked on rebuilding, so a worker
    never serves rules that changed in between.
    """

    rules: str | None
    plugins: tuple[str, ...]
    entry_points: bool
    environ: tuple[tuple[str, str], ...]
    digest: str


class Dispatcher:
    """Dispatches profiler results to every engine. Build it with :meth:`from_rules`.

    A dispatcher is safe to share between threads. Its rule set is one immutable object, swapped in
    whole by :meth:`reload`; each dispatch reads it once, so no report mixes two rule versions.
    """

    def __init__(
        self,
        registry: PluginRegistry,
        ruleset: RuleSet,
        directory: Path | None,
        origin: tuple[tuple[object, ...], bool, Mapping[str, str]] = ((), True, {}),
    ) -> None:
        self._registry = registry
        self._origin = origin  # the extra plugins, entry_points and plugin variables it was built with
        self._engines: tuple[LoadableEngine, ...] = registry.engines
        self._ruleset = ruleset
        self._directory = directory
        self._catalog_readers = _catalog_readers(registry.engines)
        self._prepared = _PreparedByContent()
        self._by_name = {item.engine.name: item for item in registry.engines}
        self._selections: dict[tuple[Any, ...], tuple[LoadableEngine, ...]] = {}
        self._owners = {engine: info.name for info in registry.plugins for engine in info.engines}
        self._unloaded_plugins = tuple(sorted(info.name for info in registry.plugins if info.status != "loaded"))
        self._reloading = threading.Lock()
        self._status = DispatcherStatus.serving(ruleset, datetime.now(UTC))
        self._watcher: RulesWatcher | None = None
        # Rules loaded with rule tests must be replaced by rules that pass theirs: see reload().
        self._tests_expected = _has_rule_tests(self._tests_directory())

    @classmethod
    def from_rules(
        cls,
        path: str | PathLike[str] | None = None,
        *,
        plugins: Iterable[object] = (),
        entry_points: bool = True,
        strict: bool = False,
    ) -> Dispatcher:
        """Load the plugins and the rules, and return a ready dispatcher.

        :param path: A rules directory holding one ``<engine>.yaml`` per engine; ``None`` uses the
            rules shipped with each engine (the packaged defaults).
        :param plugins: Extra plugin objects to register beside the built-in and installed ones,
            for example a test's own plugin.
        :param entry_points: Whether to load plugins installed through the ``profiler_rules``
            entry-point group.
        :param strict: Raise :class:`PluginLoadError` when a plugin fails to import or register,
            rather than leaving it out with a warning (for CI).
        :raises RulesError: listing every problem of every rule file.
        """
        dispatcher = cls._build(path, tuple(plugins), entry_points, _plugin_variables(os.environ))
        if strict and dispatcher.plugin_problems:
            raise PluginLoadError(dispatcher.plugin_problems)
        return dispatcher

    @classmethod
    def _build(
        cls,
        path: str | PathLike[str] | None,
        plugins: tuple[object, ...],
        entry_points: bool,
        environ: Mapping[str, str],
    ) -> Dispatcher:
        registry = discover_plugins(plugins, entry_points=entry_points, environ=environ)
        for problem in registry.problems:
            logger.warning("%s", problem)
        directory = rules_directory(path)
        ruleset = load_ruleset(registry.engines, directory, ignored_stems=registry.ignored_stems)
        return cls(registry, ruleset, directory, (plugins, entry_points, environ))

    def spec(self) -> DispatcherSpec:
        """This dispatcher as a picklable spec, for :meth:`from_spec` in a worker process.

        :raises ProfilerRulesError: when an extra plugin is not a module, which a spec can not name.
        """
        plugins, entry_points, environ = self._origin
        names = []
        for plugin in plugins:
            if not isinstance(plugin, ModuleType):
                raise ProfilerRulesError(f"plugin {plugin!r} is not a module; a spec names plugins by module")
            names.append(plugin.__name__)
        rules = None if self._directory is None else str(self._directory)
        return DispatcherSpec(rules, tuple(names), entry_points, tuple(sorted(environ.items())), self._ruleset.digest)

    @classmethod
    def from_spec(cls, spec: DispatcherSpec) -> Dispatcher:
        """Build the dispatcher a spec describes.

        :raises ProfilerRulesError: when the rules found are not the ones the spec was made with.
        :raises RulesError: listing every problem of every rule file.
        """
        plugins = tuple(importlib.import_module(name) for name in spec.plugins)
        dispatcher = cls._build(spec.rules, plugins, spec.entry_points, dict(spec.environ))
        if dispatcher.ruleset.digest != spec.digest:
            raise ProfilerRulesError(
                f"the rules at {spec.rules or 'the packaged rules'} changed since the spec was made "
                f"({dispatcher.ruleset.digest} is not {spec.digest})"
            )
        return dispatcher

    def with_rules(self, path: str | PathLike[str] | None) -> Dispatcher:
        """Another dispatcher with the same plugins and the rules of ``path``, to compare rule sets.

        :raises RulesError: listing every problem of every rule file.
        """
        directory = rules_directory(path)
        ruleset = load_ruleset(self._engines, directory, ignored_stems=self._registry.ignored_stems)
        return Dispatcher(self._registry, ruleset, directory, self._origin)

    @property
    def ruleset(self) -> RuleSet:
        """The rule set serving dispatches now."""
        return self._ruleset

    @property
    def engines(self) -> tuple[str, ...]:
        """The names of the engines, in the order they run and appear in reports."""
        return tuple(item.engine.name for item in self._engines)

    def summarize(self, engine: str, output: Any) -> str | None:
        """An engine's decision in a few words (see :meth:`Engine.summarize`), or ``None``.

        ``None`` too when the engine's ``summarize`` fails or answers something that is not text: a
        summary is a courtesy, and its failure is logged, never raised.
        """
        item = next((item for item in self._engines if item.engine.name == engine), None)
        if item is None or output is None:
            return None
        try:
            summary = item.engine.summarize(output)
        except PASSED_THROUGH:
            raise
        except BaseException:  # noqa: BLE001 - the engine's fault; the answer itself stands
            log_failure(logger, "%s failed to summarize its answer", self._who(engine))
            return None
        return summary if isinstance(summary, str) else None

    @property
    def plugins(self) -> tuple[PluginInfo, ...]:
        """Every plugin found, loaded, disabled or broken, with its errors."""
        return self._registry.plugins

    @property
    def plugin_problems(self) -> tuple[str, ...]:
        """One line per plugin that failed to import or register, naming it."""
        return self._registry.problems

    def prepare_catalogs(self, catalogs: Mapping[str, Any] | Catalogs | None) -> Catalogs:
        """Validate catalogs once, to pass the result to many dispatches without validating again.

        Raw catalogs are prepared once per content: a host passing the same catalogs (equal values of
        the same types) on every call gets the catalogs prepared the first time, and one that changes
        them, in place or not, gets them prepared afresh.

        A catalog that no loaded engine reads is refused as a mistake (a typo such as ``recipe``),
        unless a plugin is not loaded (disabled, or failed to load): it may be that plugin's catalog,
        and disabling an engine must not break a host that still passes its catalog. Then the catalog is
        ignored, named in the answer's ``ignored`` and ``warnings``, and logged as a warning.

        :raises InvalidInputError: naming each invalid item's field, such as ``recipes.3.skill_codes``.
        """
        if isinstance(catalogs, Catalogs):
            return catalogs
        if catalogs is None:
            return _NO_CATALOGS
        if not isinstance(catalogs, Mapping):
            raise InvalidInputError(
                "catalogs", [FieldError("", "catalogs must be a mapping of name to a list of items")]
            )
        key = _content_key(catalogs)
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._validate_catalogs(catalogs)
            if not prepared.ignored:  # ignored catalogs are warned of (and logged) on every call
                self._prepared.put(key, prepared)
        return prepared

    def _validate_catalogs(self, catalogs: Mapping[str, Any]) -> Catalogs:
        items: dict[str, tuple[Any, ...]] = {}
        errors: list[FieldError] = []
        ignored: list[str] = []
        for name, raw in catalogs.items():
            reader = self._catalog_readers.get(name)
            if reader is None:
                if self._unloaded_plugins:
                    ignored.append(field_name(name))
                else:
                    read = ", ".join(sorted(self._catalog_readers)) or "none"
                    errors.append(FieldError(field_name(name), f"no engine reads this catalog (catalogs read: {read})"))
                continue
            try:
                items[name] = reader.validate_python(raw)
            except ValidationError as error:
                errors.extend(
                    FieldError(f"{name}.{item.field}".rstrip("."), item.message) for item in field_errors(error)
                )
        if errors:
            raise InvalidInputError("catalogs", errors)
        return Catalogs(items, tuple(ignored), self._ignored_catalog_warnings(ignored))

    def _ignored_catalog_warnings(self, ignored: list[str]) -> tuple[str, ...]:
        why = (
            f"no loaded engine reads it (catalogs read: {', '.join(sorted(self._catalog_readers)) or 'none'}; "
            f"plugins not loaded: {', '.join(self._unloaded_plugins)})"
        )
        # A catalog's name comes from the host's input: bounded by field_name, quoted with repr (no
        # control characters).
        warnings = tuple(f"catalog {name!r} is ignored: {why}" for name in ignored)
        for warning in warnings:
            logger.warning("%s", warning)
        return warnings

    def dispatch(
        self,
        result: ProfilerResult | Mapping[str, Any] | str | bytes,
        *,
        viewer: Viewer | Mapping[str, Any] | None = None,
        catalogs: Mapping[str, Any] | Catalogs | None = None,
        engines: Collection[str] | None = None,
        explain: bool = True,
    ) -> DispatchReport:
        """Run every engine, or the engines named, on one profiler result.

        :param result: A :class:`ProfilerResult`, a mapping or JSON text.
        :param viewer: Who asks (a :class:`Viewer` or a mapping); engines with access rules deny
            without one.
        :param catalogs: ``{"missions": [...], "recipes": [...], "jobs": [...]}``, or catalogs
            prepared once with :meth:`prepare_catalogs`.
        :param engines: The names of the engines to run (``["missions"]``), for a host view that needs
            only some; the report holds those only, in the order of :attr:`engines`. ``None`` runs them
            all. Engines never depend on each other's answers (``uses_rules_of`` reads another
            engine's rules, which a rule set always holds), so only the engines named run.
        :param explain: Whether the report explains its ok answers. ``True`` (the default) explains
            every decision, citing each rule's file and line. ``False``, for a host that does not read
            explanations (one answering an HTTP request, say), builds none and formats no message for
            them, which makes a dispatch markedly cheaper: every ok answer's ``explain`` is empty, and
            its decisions are the same. A skipped or denied answer keeps its one reason (it is the
            answer), and warnings stay.
        :raises InvalidInputError: naming each invalid field of the result, viewer or catalogs, or an
            engine name that no loaded engine has.
        """
        selected = self._engines if engines is None else self._selection(engines)
        return self._dispatch_under(self._ruleset, result, viewer, catalogs, selected, explain=explain)

    def _selection(self, names: Collection[str]) -> tuple[LoadableEngine, ...]:
        """The loaded engines of ``names``, in the dispatcher's order; worked out once per selection."""
        key = tuple(names) if isinstance(names, list | tuple) and all(type(name) is str for name in names) else None
        cached = self._selections.get(key) if key is not None else None
        if cached is not None:
            return cached
        if isinstance(names, str | bytes) or not isinstance(names, Iterable):
            raise self._engine_name_error(f"engines must be a list of engine names, not {type(names).__name__}")
        wanted = list(names)
        if not wanted:
            raise self._engine_name_error("name at least one engine, or leave engines out to run them all")
        unknown = [name for name in wanted if name not in self._by_name]
        if unknown:
            raise self._engine_name_error(*(self._unknown_engine(name) for name in unknown))
        chosen = set(wanted)
        selection = tuple(item for item in self._engines if item.engine.name in chosen)
        if key is not None and len(self._selections) < _CACHED_SELECTIONS:
            self._selections[key] = selection  # a benign race: two threads store the same selection
        return selection

    def _unknown_engine(self, name: Any) -> str:
        shown = repr(field_name(name)) if isinstance(name, str) else f"a {type(name).__name__}"
        return f"no loaded engine is named {shown}{self._why_not_loaded(name) if isinstance(name, str) else ''}"

    def _engine_name_error(self, *problems: str) -> InvalidInputError:
        known = ", ".join(self.engines) or "none"
        return InvalidInputError("engines", [FieldError("", f"{problem} (engines: {known})") for problem in problems])

    def settings(self, engine: str) -> Any:
        """The validated settings of an engine's rules, as the rule set serving now holds them: the
        engine's rules model (``dispatcher.settings("portfolio").title``), read-only, deeply (a change
        raises ``TypeError: rules are read-only`` or pydantic's ``Instance is frozen``).

        A host reads what the rules decide beyond a result here, such as the portfolio entry's title and
        retake behaviour, the missions' level caps or the recipes' cutoffs. After a :meth:`reload`, the
        new rules' settings.

        :raises InvalidInputError: when no loaded engine has that name, naming the ones loaded.
        """
        if not isinstance(engine, str) or engine not in self._by_name:
            raise self._engine_name_error(self._unknown_engine(engine))
        return self._ruleset.rules[engine].settings

    def _dispatch_under(
        self,
        ruleset: RuleSet,
        result: Any,
        viewer: Any,
        catalogs: Any,
        selected: tuple[LoadableEngine, ...] | None = None,
        *,
        explain: bool = True,
    ) -> DispatchReport:
        checked = validate_input(ProfilerResult, result, "profiler result", ruleset.access.protected)
        context = Context(
            None if viewer is None else validate_input(Viewer, viewer, "viewer"),
            self.prepare_catalogs(catalogs).items,
            ruleset.rules,
            ruleset.access,
            explain,
        )
        entered = _IN_DISPATCH.set(True)
        try:
            engines = {
                item.engine.name: self._run(item, checked, ruleset, context) for item in selected or self._engines
            }
        finally:
            _IN_DISPATCH.reset(entered)
        report = {"session_id": checked.session_id, "user_id": checked.user_id, "ruleset": ruleset.stamp}
        if checked.behavioral_profile.left_out:
            report["warnings"] = checked.input_warnings(ruleset.access.protected)
        try:
            # One validation builds the report with its engine reports: one model call per engine
            # would cost half as much again as the whole of it.
            return _build_report({**report, "engines": engines})
        except PASSED_THROUGH:
            raise
        except BaseException:  # noqa: BLE001 - a ValidationError, or an engine's explain that raises as it is read
            # An engine answered with something a report can not hold (an explanation that is not an
            # Explanation, say): that answer becomes the engine's error, and the others stand.
            return _build_report(
                {**report, "engines": {name: self._held(name, answer) for name, answer in engines.items()}}
            )

    def to_json(self, report: DispatchReport, *, indent: int | None = None) -> tuple[DispatchReport, str]:
        """A report as JSON text, and the report that text is of.

        An engine whose answer can not be written as JSON (an output that holds itself, or a value JSON
        has no form for) becomes that engine's error, and the other engines' answers stand; the report
        returned then says so too. A report that writes cleanly costs what ``model_dump_json`` costs.
        """
        try:
            return report, _write_report(report, indent=indent).decode()
        except PASSED_THROUGH:
            raise
        except BaseException:  # noqa: BLE001 - some engine's output; found below and made its error
            engines = {name: self._writable(name, answer) for name, answer in report.engines.items()}
            report = report.model_copy(update={"engines": engines})
            return report, report.model_dump_json(indent=indent)

    def _writable(self, engine: str, answer: EngineReport) -> EngineReport:
        try:
            answer.model_dump_json()
        except PASSED_THROUGH:
            raise
        except BaseException as error:  # noqa: BLE001 - the engine's answer, made its error
            problem = str(error) if isinstance(error, PydanticSerializationError) else _problem_of(error)
            logger.error("%s answered with what can not be written as JSON: %s", self._who(engine), problem)
            return EngineReport(
                status="error", error=f"{self._who(engine)} answered with what can not be written as JSON: {problem}"
            )
        return answer

    def status(self) -> DispatcherStatus:
        """The rule set serving now (digest, version, when it was loaded), the last reload's error, and
        what the watcher is doing, if one was started."""
        if self._watcher is None:
            return self._status
        return self._status.model_copy(update={"watcher": self._watcher.status()})

    def test_rules(self, *, select: str | None = None, ruleset: RuleSet | None = None) -> SuiteResult:
        """Run the rule tests beside the rules (``tests/*.yaml`` of the rules directory).

        :param select: Run only the cases whose name contains this text (case-insensitive).
        :param ruleset: Test this rule set instead of the one serving (as :meth:`reload` does).
        :raises RulesError: listing every problem of the test files themselves.
        """
        cases = load_cases(find_test_files(self._tests_directory()), self.engines, unloaded_engines(self))
        if select:
            cases = [case for case in cases if select.casefold() in case.name.casefold()]
        return run_cases(self, cases, ruleset)

    def untested_rules(self, suite: SuiteResult) -> list[Uncovered]:
        """The rules (of the engines and the access rules) that no case of ``suite`` exercised."""
        ruleset = self._ruleset
        return uncovered([*ruleset.rules.values(), ruleset.access.rules], suite)

    def _tests_directory(self) -> Path:
        if self._directory is not None:
            return self._directory
        return Path(str(files("profiler_rules").joinpath("rules")))

    def reload(self) -> ReloadResult:
        """Load the rules again, validate them, run their tests, and only then swap them in.

        On any failure the rule set serving keeps serving; the problems are returned and kept in
        :meth:`status`. Reloads are serialised; dispatches never wait for one.

        Rules serving that were loaded from a directory with rule tests (``tests/*.yaml``; the
        packaged rules have them) are only ever replaced by rules that pass theirs: a ``tests``
        directory that is gone or empty fails the reload, as ``profiler-rules test`` fails. Rules
        that never had tests reload without them, until a reload brings some. A ``tests`` directory
        or test file that can not be read always fails it.

        The rules are read from the path the dispatcher was given, wherever it leads when the reload
        starts: after a symlink swap (``rules -> v2``) or a rename (``mv rules.new rules``), the new
        directory. Should the path lead elsewhere by the time the files are read, they are read
        again, so a reload never mixes the files of two directories.

        Called from inside a dispatch (by an engine's ``evaluate`` or ``aggregate``, also while a
        reload runs the rule tests), it returns a failed result at once and changes nothing: it would
        otherwise wait for itself.
        """
        if _IN_DISPATCH.get():
            logger.warning("%s", _REENTRANT_RELOAD)
            return ReloadResult(ok=False, digest=self._ruleset.digest, problems=(_REENTRANT_RELOAD,))
        with self._reloading:
            attempt = datetime.now(UTC)
            candidate, problems, tested = self._vet_candidate()
            if candidate is None:
                self._status = self._status.model_copy(update={"last_attempt_at": attempt, "last_error": problems})
                logger.warning("rules reload failed; %s keeps serving: %s", self._ruleset.digest, "; ".join(problems))
                return ReloadResult(ok=False, digest=self._ruleset.digest, problems=problems)
            self._ruleset = candidate  # the one reference every dispatch reads: swapped whole
            self._tests_expected = tested
            self._status = DispatcherStatus.serving(candidate, attempt)
            return ReloadResult(ok=True, digest=candidate.digest)

    def _vet_candidate(self) -> tuple[RuleSet | None, tuple[str, ...], bool]:
        """The rules loaded afresh and tested from one directory: the new rule set (or nothing), why
        not, and whether it came with rule tests."""
        for _ in range(_READ_ATTEMPTS):
            before = self._location()
            vetted = self._load_and_test()
            if self._location() == before:
                return vetted
        problem = f"{self._directory}: the rules directory kept changing while it was read; nothing was swapped in"
        return None, (problem,), False

    def _location(self) -> Location | str | None:
        """Where the rules path leads now (``None`` for the packaged rules, the error if nowhere)."""
        if self._directory is None:
            return None
        try:
            return Location.of(self._directory)
        except OSError as error:
            return describe(error)

    def _load_and_test(self) -> tuple[RuleSet | None, tuple[str, ...], bool]:
        try:
            candidate = load_ruleset(self._engines, self._directory, ignored_stems=self._registry.ignored_stems)
            suite = self.test_rules(ruleset=candidate)
            if not suite.cases and self._tests_expected:
                return None, (self._no_tests_problem().format(),), False
        except RulesError as error:
            return None, tuple(problem.format() for problem in error.problems), False
        except PASSED_THROUGH:
            raise
        except BaseException as error:  # noqa: BLE001 - whatever goes wrong, the rules serving keep serving
            log_failure(logger, "the rules at %s could not be loaded and tested", self._directory)
            return None, (f"the rules could not be loaded and tested: {describe(error)}",), False
        failures = tuple(f"rule test failed: {case.id}: {case.describe()}" for case in suite.failed)
        return (None, failures, True) if failures else (candidate, (), bool(suite.cases))

    def _no_tests_problem(self) -> Problem:
        where = self._tests_directory() / TESTS_DIRECTORY
        message = (
            "no rule tests (tests/*.yaml): the rules serving were loaded with rule tests, so new rules "
            "must pass theirs; restore the tests"
        )
        return Problem(str(where), None, None, message)

    def watch(self, *, debounce_ms: int = 200) -> RulesWatcher:
        """Reload whenever the rules directory changes, from a background thread, until stopped.

        The watcher follows the path it was given: a directory replaced by a rename, or a symlink
        re-pointed to another directory, is watched and reloaded from. It survives every error
        (logged, retried with growing pauses) and shows what it is doing in :meth:`status`.
        Needs the ``watch`` extra (``pip install 'profiler-rules[watch]'``, which brings watchfiles).

        :raises ProfilerRulesError: for the packaged rules, or when a watcher started here still runs.
        """
        if self._directory is None:
            raise ProfilerRulesError("only a rules directory can be watched; the packaged rules do not change")
        if self._watcher is not None and self._watcher.running:
            raise ProfilerRulesError("the rules are watched already; stop that watcher before starting another")
        self._watcher = RulesWatcher(self, self._directory, debounce_ms)
        return self._watcher

    def aggregate(
        self,
        engine: str,
        results: Iterable[ProfilerResult | Mapping[str, Any] | str | bytes],
        *,
        viewer: Viewer | Mapping[str, Any] | None = None,
        **query: Any,
    ) -> AggregateReport:
        """Run one engine over many results, read once; see :meth:`analytics` for the dashboards.

        Invalid results are counted, named in the warnings and left out; they do not stop the pass.

        :raises InvalidInputError: for an invalid viewer or query, or ``results`` that are not many
            results (one mapping, one text, or not iterable).
        :raises ProfilerRulesError: when no loaded engine of that name answers over many results.
        """
        return self._aggregate_under(self._ruleset, engine, results, viewer, query)

    def _aggregate_under(
        self, ruleset: RuleSet, engine: str, results: Iterable[Any], viewer: Any, query: Mapping[str, Any]
    ) -> AggregateReport:
        item = next((item for item in self._engines if item.engine.name == engine), None)
        if item is None or item.engine.aggregate_query is None:
            raise ProfilerRulesError(
                f"no loaded engine named {engine!r} answers over many results{self._why_not_loaded(engine)}"
            )
        _check_many(results)
        checked_query = validate_input(item.engine.aggregate_query, query, f"{engine} query")
        checked_viewer = None if viewer is None else validate_input(Viewer, viewer, "viewer")
        context = Context(checked_viewer, _NO_CATALOGS.items, ruleset.rules, ruleset.access)
        stream = _ResultStream(results, ruleset.access.protected)
        entered = _IN_DISPATCH.set(True)
        try:
            answer = self._run_aggregate(item, stream, ruleset, context, checked_query)
        finally:
            _IN_DISPATCH.reset(entered)
        common = {
            "engine": engine,
            "ruleset": ruleset.stamp,
            "results_read": stream.read,
            "results_invalid": stream.invalid,
        }
        try:
            return AggregateReport(
                **{**answer, "warnings": (*answer.get("warnings", ()), *stream.problems())}, **common
            )
        except PASSED_THROUGH:
            raise
        except BaseException as error:  # noqa: BLE001 - an answer a report can not hold is the engine's error
            failure = f"{self._who(engine)} returned an answer a report can not hold: {_problem_of(error)}"
            return AggregateReport(status="error", error=failure, warnings=stream.problems(), **common)

    def _run_aggregate(
        self, item: LoadableEngine, stream: _ResultStream, ruleset: RuleSet, context: Context, query: Any
    ) -> _Answer:
        """An engine's answer over many results, as the fields of an :class:`AggregateReport`."""
        name = item.engine.name
        try:
            outcome = item.engine.aggregate(stream, ruleset.rules[name], context, query)
            if not isinstance(outcome, Outcome):
                return {
                    "status": "error",
                    "error": f"{self._who(name)} returned {type(outcome).__name__}, not an Outcome",
                }
            return {
                "status": outcome.status,
                "output": outcome.output,
                "explain": tuple(outcome.explain),
                "warnings": tuple(outcome.warnings),
            }
        except PASSED_THROUGH:
            raise
        except BaseException as error:  # noqa: BLE001 - reported in the answer, like a per-result failure
            log_failure(logger, "%s failed to aggregate", self._who(name))
            return {"status": "error", "error": f"{self._who(name)} failed: {describe(error)}"}

    def analytics(
        self,
        results: Iterable[ProfilerResult | Mapping[str, Any] | str | bytes],
        *,
        viewer: Viewer | Mapping[str, Any] | None,
        cohort_id: str | None = None,
        sponsor_id: str | None = None,
        roster: Iterable[Mapping[str, Any]] | None = None,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
    ) -> AggregateReport:
        """Cohort and enterprise (sponsor) dashboards over ``results``, any iterable, read once.

        Each learner counts once, by their latest complete result completed from ``date_from`` to
        ``date_to`` (which includes its whole day). ``roster`` (``[{user_id, cohort_id, sponsor_id,
        name, email}]``) gives the enrolled learners; without it enrolment figures are ``None``.
        A viewer the access rules do not allow gets status ``denied`` and no data.

        :raises InvalidInputError: for an invalid viewer, roster or date.
        """
        return self.aggregate(
            "analytics",
            results,
            viewer=viewer,
            cohort_id=cohort_id,
            sponsor_id=sponsor_id,
            roster=roster,  # any iterable: the query's validation reads it, or refuses what is not one
            date_from=date_from,
            date_to=date_to,
        )

    def _run(self, item: LoadableEngine, result: ProfilerResult, ruleset: RuleSet, context: Context) -> _Answer:
        engine = item.engine
        try:
            if engine.requires_complete and not result.is_complete:
                reason = Explanation.of_status(result, f"{engine.name} acts only on finished or locked results")
                return {"status": "skipped", "explain": (reason,)}
            outcome = engine.evaluate(result, ruleset.rules[engine.name], context)
            if not isinstance(outcome, Outcome):
                message = f"{self._who(engine.name)} returned {type(outcome).__name__}, not an Outcome"
                return {"status": "error", "error": message}
            output = outcome.output
            if output is not None and not isinstance(output, BaseModel):
                message = f"{self._who(engine.name)} returned an output of type {type(output).__name__}, not a model"
                return {"status": "error", "error": message}
            return {
                "status": outcome.status,
                "output": output,
                # An ok answer's explanations only when the host reads them (an engine that ignores
                # Context.explain may bring some anyway); a skipped or denied answer's always: its
                # reason is the answer. Written out here rather than called: it runs for every engine.
                "explain": outcome.explain if context.explain or outcome.status != "ok" else (),
                "warnings": outcome.warnings,
            }
        except PASSED_THROUGH:
            raise
        except BaseException as error:  # noqa: BLE001 - one failing engine, even by sys.exit(), must not end the rest
            who = self._who(engine.name)
            log_failure(logger, "%s failed on session %s", who, result.session_id)
            return {"status": "error", "error": f"{who} failed: {describe(error)}"}

    def _held(self, engine: str, answer: _Answer) -> _Answer:
        """An engine's answer if a report can hold it, else an error naming the engine and the field."""
        try:
            _check_answer(answer)
        except PASSED_THROUGH:
            raise
        except BaseException as error:  # noqa: BLE001 - whatever the answer raised as it was read is the engine's
            return {
                "status": "error",
                "error": f"{self._who(engine)} returned an answer a report can not hold: {_problem_of(error)}",
            }
        return answer

    def _why_not_loaded(self, engine: str) -> str:
        """`` (plugin 'x' is disabled)`` when a plugin of the engine's name is known but not loaded."""
        info = next((info for info in self._registry.plugins if info.name == engine), None)
        if info is None or info.status == "loaded":
            return ""
        return (
            f" (plugin {engine!r} is disabled)" if info.status == "disabled" else f" (plugin {engine!r} failed to load)"
        )

    def _who(self, engine: str) -> str:
        owner = self._owners.get(engine)
        return f"engine '{engine}'" if owner in (None, engine) else f"engine '{engine}' of plugin '{owner}'"


_NO_CATALOGS = Catalogs({})
_CACHED_SELECTIONS = 256
"""Engine selections remembered, each its names as given: a host's views name the same few."""
_READ_ATTEMPTS = 3
"""Times a reload reads the rules when their directory keeps being swapped under it."""
_REENTRANT_RELOAD = (
    "reload was called from inside a dispatch (by an engine's evaluate or aggregate), where it would wait "
    "for itself; the rules serving are unchanged. Reload from outside any dispatch"
)
_Answer = dict[str, Any]
"""The fields of one engine's :class:`EngineReport`, validated with the whole report."""
_build_report = DispatchReport.__pydantic_validator__.validate_python
_write_report = DispatchReport.__pydantic_serializer__.to_json
"""``model_dump_json`` without its Python wrapper, which passes every option by keyword on each call:
the same bytes, a few microseconds less for each report a batch writes."""
_check_answer = EngineReport.__pydantic_validator__.validate_python


def _problem_of(error: BaseException) -> str:
    """What was wrong with an engine's answer: each invalid field, or what reading it raised."""
    if isinstance(error, ValidationError):
        return "; ".join(f"{item.field}: {item.message}" for item in field_errors(error))
    return describe(error)


def _has_rule_tests(directory: Path) -> bool:
    """Whether a rules directory holds rule tests; a ``tests`` directory that can not be read counts
    as holding them (a reload then fails until it can be read)."""
    try:
        return bool(find_test_files(directory))
    except RulesError:
        return True


def _plugin_variables(environ: Mapping[str, str]) -> dict[str, str]:
    return {name: environ[name] for name in (LOAD_PLUGINS_VARIABLE, DISABLED_PLUGINS_VARIABLE) if name in environ}


_LISTED_PROBLEMS = 20


def _check_many(results: Any) -> None:
    """Refuse ``results`` that are not many results: iterating one result's JSON text, mapping or
    model would read its characters or its keys as results, each one invalid."""
    if isinstance(results, str | bytes | bytearray | Mapping | BaseModel) or not isinstance(results, Iterable):
        problem = f"expected an iterable of profiler results, got {type(results).__name__}"
        raise InvalidInputError("results", [FieldError("", problem)])


class _ResultStream:
    """Validates results one at a time as an engine reads them, counting and naming the invalid ones.

    The lines of JSON Lines come read by :func:`.jsonl.read_results`: a line that gave no result is an
    :class:`InvalidLine`, named as every command names it (``line 7: the line is blank``).
    """

    def __init__(self, results: Iterable[Any], protected: Collection[str]) -> None:
        self._results = results
        self._protected = protected
        self.read = 0
        self.invalid = 0
        self._problems: list[str] = []

    def __iter__(self) -> Iterator[ProfilerResult]:
        for number, raw in enumerate(self._results, start=1):
            self.read = number
            if isinstance(raw, InvalidLine):
                self._left_out(str(raw))
                continue
            try:
                yield validate_input(ProfilerResult, raw, "profiler result", self._protected)
            except InvalidInputError as error:
                self._left_out(f"result #{number} left out: {error}")

    def _left_out(self, problem: str) -> None:
        self.invalid += 1
        if len(self._problems) < _LISTED_PROBLEMS:
            self._problems.append(problem)

    def problems(self) -> tuple[str, ...]:
        more = self.invalid - len(self._problems)
        return (*self._problems, *([f"... and {more} more invalid result(s)"] if more > 0 else []))


def _content_key(value: Any) -> bytes | None:
    """``value`` as bytes that only an equal value of the same types gives, or ``None`` when it holds
    anything but plain data (dicts, lists, tuples, sets, text, numbers, booleans, ``None``).

    marshal writes exactly those types, each tagged with its type (``1``, ``1.0``, ``True`` and ``"1"``
    differ, as validation may tell them apart), and refuses any other type, subclasses included: a
    host's own mapping or a datetime is never taken for plain data it merely resembles. Written in C,
    it costs a tenth of validating the catalogs it keys.
    """
    try:
        return marshal.dumps(value, 4)
    except (ValueError, RecursionError):
        return None


class _PreparedByContent:
    """Catalogs prepared from raw ones, by their content (see :func:`_content_key`), the most recent first
    kept. Shared by every thread dispatching: a lost store or two threads preparing the same catalogs is
    a benign race, both prepare the same catalogs."""

    ENTRIES = 8
    """Distinct raw catalogs kept: a host passes the same one or few on every call."""
    LARGEST_KEY = 16 << 20
    """Catalogs whose content takes more bytes are prepared on every call, as a host may not expect them
    to be held in memory twice over."""

    def __init__(self) -> None:
        self._entries: dict[bytes, Catalogs] = {}

    def get(self, key: bytes | None) -> Catalogs | None:
        return None if key is None else self._entries.get(key)

    def put(self, key: bytes | None, prepared: Catalogs) -> None:
        if key is None or len(key) > self.LARGEST_KEY:
            return
        entries = self._entries
        while len(entries) >= self.ENTRIES:
            try:
                del entries[next(iter(entries))]  # the oldest
            except (KeyError, StopIteration, RuntimeError):  # another thread changed them meanwhile
                break
        entries[key] = prepared


def _catalog_readers(engines: Iterable[LoadableEngine]) -> dict[str, TypeAdapter[Any]]:
    readers: dict[str, TypeAdapter[Any]] = {}
    for item in engines:
        for name, model in item.engine.catalogs.items():
            readers.setdefault(name, TypeAdapter(tuple[model, ...]))
    return readers
