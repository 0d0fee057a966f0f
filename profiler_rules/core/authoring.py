"""Tools for the people who write rules: schemas for their editor, and a rules directory of their own.

Every packaged rule file starts with a ``yaml-language-server`` modeline naming its schema in
``schemas/`` beside it, so an editor with the YAML language server gives hover text, completion and
errors as the author types. ``init`` copies the rules, their tests and those schemas together, so the
modelines keep working in the host's own directory.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path
from typing import Any

from .access import ACCESS_NAME, ACCESS_SCHEMA
from .errors import ProfilerRulesError
from .rules import MANIFEST_NAME, MANIFEST_SCHEMA, RULES_SUFFIX, LoadableEngine
from .ruletests import TESTS_DIRECTORY, TESTS_SCHEMA, TESTS_SCHEMA_NAME

SCHEMAS_DIRECTORY = "schemas"
SCHEMA_SUFFIX = ".schema.json"
MODELINE_PREFIX = "# yaml-language-server: $schema="


def all_schemas(engines: Iterable[LoadableEngine]) -> dict[str, dict[str, Any]]:
    """Every schema a rules directory uses, by the stem of the files it describes."""
    schemas: dict[str, dict[str, Any]] = {item.engine.name: dict(item.schema) for item in engines}
    schemas[ACCESS_NAME] = ACCESS_SCHEMA
    schemas[MANIFEST_NAME] = MANIFEST_SCHEMA
    schemas[TESTS_SCHEMA_NAME] = TESTS_SCHEMA
    return schemas


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(engines: Iterable[LoadableEngine], directory: Path) -> list[Path]:
    """Write ``<stem>.schema.json`` for every schema into ``directory``; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, schema in all_schemas(engines).items():
        path = directory / f"{stem}{SCHEMA_SUFFIX}"
        path.write_text(schema_text(schema), encoding="utf-8")
        written.append(path)
    return written


def modeline(stem: str, depth: int = 0) -> str:
    """The first line of a rule file (``depth`` 0) or of a test file (1), naming its schema."""
    return f"{MODELINE_PREFIX}{'../' * depth}{SCHEMAS_DIRECTORY}/{stem}{SCHEMA_SUFFIX}"


def init_rules(engines: Iterable[LoadableEngine], target: Path, *, force: bool = False) -> list[Path]:
    """Copy the default rules of ``engines``, the access rules, the manifest, the rule tests and the
    schemas into ``target``, a host's own rules directory. Refuses a directory that is not empty
    unless ``force``. Returns the files written."""
    engines = list(engines)
    if target.exists() and any(target.iterdir()) and not force:
        raise ProfilerRulesError(f"{target} is not empty; choose a new directory, or --force to overwrite")
    packaged = Path(str(files("profiler_rules").joinpath("rules")))
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for stem in (ACCESS_NAME, MANIFEST_NAME):
        written.append(_copy(packaged / f"{stem}{RULES_SUFFIX}", target, stem))
    for item in engines:
        written.append(_copy(Path(str(item.engine.default_rules_file)), target, item.engine.name))
    tests = target / TESTS_DIRECTORY
    tests.mkdir(exist_ok=True)
    for path in sorted((packaged / TESTS_DIRECTORY).iterdir()):
        if path.is_file():
            written.append(Path(shutil.copyfile(path, tests / path.name)))
    written.extend(write_schemas(engines, target / SCHEMAS_DIRECTORY))
    return written


def _copy(source: Path, target: Path, stem: str) -> Path:
    """Copy a rule file with the modeline of its new place, ``schemas/<stem>.schema.json``: a
    third-party engine's file may have none, or one naming the schema beside it in its package."""
    text = source.read_text(encoding="utf-8")
    if text.startswith(MODELINE_PREFIX):
        text = text.partition("\n")[2]
    text = f"{modeline(stem)}\n{text}"
    path = target / f"{stem}{RULES_SUFFIX}"
    path.write_text(text, encoding="utf-8")
    return path
