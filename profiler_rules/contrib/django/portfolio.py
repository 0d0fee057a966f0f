"""The learner's "My Value Statement" portfolio entry, applied as the portfolio rules say.

The portfolio engine decides the entry (title, item type, status, visibility, summary) and what a
retake does (``on_retake``); it holds no state. This module keeps the state, as the platform did:

- one entry per learner, found as the platform finds it, by (user, item type, title) in the model
  ``MODELS["portfolio_item"]`` (the platform has no column for the engine's idempotency key); the user
  is matched on the field its foreign key points at (``uuid_id`` on the platform);
- created when missing, with the rules' status and visibility and ``PORTFOLIO_CREATE_DEFAULTS``;
- when it exists, ``keep`` leaves it as it is; ``replace`` rewrites its summary and session link, and
  nothing else: the visibility and status are the learner's (and reviewers') after creation;
- never rewritten from a session older than the one it links (the order of
  :meth:`ResultSource.complete_sessions`: ``completed_at``, then ``started_at``, then the key);
- written under a lock: the learners' user rows are locked (``select_for_update``) before their
  entries are read, so two writers of one learner (a completion and a re-evaluation) take turns, and
  two first completions can not both create an entry. The entries are locked too, against the host's
  own writes. On SQLite, which locks the whole database for a write, the locks are no-ops.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import transaction
from django.db.models import Field, ForeignKey, Model
from django.utils import timezone

from .conf import AppSettings, app_settings
from .sources import Learner

Outcome = str
"""What became of one learner's entry: ``created``, ``replaced``, ``unchanged`` (the same summary and
session), ``kept`` (the rules say keep) or ``older`` (the entry links a later session)."""


@dataclass(frozen=True)
class EntryToApply:
    """A learner and the portfolio engine's entry for their session (its output, as JSON)."""

    learner: Learner
    entry: Mapping[str, Any]


@dataclass(frozen=True)
class Plan:
    """What applying entries does: each learner's outcome counted, the rows to create and to update."""

    outcomes: Counter[Outcome]
    created: list[Model]
    replaced: list[Model]


