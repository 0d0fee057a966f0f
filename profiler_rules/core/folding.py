"""Reading many results once, for an engine's answer over all of them: in this process or on several.

An engine's ``aggregate`` receives a :class:`ResultStream`. Iterating it yields validated results; its
:meth:`ResultStream.fold` reduces them with the engine's own ``fold`` function. When the host asked
for workers, each worker process validates and folds a share of the lines into one partial state, and
the engine's ``merge`` combines the partials: for a fold whose answer does not depend on the order of
the results (the dashboards keep each learner's latest result, by time), that is the same answer, in
about half the time on two cores.

Lines travel to the workers in chunks through a bounded queue, so memory stays flat however long the
input; each worker keeps one running state and sends it back once, at the end.
"""

from __future__ import annotations

import itertools
import multiprocessing
import queue
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import InvalidInputError, ProfilerRulesError
from .models import ProfilerResult, validate_input

StateT = TypeVar("StateT")
Fold = Callable[..., StateT]
"""``fold(results, *args) -> state``: reads validated results into a state; module-level, so that a
worker process can import it."""
Merge = Callable[[Sequence[StateT]], StateT]
"""``merge(states) -> state``: combines the states of shares of the results."""

LISTED_PROBLEMS = 20
CHUNK_LINES = 2_000
CHUNKS_IN_FLIGHT_PER_WORKER = 4
_POLL_SECONDS = 1.0


@dataclass
class _Counts:
    """How many results a stream read, how many were invalid, and the first invalid ones, by number."""

    read: int = 0
    invalid: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    def add(self, other: _Counts) -> None:
        self.read += other.read
        self.invalid += other.invalid
        self.problems = sorted(self.problems + other.problems)[:LISTED_PROBLEMS]


class ResultStream:
    """The results given to an engine's ``aggregate``, validated as they are read.

    Invalid results are counted and the first ones named (:meth:`problems`); they never reach the engine.
    """

    def __init__(self, results: Iterable[Any], *, workers: int = 1) -> None:
        self._results = results
        self._workers = workers
        self._counts = _Counts()

    @property
    def read(self) -> int:
        """How many results were given."""
        return self._counts.read

    @property
    def invalid(self) -> int:
        """How many of them failed validation and were left out."""
        return self._counts.invalid

    def problems(self) -> tuple[str, ...]:
        """The first invalid results, each named by its number, then how many more there were."""
        listed = [message for _, message in self._counts.problems]
        more = self._counts.invalid - len(listed)
        return (*listed, *([f"... and {more} more invalid result(s)"] if more > 0 else []))

    def __iter__(self) -> Iterator[ProfilerResult]:
        return _validated(enumerate(self._results, start=1), self._counts)

    def fold(self, fold: Fold[StateT], merge: Merge[StateT], *args: Any) -> StateT:
        """``fold(results, *args)`` over every result; with workers, over shares merged by ``merge``.

        Both must be module-level functions and ``args`` picklable, for the worker processes.
        """
        if self._workers <= 1:
            return fold(iter(self), *args)
        states = _fold_on_workers(self._results, self._workers, self._counts, fold, args)
        return merge(states)


def _validated(numbered: Iterable[tuple[int, Any]], counts: _Counts) -> Iterator[ProfilerResult]:
    for number, raw in numbered:
        counts.read += 1
        try:
            yield validate_input(ProfilerResult, raw, "profiler result")
        except InvalidInputError as error:
            counts.invalid += 1
            if len(counts.problems) < LISTED_PROBLEMS:
                counts.problems.append((number, f"result #{number} left out: {error}"))


def _fold_on_workers(
    results: Iterable[Any], workers: int, counts: _Counts, fold: Fold[StateT], args: tuple[Any, ...]
) -> list[StateT]:
    context = multiprocessing.get_context()
    tasks: Any = context.Queue(maxsize=workers * CHUNKS_IN_FLIGHT_PER_WORKER)
    answers: Any = context.Queue()
    processes = [context.Process(target=_work, args=(tasks, answers, fold, args), daemon=True) for _ in range(workers)]
    for process in processes:
        process.start()
    try:
        for chunk in _chunks(results):
            _put(tasks, chunk, processes)
        for _ in processes:
            _put(tasks, None, processes)  # one end mark per worker
        states = []
        for _ in processes:
            state, share = _answer(answers, processes)
            states.append(state)
            counts.add(share)
        return states
    except BaseException:
        tasks.cancel_join_thread()  # chunks no worker will read must not hold up this process's exit
        raise
    finally:
        for process in processes:
            process.join(timeout=_POLL_SECONDS)
            if process.is_alive():
                process.terminate()


def _chunks(results: Iterable[Any]) -> Iterator[tuple[int, list[Any]]]:
    """The results in chunks, each with the number of its first result (a list pickles faster than pairs)."""
    iterator = iter(results)
    start = 1
    while chunk := list(itertools.islice(iterator, CHUNK_LINES)):
        yield start, chunk
        start += len(chunk)


def _put(tasks: Any, chunk: tuple[int, list[Any]] | None, processes: list[Any]) -> None:
    """Queue a chunk, waiting for room, but never for a worker that has died."""
    while True:
        try:
            tasks.put(chunk, timeout=_POLL_SECONDS)
            return
        except queue.Full:
            _check_alive(processes)


def _answer(answers: Any, processes: list[Any]) -> tuple[Any, _Counts]:
    while True:
        try:
            outcome, payload, share = answers.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            _check_alive(processes)
            continue
        if outcome == "failed":
            raise ProfilerRulesError(f"a worker failed: {payload}")
        return payload, share


def _check_alive(processes: list[Any]) -> None:
    dead = [process for process in processes if process.exitcode not in (None, 0)]
    if dead:
        raise ProfilerRulesError(f"a worker process died (exit code {dead[0].exitcode})")


def _work(tasks: Any, answers: Any, fold: Fold[Any], args: tuple[Any, ...]) -> None:
    """A worker: fold every chunk it is given into one state, and send it back with its counts."""
    counts = _Counts()
    try:
        state = fold(_validated(_lines_of(tasks), counts), *args)
    except Exception as error:  # noqa: BLE001 - sent to the parent, which reports it as the engine's failure
        _drain(tasks)
        answers.put(("failed", f"{type(error).__name__}: {error}", counts))
        return
    answers.put(("done", state, counts))


def _lines_of(tasks: Any) -> Iterator[tuple[int, Any]]:
    while (chunk := tasks.get()) is not None:
        start, results = chunk
        yield from enumerate(results, start=start)


def _drain(tasks: Any) -> None:
    # A fold that stopped early still takes its share of chunks until its end mark, so the parent,
    # which feeds a bounded queue, is never left waiting for room.
    for _ in _lines_of(tasks):
        pass
