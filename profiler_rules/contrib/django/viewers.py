"""Who asks: a host's user read as a :class:`~profiler_rules.Viewer`, with the relations the access rules use.

Roles come from the user's active role rows (``ROLES`` renames the host's words to the access rules'
own), ``is_mentor`` gives ``mentor`` and staff gives ``STAFF_ROLE``. Relations are read only when a view
asks for them, each overridable by a dotted path in ``RELATIONS`` (a callable taking the user and giving
ids): ``mentee_ids`` (active mentor assignments), ``cohort_ids`` (cohorts of the tracks the user directs),
``sponsor_ids`` (the organisations of the user's ``org``-scoped roles) and ``coachee_ids`` (none on the
platform).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

from django.db.models import Model
from django.utils.module_loading import import_string

from profiler_rules.core.access import VIEWER_FIELDS

from .conf import AppSettings, app_settings

RELATIONS = tuple(VIEWER_FIELDS.values())
"""Every relation a viewer may carry; the access rules read each through one of their relations."""


class ViewerSource:
    """Builds viewers from the models and fields the app's settings name."""

    def __init__(self, config: AppSettings | None = None) -> None:
        self.config = config or app_settings()

    def viewer(self, user: Model | None, *, relations: Iterable[str] = RELATIONS) -> dict[str, Any] | None:
        """``user`` as a viewer mapping, with the ``relations`` named; ``None`` for an anonymous user."""
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        roles, scopes = self._roles(user)
        viewer: dict[str, Any] = {"user_id": self.user_key(user), "roles": sorted(roles)}
        for relation in relations:
            viewer[relation] = sorted({str(value) for value in self._relation(relation, user, scopes)})
        return viewer

    def user_key(self, user: Model) -> str:
        """The id of ``user`` as the rules see it (``USER_ID``)."""
        return self.config.user_key(user)

    def _roles(self, user: Model) -> tuple[set[str], list[tuple[str, str, str]]]:
        renamed = self.config["ROLES"]
        rows = self._role_rows(user)
        roles = {renamed.get(name, name) for name, _, _ in rows}
        if getattr(user, "is_mentor", False):
            roles.add("mentor")
        staff_role = self.config["STAFF_ROLE"]
        if staff_role and (getattr(user, "is_staff", False) or getattr(user, "is_superuser", False)):
            roles.add(staff_role)
        return roles, rows

    def _role_rows(self, user: Model) -> list[tuple[str, str, str]]:
        f = self._f
        model = self.config.model("user_role")
        return list(
            model._default_manager.filter(**{f("user_role", "user"): user, f("user_role", "active"): True}).values_list(
                f("user_role", "role"), f("user_role", "scope"), f("user_role", "scope_ref")
            )
        )

    def _f(self, model: str, name: str) -> str:
        return self.config.field(model, name)

    def _relation(self, relation: str, user: Model, scopes: list[tuple[str, str, str]]) -> Iterable[Any]:
        override = self._overrides.get(relation)
        if override is not None:
            return override(user)
        if relation == "mentee_ids":
            return self._mentees(user)
        if relation == "cohort_ids":
            return self._directed_cohorts(user)
        if relation == "sponsor_ids":
            return [ref for role, scope, ref in scopes if scope == "org" and ref and self._is_sponsor_admin(role)]
        return ()

    @cached_property
    def _overrides(self) -> dict[str, Callable[[Model], Iterable[Any]]]:
        return {name: import_string(path) for name, path in self.config["RELATIONS"].items()}

    def _is_sponsor_admin(self, role: str) -> bool:
        return self.config["ROLES"].get(role, role) == "sponsor_admin"

    def _mentees(self, user: Model) -> Iterable[Any]:
        f = self._f
        model = self.config.model("mentor_assignment")
        mentee = f("mentor_assignment", "mentee")
        key = self.config.user_key_lookup(mentee)
        return model._default_manager.filter(
            **{f("mentor_assignment", "mentor"): user, f("mentor_assignment", "status"): self.config["ACTIVE_STATUS"]}
        ).values_list(key, flat=True)

    def _directed_cohorts(self, user: Model) -> Iterable[Any]:
        cohort = self.config.model("cohort")
        track, director = self._f("cohort", "track"), self._f("track", "director")
        return cohort._default_manager.filter(**{f"{track}__{director}": user}).values_list("pk", flat=True)


def viewer_source() -> ViewerSource:
    """The source ``PROFILER_RULES["VIEWER_SOURCE"]`` names, on the app's settings."""
    return app_settings().dotted("VIEWER_SOURCE")()
