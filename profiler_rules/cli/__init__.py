"""The ``profiler-rules`` command line.

Every command exits by one table (:data:`EXIT_CODES`): 0 ok, 1 findings, 2 usage or unusable input,
130 or 143 interrupted.
Content mistakes are printed as ``file:line:col: error: message [path]``, never as a traceback.

Heavy modules (pydantic, jsonschema, the engines) are imported inside the commands, so ``--help``
stays fast (llm#732: plugin imports took ``--help`` from 1.3 s to 10.7 s). The plugins are loaded on
every run, for the commands they add (the ``profiler_rules_register_commands`` hook, as llm's and
Datasette's ``register_commands``): each loads its engine only when engines are collected.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..core.faults import PASSED_THROUGH, describe
from .common import EXIT_OK, EXIT_USAGE, CommandError, interruptions_caught, visible, warn
from .options import (
    catalogs_option,
    example_option,
    format_option,
    input_argument,
    rules_option,
    strict_option,
    viewer_option,
)
from .records import record_options, run_show_ruleset
from .results import run_diff, run_dispatch, run_explain
from .rulefiles import run_check, run_init, run_plugins, run_schema, run_test

if TYPE_CHECKING:
    from ..core.hookspecs import Command


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
    missing = _missing_plugin_command(parser, argv)
    if missing is not None:
        print(f"profiler-rules: error: {missing}", file=sys.stderr)
        return EXIT_USAGE
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
    # For `plugins`, which tells the plugins' commands from these.
    parser.set_defaults(own_commands=tuple(commands.choices))
    not_loaded = _plugin_commands(commands)
    parser.set_defaults(all_commands=tuple(commands.choices), plugins_not_loaded=not_loaded)
    return parser


def _missing_plugin_command(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """An unknown command, when some plugin is not loaded, may be that plugin's: why it is missing, in
    one line, rather than argparse's usage and list of choices."""
    given = next((word for word in argv if not word.startswith("-")), None)  # the only options take no value
    not_loaded = parser.get_default("plugins_not_loaded")
    if given is None or given in parser.get_default("all_commands") or not not_loaded:
        return None
    return visible(f"no command {given!r}; plugins not loaded, whose commands are missing: {', '.join(not_loaded)}")


def _rule_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = _command(commands, "check", run_check, "validate rule files; report every problem at file:line:col")
    rules_option(check)
    strict_option(check)
    format_option(check, ("text", "json"))

    test = _command(commands, "test", run_test, "run the rule tests beside the rules (tests/*.yaml)")
    rules_option(test)
    strict_option(test)
    format_option(test, ("text", "json", "junit"))
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
    format_option(plugins, ("text", "json"))
    strict_option(plugins)


