"""Loading a rule set: every engine's YAML file, checked by its JSON Schema, then built into its model.

Loading is all or nothing: every problem of every file is collected and raised together as one
:class:`RulesError`, and a rule set exists only when there were none.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from itertools import islice
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import BaseModel, ValidationError

from .access import ACCESS_NAME, ACCESS_SCHEMA, AccessPolicy, AccessRules
from .engine import Engine, Rules, RuleViolation
from .errors import Problem, RulesError
from .faults import PASSED_THROUGH, describe
from .models import RulesetStamp
from .readonly import read_only_ruleset
from .yamlfile import MAX_PROBLEMS, JsonPath, YamlDocument, format_path, read_yaml_file

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
            "description": "A version for this rule set, stamped on every report beside its digest.",
            "examples": ["2026.11.1"],
        },
        "description": {
            "type": "string",
            "description": "What this rule set is for, in words.",
            "examples": ["Default rules of the profiler integrations"],
        },
    },
}


_METASCHEMA = jsonschema.Draft7Validator(jsonschema.Draft7Validator.META_SCHEMA)
_MANIFEST_VALIDATOR = jsonschema.Draft7Validator(MANIFEST_SCHEMA)
_ACCESS_VALIDATOR = jsonschema.Draft7Validator(ACCESS_SCHEMA)


class _Manifest(BaseModel):
    version: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LoadableEngine:
    """An engine with its schema read and its validator built, once per dispatcher."""

    engine: Engine
    schema: Mapping[str, Any]
    validator: jsonschema.protocols.Validator

    @classmethod
    def prepare(cls, engine: Engine) -> LoadableEngine:
        """Read and check the engine's schema; raises ``ValueError`` with a reason when it is unusable."""
        schema = read_schema(engine.schema_file)
        return cls(engine, schema, jsonschema.Draft7Validator(schema))


def read_schema(source: Traversable | Path) -> dict[str, Any]:
    """Read a JSON Schema file and check that it is a valid draft-07 schema."""
    try:
        schema = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read its schema {source}: {error}") from None
    # One metaschema validator for every engine: check_schema would build it again for each schema.
    problem = jsonschema.exceptions.best_match(_METASCHEMA.iter_errors(schema))
    if problem is not None:
        raise ValueError(f"its schema {source} is not valid draft-07: {problem.message}")
    return schema


@dataclass(frozen=True, slots=True)
class RuleSet:
    """An immutable, fully validated rule set: each engine's rules, the access policy, the digest and
    the version."""

    rules: Mapping[str, Rules[Any]]
    access: AccessPolicy
    digest: str
    version: str | None
    directory: str | None
    warnings: tuple[Problem, ...] = ()

    @property
    def stamp(self) -> RulesetStamp:
        return RulesetStamp(digest=self.digest, version=self.version)


@dataclass(frozen=True, slots=True)
class _Kind:
    """One kind of rule file: an engine's, or one the core owns (the manifest, the access rules)."""

    stem: str
    validator: jsonschema.protocols.Validator
    model: type[BaseModel]
    default: Traversable | Path
    required: bool
    what: str


def _core_kinds() -> list[_Kind]:
    packaged = files("profiler_rules").joinpath("rules")
    return [
        _Kind(
            MANIFEST_NAME,
            _MANIFEST_VALIDATOR,
            _Manifest,
            packaged.joinpath(f"{MANIFEST_NAME}{RULES_SUFFIX}"),
            False,
            "the manifest",
        ),
        _Kind(
            ACCESS_NAME,
            _ACCESS_VALIDATOR,
            AccessRules,
            packaged.joinpath(f"{ACCESS_NAME}{RULES_SUFFIX}"),
            True,
            "the access rules",
        ),
    ]


