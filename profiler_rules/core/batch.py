"""Batch dispatch of JSON Lines: one output record per input line, in order, streaming, on N processes.

Each worker process rebuilds the dispatcher from a small picklable :class:`DispatcherSpec` (rules
directory, plugins, digest) rather than receiving it pickled, so the same spec can fan work out to
whatever job system a host already runs. Lines travel in chunks, and only a bounded window of chunks is
ever in flight, so memory stays flat however long the input: ``Pool.imap`` would read the whole input
ahead into its task queue. Workers write each chunk's records to a file of a temporary spool directory,
which the parent reads back in order and deletes.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidInputError

if TYPE_CHECKING:
    from .dispatcher import Catalogs, Dispatcher, DispatcherSpec
    from .models import Viewer

CHUNK_LINES = 256
CHUNKS_IN_FLIGHT_PER_WORKER = 4

Record = tuple[str, str]
"""One output line (a report, or an error record naming its input line) and its kind: ``"report"``,
``"engine error"`` (a report in which an engine failed) or ``"invalid"`` (an error record)."""


def dispatch_line(dispatcher: Dispatcher, number: int, line: str, catalogs: Catalogs, viewer: Viewer | None) -> Record:
    """Dispatch one JSONL line; a bad line becomes an error record naming the line, never an exception."""
    if not line.strip():
        return error_record(number, None, "the line is blank"), "invalid"
    try:
        # The text itself: pydantic parses and validates it in one pass, faster than json.loads first.
        report = dispatcher.dispatch(line, viewer=viewer, catalogs=catalogs)
    except InvalidInputError as error:
        return _invalid_line(number, line, error), "invalid"
    report, text = dispatcher.to_json(report)
    failed = any(answer.status == "error" for answer in report.engines.values())
    return text, "engine error" if failed else "report"


def _invalid_line(number: int, line: str, error: InvalidInputError) -> str:
    """The error record of a line that did not validate: bad JSON, not an object, or invalid fields."""
    try:
        data = json.loads(line)
    except ValueError as problem:
        return error_record(number, None, f"invalid JSON: {problem}")
    if not isinstance(data, dict):
        return error_record(number, None, f"expected a JSON object, got {type(data).__name__}")
    return error_record(number, data.get("session_id"), str(error), list(error.fields))


def error_record(line: int, session: Any, message: str, fields: list[str] | None = None) -> str:
    record: dict[str, Any] = {
        "line": line,
        "session_id": session if isinstance(session, str) else None,
        "error": message,
    }
    if fields is not None:
        record["fields"] = fields
    return json.dumps(record, ensure_ascii=False)


def dispatch_lines(
    dispatcher: Dispatcher,
    lines: Iterable[str],
    *,
    viewer: Viewer | None = None,
    catalogs: Catalogs | None = None,
    workers: int = 1,
    first_line: int = 1,
) -> Iterator[Record]:
    """Dispatch every line, yielding one record per line, in input order.

    With ``workers > 1`` the lines are dispatched by that many processes, each rebuilding the
    dispatcher from :meth:`Dispatcher.spec`; the viewer and catalogs travel to them once, pickled.
    ``first_line`` numbers the first line given (when resuming after lines already done).
    """
    if workers <= 1:
        prepared = dispatcher.prepare_catalogs(catalogs)
        for number, line in enumerate(lines, start=first_line):
            yield dispatch_line(dispatcher, number, line.rstrip("\r\n"), prepared, viewer)
        return
    for block in dispatch_blocks(
        dispatcher, lines, viewer=viewer, catalogs=catalogs, workers=workers, first_line=first_line
    ):
        # Not splitlines(): a record may hold U+2028 and the like, which JSON leaves unescaped.
        yield from zip(block.data.decode().split("\n")[:-1], block.kinds, strict=True)


@dataclass(frozen=True, slots=True)
class Block:
    """The records of consecutive lines: JSON Lines, each ending in a newline, encoded as UTF-8, and
    each record's kind (see :data:`Record`)."""

    data: bytes
    kinds: tuple[str, ...]


def dispatch_blocks(
    dispatcher: Dispatcher,
    lines: Iterable[str],
    *,
    viewer: Viewer | None = None,
    catalogs: Catalogs | None = None,
    workers: int = 1,
    first_line: int = 1,
) -> Iterator[Block]:
    """:func:`dispatch_lines` as blocks of encoded records, ready to write to a binary file.

    One process dispatches and yields line by line. With workers, each worker encodes its chunk's
    records into one block: the parent, which shares the machine's cores with them, then only reads
    lines and writes bytes rather than encoding every report itself.
    """
    if workers <= 1:
        for record, kind in dispatch_lines(dispatcher, lines, viewer=viewer, catalogs=catalogs, first_line=first_line):
            yield Block(_encode(f"{record}\n"), (kind,))
        return
    prepared = dispatcher.prepare_catalogs(catalogs)
    window: deque[Future[_Spooled]] = deque()
    with (
        tempfile.TemporaryDirectory(prefix="profiler-rules-") as spool,
        ProcessPoolExecutor(
            workers, initializer=_start_worker, initargs=(dispatcher.spec(), viewer, prepared, Path(spool))
        ) as pool,
    ):
        for chunk in _chunks(lines, first_line):
            window.append(pool.submit(_work, chunk))
            if len(window) >= workers * CHUNKS_IN_FLIGHT_PER_WORKER:
                yield window.popleft().result().unspool()
        while window:
            yield window.popleft().result().unspool()


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
    # A line may hold a lone surrogate escape ("\\ud800"), which Python's json reads; an error record
    # quoting it back can not be UTF-8. Inside a JSON string its escape is the very same character.
    return records.encode(errors="backslashreplace")


def _chunks(lines: Iterable[str], first_line: int) -> Iterator[tuple[int, list[str]]]:
    """The lines in chunks, each with the number of its first line."""
    iterator = iter(lines)
    start = first_line
    while chunk := list(itertools.islice(iterator, CHUNK_LINES)):
        yield start, chunk
        start += len(chunk)


_worker: tuple[Dispatcher, Catalogs, Viewer | None, Path] | None = None


def _start_worker(spec: DispatcherSpec, viewer: Viewer | None, catalogs: Catalogs, spool: Path) -> None:
    from .dispatcher import Dispatcher

    global _worker
    _worker = (Dispatcher.from_spec(spec), catalogs, viewer, spool)


def _work(chunk: tuple[int, list[str]]) -> _Spooled:
    assert _worker is not None, "the worker was not started"
    dispatcher, catalogs, viewer, spool = _worker
    start, lines = chunk
    records = [
        dispatch_line(dispatcher, number, line.rstrip("\r\n"), catalogs, viewer)
        for number, line in enumerate(lines, start=start)
    ]
    path = spool / f"{start}.jsonl"
    path.write_bytes(_encode("".join(f"{record}\n" for record, _ in records)))
    return _Spooled(path, tuple(kind for _, kind in records))


def records_done(output: Path) -> int:
    """How many whole records an interrupted run left in ``output``; a last line cut short is removed.

    Records are one per input line, so this is also how many input lines to skip on resuming.
    """
    if not output.exists():
        return 0
    with output.open("rb+") as stream:
        data = stream.read()
        whole = data.rfind(b"\n") + 1
        if whole < len(data):
            stream.truncate(whole)
    return data.count(b"\n", 0, whole)
