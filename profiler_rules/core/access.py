"""Access rules (``access.yaml``): who may see which view, deny by default.

A view (``mentee_view``, ``cohort_analytics``, ...) is granted only by a grant of the rule file. A grant
names a role, a relation between the viewer and what is viewed, or both (then both must hold), and may
show extra details (``anti_cheat``). Engines declare the views they check in ``Engine.access_views`` and
ask :meth:`AccessPolicy.check`; a view no grant names is denied to everyone, and a missing viewer is
denied everything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from string import Formatter
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, RootModel, model_validator

from .models import MAX_ROLE, PROTECTED_FIELDS, USUAL_ROLES, Explanation, ProfilerResult, Role, Viewer
from .rulefile import Rules, RuleViolation

Relation = Literal["self", "assigned_mentee", "assigned_coachee", "own_cohort", "own_sponsor"]

ACCESS_NAME = "access"


# Subjects and decisions are not frozen: a frozen dataclass costs four times as much to make, and
# each is made for one check of one result and read by the engine that asked.
@dataclass(slots=True)
class Subject:
    """What is being viewed: a learner, and the cohort and sponsor of the view.

    ``cohort_ids`` are the subject's further cohorts: a learner may be enrolled in several, and a viewer
    holding any one of them (``cohort_id`` or one of ``cohort_ids``) holds the subject's cohort.
    """

    user_id: str | None = None
    cohort_id: str | None = None
    sponsor_id: str | None = None
    cohort_ids: tuple[str, ...] = ()

    @classmethod
    def of_result(cls, result: ProfilerResult) -> Subject:
        """A result's learner, in all of the result's cohorts and its sponsor: what per-result views are
        checked for."""
        return cls(result.user_id, result.cohort_id, result.sponsor_id, result.cohort_ids)

    def held_cohorts(self, viewer: Viewer) -> bool:
        """Whether the viewer holds the subject's cohort, or any of its cohorts."""
        if self.cohort_id in viewer.cohort_ids:
            return True
        return bool(self.cohort_ids) and not viewer.cohort_ids.isdisjoint(self.cohort_ids)

    @property
    def cohorts_in_words(self) -> str:
        """The subject's cohorts as an explanation names them: ``c-1``, or ``c-1 or c-2``."""
        cohort, cohort_ids = self.cohort_id, self.cohort_ids
        if not cohort_ids or (len(cohort_ids) == 1 and cohort_ids[0] == cohort):
            # A result's usual subject: one cohort (a result's cohort_ids start with its cohort_id) or none.
            return "None" if cohort is None else str(cohort) or "None"
        cohorts = dict.fromkeys((cohort, *cohort_ids))
        return " or ".join(str(cohort) for cohort in cohorts if cohort is not None) or "None"


VIEWER_FIELDS: dict[str, str] = {
    "assigned_mentee": "mentee_ids",
    "assigned_coachee": "coachee_ids",
    "own_cohort": "cohort_ids",
    "own_sponsor": "sponsor_ids",
}
"""The viewer's field each relation reads (``self`` reads only the viewer's ``user_id``)."""

_RELATIONS: dict[str, tuple[str, Callable[[Viewer, Subject], bool]]] = {
    "self": (
        "is the learner",
        lambda viewer, subject: viewer.user_id is not None and viewer.user_id == subject.user_id,
    ),
    "assigned_mentee": ("is assigned {user} as mentee", lambda viewer, subject: subject.user_id in viewer.mentee_ids),
    "assigned_coachee": ("coaches {user}", lambda viewer, subject: subject.user_id in viewer.coachee_ids),
    "own_cohort": ("holds cohort {cohort}", lambda viewer, subject: subject.held_cohorts(viewer)),
    "own_sponsor": ("holds sponsor {sponsor}", lambda viewer, subject: subject.sponsor_id in viewer.sponsor_ids),
}


