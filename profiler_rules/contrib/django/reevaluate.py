"""Re-evaluation: every learner's latest result through the rules again, compared with what is stored.

``manage.py profiler_rules reevaluate`` reads the learners in chunks of ``CHUNK_SIZE`` (in the order
of their user's primary key), runs each result through the engines with no viewer (as completion
does: see :mod:`.decisions` for which answers are kept), and per chunk, in one transaction:

- creates the decisions missing and updates those whose status, output, warnings or error changed
  (one upsert; unchanged rows are left as they are, their rule-set stamp included);
- applies the portfolio entry as the rules say (``keep``: untouched; see :mod:`.portfolio`);
- records how far it got in a :class:`~.models.ReevaluationRun`.

So a run stopped anywhere (Ctrl-C, SIGTERM, ``--max-learners``) resumes after the last chunk it
wrote, when run again under the same rules and engines; other rules, or ``--restart``, start over.
A dry run reads and compares everything and writes nothing, not even its progress. The queries are a
fixed number per chunk and the memory does not grow with the number of learners: the impact summary
keeps counts and a few examples (:mod:`profiler_rules.impact`).
"""

from __future__ import annotations

import sys
from argparse import ArgumentTypeError
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from io import StringIO
from itertools import islice
from typing import Any, ClassVar, TextIO

from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from profiler_rules import Dispatcher, InvalidInputError
from profiler_rules.cli.common import EXIT_USAGE, build_dispatcher, interruptions_caught, uninterrupted, visible
from profiler_rules.cli.common import CommandError as CliError
from profiler_rules.cli.results import print_changes
from profiler_rules.impact import LISTED_INVALID, EngineImpact, Impact, compare_answers

from .conf import app_settings
from .decisions import Decided, decide, stored_decisions, unchanged, write_decisions
from .models import ProfilerDecision, ReevaluationRun
from .portfolio import EntryToApply, PortfolioWriter
from .runtime import get_recorder
from .sources import Learner, result_source


@dataclass
class Tally:
    """What a run did (or, dry, would do), kept up to date chunk by chunk."""

    impact: Impact = field(default_factory=lambda: Impact({}))
    learners: int = 0
    """Learners read by this run (an interrupted run's earlier ones not counted)."""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    portfolio: Counter[str] = field(default_factory=Counter)
    resumed_after: str | None = None
    """The user key the run resumed after, when it did."""
    done_before: int = 0
    """Learners the interrupted run had done, when this one resumed it."""
    last_user_pk: Any = None
    finished: bool = False


