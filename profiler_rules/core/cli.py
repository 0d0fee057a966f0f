"""The ``profiler-rules`` command line.

Exit codes: 0 success, 1 problems found (invalid rules for ``check``, bad input lines for
``dispatch``), 2 usage errors or rules too broken to run. Content mistakes are printed as
``file:line:col: error: message [path]``, never as a traceback.

Heavy modules (pydantic, jsonschema, the plugins) are imported inside the commands, so ``--help``
stays fast (llm#732: plugin imports took ``--help`` from 1.3 s to 10.7 s).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .dispatcher import Catalogs, Dispatcher
    from .models import Viewer

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXAMPLE_COHORT = "cohort-2026-spring"


class CommandError(Exception):
    """A problem the user can fix, printed as one line and mapped to an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    # Problems reach the user as report fields and warning lines; logging's last-resort handler would
    # print them a second time, engine tracebacks included.
    logging.getLogger("profiler_rules").addHandler(logging.NullHandler())
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except CommandError as error:
        print(f"profiler-rules: error: {error}", file=sys.stderr)
        return error.code
    except BrokenPipeError:
        # Output piped into `head` and closed early; nothing is wrong with the run.
        sys.stderr.close()
        return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="profiler-rules",
        description="Rules engine for the profiler's integrations: check rules, dispatch results.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.set_defaults(command=None)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    check = commands.add_parser("check", help="validate rule files; report every problem at file:line:col")
    _rules_option(check)
    _format_option(check)
    check.set_defaults(command="check", run=run_check)

    dispatch = commands.add_parser("dispatch", help="run profiler results through every engine")
    _rules_option(dispatch)
    dispatch.add_argument(
        "input", nargs="?", metavar="INPUT", help="a JSON file, a JSONL file (.jsonl), or - for standard input"
    )
    dispatch.add_argument(
        "--catalogs", metavar="FILE", help='a JSON file: {"missions": [...], "recipes": [...], "jobs": [...]}'
    )
    dispatch.add_argument("--viewer", metavar="JSON", help="who is asking: JSON text or a JSON file")
    dispatch.add_argument("--jsonl", action="store_true", help="read INPUT as JSON Lines whatever its name")
    dispatch.add_argument(
        "--example",
        action="store_true",
        help="dispatch the bundled example result with the bundled catalogs and viewer",
    )
    dispatch.set_defaults(command="dispatch", run=run_dispatch)

    analytics = commands.add_parser("analytics", help="cohort and enterprise dashboards over a JSONL file of results")
    _rules_option(analytics)
    analytics.add_argument(
        "input", nargs="?", metavar="INPUT", help="a JSONL file of results (one per line), or - for standard input"
    )
    analytics.add_argument(
        "--viewer", metavar="JSON", help="who is asking: JSON text or a JSON file (required unless --example)"
    )
    analytics.add_argument("--cohort", metavar="ID", help="the cohort's dashboard")
    analytics.add_argument("--sponsor", metavar="ID", help="the sponsor's (enterprise) dashboard")
    analytics.add_argument(
        "--roster", metavar="FILE", help="a JSON file: [{user_id, cohort_id, sponsor_id, name, email}]"
    )
    analytics.add_argument(
        "--from", dest="date_from", metavar="DATE", help="count results completed on or after this date (YYYY-MM-DD)"
    )
    analytics.add_argument(
        "--to", dest="date_to", metavar="DATE", help="count results completed on or before this date, all of it"
    )
    analytics.add_argument(
        "--example",
        action="store_true",
        help=f"the bundled example cohort, roster and viewer (cohort {EXAMPLE_COHORT} unless --cohort or --sponsor)",
    )
    analytics.set_defaults(command="analytics", run=run_analytics)

    plugins = commands.add_parser("plugins", help="list plugins: version, hooks, engines, rule files, load errors")
    _format_option(plugins)
    plugins.set_defaults(command="plugins", run=run_plugins)

    schema = commands.add_parser("schema", help="print the JSON Schema of an engine's rule file (all when no ENGINE)")
    schema.add_argument("engine", nargs="?", metavar="ENGINE")
    schema.set_defaults(command="schema", run=run_schema)
    return parser


def _rules_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", metavar="DIR", help="rules directory (default: the packaged rules)")


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("profiler-rules")
    except metadata.PackageNotFoundError:
        return "unknown"


def _dispatcher(rules: str | None) -> Dispatcher:
    """Build a dispatcher, turning rule problems into linter lines and exit code 2."""
    from .dispatcher import Dispatcher
    from .errors import RulesError

    try:
        dispatcher = Dispatcher.from_rules(rules)
    except RulesError as error:
        for problem in error.problems:
            print(problem.format(), file=sys.stderr)
        raise CommandError(f"the rules have {len(error.problems)} problem(s); run 'profiler-rules check'") from None
    _warn_plugin_problems(dispatcher.plugin_problems)
    return dispatcher


