"""Commands that run results through the engines: dispatch, explain and diff."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import stat
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..core.errors import ProfilerRulesError
from .common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    CommandError,
    Interrupted,
    build_dispatcher,
    example_paths,
    input_error,
    input_source,
    load_catalogs,
    load_viewer,
    open_input,
    other_rules,
    print_json,
    read_limited,
    source_name,
    uninterrupted,
    visible,
)
from .records import check_recorded, recorder_of

if TYPE_CHECKING:
    from ..batch import Block, Progress
    from ..core.dispatcher import Catalogs, Dispatcher
    from ..core.models import DispatchReport, Explanation, Viewer


def run_dispatch(args: argparse.Namespace) -> int:
    source = input_source(args.input, args.example, "input", "dispatch")
    example = example_paths() if args.example else {}
    lines = args.jsonl or str(source).endswith((".jsonl", ".ndjson"))
    if lines:
        inputs = {"INPUT": source, "--catalogs": args.catalogs, "--viewer": args.viewer}
        _refuse_an_input_as_output(inputs, args.output)
    if lines and args.engine:
        raise CommandError("--engine dispatches one result; JSON Lines are dispatched to every engine")
    recorder = recorder_of(args)
    dispatcher = build_dispatcher(args.rules, args.strict, recorder)
    engines = _engine_selection(dispatcher, args.engine)
    catalogs = load_catalogs(dispatcher, args.catalogs or example.get("catalogs"))
    viewer = load_viewer(args.viewer, example.get("viewer"))
    if lines:
        with open_input(source) as stream:
            code = _dispatch_lines(dispatcher, source, stream, catalogs, viewer, args)
        check_recorded(recorder)
        return code
    report = _dispatch_document(dispatcher, source, catalogs, viewer, engines, explain=args.explain)
    report, text = dispatcher.to_json(report, indent=2)
    print(text)
    check_recorded(recorder)
    failed = [name for name, answer in report.engines.items() if answer.status == "error"]
    if args.strict and failed:
        raise CommandError(f"--strict: engine(s) failed: {', '.join(failed)}", EXIT_PROBLEMS)
    return EXIT_OK


def _engine_selection(dispatcher: Dispatcher, names: list[str] | None) -> list[str] | None:
    """The engines ``--engine`` names (``None``: every engine), each a loaded engine, or a usage error
    naming the ones loaded."""
    unknown = [name for name in names or () if name not in dispatcher.engines]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise CommandError(f"--engine: no engine named {listed} (engines: {', '.join(dispatcher.engines)})")
    return names


def _dispatch_document(
    dispatcher: Dispatcher,
    source: Any,
    catalogs: Catalogs,
    viewer: Viewer | None,
    engines: list[str] | None = None,
    *,
    explain: bool = True,
) -> DispatchReport:
    """The report of the one result INPUT holds: bytes that hold no JSON object are unusable input
    (exit 2, naming the file), a result with invalid fields a finding (exit 1)."""
    from ..core.errors import InvalidInputError
    from ..core.jsonl import MAX_LINE_BYTES, UnreadableJSON, result_of

    name = source_name(source)
    try:
        result = result_of(read_limited(source, MAX_LINE_BYTES, name), protected=dispatcher.ruleset.access.protected)
    except UnreadableJSON as error:
        raise CommandError(f"{name}: {error.problem}") from None
    except InvalidInputError as error:
        raise input_error(error, code=EXIT_PROBLEMS) from None
    return dispatcher.dispatch(result, viewer=viewer, catalogs=catalogs, engines=engines, explain=explain)


def _refuse_an_input_as_output(inputs: dict[str, Any], output: str | None) -> None:
    """An output that is an input file (by device and inode: through a link too, and standard input or
    output when they are that file) would be truncated before it is read, or read back as it grows.
    Checked before anything is opened for writing."""
    written = _file_identity(output if output is not None else 1)
    if written is None:
        return
    for given, source in inputs.items():
        if source is not None and _file_identity(source) == written:
            target = f"--output {output}" if output is not None else "standard output"
            what = f"the input {source_name(source)}" if given == "INPUT" else f"the input of {given}"
            raise CommandError(f"{target} is {what}; write the records to another file")


def _file_identity(source: Any) -> tuple[int, int] | None:
    """The device and inode of a regular file (a path, ``-`` for standard input or a descriptor)."""
    try:
        found = os.fstat(0) if source == "-" else os.fstat(source) if isinstance(source, int) else os.stat(str(source))
    except (OSError, ValueError):
        return None
    return (found.st_dev, found.st_ino) if stat.S_ISREG(found.st_mode) else None


def _dispatch_lines(
    dispatcher: Dispatcher,
    source: Any,
    stream: BinaryIO,
    catalogs: Catalogs,
    viewer: Viewer | None,
    args: argparse.Namespace,
) -> int:
    from ..batch import dispatch_blocks
    from ..core.jsonl import read_lines

    lines = read_lines(stream)
    progress = _resumed(dispatcher, source, lines, args)
    kinds = Counter(progress.kinds)
    with _output(args) as sink:
        blocks = dispatch_blocks(
            dispatcher,
            lines,
            viewer=viewer,
            catalogs=catalogs,
            workers=args.workers,
            first_line=progress.records + 1,
            explain=args.explain,
        )
        _write(blocks, sink, kinds, _Written(source, args, progress.records))
    if progress.records:
        print(f"profiler-rules: resumed after line {progress.records}", file=sys.stderr)
    total, invalid, failed = sum(kinds.values()), kinds["invalid"], kinds["engine error"]
    summary = f"{total} line(s): {total - invalid} dispatched, {invalid} with errors"
    print(f"profiler-rules: {summary}" + (f", {failed} with an engine error" if failed else ""), file=sys.stderr)
    return EXIT_PROBLEMS if invalid or (args.strict and failed) else EXIT_OK


def _write(blocks: Iterator[Block], sink: BinaryIO, kinds: Counter[str], written: _Written) -> None:
    """Write each block of records whole, counting their kinds; a batch that stops early says how far
    it got and the command that goes on from there."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        with contextlib.closing(blocks):  # closing it ends the workers at once
            for block in blocks:
                with uninterrupted():  # a record is written whole, and counted, or not at all
                    sink.write(block.data)
                    kinds.update(block.kinds)
                    written.records += len(block.kinds)
    except Interrupted as interruption:
        interruption.detail = written.describe()
        raise
    except BrokenPipeError:
        raise  # standard output closed early: see main
    except (OSError, ProfilerRulesError, BrokenProcessPool) as error:
        raise CommandError(f"{_failure(error)}; {written.describe()}") from None


