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


class ReevaluationRun(models.Model):
    """How far one ``manage.py profiler_rules reevaluate`` got, so that an interrupted run resumes.

    Learners are re-evaluated in the order of their user's primary key, a chunk per transaction; each
    chunk's writes and this row's ``last_user_pk`` commit together, so a run stopped anywhere resumes
    after the last chunk it wrote. A run resumes only under the same rules (``ruleset_digest``) and the
    same engines; a finished run is never resumed.
    """

    ruleset_digest = models.CharField(max_length=80)
    engines = models.CharField(max_length=500, blank=True)  # the --engine names, sorted, comma-joined; "" for all
    last_user_pk = models.CharField(max_length=64, null=True, blank=True)
    learners_done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # The counts of what the run wrote, chunk by chunk (both kinds of run).
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    portfolio = models.JSONField(default=dict, blank=True)  # outcome -> count (see PortfolioWriter)
    # A run on Celery (``reevaluate --celery``): its chunks are ReevaluationChunk rows, decided by workers
    # that rebuild the dispatcher from ``spec`` (Dispatcher.spec() as JSON). Never resumed in-process.
    on_celery = models.BooleanField(default=False)
    spec = models.JSONField(null=True, blank=True)
    learners_total = models.PositiveIntegerField(null=True, blank=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    chunks_failed = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True)  # why the first failed chunk failed

    def __str__(self) -> str:
        state = "finished" if self.finished_at else f"after user {self.last_user_pk}"
        if self.on_celery and not self.finished_at:
            state = f"{self.chunks_done + self.chunks_failed} of {self.chunks_total} chunk(s)"
        return f"re-evaluation under {self.ruleset_digest[:19]}…: {self.learners_done} learner(s), {state}"


class ReevaluationChunk(models.Model):
    """One chunk of a run on Celery: the learners of one task message, and what deciding them did.

    ``pending`` until a worker decides it; then ``done`` (with its counts) or ``failed`` (with ``error``),
    in the same transaction as its decisions. A chunk that is not pending is never decided again, so a
    message delivered twice (a worker killed before it acknowledged) changes and counts nothing.
    """

    PENDING, DONE, FAILED = "pending", "done", "failed"

    run = models.ForeignKey(ReevaluationRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    first_user_pk = models.CharField(max_length=64)
    last_user_pk = models.CharField(max_length=64)
    size = models.PositiveIntegerField()  # user keys in the message
    state = models.CharField(max_length=10, default=PENDING)
    learners = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    portfolio = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)  # the worker (hostname) that decided it
    seconds = models.FloatField(null=True, blank=True)  # how long deciding and writing it took
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="profiler_reevaluation_chunk")]

    def __str__(self) -> str:
        return f"chunk {self.index} of run {self.run_id}: {self.state}"


class _NeverChanged(models.QuerySet):
    """Records are appended, never changed: ``update()`` is refused (deleting old ones, for retention,
    is the host's to decide)."""

    def update(self, **kwargs: object) -> int:
        raise TypeError("decision records are never changed: a record is appended, and stays as written")


class DecisionRecord(models.Model):
    """One dispatch the app served, as an auditor reads it later: who asked, about which result, under
    which rules (by digest: see :class:`KeptRuleSet`), and what each engine answered, its outputs masked
    as ``PROFILER_RULES["RECORDS"]`` says (see :mod:`profiler_rules.core.records`). Append-only."""

    call_id = models.CharField(max_length=32, unique=True)
    recorded_at = models.DateTimeField(db_index=True)
    viewer_id = models.CharField(max_length=256, null=True, blank=True)
    viewer_roles = models.JSONField(default=list, blank=True)
    session_id = models.CharField(max_length=256, db_index=True)
    learner_id = models.CharField(max_length=256, db_index=True)
    engines = models.JSONField(null=True, blank=True)  # the engines asked; null: every engine
    answers = models.JSONField()  # {engine: {status, output, warnings, error}}
    ruleset_digest = models.CharField(max_length=80, db_index=True)
    ruleset_version = models.CharField(max_length=200, null=True, blank=True)
    plugin_versions = models.JSONField(default=dict, blank=True)
    masked = models.JSONField(default=list, blank=True)
    origin = models.CharField(max_length=200, null=True, blank=True)

    objects = _NeverChanged.as_manager()

    def __str__(self) -> str:
        return f"decision {self.call_id} on session {self.session_id} under {self.ruleset_digest[:19]}…"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise TypeError("decision records are never changed: a record is appended, and stays as written")
        super().save(*args, **kwargs)


class KeptRuleSet(models.Model):
    """A rule set that served a recorded decision, kept by its digest: its files' stems, in digest
    order, with each file's sha256 (the bytes are :class:`KeptRuleFile` rows, each stored once)."""

    digest = models.CharField(max_length=80, unique=True)
    version = models.CharField(max_length=200, null=True, blank=True)
    files = models.JSONField()  # [{"stem": ..., "sha256": ...}], in digest order
    first_kept_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"rule set {self.digest[:19]}… (version {self.version or 'none'})"


class KeptRuleFile(models.Model):
    """One rule file's exact bytes, by their sha256: rule sets sharing a file share its row."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    content = models.BinaryField()

    def __str__(self) -> str:
        return f"rule file sha256:{self.sha256[:12]}…"
