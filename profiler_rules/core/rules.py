"""Loading a rule set: every engine's YAML file, checked by its JSON Schema, then built into its model.

Loading is all or nothing: every problem of every file is collected and raised together as one
:class:`RulesError`, and a rule set exists only when there were none.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import BaseModel, ValidationError

from .engine import Engine, Rules, RuleViolation
from .errors import Problem, RulesError
from .models import RulesetStamp
from .yamlfile import JsonPath, YamlDocument, format_path, read_yaml_file

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


_MANIFEST_VALIDATOR = jsonschema.Draft7Validator(MANIFEST_SCHEMA)


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
    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        raise ValueError(f"its schema {source} is not valid draft-07: {error.message}") from None
    return schema


@dataclass(frozen=True, slots=True)
class RuleSet:
    """An immutable, fully validated rule set: each engine's rules, the digest and the version."""

    rules: Mapping[str, Rules[Any]]
    digest: str
    version: str | None
    directory: str | None

    @property
    def stamp(self) -> RulesetStamp:
        return RulesetStamp(digest=self.digest, version=self.version)


@dataclass(frozen=True, slots=True)
class _Source:
    """Where one rule file is read from and how problems name it."""

    stem: str
    path: Traversable | Path
    display: str


def load_ruleset(
    engines: Sequence[LoadableEngine],
    directory: Path | None,
    *,
    ignored_stems: Iterable[str] = (),
) -> RuleSet:
    """Load the rules of ``engines`` from ``directory`` (``None``: each engine's shipped default).

    ``ignored_stems`` names rule files that belong to disabled or broken plugins and are not reported
    as unknown. Raises :class:`RulesError` listing every problem of every file.
    """
    problems: list[Problem] = []
    sources = _sources(engines, directory, set(ignored_stems), problems)
    digest = hashlib.sha256()
    rules: dict[str, Rules[Any]] = {}
    manifest = _Manifest()
    for source in sorted(sources.values(), key=lambda source: source.stem):
        if source.stem == MANIFEST_NAME:
            loaded, raw = _load_file(source, _MANIFEST_VALIDATOR, _Manifest, problems)
            manifest = loaded.settings if loaded else manifest
        else:
            engine = next(item for item in engines if item.engine.name == source.stem)
            loaded, raw = _load_file(source, engine.validator, engine.engine.rules_model, problems)
            if loaded:
                rules[source.stem] = loaded
        digest.update(source.stem.encode() + b"\0" + hashlib.sha256(raw).digest())
    if problems:
        raise RulesError(sorted(problems, key=_problem_order))
    ordered = {item.engine.name: rules[item.engine.name] for item in engines}
    display = None if directory is None else str(directory)
    return RuleSet(ordered, f"sha256:{digest.hexdigest()}", manifest.version, display)


def _problem_order(problem: Problem) -> tuple[str, int, int]:
    return (problem.file, problem.line or 0, problem.column or 0)


def _sources(
    engines: Sequence[LoadableEngine],
    directory: Path | None,
    ignored: set[str],
    problems: list[Problem],
) -> dict[str, _Source]:
    if directory is None:
        sources = {}
        for item in engines:
            default = item.engine.default_rules_file
            sources[item.engine.name] = _Source(item.engine.name, default, _packaged(default))
        manifest = _packaged_manifest()
        if manifest.is_file():
            sources[MANIFEST_NAME] = _Source(MANIFEST_NAME, manifest, _packaged(manifest))
        return sources
    if not directory.is_dir():
        problems.append(Problem(str(directory), None, None, "no such rules directory"))
        return {}
    sources = {}
    names = [item.engine.name for item in engines]
    for name in names:
        path = directory / f"{name}{RULES_SUFFIX}"
        if path.is_file():
            sources[name] = _Source(name, path, str(path))
        else:
            problems.append(Problem(str(path), None, None, f"missing rule file of engine '{name}'"))
    manifest = directory / f"{MANIFEST_NAME}{RULES_SUFFIX}"
    if manifest.is_file():
        sources[MANIFEST_NAME] = _Source(MANIFEST_NAME, manifest, str(manifest))
    problems.extend(_unknown_files(directory, {*names, MANIFEST_NAME}, ignored))
    return sources


