"""Decision records on the command line: ``show-ruleset`` prints a kept rule set, and ``dispatch
--record FILE`` records each result it dispatches (the recorder built here)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, BinaryIO

from .common import EXIT_OK, EXIT_PROBLEMS, CommandError

if TYPE_CHECKING:
    from ..core.archive import KeptRuleSet
    from ..core.records import DecisionRecorder


def run_show_ruleset(args: argparse.Namespace) -> int:
    """Print the kept rule set ``args.digest`` of the archive ``args.archive``, or one file's bytes."""
    from ..core.archive import DamagedArchiveError, RuleSetArchive, RuleSetNotFoundError

    archive = RuleSetArchive(args.archive)
    if not archive.directory.is_dir():
        raise CommandError(f"{args.archive}: no such rule-set archive (a directory)")
    try:
        kept = archive.get(args.digest)
    except RuleSetNotFoundError as error:
        raise CommandError(str(error)) from None
    except DamagedArchiveError as error:
        raise CommandError(str(error), EXIT_PROBLEMS) from None
    out = sys.stdout.buffer
    sys.stdout.flush()
    write_kept(kept, out, stem=args.file)
    out.flush()
    return EXIT_OK


def write_kept(kept: KeptRuleSet, out: BinaryIO, *, stem: str | None = None) -> None:
    """Write a kept rule set: a line naming its digest, version and first-kept time, then each file
    headed by a line with its stem and sha256, its bytes exactly as kept; with ``stem``, that file's
    bytes alone.

    :raises CommandError: when the rule set has no file of that stem, naming the ones it has.
    """
    digests = dict(kept.file_digests())
    if stem is not None:
        raw = dict(kept.files).get(stem)
        if raw is None:
            raise CommandError(f"--file: rule set {kept.digest} has no file {stem!r} (files: {', '.join(digests)})")
        out.write(raw)
        return
    kept_at = "unknown" if kept.kept_at is None else kept.kept_at.isoformat()
    out.write(f"# rule set {kept.digest} (version {kept.version or 'none'}), first kept {kept_at}\n".encode())
    for name, raw in kept.files:
        out.write(f"\n==> {name} sha256:{digests[name]} <==\n".encode())
        out.write(raw)
        if raw and not raw.endswith(b"\n"):
            out.write(b"\n")


def record_options(parser: argparse.ArgumentParser) -> None:
    """``--record FILE`` and ``--archive DIR`` of ``dispatch``."""
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="append a decision record (JSON Lines, protected values masked) per result dispatched to FILE, "
        "and keep each rule set that served one in the archive",
    )
    parser.add_argument(
        "--archive",
        metavar="DIR",
        help="with --record: the rule-set archive (default: FILE.rulesets/ beside FILE); "
        "'profiler-rules show-ruleset DIGEST --archive DIR' prints a kept rule set",
    )


def recorder_of(args: argparse.Namespace) -> DecisionRecorder | None:
    """The recorder ``--record`` asks for (``None`` without it)."""
    if args.archive is not None and args.record is None:
        raise CommandError("--archive keeps the rule sets of --record FILE; give --record too")
    if args.record is None:
        return None
    if args.workers > 1:
        raise CommandError("--record records on one process; leave out --workers")
    from ..core.errors import ProfilerRulesError
    from ..core.records import DecisionRecorder, JsonLinesSink, default_archive_of

    archive = args.archive if args.archive is not None else default_archive_of(args.record)
    try:
        return DecisionRecorder([JsonLinesSink(args.record, archive)])
    except ProfilerRulesError as error:
        raise CommandError(str(error)) from None


def check_recorded(recorder: DecisionRecorder | None) -> None:
    """After a run: a record dropped or a sink failure is a finding (exit 1), said in one line."""
    if recorder is None:
        return
    status = recorder.status()
    failed = {name: sink for name, sink in status.sinks.items() if sink.failures}
    if not status.dropped and not failed:
        return
    problems = [f"{status.dropped} record(s) dropped ({status.last_drop})"] if status.dropped else []
    problems += [f"{sink.failures} failure(s) of {name}: {sink.last_error}" for name, sink in failed.items()]
    raise CommandError("--record: " + "; ".join(problems), EXIT_PROBLEMS)
