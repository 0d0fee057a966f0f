"""The pytest plugin of profiler-rules, installed with the package (entry point ``pytest11``).

Two things, for hosts and for plugin authors alike:

* **Rule tests as pytest tests.** List rules directories in the ``profiler_rules_dirs`` ini option and
  put their ``tests`` folders on pytest's path (``testpaths``, or the command line); each case of each
  ``tests/*.yaml`` then runs as one pytest test, failing with the same messages as
  ``profiler-rules test``.
* **Fixtures.** ``profiler_rules_dispatcher`` builds dispatchers (a fresh plugin manager each time,
  no entry points unless asked), and ``profiler_rules_dir`` writes a rules directory of the defaults
  (a plugin's own engine included) into a temporary folder, to edit and load.

Like datasette's and tox's, the plugin is found through an entry point, so an outside plugin is tested
the same way as the built-in ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from profiler_rules import Dispatcher
    from profiler_rules.core.ruletests import Case

DIRS_OPTION = "profiler_rules_dirs"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        DIRS_OPTION, type="paths", default=[], help="rules directories whose tests/*.yaml run as pytest tests"
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".yaml" or file_path.parent.name != "tests":
        return None
    rules_dirs = {Path(path).resolve() for path in parent.config.getini(DIRS_OPTION)}
    if file_path.parent.parent.resolve() not in rules_dirs:
        return None
    return RuleTestFile.from_parent(parent, path=file_path)


class RuleTestFile(pytest.File):
    """A ``tests/*.yaml`` file of a rules directory: one item per case."""

    def collect(self) -> Iterator[pytest.Item]:
        from profiler_rules.core.ruletests import load_cases, unloaded_engines

        dispatcher = _dispatcher_for(self.config, self.path.parent.parent)
        for case in load_cases([self.path], dispatcher.engines, unloaded_engines(dispatcher)):
            yield RuleCaseItem.from_parent(self, name=case.name, case=case, dispatcher=dispatcher)


class RuleCaseItem(pytest.Item):
    """One rule-test case, run like ``profiler-rules test`` runs it."""

    def __init__(self, *, case: Case, dispatcher: Dispatcher, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.dispatcher = dispatcher

    def runtest(self) -> None:
        from profiler_rules.core.ruletests import run_case

        outcome = run_case(self.dispatcher.dispatching(), self.case)
        if outcome.skipped is not None:
            pytest.skip(outcome.skipped)
        if not outcome.passed:
            raise RuleCaseFailed(outcome.describe().replace("; ", "\n"))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, RuleCaseFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"rule test: {self.case.name}"


class RuleCaseFailed(Exception):
    """A rule-test case whose expectations do not hold."""


def _dispatcher_for(config: pytest.Config, directory: Path) -> Dispatcher:
    # One dispatcher per rules directory per session: loading rules is the slow part, and it is read-only.
    from profiler_rules import Dispatcher

    cache: dict[Path, Dispatcher] = config.stash.setdefault(_DISPATCHERS, {})
    if directory not in cache:
        cache[directory] = Dispatcher.from_rules(directory)
    return cache[directory]


_DISPATCHERS = pytest.StashKey[dict[Path, "Dispatcher"]]()


@pytest.fixture
def profiler_rules_dispatcher() -> Callable[..., Dispatcher]:
    """Build a dispatcher: ``profiler_rules_dispatcher(rules=None, plugins=(), entry_points=False)``.

    Each call has its own plugin manager; installed entry points are left out unless asked for, so a
    test sees exactly the plugins it names.
    """
    from profiler_rules import Dispatcher

    def build(
        rules: str | Path | None = None, plugins: Iterable[object] = (), entry_points: bool = False
    ) -> Dispatcher:
        return Dispatcher.from_rules(rules, plugins=plugins, entry_points=entry_points)

    return build


@pytest.fixture
def profiler_rules_dir(tmp_path: Path) -> Callable[..., Path]:
    """Write the default rules, their tests and schemas into a temporary directory, and return it:
    ``profiler_rules_dir(plugins=(my_plugin,))`` includes a plugin's own engine and rule file."""
    from profiler_rules.authoring import init_rules
    from profiler_rules.core.plugins import discover_plugins

    def write(plugins: Iterable[object] = (), entry_points: bool = False) -> Path:
        target = tmp_path / "rules"
        init_rules(discover_plugins(plugins, entry_points=entry_points).engines, target, force=True)
        return target

    return write
