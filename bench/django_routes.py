"""Each seed route's latency in the example Django host, and how much of it is profiler-rules.

    python bench/django_routes.py            # a cohort of 300 learners, 200 requests a route
    python bench/django_routes.py --smoke    # small sizes, no timing claims (never rots)

The example host (``examples/django_host``) runs on a fresh SQLite file with seeded rows: two sponsors,
three cohorts, ``--learners`` learners in both stored shapes, 50 missions, 200 recipes, 100 jobs. Each
route is called with Django's test client (the whole stack: middleware, session login, view, JSON),
as the kind of viewer it is for, and each request is split three ways:

- **profiler-rules**: time inside ``Dispatcher.dispatch`` and ``Dispatcher.aggregate`` (the bench wraps
  the process dispatcher's two methods; nothing else is changed). The dashboards hand the engine a lazy
  iterable of results read from the database: the time spent producing them (the host's queries and
  rows) is taken out of the profiler-rules part and counted where it belongs;
- **database**: time inside the database driver's ``execute``, measured with Django's
  ``connection.execute_wrapper`` (the fetching of rows after it counts as host time);
- **host**: the rest (Django, the session, the result source building results, the views' JSON).

The table shows medians over the requests: of each part, and of each request's profiler-rules share.
The target: profiler-rules under 10 % of each route.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EXAMPLE_HOST = HERE.parent / "examples" / "django_host"
TARGET_SHARE = 10.0


@dataclass
class Clock:
    """Nanoseconds spent in profiler-rules and in the database during one request."""

    rules: int = 0
    database: int = 0
    host_iteration: int = 0  # producing results inside an analytics call: the host's, not the rules'

    def reset(self) -> None:
        self.rules = self.database = self.host_iteration = 0


@dataclass
class Route:
    name: str
    url: str
    viewer: Any
    totals: list[float] = field(default_factory=list)
    rules: list[float] = field(default_factory=list)
    database: list[float] = field(default_factory=list)


def set_up_django(database: Path) -> None:
    os.environ["EXAMPLE_HOST_SQLITE"] = str(database)
    os.environ["DJANGO_DEBUG"] = "0"  # DEBUG keeps every query's SQL: not what a served request pays
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_host.settings")
    sys.path.insert(0, str(EXAMPLE_HOST))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(learners: int) -> dict[str, Any]:
    """The platform's rows; returns the viewers and the scopes the routes are called for."""
    from dashboard.models import PortfolioItem
    from django.db import transaction
    from django_host import factories as make
    from marketplace.models import JobPosting
    from missions.models import Mission
    from recipes.models import Recipe

    codes = ["NET", "DNS", "WEB", "OWASP", "SEC", "SIEM", "PYTHON", "LINUX", "CLOUD", "CRYPTO", "LOG_ANALYSIS"]
    skills = ["networking", "security", "web", "problem_solving", "programming"]
    with transaction.atomic():
        director = make.user("program_director")
        cohorts = [
            make.cohort(f"Cohort {number}", track=make.track("defender", director=director)) for number in range(3)
        ]
        sponsors = [make.organization("Acme Health"), make.organization("Globex")]
        people = []
        for number in range(learners):
            learner = make.user("student")
            make.enroll(learner, cohorts[number % 3], org=sponsors[number % 2])
            if number % 10:  # a tenth have not finished the profiler
                session = make.session(learner, shape="native" if number % 2 else "documented")
                PortfolioItem.objects.create(
                    user=learner,
                    title="My Value Statement",
                    item_type="reflection",
                    summary="I am committed to advancing in cybersecurity.",
                    status="approved",
                    profiler_session_id=session.id,
                )
            people.append(learner)
        for number in range(50):
            Mission.objects.create(code=f"M{number}", title=f"Mission {number}", difficulty=1 + number % 5)
        for number in range(200):
            Recipe.objects.create(
                slug=f"recipe-{number}",
                title=f"Recipe {number}",
                skill_codes=[codes[number % len(codes)], codes[(number * 7) % len(codes)]],
                usage_count=number % 37,
                avg_rating=Decimal(number % 5),
            )
        for number in range(100):
            JobPosting.objects.create(
                title=f"Job {number}", required_skills=[skills[number % 5], skills[(number + 2) % 5]]
            )
        learner = people[1]  # finished, in the documented shape
        mentor = make.user("mentor", is_mentor=True)
        make.assign(learner, mentor)
        sponsor_admin = make.user()
        make.grant(sponsor_admin, "sponsor_admin", scope="org", scope_ref=str(sponsors[0].pk))
    return {
        "learner": learner,
        "mentor": mentor,
        "director": director,
        "sponsor_admin": sponsor_admin,
        "cohort": cohorts[0],
        "sponsor": sponsors[0],
    }


