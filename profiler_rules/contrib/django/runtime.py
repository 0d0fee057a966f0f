"""One dispatcher per process, built on first use from the app's settings.

Nothing is loaded at import or in ``AppConfig.ready()``: the first request (or command, or completion)
that needs the rules builds the dispatcher, once, under a lock; threads share it, as the dispatcher
is safe to share. A test that changes ``PROFILER_RULES`` gets a dispatcher of its rules.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from profiler_rules import Dispatcher
from profiler_rules.core.records import DecisionRecorder
from profiler_rules.core.watch import RulesWatcher

from .conf import SETTING, app_settings

_lock = threading.Lock()
_dispatcher: Dispatcher | None = None
_watcher: RulesWatcher | None = None


class _Unbuilt:
    """The recorder is not built yet (``None`` is a built answer: recording is off)."""


_recorder_lock = threading.Lock()  # apart from _lock: building the dispatcher takes the recorder
_recorder: DecisionRecorder | None | type[_Unbuilt] = _Unbuilt


def get_dispatcher() -> Dispatcher:
    """The process's dispatcher, on the rules ``PROFILER_RULES["RULES_DIR"]`` names, recording the
    dispatches it serves as ``PROFILER_RULES["RECORDS"]`` says (its ``status()`` counts them).

    :raises RulesError: listing every problem of the rule files (``manage.py check`` shows them first).
    """
    global _dispatcher
    dispatcher = _dispatcher
    if dispatcher is not None:
        return dispatcher
    with _lock:
        if _dispatcher is None:
            _dispatcher = _build()
        return _dispatcher


def get_recorder() -> DecisionRecorder | None:
    """The process's decision recorder, as ``PROFILER_RULES["RECORDS"]`` describes it (``None`` when
    recording is off): the one the dispatcher records with, and re-evaluation too (one set of sinks,
    one spool thread, one status per process)."""
    global _recorder
    with _recorder_lock:
        if _recorder is _Unbuilt:
            from .records import recorder_from_settings  # reads the app's models: not at import

            _recorder = recorder_from_settings(app_settings())
        return _recorder  # type: ignore[return-value]


def _build() -> Dispatcher:
    global _watcher
    config = app_settings()
    dispatcher = Dispatcher.from_rules(config["RULES_DIR"], recorder=get_recorder())
    if config["WATCH"] and config["RULES_DIR"] is not None:
        _watcher = dispatcher.watch()
    return dispatcher


def reset_dispatcher() -> None:
    """Forget the process's dispatcher (stopping its watcher) and recorder; the next use builds them again."""
    global _dispatcher, _watcher, _recorder
    with _lock:
        watcher, _dispatcher, _watcher = _watcher, None, None
    with _recorder_lock:
        _recorder = _Unbuilt
    if watcher is not None:
        watcher.stop()


@receiver(setting_changed)
def _rebuild_on_change(*, setting: str, **_: Any) -> None:
    if setting == SETTING:
        reset_dispatcher()
