"""Read-only admin pages for what the app keeps: decisions, their records, re-evaluation runs, rule sets.

The app writes these rows; nobody edits them by hand, so every page only shows (no add, change or delete,
superusers included). The tables grow with the learners (a row per session and engine), so the lists
never count every row and their searches are exact or prefix matches, which the indexes serve:
``=`` for a learner's or a session's id, ``^`` for a digest (a digest's first characters are enough).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from profiler_rules.core.archive import DamagedArchiveError, RuleSetNotFoundError

from .models import DecisionRecord, KeptRuleSet, ProfilerDecision, ReevaluationChunk, ReevaluationRun
from .records import kept_ruleset


class _ShowsOnly:
    """No add, change or delete, for anyone: the app is the rows' only writer."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(_ShowsOnly, admin.ModelAdmin):
    """Shows rows, and nothing else."""

    show_full_result_count = False  # a COUNT(*) of millions of rows on every search is not worth it
    list_per_page = 50


def _rules_link(digest: str) -> str:
    """A link to the kept rule set of ``digest`` (its admin list, searched by it)."""
    url = reverse("admin:profiler_rules_keptruleset_changelist")
    return format_html('<a href="{}?q={}">{}</a>', url, digest, digest)


def _pretty_json(value: Any) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


@admin.register(ProfilerDecision)
class ProfilerDecisionAdmin(ReadOnlyAdmin):
    list_display = ("session_id", "learner_id", "engine", "status", "ruleset_digest", "ruleset_version", "decided_at")
    list_filter = ("engine", "status")
    search_fields = ("=learner_id", "=session_id", "^ruleset_digest")
    search_help_text = "a learner's id, a session's id (exactly), or a rule set's digest (its beginning)"
    ordering = ("-pk",)  # the primary key's index; decided_at has none
    readonly_fields = ("rules",)

    @admin.display(description="rules")
    def rules(self, decision: ProfilerDecision) -> str:
        return _rules_link(decision.ruleset_digest)


@admin.register(DecisionRecord)
class DecisionRecordAdmin(ReadOnlyAdmin):
    list_display = ("recorded_at", "session_id", "learner_id", "viewer_id", "origin", "ruleset_digest")
    list_filter = ("origin",)
    search_fields = ("=learner_id", "=session_id", "^ruleset_digest", "=call_id")
    search_help_text = "a learner's id, a session's id, a call id (exactly), or a rule set's digest (its beginning)"
    ordering = ("-pk",)
    exclude = ("answers",)
    readonly_fields = ("rules", "answers_shown")

    @admin.display(description="rules")
    def rules(self, record: DecisionRecord) -> str:
        return _rules_link(record.ruleset_digest)

    @admin.display(description="answers")
    def answers_shown(self, record: DecisionRecord) -> str:
        return _pretty_json(record.answers)


@admin.register(KeptRuleSet)
class KeptRuleSetAdmin(ReadOnlyAdmin):
    list_display = ("digest", "version", "first_kept_at")
    search_fields = ("^digest",)
    search_help_text = "a rule set's digest (its beginning)"
    ordering = ("-first_kept_at",)
    exclude = ("files",)
    readonly_fields = ("rule_files",)

    @admin.display(description="files")
    def rule_files(self, kept: KeptRuleSet) -> str:
        """Each file's exact text, checked against the digest first (as ``show-ruleset`` does)."""
        try:
            files = kept_ruleset(kept.digest).files
        except (RuleSetNotFoundError, DamagedArchiveError) as problem:
            return format_html("<strong>{}</strong>", str(problem))
        return format_html_join("", "<h3>{} <small>sha256:{}</small></h3><pre>{}</pre>", _shown_files(kept, files))


def _shown_files(kept: KeptRuleSet, files: tuple[tuple[str, bytes], ...]) -> list[tuple[str, str, str]]:
    hashes = {entry["stem"]: entry["sha256"] for entry in kept.files}
    return [(stem, hashes[stem], content.decode("utf-8", "replace")) for stem, content in files]


class ReevaluationChunkInline(_ShowsOnly, admin.TabularInline):
    """A Celery run's chunks: which learners each message carried, and what deciding them did."""

    model = ReevaluationChunk
    fields = ("index", "first_user_pk", "last_user_pk", "size", "state", "learners", "created", "updated")
    fields += ("unchanged", "invalid", "error", "worker", "seconds", "finished_at")
    ordering = ("index",)
    extra = 0
    show_change_link = False


@admin.register(ReevaluationRun)
class ReevaluationRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "on_celery", "ruleset_digest", "engines", "progress", "learners_done", "created")
    list_display += ("updated", "unchanged", "invalid", "started_at", "finished_at")
    list_filter = ("on_celery",)
    search_fields = ("^ruleset_digest",)
    search_help_text = "a rule set's digest (its beginning)"
    ordering = ("-pk",)
    inlines = (ReevaluationChunkInline,)
    readonly_fields = ("rules",)

    @admin.display(description="progress")
    def progress(self, run: ReevaluationRun) -> str:
        if run.on_celery:
            failed = f", {run.chunks_failed} failed" if run.chunks_failed else ""
            return f"{run.chunks_done} of {run.chunks_total} chunk(s){failed}"
        return "finished" if run.finished_at else f"after user {run.last_user_pk}"

    @admin.display(description="rules")
    def rules(self, run: ReevaluationRun) -> str:
        return _rules_link(run.ruleset_digest)