def routes(seeded: dict[str, Any]) -> list[Route]:
    from django.urls import reverse

    learner = seeded["learner"]
    return [
        Route("student missions", reverse("profiler_rules:student-missions"), learner),
        Route("recipe recommendations", reverse("profiler_rules:recipe-recommendations"), learner),
        Route("value statement", reverse("profiler_rules:value-statement"), learner),
        Route("talent matches", reverse("profiler_rules:talent-matches"), learner),
        Route("mentee results", reverse("profiler_rules:mentee-results", args=[learner.pk]), seeded["mentor"]),
        Route(
            "cohort analytics",
            reverse("profiler_rules:cohort-analytics", args=[seeded["cohort"].pk]),
            seeded["director"],
        ),
        Route(
            "enterprise analytics",
            reverse("profiler_rules:enterprise-analytics") + f"?sponsor_id={seeded['sponsor'].pk}",
            seeded["sponsor_admin"],
        ),
    ]


def wrap_dispatcher(clock: Clock) -> None:
    """Time the process dispatcher's dispatch and analytics, leaving out the results the host produces."""
    from profiler_rules.contrib.django.runtime import get_dispatcher

    dispatcher = get_dispatcher()
    dispatch, aggregate = dispatcher.dispatch, dispatcher.aggregate

    def timed_dispatch(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return dispatch(*args, **kwargs)
        finally:
            clock.rules += time.perf_counter_ns() - start

    def timed_aggregate(engine: str, results: Iterable[Any], **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return aggregate(engine, _host_iteration(results, clock), **kwargs)
        finally:
            clock.rules += time.perf_counter_ns() - start - clock.host_iteration

    dispatcher.dispatch = timed_dispatch  # type: ignore[method-assign]
    dispatcher.aggregate = timed_aggregate  # type: ignore[method-assign]


def _host_iteration(results: Iterable[Any], clock: Clock) -> Iterator[Any]:
    """The results as given, with the time spent producing each counted as the host's."""
    iterator = iter(results)
    while True:
        start = time.perf_counter_ns()
        try:
            item = next(iterator)
        except StopIteration:
            clock.host_iteration += time.perf_counter_ns() - start
            return
        clock.host_iteration += time.perf_counter_ns() - start
        yield item


def database_timer(clock: Clock) -> Callable[..., Any]:
    def timed(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return execute(sql, params, many, context)
        finally:
            clock.database += time.perf_counter_ns() - start

    return timed


def measure(route: Route, requests: int, clock: Clock) -> None:
    from django.db import connection
    from django.test import Client

    client = Client()
    client.force_login(route.viewer)
    for _ in range(3):  # warm: the dispatcher is built on the first request, caches fill
        assert client.get(route.url).status_code == 200
    with connection.execute_wrapper(database_timer(clock)):
        for _ in range(requests):
            clock.reset()
            start = time.perf_counter_ns()
            response = client.get(route.url)
            total = time.perf_counter_ns() - start
            assert response.status_code == 200, response.content
            route.totals.append(total / 1e6)
            route.rules.append(clock.rules / 1e6)
            route.database.append(clock.database / 1e6)


def table(measured: list[Route], learners: int, smoke: bool) -> str:
    lines = [
        f"Example host on SQLite, {learners} learners; milliseconds per request, "
        f"median of {len(measured[0].totals)} requests" + (" (smoke sizes: no timing claims)" if smoke else ""),
        "",
        "| route | total | database | profiler-rules | host (the rest) | profiler-rules share | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for route in measured:
        total, database, rules = (statistics.median(values) for values in (route.totals, route.database, route.rules))
        # Per request, then the median: a request slowed by another process on a shared machine would
        # otherwise move the share of every route it lands in.
        share = statistics.median(100 * rules / total for rules, total in zip(route.rules, route.totals, strict=True))
        met = "" if smoke else ("yes" if share < TARGET_SHARE else "**no**")
        lines.append(
            f"| {route.name} | {total:.2f} | {database:.2f} | {rules:.3f} | {total - database - rules:.2f} "
            f"| {share:.1f} % | < {TARGET_SHARE:g} % | {met} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="small sizes, no timing claims")
    options = parser.parse_args(argv)
    learners, requests = (30, 5) if options.smoke else (options.learners, options.requests)
    with tempfile.TemporaryDirectory() as directory:
        set_up_django(Path(directory) / "bench.sqlite3")
        seeded = seed(learners)
        clock = Clock()
        wrap_dispatcher(clock)
        measured = routes(seeded)
        for route in measured:
            measure(route, requests, clock)
        print(table(measured, learners, options.smoke))
    return 0


if __name__ == "__main__":
    sys.exit(main())
