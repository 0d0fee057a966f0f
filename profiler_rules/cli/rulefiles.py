"""Commands for the rule files themselves: check, test, schema, init and plugins."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from .common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    CommandError,
    build_dispatcher,
    fail_if_strict,
    print_json,
    print_problems,
    unusable_directory,
    visible,
    warn,
)

if TYPE_CHECKING:
    from ..core.ruletests import SuiteResult


def run_check(args: argparse.Namespace) -> int:
    from ..core.errors import RulesDirectoryError, RulesError
    from ..core.plugins import discover_plugins
    from ..core.ruleset import load_ruleset, rules_directory

    registry = discover_plugins()
    warn(registry.problems)
    fail_if_strict(args.strict, registry.problems)
    try:
        ruleset = load_ruleset(registry.engines, rules_directory(args.rules), ignored_stems=registry.ignored_stems)
    except RulesDirectoryError as error:
        # Nothing to check: the directory itself is unusable input (exit 2), not a finding.
        raise CommandError(unusable_directory(error)) from None
    except RulesError as error:
        if args.format == "json":
            print_json({"valid": False, "problems": [problem.as_dict() for problem in error.problems]})
        else:
            print_problems(error.problems, sys.stdout)
            files = len({problem.file for problem in error.problems})
            print(f"{len(error.problems)} problem(s) in {files} file(s)", file=sys.stderr)
            _next(f"fix these, then '{_command_line('check', args.rules)}' again")
        return EXIT_PROBLEMS
    if args.format == "json":
        problems = [problem.as_dict() for problem in ruleset.warnings]
        print_json(
            {
                "valid": True,
                "digest": ruleset.digest,
                "version": ruleset.version,
                "engines": list(ruleset.rules_by_engine),
                "defaults": list(ruleset.defaults),
                "problems": problems,
            }
        )
    else:
        print_problems(ruleset.warnings, sys.stdout)
        version = f", version {ruleset.version}" if ruleset.version else ""
        print(f"ok: rules of {len(ruleset.rules_by_engine)} engine(s) are valid ({ruleset.digest}{version})")
        _next(f"'{_command_line('test', args.rules)}' runs the rule tests")
    return EXIT_OK


def run_test(args: argparse.Namespace) -> int:
    from ..core.errors import RulesError

    dispatcher = build_dispatcher(args.rules, args.strict)
    try:
        suite = dispatcher.test_rules(select=args.k)
    except RulesError as error:
        print_problems(error.problems, sys.stderr)
        raise CommandError(f"the rule tests have {len(error.problems)} problem(s)") from None
    if not suite.cases:
        where = f"{args.rules or 'the packaged rules'}/tests"
        raise CommandError(f"no rule test case matched -k {args.k!r}" if args.k else f"no rule tests in {where}")
    if args.format == "json":
        print_json(_suite_json(suite))
    elif args.format == "junit":
        print(_junit(suite))
    else:
        _print_suite(suite)
    if args.coverage:
        for rule in dispatcher.untested_rules(suite):
            print(visible(rule.format()))
    if args.format == "text":
        if suite.passed:
            _next(
                f"'{_command_line('diff', args.rules)} --example' previews what the rules change for the bundled cohort"
            )
        else:
            again = _command_line("test", args.rules)
            _next(
                "each failure shows the value the test expects (at its file:line:col) and what the engine "
                f"answered; fix the rule or the test, then '{again}' again"
            )
    return EXIT_OK if suite.passed else EXIT_PROBLEMS


def _command_line(command: str, rules: str | None) -> str:
    return f"profiler-rules {command}" + ("" if rules is None else f" --rules {shlex.quote(rules)}")


def _next(advice: str) -> None:
    """What to do next, on stderr, so that it never mixes with output a script reads."""
    print(f"next: {advice}", file=sys.stderr)


# XML 1.0 allows neither control characters (bar tab and newlines) nor lone surrogates, escaped or not.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return visible(text, _NOT_XML)


def _print_suite(suite: SuiteResult) -> None:
    for case in suite.failed:
        print(visible(f"FAIL {case.id} ({case.file}:{case.line})"))
        for mismatch in case.mismatches:
            print(f"  {visible(mismatch.format())}")
        if case.error:
            print(f"  {visible(case.error)}")
    failed, skipped = len(suite.failed), len(suite.skipped)
    summary = f"{len(suite.cases) - failed - skipped} passed, {failed} failed"
    if skipped:
        # Which engines are missing, once, rather than one line per skipped case.
        engines = sorted({engine for case in suite.skipped for engine in case.unloaded})
        summary += f", {skipped} skipped: their engines are not loaded ({', '.join(engines)})"
    print(visible(summary))


def _suite_json(suite: SuiteResult) -> dict[str, Any]:
    return {
        "passed": len(suite.cases) - len(suite.failed) - len(suite.skipped),
        "failed": len(suite.failed),
        "skipped": len(suite.skipped),
        "cases": [
            {
                "file": case.file,
                "line": case.line,
                "name": case.name,
                "passed": case.passed,
                "skipped": case.skipped,
                "error": case.error,
                "mismatches": [mismatch.as_dict() for mismatch in case.mismatches],
            }
            for case in suite.cases
        ],
    }


def _junit(suite: SuiteResult) -> str:
    root = ElementTree.Element(
        "testsuite",
        name="profiler-rules",
        tests=str(len(suite.cases)),
        failures=str(len(suite.failed)),
        skipped=str(len(suite.skipped)),
    )
    for case in suite.cases:
        element = ElementTree.SubElement(
            root,
            "testcase",
            classname=_xml_text(Path(case.file).stem),
            name=_xml_text(case.name),
            file=_xml_text(case.file),
            line=str(case.line),
        )
        if case.skipped is not None:
            ElementTree.SubElement(element, "skipped", message=_xml_text(case.skipped))
        elif not case.passed:
            description = _xml_text(case.describe())
            failure = ElementTree.SubElement(element, "failure", message=description)
            failure.text = description
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)


def run_schema(args: argparse.Namespace) -> int:
    from ..authoring import all_schemas, write_schemas
    from ..core.errors import ProfilerRulesError
    from ..core.plugins import discover_plugins

    registry = discover_plugins()
    if args.write is not None:
        if args.engine is not None:
            raise CommandError("--write writes every schema; leave out ENGINE")
        try:
            written = write_schemas(registry.engines, Path(args.write))
        except ProfilerRulesError as error:
            raise CommandError(str(error)) from None
        for path in written:
            print(path)
        return EXIT_OK
    schemas = all_schemas(registry.engines)
    if args.engine is None:
        print_json(schemas)
    elif args.engine in schemas:
        print_json(schemas[args.engine])
    else:
        raise CommandError(f"no engine named {args.engine!r} (schemas: {', '.join(schemas)})")
    return EXIT_OK


def run_init(args: argparse.Namespace) -> int:
    from ..authoring import init_engine, init_rules
    from ..core.errors import ProfilerRulesError
    from ..core.plugins import discover_plugins

    registry = discover_plugins()
    warn(registry.problems)
    target = Path(args.directory)
    try:
        if args.engine is not None:
            written = init_engine(registry.engines, args.engine, target, force=args.force)
        else:
            written = init_rules(registry.engines, target, force=args.force)
    except ProfilerRulesError as error:
        raise CommandError(str(error)) from None
    if args.engine is not None:
        print(f"wrote {written[0]} (the packaged default of engine '{args.engine}') and its schema")
        print(f"next: edit it, then '{_command_line('check', args.directory)}'")
        return EXIT_OK
    print(f"wrote {len(written)} files into {args.directory}: the rules, their tests and their schemas")
    print(
        f"next: edit them, then '{_command_line('check', args.directory)}' and '{_command_line('test', args.directory)}'"
    )
    return EXIT_OK


def run_plugins(args: argparse.Namespace) -> int:
    from ..core.plugins import discover_plugins

    registry = discover_plugins(commands_taken=args.own_commands)
    rule_files = {item.engine.name: str(item.engine.default_rules_file) for item in registry.engines}
    rows = []
    for info in registry.plugins:
        row = info.as_dict()
        row["rules_files"] = [rule_files[name] for name in info.engines]
        rows.append(row)
    if args.format == "json":
        print_json(rows)
        fail_if_strict(args.strict, registry.problems)
        return EXIT_OK
    for row in rows:
        version = f" {row['version']}" if row["version"] else ""
        print(f"{row['name']} ({row['source']}, {row['distribution'] or row['module']}{version}): {row['status']}")
        if row["engines"]:
            print(f"  engines: {', '.join(row['engines'])}")
        if row["commands"]:
            print(f"  commands: {', '.join(row['commands'])}")
        if row["hooks"]:
            print(f"  hooks:   {', '.join(row['hooks'])}")
        for rules in row["rules_files"]:
            print(f"  rules:   {rules}")
        for error in row["errors"]:
            print(f"  error:   {error}")
    fail_if_strict(args.strict, registry.problems)
    return EXIT_OK
