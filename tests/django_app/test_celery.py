"""Re-evaluation on Celery: chunks of user keys, each decided once whatever the deliveries, a worker
killed mid-chunk losing nothing, rules changed since the run started refused.

The chunk tests call the task in process (on SQLite and PostgreSQL); the worker tests start Redis'
real Celery workers (subprocesses) on PostgreSQL, and are skipped, saying why, without both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from profiler_rules import Dispatcher
from tests.conftest import edit

pytest.importorskip("celery")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_HOST = ROOT / "examples" / "django_host"

#: Every cap one higher: every learner's missions decision changes.
RAISED_LEVELS = (
    ("novice: 1", "novice: 2"),
    ("beginner: 1", "beginner: 2"),
    ("intermediate: 2", "intermediate: 3"),
    ("advanced: 3", "advanced: 4"),
    ("elite: 4", "elite: 5"),
    ("default_max_difficulty: 1", "default_max_difficulty: 2"),
)


def _raise_levels(rules: Path) -> None:
    for old, new in RAISED_LEVELS:
        edit(rules / "missions.yaml", old, new)


def _learners(count: int, capture: Any) -> None:
    from django_host import factories as make

    with capture(execute=True):
        for _ in range(count):
            make.session(make.user("student"))


def _rows() -> list[tuple[Any, ...]]:
    """Every decision and portfolio entry, as values (decided_at and updated_at included)."""
    from dashboard.models import PortfolioItem

    from profiler_rules.contrib.django.models import ProfilerDecision

    decisions = ProfilerDecision.objects.values_list(
        "session_id", "engine", "status", "output", "ruleset_digest", "decided_at"
    )
    entries = PortfolioItem.objects.values_list("pk", "summary", "updated_at")
    return sorted(decisions) + sorted(entries)


def _counts(run: Any) -> tuple[Any, ...]:
    run.refresh_from_db()
    return (
        run.learners_done,
        run.created,
        run.updated,
        run.unchanged,
        run.invalid,
        run.portfolio,
        run.chunks_done,
        run.chunks_failed,
        run.finished_at,
    )


# -- one chunk, in process ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_chunk_delivered_twice_changes_and_counts_nothing_the_second_time(
    rules_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    from profiler_rules.contrib.django.models import ProfilerDecision
    from profiler_rules.contrib.django.tasks import create_run, reevaluate_chunk_task

    _learners(3, django_capture_on_commit_callbacks)
    _raise_levels(rules_dir)
    run, chunks = create_run(Dispatcher.from_rules(rules_dir))
    assert [len(keys) for _, keys in chunks] == [3] and run.chunks_total == 1
    ((index, keys),) = chunks

    reevaluate_chunk_task(run.pk, index, keys)
    first = _counts(run)
    rows = _rows()
    assert first[:4] == (3, 0, 3, 12), "3 learners: missions updated, the 4 other engines unchanged"
    assert (first[6], first[7]) == (1, 0) and first[8] is not None, "the last chunk finishes the run"
    missions = ProfilerDecision.objects.filter(engine="missions")
    assert {row.ruleset_digest for row in missions} == {run.ruleset_digest}

    reevaluate_chunk_task(run.pk, index, keys)  # the same message again: a redelivery
    assert _counts(run) == first
    assert _rows() == rows
    chunk = run.chunks.get()
    assert (chunk.state, chunk.learners, chunk.updated) == ("done", 3, 3)


@pytest.mark.django_db
def test_rules_changed_since_the_run_started_fail_the_chunk_and_write_nothing(
    rules_dir: Path, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from profiler_rules.contrib.django.tasks import create_run, reevaluate_chunk_task

    _learners(2, django_capture_on_commit_callbacks)
    monkeypatch.chdir(rules_dir.parent)
    run, [(index, keys)] = create_run(Dispatcher.from_rules(rules_dir.name))
    assert run.spec["rules"] == str(rules_dir.resolve()), "workers find the rules from any directory"
    monkeypatch.chdir(ROOT)
    _raise_levels(rules_dir)  # after the run started: its workers must not decide under these
    before = _rows()

    reevaluate_chunk_task(run.pk, index, keys)
    assert _rows() == before
    counts = _counts(run)
    assert counts[:5] == (0, 0, 0, 0, 0)
    assert (run.chunks_done, run.chunks_failed) == (0, 1) and run.finished_at is not None
    assert "changed since the spec was made" in run.failure
    assert "changed since the spec was made" in run.chunks.get().error

    reevaluate_chunk_task(run.pk, index, keys)  # delivered again: still failed, once, not retried
    assert _counts(run) == counts

    printed = StringIO()
    call_command("profiler_rules", "reevaluate", "--status", str(run.pk), stdout=printed)
    assert f"run {run.pk} (on Celery)" in printed.getvalue()
    assert "chunks: 1 (0 done, 1 failed, 0 pending)" in printed.getvalue()
    assert "failed: the rules at" in printed.getvalue()


@pytest.mark.django_db
def test_chunks_split_the_learners_by_user_key_and_a_chunk_reads_only_its_own(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from profiler_rules.contrib.django.models import ReevaluationChunk
    from profiler_rules.contrib.django.sources import result_source
    from profiler_rules.contrib.django.tasks import create_run, handle_chunk

    _learners(5, django_capture_on_commit_callbacks)
    with override_settings(PROFILER_RULES={"CELERY_CHUNK_SIZE": 1000}):
        run, chunks = create_run(Dispatcher.from_rules(None), engines=["missions"])
    keys = chunks[0][1]
    assert keys == sorted(keys, key=int) and len(keys) == 5
    # The learners of a message are read in a fixed number of queries, whatever their number.
    source = result_source()
    with CaptureQueriesContext(connection) as five:
        assert [learner.user_pk for learner in source.learners_of(keys)] == [int(key) for key in keys]
    with CaptureQueriesContext(connection) as two:
        assert len(source.learners_of(keys[:2])) == 2
    assert len(five) == len(two) <= 5
    # A message of two learners' keys: the chunk decides those two only.
    counts = handle_chunk(run.pk, 0, keys[:2])
    assert counts is not None and (counts.learners, counts.unchanged) == (2, 2), "missions only, unchanged"
    assert ReevaluationChunk.objects.get(run=run).state == "done"
    assert _counts(run)[0] == 2


@pytest.mark.django_db
def test_the_command_refuses_what_it_can_not_do_in_one_line(rules_dir: Path) -> None:
    def error(*args: str) -> tuple[str, int]:
        with pytest.raises(CommandError) as raised:
            call_command("profiler_rules", "reevaluate", "--no-progress", *args, stdout=StringIO(), stderr=StringIO())
        return str(raised.value), raised.value.returncode

    assert error("--status") == ("no re-evaluation run yet", 1)
    assert error("--status", "7") == ("no re-evaluation run 7", 1)
    assert error("--celery", "--dry-run", "--restart") == ("--celery does not take --dry-run, --restart", 2)
    assert error("--no-wait") == ("--no-wait goes with --celery", 2)
    with override_settings(PROFILER_RULES={"CELERY_CHUNK_SIZE": 999}):
        message, code = error("--celery")
    assert code == 2 and 'PROFILER_RULES["CELERY_CHUNK_SIZE"] is 999' in message


def test_the_system_checks_refuse_a_chunk_below_1000_ids_and_a_queue_that_is_no_name() -> None:
    from django.core.checks import run_checks

    with override_settings(PROFILER_RULES={"CELERY_CHUNK_SIZE": 500, "CELERY_QUEUE": 7}):
        found = [(message.id, message.msg) for message in run_checks(tags=["profiler_rules"])]
    assert (
        "profiler_rules.E009",
        "PROFILER_RULES['CELERY_CHUNK_SIZE'] must be an integer of at least 1,000; it is 500",
    ) in found
    assert ("profiler_rules.E009", "PROFILER_RULES['CELERY_QUEUE'] must be a queue name, or None; it is 7") in found
    with override_settings(PROFILER_RULES={"CELERY_CHUNK_SIZE": 1000, "CELERY_QUEUE": "reevaluation"}):
        assert not [message for message in run_checks(tags=["profiler_rules"]) if message.id == "profiler_rules.E009"]


def test_an_unreachable_broker_is_one_line_and_leaves_no_run(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(EXAMPLE_HOST), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "django_host.settings",
        "EXAMPLE_HOST_DATABASE": "sqlite",
        "EXAMPLE_HOST_SQLITE": str(tmp_path / "db.sqlite3"),
        "CELERY_BROKER_URL": f"redis+socket://{tmp_path / 'nobody-listens.sock'}",
    }

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, str(EXAMPLE_HOST / "manage.py"), *args]
        return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    assert manage("migrate", "-v0").returncode == 0
    assert manage("seed_platform", "--learners", "3").returncode == 0
    sent = manage("profiler_rules", "reevaluate", "--celery")
    assert sent.returncode == 1, sent.stderr
    assert sent.stderr.startswith(
        "profiler_rules: error: --celery: the Celery broker can not be reached, nothing was sent: "
    )
    assert sent.stderr.count("\n") == 1 and "Traceback" not in sent.stderr
    shown = manage("profiler_rules", "reevaluate", "--status")
    assert shown.stderr == "profiler_rules: error: no re-evaluation run yet\n", "the run that never started is gone"


# -- real workers on PostgreSQL ----------------------------------------------------------------------

BROKER = os.environ.get("CELERY_BROKER_URL")
needs_workers = pytest.mark.skipif(
    BROKER is None or os.environ.get("EXAMPLE_HOST_DATABASE") != "postgresql",
    reason='needs a Redis broker (CELERY_BROKER_URL: eval "$(.ci/redis start DIR)") and PostgreSQL '
    "(EXAMPLE_HOST_DATABASE=postgresql), as .ci/run's second pass has",
)

LEARNERS = 4000
CHUNK = 1000


class Workers:
    """Real ``celery -A django_host worker`` processes on one queue of their own, stopped at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.queue = f"profiler-rules-test-{uuid.uuid4().hex[:12]}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(EXAMPLE_HOST), str(ROOT)]),
            "DJANGO_SETTINGS_MODULE": "django_host.settings",
            "EXAMPLE_HOST_DATABASE": "postgresql",
            "PGDATABASE": connection.settings_dict["NAME"],  # the test database
            "PROFILER_RULES_CELERY_QUEUE": self.queue,
            # Short, so that the killed worker's message comes back within the test.
            "CELERY_VISIBILITY_TIMEOUT": "5",
            "CELERY_RESTORE_INTERVAL": "1",
        }

    def start(self, name: str) -> None:
        log = (self.directory / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "django_host",
                "worker",
                "--pool",
                "solo",
                "-Q",
                self.queue,
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],
            cwd=EXAMPLE_HOST,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        """Until every worker started says it is ready (a run started before would find one alone)."""

        def logs() -> str:
            return "\n".join(f"--- {name}\n{self.log(name)[-3000:]}" for name in self.processes)

        _wait(lambda: all(" ready." in self.log(name) for name in self.processes), 120, "a worker not ready", logs)

    def log(self, name: str) -> str:
        return (self.directory / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    try:
        yield started
    finally:
        started.stop()
        _purge(started.queue)


def _purge(queue: str) -> None:
    from django_host.celery import app

    with app.connection_for_write() as broker:
        broker.default_channel.queue_purge(queue)


@contextmanager
def _slowed() -> Iterator[None]:
    """Every statement inserting decisions takes a second longer: a chunk takes long enough for a worker
    to be killed in the middle of it (its transaction open, its chunk row locked)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION profiler_rules_test_slow() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER profiler_rules_test_slow AFTER INSERT ON profiler_rules_profilerdecision "
            "FOR EACH STATEMENT EXECUTE FUNCTION profiler_rules_test_slow()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS profiler_rules_test_slow ON profiler_rules_profilerdecision")
            cursor.execute("DROP FUNCTION IF EXISTS profiler_rules_test_slow()")


def _locked_pending(run_id: int) -> tuple[int, set[int]]:
    """How many chunks are pending, and which of them a worker holds locked (is deciding now)."""
    from profiler_rules.contrib.django.models import ReevaluationChunk

    pending = ReevaluationChunk.objects.filter(run_id=run_id, state="pending")
    with transaction.atomic():
        free = set(pending.select_for_update(skip_locked=True).values_list("index", flat=True))
    indexes = set(pending.values_list("index", flat=True))
    return len(indexes), indexes - free


def _wait(condition: Any, seconds: float, what: str, logs: Any) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"{what} within {seconds} s; worker logs:\n{logs()}")


@needs_workers
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_chunk_loses_nothing_and_doubles_nothing(
    rules_dir: Path, workers: Workers, tmp_path: Path
) -> None:
    from django_host.seed import seed

    from profiler_rules.contrib.django.models import ProfilerDecision, ReevaluationRun
    from profiler_rules.contrib.django.reevaluate import Reevaluation
    from profiler_rules.contrib.django.sources import result_source
    from profiler_rules.contrib.django.tasks import send

    seed(LEARNERS)
    learners = result_source().count()
    assert learners >= 3000
    Reevaluation(Dispatcher.from_rules(rules_dir)).run()  # every learner's decisions, under the old rules
    before = {
        (row[0], row[1]): row[2:]
        for row in ProfilerDecision.objects.values_list("session_id", "engine", "status", "output", "warnings", "error")
    }
    _raise_levels(rules_dir)
    new_digest = Dispatcher.from_rules(rules_dir).ruleset.digest

    def logs() -> str:
        return "\n".join(f"--- {name}\n{workers.log(name)[-3000:]}" for name in workers.processes)

    with _slowed():
        workers.start("one")
        workers.start("two")
        workers.wait_ready()
        with override_settings(PROFILER_RULES={"CELERY_CHUNK_SIZE": CHUNK, "CELERY_QUEUE": workers.queue}):
            started = timezone.now()
            printed = StringIO()
            call_command(
                "profiler_rules", "reevaluate", "--celery", "--no-wait", "--rules", str(rules_dir), stdout=printed
            )
        run = ReevaluationRun.objects.get(on_celery=True)
        assert f"run {run.pk}: {learners:,} learner(s) in {run.chunks_total} chunk(s)" in printed.getvalue()
        assert run.chunks_total == -(-learners // CHUNK) >= 4

        # Kill one worker when a chunk is done, while both are deciding one (each holds its chunk's lock)
        # and chunks remain.
        def both_busy() -> Any:
            run.refresh_from_db()
            if not run.chunks_done:
                return None
            pending, locked = _locked_pending(run.pk)
            return (pending, locked) if len(locked) == 2 else None

        pending, locked = _wait(both_busy, 120, "no moment with a chunk done and both workers deciding", logs)
        workers.processes["one"].send_signal(signal.SIGKILL)
        assert workers.processes["one"].wait(timeout=30) == -signal.SIGKILL
        assert pending >= 2 and len(locked) == 2, "killed mid-chunk, chunks pending"
        done_at_kill = run.chunks_done

        _wait(lambda: _counts(run)[8] is not None, 180, "the run did not finish", logs)

    run.refresh_from_db()
    chunks = list(run.chunks.order_by("index"))
    assert [chunk.state for chunk in chunks] == ["done"] * run.chunks_total, "every chunk done"
    assert (run.chunks_done, run.chunks_failed) == (run.chunks_total, 0), "each counted once"
    assert run.chunks_done > done_at_kill
    assert sum(chunk.learners for chunk in chunks) == run.learners_done == learners, "nothing lost, nothing doubled"
    for chunk in chunks:
        if chunk.index in locked:
            # The killed worker's chunk was delivered again, to the other one; neither was decided by the
            # dead one after it died.
            assert chunk.worker.startswith("two@"), (chunk.index, chunk.worker)

    after = {
        (row[0], row[1]): row[2:]
        for row in ProfilerDecision.objects.values_list("session_id", "engine", "status", "output", "warnings", "error")
    }
    changed = sum(1 for key, value in after.items() if before.get(key) != value)
    assert run.created == sum(1 for key in after if key not in before) == 0
    assert run.updated == changed, "each changed decision counted once"
    assert run.created + run.updated + run.unchanged == len(after)

    # Exactly one current decision per learner and engine, the changed engine's under the new rules.
    current = {str(one.session.pk) for one in result_source().learners()}
    assert len(current) == learners
    missions = ProfilerDecision.objects.filter(engine="missions", session_id__in=current)
    assert missions.count() == learners
    assert set(missions.values_list("ruleset_digest", flat=True)) == {new_digest}
    assert not missions.filter(decided_at__lt=started).exists()

    # A message delivered again after its chunk was done (as Redis does when a chunk outlasts the
    # visibility timeout) is taken by a real worker and changes and counts nothing.
    counts, rows = _counts(run), _rows()
    handled = workers.log("two").count("succeeded in")
    keys = [str(pk) for pk in result_source().user_pks()][:CHUNK]
    send(run.pk, [(0, keys)], workers.queue)
    _wait(lambda: workers.log("two").count("succeeded in") > handled, 60, "the message sent again was not taken", logs)
    assert (_counts(run), _rows()) == (counts, rows)

    status = StringIO()
    call_command("profiler_rules", "reevaluate", "--status", stdout=status)
    assert f"learners: {learners:,} of {learners:,}" in status.getvalue()
    assert f"chunks: {run.chunks_total} ({run.chunks_total} done, 0 failed, 0 pending)" in status.getvalue()


@needs_workers
@pytest.mark.django_db(transaction=True)
def test_the_command_starts_a_run_follows_it_to_its_end_and_shows_it(workers: Workers, tmp_path: Path) -> None:
    from django_host.seed import seed

    from profiler_rules.contrib.django.models import ReevaluationRun
    from profiler_rules.contrib.django.sources import result_source

    seed(30)
    learners = result_source().count()
    workers.start("one")
    env = {**workers.env(), "DJANGO_DEBUG": "0"}
    command = [sys.executable, str(EXAMPLE_HOST / "manage.py"), "profiler_rules", "reevaluate"]
    done = subprocess.run(
        [*command, "--celery", "--no-progress"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr + workers.log("one")
    lines = done.stdout.splitlines()
    run = ReevaluationRun.objects.get()
    sent = f"run {run.pk}: {learners:,} learner(s) in 1 chunk(s) of up to 2,000, sent to the Celery workers"
    assert lines[0].startswith(sent)
    assert lines[1].startswith(f"run {run.pk} (on Celery) under sha256:")
    assert "chunks: 1 (1 done, 0 failed, 0 pending)" in lines
    assert f"learners: {learners:,} of {learners:,}" in lines
    assert f"decisions: {learners * 5:,} created, 0 updated, 0 unchanged; 0 invalid result(s)" in lines
    shown = subprocess.run([*command, "--status", str(run.pk)], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert shown.stdout.splitlines()[2:] == lines[3:], "--status shows the finished run as the command did"


@needs_workers
@pytest.mark.django_db(transaction=True)
def test_ctrl_c_stops_following_and_the_run_goes_on(workers: Workers, tmp_path: Path) -> None:
    from django_host.seed import seed

    from profiler_rules.contrib.django.models import ReevaluationRun

    seed(10)
    env = {**workers.env(), "DJANGO_DEBUG": "0", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, str(EXAMPLE_HOST / "manage.py"), "profiler_rules", "reevaluate", "--celery"]
    # No worker yet: the run waits in its queue while the command follows it.
    following = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert following.stdout is not None
    first = following.stdout.readline()
    run = ReevaluationRun.objects.get()
    assert first.startswith(f"run {run.pk}: "), first + (following.stderr.read() if following.stderr else "")
    following.send_signal(signal.SIGINT)
    out, err = following.communicate(timeout=60)
    assert following.returncode == 130
    assert err == (
        f"profiler_rules: error: stopped following run {run.pk}; it goes on in the workers: "
        f"'manage.py profiler_rules reevaluate --status {run.pk}' shows it\n"
    )
    workers.start("one")  # the run goes on without anyone following it
    _wait(lambda: _counts(run)[8] is not None, 60, "the run did not finish", lambda: workers.log("one"))
    assert (run.chunks_done, run.learners_done) == (1, run.learners_total)
