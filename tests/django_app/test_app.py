"""The app's start: nothing loaded and no database touched until first use; one dispatcher per process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import EXAMPLE_HOST

STARTUP = textwrap.dedent(
    """
    import os, sys
    os.environ["DJANGO_SETTINGS_MODULE"] = "django_host.settings"
    os.environ["PROFILER_RULES_DIR"] = sys.argv[1]          # no rules there at all
    os.environ["EXAMPLE_HOST_SQLITE"] = sys.argv[2]          # no database file either
    import django
    django.setup()
    from django.db import connection
    from profiler_rules.contrib.django import runtime
    print(connection.connection is None, runtime._dispatcher is None, os.path.exists(sys.argv[2]))
    from django.urls import reverse
    print(reverse("profiler_rules:student-missions"))
    try:
        runtime.get_dispatcher()
    except Exception as error:
        print(type(error).__name__)
    """
)


def test_starting_the_app_loads_no_rules_and_touches_no_database(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", STARTUP, str(tmp_path / "missing-rules"), str(tmp_path / "db.sqlite3")],
        cwd=EXAMPLE_HOST,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{EXAMPLE_HOST}"},
    )
    assert done.returncode == 0, done.stderr
    started, routed, first_use = done.stdout.splitlines()
    assert started == "True True False"  # no connection, no dispatcher, no database file made
    assert routed == "/api/v1/student/missions"
    assert first_use == "RulesDirectoryError"  # the rules are read on first use, and only then fail


@pytest.mark.django_db
def test_one_dispatcher_serves_the_process_until_the_settings_change(settings) -> None:
    from profiler_rules.contrib.django.runtime import get_dispatcher

    first = get_dispatcher()
    assert get_dispatcher() is first
    settings.PROFILER_RULES = {"RULES_DIR": None, "CHUNK_SIZE": 7}
    assert get_dispatcher() is not first
