"""Tools for the people who write rules: schemas for their editor, and a rules directory of their own.

Every packaged rule file starts with a ``yaml-language-server`` modeline naming its schema in
``schemas/`` beside it, so an editor with the YAML language server gives hover text, completion and
errors as the author types. The schemas are generated (an engine's from its settings model), not
copied: ``init`` writes them beside the rules and tests it copies, so the modelines keep working in the
host's own directory, and ``profiler-rules schema --write`` writes them anywhere.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Callable, Iterable
from importlib.resources import files
from pathlib import Path
from typing import Any

from .core.access import ACCESS_NAME, ACCESS_SCHEMA
from .core.errors import ProfilerRulesError
from .core.ruleset import MANIFEST_NAME, MANIFEST_SCHEMA, RULES_SUFFIX, LoadableEngine
from .core.ruletests import TESTS_DIRECTORY, TESTS_SCHEMA, TESTS_SCHEMA_NAME
from .core.yamlfile import UnreadableFile, read_bounded

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
    """Write ``<stem>.schema.json`` for every schema into ``directory``; return the files written.

    :raises ProfilerRulesError: when ``directory`` can not be made or written (a file, under a file,
        read-only), in one line.
    """
    return _writing(directory, lambda: _write_schemas(all_schemas(engines), directory))


def _write_schemas(schemas: dict[str, dict[str, Any]], directory: Path) -> list[Path]:
    _make_directory(directory)
    return [_write(directory / f"{stem}{SCHEMA_SUFFIX}", schema_text(schema)) for stem, schema in schemas.items()]


def modeline(stem: str, depth: int = 0) -> str:
    """The first line of a rule file (``depth`` 0) or of a test file (1), naming its schema."""
    return f"{MODELINE_PREFIX}{'../' * depth}{SCHEMAS_DIRECTORY}/{stem}{SCHEMA_SUFFIX}"


def init_rules(engines: Iterable[LoadableEngine], target: Path, *, force: bool = False) -> list[Path]:
    """Copy the default rules of ``engines``, the access rules, the manifest, the rule tests and the
    schemas into ``target``, a host's own rules directory. Refuses a directory that is not empty
    unless ``force``. Returns the files written.

    :raises ProfilerRulesError: when ``target`` is not empty, or can not be made or written.
    """
    engines = list(engines)
    if target.exists():
        if not target.is_dir():
            raise ProfilerRulesError(f"{target} is a file, not a directory; choose a new directory")
        if _has_entries(target) and not force:
            raise ProfilerRulesError(f"{target} is not empty; choose a new directory, or --force to overwrite")
    return _writing(target, lambda: _init_rules(engines, target))


def _init_rules(engines: list[LoadableEngine], target: Path) -> list[Path]:
    packaged = Path(str(files("profiler_rules").joinpath("rules")))
    _make_directory(target)
    written: list[Path] = []
    for stem in (ACCESS_NAME, MANIFEST_NAME):
        written.append(_copy(packaged / f"{stem}{RULES_SUFFIX}", target, stem))
    for item in engines:
        written.append(_copy(Path(str(item.engine.default_rules_file)), target, item.engine.name))
    tests = target / TESTS_DIRECTORY
    _make_directory(tests)
    for path in sorted((packaged / TESTS_DIRECTORY).iterdir()):
        if path.is_file():
            written.append(_write(tests / path.name, read_bounded(path).decode("utf-8")))
    written.extend(_write_schemas(all_schemas(engines), target / SCHEMAS_DIRECTORY))
    return written


def init_engine(engines: Iterable[LoadableEngine], name: str, target: Path, *, force: bool = False) -> list[Path]:
    """Copy one engine's packaged default rule file (with its modeline) and its schema (into
    ``schemas/``) into ``target``, an existing rules directory, for the content team to edit: a rules
    directory without the file serves that default. Refuses to replace the engine's file unless ``force``.

    :raises ProfilerRulesError: for an unknown engine, a ``target`` that is not a directory, an existing
        file, or a write that fails.
    """
    engines = list(engines)
    item = next((item for item in engines if item.engine.name == name), None)
    if item is None:
        known = ", ".join(item.engine.name for item in engines) or "none"
        raise ProfilerRulesError(f"no engine named {name!r} (engines: {known})")
    if not target.is_dir():
        raise ProfilerRulesError(f"{target} is not a rules directory; 'profiler-rules init {target}' makes one")
    rule_file = target / f"{name}{RULES_SUFFIX}"
    if (rule_file.is_symlink() or rule_file.exists()) and not force:  # a dangling link is a file too
        raise ProfilerRulesError(f"{rule_file} exists; edit it, or --force to replace it with the packaged default")
    schema = {name: dict(item.schema)}

    def copy() -> list[Path]:
        return [
            _copy(Path(str(item.engine.default_rules_file)), target, name),
            *_write_schemas(schema, target / SCHEMAS_DIRECTORY),
        ]

    return _writing(target, copy)


def _writing(target: Path, write: Callable[[], list[Path]]) -> list[Path]:
    """Run ``write``, turning any failure to read a packaged file or to write ``target`` into one line."""
    try:
        return write()
    except UnreadableFile as error:
        raise ProfilerRulesError(f"cannot read a packaged rule file: {error}") from None
    except UnicodeDecodeError:
        raise ProfilerRulesError("a packaged rule file is not UTF-8 text") from None
    except OSError as error:
        where = error.filename or target
        raise ProfilerRulesError(f"cannot write {where}: {error.strerror or error}") from None


def _has_entries(directory: Path) -> bool:
    with os.scandir(directory) as entries:
        return any(True for _ in entries)


def _make_directory(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "it is a file, not a directory", str(directory))
    directory.mkdir(parents=True, exist_ok=True)


def _copy(source: Path, target: Path, stem: str) -> Path:
    """Copy a rule file with the modeline of its new place, ``schemas/<stem>.schema.json``: a
    third-party engine's file may have none, or one naming the schema beside it in its package."""
    text = read_bounded(source).decode("utf-8")
    if text.startswith(MODELINE_PREFIX):
        text = text.partition("\n")[2]
    return _write(target / f"{stem}{RULES_SUFFIX}", f"{modeline(stem)}\n{text}")


def _write(path: Path, text: str) -> Path:
    """Write a whole file by replacing it: a link in its place is replaced, never followed out of the
    directory, and a reader never sees half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror, str(path)) from None  # named as the author knows it
    return path
