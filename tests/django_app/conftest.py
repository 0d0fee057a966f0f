"""The Django app's tests run in the example host, on SQLite, or on PostgreSQL when
``EXAMPLE_HOST_DATABASE=postgresql`` (as ``.ci/run`` does after the whole suite).

Without Django installed these tests are skipped; the core's tests never need it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("django")
pytest.importorskip("pytest_django")

EXAMPLE_HOST = Path(__file__).resolve().parents[2] / "examples" / "django_host"
if str(EXAMPLE_HOST) not in sys.path:
    sys.path.insert(0, str(EXAMPLE_HOST))
_named = "DJANGO_SETTINGS_MODULE" not in os.environ
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_host.settings")

import django  # noqa: E402 - after the settings module is named

# pytest-django sets Django up only for settings named before it starts; these are named here, so
# that the core's tests, collected beside, never need Django.
django.setup()
if _named:
    # Set up now, so the variable may go: left set, it would reach the subprocesses of the core's
    # tests (CLI runs, fresh environments), which know no django_host.
    del os.environ["DJANGO_SETTINGS_MODULE"]
