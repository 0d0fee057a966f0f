"""The ``profiler-rules`` command line.

Every command exits by one table (:data:`EXIT_CODES`): 0 ok, 1 findings, 2 usage or unusable input,
130 or 143 interrupted.
Content mistakes are printed as ``file:line:col: error: message [path]``, never as a traceback.

Heavy modules (pydantic, jsonschema, the plugins) are imported inside the commands, so ``--help``
stays fast (llm#732: plugin imports took ``--help`` from 1.3 s to 10.7 s).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from .common import EXAMPLE_COHORT, EXIT_OK, EXIT_USAGE, CommandError, interruptions_caught
from .results import run_analytics, run_diff, run_dispatch, run_explain
from .rulefiles import run_check, run_init, run_plugins, run_schema, run_test


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Ctrl-C (SIGINT) or SIGTERM ends any command with one line, ``profiler-rules: interrupted``, saying
    for a batch what was written and how to resume it, and the exit code 128 + the signal's number
    (130, 143).
    """
    with interruptions_caught():
        try:
            return _run(list(sys.argv[1:] if argv is None else argv))
        except KeyboardInterrupt as interruption:  # an Interrupted, or Ctrl-C before our handler was set
            detail = getattr(interruption, "detail", None)
            print("profiler-rules: interrupted" + (f": {detail}" if detail else ""), file=sys.stderr)
            return getattr(interruption, "code", 128 + signal.SIGINT)


