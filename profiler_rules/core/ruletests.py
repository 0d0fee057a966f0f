"""Rule tests written in YAML beside the rules (``rules/tests/*.yaml``), for content authors.

Each case names an input result (inline or by file), an optional viewer and catalogs, and what engines
must answer. Expectations are partial: only the fields written are compared, so a case states what it
is about and nothing else. A mapping compares the keys it writes; a list compares item by item and must
have as many items; anything else compares equal. A failure names the field, the value expected (at its
file:line:col) and the value found.

Test files are read with the rule files' strict loader and checked by their own schema, so a mistake
in a test is reported like a mistake in a rule.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema

from .errors import InvalidInputError, Problem, RulesError
from .rules import schema_problems
from .yamlfile import JsonPath, YamlDocument, format_path, read_yaml_file

if TYPE_CHECKING:
    from .dispatcher import Dispatcher
    from .engine import Rules
    from .rules import RuleSet

TESTS_DIRECTORY = "tests"
TESTS_SCHEMA_NAME = "tests"

TESTS_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "profiler-rules rule tests",
    "description": "Cases that check what the engines decide. Only the fields written under 'expect' are compared.",
    "type": "object",
    "additionalProperties": False,
    "required": ["cases"],
    "properties": {
        "cases": {
            "description": "The test cases of this file.",
            "type": "array",
            "minItems": 1,
            "items": {
                "description": "One case: an input result and what the engines must answer for it.",
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "expect"],
                "oneOf": [{"required": ["result"]}, {"required": ["result_file"]}],
                "properties": {
                    "name": {
                        "description": "What the case checks, in words; -k selects cases by part of it.",
                        "type": "string",
                        "minLength": 1,
                        "examples": ["networking at 45.5 is a medium gap"],
                    },
                    "result": {
                        "description": "The profiler result, written out.",
                        "type": "object",
                        "examples": [{"session_id": "t-1", "user_id": "u-1", "status": "finished"}],
                    },
                    "result_file": {
                        "description": "A JSON file holding the profiler result, relative to this test file.",
                        "type": "string",
                        "minLength": 1,
                        "examples": ["results/intermediate.json"],
                    },
                    "viewer": {
                        "description": "Who is asking: user_id, roles, mentee_ids, coachee_ids, cohort_ids, sponsor_ids.",
                        "type": "object",
                        "examples": [{"user_id": "m-1", "roles": ["mentor"], "mentee_ids": ["u-1"]}],
                    },
                    "catalogs": {
                        "description": "Catalogs by name (missions, recipes, jobs), written out.",
                        "type": "object",
                        "examples": [{"missions": [{"id": "m-1", "title": "Packets", "difficulty": 1}]}],
                    },
                    "catalogs_file": {
                        "description": "A JSON file holding the catalogs, relative to this test file.",
                        "type": "string",
                        "minLength": 1,
                        "examples": ["catalogs.json"],
                    },
                    "expect": {
                        "description": "Per engine, the parts of its answer that must hold: status, output, warnings.",
                        "type": "object",
                        "minProperties": 1,
                        "additionalProperties": {
                            "description": "What this engine must answer; only the fields written are compared.",
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "status": {
                                    "description": "The engine's status.",
                                    "type": "string",
                                    "enum": ["ok", "skipped", "denied", "error"],
                                },
                                "output": {"description": "Fields of the engine's output."},
                                "warnings": {"description": "The engine's warnings.", "type": "array"},
                                "error": {"description": "The engine's error, for status error."},
                            },
                        },
                    },
                },
            },
        }
    },
}


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One expected field that does not hold."""

    field: str
    expected: Any
    actual: Any
    file: str
    line: int
    column: int

    def format(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.field}: expected {_show(self.expected)}, got {_show(self.actual)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "expected": self.expected,
            "actual": None if self.actual is _MISSING else self.actual,
            "missing": self.actual is _MISSING,
            "file": self.file,
            "line": self.line,
            "column": self.column,
        }