def _result_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dispatch = _command(commands, "dispatch", run_dispatch, "run profiler results through every engine")
    rules_option(dispatch)
    input_argument(dispatch, "a JSON file, a JSONL file (.jsonl), or - for standard input")
    catalogs_option(dispatch)
    viewer_option(dispatch)
    dispatch.add_argument("--jsonl", action="store_true", help="read INPUT as JSON Lines whatever its name")
    dispatch.add_argument(
        "--engine",
        metavar="NAME",
        action="append",
        help="run engine NAME only (repeatable; default: every engine); one result, not JSON Lines",
    )
    strict_option(dispatch, "a plugin that fails to load, or an engine that fails on a result,")
    dispatch.add_argument(
        "--output", metavar="FILE", help="write JSON Lines records to FILE instead of standard output"
    )
    dispatch.add_argument(
        "--resume", action="store_true", help="continue an interrupted run: keep FILE's whole records, skip their lines"
    )
    _workers_option(dispatch, "dispatch JSON Lines on N processes, in order")
    example_option(dispatch, "the bundled example result, with the bundled catalogs and viewer")
    dispatch.add_argument(
        "--no-explain",
        dest="explain",
        action="store_false",
        help="leave out the explanations of ok answers (faster); skipped and denied answers keep their reason",
    )
    record_options(dispatch)

    explain = _command(commands, "explain", run_explain, "say, in words, which rules decided for one result")
    rules_option(explain)
    input_argument(explain, "a JSON file holding one result, or - for standard input")
    explain.add_argument("--engine", metavar="NAME", help="explain this engine only")
    strict_option(explain)
    catalogs_option(explain)
    viewer_option(explain)
    example_option(explain, "the bundled example result, with the bundled catalogs and viewer")

    diff = _command(commands, "diff", run_diff, "preview what a rule change does to real results")
    diff.add_argument("--base", metavar="OLD_RULES", help="the rules as they are (default: the packaged rules)")
    diff.add_argument("--rules", metavar="NEW_RULES", help="the changed rules (default: the packaged rules)")
    input_argument(diff, "a JSONL file of results, or - for standard input")
    catalogs_option(diff)
    viewer_option(diff)
    format_option(diff, ("text", "json"))
    diff.add_argument("--top", type=int, default=10, metavar="N", help="list the N commonest changes per engine")
    example_option(diff, "the bundled example cohort")
    strict_option(diff)

    show = _command(commands, "show-ruleset", run_show_ruleset, "print a kept rule set's exact files by its digest")
    show.add_argument("digest", metavar="DIGEST", help="sha256:<hex>, its hex, or at least its first 8 hex digits")
    show.add_argument(
        "--archive", metavar="DIR", required=True, help="the rule-set archive (dispatch --record keeps FILE.rulesets/)"
    )
    show.add_argument("--file", metavar="STEM", help="print only this file's bytes (e.g. missions)")


def _plugin_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> tuple[str, ...]:
    """Add the plugins' commands (the ``profiler_rules_register_commands`` hook) after the command
    line's own, and answer the plugins not loaded (disabled or broken), whose commands are missing.

    A plugin that fails to give its commands, or gives a name already taken, is named in one warning
    line; every other command works."""
    from ..core.plugins import discover_plugins

    registry = discover_plugins(engines=False, commands_taken=tuple(commands.choices))
    problems = list(registry.command_problems)
    for plugin, command in registry.commands:
        problem = _add_plugin_command(commands, plugin, command)
        if problem is not None:
            problems.append(problem)
    warn(problems)
    return tuple(info.name for info in registry.plugins if info.status != "loaded")


def _add_plugin_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], plugin: str, command: Command
) -> str | None:
    """Add one plugin's command; or, should its arguments fail, leave it out and say why."""
    # Its arguments go to a parser of their own first: argparse can not take back a command half added.
    own = argparse.ArgumentParser(add_help=False)
    try:
        if command.arguments is not None:
            command.arguments(own)
        argparse.ArgumentParser(parents=[own])  # and they must leave -h/--help alone
    except PASSED_THROUGH:
        raise
    except BaseException as error:  # noqa: BLE001 - the plugin's fault, reported by name
        return f"plugin '{plugin}': command '{command.name}' failed to add its arguments: {describe(error)}"
    parser = commands.add_parser(
        command.name,
        parents=[own],
        help=command.help,
        description=command.help,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(command=command.name, run=_plugin_run(plugin, command), strict=False)
    return None


def _plugin_run(plugin: str, command: Command) -> Callable[[argparse.Namespace], int]:
    """A plugin command's ``run``, whose failure ends the command with one line naming the plugin."""

    def run(args: argparse.Namespace) -> int:
        try:
            code = command.run(args)
        except (CommandError, BrokenPipeError):
            raise
        except Exception as error:  # noqa: BLE001 - the plugin's fault; SystemExit and Ctrl-C end any command
            raise CommandError(f"command '{command.name}' of plugin '{plugin}' failed: {describe(error)}") from None
        if type(code) is not int:
            raise CommandError(
                f"command '{command.name}' of plugin '{plugin}' returned {type(code).__name__}, not an exit code"
            )
        return code

    return run


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
