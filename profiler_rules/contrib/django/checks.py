"""System checks: ``manage.py check`` reports invalid rules and bad ``PROFILER_RULES`` settings.

Cheap by design: the rules are loaded once, as the dispatcher would load them (the plugins found, every
rule file read and validated), and nothing is dispatched, queried or kept. Each rule-file problem is one
message at its ``file:line:col``; each bad setting one message naming the key, with a hint. The ids:

========================  =========================================================================
``profiler_rules.E001``   a rule file has a problem (the message is the linter line ``check`` prints)
``profiler_rules.E002``   ``RULES_DIR`` can not be used: missing, not a directory, unreadable, not a path
``profiler_rules.E003``   ``PROFILER_RULES`` is not a dict
``profiler_rules.E004``   ``USER_ID`` is not ``"pk"`` or ``"uuid_id"``, or the user model lacks that field
``profiler_rules.E005``   a ``MODELS`` entry names no installed model
``profiler_rules.E006``   a ``FIELDS`` entry names no field of its model (``__`` paths followed)
``profiler_rules.E007``   a dotted path (``RESULT_SOURCE``, ``VIEWER_SOURCE``, ``RELATIONS``, a ``RECORDS`` sink) does not import
``profiler_rules.E008``   ``WATCH`` is on but watchfiles is not installed
``profiler_rules.E009``   a setting has the wrong type (``CHUNK_SIZE`` not a positive integer, ...)
``profiler_rules.E010``   ``RECORDS["SPOOL"]["DIR"]`` can not be made, or is not a writable directory
``profiler_rules.W001``   an unknown key in ``PROFILER_RULES`` (a typo such as ``RULE_DIR``)
``profiler_rules.W002``   an unknown key in ``MODELS``, ``FIELDS``, ``RELATIONS``, ``RECORDS`` or its ``SPOOL``
``profiler_rules.W003``   a rule file has a warning (an engine serving its packaged default, ...)
``profiler_rules.W004``   a plugin failed to load: its engine is left out
``profiler_rules.W005``   ``WATCH`` is on for the packaged rules, which are never watched
========================  =========================================================================
"""

from __future__ import annotations

import difflib
import os
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib.util import find_spec
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.checks import Warning as CheckWarning
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.utils.module_loading import import_string

from .conf import (
    DEFAULT_FIELDS,
    DEFAULT_MODELS,
    DEFAULT_RECORDS,
    DEFAULT_SPOOL,
    DEFAULTS,
    MIN_CELERY_CHUNK_SIZE,
    SETTING,
)
from .viewers import RELATIONS

TAG = "profiler_rules"
APP_LABEL = "profiler_rules"
USER_IDS = ("pk", "uuid_id")
DOTTED_KEYS = ("RESULT_SOURCE", "VIEWER_SOURCE")


def _error(number: int, message: str, hint: str) -> Error:
    return Error(message, hint=hint, id=f"{APP_LABEL}.E{number:03d}")


def _warning(number: int, message: str, hint: str) -> CheckWarning:
    return CheckWarning(message, hint=hint, id=f"{APP_LABEL}.W{number:03d}")


def _ours(app_configs: Sequence[AppConfig] | None) -> bool:
    """Whether this run checks the app: all apps, or a list that names it (``check profiler_rules``)."""
    return app_configs is None or any(config.label == APP_LABEL for config in app_configs)


def _given() -> Any:
    return getattr(settings, SETTING, None)


# --- the settings ----------------------------------------------------------------------------------


@register(TAG)
def check_settings(app_configs: Sequence[AppConfig] | None = None, **_: Any) -> list[CheckMessage]:
    """Every key of ``PROFILER_RULES``: known, of the right type, naming models, fields and code that exist."""
    if not _ours(app_configs):
        return []
    given = _given()
    if given is None:
        return []
    if not isinstance(given, Mapping):
        return [
            _error(
                3,
                f"{SETTING} must be a dict, not {type(given).__name__}",
                f"write {SETTING} = {{...}} with only the keys that differ from the defaults, or leave it out",
            )
        ]
    messages = _unknown(given, DEFAULTS, SETTING, 1)
    for check in (_rules_dir, _user_id, _models, _fields, _dotted_paths, _watch, _types, _records):
        messages.extend(check(given))
    return messages


def _unknown(given: Mapping[Any, Any], known: Iterable[str], where: str, number: int) -> list[CheckMessage]:
    """A warning per key the app does not read, with the known key it most resembles."""
    known = list(known)
    return [
        _warning(number, f"{where} has an unknown key {key!r}; the app does not read it", _did_you_mean(key, known))
        for key in given
        if key not in known
    ]


