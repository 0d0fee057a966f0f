"""Test helpers for hosts: run code under other rules, and capture what completed sessions dispatch.

With unittest (Django's ``TestCase``) or anything else::

    from profiler_rules.contrib.django.testing import capture_dispatches, override_rules

    @override_rules("myproject/tests/rules")     # a TestCase class, a test method or any function
    class MissionTests(TestCase): ...

    with override_rules(None):                   # the packaged rules
        ...
    with capture_dispatches() as dispatches:     # on-commit callbacks run when the block ends
        complete(session)
    assert dispatches[0].report.engines["missions"].status == "ok"

With pytest, load the fixtures in the host's root ``conftest.py`` (they are not loaded through an entry
point: that would import Django in every project that installs profiler-rules)::

    pytest_plugins = ["profiler_rules.contrib.django.testing"]

    def test_it(profiler_rules_override, profiler_rules_dispatches, db):
        profiler_rules_override("myproject/tests/rules")   # for the rest of the test
        with profiler_rules_dispatches() as dispatches:
            ...
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.test import TestCase
from django.test.utils import TestContextDecorator, override_settings

from .conf import SETTING
from .signals import decided

if TYPE_CHECKING:
    from profiler_rules import DispatchReport

    from .sources import Learner

try:
    import pytest
except ImportError:  # a unittest-only host: the helpers above work without pytest
    pytest = None  # type: ignore[assignment]

RulesDir = str | os.PathLike[str] | None


class override_rules(TestContextDecorator):  # lowercase, as Django's override_settings
    """Run code under the rules of ``rules_dir`` (``None``: the packaged rules).

    A context manager, or a decorator of functions and ``TestCase`` classes (for each test). It is
    ``override_settings(PROFILER_RULES={**current, "RULES_DIR": rules_dir})``, taken when it is
    entered, so the test's other settings stay; the app's settings and its dispatcher are rebuilt on
    entering and on leaving, and the rules are loaded on first use, as in the host.
    """

    def __init__(self, rules_dir: RulesDir) -> None:
        super().__init__()
        self.rules_dir = None if rules_dir is None else os.fspath(rules_dir)
        self._active: list[override_settings] = []  # a stack: the same decorator may be entered again

    def enable(self) -> None:
        current = getattr(settings, SETTING, None)
        current = current if isinstance(current, Mapping) else {}
        override = override_settings(**{SETTING: {**current, "RULES_DIR": self.rules_dir}})
        override.enable()
        self._active.append(override)

    def disable(self) -> None:
        self._active.pop().disable()


@dataclass(frozen=True)
class Dispatched:
    """One completion dispatch: what the ``decided`` signal carried."""

    session_pk: Any
    learner: Learner
    report: DispatchReport


@contextmanager
def capture_dispatches(*, using: str = DEFAULT_DB_ALIAS) -> Iterator[list[Dispatched]]:
    """Collect the completion dispatches of the block, in the order they happened.

    The on-commit callbacks registered in the block run when it ends, as if its transaction committed
    (``TestCase.captureOnCommitCallbacks(execute=True)``: inside a test's transaction nothing commits);
    outside a transaction they run at once, and are collected all the same. The list fills as the
    callbacks run: read it after the block.
    """
    captured: list[Dispatched] = []

    def collect(sender: Any, *, session_pk: Any, learner: Learner, report: DispatchReport, **_: Any) -> None:
        captured.append(Dispatched(session_pk, learner, report))

    decided.connect(collect, weak=False)
    try:
        with TestCase.captureOnCommitCallbacks(using=using, execute=True):
            yield captured
    finally:
        decided.disconnect(collect)


if pytest is not None:

    @pytest.fixture
    def profiler_rules_override() -> Iterator[Callable[[RulesDir], None]]:
        """``profiler_rules_override(rules_dir)``: the rest of the test runs under those rules."""
        active: list[override_rules] = []

        def use(rules_dir: RulesDir) -> None:
            override = override_rules(rules_dir)
            override.enable()
            active.append(override)

        yield use
        while active:
            active.pop().disable()

    @pytest.fixture
    def profiler_rules_dispatches() -> Callable[..., Any]:
        """:func:`capture_dispatches`: ``with profiler_rules_dispatches() as dispatches: ...``."""
        return capture_dispatches
