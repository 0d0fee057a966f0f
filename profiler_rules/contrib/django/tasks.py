"""Re-evaluation on Celery: a run's learners split into chunks of user keys, one task message each.

``manage.py profiler_rules reevaluate --celery`` calls :func:`start_run`: it records a
:class:`~.models.ReevaluationRun` holding the rules' spec (:meth:`Dispatcher.spec`, as JSON) and
digest, one :class:`~.models.ReevaluationChunk` row per ``CELERY_CHUNK_SIZE`` user keys, and then sends
one :func:`reevaluate_chunk` message per chunk carrying (run id, chunk index, user keys as text): never
model objects, no chord, no group, no result (``ignore_result``: a result backend is not needed).

A worker (the host's own Celery app finds these tasks with ``autodiscover_tasks()``) handles a message
in one transaction: it locks the chunk's row; a chunk that is not pending was handled by an earlier
delivery, and nothing is done or counted again. Otherwise it reads the learners (a fixed number of
queries), decides them as the in-process run does (:func:`~.reevaluate.reevaluate_chunk`), writes the
changed decisions and portfolio entries, marks the chunk done with its counts, and adds them to the
run's row under that row's lock; the chunk that completes the run marks it finished.

Messages are acknowledged late (``acks_late``, ``reject_on_worker_lost``): a worker killed mid-chunk
rolls its transaction back and its message is delivered again, to another worker. The host's worker
needs ``worker_prefetch_multiplier = 1`` and, on Redis, a ``visibility_timeout`` longer than a chunk
takes (the README's Django section).

Each worker process rebuilds the dispatcher once per run's spec (:meth:`Dispatcher.from_spec`), which
refuses rules whose digest is no longer the run's: the chunk is marked failed with that reason, once,
and the run shows it; it is not retried.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace
from itertools import islice
from pathlib import Path
from typing import Any

from celery import shared_task
from celery.utils.log import get_task_logger
from django.db import DatabaseError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from profiler_rules import Dispatcher
from profiler_rules.core.dispatcher import DispatcherSpec
from profiler_rules.core.errors import ProfilerRulesError

from .conf import MIN_CELERY_CHUNK_SIZE, app_settings
from .models import ReevaluationChunk, ReevaluationRun
from .portfolio import PortfolioWriter
from .reevaluate import ChunkCounts, Tally, reevaluate_chunk
from .sources import result_source

logger = get_task_logger(__name__)

DATABASE_RETRIES = 3
"""How many times a chunk whose transaction the database failed is tried again before it is failed."""

TASK_NAME = "profiler_rules.reevaluate_chunk"
"""The task's name in messages: fixed, so that moving the module never strands queued messages."""


class ChunkSizeError(ValueError):
    """``PROFILER_RULES["CELERY_CHUNK_SIZE"]`` is below :data:`~.conf.MIN_CELERY_CHUNK_SIZE`."""


# -- starting a run ---------------------------------------------------------------------------------