def _did_you_mean(written: Any, known: Sequence[str]) -> str:
    choices = {choice.casefold(): choice for choice in known}
    close = difflib.get_close_matches(str(written).casefold(), list(choices), n=1, cutoff=0.6)
    if close:
        return f"did you mean {choices[close[0]]!r}?"
    return f"the keys are {', '.join(known)}"


def _rules_dir(given: Mapping[str, Any]) -> list[CheckMessage]:
    # Only the type here: whether the directory can be used is the rules' check (it loads them).
    value = given.get("RULES_DIR")
    if value is None or isinstance(value, str | os.PathLike):
        return []
    return [
        _error(
            2,
            f"{SETTING}['RULES_DIR'] must be a path or None, not {type(value).__name__}",
            "name your rules directory (as a str or Path), or None for the rules packaged with profiler-rules",
        )
    ]


def _user_id(given: Mapping[str, Any]) -> list[CheckMessage]:
    value = given.get("USER_ID", DEFAULTS["USER_ID"])
    if value not in USER_IDS:
        return [
            _error(
                4,
                f"{SETTING}['USER_ID'] is {value!r}; it must be 'pk' or 'uuid_id'",
                "'pk' gives the rules the user's primary key as the learner's id; 'uuid_id' the user's uuid_id field",
            )
        ]
    if value == "pk":
        return []
    user = _model_of(given, "session")
    user = _related(user, _field_names(given, "session").get("user", "user")) if user is not None else None
    if user is None or _has_field(user, value):
        return []
    return [
        _error(
            4,
            f"{SETTING}['USER_ID'] is {value!r}, but {user._meta.label} has no field {value!r}",
            "use 'pk', or give the user model that field",
        )
    ]


def _models(given: Mapping[str, Any]) -> list[CheckMessage]:
    models = given.get("MODELS", {})
    if not isinstance(models, Mapping):
        return [_wrong_type("MODELS", "a dict of 'app_label.ModelName' by what it holds", models)]
    messages = _unknown(models, DEFAULT_MODELS, f"{SETTING}['MODELS']", 2)
    for key, label in {**DEFAULT_MODELS, **models}.items():
        if key in DEFAULT_MODELS and _model(label) is None:
            messages.append(
                _error(
                    5,
                    f"{SETTING}['MODELS'][{key!r}] is {label!r}, which names no installed model",
                    "write 'app_label.ModelName' of a model in an app of INSTALLED_APPS",
                )
            )
    return messages


def _fields(given: Mapping[str, Any]) -> list[CheckMessage]:
    fields = given.get("FIELDS", {})
    if not isinstance(fields, Mapping) or not all(isinstance(names, Mapping) for names in fields.values()):
        return [_wrong_type("FIELDS", "a dict of {name: field} dicts by model key", fields)]
    messages = _unknown(fields, DEFAULT_FIELDS, f"{SETTING}['FIELDS']", 2)
    for key, defaults in DEFAULT_FIELDS.items():
        messages.extend(_unknown(fields.get(key, {}), defaults, f"{SETTING}['FIELDS'][{key!r}]", 2))
        model = _model_of(given, key)
        if model is None:
            continue  # its MODELS entry is the message
        for name, path in {**defaults, **fields.get(key, {})}.items():
            problem = _path_problem(model, path) if name in defaults else None
            if problem is not None:
                messages.append(
                    _error(
                        6,
                        f"{SETTING}['FIELDS'][{key!r}][{name!r}] is {path!r}: {problem}",
                        f"name a field of {model._meta.label}, or a path through its relations such as 'question__category'",
                    )
                )
    return messages


def _path_problem(model: type[Model], path: Any) -> str | None:
    """Why ``path`` (``field`` or ``relation__field``) does not lead to a field of ``model``, or None."""
    if not isinstance(path, str) or not path:
        return "a field name must be non-empty text"
    current = model
    parts = path.split("__")
    for position, part in enumerate(parts):
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return f"{current._meta.label} has no field {part!r}"
        if position < len(parts) - 1:
            if field.related_model is None or isinstance(field.related_model, str):
                return f"{current._meta.label}.{part} is not a relation, so {'__'.join(parts[position + 1 :])!r} can not follow it"
            current = field.related_model
    return None


def _dotted_paths(given: Mapping[str, Any]) -> list[CheckMessage]:
    messages = [
        message for key in DOTTED_KEYS if key in given for message in _dotted_path(f"{SETTING}[{key!r}]", given[key])
    ]
    relations = given.get("RELATIONS", {})
    if not isinstance(relations, Mapping):
        return [*messages, _wrong_type("RELATIONS", "a dict of dotted paths by relation", relations)]
    messages.extend(_unknown(relations, RELATIONS, f"{SETTING}['RELATIONS']", 2))
    for name, path in relations.items():
        messages.extend(_dotted_path(f"{SETTING}['RELATIONS'][{name!r}]", path))
    return messages


