import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Mission(models.Model):
    """A mission, difficulty 1 (Beginner) to 5 (Master)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=50, unique=True)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    track = models.CharField(max_length=50, blank=True)
    difficulty = models.IntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    estimated_duration_min = models.IntegerField(default=60)
    is_active = models.BooleanField(default=True)
