"""``reevaluate --celery`` and ``reevaluate --status``: start a run on Celery, follow it, show any run.

A run on Celery goes on in the workers whatever this command does: following it only reads its row
once a second (a progress bar on a terminal), and Ctrl-C stops the following, not the run. Its row
holds the progress and the final counts, so ``--status RUN`` shows them at any time, also long after.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from django.core.management.base import CommandError
from tqdm import tqdm

from profiler_rules import Dispatcher
from profiler_rules.cli.common import EXIT_USAGE, interruptions_caught, uninterrupted, visible

from .conf import app_settings
from .models import ReevaluationChunk, ReevaluationRun
from .reevaluate import PORTFOLIO_OUTCOMES

POLL_SECONDS = 1.0
"""How often a followed run's row is read."""

FAILED_LISTED = 10
"""The failed chunks a status names, at most."""


def start_on_celery(
    dispatcher: Dispatcher, engines: Sequence[str] | None, options: dict[str, Any], stdout: TextIO
) -> None:
    """Start a run on Celery, print its id, and follow it to its end unless ``--no-wait``.

    :raises CommandError: one line: Celery not installed or no Celery app loaded (exit 2), a chunk size
        below 1,000 (2), a broker that can not be reached (1), chunks that failed or invalid results (1),
        Ctrl-C while following (130; the run goes on).
    """
    tasks = _tasks_module()
    run: ReevaluationRun | None = None
    with interruptions_caught():
        try:
            # Recorded and every message sent, or nothing: an interruption waits for the end of this.
            with uninterrupted():
                run = _start(tasks, dispatcher, engines, stdout)
            if options.get("no_wait"):
                _line(stdout, f"not waiting; 'manage.py profiler_rules reevaluate --status {run.pk}' shows it")
                return
            _fail_on_problems(follow(run.pk, stdout, progress=not options.get("no_progress")))
        except KeyboardInterrupt as interruption:
            raise CommandError(_stopped(run), returncode=getattr(interruption, "code", 130)) from None


def _start(tasks: Any, dispatcher: Dispatcher, engines: Sequence[str] | None, stdout: TextIO) -> ReevaluationRun:
    try:
        run, chunks = tasks.create_run(dispatcher, engines)
    except tasks.ChunkSizeError as error:
        raise CommandError(str(error), returncode=EXIT_USAGE) from None
    try:
        tasks.send(run.pk, chunks, app_settings()["CELERY_QUEUE"])
    except tasks.SendError as error:
        raise CommandError(_unsent(run, error), returncode=1) from None
    size = app_settings()["CELERY_CHUNK_SIZE"]
    _line(
        stdout,
        visible(
            f"run {run.pk}: {run.learners_total:,} learner(s) in {run.chunks_total:,} chunk(s) of up to "
            f"{size:,}, sent to the Celery workers, under {run.ruleset_digest[:19]}…"
        ),
    )
    return run


def _stopped(run: ReevaluationRun | None) -> str:
    if run is None:
        return "interrupted before the run was recorded; nothing was changed"
    return (
        f"stopped following run {run.pk}; it goes on in the workers: "
        f"'manage.py profiler_rules reevaluate --status {run.pk}' shows it"
    )


def _tasks_module() -> Any:
    try:
        from celery import current_app
    except ModuleNotFoundError:
        raise CommandError(
            "--celery needs Celery: install profiler-rules[celery] (Celery and its Redis transport)",
            returncode=EXIT_USAGE,
        ) from None
    if current_app.main == "default":  # Celery's fallback app: the host's app was never imported
        raise CommandError(
            "--celery: no Celery app is loaded; import yours in your project's __init__.py "
            "(Celery's Django layout: 'from .celery import app as celery_app')",
            returncode=EXIT_USAGE,
        )
    from . import tasks

    return tasks


