"""Users, roles and the organisations that sponsor enrollments, as the platform has them."""

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """An integer primary key, and a ``uuid_id`` that other tables (PortfolioItem) point at."""

    uuid_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    is_mentor = models.BooleanField(default=False)


class Role(models.Model):
    """One of the platform's role names: admin, program_director, mentor, mentee, student, ..."""

    name = models.CharField(max_length=50, unique=True)

    def __str__(self) -> str:
        return self.name


class UserRole(models.Model):
    """A role a user holds, with its scope (``global``, or ``org`` with the organisation's id)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="user_roles")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="holders")
    scope = models.CharField(max_length=20, default="global")
    scope_ref = models.CharField(max_length=64, blank=True, default="")
    is_active = models.BooleanField(default=True)


class Organization(models.Model):
    """A sponsor: the ``org`` of an enrollment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
