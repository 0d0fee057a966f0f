"""Batch dispatch of JSON Lines: one output record per input line, in order, streaming, on N processes.

Each worker process rebuilds the dispatcher from a small picklable :class:`DispatcherSpec` (rules
directory, plugins, digest) rather than receiving it pickled, so the same spec can fan work out to
whatever job system a host already runs. Lines travel in chunks, and only a bounded window of chunks is
ever in flight, so memory stays flat however long the input: ``Pool.imap`` would read the whole input
ahead into its task queue. Workers write each chunk's records to a file of a temporary spool directory,
which the parent reads back in order and deletes.

Workers die with their parent, however it ends: an interruption ends them at once, and on Linux the
kernel signals them when the parent is killed (elsewhere a thread of theirs watches for it); orphaned
so, they remove the spool directory themselves, so none is left behind.

Lines are read by :mod:`.jsonl`, the reader every command shares; a line that gives no result becomes
an error record naming it. :func:`resume` checks, record by record, that an interrupted run's output
belongs to the input before a run continues it.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .core.errors import ProfilerRulesError
from .core.jsonl import InvalidLine, Line, OverlongLine, read_line
from .core.models import Viewer, validate_input

if TYPE_CHECKING:
    from .core.dispatcher import Catalogs, Dispatcher, DispatcherSpec

CHUNK_LINES = 256
CHUNKS_IN_FLIGHT_PER_WORKER = 4
SPOOL_PREFIX = "profiler-rules-"
MAX_RECORD_BYTES = 64 << 20
"""The longest record :func:`resume` reads back: far beyond any report of a line within the line limit."""

Record = tuple[str, str]
"""One output line (a report, or an error record naming its input line) and its kind: ``"report"``,
``"engine error"`` (a report in which an engine failed) or ``"invalid"`` (an error record)."""


def dispatch_line(
    dispatcher: Dispatcher,
    number: int,
    line: Line,
    catalogs: Catalogs,
    viewer: Viewer | None,
    *,
    explain: bool = True,
) -> Record:
    """Dispatch one JSONL line; a bad line becomes an error record naming the line, never an exception.
    ``explain`` is :meth:`Dispatcher.dispatch`'s."""
    result = read_line(number, line, dispatcher.ruleset.access.protected)
    if isinstance(result, InvalidLine):
        return result.record(), "invalid"
    report, text = dispatcher.to_json(dispatcher.dispatch(result, viewer=viewer, catalogs=catalogs, explain=explain))
    failed = any(answer.status == "error" for answer in report.engines.values())
    return text, "engine error" if failed else "report"


def dispatch_lines(
    dispatcher: Dispatcher,
    lines: Iterable[Line],
    *,
    viewer: Viewer | Any = None,
    catalogs: Catalogs | None = None,
    workers: int = 1,
    first_line: int = 1,
    explain: bool = True,
) -> Iterator[Record]:
    """Dispatch every line, yielding one record per line, in input order.

    ``lines`` are bytes or text, each one JSON object (its line ending is JSON whitespace), or what
    :func:`profiler_rules.core.jsonl.read_lines` reads from a binary stream: that bounds each line
    before it is held. With ``workers > 1`` the lines are dispatched by that many processes, each
    rebuilding the dispatcher from :meth:`Dispatcher.spec`; the viewer and catalogs travel to them
    once, pickled. ``first_line`` numbers the first line given (when resuming after lines already done).
    ``explain=False`` leaves the explanations of ok answers out of every report, as
    :meth:`Dispatcher.dispatch` does; the default keeps them.

    :raises InvalidInputError: for an invalid viewer or catalogs, before any line is read.
    """
    if workers <= 1:
        prepared = dispatcher.prepare_catalogs(catalogs)
        checked = _viewer(viewer)
        for number, line in enumerate(lines, start=first_line):
            yield dispatch_line(dispatcher, number, line, prepared, checked, explain=explain)
        return
    for block in dispatch_blocks(
        dispatcher, lines, viewer=viewer, catalogs=catalogs, workers=workers, first_line=first_line, explain=explain
    ):
        # Not splitlines(): a record may hold U+2028 and the like, which JSON leaves unescaped.
        yield from zip(block.data.decode().split("\n")[:-1], block.kinds, strict=True)


