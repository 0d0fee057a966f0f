import uuid

from django.db import models


class JobPosting(models.Model):
    """What the platform has: no track_key, job_level or culture_fit (those were only planned)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=255)
    required_skills = models.JSONField(default=list)
    job_type = models.CharField(max_length=30, default="full_time")