def _resumed(dispatcher: Dispatcher, source: Any, lines: Iterator[Any], args: argparse.Namespace) -> Progress:
    """With ``--resume``: what the interrupted run wrote, checked record by record against the input
    (which is read that far), the exit status and summary then count it; otherwise nothing."""
    from ..batch import Progress, ResumeRefused, resume

    if not args.resume:
        return Progress()
    if args.output is None:
        raise CommandError("--resume needs --output FILE, where the interrupted run wrote its records")
    output = Path(args.output)
    if output.exists() and not output.is_file():
        raise CommandError(f"--resume needs --output to be a file, and {output} is not one")
    try:
        return resume(output, lines, dispatcher.ruleset.digest, source_name(source))
    except ResumeRefused as refused:
        raise CommandError(
            f"cannot resume: {refused}; {output} was not written by this command: give --resume the same "
            "input and rules as the interrupted run, or start again without --resume"
        ) from None
    except OSError as error:
        raise CommandError(f"cannot resume from {output}: {error.strerror or error}") from None


def _output(args: argparse.Namespace) -> contextlib.AbstractContextManager[BinaryIO]:
    """Where records go, as UTF-8 bytes: appended to the records kept with ``--resume``."""
    if args.output is None:
        sys.stdout.flush()  # anything already written as text goes first
        return contextlib.nullcontext(sys.stdout.buffer)
    try:
        return open(args.output, "ab" if args.resume else "wb")  # noqa: SIM115 - a context manager
    except OSError as error:
        raise CommandError(f"cannot write {args.output}: {error.strerror or error}") from None


@dataclass(slots=True)
class _Written:
    """How far a batch got, to say so when it stops early, with the command that goes on from there."""

    source: Any
    args: argparse.Namespace
    records: int

    def describe(self) -> str:
        lines = f"for lines 1 to {self.records:,} of {source_name(self.source)}"
        if self.args.output is None:
            return f"{self.records:,} record(s) went to standard output, {lines}; to resume a batch, write it with --output FILE"
        held = (
            f"{self.args.output} holds {self.records:,} whole record(s), {lines}"
            if self.records
            else f"{self.args.output} holds no record yet"
        )
        again = " with the same standard input" if self.source == "-" else ""
        return f"{held}; to continue{again}: {self._resume_command()}"

    def _resume_command(self) -> str:
        given = list(getattr(self.args, "command_line", None) or sys.argv[1:])
        return shlex.join(["profiler-rules", *given, *([] if "--resume" in given else ["--resume"])])


def _failure(error: BaseException) -> str:
    from concurrent.futures.process import BrokenProcessPool

    if isinstance(error, BrokenProcessPool):
        return "a worker process ended abruptly (killed, or out of memory)"
    if isinstance(error, OSError):
        where = f" {error.filename}" if error.filename else ""
        return f"cannot go on{where}: {error.strerror or error}"
    return str(error)


