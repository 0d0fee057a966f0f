"""``manage.py profiler_rules reevaluate`` over many learners: learners per second and peak memory.

    python bench/django_reevaluate.py                      # 100,000 learners and 10,000, on SQLite
    python bench/django_reevaluate.py --learners 20000     # a smaller pair (20,000 and 2,000)
    PGHOST=... PGUSER=... python bench/django_reevaluate.py   # on PostgreSQL too (a throwaway database)

Each size gets a fresh database in the example host (``examples/django_host``), seeded with
``bulk_create`` (no completion runs: no decision is stored yet). Then, each in a process of its own so
that its peak memory is its own:

- the first run, which creates every decision (five per learner: the engines that answer without a
  viewer) and every portfolio entry;
- a second run after a rule change (the missions' level of "intermediate" raised), which updates the
  missions decisions of the learners it changes and leaves the rest.

Peak memory is the process's peak RSS (``resource.getrusage``): the same for both sizes means memory
does not grow with the number of learners. Timing targets are checked here, never in tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_HOST = ROOT / "examples" / "django_host"
TARGET = 1_000  # learners per second, on one core, on SQLite
BATCH = 2_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=100_000, help="the larger size (the smaller is a tenth)")
    parser.add_argument("--seed-into", help=argparse.SUPPRESS)  # the child that seeds
    parser.add_argument("--run", nargs=2, metavar=("RULES", "OUT"), help=argparse.SUPPRESS)  # the child that runs
    args = parser.parse_args()
    if args.seed_into is not None:
        _setup()
        _seed(args.learners)
        return 0
    if args.run is not None:
        _setup()
        return _timed_run(*args.run)
    databases = ["sqlite"] + (["postgresql"] if os.environ.get("PGHOST") or os.environ.get("PGDATABASE") else [])
    sizes = (args.learners // 10, args.learners)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, CPython {platform.python_version()}")
    # The machine's speed now, to read the figures against bench/RESULTS.md (its dispatch p50 row).
    print(f"Dispatcher.dispatch of the bundled example, now: {_dispatch_microseconds():.0f} µs")
    print("| database | learners | run | seconds | learners/s | peak RSS | target |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for database in databases:
        for size in sizes:
            for run, seconds, rss in _measure(database, size):
                rate = size / seconds
                target = f"≥ {TARGET:,}/s: {'yes' if rate >= TARGET else '**no**'}" if database == "sqlite" else ""
                print(f"| {database} | {size:,} | {run} | {seconds:.1f} | {rate:,.0f} | {rss:.0f} MiB | {target} |")
    return 0


def _dispatch_microseconds() -> float:
    import json
    import timeit

    from profiler_rules import Dispatcher

    dispatcher = Dispatcher.from_rules()
    result = json.loads((ROOT / "profiler_rules" / "examples" / "result.json").read_text())
    calls = 1_000
    return min(timeit.repeat(lambda: dispatcher.dispatch(result), number=calls, repeat=3)) / calls * 1e6


def _measure(database: str, size: int) -> list[tuple[str, float, float]]:
    with tempfile.TemporaryDirectory(prefix="reevaluate-bench-") as scratch:
        env = _environment(database, Path(scratch))
        with _fresh_database(database, env):
            _child(env, "migrate", [str(EXAMPLE_HOST / "manage.py"), "migrate", "-v0"])
            _child(env, "seed", [__file__, "--learners", str(size), "--seed-into", database])
            rules = Path(scratch) / "rules"
            shutil.copytree(ROOT / "profiler_rules" / "rules", rules)
            first = _run(env, "", Path(scratch) / "first.txt")
            missions = rules / "missions.yaml"
            missions.write_text(missions.read_text().replace("intermediate: 2", "intermediate: 3"))
            changed = _run(env, str(rules), Path(scratch) / "changed.txt")
    return [("first (creates all)", *first), ("after a rule change", *changed)]


def _environment(database: str, scratch: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXAMPLE_HOST), str(ROOT)])}
    env["DJANGO_SETTINGS_MODULE"] = "django_host.settings"
    # As in production: with DEBUG on, Django keeps the text of the last 9,000 queries (each insert of
    # a batch of decisions is long), which is most of a long run's memory and much of its time.
    env["DJANGO_DEBUG"] = "0"
    env["EXAMPLE_HOST_DATABASE"] = database
    env["EXAMPLE_HOST_SQLITE"] = str(scratch / "bench.sqlite3")
    if database == "postgresql":
        env["PGDATABASE"] = f"reevaluate_bench_{os.getpid()}"
    return env


class _fresh_database:
    """A PostgreSQL database made for the run and dropped after it (SQLite's file goes with the scratch
    directory)."""

    def __init__(self, database: str, env: dict[str, str]) -> None:
        self.name = env["PGDATABASE"] if database == "postgresql" else None

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True) as connection:
            connection.execute(statement)

    def __enter__(self) -> None:
        if self.name:
            self._admin(f'CREATE DATABASE "{self.name}"')

    def __exit__(self, *_: object) -> None:
        if self.name:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')


def _child(env: dict[str, str], what: str, args: list[str]) -> None:
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stderr}")


def _run(env: dict[str, str], rules: str, out: Path) -> tuple[float, float]:
    _child(env, "reevaluate", [__file__, "--run", rules, str(out)])
    seconds, rss = out.read_text().split()
    return float(seconds), float(rss)


def _setup() -> None:
    sys.path[:0] = [str(EXAMPLE_HOST), str(ROOT)]
    import django

    django.setup()


def _timed_run(rules: str, out: str) -> int:
    """In the child: time the command as a host runs it, and write the seconds and the peak RSS."""
    from io import StringIO

    from django.core.management import call_command

    options = ["--no-progress", *(["--rules", rules] if rules else [])]
    started = time.perf_counter()
    call_command("profiler_rules", "reevaluate", *options, stdout=StringIO(), stderr=StringIO())
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    Path(out).write_text(f"{seconds} {peak}")
    return 0


def _seed(learners: int) -> None:
    """``learners`` learners with a complete session each, in both stored shapes, with their result
    rows, identity answers and enrollments: a few bulk inserts per batch."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone
    from django_host import factories as make
    from profiler.models import ProfilerAnswer, ProfilerQuestion, ProfilerResult, ProfilerSession
    from programs.models import Enrollment
    from users.models import User

    with transaction.atomic():
        track = make.track()
        cohorts = [make.cohort(f"Cohort {number}", track=track) for number in range(5)]
        sponsor = make.organization()
        question = ProfilerQuestion.objects.create(
            question_type="behavioral", category="identity_value", question_text="What do you stand for?"
        )
    now = timezone.now()
    difficulties = ("novice", "beginner", "intermediate", "advanced", "elite")
    for start in range(0, learners, BATCH):
        numbers = range(start, min(start + BATCH, learners))
        with transaction.atomic():
            users = User.objects.bulk_create(
                User(username=f"learner{n}", email=f"learner{n}@example.org") for n in numbers
            )
            sessions = []
            for n, user in zip(numbers, users, strict=True):
                shape = make.DOCUMENTED_SESSION if n % 3 else make.NATIVE_SESSION
                values = {**shape, "difficulty_selection": difficulties[n % 5]}
                sessions.append(
                    ProfilerSession(
                        user=user,
                        status="finished" if n % 2 else "locked",
                        completed_at=now - timedelta(minutes=n),
                        recommended_track_id=track.id,
                        **values,
                    )
                )
            ProfilerSession.objects.bulk_create(sessions)
            ProfilerResult.objects.bulk_create(
                ProfilerResult(session=session, user=user, **(make.DOCUMENTED_RESULT if n % 3 else make.NATIVE_RESULT))
                for n, user, session in zip(numbers, users, sessions, strict=True)
            )
            ProfilerAnswer.objects.bulk_create(
                ProfilerAnswer(session=session, question=question, answer={"value": "integrity"})
                for session in sessions
            )
            Enrollment.objects.bulk_create(
                Enrollment(user=user, cohort=cohorts[n % 5], org=sponsor, status="active")
                for n, user in zip(numbers, users, strict=True)
            )


if __name__ == "__main__":
    raise SystemExit(main())
