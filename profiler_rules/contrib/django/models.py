"""What the engines decided for a session, kept so the host can read it without asking again."""

from __future__ import annotations

from django.db import models


class ProfilerDecision(models.Model):
    """One engine's answer for one profiler session, under the rule set that gave it.

    Written when a session completes and again when ``profiler_rules reevaluate`` finds a different
    answer; one row per (session, engine). Ids are the host's, as text, so any key type fits.
    """

    session_id = models.CharField(max_length=64)
    learner_id = models.CharField(max_length=64, db_index=True)
    engine = models.CharField(max_length=100)
    status = models.CharField(max_length=10)  # ok, skipped, denied or error
    output = models.JSONField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(null=True, blank=True)
    ruleset_digest = models.CharField(max_length=80)
    ruleset_version = models.CharField(max_length=200, null=True, blank=True)
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session_id", "engine"], name="profiler_decision_per_engine")]
        indexes = [models.Index(fields=["learner_id", "engine"], name="profiler_decision_learner")]

    def __str__(self) -> str:
        return f"{self.engine} for session {self.session_id}: {self.status}"