def run_explain(args: argparse.Namespace) -> int:
    source = input_source(args.input, args.example, "input", "explain")
    example = example_paths() if args.example else {}
    dispatcher = build_dispatcher(args.rules, args.strict)
    if args.engine is not None and args.engine not in dispatcher.engines:
        raise CommandError(f"no engine named {args.engine!r} (engines: {', '.join(dispatcher.engines)})")
    catalogs = load_catalogs(dispatcher, args.catalogs or example.get("catalogs"))
    viewer = load_viewer(args.viewer, example.get("viewer"))
    report = _dispatch_document(dispatcher, source, catalogs, viewer)
    version = f", version {report.ruleset.version}" if report.ruleset.version else ""
    say(f"session {report.session_id} of learner {report.user_id}, under rules {report.ruleset.digest}{version}")
    for name, answer in report.engines.items():
        if args.engine in (None, name):
            print()
            _explain_engine(dispatcher, name, answer)
    return EXIT_OK


def say(text: str) -> None:
    """Print a line of text made from input, its control characters shown rather than sent."""
    print(visible(text))


def _explain_engine(dispatcher: Dispatcher, name: str, answer: Any) -> None:
    summary = dispatcher.summarize(name, answer.output) if answer.status == "ok" else None
    say(f"{name}: {answer.status}" + (f": {summary}" if summary else ""))
    for because in answer.explain:
        say(f"  - {explanation_text(because)}")
    for warning in answer.warnings:
        say(f"  ! {warning}")
    if answer.error:
        say(f"  ! {answer.error}")


def explanation_text(because: Explanation) -> str:
    """An explanation in words, its rule's place written where the rule speaks, before the arrow:
    ``networking 45.5 is below the aptitude cutoff 60 (rules/recipes.yaml:8) → gap``."""
    if because.file is None:
        return because.message
    where = f"({because.file}:{because.line})" if because.line else f"({because.file})"
    condition, arrow, decision = because.message.partition(" → ")
    return f"{condition} {where}{arrow}{decision}"


def run_diff(args: argparse.Namespace) -> int:
    from ..core.jsonl import read_lines, read_results
    from ..impact import compare

    source = input_source(args.input, args.example, "cohort", "diff")
    example = example_paths() if args.example else {}
    new = build_dispatcher(args.rules, args.strict)
    base = other_rules(new, args.base)
    # Both dispatchers share their plugins, so catalogs validated once serve both.
    catalogs = load_catalogs(new, args.catalogs or example.get("catalogs"))
    viewer = load_viewer(args.viewer, example.get("viewer"))
    protected = base.ruleset.access.protected | new.ruleset.access.protected
    with open_input(source) as stream:
        impact = compare(
            _progress(read_results(read_lines(stream), protected), args.input or "the example cohort"),
            # Through to_json: an engine answer that can not be written as JSON is that engine's error.
            # The preview compares decisions (status and output), never explanations: none is built.
            lambda result: base.to_json(base.dispatch(result, viewer=viewer, catalogs=catalogs, explain=False))[0],
            lambda result: new.to_json(new.dispatch(result, viewer=viewer, catalogs=catalogs, explain=False))[0],
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


def _progress(results: Iterable[Any], label: str) -> Any:
    """Results with a progress bar on stderr when it is a terminal (tqdm stays quiet otherwise)."""
    from tqdm import tqdm

    return tqdm(results, desc=f"diff {visible(label)}", unit=" results", file=sys.stderr, disable=None, leave=False)


def _print_impact(summary: dict[str, Any]) -> None:
    base, new = summary["base"], summary["new"]
    say(
        f"base {base['directory'] or 'packaged rules'} ({base['digest'][:19]}…) → new {new['directory'] or 'packaged rules'} ({new['digest'][:19]}…)"
    )
    print_changes(summary)


def print_changes(summary: dict[str, Any]) -> None:
    """An impact summary (:meth:`Impact.as_dict`) in words: the results replayed, each engine's changes
    with their counts and example sessions, and the invalid results. ``diff`` prints it, and so does
    the Django app's ``reevaluate``."""
    say(f"{summary['results']:,} result(s) replayed, {summary['invalid']:,} invalid")
    for name, engine in summary["engines"].items():
        if not engine["changed"]:
            say(f"{name}: no decision changed")
            continue
        say(f"{name}: {engine['changed']:,} of {summary['results'] - summary['invalid']:,} changed")
        for change in engine["changes"]:
            examples = ", ".join(change["examples"])
            say(f"  {change['change']}: {change['count']:,} learner(s) (e.g. {examples})")
    for line in summary["invalid_examples"]:
        say(f"invalid: {line}")