def _warn_plugin_problems(problems: Sequence[str]) -> None:
    for problem in problems:
        print(f"profiler-rules: warning: {problem}", file=sys.stderr)


def run_check(args: argparse.Namespace) -> int:
    from .errors import RulesError
    from .plugins import discover_plugins
    from .rules import load_ruleset

    registry = discover_plugins()
    _warn_plugin_problems(registry.problems)
    directory = None if args.rules is None else Path(args.rules)
    try:
        ruleset = load_ruleset(registry.engines, directory, ignored_stems=registry.ignored_stems)
    except RulesError as error:
        if args.format == "json":
            _print_json({"valid": False, "problems": [problem.as_dict() for problem in error.problems]})
        else:
            for problem in error.problems:
                print(problem.format())
            files = len({problem.file for problem in error.problems})
            print(f"{len(error.problems)} problem(s) in {files} file(s)", file=sys.stderr)
        return EXIT_PROBLEMS
    if args.format == "json":
        warnings = [problem.as_dict() for problem in ruleset.warnings]
        _print_json(
            {
                "valid": True,
                "digest": ruleset.digest,
                "version": ruleset.version,
                "engines": list(ruleset.rules),
                "problems": warnings,
            }
        )
    else:
        for problem in ruleset.warnings:
            print(problem.format())
        version = f", version {ruleset.version}" if ruleset.version else ""
        print(f"ok: rules of {len(ruleset.rules)} engine(s) are valid ({ruleset.digest}{version})")
    return EXIT_OK


def run_dispatch(args: argparse.Namespace) -> int:
    example = _example_paths() if args.example else {}
    source = args.input or example.get("input")
    if source is None:
        raise CommandError("dispatch needs an INPUT (a JSON or JSONL file, or -), or --example")
    if args.input and args.example:
        raise CommandError("give either INPUT or --example, not both")
    dispatcher = _dispatcher(args.rules)
    catalogs = _catalogs(dispatcher, args.catalogs or example.get("catalogs"))
    viewer = _viewer(args.viewer, example.get("viewer"))
    if args.jsonl or str(source).endswith((".jsonl", ".ndjson")):
        return _dispatch_lines(dispatcher, _open_input(source), catalogs, viewer)
    return _dispatch_document(dispatcher, _open_input(source), catalogs, viewer)


def _example_paths() -> dict[str, Any]:
    from importlib.resources import files

    examples = files("profiler_rules").joinpath("examples")
    return {
        "input": examples.joinpath("result.json"),
        "catalogs": examples.joinpath("catalogs.json"),
        "viewer": examples.joinpath("viewer.json"),
        "cohort": examples.joinpath("cohort.jsonl"),
        "roster": examples.joinpath("roster.json"),
    }


def _open_input(source: Any) -> TextIO:
    if source == "-":
        return sys.stdin
    try:
        return open(str(source), encoding="utf-8")  # noqa: SIM115 - closed when the process ends
    except OSError as error:
        raise CommandError(f"cannot read {source}: {error.strerror or error}") from None


def _read_json_file(path: Any, what: str) -> Any:
    if path is None:
        return None
    try:
        text = Path(str(path)).read_text(encoding="utf-8")
    except OSError as error:
        raise CommandError(f"cannot read the {what} file {path}: {error.strerror or error}") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise CommandError(f"the {what} file {path} is not valid JSON: {error}") from None


def _catalogs(dispatcher: Dispatcher, path: Any) -> Catalogs:
    from .errors import InvalidInputError

    try:
        return dispatcher.prepare_catalogs(_read_json_file(path, "catalogs"))
    except InvalidInputError as error:
        raise CommandError(str(error)) from None


def _viewer(option: str | None, example: Any) -> Viewer | None:
    from .errors import InvalidInputError
    from .models import Viewer, validate_input

    if option is None:
        raw = _read_json_file(example, "viewer")
    elif option.lstrip().startswith("{"):
        try:
            raw = json.loads(option)
        except ValueError as error:
            raise CommandError(f"--viewer is not valid JSON: {error}") from None
    else:
        raw = _read_json_file(option, "viewer")
    if raw is None:
        return None
    try:
        return validate_input(Viewer, raw, "viewer")
    except InvalidInputError as error:
        raise CommandError(str(error)) from None


def _dispatch_document(dispatcher: Dispatcher, stream: TextIO, catalogs: Catalogs, viewer: Viewer | None) -> int:
    from .errors import InvalidInputError

    with stream:
        text = stream.read()
    try:
        report = dispatcher.dispatch(text, viewer=viewer, catalogs=catalogs)
    except InvalidInputError as error:
        raise CommandError(str(error), EXIT_PROBLEMS) from None
    print(report.model_dump_json(indent=2))
    return EXIT_OK