def _viewer(viewer: Viewer | Any) -> Viewer | None:
    """The viewer, validated once for the whole batch rather than once a line."""
    return None if viewer is None else validate_input(Viewer, viewer, "viewer")


@dataclass(frozen=True, slots=True)
class Block:
    """The records of consecutive lines: JSON Lines, each ending in a newline, encoded as UTF-8, and
    each record's kind (see :data:`Record`)."""

    data: bytes
    kinds: tuple[str, ...]


def dispatch_blocks(
    dispatcher: Dispatcher,
    lines: Iterable[Line],
    *,
    viewer: Viewer | Any = None,
    catalogs: Catalogs | None = None,
    workers: int = 1,
    first_line: int = 1,
    explain: bool = True,
) -> Iterator[Block]:
    """:func:`dispatch_lines` as blocks of encoded records, ready to write to a binary file.

    One process dispatches and yields line by line. With workers, each worker encodes its chunk's
    records into one block: the parent, which shares the machine's cores with them, then only reads
    lines and writes bytes rather than encoding every report itself. Closing the iterator early, or an
    exception (an interruption) while it waits, ends the workers at once and removes their spool.

    :raises ProfilerRulesError: when a worker can not serve the same rules (they changed since).
    :raises concurrent.futures.process.BrokenProcessPool: when a worker process died.
    """
    if workers <= 1:
        records = dispatch_lines(
            dispatcher, lines, viewer=viewer, catalogs=catalogs, first_line=first_line, explain=explain
        )
        for record, kind in records:
            yield Block(_encode(f"{record}\n"), (kind,))
        return
    prepared, checked = dispatcher.prepare_catalogs(catalogs), _viewer(viewer)
    spool = Path(tempfile.mkdtemp(prefix=SPOOL_PREFIX))
    pool = ProcessPoolExecutor(
        workers, initializer=_start_worker, initargs=(dispatcher.spec(), checked, prepared, spool, os.getpid(), explain)
    )
    try:
        yield from _in_order(pool, _chunks(lines, first_line), workers * CHUNKS_IN_FLIGHT_PER_WORKER)
    except BaseException:
        _end_workers(pool)  # interrupted, or the reader stopped: nothing more of theirs will be read
        raise
    else:
        pool.shutdown()
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def _in_order(pool: ProcessPoolExecutor, chunks: Iterator[_Chunk], window_size: int) -> Iterator[Block]:
    window: deque[Future[_Spooled]] = deque()
    for chunk in chunks:
        window.append(pool.submit(_work, chunk))
        if len(window) >= window_size:
            yield window.popleft().result().unspool()
    while window:
        yield window.popleft().result().unspool()


