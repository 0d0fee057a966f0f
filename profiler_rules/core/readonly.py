"""Deeply read-only rules: what engines are handed can not be changed by them.

Every dispatch under a rule set reads the same rule objects, the same prepared catalogs and the same
access policy; an engine that changed any of them (``settings.level_caps[...] = ...``,
``context.rules_by_engine.pop("recipes")``) would change the answers of later results under the same digest.
So a rule set is made read-only once, when it is loaded, and prepared catalogs once, when prepared:
never per result.

:func:`read_only` returns a read-only version of a value, as deep as it goes:

* dicts become :class:`ReadOnlyDict`, lists :class:`ReadOnlyList`, sets :class:`ReadOnlySet` (subclasses
  of the built-in types, which pydantic writes exactly as it writes the built-ins, so reports do not
  change by a byte), tuples and frozensets hold read-only items;
* a pydantic model or dataclass instance becomes a copy of a read-only subclass of its class (made once
  per class, with the same name), holding read-only values. ``functools.cached_property`` values keep
  working: each is computed on first use, as before, and stored read-only;
* a frozen model or dataclass whose fields and cached properties are all declared to hold values that
  can not change (text, numbers, tuples of them, other such records) is read-only already, and is kept
  as it is: most catalog items are, and a host may pass raw catalogs to every dispatch;
* anything else (text, numbers, enums, functions, compiled patterns) is kept as it is.

Changing a read-only value raises ``TypeError("rules are read-only: ...")`` (pydantic's "Instance is
frozen" for a frozen model kept as it is), which becomes the error of the engine that tried. Copies
made with ``dict(value)``, ``list(value)``, ``set(value)`` or ``value.copy()`` are ordinary, mutable
values: an engine may build on its rules, just not change them. A determined engine can still reach
past this (``object.__setattr__``); it guards against mistakes, it is not a sandbox.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from functools import cached_property
from inspect import getattr_static
from types import UnionType
from typing import (
    Annotated,
    Any,
    Literal,
    NoReturn,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)
from uuid import UUID

from pydantic import BaseModel

from .models import FrozenDict
from .rulefile import Rules

T = TypeVar("T")

_MESSAGE = "rules are read-only"


def _refuse(what: str) -> NoReturn:
    raise TypeError(f"{_MESSAGE}: {what}")


class ReadOnlyDict(FrozenDict):
    """A dict of rules: every read works, every change raises ``TypeError``."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("a mapping of the rules can not be changed; copy it with dict(...) to build on it")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[ReadOnlyDict], tuple[dict[Any, Any]]]:
        return (ReadOnlyDict, (dict(self),))


class ReadOnlyList(list[Any]):
    """A list of rules: every read works, every change raises ``TypeError``."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("a list of the rules can not be changed; copy it with list(...) to build on it")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse  # type: ignore[assignment]
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[ReadOnlyList], tuple[list[Any]]]:
        return (ReadOnlyList, (list(self),))


class ReadOnlySet(set[Any]):
    """A set of rules: every read works, every change raises ``TypeError``."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("a set of the rules can not be changed; copy it with set(...) to build on it")

    __ior__ = __iand__ = __isub__ = __ixor__ = _refuse  # type: ignore[assignment]
    add = discard = remove = pop = clear = update = _refuse  # type: ignore[assignment]
    intersection_update = difference_update = symmetric_difference_update = _refuse

    def __reduce__(self) -> tuple[type[ReadOnlySet], tuple[list[Any]]]:
        return (ReadOnlySet, (list(self),))

    def __repr__(self) -> str:
        return repr(set(self))  # as a set shows, as a dict and a list subclass show as theirs


def read_only(value: T) -> T:
    """A deeply read-only version of ``value`` (see the module's documentation); ``value`` itself is
    left as it was."""
    return _Freezer()(value)


def read_only_rules(rules: Mapping[str, Rules[Any]], access: T) -> tuple[Mapping[str, Rules[Any]], T]:
    """A rule set's parts, every engine's rules and the access policy, made read-only in one pass.

    Each engine's :class:`Rules` keeps its own cache of cited rules, which is not the rules' content.
    The access policy is a plain object; it and the objects it holds are made read-only too.
    """
    freezer = _Freezer()
    frozen = freezer(rules)
    freezer.objects = True
    return frozen, freezer(access)