@dataclass(frozen=True, slots=True)
class CaseResult:
    """The outcome of one case: passed when it has no mismatches and no error."""

    file: str
    name: str
    line: int
    mismatches: tuple[Mismatch, ...] = ()
    error: str | None = None
    cited: frozenset[tuple[str, str]] = frozenset()
    """Every (rule file, rule path) the case's explanations cite, for coverage."""

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.error is None

    @property
    def id(self) -> str:
        return f"{Path(self.file).name}::{self.name}"

    def describe(self) -> str:
        """Why the case failed, in one line."""
        return "; ".join([*(mismatch.format() for mismatch in self.mismatches), *([self.error] if self.error else [])])


@dataclass(frozen=True, slots=True)
class SuiteResult:
    """Every case run, in file and case order."""

    cases: tuple[CaseResult, ...]

    @property
    def failed(self) -> tuple[CaseResult, ...]:
        return tuple(case for case in self.cases if not case.passed)

    @property
    def passed(self) -> bool:
        return not self.failed


@dataclass(frozen=True, slots=True)
class Case:
    """One case of a test file, read and resolved, ready to run."""

    file: str
    name: str
    line: int
    result: Any
    viewer: Any
    catalogs: Any
    expect: Mapping[str, Any]
    document: YamlDocument = field(repr=False)
    path: JsonPath = ()


class _Missing:
    def __repr__(self) -> str:
        return "nothing"


_MISSING: Any = _Missing()


def find_test_files(rules_directory: Path) -> list[Path]:
    """The rule test files of a rules directory: ``tests/*.yaml``, in name order; none when there is
    no ``tests`` directory.

    :raises RulesError: naming the ``tests`` directory when it is there but can not be listed
        (unreadable, not a directory, a link to nothing): an unreadable directory must never pass
        for an empty one, which would let untested rules through.
    """
    directory = rules_directory / TESTS_DIRECTORY
    try:
        with os.scandir(directory) as entries:
            names = [entry.name for entry in entries if fnmatchcase(entry.name, "*.yaml")]
    except FileNotFoundError:
        if not os.path.lexists(directory):
            return []
        problem = "the rule tests directory is a link to nothing"
    except NotADirectoryError:
        problem = "the rule tests directory is not a directory"
    except OSError as error:
        problem = f"cannot read the rule tests directory: {error.strerror or error}"
    else:
        return [directory / name for name in sorted(names)]
    raise RulesError([Problem(str(directory), None, None, problem)])


def load_cases(files: Iterable[Path], engines: Iterable[str]) -> list[Case]:
    """Read test files strictly; raise :class:`RulesError` listing every problem in them."""
    validator = _validator_for(sorted(engines))
    problems: list[Problem] = []
    cases: list[Case] = []
    for path in files:
        display = str(path)
        document, found, _ = read_yaml_file(path, display)
        problems.extend(found)
        if document is None or found:
            continue
        schema_found = schema_problems(validator, document, display)
        problems.extend(schema_found)
        if not schema_found:
            cases.extend(_cases(document, path, display, problems))
    if problems:
        raise RulesError(sorted(problems, key=lambda problem: (problem.file, problem.line or 0, problem.column or 0)))
    return cases


def _validator_for(engines: list[str]) -> jsonschema.protocols.Validator:
    """The test-file schema, with 'expect' keys limited to the engines loaded here."""
    schema = copy.deepcopy(TESTS_SCHEMA)
    expect = schema["properties"]["cases"]["items"]["properties"]["expect"]
    expect["propertyNames"] = {"enum": engines}
    return jsonschema.Draft7Validator(schema)


def _cases(document: YamlDocument, path: Path, display: str, problems: list[Problem]) -> Iterator[Case]:
    for index, raw in enumerate(document.data["cases"]):
        where: JsonPath = ("cases", index)
        try:
            result = raw["result"] if "result" in raw else _json_beside(path, raw["result_file"])
            catalogs = _json_beside(path, raw["catalogs_file"]) if "catalogs_file" in raw else raw.get("catalogs")
        except ValueError as error:
            line, column = document.position(where)
            problems.append(Problem(display, line, column, str(error), format_path(where)))
            continue
        line = document.position((*where, "name"))[0]
        yield Case(display, raw["name"], line, result, raw.get("viewer"), catalogs, raw["expect"], document, where)