def _dotted_path(where: str, path: Any) -> list[CheckMessage]:
    if not isinstance(path, str):
        return [
            _error(7, f"{where} must be a dotted path (text), not {type(path).__name__}", "write 'package.module.name'")
        ]
    try:
        import_string(path)
    except ImportError as error:
        return [
            _error(
                7,
                f"{where} is {path!r}, which does not import: {error}",
                "write 'package.module.name' of an importable object",
            )
        ]
    return []


def _records(given: Mapping[str, Any]) -> list[CheckMessage]:
    """``RECORDS``: a dict of known keys, its flags True or False, each sink a dotted path that imports
    (or ``{"CLASS": dotted path, "OPTIONS": {...}}``)."""
    records = given.get("RECORDS", {})
    if not isinstance(records, Mapping):
        return [_wrong_type("RECORDS", "a dict (ENABLED, SINKS, RECORD_PROTECTED)", records)]
    where = f"{SETTING}['RECORDS']"
    messages = _unknown(records, DEFAULT_RECORDS, where, 2)
    for flag in ("ENABLED", "RECORD_PROTECTED"):
        if flag in records and not isinstance(records[flag], bool):
            messages.append(_wrong_type("RECORDS", f"a dict whose {flag} is True or False", records))
    sinks = records.get("SINKS", ())
    if not isinstance(sinks, list | tuple):
        return [*messages, _wrong_type("RECORDS", "a dict whose SINKS is a list of dotted paths", records)]
    for index, sink in enumerate(sinks):
        path = sink.get("CLASS") if isinstance(sink, Mapping) else sink
        messages.extend(_dotted_path(f"{where}['SINKS'][{index}]", path))
        if isinstance(sink, Mapping) and not isinstance(sink.get("OPTIONS", {}), Mapping):
            messages.append(_wrong_type("RECORDS", "a dict whose each sink's OPTIONS is a dict", records))
    return [*messages, *_spool(records.get("SPOOL"))]


def _spool(spool: Any) -> list[CheckMessage]:
    """``RECORDS["SPOOL"]``: ``None``, or a dict whose ``DIR`` is a directory this process can make and
    write, ``FLUSH_SECONDS`` a positive number and ``BATCH`` a positive integer."""
    if spool is None:
        return []
    what = "a dict whose SPOOL is None or {'DIR': path, 'FLUSH_SECONDS': seconds, 'BATCH': records}"
    if not isinstance(spool, Mapping) or not isinstance(spool.get("DIR"), str | os.PathLike) or not spool["DIR"]:
        return [_wrong_type("RECORDS", what, spool)]
    messages = _unknown(spool, DEFAULT_SPOOL, f"{SETTING}['RECORDS']['SPOOL']", 2)
    seconds, batch = spool.get("FLUSH_SECONDS", 1.0), spool.get("BATCH", 1)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
        messages.append(_wrong_type("RECORDS", "a dict whose SPOOL's FLUSH_SECONDS is a positive number", spool))
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        messages.append(_wrong_type("RECORDS", "a dict whose SPOOL's BATCH is a positive integer", spool))
    problem = _unwritable(os.fspath(spool["DIR"]))
    if problem:
        messages.append(
            _error(
                10,
                f"{SETTING}['RECORDS']['SPOOL']['DIR'] is {os.fspath(spool['DIR'])!r}, which {problem}",
                "name a directory on a local disk that the web and worker processes can write, or set SPOOL to None",
            )
        )
    return messages


def _unwritable(directory: str) -> str | None:
    """Why records can not be spooled to ``directory`` (made here if missing), or ``None``."""
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as error:
        return f"can not be made: {error.strerror or error}"
    if not os.access(directory, os.W_OK | os.X_OK):
        return "is not writable by this process"
    return None


def _watch(given: Mapping[str, Any]) -> list[CheckMessage]:
    if given.get("WATCH") is not True:
        return []
    if given.get("RULES_DIR") is None:
        return [
            _warning(
                5,
                f"{SETTING}['WATCH'] is on, but the packaged rules are served, and they are never watched",
                "set RULES_DIR to your rules directory, or WATCH to False",
            )
        ]
    if find_spec("watchfiles") is None:
        return [
            _error(
                8,
                f"{SETTING}['WATCH'] is on, but watchfiles is not installed",
                "pip install 'profiler-rules[watch]', or set WATCH to False",
            )
        ]
    return []


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(_is_text(item) for item in value)


