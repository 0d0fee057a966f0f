"""The app's configuration: no database access and no rules loaded here (Django's rule for ready())."""

from __future__ import annotations

from django.apps import AppConfig


class ProfilerRulesConfig(AppConfig):
    name = "profiler_rules.contrib.django"
    label = "profiler_rules"
    verbose_name = "profiler-rules"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing registers the settings' and the dispatcher's resets on setting changes, the system
        # checks (which load the rules only when `check` runs them) and the completion signals (connected
        # to the session model by its label): no queries, no rules here.
        from . import checks, completion, runtime  # noqa: F401
