"""The example host's settings: a Django project shaped like the platform, with profiler-rules installed.

SQLite by default; PostgreSQL when ``EXAMPLE_HOST_DATABASE=postgresql``, connecting with libpq's usual
variables (``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGDATABASE``). Celery's broker is
``CELERY_BROKER_URL`` (Redis; ``.ci/redis start`` prints it), for ``celery -A django_host worker``.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-host-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",  # the app's read-only pages: decisions, runs, rule sets
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "users",
    "profiler",
    "dashboard",
    "missions",
    "recipes",
    "programs",
    "mentorship_coordination",
    "marketplace",
    "profiler_rules.contrib.django",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_host.basic_auth.BasicAuthMiddleware",  # curl -u name:password, for trying the routes
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "django_host.urls"
AUTH_USER_MODEL = "users.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

if os.environ.get("EXAMPLE_HOST_DATABASE") == "postgresql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "profiler_rules"),
            "HOST": os.environ.get("PGHOST", ""),
            "PORT": os.environ.get("PGPORT", ""),
            "USER": os.environ.get("PGUSER", ""),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("EXAMPLE_HOST_SQLITE", BASE_DIR / "db.sqlite3"),
        }
    }

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# profiler-rules: the platform's models are the app's defaults, so the host says only what differs.
PROFILER_RULES = {
    "RULES_DIR": os.environ.get("PROFILER_RULES_DIR"),  # None: the packaged rules
    "WATCH": False,
}

# Celery (django_host/celery.py reads the CELERY_* names): re-evaluation on workers, `reevaluate --celery`.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
# A worker takes one message at a time: a chunk's message is acknowledged once the chunk is written
# (acks_late), and a message held in advance would wait, unacknowledged, behind a long chunk.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis hands an unacknowledged message (its worker killed) to another worker once it is older than
# visibility_timeout: longer than a chunk takes, or a chunk still being decided is delivered again
# (which then does nothing). The workers look for such messages every unacked_restore_interval seconds
# (times the throttle: kombu's defaults, 10 and 10, look every 100 s).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
    "unacked_restore_interval": int(os.environ.get("CELERY_RESTORE_INTERVAL", "10")),
    "unacked_restore_throttle": 1,
}
CELERY_TASK_IGNORE_RESULT = True
# The queue of `reevaluate --celery`'s chunks (PROFILER_RULES["CELERY_QUEUE"]; unset: Celery's default).
if os.environ.get("PROFILER_RULES_CELERY_QUEUE"):
    PROFILER_RULES["CELERY_QUEUE"] = os.environ["PROFILER_RULES_CELERY_QUEUE"]

# Decision records are written in each request unless a spool directory is named (a local disk every
# web and worker process can write, such as BASE_DIR / "spool"): then a request appends a line there,
# and each process's thread delivers the lines to the table in batches.
if os.environ.get("EXAMPLE_HOST_RECORDS_SPOOL"):
    PROFILER_RULES["RECORDS"] = {"SPOOL": {"DIR": os.environ["EXAMPLE_HOST_RECORDS_SPOOL"]}}
