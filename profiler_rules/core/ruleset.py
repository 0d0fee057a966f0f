"""Loading a rule set: every engine's YAML file, checked by its JSON Schema, then built into its model.

Loading is all or nothing: every problem of every file is collected and raised together as one
:class:`RulesError`, and a rule set exists only when there were none.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import os
import re
import shlex
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import jsonschema
from pydantic import BaseModel, ValidationError

from .access import ACCESS_NAME, ACCESS_SCHEMA, AccessPolicy, AccessRules
from .engine import Engine
from .errors import Problem, RulesDirectoryError, RulesError
from .faults import PASSED_THROUGH, describe
from .models import RulesetStamp
from .readonly import read_only_rules
from .rulefile import Rules, RuleViolation
from .ruleschema import settings_schema
from .yamlfile import (
    MAX_PROBLEMS,
    JsonPath,
    YamlDocument,
    format_path,
    one_line,
    read_yaml_file,
    resolve_plain,
    shown,
)

RULES_SUFFIX = ".yaml"
MANIFEST_NAME = "ruleset"
MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "profiler-rules rule set manifest",
    "description": "Optional facts about the whole rule set, stamped on every report.",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "version": {
            "type": "string",
            "description": (
                "A version for this rule set, stamped on every report beside its digest: "
                "one line of printable text, at most 100 characters."
            ),
            # Printed by check, explain and diff: no control characters to act on a terminal.
            "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
            "minLength": 1,
            "maxLength": 100,
            "examples": ["2026.11.1"],
        },
        "description": {
            "type": "string",
            "description": "What this rule set is for, in words.",
            "examples": ["Default rules of the profiler integrations"],
        },
    },
}


def _properties_in_file_order(
    validator: jsonschema.protocols.Validator, properties: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[jsonschema.ValidationError]:
    """draft-07 ``properties``, walking the instance's keys as written rather than the schema's."""
    if not validator.is_type(instance, "object"):
        return
    for name, value in instance.items():
        if name in properties:
            yield from validator.descend(value, properties[name], path=name, schema_path=name)


def _additional_properties_in_file_order(
    validator: jsonschema.protocols.Validator, allowed: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    """draft-07 ``additionalProperties``, walking the extra keys as written: jsonschema walks a set of
    them, whose order changes with ``PYTHONHASHSEED``, so past the problem limit a different
    selection of problems was shown on every run."""
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    extras = [name for name in instance if name not in known and not _matches_pattern(name, schema)]
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif allowed is False and extras:
        # The message is not shown: each unknown key becomes its own problem (see _unknown_keys).
        yield jsonschema.ValidationError(f"{len(extras)} unexpected key(s)")


RuleFileValidator = jsonschema.validators.extend(
    jsonschema.Draft7Validator,
    {"properties": _properties_in_file_order, "additionalProperties": _additional_properties_in_file_order},
)
"""A draft-07 validator that finds a rule file's problems in the order they are written."""

_METASCHEMA = jsonschema.Draft7Validator(jsonschema.Draft7Validator.META_SCHEMA)
_MANIFEST_VALIDATOR = RuleFileValidator(MANIFEST_SCHEMA)
_ACCESS_VALIDATOR = RuleFileValidator(ACCESS_SCHEMA)


class _Manifest(BaseModel):
    version: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LoadableEngine:
    """An engine with the schema generated from its settings model and its validator built."""

    engine: Engine
    schema: Mapping[str, Any]
    validator: jsonschema.protocols.Validator
    report_order: int

    @classmethod
    def prepare(cls, engine: Engine) -> LoadableEngine:
        """Generate and check the engine's schema; raises ``ValueError`` with a reason when it is unusable."""
        schema = checked_schema(engine.settings_model)
        return cls(engine, schema, RuleFileValidator(schema), engine.report_order)


@functools.cache
def checked_schema(model: type[BaseModel]) -> Mapping[str, Any]:
    """The rule-file schema generated from a settings model, checked to be valid draft-07: once per model
    class and process, however many dispatchers are built. Shared: never change it."""
    schema = settings_schema(model)
    # One metaschema validator for every engine: check_schema would build it again for each schema.
    problem = jsonschema.exceptions.best_match(_METASCHEMA.iter_errors(schema))
    if problem is not None:
        raise ValueError(f"the schema of its settings model {model.__name__} is not valid draft-07: {problem.message}")
    return schema