def create_run(
    dispatcher: Dispatcher, engines: Sequence[str] | None = None
) -> tuple[ReevaluationRun, list[tuple[int, list[str]]]]:
    """Record a run on Celery and its chunks; return the run and each chunk's (index, user keys), for
    :func:`send`.

    The user keys are read in one streamed query and the chunk rows written in bulk, all in one
    transaction: a worker never sees a run without all its chunks.

    :raises ChunkSizeError: when ``CELERY_CHUNK_SIZE`` is below 1,000.
    :raises ProfilerRulesError: when the dispatcher can not be described by a spec (a plugin object
        that is no module).
    """
    size = app_settings()["CELERY_CHUNK_SIZE"]
    if size < MIN_CELERY_CHUNK_SIZE:
        raise ChunkSizeError(
            f'PROFILER_RULES["CELERY_CHUNK_SIZE"] is {size}; a message carries at least {MIN_CELERY_CHUNK_SIZE:,} '
            "user keys, so that its cost stays a small share of the chunk's work"
        )
    spec = dispatcher.spec()
    if spec.rules is not None:  # the workers' working directory is not this command's
        spec = replace(spec, rules=str(Path(spec.rules).resolve()))
    now = timezone.now()
    with transaction.atomic():
        run = ReevaluationRun.objects.create(
            ruleset_digest=dispatcher.ruleset.digest,
            engines=",".join(sorted(set(engines or ()))),
            started_at=now,
            updated_at=now,
            on_celery=True,
            spec=spec_as_json(spec),
        )
        chunks = list(enumerate(_split((str(pk) for pk in result_source().user_pks()), size)))
        ReevaluationChunk.objects.bulk_create(
            [
                ReevaluationChunk(run=run, index=index, first_user_pk=keys[0], last_user_pk=keys[-1], size=len(keys))
                for index, keys in chunks
            ],
            batch_size=1000,
        )
        run.learners_total = sum(len(keys) for _, keys in chunks)
        run.chunks_total = len(chunks)
        if not chunks:  # nobody to re-evaluate: the run is over as it starts
            run.finished_at = now
        run.save(update_fields=["learners_total", "chunks_total", "finished_at"])
    return run, chunks


class SendError(Exception):
    """The broker refused or could not be reached; ``sent`` messages went out before."""

    def __init__(self, sent: int, reason: str) -> None:
        super().__init__(reason)
        self.sent, self.reason = sent, reason


def send(run_id: int, chunks: Sequence[tuple[int, list[str]]], queue: str | None = None) -> None:
    """Send one :func:`reevaluate_chunk_task` message per chunk (to ``queue``, or the app's routing).

    :raises SendError: when the broker can not be reached (after Celery's own retries).
    """
    options = {} if queue is None else {"queue": queue}
    for sent, (index, keys) in enumerate(chunks):
        try:
            reevaluate_chunk_task.apply_async((run_id, index, keys), **options)
        except OperationalError as error:
            raise SendError(sent, str(error) or type(error).__name__) from error


def start_run(dispatcher: Dispatcher, engines: Sequence[str] | None = None) -> ReevaluationRun:
    """Record a run on Celery and send its chunks to ``PROFILER_RULES["CELERY_QUEUE"]``."""
    run, chunks = create_run(dispatcher, engines)
    send(run.pk, chunks, app_settings()["CELERY_QUEUE"])
    return run


def _split(keys: Iterator[str], size: int) -> Iterator[list[str]]:
    while chunk := list(islice(keys, size)):
        yield chunk


def spec_as_json(spec: DispatcherSpec) -> dict[str, Any]:
    """A dispatcher's spec as JSON values, for the run's row."""
    return asdict(spec)


def spec_from_json(value: dict[str, Any]) -> DispatcherSpec:
    """The spec :func:`spec_as_json` stored (JSON has lists where the spec has tuples)."""
    return DispatcherSpec(
        rules=value["rules"],
        plugins=tuple(value["plugins"]),
        entry_points=value["entry_points"],
        environ=tuple((name, text) for name, text in value["environ"]),
        digest=value["digest"],
    )


# -- one chunk, in a worker -------------------------------------------------------------------------


