"""The host's catalog rows (missions, recipes, jobs) as the engines' catalog items, and back.

A catalog is read in one query, ``.values()`` of its model (``MODELS``): each row as a dict of its
columns, as ``model_to_dict`` would give it, which is what the views answer with. From each row an
item is made of the fields the engine reads, taken from the host's columns that ``FIELDS`` names (the
id is the primary key). Engines answer with item ids, as text and in their order; :meth:`Catalog.rows`
turns those back into the host's rows.

Only active rows are read when ``FIELDS[model]["active"]`` names a flag (``None``: every row).

Validating a catalog's items costs more than an engine's whole answer (200 recipes: four times the
ranking), and catalogs seldom change: :meth:`Catalog.prepared` keeps the items the dispatcher validated
last, per catalog, and reuses them while the rows read hold the same items. The rows are read on every
request all the same, so a change is seen at once, by every process, whoever made it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from profiler_rules import Catalogs, Dispatcher

from .conf import AppSettings, app_settings

#: Each catalog an engine reads: the ``MODELS`` key of its rows, each item field the engine reads with
#: the ``FIELDS`` key of the column it comes from (the id is always the primary key), and the ``FIELDS``
#: keys the rows are listed by (then the primary key). Missions are listed easiest first, as the
#: platform lists them; the engines rank recipes and jobs themselves.
CATALOGS: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "missions": ("mission", {"title": "title", "difficulty": "difficulty"}, ("difficulty",)),
    "recipes": (
        "recipe",
        {
            "title": "title",
            "skill_codes": "skill_codes",
            "usage_count": "usage_count",
            "avg_rating": "avg_rating",
            "is_active": "active",
        },
        (),
    ),
    "jobs": ("job", {"title": "title", "required_skills": "required_skills"}, ()),
}


@dataclass(frozen=True)
class Catalog:
    """One catalog read from the host: its rows by id (as text), and the items for the engine."""

    name: str
    by_id: Mapping[str, Mapping[str, Any]]
    items: tuple[Mapping[str, Any], ...]

    def rows(self, ids: Iterable[str]) -> list[Mapping[str, Any]]:
        """The host's rows of ``ids`` (as an engine answers them: text, ranked), in that order."""
        return [self.by_id[item_id] for item_id in ids]

    def prepared(self, dispatcher: Dispatcher) -> Catalogs:
        """The items as ``dispatcher`` validated them (:meth:`Dispatcher.prepare_catalogs`), for
        ``dispatch(..., catalogs=...)``: validated again only when they differ from the last ones.

        :raises InvalidInputError: naming each invalid item's field, as ``prepare_catalogs`` does.
        """
        with _lock:
            last = _prepared.setdefault(dispatcher, {}).get(self.name)
        # Equal items (compared deeply, field by field: text, numbers, decimals, UUIDs, lists) validate
        # alike, so their validation is reused.
        if last is not None and last[0] == self.items:
            return last[1]
        prepared = dispatcher.prepare_catalogs({self.name: self.items})
        with _lock:
            _prepared[dispatcher][self.name] = (self.items, prepared)
        return prepared


# Per dispatcher (forgotten with it), per catalog: the items last validated, and what validation made.
_prepared: WeakKeyDictionary[Dispatcher, dict[str, tuple[tuple[Mapping[str, Any], ...], Catalogs]]] = (
    WeakKeyDictionary()
)
_lock = threading.Lock()


def load(name: str, *, where: Mapping[str, Any] | None = None, config: AppSettings | None = None) -> Catalog:
    """Read the catalog ``name`` (``"missions"``, ``"recipes"``, ``"jobs"``) in one query.

    :param where: Narrow the rows further, by ``FIELDS`` key: ``{"difficulty": 3}``.
    """
    config = config or app_settings()
    model_key, item_fields, order = CATALOGS[name]
    model = config.model(model_key)
    columns = config.values["FIELDS"][model_key]
    # An item field whose column is None (a host without that column) is left to the engine's default.
    read = {field: columns[key] for field, key in item_fields.items() if columns.get(key)}
    query = model._default_manager.all()
    active = columns.get("active")
    if active:
        query = query.filter(**{active: True})
    if where:
        query = query.filter(**{columns[key]: value for key, value in where.items()})
    pk = model._meta.pk.attname
    # Every column (as model_to_dict has them), and any FIELDS path reached through a relation.
    names = [field.attname for field in model._meta.concrete_fields]
    names += [column for column in read.values() if column not in names]
    rows = query.order_by(*(columns[key] for key in order), "pk").values(*names)
    by_id: dict[str, Mapping[str, Any]] = {}
    items: list[Mapping[str, Any]] = []
    for row in rows:
        item = {"id": row[pk], **{field: row[column] for field, column in read.items()}}
        by_id[str(row[pk])] = row
        items.append(item)
    return Catalog(name, by_id, tuple(items))


__all__ = ["CATALOGS", "Catalog", "load"]