@dataclass(frozen=True, slots=True)
class RuleSet:
    """An immutable, fully validated rule set: each engine's rules, the access policy, the digest and
    the version."""

    rules_by_engine: Mapping[str, Rules[Any]]
    access: AccessPolicy
    digest: str
    version: str | None
    directory: str | None
    warnings: tuple[Problem, ...] = ()
    defaults: tuple[str, ...] = ()
    """The engines, sorted, that serve their packaged default rules: the rules directory has no file of theirs."""
    files: tuple[tuple[str, bytes], ...] = field(default=(), repr=False, compare=False)
    """Each rule file's stem and exact bytes, in the order the digest covers them (packaged defaults
    standing in included): what :func:`digest_of` hashes to :attr:`digest`, and what a rule-set archive
    keeps so that the rules behind a recorded decision can be shown long after they changed."""
    stamp: RulesetStamp = field(init=False, repr=False, compare=False)
    """What every report says of the rules that decided it (made once: every dispatch stamps it)."""

    def __post_init__(self) -> None:
        stamp = RulesetStamp(digest=self.digest, version=self.version, defaults=self.defaults)
        object.__setattr__(self, "stamp", stamp)


@dataclass(frozen=True, slots=True)
class _Kind:
    """One kind of rule file: an engine's, or one the core owns (the manifest, the access rules).

    ``when_missing`` says what a rules directory without the file gets: the packaged ``default`` (an
    engine's rules, so that installing a plugin leaves every rules directory valid), a problem (the
    access rules: deny by default is the core's, and a host must write it), or nothing (the manifest).
    """

    stem: str
    validator: jsonschema.protocols.Validator
    model: type[BaseModel]
    default: Traversable | Path
    when_missing: Literal["default", "problem", "skip"]
    what: str


def _core_kinds() -> list[_Kind]:
    packaged = files("profiler_rules").joinpath("rules")
    return [
        _Kind(
            MANIFEST_NAME,
            _MANIFEST_VALIDATOR,
            _Manifest,
            packaged.joinpath(f"{MANIFEST_NAME}{RULES_SUFFIX}"),
            "skip",
            "the manifest",
        ),
        _Kind(
            ACCESS_NAME,
            _ACCESS_VALIDATOR,
            AccessRules,
            packaged.joinpath(f"{ACCESS_NAME}{RULES_SUFFIX}"),
            "problem",
            "the access rules",
        ),
    ]


@dataclass(frozen=True, slots=True)
class _Source:
    """Where one kind's rules are read from, and, for a packaged default standing in, the warning."""

    kind: _Kind
    path: Traversable | Path
    display: str
    inside: Path | None  # the resolved rules directory the file must stay in; None for packaged files
    stand_in: Problem | None = None


def load_ruleset(
    engines: Sequence[LoadableEngine],
    directory: Path | None,
    *,
    ignored_stems: Iterable[str] = (),
) -> RuleSet:
    """Load the rules of ``engines`` and the core's files from ``directory``.

    With ``directory=None`` each engine's shipped default file is read, and the packaged manifest and
    access rules. An engine whose file the directory lacks serves its packaged default, with a warning
    (see :attr:`RuleSet.defaults`). Rule files are read only from inside the directory, resolved once:
    a file that links outside it is refused unread. ``ignored_stems`` names rule files that belong to
    disabled or broken plugins and are not reported as unknown.

    :raises RulesDirectoryError: when the directory itself is missing, not a directory or unreadable.
    :raises RulesError: listing every problem of every file.
    """
    kinds = _core_kinds() + [
        _Kind(
            item.engine.name,
            item.validator,
            item.engine.settings_model,
            item.engine.default_rules_file,
            "default",
            f"engine '{item.engine.name}'",
        )
        for item in engines
    ]
    problems: list[Problem] = []
    notices: list[Problem] = []
    defaults: list[str] = []
    loaded: dict[str, Rules[Any]] = {}
    read: list[tuple[str, bytes]] = []
    for source in _locate(kinds, directory, set(ignored_stems), problems):
        rules, raw = _load_file(source, problems)
        if rules is not None:
            loaded[source.kind.stem] = rules
        if source.stand_in is not None:
            notices.append(source.stand_in)
            defaults.append(source.kind.stem)
        read.append((source.kind.stem, raw))
    if problems:
        raise RulesError(sorted(problems, key=_problem_order))
    manifest = loaded[MANIFEST_NAME].settings if MANIFEST_NAME in loaded else _Manifest()
    # Read-only once, here: every dispatch under the rule set shares them, engines can not change them.
    rules, access = read_only_rules(
        {item.engine.name: loaded[item.engine.name] for item in engines}, AccessPolicy(loaded[ACCESS_NAME])
    )
    return RuleSet(
        rules_by_engine=rules,
        access=access,
        digest=digest_of(read),
        version=manifest.version,
        directory=None if directory is None else str(directory),
        warnings=(*notices, *_unused_views(loaded[ACCESS_NAME], engines)),
        defaults=tuple(sorted(defaults)),
        files=tuple(read),
    )


