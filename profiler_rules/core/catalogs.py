"""Catalogs: the host's lists of items (missions, recipes, jobs) that engines read, validated once.

A dispatcher reads them with the readers of its engines (:func:`catalog_readers`) in
:meth:`Dispatcher.prepare_catalogs`, which answers a :class:`Catalogs` to pass to many dispatches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from .readonly import read_only
from .ruleset import LoadableEngine


@dataclass(frozen=True, slots=True)
class Catalogs:
    """Catalogs validated once by :meth:`Dispatcher.prepare_catalogs`, to pass to many dispatches.

    ``ignored`` names the catalogs given that no loaded engine reads (their engine's plugin is disabled,
    say), and ``warnings`` says so in words, one line each; those catalogs are left out of ``items``.

    Read-only, items and all, from the moment they are made: every dispatch they are passed to shares
    them, so no engine may change what the next one reads.
    """

    items: Mapping[str, tuple[Any, ...]]
    ignored: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", read_only(self.items))


NO_CATALOGS = Catalogs({})
"""No catalogs at all: what a dispatch given none, and an aggregation, run with."""


def catalog_readers(engines: Iterable[LoadableEngine]) -> dict[str, TypeAdapter[Any]]:
    """A validator of each catalog the engines read, by name: a tuple of the catalog's item model."""
    readers: dict[str, TypeAdapter[Any]] = {}
    for item in engines:
        for name, model in item.engine.catalogs.items():
            readers.setdefault(name, TypeAdapter(tuple[model, ...]))
    return readers
