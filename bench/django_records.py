"""What decision records cost a dispatch served through the example Django host.

    python bench/django_records.py                 # SQLite, 300 learners, 20 rounds of 20 requests a route
    python bench/django_records.py --postgresql    # the same on the PostgreSQL of PGHOST/PGUSER (.ci/postgres)
    python bench/django_records.py --spool         # recording through a spool (RECORDS["SPOOL"])
    python bench/django_records.py --smoke         # small sizes, no timing claims (never rots)

Each route that dispatches (the learner routes and the mentee view; the dashboards aggregate, which is
not recorded) is called with Django's test client, as in ``bench/django_routes.py``, in rounds that
alternate recording on (the app's default: one ``DecisionRecord`` row per request, in the request) and
off (``RECORDS["ENABLED"] = False``), so that a machine busy with something else slows both alike. The
table shows the median request of each, and the ratio: the target is at most 1.10 (recording costs at
most 10 % of a dispatch served through the app). On PostgreSQL the bench makes a database of its own
and drops it afterwards. With ``--spool`` the recording rounds spool each record (a line appended to
a file) and the spool's thread delivers them to the table every second, during the rounds, as in
production; every record is counted in the table at the end all the same.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from django_routes import Route, routes, seed, set_up_django  # noqa: E402 - after the path

TARGET_RATIO = 1.10
SPOOL_FLUSH_SECONDS = 1.0
RECORDED_ROUTES = ("student missions", "recipe recommendations", "value statement", "talent matches", "mentee results")


@contextmanager
def own_postgresql_database() -> Iterator[None]:
    """A database of the bench's own on the server PGHOST names, dropped afterwards."""
    import psycopg

    name = f"bench_records_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dbname="postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    os.environ["EXAMPLE_HOST_DATABASE"], os.environ["PGDATABASE"] = "postgresql", name
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(dbname="postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')


def timed_round(route: Route, requests: int, recording: bool, spool: Path | None) -> list[float]:
    from django.conf import settings
    from django.test import Client, override_settings

    records = {**settings.PROFILER_RULES.get("RECORDS", {}), "ENABLED": recording}
    if spool is not None:
        records["SPOOL"] = {"DIR": str(spool), "FLUSH_SECONDS": SPOOL_FLUSH_SECONDS}
    with override_settings(PROFILER_RULES={**settings.PROFILER_RULES, "RECORDS": records}):
        client = Client()
        client.force_login(route.viewer)
        for _ in range(2):  # the dispatcher is built again for the settings, and its rule set kept
            assert client.get(route.url).status_code == 200
        times = []
        for _ in range(requests):
            start = time.perf_counter_ns()
            response = client.get(route.url)
            times.append((time.perf_counter_ns() - start) / 1e6)
            assert response.status_code == 200, response.content
        return times


def measure(route: Route, rounds: int, requests: int, spool: Path | None) -> tuple[float, float, int]:
    """Median milliseconds per request with recording off and on, and the records written."""
    from profiler_rules.contrib.django.models import DecisionRecord

    before = DecisionRecord.objects.count()
    off: list[float] = []
    on: list[float] = []
    for number in range(rounds):
        # Alternate which goes first, too: the first round after a settings change pays for nothing more.
        for recording in (number % 2 == 0, number % 2 == 1):
            (on if recording else off).extend(timed_round(route, requests, recording, spool))
    if spool is not None:
        deliver_everything(spool)
    return statistics.median(off), statistics.median(on), DecisionRecord.objects.count() - before


def deliver_everything(spool: Path) -> None:
    """Deliver what every round's spool holds: each round's recorder (the settings changed, the app
    built another) hands its file over on its thread's next round, within a second."""
    from profiler_rules.contrib.django.records import DatabaseRecordSink, spool_name
    from profiler_rules.core.spool import SpooledSink

    time.sleep(2 * SPOOL_FLUSH_SECONDS)
    SpooledSink(DatabaseRecordSink(), spool / spool_name(DatabaseRecordSink.name)).flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--requests", type=int, default=20, help="requests per round")
    parser.add_argument("--postgresql", action="store_true", help="on PostgreSQL (PGHOST, PGUSER) instead of SQLite")
    parser.add_argument("--spool", action="store_true", help="record through a spool (RECORDS['SPOOL'])")
    parser.add_argument("--smoke", action="store_true", help="small sizes, no timing claims")
    options = parser.parse_args(argv)
    learners, rounds, requests = (30, 2, 3) if options.smoke else (options.learners, options.rounds, options.requests)
    with tempfile.TemporaryDirectory() as directory:
        database = own_postgresql_database() if options.postgresql else _nothing()
        with database:
            set_up_django(Path(directory) / "bench.sqlite3")
            seeded = seed(learners)
            rows = []
            for route in routes(seeded):
                if route.name in RECORDED_ROUTES:
                    spool = Path(directory) / "spool" if options.spool else None
                    off, on, written = measure(route, rounds, requests, spool)
                    assert written == rounds * (requests + 2), f"{route.name}: {written} records"
                    rows.append((route.name, off, on))
    database = ("PostgreSQL" if options.postgresql else "SQLite") + (", through a spool" if options.spool else "")
    print(table(rows, database, rounds * requests, options.smoke))
    return 0


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def table(rows: list[tuple[str, float, float]], database: str, requests: int, smoke: bool) -> str:
    lines = [
        f"Example host on {database}; milliseconds per request, median of {requests} requests each way, "
        "in alternating rounds" + (" (smoke sizes: no timing claims)" if smoke else ""),
        "",
        "| route | recording off | recording on | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, off, on in rows:
        ratio = on / off
        met = "" if smoke else ("yes" if ratio <= TARGET_RATIO else "**no**")
        lines.append(f"| {name} | {off:.2f} | {on:.2f} | {ratio:.2f}× | ≤ {TARGET_RATIO:.2f}× | {met} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