def digest_of(files: Iterable[tuple[str, bytes]]) -> str:
    """The digest of a rule set's files, given as (stem, bytes) in their order (as
    :attr:`RuleSet.files` holds them): ``sha256:`` and the sha256 over each file's stem, a NUL byte and
    the sha256 of its bytes. :func:`load_ruleset` computes every rule set's digest with it, so a kept
    rule set is checked against its digest by computing it again."""
    digest = hashlib.sha256()
    for stem, raw in files:
        digest.update(stem.encode() + b"\0" + hashlib.sha256(raw).digest())
    return f"sha256:{digest.hexdigest()}"


def _problem_order(problem: Problem) -> tuple[str, int, int]:
    return (problem.file, problem.line or 0, problem.column or 0)


def _locate(kinds: list[_Kind], directory: Path | None, ignored: set[str], problems: list[Problem]) -> list[_Source]:
    """Where each kind's file is, in stem order; a missing file gets what its kind says."""
    if directory is None:
        return [_Source(kind, kind.default, _packaged(kind.default), None) for kind in sorted(kinds, key=_stem)]
    root, names = _open_directory(directory)
    found: list[_Source] = []
    for kind in sorted(kinds, key=_stem):
        name = f"{kind.stem}{RULES_SUFFIX}"
        display = str(directory / name)
        if name in names:
            found.append(_Source(kind, root / name, display, root))
        elif kind.when_missing == "default":
            found.append(
                _Source(kind, kind.default, _packaged(kind.default), None, _stand_in(kind, directory, display))
            )
        elif kind.when_missing == "problem":
            problems.append(Problem(display, None, None, f"missing rule file of {kind.what}"))
    problems.extend(_unknown_files(directory, names, {kind.stem for kind in kinds}, ignored))
    return found


def _stem(kind: _Kind) -> str:
    return kind.stem


def _stand_in(kind: _Kind, directory: Path, display: str) -> Problem:
    """The warning that an engine serves its packaged default, at the file the directory lacks."""
    command = f"profiler-rules init --engine {shlex.quote(kind.stem)} {shlex.quote(str(directory))}"
    message = (
        f"no rule file for {kind.what}; using its packaged default ({_packaged(kind.default)}); "
        f"'{command}' copies it here to edit"
    )
    return Problem(display, None, None, message, level="warning")


def _open_directory(directory: Path) -> tuple[Path, frozenset[str]]:
    """The rules directory resolved once (a host may swap a link to it at any moment: every file is
    read from the directory it pointed to here) and the names in it.

    :raises RulesDirectoryError: when it is missing, not a directory or unreadable.
    """

    def refused(message: str) -> RulesDirectoryError:
        return RulesDirectoryError([Problem(str(directory), None, None, message)])

    try:
        # os.path.realpath, not Path.resolve: a loop of links is an OSError there, a RuntimeError here.
        root = Path(os.path.realpath(directory, strict=True))
        names = frozenset(os.listdir(root))
    except FileNotFoundError:
        raise refused("no such rules directory") from None
    except NotADirectoryError:
        raise refused("this is a file, not a directory; the rules directory holds one YAML file per engine") from None
    except OSError as error:
        raise refused(f"cannot read the rules directory: {error.strerror or error}") from None
    except ValueError:  # a NUL byte in the path: no file system has such a name
        raise refused("the path holds a NUL character; no such rules directory") from None
    return root, names


def rules_directory(path: str | os.PathLike[str] | None) -> Path | None:
    """A host's rules directory as a path (``None``: the packaged rules).

    :raises RulesDirectoryError: for an empty path, which ``Path`` would read as the current directory.
    """
    if path is None:
        return None
    if os.fspath(path) == "":
        message = "the rules directory is an empty path; name a directory, or none for the packaged rules"
        raise RulesDirectoryError([Problem("''", None, None, message)])
    return Path(path)


