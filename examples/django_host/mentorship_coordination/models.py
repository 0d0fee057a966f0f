import uuid

from django.conf import settings
from django.db import models


class MenteeMentorAssignment(models.Model):
    """Only ``status='active'`` assigns a mentee to a mentor."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mentee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentor_assignments")
    mentor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentee_assignments")
    status = models.CharField(max_length=20, default="active")
    cohort_id = models.UUIDField(null=True, blank=True)
