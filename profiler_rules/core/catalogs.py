"""Catalogs: the host's lists of items (missions, recipes, jobs) that engines read, validated once.

A dispatcher reads them with the readers of its engines (:func:`catalog_readers`) in
:meth:`Dispatcher.prepare_catalogs`, which answers a :class:`Catalogs` to pass to many dispatches.
"""

from __future__ import annotations

import marshal
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


def content_key(value: Any) -> bytes | None:
    """``value`` as bytes that only an equal value of the same types gives, or ``None`` when it holds
    anything but plain data (dicts, lists, tuples, sets, text, numbers, booleans, ``None``).

    marshal writes exactly those types, each tagged with its type (``1``, ``1.0``, ``True`` and ``"1"``
    differ, as validation may tell them apart), and refuses any other type, subclasses included: a
    host's own mapping or a datetime is never taken for plain data it merely resembles. Written in C,
    it costs a tenth of validating the catalogs it keys.
    """
    try:
        return marshal.dumps(value, 4)
    except (ValueError, RecursionError):
        return None


class PreparedByContent:
    """Catalogs prepared from raw ones, by their content (see :func:`content_key`), the most recent first
    kept. Shared by every thread dispatching: a lost store or two threads preparing the same catalogs is
    a benign race, both prepare the same catalogs."""

    ENTRIES = 8
    """Distinct raw catalogs kept: a host passes the same one or few on every call."""
    LARGEST_KEY = 16 << 20
    """Catalogs whose content takes more bytes are prepared on every call, as a host may not expect them
    to be held in memory twice over."""

    def __init__(self) -> None:
        self._entries: dict[bytes, Catalogs] = {}

    def get(self, key: bytes | None) -> Catalogs | None:
        return None if key is None else self._entries.get(key)

    def put(self, key: bytes | None, prepared: Catalogs) -> None:
        if key is None or len(key) > self.LARGEST_KEY:
            return
        entries = self._entries
        while len(entries) >= self.ENTRIES:
            try:
                del entries[next(iter(entries))]  # the oldest
            except (KeyError, StopIteration, RuntimeError):  # another thread changed them meanwhile
                break
        entries[key] = prepared