def _unused_views(access: Rules[AccessRules], engines: Sequence[LoadableEngine]) -> list[Problem]:
    """Views of access.yaml that no loaded engine checks. A warning, not an error: the engine may be
    disabled, and a misspelt view only denies (the safe side), but its author should hear of it."""
    checked = {view for item in engines for view in item.engine.access_views}
    known = ", ".join(sorted(checked)) or "none"
    return [
        Problem(
            access.file,
            access.line_of(view),
            1,
            f"no loaded engine checks view '{view}' (views checked: {known})",
            view,
            "warning",
        )
        for view in access.settings.root
        if view not in checked
    ]


def _unknown_files(directory: Path, names: frozenset[str], known: set[str], ignored: set[str]) -> list[Problem]:
    """Every entry of the directory named like a rule file that no engine reads: whatever it is (a
    file, a link, a directory, a FIFO), it is named, never skipped in silence."""
    found = []
    for name in sorted(names):
        stem, suffix = os.path.splitext(name)
        if suffix not in {".yaml", ".yml"} or stem in ignored or name == f"{stem}{RULES_SUFFIX}" and stem in known:
            continue
        if suffix == ".yml" and stem in known:
            message = f"rule files end in .yaml; rename it to {stem}.yaml"
        else:
            engines = ", ".join(sorted(known - {MANIFEST_NAME, ACCESS_NAME}))
            message = f"no engine reads this file (engines: {engines}; the core reads {ACCESS_NAME}.yaml and {MANIFEST_NAME}.yaml)"
            close = difflib.get_close_matches(stem, sorted(known), n=1)
            if close:
                message += f"; did you mean {close[0]}.yaml?"
        # A name is shown escaped if it holds control characters: output is one line per problem.
        shown_name = name if name.isprintable() else repr(name)[1:-1]
        found.append(Problem(str(directory / shown_name), None, None, message))
    return found


def _packaged(path: Traversable | Path) -> str:
    """Name a file shipped inside a package from its top-level package: ``profiler_rules/rules/x.yaml``."""
    full = Path(str(path))
    top = None
    for parent in full.parents:
        if (parent / "__init__.py").is_file():
            top = parent
        elif top is not None:
            break
    return str(full.relative_to(top.parent)) if top is not None else str(full)


def _load_file(source: _Source, problems: list[Problem]) -> tuple[Rules[Any] | None, bytes]:
    kind, display = source.kind, source.display
    path = source.path if isinstance(source.path, Path) else Path(str(source.path))
    document, found, raw = read_yaml_file(path, display, inside=source.inside)
    if document is None:
        problems.extend(found)
        return None, raw
    if document.data is None and not found:
        problems.append(Problem(display, 1, 1, "the file is empty; it must be a mapping of settings"))
        return None, raw
    schema_found, more = _schema_findings(kind.validator, document, display, MAX_PROBLEMS)
    # The file's problems, reading and schema alike, as one list: the first ones in file order, and
    # the notice that there are more, last.
    problems.extend(_first_problems([*found, *schema_found], display, more=more))
    if found or schema_found:
        return None, raw
    try:
        settings = kind.model.model_validate(document.data)
    except ValidationError as error:
        problems.extend(_first_problems(_model_problems(error, document, display), display))
        return None, raw
    except PASSED_THROUGH:
        raise
    except BaseException as error:  # noqa: BLE001 - a plugin's validator that raises, even SystemExit
        problems.append(
            Problem(display, None, None, f"the rules model {kind.model.__name__} failed: {describe(error)}")
        )
        return None, raw
    return Rules(settings, display, _lines(document)), raw


def _first_problems(problems: Sequence[Problem], file: str, *, more: bool = False) -> list[Problem]:
    """The first :data:`MAX_PROBLEMS` of one file's problems in file order (line, column), and when
    there are more (or ``more`` says the search stopped early), a notice after them, at the last one
    shown, so that it stays last when problems of many files are sorted."""
    ordered = sorted(problems, key=_position)
    if len(ordered) <= MAX_PROBLEMS and not more:
        return ordered
    shown = ordered[:MAX_PROBLEMS]
    line, column = (shown[-1].line, shown[-1].column) if shown else (None, None)
    notice = f"stopped after {MAX_PROBLEMS} problems; fix these and check again"
    return [*shown, Problem(file, line, column, notice)]