def load_ruleset(
    engines: Sequence[LoadableEngine],
    directory: Path | None,
    *,
    ignored_stems: Iterable[str] = (),
) -> RuleSet:
    """Load the rules of ``engines`` and the core's files from ``directory``.

    With ``directory=None`` each engine's shipped default file is read, and the packaged manifest and
    access rules. ``ignored_stems`` names rule files that belong to disabled or broken plugins and are
    not reported as unknown. Raises :class:`RulesError` listing every problem of every file.
    """
    kinds = _core_kinds() + [
        _Kind(
            item.engine.name,
            item.validator,
            item.engine.rules_model,
            item.engine.default_rules_file,
            True,
            f"engine '{item.engine.name}'",
        )
        for item in engines
    ]
    problems: list[Problem] = []
    loaded: dict[str, Rules[Any]] = {}
    digest = hashlib.sha256()
    for kind, path, display in _locate(kinds, directory, set(ignored_stems), problems):
        rules, raw = _load_file(path, display, kind.validator, kind.model, problems)
        if rules is not None:
            loaded[kind.stem] = rules
        digest.update(kind.stem.encode() + b"\0" + hashlib.sha256(raw).digest())
    if problems:
        raise RulesError(sorted(problems, key=_problem_order))
    manifest = loaded[MANIFEST_NAME].settings if MANIFEST_NAME in loaded else _Manifest()
    ruleset = RuleSet(
        rules={item.engine.name: loaded[item.engine.name] for item in engines},
        access=AccessPolicy(loaded[ACCESS_NAME]),
        digest=f"sha256:{digest.hexdigest()}",
        version=manifest.version,
        directory=None if directory is None else str(directory),
        warnings=tuple(_unused_views(loaded[ACCESS_NAME], engines)),
    )
    return read_only_ruleset(ruleset)  # once, here: every dispatch under it shares it, engines can not change it


def _problem_order(problem: Problem) -> tuple[str, int, int]:
    return (problem.file, problem.line or 0, problem.column or 0)


def _locate(
    kinds: list[_Kind],
    directory: Path | None,
    ignored: set[str],
    problems: list[Problem],
) -> list[tuple[_Kind, Traversable | Path, str]]:
    """Where each kind's file is, in stem order; a missing required file is a problem."""
    found: list[tuple[_Kind, Traversable | Path, str]] = []
    if directory is not None and not directory.is_dir():
        problems.append(Problem(str(directory), None, None, "no such rules directory"))
        return found
    for kind in sorted(kinds, key=lambda kind: kind.stem):
        path: Traversable | Path = kind.default if directory is None else directory / f"{kind.stem}{RULES_SUFFIX}"
        display = _packaged(path) if directory is None else str(path)
        if path.is_file():
            found.append((kind, path, display))
        elif kind.required:
            problems.append(Problem(display, None, None, f"missing rule file of {kind.what}"))
    if directory is not None:
        problems.extend(_unknown_files(directory, {kind.stem for kind in kinds}, ignored))
    return found


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


def _unknown_files(directory: Path, known: set[str], ignored: set[str]) -> list[Problem]:
    found = []
    for path in sorted(directory.iterdir()):
        if path.suffix not in {".yaml", ".yml"} or not path.is_file() or path.stem in ignored:
            continue
        if path.suffix == ".yml" and path.stem in known:
            message = f"rule files end in .yaml; rename it to {path.stem}.yaml"
            found.append(Problem(str(path), None, None, message))
        elif path.stem not in known:
            engines = ", ".join(sorted(known - {MANIFEST_NAME, ACCESS_NAME}))
            message = f"no engine reads this file (engines: {engines}; the core reads {ACCESS_NAME}.yaml and {MANIFEST_NAME}.yaml)"
            found.append(Problem(str(path), None, None, message))
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


def _load_file(
    path: Traversable | Path,
    display: str,
    validator: jsonschema.protocols.Validator,
    model: type[BaseModel],
    problems: list[Problem],
) -> tuple[Rules[Any] | None, bytes]:
    document, found, raw = read_yaml_file(path if isinstance(path, Path) else Path(str(path)), display)
    problems.extend(found)
    if document is None:
        return None, raw
    if document.data is None and not found:
        problems.append(Problem(display, 1, 1, "the file is empty; it must be a mapping of settings"))
        return None, raw
    schema_found = schema_problems(validator, document, display, limit=MAX_PROBLEMS - len(found))
    problems.extend(schema_found)
    if found or schema_found:
        return None, raw
    try:
        settings = model.model_validate(document.data)
    except ValidationError as error:
        problems.extend(_model_problems(error, document, display))
        return None, raw
    except PASSED_THROUGH:
        raise
    except BaseException as error:  # noqa: BLE001 - a plugin's validator that raises, even SystemExit
        problems.append(Problem(display, None, None, f"the rules model {model.__name__} failed: {describe(error)}"))
        return None, raw
    return Rules(settings, display, _lines(document)), raw