class Grant(BaseModel):
    """One grant of a view."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role | None = None
    relation: Relation | None = None
    details: tuple[str, ...] = ()

    def describe(self, subject: Subject) -> str:
        """What the grant asks of the viewer, in words, for ``subject``."""
        return self.template().format(user=subject.user_id, cohort=subject.cohorts_in_words, sponsor=subject.sponsor_id)

    def template(self) -> str:
        """:meth:`describe`'s words with ``{user}``, ``{cohort}`` and ``{sponsor}`` to fill in; a role
        is any name, braces included, so it is escaped."""
        words = []
        if self.role is not None:
            words.append("has role " + self.role.replace("{", "{{").replace("}", "}}"))
        if self.relation is not None:
            words.append(_RELATIONS[self.relation][0])
        return " and ".join(words)


class AccessRules(RootModel[dict[str, tuple[Grant, ...]]]):
    """``access.yaml``, built: each view and its grants."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _grants_name_someone(self) -> AccessRules:
        # The schema says so too; a model built by hand must not grant a view to everyone either.
        for view, grants in self.root.items():
            for index, grant in enumerate(grants):
                if grant.role is None and grant.relation is None:
                    raise RuleViolation("a grant names a role, a relation or both", view, index)
        return self


@dataclass(slots=True)
class AccessDecision:
    """The answer to one access check: allowed or not, the details shown, and why."""

    allowed: bool
    details: frozenset[str]
    explain: tuple[Explanation, ...]

    def shows(self, detail: str) -> bool:
        """Whether the grants that allowed the view also show ``detail`` (such as ``anti_cheat``)."""
        return detail in self.details


class AccessPolicy:
    """The access rules of a rule set, ready to check views."""

    def __init__(self, rules: Rules[AccessRules]) -> None:
        self._rules = rules
        self._views: Mapping[str, tuple[Grant, ...]] = rules.settings.root
        # Checked for every result an engine shows: what a grant says depends on the rules alone, so
        # it is worked out here, once, and a check only tests and fills in the subject.
        self._ready = {
            view: tuple(_ReadyGrant(view, index, grant) for index, grant in enumerate(grants))
            for view, grants in self._views.items()
        }
        self.protected: frozenset[str] = PROTECTED_FIELDS.union(
            detail for grants in self._views.values() for grant in grants for detail in grant.details
        )
        """The result fields no validation message may quote: the anti-cheat signals always, and every
        detail a grant shows (a detail's name is the result field it shows), since only the viewers
        of that grant may see it. Worked out once per rule set: a dispatch hands it to validation,
        which reads it only once a result has failed, so a valid result pays nothing for it."""

    @property
    def views(self) -> tuple[str, ...]:
        return tuple(self._views)

    def viewer_fields(self, *views: str) -> frozenset[str]:
        """The viewer's relation fields (``mentee_ids``, ...) the grants of ``views`` read: a host fills
        only those (each may cost it a query)."""
        return frozenset(
            VIEWER_FIELDS[grant.relation]
            for view in views
            for grant in self._views.get(view, ())
            if grant.relation in VIEWER_FIELDS
        )

    @property
    def rules(self) -> Rules[AccessRules]:
        """The access rules as loaded, with their file and lines."""
        return self._rules

    def check(self, view: str, viewer: Viewer | None, subject: Subject, *, explain: bool = True) -> AccessDecision:
        """Decide whether ``viewer`` may see ``view`` of ``subject``; deny unless a grant holds.

        A denial always carries its reason. ``explain=False`` leaves an allowed decision without
        explanations, for a dispatch whose host reads none (no message is written then).
        """
        grants = self._ready.get(view, ())
        if viewer is None:
            return self._deny(view, f"no viewer was given; {view} is denied without one")
        if not grants:
            return self._deny(view, f"no grant gives {view} to anyone")
        held = [grant for grant in grants if grant.holds(viewer, subject)]
        if not held:
            roles = ", ".join(sorted(viewer.roles)) or "none"
            return self._deny(view, f"the viewer (roles: {roles}) matches no grant of {view} → denied")
        details = held[0].details if len(held) == 1 else frozenset().union(*(grant.details for grant in held))
        if not explain:
            return AccessDecision(True, details, ())
        return AccessDecision(
            True, details, tuple(self._rules.explain(grant.path, grant.because(subject)) for grant in held)
        )

    def _deny(self, view: str, message: str) -> AccessDecision:
        return AccessDecision(False, frozenset(), (self._rules.explain(view, message),))