class _Freezer:
    """One pass of :func:`read_only`: values met twice (shared, or a cycle) are frozen once.

    With ``objects`` set, instances of any plain class are made read-only too; otherwise only models
    and dataclasses are, so that a helper object an engine keeps in its rules (a template, a cache)
    goes on working.
    """

    def __init__(self) -> None:
        self.objects = False
        self._done: dict[int, Any] = {}
        self._keep: list[Any] = []  # the originals, alive while their ids are keys of _done

    def __call__(self, value: Any) -> Any:
        kind = _KINDS.get(type(value)) or _learn(type(value))
        if kind is _KEEP or (kind is _PLAIN and not self.objects):
            return value
        done = self._done.get(id(value))
        if done is not None:
            return done
        self._keep.append(value)
        if kind is _DICT:
            frozen_dict = self._remember(value, ReadOnlyDict())
            dict.update(frozen_dict, ((key, self(item)) for key, item in value.items()))
            return frozen_dict
        if kind is _LIST:
            frozen_list = self._remember(value, ReadOnlyList())
            list.extend(frozen_list, (self(item) for item in value))
            return frozen_list
        if kind is _SET:
            return self._remember(value, ReadOnlySet(self(item) for item in value))
        if kind is _SEQUENCE:
            if all(_KINDS.get(type(item)) is _KEEP for item in value):
                return value  # the common case, a catalog's items: read-only already, checked without a call each
            return self._remember(value, _same_kind(value, [self(item) for item in value]))
        if kind is _RULES:
            # Its own cache of cited rules stays writable: that is the engine's speed, not the rules.
            return self._remember(value, Rules(self(value.settings), value.file, self(value.lines)))
        cls = _read_only_class(type(value))
        return _fill(self._remember(value, cls.__new__(cls)), value, self)

    def _remember(self, original: Any, frozen: T) -> T:
        self._done[id(original)] = frozen
        return frozen


def _same_kind(value: tuple[Any, ...] | frozenset[Any], items: list[Any]) -> Any:
    if all(new is old for new, old in zip(items, value, strict=True)):
        return value  # already read-only all the way down: keep the very object
    if isinstance(value, frozenset):
        return frozenset(items)
    if hasattr(value, "_fields"):  # a named tuple
        return type(value)(*items)
    return tuple(items)


# How _Freezer treats the instances of a class: plain constants, as the check runs for every value.
_KEEP = "kept as it is"
_DICT = "a dict"
_LIST = "a list"
_SET = "a set"
_SEQUENCE = "a tuple or frozenset"
_RULES = "an engine's Rules"
_RECORD = "a pydantic model or dataclass instance"
_PLAIN = "an instance of another class defined in Python"
_KINDS: dict[type, str] = {}
"""Each class met, by kind: worked out once per class, as catalogs are made read-only per dispatch
when a host passes them unprepared."""

_IMMUTABLE = (str, bytes, int, float, complex, type(None), range, type, Enum, ReadOnlyDict, ReadOnlyList, ReadOnlySet)
"""Kept as they are: values that can not change, and containers this module made read-only."""

_ATOMIC = frozenset({str, int, float, bool, type(None)})
"""The commonest values of a model's fields, copied without a call."""

_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class defined in Python, whose instances may change class


def _learn(cls: type) -> str:
    # A benign race: two threads may learn the same class; both store the same kind.
    kind = _KINDS[cls] = _kind_of(cls)
    return kind


def _kind_of(cls: type) -> str:
    if issubclass(cls, _IMMUTABLE) or getattr(cls, "__read_only__", False):
        return _KEEP
    for base, kind in ((dict, _DICT), (list, _LIST), (set, _SET), (Rules, _RULES)):
        if issubclass(cls, base):
            return kind
    if issubclass(cls, tuple | frozenset):
        return _SEQUENCE
    if issubclass(cls, BaseModel) or dataclasses.is_dataclass(cls):
        return _KEEP if _sealed(cls) else _RECORD
    plain = cls.__flags__ & _HEAP_TYPE and cls.__new__ is object.__new__
    callable_instances = any("__call__" in vars(klass) for klass in cls.__mro__[:-1])
    return _PLAIN if plain and not callable_instances else _KEEP


def _sealed(cls: type) -> bool:
    """Whether every instance of ``cls``, a pydantic model or dataclass, is read-only through and
    through already: frozen, with no extra fields and no private attributes, and every field and cached
    property declared to hold values that can not change. Such instances are kept as they are."""
    return _immutable_type(cls, set())


_IMMUTABLE_TYPES = frozenset(
    {str, int, float, bool, bytes, complex, type(None), Decimal, date, datetime, time, timedelta, UUID}
)


def _immutable_type(annotation: Any, seen: set[type]) -> bool:
    """Whether a value declared as ``annotation`` can not change (conservatively: unknown means no)."""
    if annotation in _IMMUTABLE_TYPES or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        return True
    origin = get_origin(annotation)
    if origin is Literal:
        return True
    if origin is Annotated:
        return _immutable_type(get_args(annotation)[0], seen)
    if origin in (Union, UnionType, tuple, frozenset):
        arguments = [argument for argument in get_args(annotation) if argument is not Ellipsis]
        return bool(arguments) and all(_immutable_type(argument, seen) for argument in arguments)
    if isinstance(annotation, type) and (issubclass(annotation, BaseModel) or dataclasses.is_dataclass(annotation)):
        if annotation in seen:
            return False  # a record that holds itself: not worth proving
        seen.add(annotation)
        try:
            return _sealed_record(annotation, seen)
        finally:
            seen.discard(annotation)
    return False


