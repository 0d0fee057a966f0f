"""The example host: a Django project shaped like the platform, with profiler-rules installed.

Its Celery app (:mod:`django_host.celery`) is loaded with Django, as Celery's Django layout does, so
that tasks sent from a ``manage.py`` command go to its broker; a host installed without Celery (no
``profiler-rules[celery]``) runs everything but ``reevaluate --celery``.
"""

from importlib.util import find_spec

if find_spec("celery") is not None:
    from .celery import app as celery_app

    __all__ = ["celery_app"]
