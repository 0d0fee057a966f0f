"""The example host's Celery app, in Celery's documented Django layout: ``celery -A django_host worker``.

Its settings are Django's, those named ``CELERY_*`` (``CELERY_BROKER_URL``, ...); ``autodiscover_tasks``
finds every installed app's ``tasks`` module, profiler-rules' re-evaluation chunks among them.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_host.settings")

app = Celery("django_host")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
