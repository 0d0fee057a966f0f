import uuid

from django.conf import settings
from django.db import models


class Track(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=50, unique=True)  # defender, offensive, innovation, leadership, grc
    name = models.CharField(max_length=200)
    director = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="directed_tracks"
    )


class Cohort(models.Model):
    """Two cohorts may share a name."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="cohorts")


class Enrollment(models.Model):
    """A learner in a cohort; only ``active`` counts. The sponsor is the enrollment's ``org``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="enrollments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    org = models.ForeignKey("users.Organization", null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=20, default="active")