def _unknown_files(directory: Path, known: set[str], ignored: set[str]) -> list[Problem]:
    found = []
    for path in sorted(directory.iterdir()):
        if path.suffix not in {".yaml", ".yml"} or not path.is_file() or path.stem in ignored:
            continue
        if path.suffix == ".yml" and path.stem in known:
            message = f"rule files end in .yaml; rename it to {path.stem}.yaml"
            found.append(Problem(str(path), None, None, message))
        elif path.stem not in known:
            engines = ", ".join(sorted(known - {MANIFEST_NAME}))
            message = f"no engine reads this file (engines: {engines}; the manifest is {MANIFEST_NAME}.yaml)"
            found.append(Problem(str(path), None, None, message))
    return found


def _packaged_manifest() -> Traversable:
    from importlib.resources import files

    return files("profiler_rules").joinpath("rules", f"{MANIFEST_NAME}{RULES_SUFFIX}")


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
    source: _Source,
    validator: jsonschema.protocols.Validator,
    model: type[BaseModel],
    problems: list[Problem],
) -> tuple[Rules[Any] | None, bytes]:
    path = source.path if isinstance(source.path, Path) else Path(str(source.path))
    document, found, raw = read_yaml_file(path, source.display)
    problems.extend(found)
    if document is None:
        return None, raw
    if document.data is None and not found:
        problems.append(Problem(source.display, 1, 1, "the file is empty; it must be a mapping of settings"))
        return None, raw
    schema_found = _schema_problems(validator, document, source.display)
    problems.extend(schema_found)
    if found or schema_found:
        return None, raw
    try:
        settings = model.model_validate(document.data)
    except ValidationError as error:
        problems.extend(_model_problems(error, document, source.display))
        return None, raw
    return Rules(settings, source.display, _lines(document)), raw


def _schema_problems(validator: jsonschema.protocols.Validator, document: YamlDocument, file: str) -> list[Problem]:
    found = []
    errors = list(validator.iter_errors(document.data))
    # A value of the wrong type also fails its enum, range and pattern; the type is the news.
    mistyped = {tuple(error.absolute_path) for error in errors if error.validator == "type"}
    for error in errors:
        path: JsonPath = tuple(error.absolute_path)
        if document.is_dropped(path) or (path in mistyped and error.validator != "type"):
            continue
        if error.validator == "additionalProperties" and error.validator_value is False:
            found.extend(_unknown_keys(error, path, document, file))
            continue
        at_key = error.validator == "required"
        if "propertyNames" in error.relative_schema_path:
            # jsonschema reports a bad key at its mapping; point at the key itself.
            path, at_key = (*path, error.instance), True
        line, column = document.position(path, at_key=at_key)
        found.append(Problem(file, line, column, _message(error), format_path(path)))
    return found


def _unknown_keys(
    error: jsonschema.ValidationError, path: JsonPath, document: YamlDocument, file: str
) -> list[Problem]:
    allowed = sorted(error.schema.get("properties", {}))
    hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
    found = []
    for key in error.instance:
        if key in allowed or _matches_pattern(key, error.schema):
            continue
        line, column = document.position((*path, key), at_key=True)
        found.append(Problem(file, line, column, f"unknown key '{key}'{hint}", format_path((*path, key))))
    return found


def _matches_pattern(key: str, schema: Mapping[str, Any]) -> bool:
    return any(re.search(pattern, key) for pattern in schema.get("patternProperties", {}))


_KINDS = {dict: "a mapping", list: "a list", type(None): "an empty value"}


def _message(error: jsonschema.ValidationError) -> str:
    # jsonschema prints the whole instance; for a mapping or a list that is a wall of text.
    kind = _KINDS.get(type(error.instance))
    if error.validator == "type" and kind:
        return f"{kind} is not of type {_quoted(error.validator_value)}"
    return error.message


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
        line, column = document.position(path)
        found.append(Problem(file, line, column, message, format_path(path)))
    return found


def _lines(document: YamlDocument) -> dict[str, int]:
    lines = {format_path(path): line for path, (line, _) in document.value_positions.items()}
    lines.update({format_path(path): line for path, (line, _) in document.key_positions.items()})
    return lines