def _position(problem: Problem) -> tuple[int, int]:
    return (problem.line or 0, problem.column or 0)


def schema_problems(
    validator: jsonschema.protocols.Validator, document: YamlDocument, file: str, *, limit: int = MAX_PROBLEMS
) -> list[Problem]:
    """The schema's complaints about a loaded YAML document, each placed at its file:line:col, in file
    order: at most ``limit`` of them, then a note that there are more (see :func:`_first_problems`)."""
    found, more = _schema_findings(validator, document, file, limit)
    return _first_problems(found, file, more=more)


def _schema_findings(
    validator: jsonschema.protocols.Validator, document: YamlDocument, file: str, limit: int
) -> tuple[list[Problem], bool]:
    """Problems from a bounded number of the schema's errors, and whether there were more.

    jsonschema builds its errors lazily, and a list of 100,000 wrong items would otherwise cost seconds
    and hundreds of megabytes; only the first few hundred are looked at. With :data:`RuleFileValidator`
    they come in the order the file is written, so those are the first ones of the file.
    """
    budget = _ERRORS_PER_PROBLEM * max(limit, 1)
    errors = list(islice(validator.iter_errors(document.data), budget + 1))
    # A value of the wrong type also fails its enum, range and pattern; the type is the news.
    mistyped = {tuple(error.absolute_path) for error in errors if error.validator == "type"}
    found: list[Problem] = []
    for error in errors[:budget]:
        path: JsonPath = tuple(error.absolute_path)
        if document.is_dropped(path) or (path in mistyped and error.validator != "type"):
            continue
        if error.validator == "additionalProperties" and error.validator_value is False:
            found.extend(islice(_unknown_keys(error, path, document, file), budget))
        else:
            found.append(_placed(error, path, document, file, validator.schema))
    return found, len(errors) > budget


def _placed(
    error: jsonschema.ValidationError, path: JsonPath, document: YamlDocument, file: str, root: Mapping[str, Any]
) -> Problem:
    at_key = error.validator == "required"
    if "propertyNames" in error.relative_schema_path:
        # jsonschema reports a bad key at its mapping; point at the key itself.
        path, at_key = (*path, error.instance), True
    line, column = document.position(path, at_key=at_key)
    return Problem(file, line, column, _message(error, root), format_path(path))


def _unknown_keys(
    error: jsonschema.ValidationError, path: JsonPath, document: YamlDocument, file: str
) -> Iterator[Problem]:
    allowed = sorted(error.schema.get("properties", {}))
    hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
    for key in error.instance:
        if key in allowed or _matches_pattern(key, error.schema):
            continue
        line, column = document.position((*path, key), at_key=True)
        message = f"unknown key {shown(key)}{hint}{_did_you_mean(key, allowed)}"
        yield Problem(file, line, column, message, format_path((*path, key)))


def _matches_pattern(key: str, schema: Mapping[str, Any]) -> bool:
    return any(re.search(pattern, key) for pattern in schema.get("patternProperties", {}))


def _did_you_mean(written: Any, allowed: Sequence[Any]) -> str:
    """``; did you mean 'gap_cutoff'?`` when one allowed value is close to what was written."""
    if not isinstance(written, str) or len(written) > _SHOWN_CHARACTERS:
        return ""
    choices = {str(choice).casefold(): choice for choice in allowed}
    close = difflib.get_close_matches(written.casefold(), list(choices), n=1, cutoff=0.75)
    return f"; did you mean {choices[close[0]]!r}?" if close and choices[close[0]] != written else ""


_KINDS = {dict: "a mapping", list: "a list", type(None): "an empty value"}
_SHOWN_CHARACTERS = 60
# Errors read per problem shown: a mistyped value fails its enum or pattern too, and those are skipped.
_ERRORS_PER_PROBLEM = 4
_LISTED_CHOICES = 12
_MESSAGE_CHARACTERS = 300