def _end_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel what is queued and end the workers now, rather than let them finish their chunks."""
    # The executor offers no public way to end its workers before Python 3.14 (terminate_workers).
    processes = list((pool._processes or {}).values())  # noqa: SLF001
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join()


@dataclass(frozen=True, slots=True)
class _Spooled:
    """A worker's block, written to a file of the spool directory rather than sent back through a pipe:
    multiprocessing would copy its megabytes several times over, in a parent that shares the cores
    with the workers (two workers on 100,000 lines: 1.57× one worker through pipes, 1.75× spooled)."""

    path: Path
    kinds: tuple[str, ...]

    def unspool(self) -> Block:
        data = self.path.read_bytes()
        self.path.unlink()
        return Block(data, self.kinds)


def _encode(records: str) -> bytes:
    # A host's text line may hold a lone surrogate, which no UTF-8 can hold; inside a JSON string its
    # escape is the very same character.
    return records.encode(errors="backslashreplace")


_Chunk = tuple[int, list[Line]]


def _chunks(lines: Iterable[Line], first_line: int) -> Iterator[_Chunk]:
    """The lines in chunks, each with the number of its first line."""
    iterator = iter(lines)
    start = first_line
    while chunk := list(itertools.islice(iterator, CHUNK_LINES)):
        yield start, chunk
        start += len(chunk)


# --- the workers -------------------------------------------------------------------------------------

_worker: tuple[Dispatcher, Catalogs, Viewer | None, Path, bool] | ProfilerRulesError | None = None
_PR_SET_PDEATHSIG = 1
_PARENT_POLL_SECONDS = 0.5


def _start_worker(
    spec: DispatcherSpec, viewer: Viewer | None, catalogs: Catalogs, spool: Path, parent: int, explain: bool
) -> None:
    from .core.dispatcher import Dispatcher

    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    _follow_parent(parent, spool)
    try:
        _worker = (Dispatcher.from_spec(spec), catalogs, viewer, spool, explain)
    except ProfilerRulesError as error:
        # Raised from each chunk's work, it reaches the parent as this error, where failing here would
        # only print a traceback and break the pool.
        _worker = error


def _follow_parent(parent: int, spool: Path) -> None:
    """End this worker when its parent ends, even when the parent is killed outright: on Linux the
    kernel sends SIGTERM then, elsewhere a thread watches for the worker's adoption by another process."""
    forked_by = os.getppid()  # the parent itself, or the fork server that started the worker for it
    signal.signal(signal.SIGTERM, lambda _signal, _frame: _end_worker(spool, orphan=os.getppid() != forked_by))
    if not _parent_death_signal():
        threading.Thread(target=_watch_parent, args=(forked_by, spool), daemon=True).start()
    if not _alive(parent):  # it ended before we asked
        _end_worker(spool, orphan=True)


def _end_worker(spool: Path, *, orphan: bool) -> None:
    """End this worker at once. An orphan removes the spool, which its parent no longer can (every
    orphan does: the last one to go wins); a worker its living parent ends leaves the spool to it, with
    the records of the chunks already done."""
    if orphan:
        shutil.rmtree(spool, ignore_errors=True)
    os._exit(128 + signal.SIGTERM)