class PortfolioWriter:
    """Applies portfolio entries to the host's portfolio model, many learners in a fixed number of queries."""

    def __init__(self, config: AppSettings | None = None) -> None:
        self.config = config or app_settings()

    # -- the host's model and fields ---------------------------------------------------------------

    @cached_property
    def _model(self) -> type[Model]:
        return self.config.model("portfolio_item")

    def _field(self, name: str) -> Field[Any, Any]:
        return self._model._meta.get_field(self.config.field("portfolio_item", name))  # type: ignore[return-value]

    @cached_property
    def _user_fk(self) -> ForeignKey[Any, Any]:
        field = self._field("user")
        if not isinstance(field, ForeignKey):
            raise TypeError(f"{self._model._meta.label}.{field.name} must be a foreign key to the user model")
        return field

    @cached_property
    def _session_user(self) -> str:
        return self.config.field("session", "user")

    def _user_value(self, learner: Learner) -> Any:
        # The value the entry's foreign key holds: the user's field it points at (to_field), not always pk.
        user = getattr(learner.session, self._session_user)
        return getattr(user, self._user_fk.target_field.attname)

    # -- applying ----------------------------------------------------------------------------------

    def apply(self, entries: Sequence[EntryToApply]) -> Counter[Outcome]:
        """Create, replace or keep each learner's entry (one entry per learner in ``entries``).

        Runs in a transaction of its own (a savepoint inside the caller's), under the locks: a fixed
        number of queries for any number of learners.
        """
        if not entries:
            return Counter()
        with transaction.atomic():
            self._lock_users(entries)
            plan = self.plan(entries, lock=True)
            self._model._default_manager.bulk_create(plan.created)
            if plan.replaced:
                self._model._default_manager.bulk_update(plan.replaced, self._replaced_fields)
        return plan.outcomes

    def plan(self, entries: Sequence[EntryToApply], *, lock: bool = False) -> Plan:
        """What :meth:`apply` would do, written nowhere (for a dry run; ``apply`` locks the rows first)."""
        existing = self._existing(entries, lock)
        linked = self._linked_order([item for item in existing.values() if item is not None])
        plan = Plan(Counter(), [], [])
        now = timezone.now()
        for wanted in entries:
            item = existing[self._key(wanted)]
            if item is None:
                plan.created.append(self._new_item(wanted))
                plan.outcomes["created"] += 1
                continue
            outcome = self._outcome(wanted, item, linked)
            if outcome == "replaced":
                self._replace(item, wanted, now)
                plan.replaced.append(item)
            plan.outcomes[outcome] += 1
        return plan

    def _key(self, wanted: EntryToApply) -> tuple[str, str, str]:
        return (str(self._user_value(wanted.learner)), wanted.entry["item_type"], wanted.entry["title"])

    def _lock_users(self, entries: Sequence[EntryToApply]) -> None:
        users = self._user_fk.related_model._default_manager
        pks = sorted({wanted.learner.user_pk for wanted in entries})  # one order for every writer: no deadlock
        list(users.select_for_update().filter(pk__in=pks).order_by("pk").values_list("pk", flat=True))

    def _existing(self, entries: Sequence[EntryToApply], lock: bool) -> dict[tuple[str, str, str], Model | None]:
        """Each learner's entry, by (user, item type, title); the newest when the host holds several."""
        found: dict[tuple[str, str, str], Model | None] = {self._key(wanted): None for wanted in entries}
        f = self.config.field
        newest_first = [f"-{f('portfolio_item', 'created_at')}", "-pk"] if self._has("created_at") else ["-pk"]
        items = self._model._default_manager
        rows = (
            (items.select_for_update() if lock else items.all())
            .filter(
                **{
                    f"{self._user_fk.attname}__in": list({self._user_value(wanted.learner) for wanted in entries}),
                    f"{f('portfolio_item', 'item_type')}__in": list({wanted.entry["item_type"] for wanted in entries}),
                    f"{f('portfolio_item', 'title')}__in": list({wanted.entry["title"] for wanted in entries}),
                }
            )
            .order_by(*newest_first)
        )
        for item in rows:
            key = (
                str(getattr(item, self._user_fk.attname)),
                getattr(item, f("portfolio_item", "item_type")),
                getattr(item, f("portfolio_item", "title")),
            )
            if key in found and found[key] is None:
                found[key] = item
        return found

    def _has(self, name: str) -> bool:
        return bool(self.config.values["FIELDS"]["portfolio_item"].get(name))

    @cached_property
    def _link(self) -> Field[Any, Any]:
        """The entry's field that links its session (a UUID on the platform; a foreign key works too)."""
        return self._field("session")

    def _linked_order(self, items: list[Model]) -> dict[str, tuple[Any, ...]]:
        """The order key of each session the entries link, by its key as text. One query, or none."""
        linked = {getattr(item, self._link.attname) for item in items} - {None}
        if not linked:
            return {}
        f = self.config.field
        sessions = self.config.model("session")._default_manager.filter(pk__in=list(linked))
        rows = sessions.values_list("pk", f("session", "completed_at"), f("session", "started_at"))
        return {str(pk): _order(completed, started, pk) for pk, completed, started in rows}

    def _outcome(self, wanted: EntryToApply, item: Model, linked: Mapping[str, tuple[Any, ...]]) -> Outcome:
        if wanted.entry["on_retake"] == "keep":
            return "kept"
        session = wanted.learner.session
        link = getattr(item, self._link.attname)
        if link is not None and str(link) != str(session.pk):
            mine = _order(
                getattr(session, self.config.field("session", "completed_at")),
                getattr(session, self.config.field("session", "started_at")),
                session.pk,
            )
            theirs = linked.get(str(link))
            if theirs is not None and theirs > mine:
                return "older"
        same = str(link) == str(session.pk) and getattr(item, self._field("summary").attname) == wanted.entry["summary"]
        return "unchanged" if same else "replaced"

    def _replace(self, item: Model, wanted: EntryToApply, now: Any) -> None:
        setattr(item, self._field("summary").attname, wanted.entry["summary"])
        setattr(item, self._link.attname, wanted.learner.session.pk)
        if self._has("updated_at"):
            # bulk_update does not run auto_now: the time is set here.
            setattr(item, self._field("updated_at").attname, now)

    @cached_property
    def _replaced_fields(self) -> list[str]:
        names = ["summary", "session", *(["updated_at"] if self._has("updated_at") else [])]
        return [self._field(name).name for name in names]

    def _new_item(self, wanted: EntryToApply) -> Model:
        entry = wanted.entry
        values = {
            self._user_fk.attname: self._user_value(wanted.learner),
            **{
                self._field(name).attname: entry[name]
                for name in ("title", "summary", "item_type", "status", "visibility")
            },
            self._link.attname: wanted.learner.session.pk,
            **self.config["PORTFOLIO_CREATE_DEFAULTS"],
        }
        return self._model(**values)


def _order(completed: Any, started: Any, pk: Any) -> tuple[Any, ...]:
    """A session's place in the order of :meth:`ResultSource.complete_sessions`, the latest greatest:
    by ``completed_at`` (a session without one before every session with one), then ``started_at``,
    then the key."""
    return (completed is not None, completed, started is not None, started, pk)


__all__ = ["EntryToApply", "Outcome", "Plan", "PortfolioWriter"]
