"""Reload a dispatcher's rules when their directory changes, for long-running hosts.

The watcher calls the reload it is given (a dispatcher's :meth:`Dispatcher.reload`) and knows nothing
else of the dispatcher.

File watching is watchfiles' job (native change notification, debouncing, batching of the editor's
save-rename-delete dance); it is an optional extra so hosts that reload by hand do not carry it.

A native watch follows the directory it was started on, not the path: after the rules directory is
replaced by a rename (``mv rules rules.old; mv rules.new rules``) or a symlink is re-pointed
(``rules -> v2``, as deploy tools do), it would go on watching the old one, or nothing. So the watcher
also checks, every tenth of a second, where the path leads (its real path and the directory's inode);
when that changes it starts watching the new directory and reloads. Any error (a directory that is
gone or can not be read) is logged and retried with growing pauses; the watcher thread ends only when
stopped. Its state is in :meth:`Dispatcher.status` (``watcher``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from .errors import ProfilerRulesError
from .faults import describe

logger = logging.getLogger("profiler_rules")

ResultT = TypeVar("ResultT")

CHECK_EVERY_MS = 100
"""How often the watcher checks where the rules path leads, between change notifications."""
FIRST_RETRY_SECONDS = 0.2
"""The pause after a first error; it doubles after each error in a row, up to :data:`LAST_RETRY_SECONDS`."""
LAST_RETRY_SECONDS = 5.0
STOP_WAIT_SECONDS = 60.0
"""How long :meth:`RulesWatcher.stop` waits for a reload in progress (which runs the rule tests)."""


class WatcherStatus(BaseModel):
    """What a rules watcher is doing: ``watching`` the directory the rules path leads to now,
    ``retrying`` after an error (the last one, and since when it has been failing), or ``stopped``."""

    model_config = ConfigDict(frozen=True)

    state: Literal["watching", "retrying", "stopped"]
    directory: str
    """The rules path as given, which may be a symlink."""
    watching: str | None = None
    """The directory the path led to when the watch started; ``None`` when none is watched."""
    since: datetime
    """When the watcher entered this state (for ``retrying``, its first error in a row)."""
    last_error: str | None = None
    reloads: int = 0
    """Reloads the watcher has started, whatever their outcome."""


@dataclass(frozen=True, slots=True)
class Location:
    """Where a rules path leads: the real path and the directory's device and inode.

    Equal locations mean the same directory: not replaced by a rename, not re-pointed by a symlink.
    """

    real_path: str
    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> Location:
        """Where ``path`` leads now; raises ``OSError`` when it leads nowhere, or to what is not a
        directory."""
        real = os.path.realpath(path)
        found = os.stat(real)
        if not os.path.isdir(real):
            raise NotADirectoryError(f"{path} is not a directory")
        return cls(real, found.st_dev, found.st_ino)


class RulesWatcher(Generic[ResultT]):
    """A background thread that calls ``reload`` (:meth:`Dispatcher.reload`) after each batch of changes.

    Use it as a context manager, or call :meth:`stop`. ``last_result`` is the last reload's outcome,
    :meth:`status` what the watcher is doing.
    """

    def __init__(self, reload: Callable[[], ResultT], directory: Path, debounce_ms: int) -> None:
        try:
            import watchfiles
        except ImportError:
            raise ProfilerRulesError("watching needs watchfiles: pip install 'profiler-rules[watch]'") from None
        self._watchfiles = watchfiles
        self._reload_rules = reload
        self._directory = directory
        self._debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self.reloads = 0
        self.last_result: ResultT | None = None
        self._status = WatcherStatus(state="watching", directory=str(directory), since=datetime.now(UTC))
        self._thread = threading.Thread(target=self._run, name="profiler-rules-watcher", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=5)  # the first watch started, or the first error met

    @property
    def running(self) -> bool:
        """Whether the watcher thread is alive: it ends only after :meth:`stop`."""
        return self._thread.is_alive()

    def status(self) -> WatcherStatus:
        """What the watcher is doing now."""
        return self._status

    def _run(self) -> None:
        delay = FIRST_RETRY_SECONDS
        reload_first = False  # after an error or a move, changes may have been missed: reload once watching
        while not self._stop.is_set():
            try:
                self._watch(reload_first)
                reload_first = True  # the path moved: watch where it leads now, and reload
                delay = FIRST_RETRY_SECONDS
            except BaseException as error:  # noqa: BLE001 - the thread must survive anything; it is logged and retried
                self._failed(error)
                self._ready.set()
                self._stop.wait(delay)
                delay = min(delay * 2, LAST_RETRY_SECONDS)
                reload_first = True
        self._set_status(state="stopped", watching=None, last_error=None)

    def _watch(self, reload_first: bool) -> None:
        """Watch where the rules path leads until it leads elsewhere (then return) or the watcher is
        stopped; reload after each batch of changes."""
        location = Location.of(self._directory)
        changes = self._watchfiles.watch(
            location.real_path,
            stop_event=self._stop,
            debounce=self._debounce_ms,
            yield_on_timeout=True,
            rust_timeout=CHECK_EVERY_MS,
        )
        try:
            for batch in changes:
                if self._status.state != "watching" or self._status.watching != location.real_path:
                    self._set_status(state="watching", watching=location.real_path, last_error=None)
                    self._ready.set()
                if Location.of(self._directory) != location:
                    return
                if batch or reload_first:
                    reload_first = False
                    self._reload()
        finally:
            changes.close()

    def _reload(self) -> None:
        with self._lock:
            self.reloads += 1
            self._status = self._status.model_copy(update={"reloads": self.reloads})
        self.last_result = self._reload_rules()

    def _failed(self, error: BaseException) -> None:
        message = describe(error)
        logger.warning("watching the rules at %s failed, retrying: %s", self._directory, message)
        if self._status.state == "retrying":
            self._set_status(last_error=message, since=self._status.since)
        else:
            self._set_status(state="retrying", watching=None, last_error=message)

    def _set_status(self, **changes: object) -> None:
        with self._lock:
            update = {"since": datetime.now(UTC), **changes}
            self._status = self._status.model_copy(update=update)

    def stop(self) -> None:
        """Stop watching and wait for the thread to end (for up to a minute, should a reload be running)."""
        self._stop.set()
        self._thread.join(timeout=STOP_WAIT_SECONDS)

    def __enter__(self) -> RulesWatcher[ResultT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
