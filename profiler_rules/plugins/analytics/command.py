"""``profiler-rules analytics``: the cohort and enterprise dashboards over a JSONL file of results.

Imports argparse alone at module level: ``profiler-rules --help`` loads this module to list the
command; the engine, the dispatcher and the command line's helpers are imported when the command runs.
"""

from __future__ import annotations

import argparse

from profiler_rules import Command

EXAMPLE_COHORT = "cohort-2026-spring"
"""The cohort of the bundled example's dashboard, when ``--example`` names none."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options: the usual INPUT, --rules, --viewer, --strict and --example, and the query."""
    from profiler_rules.cli.options import example_option, input_argument, rules_option, strict_option, viewer_option

    rules_option(parser)
    input_argument(parser, "a JSONL file of results (one per line), or - for standard input")
    viewer_option(parser)
    parser.add_argument("--cohort", metavar="ID", help="the cohort's dashboard")
    strict_option(parser)
    parser.add_argument("--sponsor", metavar="ID", help="the sponsor's (enterprise) dashboard")
    parser.add_argument("--roster", metavar="FILE", help="a JSON file: [{user_id, cohort_id, sponsor_id, name, email}]")
    parser.add_argument("--from", dest="date_from", metavar="DATE", help="results completed on or after DATE")
    parser.add_argument("--to", dest="date_to", metavar="DATE", help="results completed on or before DATE, all of it")
    example_option(parser, f"the bundled example cohort, roster and viewer (cohort {EXAMPLE_COHORT} by default)")


def run(args: argparse.Namespace) -> int:
    """Print the dashboard as JSON; exit 1 when it is not ``ok`` (denied, say) or a result was invalid."""
    from profiler_rules import InvalidInputError, ProfilerRulesError
    from profiler_rules.cli.common import (
        EXIT_OK,
        EXIT_PROBLEMS,
        CommandError,
        build_dispatcher,
        example_paths,
        input_error,
        input_source,
        load_viewer,
        open_input,
        read_json_list,
        results_in,
        warn,
    )

    from . import dashboard

    source = input_source(args.input, args.example, "cohort", "analytics")
    example = example_paths() if args.example else {}
    dispatcher = build_dispatcher(args.rules, args.strict)
    viewer = load_viewer(args.viewer, example.get("viewer"))
    cohort = args.cohort if args.cohort or args.sponsor or not args.example else EXAMPLE_COHORT
    roster = read_json_list(args.roster or example.get("roster"), "--roster")
    with open_input(source) as stream:
        try:
            report = dashboard(
                dispatcher,
                results_in(stream, dispatcher),
                viewer=viewer,
                cohort_id=cohort,
                sponsor_id=args.sponsor,
                roster=roster,
                date_from=args.date_from,
                date_to=args.date_to,
            )
        except InvalidInputError as error:
            raise input_error(error) from None
        except ProfilerRulesError as error:  # the analytics engine is not loaded
            raise CommandError(str(error)) from None
    print(report.model_dump_json(indent=2))
    warn(report.warnings)
    return EXIT_OK if report.status == "ok" and not report.results_invalid else EXIT_PROBLEMS


ANALYTICS = Command(
    name="analytics",
    help="cohort and enterprise dashboards over results",
    run=run,
    arguments=add_arguments,
)
