"""``manage.py seed_platform [--learners N] [--seed S]``: realistic platform data in an empty database."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_host.seed import PASSWORD, AlreadySeeded, Seeded, seed


def _positive(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Seed an empty database with the platform's rows: tracks, cohorts, sponsors, staff, mentors, missions, "
        "recipes, jobs, and learners in both stored shapes (the same rows for the same --seed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--learners", type=_positive, default=200, metavar="N", help="how many learners (default 200)"
        )
        parser.add_argument("--seed", type=int, default=1, metavar="S", help="the random seed (default 1)")

    def handle(self, *args: Any, learners: int, seed: int, **options: Any) -> None:
        started = time.perf_counter()
        try:
            seeded = seed_with_progress(self, learners, seed)
        except AlreadySeeded as error:
            raise CommandError(str(error)) from None
        self.report(seeded, time.perf_counter() - started)

    def report(self, seeded: Seeded, seconds: float) -> None:
        write = self.stdout.write
        write(f"seeded in {seconds:.1f} s:")
        for label, count in sorted(seeded.counts.items()):
            write(f"  {count:>9,}  {label}")
        write("cohorts (id, name, track):")
        for row in seeded.cohorts:
            write("  " + "  ".join(row))
        write("sponsors (id, name):")
        for row in seeded.organizations:
            write("  " + "  ".join(row))
        write(f"logins (every password is {PASSWORD!r}; the id is the one routes such as mentees/<id>/results take):")
        usernames = [username for _, username in seeded.logins]
        ids = dict(get_user_model().objects.filter(username__in=usernames).values_list("username", "pk"))
        width = max(map(len, usernames), default=0)
        for kind, username in seeded.logins:
            write(f"  {username:<{width}}  id {ids[username]:<5}  {kind}")


def seed_with_progress(command: BaseCommand, learners: int, random_seed: int) -> Seeded:
    """Seed, telling a terminal how far it got (a large seed takes a while)."""
    shown = sys.stderr.isatty() and learners >= 10_000

    def progress(made: int) -> None:
        if shown:
            command.stderr.write(f"\r{made:,}/{learners:,} learners", ending="")

    seeded = seed(learners, seed=random_seed, progress=progress)
    if shown:
        command.stderr.write("")
    return seeded
