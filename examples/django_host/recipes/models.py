import uuid

from django.db import models


class Recipe(models.Model):
    """A learning recipe; ``skill_codes`` is a JSON list (not an array: no ``__overlap`` lookup)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=255)
    summary = models.TextField(blank=True)
    skill_codes = models.JSONField(default=list)
    difficulty = models.CharField(max_length=20, default="beginner")
    estimated_minutes = models.IntegerField(default=30)
    usage_count = models.IntegerField(default=0)
    avg_rating = models.DecimalField(max_digits=3, decimal_places=2, default=0)
    is_active = models.BooleanField(default=True)