def _json_beside(test_file: Path, name: str) -> Any:
    path = test_file.parent / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None


def run_cases(dispatcher: Dispatcher, cases: Iterable[Case], ruleset: RuleSet | None = None) -> SuiteResult:
    """Run cases through ``dispatcher`` (under ``ruleset`` when given, say one not yet serving)."""
    return SuiteResult(tuple(run_case(dispatcher, case, ruleset) for case in cases))


def run_case(dispatcher: Dispatcher, case: Case, ruleset: RuleSet | None = None) -> CaseResult:
    """Dispatch one case and compare what it expects."""
    try:
        report = dispatcher._dispatch_under(ruleset or dispatcher.ruleset, case.result, case.viewer, case.catalogs)
    except InvalidInputError as error:
        return CaseResult(case.file, case.name, case.line, error=str(error))
    # As JSON text, read back: an engine answer that can not be written becomes that engine's error.
    engines = json.loads(dispatcher.to_json(report)[1])["engines"]
    mismatches: list[Mismatch] = []
    for engine, expected in case.expect.items():
        _compare(expected, engines.get(engine, _MISSING), (*case.path, "expect", engine), engine, case, mismatches)
    cited = frozenset(
        (because.file, because.rule) for answer in report.engines.values() for because in answer.explain if because.file
    )
    return CaseResult(case.file, case.name, case.line, tuple(mismatches), cited=cited)


def _compare(expected: Any, actual: Any, where: JsonPath, field: str, case: Case, found: list[Mismatch]) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, value in expected.items():
            _compare(value, actual.get(key, _MISSING), (*where, key), f"{field}.{key}", case, found)
    elif isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (want, have) in enumerate(zip(expected, actual, strict=True)):
            _compare(want, have, (*where, index), f"{field}[{index}]", case, found)
    elif not _equal(expected, actual):
        # A whole list or mapping that differs is shown at its key, where the author wrote it.
        line, column = case.document.position(where, at_key=isinstance(expected, dict | list))
        found.append(Mismatch(field, expected, actual, case.file, line, column))


def _equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return bool(expected == actual)


def _show(value: Any) -> str:
    if value is _MISSING:
        return "nothing"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 200 else text[:197] + "..."


@dataclass(frozen=True, slots=True)
class Uncovered:
    """A rule no test case exercised: no explanation of any case cites it."""

    file: str
    line: int | None
    rule: str

    def format(self) -> str:
        return f"{self.file}:{self.line or 1}: not exercised by any rule test: {self.rule}"


def rule_units(rules: Rules[Any]) -> dict[str, int | None]:
    """The rules of a rule file that a test can exercise, with their lines.

    Every setting is one, except that a list of plain values (skill codes) is one rule, and an item of a
    list of records (a priority band, a grant) is one rule with all its fields.
    """
    paths = list(rules.lines)
    units: dict[str, int | None] = {}
    for path in paths:
        if path and not any(other.startswith((path + ".", path + "[")) for other in paths):
            unit = _unit_of(path)
            units.setdefault(unit, rules.line_of(unit))
    return units


def _unit_of(path: str) -> str:
    bracket = path.find("[")
    while bracket != -1:
        end = path.index("]", bracket)
        if path[bracket + 1] in "'\"":
            bracket = path.find("[", end)  # a quoted key of a mapping, such as ['1']: keep going
        elif end == len(path) - 1:
            return path[:bracket]  # an item of a list of plain values: the list is the rule
        else:
            return path[: end + 1]  # a field of an item of a list of records: the item is the rule
    return path


def uncovered(rules: Iterable[Rules[Any]], suite: SuiteResult) -> list[Uncovered]:
    """The rules of ``rules`` that no case of ``suite`` cites, itself or within it."""
    cited: dict[str, set[str]] = {}
    for case in suite.cases:
        for file, rule in case.cited:
            cited.setdefault(file, set()).add(rule)
    missing = []
    for file_rules in rules:
        seen = cited.get(file_rules.file, set())
        for unit, line in rule_units(file_rules).items():
            if not any(rule == unit or rule.startswith((unit + ".", unit + "[")) for rule in seen):
                missing.append(Uncovered(file_rules.file, line, unit))
    return missing
