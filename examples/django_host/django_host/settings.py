"""The example host's settings: a Django project shaped like the platform, with profiler-rules installed.

SQLite by default; PostgreSQL when ``EXAMPLE_HOST_DATABASE=postgresql``, connecting with libpq's usual
variables (``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGDATABASE``).
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
# Decision records are written in each request unless a spool directory is named (a local disk every
# web and worker process can write, such as BASE_DIR / "spool"): then a request appends a line there,
# and each process's thread delivers the lines to the table in batches.
if os.environ.get("EXAMPLE_HOST_RECORDS_SPOOL"):
    PROFILER_RULES["RECORDS"] = {"SPOOL": {"DIR": os.environ["EXAMPLE_HOST_RECORDS_SPOOL"]}}
