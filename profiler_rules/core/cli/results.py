"""Commands that run results through the engines: dispatch, analytics, explain and diff."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from .common import (
    EXAMPLE_COHORT,
    EXIT_OK,
    EXIT_PROBLEMS,
    CommandError,
    build_dispatcher,
    example_paths,
    input_source,
    load_catalogs,
    load_viewer,
    open_input,
    other_rules,
    print_json,
    read_json_file,
    warn,
)

if TYPE_CHECKING:
    from ..dispatcher import Catalogs, Dispatcher
    from ..models import DispatchReport, Explanation, Viewer


def run_dispatch(args: argparse.Namespace) -> int:
    source = input_source(args.input, args.example, "input", "dispatch")
    example = example_paths() if args.example else {}
    dispatcher = build_dispatcher(args.rules, args.strict)
    catalogs = load_catalogs(dispatcher, args.catalogs or example.get("catalogs"))
    viewer = load_viewer(args.viewer, example.get("viewer"))
    with open_input(source) as stream:
        if args.jsonl or str(source).endswith((".jsonl", ".ndjson")):
            return _dispatch_lines(dispatcher, stream, catalogs, viewer, args)
        report, text = dispatcher.to_json(_dispatch_document(dispatcher, stream.read(), catalogs, viewer), indent=2)
        print(text)
    failed = [name for name, answer in report.engines.items() if answer.status == "error"]
    if args.strict and failed:
        raise CommandError(f"--strict: engine(s) failed: {', '.join(failed)}", EXIT_PROBLEMS)
    return EXIT_OK


def _dispatch_document(dispatcher: Dispatcher, text: str, catalogs: Catalogs, viewer: Viewer | None) -> DispatchReport:
    from ..errors import InvalidInputError

    try:
        return dispatcher.dispatch(text, viewer=viewer, catalogs=catalogs)
    except InvalidInputError as error:
        raise CommandError(str(error), EXIT_PROBLEMS) from None


def _dispatch_lines(
    dispatcher: Dispatcher, stream: TextIO, catalogs: Catalogs, viewer: Viewer | None, args: argparse.Namespace
) -> int:
    from collections import Counter

    from ..batch import dispatch_blocks

    kinds: Counter[str] = Counter()
    done, out = _output(args)
    lines = itertools.islice(stream, done, None)  # lines whose records an interrupted run already wrote
    blocks = dispatch_blocks(
        dispatcher, lines, viewer=viewer, catalogs=catalogs, workers=args.workers, first_line=done + 1
    )
    with out as sink:
        for block in blocks:
            sink.write(block.data)
            kinds.update(block.kinds)
    if done:
        print(f"profiler-rules: resumed after line {done}", file=sys.stderr)
    total, invalid, failed = sum(kinds.values()), kinds["invalid"], kinds["engine error"]
    summary = f"{total} line(s): {total - invalid} dispatched, {invalid} with errors"
    print(f"profiler-rules: {summary}" + (f", {failed} with an engine error" if failed else ""), file=sys.stderr)
    return EXIT_PROBLEMS if invalid or (args.strict and failed) else EXIT_OK


def _output(args: argparse.Namespace) -> tuple[int, contextlib.AbstractContextManager[BinaryIO]]:
    """Where records go (as UTF-8 bytes), and how many an interrupted run already wrote there (``--resume``)."""
    from ..batch import records_done

    if args.output is None:
        if args.resume:
            raise CommandError("--resume needs --output FILE, where the interrupted run wrote its records")
        sys.stdout.flush()  # anything already written as text goes first
        return 0, contextlib.nullcontext(sys.stdout.buffer)
    path = Path(args.output)
    done = records_done(path) if args.resume else 0
    try:
        return done, path.open("ab" if args.resume else "wb")
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror or error}") from None


def run_analytics(args: argparse.Namespace) -> int:
    from ..errors import InvalidInputError

    source = input_source(args.input, args.example, "cohort", "analytics")
    example = example_paths() if args.example else {}
    dispatcher = build_dispatcher(args.rules, args.strict)
    viewer = load_viewer(args.viewer, example.get("viewer"))
    cohort = args.cohort if args.cohort or args.sponsor or not args.example else EXAMPLE_COHORT
    roster = read_json_file(args.roster or example.get("roster"), "roster")
    with open_input(source, binary=True) as stream:
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
    warn(report.warnings)
    return EXIT_OK if report.status == "ok" and not report.results_invalid else EXIT_PROBLEMS


def run_explain(args: argparse.Namespace) -> int:
    source = input_source(args.input, args.example, "input", "explain")
    example = example_paths() if args.example else {}
    dispatcher = build_dispatcher(args.rules, args.strict)
    if args.engine is not None and args.engine not in dispatcher.engines:
        raise CommandError(f"no engine named {args.engine!r} (engines: {', '.join(dispatcher.engines)})")
    catalogs = load_catalogs(dispatcher, args.catalogs or example.get("catalogs"))
    viewer = load_viewer(args.viewer, example.get("viewer"))
    with open_input(source) as stream:
        report = _dispatch_document(dispatcher, stream.read(), catalogs, viewer)
    version = f", version {report.ruleset.version}" if report.ruleset.version else ""
    print(f"session {report.session_id} of learner {report.user_id}, under rules {report.ruleset.digest}{version}")
    for name, answer in report.engines.items():
        if args.engine in (None, name):
            print()
            _explain_engine(dispatcher, name, answer)
    return EXIT_OK


def _explain_engine(dispatcher: Dispatcher, name: str, answer: Any) -> None:
    summary = dispatcher.summarize(name, answer.output) if answer.status == "ok" else None
    print(f"{name}: {answer.status}" + (f": {summary}" if summary else ""))
    for because in answer.explain:
        print(f"  - {explanation_text(because)}")
    for warning in answer.warnings:
        print(f"  ! {warning}")
    if answer.error:
        print(f"  ! {answer.error}")


def explanation_text(because: Explanation) -> str:
    """An explanation in words, its rule's place written where the rule speaks, before the arrow:
    ``networking 45.5 is below the aptitude cutoff 60 (rules/recipes.yaml:8) → gap``."""
    if because.file is None:
        return because.message
    where = f"({because.file}:{because.line})" if because.line else f"({because.file})"
    condition, arrow, decision = because.message.partition(" → ")
    return f"{condition} {where}{arrow}{decision}"


def run_diff(args: argparse.Namespace) -> int:
    from ..impact import compare

    source = input_source(args.input, args.example, "cohort", "diff")
    example = example_paths() if args.example else {}
    new = build_dispatcher(args.rules, args.strict)
    base = other_rules(new, args.base)
    # Both dispatchers share their plugins, so catalogs validated once serve both.
    catalogs = load_catalogs(new, args.catalogs or example.get("catalogs"))
    viewer = load_viewer(args.viewer, example.get("viewer"))
    with open_input(source) as stream:
        impact = compare(
            _progress(stream, args.input or "the example cohort"),
            lambda result: base.dispatch(result, viewer=viewer, catalogs=catalogs),
            lambda result: new.dispatch(result, viewer=viewer, catalogs=catalogs),
            new.engines,
        )
    summary = impact.as_dict(args.top)
    summary["base"] = {"digest": base.ruleset.digest, "version": base.ruleset.version, "directory": args.base}
    summary["new"] = {"digest": new.ruleset.digest, "version": new.ruleset.version, "directory": args.rules}
    if args.format == "json":
        print_json(summary)
    else:
        _print_impact(summary)
    return EXIT_PROBLEMS if impact.invalid else EXIT_OK


def _progress(stream: TextIO, label: str) -> Any:
    """Lines with a progress bar on stderr when it is a terminal (tqdm stays quiet otherwise)."""
    from tqdm import tqdm

    return tqdm(stream, desc=f"diff {label}", unit=" results", file=sys.stderr, disable=None, leave=False)


def _print_impact(summary: dict[str, Any]) -> None:
    base, new = summary["base"], summary["new"]
    print(
        f"base {base['directory'] or 'packaged rules'} ({base['digest'][:19]}…) → new {new['directory'] or 'packaged rules'} ({new['digest'][:19]}…)"
    )
    print(f"{summary['results']:,} result(s) replayed, {summary['invalid']:,} invalid")
    for name, engine in summary["engines"].items():
        if not engine["changed"]:
            print(f"{name}: no decision changed")
            continue
        print(f"{name}: {engine['changed']:,} of {summary['results'] - summary['invalid']:,} changed")
        for change in engine["changes"]:
            examples = ", ".join(change["examples"])
            print(f"  {change['change']}: {change['count']:,} learner(s) (e.g. {examples})")
    for line in summary["invalid_examples"]:
        print(f"invalid: {line}")
