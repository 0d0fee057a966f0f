"""Reloading a dispatcher's rules: load them afresh, run their rule tests, and only then swap them in.

On any failure the rule set serving keeps serving; the problems are returned and kept in the status.
A :class:`Reloader` knows how to load and test a rule set and how to put one in service (callables
its dispatcher gives it), and nothing else of the dispatcher; :meth:`Reloader.watch` reloads whenever
the rules directory changes (:mod:`.watch`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from .errors import Problem, ProfilerRulesError, RulesError
from .faults import PASSED_THROUGH, describe, log_failure
from .records import RecorderStatus
from .ruleset import RuleSet
from .ruletests import TESTS_DIRECTORY, SuiteResult, find_test_files
from .running import IN_DISPATCH
from .watch import Location, RulesWatcher, WatcherStatus

logger = logging.getLogger("profiler_rules")

_READ_ATTEMPTS = 3
"""Times a reload reads the rules when their directory keeps being swapped under it."""
_REENTRANT_RELOAD = (
    "reload was called from inside a dispatch (by an engine's evaluate or aggregate), where it would wait "
    "for itself; the rules serving are unchanged. Reload from outside any dispatch"
)


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
    recorder: RecorderStatus | None = None
    """What the dispatcher's recorder has done (records, drops, each sink's failures); ``None``
    without a recorder."""

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


class Reloader:
    """Reloads the rules of one dispatcher; see :meth:`Dispatcher.reload` for what a reload promises.

    :param directory: The rules path the dispatcher was given; ``None`` for the packaged rules.
    :param tests_directory: Where the rule tests' ``tests`` directory is looked for.
    :param serving: The rule set serving now.
    :param load: Loads the rules from ``directory`` afresh (raises :class:`RulesError`).
    :param test: Runs the rule tests on a rule set that is not serving yet.
    :param serve: Puts a rule set that passed into service.
    """

    def __init__(
        self,
        directory: Path | None,
        tests_directory: Path,
        serving: RuleSet,
        load: Callable[[], RuleSet],
        test: Callable[[RuleSet], SuiteResult],
        serve: Callable[[RuleSet], None],
    ) -> None:
        self._directory = directory
        self._tests_directory = tests_directory
        self._serving = serving
        self._load = load
        self._test = test
        self._serve = serve
        self._reloading = threading.Lock()
        self._status = DispatcherStatus.serving(serving, datetime.now(UTC))
        self._watcher: RulesWatcher[ReloadResult] | None = None
        # Rules loaded with rule tests must be replaced by rules that pass theirs: see reload().
        self._tests_expected = _has_rule_tests(tests_directory)

    def status(self) -> DispatcherStatus:
        """The rule set serving now, the last reload's error, and what the watcher is doing."""
        if self._watcher is None:
            return self._status
        return self._status.model_copy(update={"watcher": self._watcher.status()})

    def reload(self) -> ReloadResult:
        """Load, test and swap in the rules; see :meth:`Dispatcher.reload`."""
        if IN_DISPATCH.get():
            logger.warning("%s", _REENTRANT_RELOAD)
            return ReloadResult(ok=False, digest=self._serving.digest, problems=(_REENTRANT_RELOAD,))
        with self._reloading:
            attempt = datetime.now(UTC)
            candidate, problems, tested = self._vet_candidate()
            if candidate is None:
                self._status = self._status.model_copy(update={"last_attempt_at": attempt, "last_error": problems})
                logger.warning("rules reload failed; %s keeps serving: %s", self._serving.digest, "; ".join(problems))
                return ReloadResult(ok=False, digest=self._serving.digest, problems=problems)
            self._serve(candidate)  # the one reference every dispatch reads: swapped whole
            self._serving = candidate
            self._tests_expected = tested
            self._status = DispatcherStatus.serving(candidate, attempt)
            return ReloadResult(ok=True, digest=candidate.digest)

    def watch(self, debounce_ms: int) -> RulesWatcher[ReloadResult]:
        """Reload whenever the rules directory changes; see :meth:`Dispatcher.watch`."""
        if self._directory is None:
            raise ProfilerRulesError("only a rules directory can be watched; the packaged rules do not change")
        if self._watcher is not None and self._watcher.running:
            raise ProfilerRulesError("the rules are watched already; stop that watcher before starting another")
        self._watcher = RulesWatcher(self.reload, self._directory, debounce_ms)
        return self._watcher

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
            candidate = self._load()
            suite = self._test(candidate)
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
        where = self._tests_directory / TESTS_DIRECTORY
        message = (
            "no rule tests (tests/*.yaml): the rules serving were loaded with rule tests, so new rules "
            "must pass theirs; restore the tests"
        )
        return Problem(str(where), None, None, message)


def _has_rule_tests(directory: Path) -> bool:
    """Whether a rules directory holds rule tests; a ``tests`` directory that can not be read counts
    as holding them (a reload then fails until it can be read)."""
    try:
        return bool(find_test_files(directory))
    except RulesError:
        return True