class Reevaluation:
    """One run of re-evaluation. Build it, then :meth:`run` it; :attr:`tally` says how far it got."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        engines: Sequence[str] | None = None,
        dry_run: bool = False,
        restart: bool = False,
        max_learners: int | None = None,
    ) -> None:
        """
        :param engines: Only these engines (``None``: all). They must be loaded engines.
        :param max_learners: Read at most this many learners this run; the next run resumes after them.
        """
        self.dispatcher = dispatcher
        self.engines = None if engines is None else tuple(sorted(set(engines)))
        self.dry_run = dry_run
        self.restart = restart
        self.max_learners = max_learners
        self.config = app_settings()
        self.source = result_source()
        self.portfolio = PortfolioWriter(self.config)
        self.tally = Tally()
        self._run: ReevaluationRun | None = None

    def count(self) -> int:
        """How many learners have a result to re-evaluate (one query)."""
        return self.source.count()

    def run(self, on_chunk: Callable[[int], None] | None = None) -> Tally:
        """Re-evaluate every learner (after the interrupted run's last, when resuming).

        :param on_chunk: Called with the number of learners of each chunk done (a progress bar).
        """
        after = self._start()
        learners = self.source.learners(after=after)
        if self.max_learners is not None:
            learners = islice(learners, self.max_learners)
        for chunk in _chunks(learners, self.config["CHUNK_SIZE"]):
            self._chunk(chunk)
            if on_chunk is not None:
                on_chunk(len(chunk))
        self.tally.finished = self.max_learners is None or self.tally.learners < self.max_learners
        if self.tally.finished and self._run is not None:
            self._run.finished_at = timezone.now()
            self._run.save(update_fields=["finished_at"])
        return self.tally

    # -- where to start ----------------------------------------------------------------------------

    @property
    def _engines_key(self) -> str:
        return ",".join(self.engines or ())

    def _start(self) -> Any:
        """The user primary key to start after (``None``: the first learner), recording the run."""
        if self.dry_run:
            return None
        digest = self.dispatcher.ruleset.digest
        # A run on Celery goes on in its workers: it is never resumed here.
        latest = ReevaluationRun.objects.filter(finished_at__isnull=True, on_celery=False).order_by("-pk").first()
        now = timezone.now()
        resumable = (
            latest is not None
            and not self.restart
            and (latest.ruleset_digest, latest.engines) == (digest, self._engines_key)
            and latest.last_user_pk is not None
        )
        if not resumable:
            self._run = ReevaluationRun.objects.create(
                ruleset_digest=digest, engines=self._engines_key, started_at=now, updated_at=now
            )
            return None
        assert latest is not None and latest.last_user_pk is not None
        self._run = latest
        self.tally.resumed_after, self.tally.done_before = latest.last_user_pk, latest.learners_done
        return self._user_pk(latest.last_user_pk)

    def _user_pk(self, text: str) -> Any:
        user_field = self.config.model("session")._meta.get_field(self.config.field("session", "user"))
        return user_field.related_model._meta.pk.to_python(text)

    # -- one chunk ---------------------------------------------------------------------------------

    def _chunk(self, learners: list[Learner]) -> None:
        last = learners[-1].user_pk
        reevaluate_chunk(
            self.dispatcher,
            learners,
            self.tally,
            engines=self.engines,
            portfolio=self.portfolio,
            dry_run=self.dry_run,
            record=lambda counts: self._record(last, counts),
            origin=None if self._run is None else f"reevaluation run {self._run.pk}",
        )
        self.tally.last_user_pk = last

    def _record(self, last_user_pk: Any, counts: ChunkCounts) -> None:
        assert self._run is not None
        self._run.last_user_pk = str(last_user_pk)
        counts.add_to(self._run)
        self._run.updated_at = timezone.now()
        self._run.save(update_fields=["last_user_pk", "updated_at", *ChunkCounts.RUN_FIELDS])


@dataclass(frozen=True)
class ChunkCounts:
    """What deciding one chunk did: its learners, its decisions written or not, its portfolio entries."""

    learners: int
    created: int
    updated: int
    unchanged: int
    invalid: int
    portfolio: Counter[str]

    RUN_FIELDS: ClassVar[tuple[str, ...]] = (
        "learners_done",
        "created",
        "updated",
        "unchanged",
        "invalid",
        "portfolio",
    )
    """The fields of a :class:`~.models.ReevaluationRun` that :meth:`add_to` adds to."""

    def add_to(self, row: Any) -> None:
        """Add these counts to a run row (``learners_done``, ...) or a chunk row (``learners``, ...)."""
        learners = "learners_done" if hasattr(row, "learners_done") else "learners"
        setattr(row, learners, getattr(row, learners) + self.learners)
        for name in ("created", "updated", "unchanged", "invalid"):
            setattr(row, name, getattr(row, name) + getattr(self, name))
        row.portfolio = dict(Counter(row.portfolio or {}) + self.portfolio)


def reevaluate_chunk(
    dispatcher: Dispatcher,
    learners: Sequence[Learner],
    tally: Tally,
    *,
    engines: Sequence[str] | None,
    portfolio: PortfolioWriter,
    dry_run: bool = False,
    record: Callable[[ChunkCounts], None] | None = None,
    origin: str | None = None,
) -> ChunkCounts:
    """Decide ``learners`` and, in one transaction, write the decisions that changed, apply their
    portfolio entries, keep a decision record of each learner whose decisions changed (with
    ``origin``, when the app records: :func:`.runtime.get_recorder`) and ``record`` the chunk's
    counts. The one way a chunk is re-evaluated, in process (:class:`Reevaluation`) and on Celery
    (:mod:`.tasks`), so the two can not drift.

    Inside a caller's transaction (a Celery chunk holds its row's lock in one) this is part of it.
    ``tally`` keeps the counts and the examples of changes across chunks; a dry run writes nothing.
    """
    before = _counted(tally)
    decided = [found for one in learners if (found := _decide(dispatcher, one, engines, tally)) is not None]
    rows = _changed_rows(decided, tally)
    # An auditor reads what a learner was decided, and when, from the records: a re-evaluation that
    # changes a decision is recorded like the completion that made it (an unchanged one is not).
    changed = {row.session_id for row in rows}
    reports = [one.report for one in decided if one.report.session_id in changed]
    entries = [EntryToApply(one.learner, entry) for one in decided if (entry := one.portfolio_entry()) is not None]
    decisions = [now - then for now, then in zip(_counted(tally), before, strict=True)]
    if dry_run:
        counts = ChunkCounts(len(learners), *decisions, Counter(portfolio.plan(entries).outcomes))
    else:
        # A signal waits for the chunk's end: its writes and its progress commit together.
        with uninterrupted(), transaction.atomic(savepoint=False):
            write_decisions(rows)
            counts = ChunkCounts(len(learners), *decisions, Counter(portfolio.apply(entries)))
            recorder = get_recorder()
            if recorder is not None and reports:
                recorder.record_many(
                    reports,
                    ruleset=dispatcher.ruleset,
                    engines=engines,
                    origin=origin,
                    plugin_versions=dispatcher.plugin_versions,
                )
            if record is not None:
                record(counts)
    tally.portfolio.update(counts.portfolio)
    tally.learners += len(learners)
    return counts


def _counted(tally: Tally) -> tuple[int, int, int, int]:
    return tally.created, tally.updated, tally.unchanged, tally.impact.invalid


def _decide(dispatcher: Dispatcher, learner: Learner, engines: Sequence[str] | None, tally: Tally) -> Decided | None:
    impact = tally.impact
    impact.results += 1
    try:
        # Only the decisions are compared and written, never the report's explanations.
        return decide(dispatcher, learner, engines, explain=False)
    except InvalidInputError as error:
        # Counted and named as diff names an invalid line; the message never quotes a protected value.
        impact.invalid += 1
        if len(impact.invalid_examples) < LISTED_INVALID:
            impact.invalid_examples.append(f"session {learner.session.pk} of learner {learner.key}: {error}")
        return None


def _changed_rows(decided: list[Decided], tally: Tally) -> list[ProfilerDecision]:
    """The rows to write: each answer with no stored decision, or another one; counted on the way."""
    names = {name for one in decided for name in one.answers}
    stored = stored_decisions({one.report.session_id for one in decided}, names)
    now = timezone.now()
    rows: list[ProfilerDecision] = []
    for one in decided:
        session = one.report.session_id
        changed = []
        for name, answer in one.answers.items():
            before = stored.get((session, name))
            engine = tally.impact.engines.setdefault(name, EngineImpact())
            if before is None:
                tally.created += 1
            elif unchanged(before, answer):
                tally.unchanged += 1
                continue
            else:
                tally.updated += 1
                compare_answers(engine, before, answer, session)
            changed.append(name)
        rows.extend(one.rows(now, changed))
    return rows


def _chunks(learners: Iterator[Learner], size: int) -> Iterator[list[Learner]]:
    while chunk := list(islice(learners, size)):
        yield chunk


# -- manage.py profiler_rules reevaluate ------------------------------------------------------------


def add_arguments(parser: CommandParser) -> None:
    """The options of ``manage.py profiler_rules reevaluate``."""
    parser.add_argument("--dry-run", action="store_true", help="compare and report; write nothing")
    parser.add_argument(
        "--engine", action="append", metavar="NAME", help="only this engine (repeat for several); default: all"
    )
    parser.add_argument("--rules", metavar="DIR", help="these rules instead of the configured ones")
    parser.add_argument("--restart", action="store_true", help="start from the first learner, not where a run stopped")
    parser.add_argument(
        "--max-learners", type=_positive, metavar="N", help="re-evaluate at most N learners; the next run goes on"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (none when stderr is no terminal)")
    parser.add_argument("--top", type=_positive, default=10, metavar="N", help="changes listed per engine (default 10)")
    parser.add_argument(
        "--celery", action="store_true", help="re-evaluate on the Celery workers, a task per chunk; follow the run"
    )
    parser.add_argument("--no-wait", action="store_true", help="with --celery: print the run's id and return")
    parser.add_argument(
        "--status",
        nargs="?",
        type=_positive,
        const=LATEST,
        metavar="RUN",
        help="show a run's progress and counts (default: the latest run) and return",
    )


LATEST = 0
"""``--status`` without a run: the latest run."""

_NOT_ON_CELERY = ("dry_run", "restart", "max_learners")


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return number


def run_command(options: dict[str, Any], stdout: TextIO, stderr: TextIO) -> None:
    """Run ``reevaluate`` with the command's options, writing its report to ``stdout``: in process, or
    on Celery (``--celery``, :mod:`.runs`), or a run's status (``--status``).

    :raises CommandError: one line: rules that do not load (exit 2, their problems listed first on
        ``stderr``, as ``profiler-rules`` does), an unknown engine (2), invalid results (1, after the
        report), an interruption (128 + the signal's number, saying how far it got).
    """
    if options.get("status") is not None:
        from .runs import status

        status(options["status"] or None, stdout)
        return
    _refuse_mixed(options)
    dispatcher = _dispatcher(options.get("rules"), stderr)
    engines = _engines(dispatcher, options.get("engine"))
    if options.get("celery"):
        from .runs import start_on_celery

        start_on_celery(dispatcher, engines, options, stdout)
        return
    run = Reevaluation(
        dispatcher,
        engines=engines,
        dry_run=options.get("dry_run", False),
        restart=options.get("restart", False),
        max_learners=options.get("max_learners"),
    )
    with interruptions_caught():
        try:
            tally = _run_with_progress(run, options, stdout)
        except KeyboardInterrupt as interruption:
            raise CommandError(_interrupted(run), returncode=getattr(interruption, "code", 130)) from None
    _report(run, tally, options, stdout)
    if tally.impact.invalid:
        raise CommandError(f"{tally.impact.invalid:,} learner result(s) are invalid (listed above)", returncode=1)


def _refuse_mixed(options: dict[str, Any]) -> None:
    """Options that mean nothing together are a usage error, never silently ignored."""
    if options.get("no_wait") and not options.get("celery"):
        raise CommandError("--no-wait goes with --celery", returncode=EXIT_USAGE)
    given = [f"--{name.replace('_', '-')}" for name in _NOT_ON_CELERY if options.get(name)]
    if options.get("celery") and given:
        raise CommandError(f"--celery does not take {', '.join(given)}", returncode=EXIT_USAGE)


def _dispatcher(rules: str | None, stderr: TextIO) -> Dispatcher:
    directory = rules if rules is not None else app_settings()["RULES_DIR"]
    try:
        with redirect_stderr(stderr):  # the rules' problems, one line each, as the CLI prints them
            return build_dispatcher(None if directory is None else str(directory))
    except CliError as error:
        raise CommandError(str(error), returncode=error.code) from None


def _engines(dispatcher: Dispatcher, names: list[str] | None) -> list[str] | None:
    unknown = [name for name in names or () if name not in dispatcher.engines]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        known = ", ".join(dispatcher.engines)
        raise CommandError(f"--engine: no engine named {listed} (engines: {known})", returncode=EXIT_USAGE)
    return names


def _run_with_progress(run: Reevaluation, options: dict[str, Any], stdout: TextIO) -> Tally:
    total = run.count()
    stamp = run.dispatcher.ruleset.stamp
    rules = options.get("rules") or app_settings()["RULES_DIR"] or "the packaged rules"
    version = f", version {stamp.version}" if stamp.version else ""
    only = f"; engines: {', '.join(run.engines)}" if run.engines else ""
    dry = " (dry run: nothing is written)" if run.dry_run else ""
    _line(stdout, visible(f"{total:,} learner(s) under {rules} ({stamp.digest[:19]}…{version}){only}{dry}"))
    # tqdm writes to the process's stderr (it rewrites its line) and stays quiet when that is no terminal.
    disable = True if options.get("no_progress") else None
    with tqdm(total=total, desc="reevaluate", unit=" learners", file=sys.stderr, disable=disable, leave=False) as bar:
        started = False

        def advance(learners: int) -> None:
            nonlocal started
            if not started and run.tally.done_before:
                bar.update(run.tally.done_before)
            started = True
            bar.update(learners)

        tally = run.run(on_chunk=advance)
    return tally


def _report(run: Reevaluation, tally: Tally, options: dict[str, Any], stdout: TextIO) -> None:
    if tally.resumed_after is not None:
        _line(
            stdout,
            visible(
                f"resumed after user {tally.resumed_after}: {tally.done_before:,} learner(s) were done by the "
                "interrupted run under the same rules"
            ),
        )
    printed = StringIO()
    with redirect_stdout(printed):
        print_changes(tally.impact.as_dict(options.get("top", 10)))
    stdout.write(printed.getvalue())
    verb = "would be " if run.dry_run else ""
    _line(
        stdout,
        f"decisions: {tally.created:,} {verb}created, {tally.updated:,} {verb}updated, {tally.unchanged:,} unchanged",
    )
    outcomes = ", ".join(f"{tally.portfolio[name]:,} {name}" for name in PORTFOLIO_OUTCOMES)
    _line(stdout, f"portfolio entries{' (dry run)' if run.dry_run else ''}: {outcomes}")
    if not tally.finished:
        stopped = f"stopped after {tally.learners:,} learner(s) (--max-learners); "
        going_on = (
            "a dry run keeps no progress" if run.dry_run else f"run again to go on after user {tally.last_user_pk}"
        )
        _line(stdout, visible(stopped + going_on))


def _line(stdout: TextIO, text: str) -> None:
    # Whole lines: Django's OutputWrapper adds a line end only to text that has none.
    stdout.write(text + "\n")


def _interrupted(run: Reevaluation) -> str:
    tally = run.tally
    if run.dry_run:
        return f"interrupted after {tally.learners:,} learner(s); a dry run keeps no progress"
    if tally.last_user_pk is None:
        return "interrupted before the first chunk was written; nothing was changed"
    return visible(
        f"interrupted after {tally.learners:,} learner(s), the last written user {tally.last_user_pk}; "
        "run the same command again to resume after it"
    )


PORTFOLIO_OUTCOMES = ("created", "replaced", "unchanged", "kept", "older")
"""The outcomes of :class:`~.portfolio.PortfolioWriter`, in the order the report lists them."""

__all__ = ["ChunkCounts", "Reevaluation", "Tally", "add_arguments", "reevaluate_chunk", "run_command"]