def _sealed_record(cls: type, seen: set[type]) -> bool:
    if issubclass(cls, BaseModel):
        config = cls.model_config
        if not config.get("frozen") or config.get("extra") == "allow" or cls.__private_attributes__:
            return False
        fields = [field.annotation for field in cls.model_fields.values()]
    else:
        if not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            return False
        hints = _hints(cls)
        fields = [hints.get(field.name) for field in dataclasses.fields(cls)]
    cached = [getattr_static(cls, name, None) for name in dir(cls)]
    returns = [_hints(prop.func).get("return") for prop in cached if isinstance(prop, cached_property)]
    return all(_immutable_type(annotation, seen) for annotation in [*fields, *returns])


def _hints(owner: Any) -> dict[str, Any]:
    """The resolved annotations of a class or function; none (unknown) when they can not be resolved."""
    try:
        return get_type_hints(owner)
    except Exception:  # noqa: BLE001 - an annotation naming what is not importable here: unknown
        return {}


def _fill(frozen: Any, original: Any, deep: Callable[[Any], Any]) -> Any:
    """Copy ``original``'s state into ``frozen``, an instance of its read-only class (or of its own
    class, when pickling), each value passed through ``deep``."""
    if hasattr(original, "__dict__"):
        # Fields, and cached_property values a validator already computed.
        state = dict(original.__dict__)
        for name, item in state.items():
            if type(item) not in _ATOMIC:
                state[name] = deep(item)
        object.__setattr__(frozen, "__dict__", state)
    if isinstance(original, BaseModel):
        # A plain set, as pydantic's model_copy updates it; it only records which fields were given.
        object.__setattr__(frozen, "__pydantic_fields_set__", set(original.__pydantic_fields_set__))
        object.__setattr__(frozen, "__pydantic_extra__", deep(original.__pydantic_extra__))
        object.__setattr__(frozen, "__pydantic_private__", deep(original.__pydantic_private__))
        return frozen
    for name in _slot_names(type(original)):
        try:
            item = object.__getattribute__(original, name)
        except AttributeError:
            continue  # a slot never set stays unset
        object.__setattr__(frozen, name, deep(item))
    return frozen


def _slot_names(cls: type) -> Iterable[str]:
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__"):
                yield name


@functools.cache
def _read_only_class(cls: type[T]) -> type[T]:
    """The read-only subclass of ``cls``: same name, same fields, refusing every change.

    For a pydantic model the class is made with ``type.__new__``, not pydantic's metaclass, so no
    schema is built again: it inherits its validator and serializer, and names its original class as
    its origin, so that it compares equal to an instance of the original with the same values.
    """
    namespace: dict[str, Any] = {
        "__slots__": (),
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "__read_only__": True,
        "__setattr__": _refuse_attribute,
        "__delattr__": _refuse_attribute,
        "__reduce_ex__": _reduce_read_only,
        "__copy__": _copy_read_only,
        "__deepcopy__": _deepcopy_read_only,
    }
    for name in dir(cls):
        attribute = getattr_static(cls, name, None)
        if isinstance(attribute, cached_property):
            namespace[name] = _ReadOnlyCachedProperty(attribute)
    if issubclass(cls, BaseModel):
        metadata = cls.__pydantic_generic_metadata__
        namespace["__pydantic_generic_metadata__"] = {**metadata, "origin": metadata["origin"] or cls}
        return type.__new__(type(cls), cls.__name__, (cls,), namespace)
    return type(cls)(cls.__name__, (cls,), namespace)


def _refuse_attribute(self: Any, name: str, *args: Any) -> NoReturn:
    _refuse(f"'{name}' of {type(self).__name__} can not be changed")


def _reduce_read_only(self: Any, protocol: int) -> tuple[Any, ...]:
    # Pickled as the original class, made read-only again on loading: the read-only class is made at
    # run time and can not be found by name in another process.
    original = type(self).__mro__[1]
    return (read_only, (_fill(original.__new__(original), self, _identity),))


def _copy_read_only(self: Any) -> Any:
    return _fill(type(self).__new__(type(self)), self, _identity)


def _deepcopy_read_only(self: Any, memo: dict[int, Any] | None = None) -> Any:
    return _fill(type(self).__new__(type(self)), self, lambda item: copy.deepcopy(item, memo))


def _identity(value: T) -> T:
    return value


class _ReadOnlyCachedProperty:
    """A ``functools.cached_property`` whose value is stored read-only.

    Like the original, a non-data descriptor writing straight into the instance's ``__dict__``: once
    computed, the value is read from there at the speed of a plain attribute.
    """

    def __init__(self, original: cached_property[Any]) -> None:
        self.func = original.func
        self.attrname = original.attrname
        self.__doc__ = original.__doc__

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        cache = instance.__dict__
        try:
            return cache[self.attrname]
        except KeyError:
            pass
        # A benign race: two threads may compute the same value; both store an equal answer.
        value = read_only(self.func(instance))
        cache[self.attrname] = value
        return value