class _ReadyGrant:
    """A grant of a view with its test, its rule path and its words prepared."""

    __slots__ = ("path", "role", "relation", "details", "_words", "_allowed", "_fills", "_fixed")

    def __init__(self, view: str, index: int, grant: Grant) -> None:
        self.path = (view, index)
        self.role = grant.role
        self.relation = None if grant.relation is None else _RELATIONS[grant.relation][1]
        self.details = frozenset(grant.details)
        self._words = grant.template()  # the subject filled in later
        self._allowed = f" → {view} allowed{_with(grant.details)}"
        # What of the subject the words name: a grant of a role alone names nothing, and its reason is
        # written here, once; the subject's cohorts are put in words only for a grant that names them.
        self._fills = frozenset(name for _, name, _, _ in Formatter().parse(self._words) if name is not None)
        self._fixed = None if self._fills else f"the viewer {self._words.format()}{self._allowed}"

    def holds(self, viewer: Viewer, subject: Subject) -> bool:
        if self.role is not None and self.role not in viewer.roles:
            return False
        return self.relation is None or self.relation(viewer, subject)

    def because(self, subject: Subject) -> str:
        if self._fixed is not None:
            return self._fixed
        cohort = subject.cohorts_in_words if "cohort" in self._fills else None
        words = self._words.format(user=subject.user_id, cohort=cohort, sponsor=subject.sponsor_id)
        return f"the viewer {words}{self._allowed}"


def _with(details: tuple[str, ...]) -> str:
    return f", with {', '.join(details)}" if details else ""


ACCESS_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Access rules",
    "description": (
        "Who may see which view. Deny by default: a viewer sees a view only through one of its grants. "
        "A grant names a role, a relation, or both (then both must hold)."
    ),
    "type": "object",
    "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
    "additionalProperties": {
        "description": "A view, such as mentee_view or cohort_analytics, and the grants that allow it.",
        "type": "array",
        "items": {
            "description": "One grant: the viewer must have the role and the relation it names.",
            "type": "object",
            "additionalProperties": False,
            "anyOf": [{"required": ["role"]}, {"required": ["relation"]}],
            "properties": {
                "role": {
                    "description": (
                        "A role the viewer must have: any name the host gives its viewers' roles, such as "
                        "admin, mentor, director or sponsor_admin. A viewer's role that no grant names "
                        "grants nothing."
                    ),
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_ROLE,
                    "examples": list(USUAL_ROLES),
                },
                "relation": {
                    "description": (
                        "How the viewer must relate to what is viewed: self (the learner themself), "
                        "assigned_mentee (the learner is in the viewer's mentee_ids), assigned_coachee "
                        "(in coachee_ids), own_cohort (the cohort is in the viewer's cohort_ids), "
                        "own_sponsor (the sponsor is in the viewer's sponsor_ids)."
                    ),
                    "type": "string",
                    "enum": list(get_args(Relation)),
                    "examples": ["self", "assigned_mentee"],
                },
                "details": {
                    "description": "Extra details this grant shows, such as anti_cheat.",
                    "type": "array",
                    "items": {"type": "string", "description": "A detail's name.", "examples": ["anti_cheat"]},
                    "default": [],
                    "examples": [["anti_cheat"]],
                },
            },
        },
    },
    "examples": [{"mentee_view": [{"relation": "self"}, {"role": "admin", "details": ["anti_cheat"]}]}],
}
