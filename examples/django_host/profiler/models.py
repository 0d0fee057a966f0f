"""The profiler's session and result rows, trimmed to what the integrations read."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


class ProfilerSession(models.Model):
    STATUSES = [
        (name, name)
        for name in (
            "started",
            "in_progress",
            "aptitude_complete",
            "behavioral_complete",
            "current_self_complete",
            "future_you_complete",
            "finished",
            "locked",
        )
    ]
    DIFFICULTIES = [(name, name) for name in ("novice", "beginner", "intermediate", "advanced", "elite")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profiler_sessions")
    status = models.CharField(max_length=30, choices=STATUSES, default="started")
    aptitude_responses = models.JSONField(default=dict, blank=True)
    behavioral_responses = models.JSONField(default=dict, blank=True)
    futureyou_persona = models.JSONField(null=True, blank=True)
    aptitude_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True, validators=PERCENT)
    behavioral_profile = models.JSONField(default=dict, blank=True)
    strengths = models.JSONField(default=list, blank=True)
    recommended_track_id = models.UUIDField(null=True, blank=True)
    track_confidence = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    technical_exposure_score = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, validators=PERCENT
    )
    difficulty_selection = models.CharField(max_length=20, choices=DIFFICULTIES, blank=True)
    track_alignment_percentages = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    is_locked = models.BooleanField(default=False)
    locked_at = models.DateTimeField(null=True, blank=True)
    device_fingerprint = models.CharField(max_length=255, null=True, blank=True)
    suspicious_patterns = models.JSONField(default=list, blank=True)
    anti_cheat_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True, validators=PERCENT)

    class Meta:
        db_table = "profilersessions"


class ProfilerResult(models.Model):
    session = models.OneToOneField(ProfilerSession, on_delete=models.CASCADE, related_name="result")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profiler_results")
    overall_score = models.DecimalField(max_digits=5, decimal_places=2, validators=PERCENT)
    aptitude_score = models.DecimalField(max_digits=5, decimal_places=2, validators=PERCENT)
    behavioral_score = models.DecimalField(max_digits=5, decimal_places=2, validators=PERCENT)
    aptitude_breakdown = models.JSONField(default=dict)
    behavioral_traits = models.JSONField(default=dict)
    strengths = models.JSONField(default=list)
    areas_for_growth = models.JSONField(default=list)
    recommended_tracks = models.JSONField(default=list)
    learning_path_suggestions = models.JSONField(default=list)
    och_mapping = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "profilerresults"


class ProfilerQuestion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    question_type = models.CharField(max_length=30)
    category = models.CharField(max_length=50, default="general")
    question_text = models.TextField()


class ProfilerAnswer(models.Model):
    """One answer; the identity values are the answers to questions of category ``identity_value``."""

    session = models.ForeignKey(ProfilerSession, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(ProfilerQuestion, on_delete=models.CASCADE, related_name="answers")
    answer = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
