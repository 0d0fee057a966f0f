"""``manage.py profiler_rules reevaluate --celery`` on PostgreSQL: learners/s with one Celery worker and
with two, the scaling ratio, and what a message costs beside its chunk's work.

    python bench/django_celery.py                      # 100,000 learners
    python bench/django_celery.py --learners 20000     # a smaller run

PostgreSQL and Redis: the servers the environment names (``PGHOST``..., ``CELERY_BROKER_URL``), or
else throwaway ones that ``.ci/postgres`` and ``.ci/redis`` start here and stop at the end. The learners
are seeded as ``bench/django_reevaluate.py`` seeds them (``bulk_create``), into a database made for the
run and dropped after it. Each measured run starts with no decision and no portfolio entry, so every
run does the same work: decide every learner and create their five decisions and their portfolio
entry. The workers are ``celery -A django_host worker --pool solo`` processes (one process each, as a
two-core machine runs two), started and warmed before the clock starts.

- learners/s: the learners over the time from the first message sent to the last chunk written
  (the run's row and user keys, written before, are timed apart as "split");
- per-message overhead: with one worker, which is never idle between its messages, the time not
  spent inside a chunk's own work (reading, deciding, writing: ``ReevaluationChunk.seconds``) divided
  by the number of messages, as a share of a chunk's mean time. It holds Celery's receiving and
  acknowledging, the task's reading of the run's row, and the worker's one rebuild of the rules.

"worker CPU a chunk" is the workers' own CPU time per chunk: when it stays the same with two workers
while a chunk's wall time grows, the two workers (and PostgreSQL, which decides nothing but serves
both) are waiting for the machine's cores, not for each other. Timing targets are checked here, never
in tests: scaling ≥ 1.7× for two workers, overhead < 5%.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_HOST = ROOT / "examples" / "django_host"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import django_reevaluate  # noqa: E402 - the seeding and the database handling of the in-process benchmark

SCALING_TARGET = 1.7
OVERHEAD_TARGET = 0.05
CHUNK = 2_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=100_000, help="learners to seed and re-evaluate")
    parser.add_argument("--chunk", type=int, default=CHUNK, help=f"CELERY_CHUNK_SIZE (default {CHUNK:,})")
    args = parser.parse_args()
    # The servers stop before the scratch directory (Redis's pidfile in it) goes: the stack is entered last.
    with tempfile.TemporaryDirectory(prefix="celery-bench-") as scratch, ExitStack() as servers:
        if not (os.environ.get("PGHOST") or os.environ.get("PGDATABASE")):
            # Not under scratch, which only root may enter: the server runs as the postgres user.
            pg_directory = Path(tempfile.mkdtemp(prefix="celery-bench-pg-"))
            os.environ.update(servers.enter_context(_server("postgres", pg_directory)))
        if not os.environ.get("CELERY_BROKER_URL"):
            os.environ.update(servers.enter_context(_server("redis", Path(scratch) / "redis")))
        env = django_reevaluate._environment("postgresql", Path(scratch))
        env["PROFILER_RULES_CELERY_QUEUE"] = f"celery-bench-{uuid.uuid4().hex[:8]}"
        with django_reevaluate._fresh_database("postgresql", env):
            django_reevaluate._child(env, "migrate", [str(EXAMPLE_HOST / "manage.py"), "migrate", "-v0"])
            seeded = time.perf_counter()
            seed = [str(ROOT / "bench" / "django_reevaluate.py"), "--learners", str(args.learners), "--seed-into", "x"]
            django_reevaluate._child(env, "seed", seed)
            seeding = time.perf_counter() - seeded
            names = ("PGDATABASE", "DJANGO_DEBUG", "DJANGO_SETTINGS_MODULE", "PROFILER_RULES_CELERY_QUEUE")
            os.environ.update({key: env[key] for key in names})
            os.environ["EXAMPLE_HOST_DATABASE"] = "postgresql"
            _setup(args.chunk)
            rules = Path(scratch) / "rules"
            shutil.copytree(ROOT / "profiler_rules" / "rules", rules)
            results = {workers: _measure(env, rules, workers, Path(scratch)) for workers in (1, 2)}
            from django.db import connections

            connections.close_all()  # the database is dropped next
    _print(args, seeding, results)
    return 0


@contextmanager
def _server(kind: str, directory: Path) -> Iterator[dict[str, str]]:
    """A throwaway server of ``.ci/<kind>``: its exports, and the server stopped on the way out."""
    try:
        started = subprocess.run(
            [str(ROOT / ".ci" / kind), "start", str(directory)], capture_output=True, text=True, check=True
        )
        exports = dict(
            line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines() if "=" in line
        )
        yield {name: value.strip("'") for name, value in exports.items()}
    finally:
        subprocess.run([str(ROOT / ".ci" / kind), "stop", str(directory)], check=False)


def _setup(chunk: int) -> None:
    sys.path[:0] = [str(EXAMPLE_HOST), str(ROOT)]
    import django
    from django.conf import settings

    django.setup()
    settings.PROFILER_RULES = {**settings.PROFILER_RULES, "CELERY_CHUNK_SIZE": chunk}


class _Workers:
    """``count`` solo-pool workers on the benchmark's queue, ready (their ``ready`` logged), killed at the end."""

    def __init__(self, env: dict[str, str], count: int, logs: Path) -> None:
        self.processes = []
        self.logs = [logs / f"worker{number}.log" for number in range(count)]
        for number, log in enumerate(self.logs):
            command = [sys.executable, "-m", "celery", "-A", "django_host", "worker", "--pool", "solo"]
            command += ["-Q", env["PROFILER_RULES_CELERY_QUEUE"], "-n", f"bench{number}@%h", "-l", "INFO"]
            command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
            with log.open("wb") as out:
                self.processes.append(
                    subprocess.Popen(command, cwd=EXAMPLE_HOST, env=env, stdout=out, stderr=subprocess.STDOUT)
                )
        deadline = time.monotonic() + 60
        while not all(" ready." in log.read_text(errors="replace") for log in self.logs):
            if time.monotonic() > deadline or any(process.poll() is not None for process in self.processes):
                raise SystemExit("a worker did not start:\n" + "\n".join(log.read_text() for log in self.logs))
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """The workers' CPU time so far (user and system), from ``/proc``."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for process in self.processes:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime and stime, the stat file's 14th and 15th
        return total / ticks

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=60)


def _measure(env: dict[str, str], rules: Path, count: int, scratch: Path) -> dict[str, Any]:
    from dashboard.models import PortfolioItem
    from django.db import connection

    from profiler_rules import Dispatcher
    from profiler_rules.contrib.django.models import ProfilerDecision, ReevaluationRun
    from profiler_rules.contrib.django.tasks import create_run, send

    with connection.cursor() as cursor:  # the same work for every run: nothing decided yet
        cursor.execute(f"TRUNCATE {ProfilerDecision._meta.db_table}, {PortfolioItem._meta.db_table}")
    workers = _Workers(env, count, scratch)
    try:
        dispatcher = Dispatcher.from_rules(rules)
        split_started = time.perf_counter()
        run, chunks = create_run(dispatcher)
        split = time.perf_counter() - split_started
        sent_at = time.time()
        cpu_before = workers.cpu_seconds()
        send(run.pk, chunks, env["PROFILER_RULES_CELERY_QUEUE"])
        while not ReevaluationRun.objects.filter(pk=run.pk, finished_at__isnull=False).exists():
            time.sleep(0.2)
        cpu = workers.cpu_seconds() - cpu_before
    finally:
        workers.stop()
    run.refresh_from_db()
    rows = list(run.chunks.values_list("seconds", "finished_at", "state"))
    if run.chunks_failed or any(state != "done" for *_, state in rows):
        raise SystemExit(f"run {run.pk} had failed chunks: {run.failure}")
    wall = max(finished for _, finished, _ in rows).timestamp() - sent_at
    inside = sum(seconds for seconds, _, _ in rows)
    return {
        "learners": run.learners_done,
        "chunks": len(rows),
        "split": split,
        "wall": wall,
        "rate": run.learners_done / wall,
        "chunk_mean": inside / len(rows),
        "cpu_per_chunk": cpu / len(rows),
        # Per message: the worker's time outside its chunks (one worker is never idle in between).
        "overhead": (wall * count - inside) / len(rows),
    }


def _print(args: argparse.Namespace, seeding: float, results: dict[int, dict[str, Any]]) -> None:
    one, two = results[1], results[2]
    load = os.getloadavg()
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, CPython {platform.python_version()}; ")
    print(f"load average after the runs: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (other work shares the machine)")
    print(f"{one['learners']:,} learners seeded in {seeding:.0f} s; chunks of {args.chunk:,}: {one['chunks']} messages")
    print()
    print(
        "| workers | split (s) | run (s) | learners/s | mean chunk (s) | worker CPU a chunk (s) "
        "| overhead per message | share of a chunk |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for count, figures in results.items():
        share = figures["overhead"] / figures["chunk_mean"]
        print(
            f"| {count} | {figures['split']:.2f} | {figures['wall']:.1f} | {figures['rate']:,.0f} | "
            f"{figures['chunk_mean']:.2f} | {figures['cpu_per_chunk']:.2f} | {figures['overhead'] * 1000:.0f} ms "
            f"| {share:.1%} |"
        )
    scaling = two["rate"] / one["rate"]
    share = one["overhead"] / one["chunk_mean"]
    print()
    verdict = "yes" if scaling >= SCALING_TARGET else "**no**"
    print(f"scaling, two workers over one: {scaling:.2f}× (target ≥ {SCALING_TARGET}×: {verdict})")
    verdict = "yes" if share < OVERHEAD_TARGET else "**no**"
    print(f"per-message overhead, one worker: {share:.1%} of a chunk (target < {OVERHEAD_TARGET:.0%}: {verdict})")


if __name__ == "__main__":
    raise SystemExit(main())
