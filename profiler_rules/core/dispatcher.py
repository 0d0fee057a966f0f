"""The dispatcher: one profiler result in, every engine's answer out, under one rule set.

This module builds a dispatcher and dispatches; the rest of what a dispatcher offers is done by the
module of each concern, which it calls: catalogs (:mod:`.catalogs`), answers over many results
(:mod:`.aggregate`), rule tests (:mod:`.ruletests`) and reloading and watching (:mod:`.reload`).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from os import PathLike
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from .aggregate import aggregate
from .catalogs import NO_CATALOGS, Catalogs, PreparedByContent, catalog_readers, content_key
from .engine import Context, Outcome
from .errors import FieldError, InvalidInputError, PluginLoadError, ProfilerRulesError
from .faults import PASSED_THROUGH, describe, log_failure
from .models import (
    AggregateReport,
    DispatchReport,
    EngineReport,
    Explanation,
    ProfilerResult,
    Viewer,
    answer_problem,
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
from .records import DecisionRecorder
from .reload import DispatcherStatus, Reloader, ReloadResult
from .ruleset import LoadableEngine, RuleSet, load_ruleset, rules_directory
from .ruletests import (
    Dispatching,
    SuiteResult,
    Uncovered,
    find_test_files,
    load_cases,
    run_cases,
    uncovered,
    unloaded_engines,
)
from .running import IN_DISPATCH
from .watch import RulesWatcher

logger = logging.getLogger("profiler_rules")


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
        recorder: DecisionRecorder | None = None,
    ) -> None:
        self._registry = registry
        self._recorder = recorder
        self._plugin_versions = {info.name: info.version for info in registry.plugins if info.status == "loaded"}
        self._origin = origin  # the extra plugins, entry_points and plugin variables it was built with
        self._engines: tuple[LoadableEngine, ...] = registry.engines
        self._ruleset = ruleset
        self._directory = directory
        self._catalog_readers = catalog_readers(registry.engines)
        self._prepared = PreparedByContent()
        self._by_name = {item.engine.name: item for item in registry.engines}
        self._selections: dict[tuple[Any, ...], tuple[LoadableEngine, ...]] = {}
        self._owners = {engine: info.name for info in registry.plugins for engine in info.engines}
        self._unloaded_plugins = tuple(sorted(info.name for info in registry.plugins if info.status != "loaded"))
        self._reloader = Reloader(
            directory,
            self._tests_directory(),
            ruleset,
            load=self._load_rules,
            test=lambda candidate: self.test_rules(ruleset=candidate),
            serve=self._serve,
        )

    @classmethod
    def from_rules(
        cls,
        path: str | PathLike[str] | None = None,
        *,
        plugins: Iterable[object] = (),
        entry_points: bool = True,
        strict: bool = False,
        recorder: DecisionRecorder | None = None,
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
        :param recorder: Records each dispatch (see :meth:`dispatch`'s ``record``); ``None`` records
            nothing, at no cost.
        :raises RulesError: listing every problem of every rule file.
        """
        dispatcher = cls._build(path, tuple(plugins), entry_points, _plugin_variables(os.environ), recorder)
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
        recorder: DecisionRecorder | None = None,
    ) -> Dispatcher:
        registry = discover_plugins(plugins, entry_points=entry_points, environ=environ)
        for problem in registry.problems:
            logger.warning("%s", problem)
        directory = rules_directory(path)
        ruleset = load_ruleset(registry.engines, directory, ignored_stems=registry.ignored_stems)
        return cls(registry, ruleset, directory, (plugins, entry_points, environ), recorder)

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
    def from_spec(cls, spec: DispatcherSpec, *, recorder: DecisionRecorder | None = None) -> Dispatcher:
        """Build the dispatcher a spec describes (a recorder is no part of a spec: a worker process
        gives its own).

        :raises ProfilerRulesError: when the rules found are not the ones the spec was made with.
        :raises RulesError: listing every problem of every rule file.
        """
        plugins = tuple(importlib.import_module(name) for name in spec.plugins)
        dispatcher = cls._build(spec.rules, plugins, spec.entry_points, dict(spec.environ), recorder)
        if dispatcher.ruleset.digest != spec.digest:
            raise ProfilerRulesError(
                f"the rules at {spec.rules or 'the packaged rules'} changed since the spec was made "
                f"({dispatcher.ruleset.digest} is not {spec.digest})"
            )
        return dispatcher

    def with_rules(self, path: str | PathLike[str] | None) -> Dispatcher:
        """Another dispatcher with the same plugins, the same recorder and the rules of ``path``, to
        compare rule sets.

        :raises RulesError: listing every problem of every rule file.
        """
        directory = rules_directory(path)
        ruleset = load_ruleset(self._engines, directory, ignored_stems=self._registry.ignored_stems)
        return Dispatcher(self._registry, ruleset, directory, self._origin, self._recorder)

    @property
    def ruleset(self) -> RuleSet:
        """The rule set serving dispatches now."""
        return self._ruleset

    @property
    def recorder(self) -> DecisionRecorder | None:
        """The recorder of this dispatcher's dispatches, if it was given one."""
        return self._recorder

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
    def plugin_versions(self) -> Mapping[str, str | None]:
        """The version of each loaded plugin, by name, as decision records name them."""
        return self._plugin_versions

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
            return NO_CATALOGS
        if not isinstance(catalogs, Mapping):
            raise InvalidInputError(
                "catalogs", [FieldError("", "catalogs must be a mapping of name to a list of items")]
            )
        key = content_key(catalogs)
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
        record: bool = True,
        origin: str | None = None,
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
        :param record: With a recorder (see :meth:`from_rules`), record this dispatch once its report
            is built, under the rule set that served it; ``False`` leaves this one call out (for a
            host that records it itself). Recording never fails the dispatch, and without a
            recorder costs nothing.
        :param origin: A few words the record keeps of where the call came from
            (``"completion"``, ``"view missions"``).
        :raises InvalidInputError: naming each invalid field of the result, viewer or catalogs, or an
            engine name that no loaded engine has.
        """
        selected = self._engines if engines is None else self._selection(engines)
        ruleset = self._ruleset
        report = self._dispatch_under(ruleset, result, viewer, catalogs, selected, explain=explain)
        if record and self._recorder is not None:
            self._recorder.record(
                report,
                ruleset=ruleset,
                viewer=viewer,
                engines=engines,
                origin=origin,
                plugin_versions=self._plugin_versions,
            )
        return report

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
        return self._ruleset.rules_by_engine[engine].settings

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
            ruleset.rules_by_engine,
            ruleset.access,
            explain,
        )
        entered = IN_DISPATCH.set(True)
        try:
            engines = {
                item.engine.name: self._run(item, checked, ruleset, context) for item in selected or self._engines
            }
        finally:
            IN_DISPATCH.reset(entered)
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
            problem = str(error) if isinstance(error, PydanticSerializationError) else answer_problem(error)
            logger.error("%s answered with what can not be written as JSON: %s", self._who(engine), problem)
            return EngineReport(
                status="error", error=f"{self._who(engine)} answered with what can not be written as JSON: {problem}"
            )
        return answer

    def status(self) -> DispatcherStatus:
        """The rule set serving now (digest, version, when it was loaded), the last reload's error,
        what the watcher is doing, if one was started, and what the recorder has done, if it has one."""
        status = self._reloader.status()
        if self._recorder is None:
            return status
        return status.model_copy(update={"recorder": self._recorder.status()})

    def test_rules(self, *, select: str | None = None, ruleset: RuleSet | None = None) -> SuiteResult:
        """Run the rule tests beside the rules (``tests/*.yaml`` of the rules directory).

        :param select: Run only the cases whose name contains this text (case-insensitive).
        :param ruleset: Test this rule set instead of the one serving (as :meth:`reload` does).
        :raises RulesError: listing every problem of the test files themselves.
        """
        cases = load_cases(find_test_files(self._tests_directory()), self.engines, unloaded_engines(self))
        if select:
            cases = [case for case in cases if select.casefold() in case.name.casefold()]
        return run_cases(self.dispatching(ruleset), cases)

    def dispatching(self, ruleset: RuleSet | None = None) -> Dispatching:
        """This dispatcher's answers under ``ruleset`` (by default the one serving now), for rule tests:
        what they run on, and all they see of it."""
        pinned = self._ruleset if ruleset is None else ruleset
        return Dispatching(
            engines=self.engines,
            unloaded=unloaded_engines(self),
            dispatch=lambda result, viewer, catalogs: self.to_json(
                self._dispatch_under(pinned, result, viewer, catalogs)
            ),
            aggregate=lambda engine, results, viewer, query: self._aggregate_under(
                pinned, engine, results, viewer, query
            ),
        )

    def untested_rules(self, suite: SuiteResult) -> list[Uncovered]:
        """The rules (of the engines and the access rules) that no case of ``suite`` exercised."""
        ruleset = self._ruleset
        return uncovered([*ruleset.rules_by_engine.values(), ruleset.access.rules], suite)

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
        return self._reloader.reload()

    def _load_rules(self) -> RuleSet:
        """The rules of this dispatcher's path, loaded afresh for a reload."""
        return load_ruleset(self._engines, self._directory, ignored_stems=self._registry.ignored_stems)

    def _serve(self, ruleset: RuleSet) -> None:
        """Put a reloaded rule set in service: the one reference every dispatch reads, swapped whole."""
        self._ruleset = ruleset

    def watch(self, *, debounce_ms: int = 200) -> RulesWatcher[ReloadResult]:
        """Reload whenever the rules directory changes, from a background thread, until stopped.

        The watcher follows the path it was given: a directory replaced by a rename, or a symlink
        re-pointed to another directory, is watched and reloaded from. It survives every error
        (logged, retried with growing pauses) and shows what it is doing in :meth:`status`.
        Needs the ``watch`` extra (``pip install 'profiler-rules[watch]'``, which brings watchfiles).

        :raises ProfilerRulesError: for the packaged rules, or when a watcher started here still runs.
        """
        return self._reloader.watch(debounce_ms)

    def aggregate(
        self,
        engine: str,
        results: Iterable[ProfilerResult | Mapping[str, Any] | str | bytes],
        *,
        viewer: Viewer | Mapping[str, Any] | None = None,
        **query: Any,
    ) -> AggregateReport:
        """Run one engine over many results, read once (the analytics dashboards:
        ``profiler_rules.plugins.analytics.dashboard`` names their query).

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
        return aggregate(item, ruleset, results, viewer, query, self._who(engine))

    def _run(self, item: LoadableEngine, result: ProfilerResult, ruleset: RuleSet, context: Context) -> _Answer:
        engine = item.engine
        try:
            if engine.requires_complete and not result.is_complete:
                reason = Explanation.of_status(result, f"{engine.name} acts only on finished or locked results")
                return {"status": "skipped", "explain": (reason,)}
            outcome = engine.evaluate(result, ruleset.rules_by_engine[engine.name], context)
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
                "error": f"{self._who(engine)} returned an answer a report can not hold: {answer_problem(error)}",
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


_CACHED_SELECTIONS = 256
"""Engine selections remembered, each its names as given: a host's views name the same few."""
_Answer = dict[str, Any]
"""The fields of one engine's :class:`EngineReport`, validated with the whole report."""
_build_report = DispatchReport.__pydantic_validator__.validate_python
_write_report = DispatchReport.__pydantic_serializer__.to_json
"""``model_dump_json`` without its Python wrapper, which passes every option by keyword on each call:
the same bytes, a few microseconds less for each report a batch writes."""
_check_answer = EngineReport.__pydantic_validator__.validate_python


def _plugin_variables(environ: Mapping[str, str]) -> dict[str, str]:
    return {name: environ[name] for name in (LOAD_PLUGINS_VARIABLE, DISABLED_PLUGINS_VARIABLE) if name in environ}