def _parent_death_signal() -> bool:
    """On Linux, ask the kernel for SIGTERM when the parent process ends."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int, spool: Path) -> None:
    """Where the kernel can not tell: an orphan is adopted by another process, so its parent id changes."""
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_SECONDS)
    _end_worker(spool, orphan=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _work(chunk: _Chunk) -> _Spooled:
    if isinstance(_worker, ProfilerRulesError):
        raise _worker
    assert _worker is not None, "the worker was not started"
    dispatcher, catalogs, viewer, spool, explain = _worker
    start, lines = chunk
    records = [
        dispatch_line(dispatcher, number, line, catalogs, viewer, explain=explain)
        for number, line in enumerate(lines, start=start)
    ]
    path = spool / f"{start}.jsonl"
    path.write_bytes(_encode("".join(f"{record}\n" for record, _ in records)))
    return _Spooled(path, tuple(kind for _, kind in records))


# --- resuming ----------------------------------------------------------------------------------------


class ResumeRefused(ProfilerRulesError):
    """The output of an interrupted run does not belong to this input (or these rules); nothing was
    changed. The message names the first record that does not match its line."""


@dataclass(slots=True)
class Progress:
    """What an interrupted run left: its whole records (one per input line, from the first), their
    kinds (see :data:`Record`), and the bytes they take; anything after them is a record cut short."""

    records: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    size: int = 0


class _Stamp(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    digest: str


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    status: str


class _RecordHead(BaseModel):
    """What :func:`resume` reads of a record: an error record's line, a report's learner, rules and
    engine statuses. The rest of a report is skipped by the parser, never built."""

    model_config = ConfigDict(extra="ignore", strict=True)
    line: int | None = None
    error: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    ruleset: _Stamp | None = None
    engines: dict[str, _Answer] | None = None


class _Identity(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    session_id: str
    user_id: str


_read_head = _RecordHead.__pydantic_validator__.validate_json
_read_identity = _Identity.__pydantic_validator__.validate_json


def resume(output: Path, lines: Iterator[Line], digest: str, input_name: str) -> Progress:
    """Check an interrupted run's ``output`` against the input ``lines``, reading both side by side, a
    record at a time; then cut off a last record left half written.

    Each error record must name its own line (and its session, when the line names one), and that line
    must still give no result; each report must be of the session and learner of its line, under the
    rules of ``digest``. ``lines`` is read as far as the records go: dispatch goes on from there.

    :raises ResumeRefused: naming the first record that does not match, before anything is changed.
    """
    progress = Progress()
    if not output.exists():
        return progress
    with output.open("rb") as records:
        while record := records.readline(MAX_RECORD_BYTES + 1):
            number = progress.records + 1
            if not record.endswith(b"\n"):
                if len(record) > MAX_RECORD_BYTES:
                    raise ResumeRefused(f"line {number} of {output} is longer than any record of a batch")
                break  # the last record, cut short by the interruption: written again
            line = next(lines, None)
            if line is None:
                raise ResumeRefused(f"{output} holds more records than {input_name} has lines ({number - 1:,})")
            progress.kinds[_check(output, input_name, number, record, line, digest)] += 1
            progress.records = number
            progress.size += len(record)
    if output.stat().st_size > progress.size:
        os.truncate(output, progress.size)
    return progress


def _check(output: Path, input_name: str, number: int, record: bytes, line: Line, digest: str) -> str:
    """The kind of the record of line ``number``, if it is that line's record."""
    where = f"line {number} of {output}"
    try:
        head = _read_head(record)
    except ValidationError:
        raise ResumeRefused(f"{where} is not a record of profiler-rules dispatch") from None
    if head.error is not None and head.line is not None:
        return _check_error_record(head, where, input_name, number, line)
    if head.engines is None or head.ruleset is None or head.session_id is None or head.user_id is None:
        raise ResumeRefused(f"{where} is not a record of profiler-rules dispatch")
    if head.ruleset.digest != digest:
        raise ResumeRefused(
            f"{where} was made under other rules ({head.ruleset.digest}) than these ({digest}); "
            "resume under the rules of the interrupted run"
        )
    identity = _identity_of(line)
    if identity is None:
        raise ResumeRefused(f"{where} is a report, but line {number} of {input_name} gives no result")
    if (identity.session_id, identity.user_id) != (head.session_id, head.user_id):
        raise ResumeRefused(
            f"{where} is the report of session {_quoted(head.session_id)} (learner {_quoted(head.user_id)}), "
            f"but line {number} of {input_name} is session {_quoted(identity.session_id)} "
            f"(learner {_quoted(identity.user_id)})"
        )
    return "engine error" if any(answer.status == "error" for answer in head.engines.values()) else "report"


def _identity_of(line: Line) -> _Identity | None:
    """The session and learner a line names, read without validating the rest of it."""
    if isinstance(line, OverlongLine):
        return None
    try:
        return _read_identity(line)
    except ValidationError:
        return None


def _check_error_record(head: _RecordHead, where: str, input_name: str, number: int, line: Line) -> str:
    if head.line != number:
        raise ResumeRefused(f"{where} is the error record of line {head.line}")
    result = read_line(number, line)
    if not isinstance(result, InvalidLine):
        raise ResumeRefused(f"{where} is an error record, but line {number} of {input_name} is a valid result")
    if head.session_id is not None and head.session_id != result.session_id:
        raise ResumeRefused(
            f"{where} is the error record of session {_quoted(head.session_id)}, "
            f"but line {number} of {input_name} names {_quoted(result.session_id)}"
        )
    return "invalid"


def _quoted(text: str | None, limit: int = 60) -> str:
    if text is None:
        return "none"
    return repr(text if len(text) <= limit else f"{text[:limit]}…")