def _dispatch_lines(dispatcher: Dispatcher, stream: TextIO, catalogs: Catalogs, viewer: Viewer | None) -> int:
    good = bad = 0
    out = sys.stdout
    with stream:
        for number, line in _numbered(stream):
            record, ok = _dispatch_line(dispatcher, number, line, catalogs, viewer)
            out.write(record + "\n")
            good, bad = (good + 1, bad) if ok else (good, bad + 1)
    print(f"profiler-rules: {good + bad} line(s): {good} dispatched, {bad} with errors", file=sys.stderr)
    return EXIT_PROBLEMS if bad else EXIT_OK


def _numbered(stream: TextIO) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, start=1):
        yield number, line.rstrip("\r\n")


def _dispatch_line(
    dispatcher: Dispatcher, number: int, line: str, catalogs: Catalogs, viewer: Viewer | None
) -> tuple[str, bool]:
    from .errors import InvalidInputError

    if not line.strip():
        return _error_record(number, None, "the line is blank"), False
    try:
        data = json.loads(line)
    except ValueError as error:
        return _error_record(number, None, f"invalid JSON: {error}"), False
    if not isinstance(data, dict):
        return _error_record(number, None, f"expected a JSON object, got {type(data).__name__}"), False
    session = data.get("session_id")
    try:
        report = dispatcher.dispatch(data, viewer=viewer, catalogs=catalogs)
    except InvalidInputError as error:
        return _error_record(number, session, str(error), list(error.fields)), False
    return report.model_dump_json(), True


def _error_record(line: int, session: Any, message: str, fields: list[str] | None = None) -> str:
    record: dict[str, Any] = {
        "line": line,
        "session_id": session if isinstance(session, str) else None,
        "error": message,
    }
    if fields is not None:
        record["fields"] = fields
    return json.dumps(record, ensure_ascii=False)


def run_analytics(args: argparse.Namespace) -> int:
    from .errors import InvalidInputError

    example = _example_paths() if args.example else {}
    if args.input and args.example:
        raise CommandError("give either INPUT or --example, not both")
    source = args.input or example.get("cohort")
    if source is None:
        raise CommandError("analytics needs an INPUT (a JSONL file, or -), or --example")
    dispatcher = _dispatcher(args.rules)
    viewer = _viewer(args.viewer, example.get("viewer"))
    cohort = args.cohort if args.cohort or args.sponsor or not args.example else EXAMPLE_COHORT
    roster = _read_json_file(args.roster or example.get("roster"), "roster")
    with _open_input(source) as stream:
        try:
            report = dispatcher.analytics(
                (line for line in stream),
                viewer=viewer,
                cohort_id=cohort,
                sponsor_id=args.sponsor,
                roster=roster,
                date_from=args.date_from,
                date_to=args.date_to,
            )
        except InvalidInputError as error:
            raise CommandError(str(error)) from None
    print(report.model_dump_json(indent=2))
    for warning in report.warnings:
        print(f"profiler-rules: warning: {warning}", file=sys.stderr)
    return EXIT_OK if report.status == "ok" and not report.results_invalid else EXIT_PROBLEMS


def run_plugins(args: argparse.Namespace) -> int:
    from .plugins import discover_plugins

    registry = discover_plugins()
    rule_files = {item.engine.name: str(item.engine.default_rules_file) for item in registry.engines}
    rows = []
    for info in registry.plugins:
        row = info.as_dict()
        row["rules_files"] = [rule_files[name] for name in info.engines]
        rows.append(row)
    if args.format == "json":
        _print_json(rows)
        return EXIT_OK
    for row in rows:
        version = f" {row['version']}" if row["version"] else ""
        print(f"{row['name']} ({row['source']}, {row['distribution'] or row['module']}{version}): {row['status']}")
        if row["engines"]:
            print(f"  engines: {', '.join(row['engines'])}")
        if row["hooks"]:
            print(f"  hooks:   {', '.join(row['hooks'])}")
        for rules in row["rules_files"]:
            print(f"  rules:   {rules}")
        for error in row["errors"]:
            print(f"  error:   {error}")
    return EXIT_OK


def run_schema(args: argparse.Namespace) -> int:
    from .access import ACCESS_NAME, ACCESS_SCHEMA
    from .plugins import discover_plugins
    from .rules import MANIFEST_NAME, MANIFEST_SCHEMA

    registry = discover_plugins()
    schemas: dict[str, Any] = {item.engine.name: dict(item.schema) for item in registry.engines}
    schemas[ACCESS_NAME] = ACCESS_SCHEMA
    schemas[MANIFEST_NAME] = MANIFEST_SCHEMA
    if args.engine is None:
        _print_json(schemas)
    elif args.engine in schemas:
        _print_json(schemas[args.engine])
    else:
        raise CommandError(f"no engine named {args.engine!r} (engines: {', '.join(schemas)})")
    return EXIT_OK


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))
