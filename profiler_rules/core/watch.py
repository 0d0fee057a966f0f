"""Reload a dispatcher's rules when their directory changes, for long-running hosts.

File watching is watchfiles' job (native change notification, debouncing, batching of the editor's
save-rename-delete dance); it is an optional extra so hosts that reload by hand do not carry it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ProfilerRulesError

if TYPE_CHECKING:
    from .dispatcher import Dispatcher, ReloadResult

logger = logging.getLogger("profiler_rules")


class RulesWatcher:
    """A background thread that calls :meth:`Dispatcher.reload` after each batch of changes.

    Use it as a context manager, or call :meth:`stop`. ``last_result`` is the last reload's outcome.
    """

    def __init__(self, dispatcher: Dispatcher, directory: Path, debounce_ms: int) -> None:
        try:
            import watchfiles
        except ImportError:
            raise ProfilerRulesError("watching needs watchfiles: pip install 'profiler-rules[watch]'") from None
        self._watchfiles = watchfiles
        self._dispatcher = dispatcher
        self._directory = directory
        self._debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.reloads = 0
        self.last_result: ReloadResult | None = None
        self._thread = threading.Thread(target=self._run, name="profiler-rules-watcher", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=5)

    def _run(self) -> None:
        changes = self._watchfiles.watch(
            self._directory,
            stop_event=self._stop,
            debounce=self._debounce_ms,
            yield_on_timeout=True,
            rust_timeout=100,
        )
        for batch in changes:
            self._ready.set()
            if batch:
                self.last_result = self._dispatcher.reload()
                self.reloads += 1

    def stop(self) -> None:
        """Stop watching and wait for the thread to end."""
        self._stop.set()
        self._thread.join(timeout=5)

    def __enter__(self) -> RulesWatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