@shared_task(
    name=TASK_NAME,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def reevaluate_chunk_task(task: Any, run_id: int, index: int, user_keys: list[str]) -> None:
    """Decide and write chunk ``index`` of run ``run_id``: the learners of ``user_keys`` (see the module).

    A database error rolls the chunk back and the message is tried again, a few times, waiting longer
    each time; then the chunk is marked failed, so that the run ends and shows why.
    """
    worker = getattr(task.request, "hostname", None) or ""
    try:
        handle_chunk(run_id, index, user_keys, worker=worker)
    except DatabaseError as error:
        if task.request.retries < DATABASE_RETRIES:
            raise task.retry(exc=error, countdown=2**task.request.retries) from None
        _fail(run_id, index, f"the database failed {DATABASE_RETRIES + 1} times; the last: {error}", worker)


def handle_chunk(run_id: int, index: int, user_keys: list[str], *, worker: str = "") -> ChunkCounts | None:
    """The work of one message; ``None`` when the chunk was handled before (or its run is gone).

    :raises django.db.DatabaseError: when the database fails; the chunk's transaction is rolled back.
    """
    run = ReevaluationRun.objects.filter(pk=run_id).only("spec", "engines").first()
    if run is None or run.spec is None:
        logger.warning("re-evaluation run %s is gone; chunk %s dropped", run_id, index)
        return None
    try:
        dispatcher = _dispatcher(run.spec)
    except (ProfilerRulesError, ImportError) as error:  # the rules changed, or no longer load, or a plugin
        _fail(run_id, index, str(error), worker)
        return None
    engines = tuple(run.engines.split(",")) if run.engines else None
    started = time.perf_counter()
    with transaction.atomic():
        chunk = ReevaluationChunk.objects.select_for_update().filter(run_id=run_id, index=index).first()
        if chunk is None or chunk.state != ReevaluationChunk.PENDING:
            return None  # handled by an earlier delivery of the same message
        learners = result_source().learners_of(user_keys)
        counts = reevaluate_chunk(
            dispatcher,
            learners,
            Tally(),
            engines=engines,
            portfolio=PortfolioWriter(app_settings()),
            origin=f"reevaluation run {run_id}",
        )
        counts.add_to(chunk)
        chunk.state, chunk.worker, chunk.finished_at = ReevaluationChunk.DONE, worker[:200], timezone.now()
        chunk.seconds = time.perf_counter() - started
        chunk.save()
        _count_in_run(run_id, counts)
    return counts


def _fail(run_id: int, index: int, reason: str, worker: str) -> None:
    with transaction.atomic():
        chunk = ReevaluationChunk.objects.select_for_update().filter(run_id=run_id, index=index).first()
        if chunk is None or chunk.state != ReevaluationChunk.PENDING:
            return
        chunk.state, chunk.error, chunk.worker, chunk.finished_at = (
            ReevaluationChunk.FAILED,
            reason,
            worker[:200],
            timezone.now(),
        )
        chunk.save(update_fields=["state", "error", "worker", "finished_at"])
        _count_in_run(run_id, None, failure=reason)
    logger.error("re-evaluation run %s, chunk %s failed: %s", run_id, index, reason)


def _count_in_run(run_id: int, counts: ChunkCounts | None, failure: str = "") -> None:
    """Add a chunk's outcome to its run, under the run row's lock; the last chunk finishes the run."""
    run = ReevaluationRun.objects.select_for_update().get(pk=run_id)
    if counts is None:
        run.chunks_failed += 1
        run.failure = run.failure or failure
    else:
        counts.add_to(run)
        run.chunks_done += 1
    run.updated_at = timezone.now()
    if run.chunks_done + run.chunks_failed >= run.chunks_total:
        run.finished_at = run.updated_at
    run.save()


# Dispatchers rebuilt in this process, by the spec's JSON (its digest included): built once per
# worker process and run, not once per message. A few runs' worth at most.
_DISPATCHERS: dict[str, Dispatcher] = {}
_KEPT_DISPATCHERS = 4


def _dispatcher(spec: dict[str, Any]) -> Dispatcher:
    key = json.dumps(spec, sort_keys=True)
    found = _DISPATCHERS.get(key)
    if found is None:
        found = Dispatcher.from_spec(spec_from_json(spec))
        if len(_DISPATCHERS) >= _KEPT_DISPATCHERS:
            _DISPATCHERS.pop(next(iter(_DISPATCHERS)))
        _DISPATCHERS[key] = found
    return found


__all__ = [
    "ChunkSizeError",
    "SendError",
    "TASK_NAME",
    "create_run",
    "handle_chunk",
    "reevaluate_chunk_task",
    "send",
    "spec_as_json",
    "spec_from_json",
    "start_run",
]