# The naming patterns the schemas use, in words: an author is told the rule, not a regular expression.
NAMING_RULES = {
    "^[a-z][a-z0-9_]*$": "lowercase letters, digits and _, starting with a letter",
    "^[A-Z][A-Z0-9_]*$": "capital letters, digits and _, starting with a letter",
    "^[A-Za-z][A-Za-z0-9 ]*$": "letters, digits and spaces, starting with a letter",
}
_NOT_BLANK = "\\S"
_JSON_TYPES = {"number": (int, float), "integer": (int,), "boolean": (bool,), "null": (type(None),)}
_PERCENT = re.compile(r"\s*[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*%\s*")
_GROUPED = re.compile(r"[-+]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_YES_NO = frozenset({"yes", "no", "on", "off", "y", "n"})


def _message(error: jsonschema.ValidationError, root: Mapping[str, Any]) -> str:
    """What is wrong and how to fix it, quoting at most the offending value, shortened: jsonschema's
    own messages print whole instances (a mapping, a list), regular expressions and long enum lists."""
    instance, keyword = error.instance, error.validator
    if keyword == "type":
        return _type_message(instance, error.validator_value)
    if keyword == "required":
        return _missing_message(error, root)
    if keyword == "pattern":
        return _pattern_message(error, root)
    if keyword == "enum":
        choices = list(error.validator_value)
        listed = ", ".join(repr(choice) for choice in choices[:_LISTED_CHOICES])
        listed += ", …" if len(choices) > _LISTED_CHOICES else ""
        return f"{shown(instance)} is not one of [{listed}]{_did_you_mean(instance, choices)}"
    if keyword == "uniqueItems" and isinstance(instance, list):
        repeated = _first_repeat(instance)
        if repeated is not _NONE:
            return f"{shown(repeated)} is listed more than once; remove the repeat"
    if keyword == "minLength" and error.validator_value == 1 and instance == "":
        return "the value is empty; write some text"
    if keyword in ("anyOf", "oneOf") and _only_requires(error.validator_value):
        names = " or ".join(repr(required) for option in error.validator_value for required in option["required"])
        if keyword == "anyOf":
            return f"needs {names} (or both)" if len(error.validator_value) == 2 else f"needs at least one of {names}"
        return f"needs exactly one of {names}"
    return _bounded(error.message.replace(repr(instance), _described(instance)))


_NONE: Any = object()


def _first_repeat(items: list[Any]) -> Any:
    """The first item of a list that an earlier one equals (as JSON Schema compares), or ``_NONE``."""
    seen: set[str] = set()
    for item in items:
        key = json.dumps(item, sort_keys=True)
        if key in seen:
            return item
        seen.add(key)
    return _NONE


def _described(instance: Any) -> str:
    """A value in a message: a mapping or a list by its kind, anything else as written, shortened."""
    kind = _KINDS.get(type(instance))
    if kind and instance not in ({}, []):
        return kind
    if isinstance(instance, bool):
        return str(instance).lower()  # as the author wrote it: `true`, not Python's `True`
    return shown(instance)


def _bounded(message: str) -> str:
    return one_line(message, _MESSAGE_CHARACTERS)


def _type_message(instance: Any, expected: Any) -> str:
    wanted = expected if isinstance(expected, list) else [expected]
    message = f"{_described(instance)} is not of type {_quoted(expected)}"
    if isinstance(instance, str):
        message += _type_hint(instance, wanted)
    return message


def _type_hint(text: str, wanted: list[str]) -> str:
    """How to write a value of the wanted type, for text that nearly is one."""
    numeric = {"number", "integer"} & set(wanted)
    if numeric and _PERCENT.fullmatch(text):
        return "; write the number without %"
    if numeric and _GROUPED.fullmatch(text.strip()):
        return "; write the number without separators"
    as_plain = resolve_plain(text)
    # True is an int to Python, not a number to the schema: a quoted "true" fits only a boolean.
    fits = isinstance(as_plain, bool) if isinstance(as_plain, bool) else not isinstance(as_plain, str)
    if fits and any(isinstance(as_plain, _JSON_TYPES.get(name, ())) for name in wanted):
        return "; remove the quotes"
    if "boolean" in wanted and text.strip().casefold() in _YES_NO:
        return "; write true or false"
    if "array" in wanted:
        return "; write a list: one '- item' per line, or [a, b]"
    return ""


def _missing_message(error: jsonschema.ValidationError, root: Mapping[str, Any]) -> str:
    name = next((name for name in error.validator_value if error.message == f"{name!r} is a required property"), None)
    if name is None:
        return _bounded(error.message)
    subschema = _resolved(root, error.schema.get("properties", {}).get(name))
    kind = "section" if isinstance(subschema, Mapping) and subschema.get("type") == "object" else "setting"
    parent = format_path(tuple(error.absolute_path))
    if not parent:
        return f"the file needs a {kind} {name!r}; add it"
    return f"missing {kind} {name!r} under {parent!r}; add it"


def _pattern_message(error: jsonschema.ValidationError, root: Mapping[str, Any]) -> str:
    """A value or a key that breaks a naming pattern, with the rule in words."""
    value, pattern = error.instance, error.validator_value
    is_key = "propertyNames" in error.relative_schema_path
    if pattern == _NOT_BLANK:
        return f"{shown(value)} is blank; write " + ("a name" if is_key else "some text")
    words = NAMING_RULES.get(pattern)
    if not is_key:
        if words:
            return f"{shown(value)} is not allowed here: write {words}"
        return _unnamed_pattern(value, pattern, error.schema)
    one, many = _names_of(error, root)
    if words:
        return f"{shown(value)} is not a valid {one}: {many} are {words}"
    return _unnamed_pattern(value, pattern, error.schema, f"not a valid {one}")


def _unnamed_pattern(value: Any, pattern: str, schema: Mapping[str, Any], what: str = "not allowed here") -> str:
    """A pattern no table entry puts in words (a third-party engine's): its description says the rule,
    and without one the pattern is all there is to show."""
    description = schema.get("description")
    rule = f"see its description: {description}" if description else f"it must match {pattern!r}"
    return _bounded(f"{shown(value)} is {what}; {rule}")


def _names_of(error: jsonschema.ValidationError, root: Mapping[str, Any]) -> tuple[str, str]:
    """What the keys of a mapping are called, one and many: from its schema, the first word of the
    description of its values ("A view, such as ...": view names), or else by the mapping's own key."""
    schema_path = list(error.absolute_schema_path)
    mapping = _resolved(root, _schema_at(root, schema_path[: schema_path.index("propertyNames")]))
    values = _resolved(root, mapping.get("additionalProperties")) if isinstance(mapping, Mapping) else None
    description = values.get("description", "") if isinstance(values, Mapping) else ""
    named = re.match(r"(?:An?|The) ([a-z]+)[,.]", description)
    if named:
        return f"{named.group(1)} name", f"{named.group(1)} names"
    parent = [part for part in error.absolute_path if isinstance(part, str)]
    if parent:
        return f"name under {shown(parent[-1])}", "names there"
    return "name at the top of the file", "top-level names"


def _schema_at(root: Mapping[str, Any], schema_path: Sequence[str | int]) -> Any:
    """The subschema at a jsonschema ``schema_path`` (which steps through ``$ref`` without naming it)."""
    node: Any = root
    for part in schema_path:
        node = _resolved(root, node)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _resolved(root: Mapping[str, Any], node: Any) -> Any:
    """``node`` with its local ``$ref`` (``#/definitions/...``) followed; other references stay."""
    for _ in range(8):  # a chain of references, bounded
        if not (isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/")):
            return node
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target.get(part) if isinstance(target, Mapping) else None
        node = target
    return node


def _only_requires(options: Any) -> bool:
    return isinstance(options, list) and all(
        isinstance(option, Mapping) and set(option) == {"required"} for option in options
    )


def _quoted(expected: Any) -> str:
    if isinstance(expected, list):
        return ", ".join(repr(item) for item in expected)
    return repr(expected)


def _model_problems(error: ValidationError, document: YamlDocument, file: str) -> list[Problem]:
    found = []
    for item in error.errors(include_url=False):
        path: JsonPath = tuple(item["loc"])
        message = _bounded(item["msg"].removeprefix("Value error, "))
        violation = (item.get("ctx") or {}).get("error")
        if isinstance(violation, RuleViolation):
            path = (*path, *violation.path)
            message = _bounded(str(violation))
        # A problem with a whole mapping or list (weights that do not sum to 1) is shown at its key.
        line, column = document.position(path, at_key=isinstance(_value_at(document.data, path), dict | list))
        found.append(Problem(file, line, column, message, format_path(path)))
    return found


def _value_at(data: Any, path: JsonPath) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _lines(document: YamlDocument) -> dict[str, int]:
    lines = {format_path(path): line for path, (line, _) in document.value_positions.items()}
    lines.update({format_path(path): line for path, (line, _) in document.key_positions.items()})
    return lines
