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
from profiler_rules.core.watch import RulesWatcher

from .conf import SETTING, app_settings

_lock = threading.Lock()
_dispatcher: Dispatcher | None = None
_watcher: RulesWatcher | None = None


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


def _build() -> Dispatcher:
    global _watcher
    from .records import recorder_from_settings  # reads the app's models: not at import

    config = app_settings()
    dispatcher = Dispatcher.from_rules(config["RULES_DIR"], recorder=recorder_from_settings(config))
    if config["WATCH"] and config["RULES_DIR"] is not None:
        _watcher = dispatcher.watch()
    return dispatcher


def reset_dispatcher() -> None:
    """Forget the process's dispatcher (stopping its watcher); the next use builds it again."""
    global _dispatcher, _watcher
    with _lock:
        watcher, _dispatcher, _watcher = _watcher, None, None
    if watcher is not None:
        watcher.stop()


@receiver(setting_changed)
def _rebuild_on_change(*, setting: str, **_: Any) -> None:
    if setting == SETTING:
        reset_dispatcher()