def _is_renames(value: Any) -> bool:
    return isinstance(value, Mapping) and all(_is_text(key) and _is_text(item) for key, item in value.items())


#: What each plain setting must be, in words and as a test.
_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "WATCH": ("True or False", lambda value: isinstance(value, bool)),
    "ROLES": ("a dict of the host's role names to the access rules' names", _is_renames),
    "STAFF_ROLE": ("a role name, or None", lambda value: value is None or _is_text(value)),
    "COMPLETE_STATUSES": ("a list of session statuses", lambda value: _is_text_list(value) and bool(value)),
    "ACTIVE_STATUS": ("a status (text)", _is_text),
    "IDENTITY_CATEGORY": ("a question category (text)", _is_text),
    "CHUNK_SIZE": (
        "a positive integer",
        lambda value: isinstance(value, int) and not isinstance(value, bool) and value > 0,
    ),
    "CELERY_CHUNK_SIZE": (
        f"an integer of at least {MIN_CELERY_CHUNK_SIZE:,}",
        lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= MIN_CELERY_CHUNK_SIZE,
    ),
    "CELERY_QUEUE": ("a queue name, or None", lambda value: value is None or _is_text(value)),
}


def _types(given: Mapping[str, Any]) -> list[CheckMessage]:
    return [
        _wrong_type(key, what, given[key])
        for key, (what, valid) in _TYPES.items()
        if key in given and not valid(given[key])
    ]


def _wrong_type(key: str, what: str, value: Any) -> Error:
    return _error(
        9,
        f"{SETTING}[{key!r}] must be {what}; it is {_described(value)}",
        f"fix {key}, or leave it out for the default: {DEFAULTS[key]!r}",
    )


def _described(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"


# --- models and fields, without raising -------------------------------------------------------------


def _model(label: Any) -> type[Model] | None:
    if not isinstance(label, str):
        return None
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _model_of(given: Mapping[str, Any], key: str) -> type[Model] | None:
    models = given.get("MODELS", {})
    label = models.get(key, DEFAULT_MODELS[key]) if isinstance(models, Mapping) else DEFAULT_MODELS[key]
    return _model(label)


def _field_names(given: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    fields = given.get("FIELDS", {})
    names = fields.get(key, {}) if isinstance(fields, Mapping) else {}
    return {**DEFAULT_FIELDS[key], **(names if isinstance(names, Mapping) else {})}


def _related(model: type[Model], name: Any) -> type[Model] | None:
    try:
        related = model._meta.get_field(name).related_model
    except (FieldDoesNotExist, TypeError):
        return None
    return related if isinstance(related, type) else None


def _has_field(model: type[Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


# --- the rules ------------------------------------------------------------------------------------


@register(TAG)
def check_rules(app_configs: Sequence[AppConfig] | None = None, **_: Any) -> list[CheckMessage]:
    """The configured rules, loaded as the dispatcher loads them: one message per problem, at file:line:col."""
    from profiler_rules.core.errors import RulesDirectoryError, RulesError
    from profiler_rules.core.plugins import discover_plugins
    from profiler_rules.core.ruleset import load_ruleset, rules_directory

    if not _ours(app_configs):
        return []
    given = _given()
    rules = given.get("RULES_DIR") if isinstance(given, Mapping) else None
    if rules is not None and not isinstance(rules, str | os.PathLike):
        return []  # the settings' check says so
    registry = discover_plugins()
    messages: list[CheckMessage] = [
        _warning(4, problem, "pip install the plugin's requirements, or disable it (PROFILER_RULES_DISABLED_PLUGINS)")
        for problem in registry.problems
    ]
    try:
        ruleset = load_ruleset(registry.engines, rules_directory(rules), ignored_stems=registry.ignored_stems)
    except RulesDirectoryError as error:
        problem = error.problems[0]
        return [
            *messages,
            _error(
                2,
                f"{SETTING}['RULES_DIR']: {problem.file}: {problem.message}",
                "name an existing rules directory ('profiler-rules init DIR' writes one), or None for the packaged rules",
            ),
        ]
    except RulesError as error:
        hint = (
            f"'{_check_command(rules)}' (or 'manage.py profiler_rules check') lists them all; fix them and check again"
        )
        return [*messages, *(_error(1, problem.format(), hint) for problem in error.problems)]
    hint = f"'{_check_command(rules)}' shows them too"
    return [*messages, *(_warning(3, problem.format(), hint) for problem in ruleset.warnings)]


def _check_command(rules: str | os.PathLike[str] | None) -> str:
    return "profiler-rules check" + ("" if rules is None else f" --rules {shlex.quote(os.fspath(rules))}")
