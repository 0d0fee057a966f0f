"""``manage.py profiler_rules <subcommand>``: the ``profiler-rules`` command line, on the configured rules.

* ``check``: the rules ``PROFILER_RULES["RULES_DIR"]`` names, as ``profiler-rules check --rules DIR``
  prints them (the same lines, the same exit codes: 1 when the rules have problems);
* ``test``: their rule tests, as ``profiler-rules test --rules DIR`` runs them (exit 1 on a failure);
* ``show-ruleset DIGEST``: a rule set kept in the database by a decision record, as
  ``profiler-rules show-ruleset DIGEST --archive DIR`` prints one (exit 2 for a digest not kept, 1 for a
  kept rule set whose files no longer hash to it).

Each subcommand is one ``add_<name>_arguments`` function and one ``handle_<name>`` method; adding one
is adding those two. A problem the user can fix ends the command with one line,
``profiler_rules: error: ...``, and a non-zero exit code, never a traceback (``--traceback`` shows it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from io import BytesIO, StringIO
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from profiler_rules.cli.common import EXIT_OK
from profiler_rules.cli.common import CommandError as CliError
from profiler_rules.contrib.django.conf import app_settings

NAME = "profiler_rules"


class Findings(CommandError):
    """The command reported what it found (invalid rules, failed tests) and exits with ``returncode``.

    Run from the command line nothing more is printed; ``call_command`` raises it, with the message.
    """


def add_check_arguments(parser: CommandParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")


def add_test_arguments(parser: CommandParser) -> None:
    parser.add_argument("--format", choices=("text", "json", "junit"), default="text", help="output format")
    parser.add_argument("-k", metavar="NAME", help="run only the cases whose name contains NAME")
    parser.add_argument("--coverage", action="store_true", help="also list the rules no case exercised")


def add_show_ruleset_arguments(parser: CommandParser) -> None:
    parser.add_argument("digest", metavar="DIGEST", help="sha256:<hex>, its hex, or at least its first 8 hex digits")
    parser.add_argument("--file", metavar="STEM", help="print only this file's bytes (e.g. missions)")


def add_reevaluate_arguments(parser: CommandParser) -> None:
    from profiler_rules.contrib.django.reevaluate import add_arguments

    add_arguments(parser)


#: The subcommands: name, one line of help, and the function adding its arguments.
SUBCOMMANDS: dict[str, tuple[str, Callable[[CommandParser], None]]] = {
    "check": ("validate the configured rules; report every problem at file:line:col", add_check_arguments),
    "test": ("run the configured rules' tests (tests/*.yaml beside them)", add_test_arguments),
    "reevaluate": ("every learner's latest result through the rules; update the decisions", add_reevaluate_arguments),
    "show-ruleset": (
        "print the exact files of a rule set a decision record names, by its digest",
        add_show_ruleset_arguments,
    ),
}


class Command(BaseCommand):
    help = "profiler-rules on the rules PROFILER_RULES configures: " + ", ".join(SUBCOMMANDS)
    # `check` must run on rules the system checks refuse: it is how their problems are read.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", title="subcommands")
        subcommands.required = True
        for name, (text, add_arguments) in SUBCOMMANDS.items():
            add_arguments(subcommands.add_parser(name, help=text, description=text))

    def run_from_argv(self, argv: list[str]) -> None:
        self._from_command_line = True
        super().run_from_argv(argv)

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except CommandError as error:
            if not getattr(self, "_from_command_line", False) or options.get("traceback"):
                raise
            # Django would print "CommandError: ..."; the app's commands speak as the CLI does.
            if not isinstance(error, Findings):
                self.stderr.write(f"{NAME}: error: {error}")
            sys.exit(error.returncode)

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        handler: Callable[..., None] = getattr(self, f"handle_{subcommand.replace('-', '_')}")
        handler(**options)

    # -- the subcommands --------------------------------------------------------------------------

    def handle_check(self, *, format: str, **_: Any) -> None:
        from profiler_rules.cli.rulefiles import run_check

        code = self.run_cli(run_check, format=format)
        if code != EXIT_OK:
            raise Findings(f"the rules at {self.rules_name} have problems", returncode=code)

    def handle_test(self, *, format: str, k: str | None, coverage: bool, **_: Any) -> None:
        from profiler_rules.cli.rulefiles import run_test

        code = self.run_cli(run_test, format=format, k=k, coverage=coverage)
        if code != EXIT_OK:
            raise Findings(f"rule tests of the rules at {self.rules_name} failed", returncode=code)

    def handle_reevaluate(self, **options: Any) -> None:
        from profiler_rules.contrib.django.reevaluate import run_command

        run_command(options, self.stdout, self.stderr)

    def handle_show_ruleset(self, *, digest: str, file: str | None, **_: Any) -> None:
        from profiler_rules.cli.common import EXIT_PROBLEMS, EXIT_USAGE
        from profiler_rules.cli.records import write_kept
        from profiler_rules.contrib.django.records import kept_ruleset
        from profiler_rules.core.archive import DamagedArchiveError, RuleSetNotFoundError

        try:
            kept = kept_ruleset(digest)
        except RuleSetNotFoundError as error:
            raise CommandError(str(error), returncode=EXIT_USAGE) from None
        except DamagedArchiveError as error:
            raise CommandError(str(error), returncode=EXIT_PROBLEMS) from None
        out = BytesIO()
        try:
            write_kept(kept, out, stem=file)
        except CliError as error:
            raise CommandError(str(error), returncode=error.code) from None
        # Rule files are UTF-8 (the rules are read so), so the text written is their bytes exactly.
        self.stdout.write(out.getvalue().decode(), ending="")

    # -- shared by the subcommands ----------------------------------------------------------------

    @property
    def rules_directory(self) -> str | None:
        """The configured rules directory as the CLI's ``--rules`` (None: the packaged rules)."""
        rules = app_settings()["RULES_DIR"]
        return None if rules is None else str(rules)

    @property
    def rules_name(self) -> str:
        return self.rules_directory or "the packaged rules"

    def run_cli(self, run: Callable[[argparse.Namespace], int], **options: Any) -> int:
        """Run one of the CLI's commands on the configured rules, its output written to this command's
        streams (so ``call_command(..., stdout=...)`` captures it); its errors become this command's."""
        args = argparse.Namespace(rules=self.rules_directory, strict=False, **options)
        out, err = StringIO(), StringIO()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = run(args)
        except CliError as error:
            raise CommandError(str(error), returncode=error.code) from None
        finally:
            self.stdout.write(out.getvalue(), ending="")
            self.stderr.write(err.getvalue(), style_func=str, ending="")
        return code
