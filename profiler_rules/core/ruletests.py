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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import jsonschema

from .errors import Problem, ProfilerRulesError, RulesError
from .ruleset import RuleFileValidator, schema_problems
from .yamlfile import JsonPath, UnreadableFile, YamlDocument, format_path, read_bounded, read_yaml_file, shown

if TYPE_CHECKING:
    from .models import AggregateReport, DispatchReport, Explanation
    from .plugins import PluginInfo
    from .rulefile import Rules

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
                    "results": {
                        "description": "Many profiler results, written out, for the answer of one engine over them all (the analytics dashboards); 'query' says what the answer covers.",
                        "type": "array",
                        "minItems": 1,
                        "items": {"description": "One profiler result, written out.", "type": "object"},
                        "examples": [
                            [{"session_id": "t-1", "user_id": "u-1", "status": "finished", "cohort_id": "c-1"}]
                        ],
                    },
                    "query": {
                        "description": "With 'results': what the answer covers. For analytics: cohort_id, sponsor_id, roster, date_from, date_to.",
                        "type": "object",
                        "examples": [{"cohort_id": "c-1"}, {"sponsor_id": "acme"}],
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
    skipped: str | None = None
    """Why the case did not run: it expects an answer of an engine that is not loaded (its plugin is
    disabled, or failed to load). A skipped case neither passes nor fails."""
    unloaded: tuple[str, ...] = ()
    """The engines a skipped case expects that are not loaded."""

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.error is None and self.skipped is None

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
        return tuple(case for case in self.cases if not case.passed and case.skipped is None)

    @property
    def skipped(self) -> tuple[CaseResult, ...]:
        return tuple(case for case in self.cases if case.skipped is not None)

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
    results: tuple[Any, ...] | None = None
    """For a case over many results: the results, and ``query``, what the one engine expected answers."""
    query: Mapping[str, Any] | None = None


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


class KnowsPlugins(Protocol):
    """What :func:`unloaded_engines` reads of a dispatcher: the engines it loaded and every plugin found."""

    @property
    def engines(self) -> tuple[str, ...]: ...

    @property
    def plugins(self) -> tuple[PluginInfo, ...]: ...


@dataclass(frozen=True, slots=True)
class Dispatching:
    """What rule tests run on: the engines that answer, and two ways to answer a case, both under one
    rule set. :meth:`Dispatcher.dispatching` gives a dispatcher's; rule tests see nothing else of it."""

    engines: tuple[str, ...]
    unloaded: Mapping[str, str]
    """The engines a test may expect that are not loaded, each with the reason (:func:`unloaded_engines`)."""
    dispatch: Callable[[Any, Any, Any], tuple[DispatchReport, str]]
    """``(result, viewer, catalogs)``: every engine's report, and that report as JSON text (an answer
    that can not be written becomes its engine's error, in both)."""
    aggregate: Callable[[str, Iterable[Any], Any, Mapping[str, Any]], AggregateReport]
    """``(engine, results, viewer, query)``: one engine's answer over many results."""


def unloaded_engines(dispatcher: KnowsPlugins) -> dict[str, str]:
    """The engines a test may expect that ``dispatcher`` has not loaded, each with the reason: the
    plugins of that name that are disabled or failed to load (a built-in plugin is named after its engine)."""
    unloaded = {}
    for info in dispatcher.plugins:
        if info.status != "loaded" and info.name not in dispatcher.engines:
            unloaded[info.name] = "plugin disabled" if info.status == "disabled" else "; ".join(info.errors)
    return unloaded


def load_cases(
    files: Iterable[Path], engines: Iterable[str], unloaded: Iterable[str] = (), *, rules_directory: Path | None = None
) -> list[Case]:
    """Read test files strictly; raise :class:`RulesError` listing every problem in them.

    ``expect`` may name the ``engines`` loaded and the ``unloaded`` ones (whose cases are then skipped);
    any other name is a mistake in the test file. Test files, and the files their cases name
    (``result_file``, ``catalogs_file``), are read only from inside ``rules_directory`` (by default each
    test file's rules directory: the parent of its ``tests`` folder), resolved: a file that links
    outside it is refused unread.
    """
    validator = _validator_for(sorted({*engines, *unloaded}))
    problems: list[Problem] = []
    cases: list[Case] = []
    roots: dict[Path, Path] = {}
    for path in files:
        display = str(path)
        given = rules_directory if rules_directory is not None else path.parent.parent
        root = roots.get(given)
        if root is None:
            root = roots[given] = Path(os.path.realpath(given))
        document, found, _ = read_yaml_file(path, display, inside=root, what="rule tests")
        problems.extend(found)
        if document is None or found:
            continue
        schema_found = schema_problems(validator, document, display)
        problems.extend(schema_found)
        if not schema_found:
            cases.extend(_cases(document, path, root, display, problems))
    if problems:
        raise RulesError(sorted(problems, key=lambda problem: (problem.file, problem.line or 0, problem.column or 0)))
    return cases


def _validator_for(engines: list[str]) -> jsonschema.protocols.Validator:
    """The test-file schema, with 'expect' keys limited to the engines loaded here."""
    schema = copy.deepcopy(TESTS_SCHEMA)
    expect = schema["properties"]["cases"]["items"]["properties"]["expect"]
    expect["propertyNames"] = {"enum": engines}
    return RuleFileValidator(schema)


def _cases(document: YamlDocument, path: Path, root: Path, display: str, problems: list[Problem]) -> Iterator[Case]:
    for index, raw in enumerate(document.data["cases"]):
        where: JsonPath = ("cases", index)
        mistake = _inputs_mistake(raw)
        if mistake is not None:
            line, column = document.position((*where, "name"), at_key=True)
            problems.append(Problem(display, line, column, mistake, format_path(where)))
            continue
        if "results" in raw:
            case = _case_over_many(document, raw, where, display, problems)
            if case is not None:
                yield case
            continue
        try:
            result = raw["result"] if "result" in raw else _json_beside(path, root, raw["result_file"], "result_file")
            catalogs = raw.get("catalogs")
            if "catalogs_file" in raw:
                catalogs = _json_beside(path, root, raw["catalogs_file"], "catalogs_file")
        except _FileProblem as problem:
            line, column = document.position((*where, problem.key))
            problems.append(Problem(display, line, column, str(problem), format_path((*where, problem.key))))
            continue
        line = document.position((*where, "name"))[0]
        yield Case(display, raw["name"], line, result, raw.get("viewer"), catalogs, raw["expect"], document, where)


_INPUTS = ("result", "result_file", "results")


def _inputs_mistake(raw: Mapping[str, Any]) -> str | None:
    """What is wrong with a case's input, said so the author can fix it; ``None`` when it is right.

    Checked here rather than by the schema: jsonschema's message for ``oneOf`` quotes the whole case.
    """
    given = [key for key in _INPUTS if key in raw]
    if not given:
        return "the case has no input: give it 'result' (one result), 'result_file' or 'results' (many)"
    if len(given) > 1:
        return f"the case has {' and '.join(repr(key) for key in given)}: keep one of them"
    if "query" in raw and given != ["results"]:
        return "'query' says what an answer over many results covers: use it with 'results', or remove it"
    return None


def _case_over_many(
    document: YamlDocument, raw: Mapping[str, Any], where: JsonPath, display: str, problems: list[Problem]
) -> Case | None:
    """A case of one engine's answer over many results (a dashboard), or ``None`` and its problems."""
    found = []
    if len(raw["expect"]) != 1:
        found.append(
            (
                "expect",
                "a case with 'results' checks the answer of one engine over them; name one engine under 'expect'",
            )
        )
    for key in ("catalogs", "catalogs_file"):
        if key in raw:
            found.append((key, f"an answer over many results reads no catalogs; remove '{key}'"))
    for key, message in found:
        line, column = document.position((*where, key), at_key=True)
        problems.append(Problem(display, line, column, message, format_path((*where, key))))
    if found:
        return None
    line = document.position((*where, "name"))[0]
    return Case(
        display,
        raw["name"],
        line,
        None,
        raw.get("viewer"),
        None,
        raw["expect"],
        document,
        where,
        results=tuple(raw["results"]),
        query=raw.get("query", {}),
    )


class _FileProblem(ValueError):
    """A file a case names that can not be used; ``key`` is the setting that names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _json_beside(test_file: Path, root: Path, name: str, key: str) -> Any:
    """The JSON of a file named by a case, relative to its test file, read like a rule file: from
    inside the rules directory only, a regular file of at most 1 MiB."""
    try:
        raw = read_bounded(test_file.parent / name, inside=root, what="the files a rule test names")
    except UnreadableFile as error:
        raise _FileProblem(key, f"{key} {shown(name)}: {error}") from None
    try:
        return json.loads(raw)
    except UnicodeDecodeError as error:
        message = f"{key} {shown(name)} is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start})"
        raise _FileProblem(key, message) from None
    except RecursionError:
        raise _FileProblem(key, f"{key} {shown(name)} is nested too deeply to be a profiler result") from None
    except ValueError as error:
        raise _FileProblem(key, f"{key} {shown(name)} is not valid JSON: {error}") from None


def run_cases(target: Dispatching, cases: Iterable[Case]) -> SuiteResult:
    """Run cases on ``target`` (a dispatcher's :meth:`~Dispatcher.dispatching`, under the rule set it names)."""
    return SuiteResult(tuple(run_case(target, case) for case in cases))


def run_case(target: Dispatching, case: Case) -> CaseResult:
    """Dispatch one case and compare what it expects; skip it when it expects an engine not loaded."""
    absent = [engine for engine in case.expect if engine not in target.engines]
    if absent:
        reasons = target.unloaded
        why = "; ".join(f"engine '{engine}' is not loaded ({reasons.get(engine, 'unknown')})" for engine in absent)
        return CaseResult(case.file, case.name, case.line, skipped=why, unloaded=tuple(absent))
    try:
        engines, explained = _answers(target, case)
    except ProfilerRulesError as error:  # an invalid input, or no engine of that name answers over many
        return CaseResult(case.file, case.name, case.line, error=str(error))
    mismatches: list[Mismatch] = []
    for engine, expected in case.expect.items():
        _compare(expected, engines.get(engine, _MISSING), (*case.path, "expect", engine), engine, case, mismatches)
    cited = frozenset((because.file, because.rule) for because in explained if because.file)
    return CaseResult(case.file, case.name, case.line, tuple(mismatches), cited=cited)


def _answers(target: Dispatching, case: Case) -> tuple[dict[str, Any], list[Explanation]]:
    """Each engine's answer to the case, as JSON, and every explanation given."""
    if case.results is None:
        # As JSON text, read back: an engine answer that can not be written becomes that engine's error.
        report, text = target.dispatch(case.result, case.viewer, case.catalogs)
        explained = [because for answer in report.engines.values() for because in answer.explain]
        return json.loads(text)["engines"], explained
    (engine,) = case.expect  # checked when the case was read
    answer = target.aggregate(engine, case.results, case.viewer, case.query or {})
    return {engine: answer.model_dump(mode="json")}, list(answer.explain)


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
