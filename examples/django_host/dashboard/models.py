import uuid

from django.conf import settings
from django.db import models


class PortfolioItem(models.Model):
    """A portfolio row; the value statement is the ``reflection`` titled "My Value Statement"."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, to_field="uuid_id", on_delete=models.CASCADE, related_name="portfolio_items"
    )
    title = models.CharField(max_length=255)
    summary = models.TextField(blank=True)
    item_type = models.CharField(max_length=50)
    status = models.CharField(max_length=30, default="draft")
    visibility = models.CharField(max_length=30, default="private")
    skill_tags = models.TextField(default="[]")  # JSON held as text, as the platform does
    evidence_files = models.TextField(default="[]")
    profiler_session_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