def schema_problems(
    validator: jsonschema.protocols.Validator, document: YamlDocument, file: str, *, limit: int = MAX_PROBLEMS
) -> list[Problem]:
    """The schema's complaints about a loaded YAML document, each placed at its file:line:col.

    At most ``limit`` of them, then a note that there are more: a list of 100,000 wrong items would
    otherwise cost seconds and hundreds of megabytes of jsonschema errors, which it builds lazily.
    """
    limit = max(limit, 1)
    errors = list(islice(validator.iter_errors(document.data), _ERRORS_PER_PROBLEM * limit + 1))
    # A value of the wrong type also fails its enum, range and pattern; the type is the news.
    mistyped = {tuple(error.absolute_path) for error in errors if error.validator == "type"}
    found: list[Problem] = []
    for error in errors[: _ERRORS_PER_PROBLEM * limit]:
        path: JsonPath = tuple(error.absolute_path)
        if document.is_dropped(path) or (path in mistyped and error.validator != "type"):
            continue
        if error.validator == "additionalProperties" and error.validator_value is False:
            found.extend(islice(_unknown_keys(error, path, document, file), limit + 1))
        else:
            found.append(_placed(error, path, document, file))
        if len(found) > limit:
            break
    if len(found) > limit or len(errors) > _ERRORS_PER_PROBLEM * limit:
        found = found[:limit]
        line, column = (found[-1].line, found[-1].column) if found else (1, 1)
        found.append(Problem(file, line, column, f"stopped after {MAX_PROBLEMS} problems; fix these and check again"))
    return found


def _placed(error: jsonschema.ValidationError, path: JsonPath, document: YamlDocument, file: str) -> Problem:
    at_key = error.validator == "required"
    if "propertyNames" in error.relative_schema_path:
        # jsonschema reports a bad key at its mapping; point at the key itself.
        path, at_key = (*path, error.instance), True
    line, column = document.position(path, at_key=at_key)
    return Problem(file, line, column, _message(error), format_path(path))


def _unknown_keys(
    error: jsonschema.ValidationError, path: JsonPath, document: YamlDocument, file: str
) -> Iterator[Problem]:
    allowed = sorted(error.schema.get("properties", {}))
    hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
    for key in error.instance:
        if key in allowed or _matches_pattern(key, error.schema):
            continue
        line, column = document.position((*path, key), at_key=True)
        yield Problem(file, line, column, f"unknown key {_written(key)}{hint}", format_path((*path, key)))


def _matches_pattern(key: str, schema: Mapping[str, Any]) -> bool:
    return any(re.search(pattern, key) for pattern in schema.get("patternProperties", {}))


_KINDS = {dict: "a mapping", list: "a list", type(None): "an empty value"}
_SHOWN_CHARACTERS = 60
# Errors read per problem shown: a mistyped value fails its enum or pattern too, and those are skipped.
_ERRORS_PER_PROBLEM = 4


def _message(error: jsonschema.ValidationError) -> str:
    # jsonschema prints the whole instance; for a mapping or a list that is a wall of text.
    kind = _KINDS.get(type(error.instance))
    if error.validator == "type" and kind:
        return f"{kind} is not of type {_quoted(error.validator_value)}"
    if error.validator == "type" and isinstance(error.instance, bool):
        # As the author wrote it: `true`, not Python's `True`.
        return f"{str(error.instance).lower()} is not of type {_quoted(error.validator_value)}"
    if isinstance(error.instance, str | int) and not isinstance(error.instance, bool):
        return error.message.replace(repr(error.instance), _written(error.instance))
    return error.message


def _written(value: str | int) -> str:
    """A value as a one-line message shows it: a 100,000-character value is no clearer in full."""
    text = repr(value)
    if len(text) <= _SHOWN_CHARACTERS:
        return text
    if isinstance(value, str):
        return f"{text[:_SHOWN_CHARACTERS]}…' ({len(value):,} characters)"
    return f"{text[:_SHOWN_CHARACTERS]}… ({len(text):,} digits)"


def _quoted(expected: Any) -> str:
    if isinstance(expected, list):
        return ", ".join(repr(item) for item in expected)
    return repr(expected)


def _model_problems(error: ValidationError, document: YamlDocument, file: str) -> list[Problem]:
    found = []
    for item in error.errors(include_url=False):
        path: JsonPath = tuple(item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        violation = (item.get("ctx") or {}).get("error")
        if isinstance(violation, RuleViolation):
            path = (*path, *violation.path)
            message = str(violation)
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
