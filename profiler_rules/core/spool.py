"""A spooled record sink: a request pays for one appended line; a thread delivers the lines in batches.

:class:`SpooledSink` wraps another :class:`~.records.RecordSink` (the Django table, a JSON Lines file).
Its :meth:`~SpooledSink.write` appends each record as one JSON line to this process's spool file (one
``write`` on a file opened ``O_APPEND``, under a lock): once it returns, the line is the operating
system's, so a process killed a moment later loses nothing. A daemon thread, started on the first
write in each process, delivers the spool to the inner sink every ``flush_seconds`` (sooner when
``batch`` lines wait) and deletes what it delivered.

Nothing is dropped silently, and nothing is delivered twice by two processes at once:

- Each process holds an exclusive ``flock`` on the spool file it writes. A file whose lock can be
  taken belongs to nobody: the file of a process that died (even by SIGKILL), or one its writer has
  handed over. Whichever process takes the lock first delivers it, then deletes it; the others skip it.
- When the inner sink raises, the file stays and is delivered again on the next round (counted, with
  the last error, in :meth:`SpooledSink.spool_status`). A file delivered in part (its deliverer killed)
  is delivered again whole: the inner sink must be idempotent by ``call_id`` (the Django table is).
- A line that can not be read back (a torn last line) is counted and moved to ``<file>.damaged``.
- Each rule set is kept in ``<directory>/rulesets`` (a :class:`~.archive.RuleSetArchive`) before any
  record under it is spooled, and handed to the inner sink before its records are: the records of a
  dead process resolve to their rules too.

An inner sink with a ``release_thread()`` method has it called by the delivery thread after each round
(the Django sink closes that thread's database connection).
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from os import PathLike
from pathlib import Path

from pydantic import ValidationError

from .archive import KeptRuleSet, RuleSetArchive, RuleSetNotFoundError
from .errors import ProfilerRulesError
from .faults import PASSED_THROUGH, describe
from .records import MAX_ERROR_SHOWN, DecisionRecord, RecordSink, SpoolStatus
from .ruleset import RuleSet

logger = logging.getLogger("profiler_rules")

SPOOL_PREFIX, SPOOL_SUFFIX = "spool-", ".jsonl"
"""A spool file is ``spool-<pid>-<random>.jsonl``; nothing else in the directory is delivered."""
DAMAGED_SUFFIX = ".damaged"
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_read_record = DecisionRecord.model_validate_json


class SpooledSink:
    """A :class:`~.records.RecordSink` that spools records to ``directory`` and delivers them to
    ``inner`` from a thread of its own, in batches.

    :param inner: Where the records go in the end; must be idempotent by ``call_id``.
    :param directory: The spool (made if missing), shared by every process that records to ``inner``.
    :param flush_seconds: How often the thread delivers the spool.
    :param batch: The most records handed to ``inner`` at once; this many waiting wakes the thread early.
    """

    def __init__(
        self, inner: RecordSink, directory: str | PathLike[str], *, flush_seconds: float = 1.0, batch: int = 500
    ) -> None:
        if flush_seconds <= 0 or batch < 1:
            raise ProfilerRulesError("a spool needs flush_seconds > 0 and batch >= 1")
        self.inner = inner
        self.name = inner.name
        self.directory = Path(directory)
        self.flush_seconds = flush_seconds
        self.batch = batch
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ProfilerRulesError(
                f"cannot make spool directory {self.directory}: {error.strerror or error}"
            ) from None
        self.archive = RuleSetArchive(self.directory / "rulesets")
        self._given: set[str] = set()  # digests handed to inner.keep_ruleset by this process
        self._delivered = self._damaged = self._failures = 0
        self._last_error: str | None = None
        self._reset()
        _live.add(self)

    def _reset(self) -> None:
        """This process's own state: none of it is inherited across a fork."""
        self._write_lock = threading.Lock()  # one line at a time into the spool file
        self._flush_lock = threading.Lock()  # one delivery at a time in this process
        self._pid = os.getpid()
        self._fd = -1
        self._waiting = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reset_after_fork(self) -> None:
        """Forget the parent's file, locks and thread in a forked child (called by the fork hook): the
        child spools to a file of its own, from its first write."""
        # The parent's file (and its lock) stay the parent's: closing our copy releases nothing.
        if self._fd >= 0:
            os.close(self._fd)
        self._reset()

    # -- what a request pays ---------------------------------------------------------------------

    def write(self, records: Sequence[DecisionRecord]) -> None:
        """Append ``records`` to this process's spool file, one line each, in one ``write``."""
        data = b"".join(record.model_dump_json().encode() + b"\n" for record in records)
        with self._write_lock:
            if self._pid != os.getpid():  # a fork that register_at_fork did not see
                self.reset_after_fork()
            if self._fd < 0:
                self._fd = self._open_spool_file()
            _write_all(self._fd, data)
            self._waiting += len(records)
            waiting = self._waiting
            if self._thread is None:
                self._start_thread()
        if waiting >= self.batch:
            self._wake.set()

    def keep_ruleset(self, ruleset: RuleSet | KeptRuleSet) -> None:
        """Keep ``ruleset`` in the spool's archive (so whichever process delivers its records can hand
        it on), then hand it to the inner sink."""
        self.archive.keep(ruleset)  # type: ignore[arg-type] - uses its digest, version and files only
        self.inner.keep_ruleset(ruleset)
        self._given.add(ruleset.digest)

    # -- delivery ----------------------------------------------------------------------------------

    def flush(self) -> None:
        """Deliver every spool file nobody holds, this process's own too: what was written before is in
        the inner sink when this returns, unless it raised (counted in :meth:`spool_status`)."""
        with self._flush_lock:
            self.hand_over()
            for path in sorted(self.directory.glob(f"{SPOOL_PREFIX}*{SPOOL_SUFFIX}"), key=_age):
                self._deliver(path)

    def close(self) -> None:
        """Stop the thread and deliver what is spooled (also run at exit)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and self._pid == os.getpid():
            thread.join()
        if self._pid == os.getpid():
            self.flush()
        _live.discard(self)

    def spool_status(self) -> SpoolStatus:
        """What this process delivered, set aside and failed to deliver, and the lines waiting."""
        return SpoolStatus(
            pending=sum(_count_lines(path) for path in self.directory.glob(f"{SPOOL_PREFIX}*{SPOOL_SUFFIX}")),
            delivered=self._delivered,
            damaged=self._damaged,
            failures=self._failures,
            last_error=self._last_error,
        )

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"profiler-rules spool {self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._wake.wait(self.flush_seconds)
                self._wake.clear()
                if self._stop.is_set():
                    return
                try:
                    self.flush()
                except PASSED_THROUGH:
                    raise
                except BaseException as error:  # noqa: BLE001 - the thread must live on; counted
                    self._failed("could not deliver the spool", error)
                finally:
                    self._release_thread()
        finally:
            self._release_thread()

    def _release_thread(self) -> None:
        """Let the inner sink free what it holds for this thread (the Django sink: its connection)."""
        release = getattr(self.inner, "release_thread", None)
        if release is not None:
            try:
                release()
            except Exception as error:  # noqa: BLE001 - the thread must live on; counted
                self._failed("could not release the delivery thread's resources", error)

    def _open_spool_file(self) -> int:
        """A new spool file of this process, locked before it takes its name: nobody can claim it."""
        stem = f"{SPOOL_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        making = self.directory / f".{stem}.new"
        fd = os.open(making, _OPEN_FLAGS, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(making, self.directory / f"{stem}{SPOOL_SUFFIX}")
        return fd

    def hand_over(self) -> None:
        """Close this process's spool file, releasing its lock: it is delivered like any other (the
        thread does this each round); the next write opens a new one."""
        with self._write_lock:
            if self._fd >= 0 and self._pid == os.getpid():
                os.close(self._fd)
                self._fd = -1
                self._waiting = 0

    def _deliver(self, path: Path) -> None:
        with _claimed(path) as claimed:
            if not claimed:
                return
            records, damaged = self._read(path)
            try:
                for start in range(0, len(records), self.batch):
                    chunk = records[start : start + self.batch]
                    self._hand_rulesets(chunk)
                    self.inner.write(chunk)
            except PASSED_THROUGH:
                raise
            except BaseException as error:  # noqa: BLE001 - the file stays, delivered again next round
                self._failed(f"could not deliver {path.name}", error)
                return
            if damaged:
                _append(path.with_name(path.name + DAMAGED_SUFFIX), b"".join(damaged))
                self._damaged += len(damaged)
                logger.error(
                    "%d line(s) of spool file %s could not be read: kept in %s%s",
                    len(damaged),
                    path,
                    path.name,
                    DAMAGED_SUFFIX,
                )
            path.unlink()
            self._delivered += len(records)

    def _read(self, path: Path) -> tuple[list[DecisionRecord], list[bytes]]:
        records, damaged = [], []
        for line in path.read_bytes().splitlines(keepends=True):
            try:
                records.append(_read_record(line))
            except ValidationError:
                damaged.append(line if line.endswith(b"\n") else line + b"\n")
        return records, damaged

    def _hand_rulesets(self, records: Sequence[DecisionRecord]) -> None:
        """Hand the inner sink each rule set of ``records`` it was not given by this process."""
        for digest in {record.ruleset_digest for record in records} - self._given:
            try:
                kept = self.archive.get(digest)
            except RuleSetNotFoundError:
                # Never kept: keeping it failed when it was given (counted then, by the recorder). Its
                # records go on without it, as they would without a spool; waiting would hold them forever.
                logger.error("rule set %s of spooled records was never kept; delivering them without it", digest)
            else:
                self.inner.keep_ruleset(kept)  # type: ignore[arg-type] - uses its digest, version and files
            self._given.add(digest)

    def _failed(self, what: str, error: BaseException) -> None:
        line = describe(error).splitlines()[0] if describe(error) else type(error).__name__
        line = line if len(line) <= MAX_ERROR_SHOWN else line[: MAX_ERROR_SHOWN - 1] + "…"
        self._failures += 1
        self._last_error = f"{what}: {line}"
        logger.error("spooled record sink %r %s: %s", self.name, what, line)

    def __repr__(self) -> str:
        return f"SpooledSink({self.inner!r}, {str(self.directory)!r})"


@contextmanager
def _claimed(path: Path) -> Iterator[bool]:
    """Whether ``path`` is ours to deliver: its lock taken, and still the file of that name (not one
    another process delivered and deleted while we opened it)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        yield same
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _append(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def _age(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()


def _count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


_live: weakref.WeakSet[SpooledSink] = weakref.WeakSet()
"""Every open spool of this process: a graceful exit delivers them, a fork gives the child its own."""


def _close_all() -> None:
    for sink in list(_live):
        try:
            sink.close()
        except Exception:  # noqa: BLE001 - at exit: say it, and close the others
            logger.exception("spooled record sink %r could not be delivered at exit", sink.name)


def _forked() -> None:
    for sink in list(_live):
        sink.reset_after_fork()


atexit.register(_close_all)
os.register_at_fork(after_in_child=_forked)

__all__ = ["SpooledSink"]