def _run(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    args.command_line = argv  # as given, for the exact command that resumes an interrupted batch
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


EXIT_CODES = """\
exit codes (every command):
  0  ok
  1  findings: invalid rules (check), failed rule tests, bad input lines, a denied
     dashboard, --strict faults
  2  usage or unusable input: bad options, a missing or unreadable rules directory
     or input file, rules too broken to run (every command but check)
  130, 143  interrupted by Ctrl-C or SIGTERM (a batch says how to resume)"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="profiler-rules",
        description="Rules engine for the profiler's integrations: check and test rules, dispatch results.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.set_defaults(command=None)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _rule_commands(commands)
    _result_commands(commands)
    return parser


def _rule_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = _command(commands, "check", run_check, "validate rule files; report every problem at file:line:col")
    _rules_option(check)
    _strict_option(check)
    _format_option(check, ("text", "json"))

    test = _command(commands, "test", run_test, "run the rule tests beside the rules (tests/*.yaml)")
    _rules_option(test)
    _strict_option(test)
    _format_option(test, ("text", "json", "junit"))
    test.add_argument("-k", metavar="NAME", help="run only the cases whose name contains NAME")
    test.add_argument("--coverage", action="store_true", help="also list the rules no case exercised")

    schema = _command(commands, "schema", run_schema, "print the JSON Schema of a rule file (all when no ENGINE)")
    schema.add_argument("engine", nargs="?", metavar="ENGINE")
    schema.add_argument("--write", metavar="DIR", help="write every schema into DIR as <name>.schema.json")

    init = _command(commands, "init", run_init, "copy the default rules, their tests and schemas into DIR")
    init.add_argument("directory", metavar="DIR")
    init.add_argument(
        "--engine",
        metavar="NAME",
        help="copy only engine NAME's default rule file (and its schema) into DIR, an existing rules directory",
    )
    init.add_argument(
        "--force", action="store_true", help="write into DIR even if it is not empty (with --engine: replace the file)"
    )

    plugins = _command(commands, "plugins", run_plugins, "list plugins: version, hooks, engines, rule files, errors")
    _format_option(plugins, ("text", "json"))
    _strict_option(plugins)


def _result_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dispatch = _command(commands, "dispatch", run_dispatch, "run profiler results through every engine")
    _rules_option(dispatch)
    _input_argument(dispatch, "a JSON file, a JSONL file (.jsonl), or - for standard input")
    _catalogs_option(dispatch)
    _viewer_option(dispatch)
    dispatch.add_argument("--jsonl", action="store_true", help="read INPUT as JSON Lines whatever its name")
    dispatch.add_argument(
        "--engine",
        metavar="NAME",
        action="append",
        help="run engine NAME only (repeatable; default: every engine); one result, not JSON Lines",
    )
    _strict_option(dispatch, "a plugin that fails to load, or an engine that fails on a result,")
    dispatch.add_argument(
        "--output", metavar="FILE", help="write JSON Lines records to FILE instead of standard output"
    )
    dispatch.add_argument(
        "--resume", action="store_true", help="continue an interrupted run: keep FILE's whole records, skip their lines"
    )
    _workers_option(dispatch, "dispatch JSON Lines on N processes, in order")
    _example_option(dispatch, "the bundled example result, with the bundled catalogs and viewer")
    dispatch.add_argument(
        "--no-explain",
        dest="explain",
        action="store_false",
        help="leave out the explanations of ok answers (faster); skipped and denied answers keep their reason",
    )

    explain = _command(commands, "explain", run_explain, "say, in words, which rules decided for one result")
    _rules_option(explain)
    _input_argument(explain, "a JSON file holding one result, or - for standard input")
    explain.add_argument("--engine", metavar="NAME", help="explain this engine only")
    _strict_option(explain)
    _catalogs_option(explain)
    _viewer_option(explain)
    _example_option(explain, "the bundled example result, with the bundled catalogs and viewer")

    diff = _command(commands, "diff", run_diff, "preview what a rule change does to real results")
    diff.add_argument("--base", metavar="OLD_RULES", help="the rules as they are (default: the packaged rules)")
    diff.add_argument("--rules", metavar="NEW_RULES", help="the changed rules (default: the packaged rules)")
    _input_argument(diff, "a JSONL file of results, or - for standard input")
    _catalogs_option(diff)
    _viewer_option(diff)
    _format_option(diff, ("text", "json"))
    diff.add_argument("--top", type=int, default=10, metavar="N", help="list the N commonest changes per engine")
    _example_option(diff, "the bundled example cohort")
    _strict_option(diff)

    analytics = _command(commands, "analytics", run_analytics, "cohort and enterprise dashboards over results")
    _rules_option(analytics)
    _input_argument(analytics, "a JSONL file of results (one per line), or - for standard input")
    _viewer_option(analytics)
    analytics.add_argument("--cohort", metavar="ID", help="the cohort's dashboard")
    _strict_option(analytics)
    analytics.add_argument("--sponsor", metavar="ID", help="the sponsor's (enterprise) dashboard")
    analytics.add_argument(
        "--roster", metavar="FILE", help="a JSON file: [{user_id, cohort_id, sponsor_id, name, email}]"
    )
    analytics.add_argument("--from", dest="date_from", metavar="DATE", help="results completed on or after DATE")
    analytics.add_argument(
        "--to", dest="date_to", metavar="DATE", help="results completed on or before DATE, all of it"
    )
    _example_option(analytics, f"the bundled example cohort, roster and viewer (cohort {EXAMPLE_COHORT} by default)")


def _workers_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--workers", type=_positive, default=1, metavar="N", help=f"{what} (default 1)")


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, run: object, text: str
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name, help=text, description=text, epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.set_defaults(command=name, run=run, strict=False)
    return parser


def _strict_option(parser: argparse.ArgumentParser, what: str = "a plugin that fails to load") -> None:
    parser.add_argument("--strict", action="store_true", help=f"treat {what} as a failure (exit 1), for CI")


def _rules_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", metavar="DIR", help="rules directory (default: the packaged rules)")


def _format_option(parser: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
    parser.add_argument("--format", choices=choices, default="text", help="output format (default: text)")


def _input_argument(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("input", nargs="?", metavar="INPUT", help=text)


def _catalogs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalogs", metavar="FILE", help='a JSON file: {"missions": [...], "recipes": [...], "jobs": [...]}'
    )


def _viewer_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--viewer", metavar="JSON", help="who is asking: JSON text, or a JSON file")


def _example_option(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--example", action="store_true", help=text)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("profiler-rules")
    except metadata.PackageNotFoundError:
        return "unknown"
