"""Read-only admin pages for what the app keeps: decisions, re-evaluation runs.

The app writes these rows; nobody edits them by hand, so every page only shows (no add, change or delete,
superusers included). The tables grow with the learners (a row per session and engine), so the lists
never count every row and their searches are exact or prefix matches, which the indexes serve:
``=`` for a learner's or a session's id, ``^`` for a digest (a digest's first characters are enough).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ProfilerDecision, ReevaluationRun


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows rows, and nothing else: the app is their only writer."""

    show_full_result_count = False  # a COUNT(*) of millions of rows on every search is not worth it
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProfilerDecision)
class ProfilerDecisionAdmin(ReadOnlyAdmin):
    list_display = ("session_id", "learner_id", "engine", "status", "ruleset_digest", "ruleset_version", "decided_at")
    list_filter = ("engine", "status")
    search_fields = ("=learner_id", "=session_id", "^ruleset_digest")
    search_help_text = "a learner's id, a session's id (exactly), or a rule set's digest (its beginning)"
    ordering = ("-pk",)  # the primary key's index; decided_at has none


@admin.register(ReevaluationRun)
class ReevaluationRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "ruleset_digest", "engines", "learners_done", "started_at", "updated_at", "finished_at")
    search_fields = ("^ruleset_digest",)
    search_help_text = "a rule set's digest (its beginning)"
    ordering = ("-pk",)