def _unsent(run: ReevaluationRun, error: Any) -> str:
    if error.sent == 0:
        run.delete()  # nothing reached a worker: the run never started
        return f"--celery: the Celery broker can not be reached, nothing was sent: {error.reason}"
    run.failure = f"only {error.sent:,} of {run.chunks_total:,} chunk message(s) were sent: {error.reason}"
    run.save(update_fields=["failure"])
    return f"run {run.pk}: {run.failure}; run it again once the broker is back ('--status {run.pk}' shows it)"


def follow(run_id: int, stdout: TextIO, *, progress: bool = True) -> ReevaluationRun:
    """Show run ``run_id``'s progress until it is finished, then its status; return its row."""
    run = ReevaluationRun.objects.get(pk=run_id)
    disable = None if progress else True  # tqdm stays quiet when stderr is no terminal
    with tqdm(
        total=run.learners_total, desc=f"run {run_id}", unit=" learners", file=sys.stderr, disable=disable
    ) as bar:
        while run.finished_at is None:
            time.sleep(POLL_SECONDS)
            run.refresh_from_db()
            bar.update(run.learners_done - bar.n)
    show(run, stdout)
    return run


def status(run_id: int | None, stdout: TextIO) -> None:
    """Print the status of run ``run_id`` (``None``: the latest run), finished or not.

    :raises CommandError: when there is no such run (exit 1).
    """
    runs = ReevaluationRun.objects.order_by("-pk")
    run = runs.first() if run_id is None else runs.filter(pk=run_id).first()
    if run is None:
        raise CommandError("no re-evaluation run yet" if run_id is None else f"no re-evaluation run {run_id}")
    show(run, stdout)


def show(run: ReevaluationRun, stdout: TextIO) -> None:
    """A run's progress and counts, a few lines."""
    kind = "on Celery" if run.on_celery else "in process"
    engines = run.engines.replace(",", ", ") or "all"
    _line(stdout, visible(f"run {run.pk} ({kind}) under {run.ruleset_digest[:19]}…; engines: {engines}"))
    started = run.started_at.strftime("%Y-%m-%d %H:%M:%S %Z")
    if run.finished_at is not None:
        took = (run.finished_at - run.started_at).total_seconds()
        _line(stdout, f"started {started}, finished after {took:,.1f} s")
    else:
        _line(stdout, f"started {started}, not finished (last progress {run.updated_at:%H:%M:%S})")
    if run.on_celery:
        pending = run.chunks_total - run.chunks_done - run.chunks_failed
        _line(
            stdout,
            f"chunks: {run.chunks_total:,} ({run.chunks_done:,} done, {run.chunks_failed:,} failed, {pending:,} pending)",
        )
        _line(stdout, f"learners: {run.learners_done:,} of {run.learners_total or 0:,}")
    else:
        _line(stdout, visible(f"learners: {run.learners_done:,} (the last written user {run.last_user_pk})"))
    _line(
        stdout,
        f"decisions: {run.created:,} created, {run.updated:,} updated, {run.unchanged:,} unchanged; "
        f"{run.invalid:,} invalid result(s)",
    )
    outcomes = ", ".join(f"{(run.portfolio or {}).get(name, 0):,} {name}" for name in PORTFOLIO_OUTCOMES)
    _line(stdout, f"portfolio entries: {outcomes}")
    if run.failure:
        _line(stdout, visible(f"failed: {run.failure}"))
    for chunk in run.chunks.filter(state=ReevaluationChunk.FAILED).order_by("index")[:FAILED_LISTED]:
        _line(
            stdout, visible(f"  chunk {chunk.index} (users {chunk.first_user_pk}..{chunk.last_user_pk}): {chunk.error}")
        )


def _fail_on_problems(run: ReevaluationRun) -> None:
    if run.chunks_failed:
        raise CommandError(f"run {run.pk}: {run.chunks_failed:,} chunk(s) failed (listed above)", returncode=1)
    if run.invalid:
        raise CommandError(f"run {run.pk}: {run.invalid:,} learner result(s) are invalid", returncode=1)


def _line(stdout: TextIO, text: str) -> None:
    stdout.write(text + "\n")


__all__ = ["follow", "show", "start_on_celery", "status"]
