"""The spooled record sink, in the core: real spool files, real processes killed with SIGKILL, real
threads. Each test counts the records that arrive: one lost or delivered twice fails it.

The inner sink here is :class:`OneFilePerRecord`: each record becomes ``<call_id>.json``, created
exclusively, so a record delivered again is noticed (``repeats.log``) and never kept twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from profiler_rules import Dispatcher
from profiler_rules.core.archive import KeptRuleSet, RuleSetArchive
from profiler_rules.core.records import DecisionRecord, DecisionRecorder
from profiler_rules.core.ruleset import RuleSet
from profiler_rules.core.spool import DAMAGED_SUFFIX, SpooledSink

from .conftest import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
REPEATS = "repeats.log"


class OneFilePerRecord:
    """A real, idempotent sink: ``<call_id>.json`` per record, its rule sets in ``rulesets/``.

    :param kill_after: SIGKILL this process once it has kept this many records (to die mid-delivery).
    :param fail_while: Raise on every write while this file exists.
    """

    name = "one-file-per-record"

    def __init__(self, directory: Path, *, kill_after: int | None = None, fail_while: Path | None = None) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.archive = RuleSetArchive(directory / "rulesets")
        self.kill_after, self.fail_while = kill_after, fail_while
        self.kept = 0

    def write(self, records: Sequence[DecisionRecord]) -> None:
        if self.fail_while is not None and self.fail_while.exists():
            raise OSError(f"the store is down ({self.fail_while.name} exists)")
        for record in records:
            try:
                with open(self.directory / f"{record.call_id}.json", "x") as kept:
                    kept.write(record.model_dump_json())
            except FileExistsError:
                with open(self.directory / REPEATS, "a") as repeats:
                    repeats.write(record.call_id + "\n")
            self.kept += 1
            if self.kill_after is not None and self.kept >= self.kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    def keep_ruleset(self, ruleset: RuleSet | KeptRuleSet) -> None:
        self.archive.keep(ruleset)  # type: ignore[arg-type]

    def arrived(self) -> list[DecisionRecord]:
        return [DecisionRecord.model_validate_json(path.read_bytes()) for path in self.directory.glob("*.json")]

    def repeats(self) -> list[str]:
        path = self.directory / REPEATS
        return path.read_text().split() if path.exists() else []


def results(count: int, prefix: str) -> list[dict[str, object]]:
    result = json.loads((EXAMPLES / "result.json").read_text())
    return [{**result, "session_id": f"{prefix}-{number}"} for number in range(count)]


def spooled_dispatcher(spool: SpooledSink) -> Dispatcher:
    return Dispatcher.from_rules(entry_points=False, recorder=DecisionRecorder([spool]))


def assert_exactly_once(out: OneFilePerRecord, sessions: set[str]) -> list[DecisionRecord]:
    arrived = out.arrived()
    assert sorted(record.session_id for record in arrived) == sorted(sessions)
    for record in arrived:  # each one's rules resolve, also those of a dead process
        assert out.archive.get(record.ruleset_digest).digest == record.ruleset_digest
    return arrived


# --- the processes the tests run and kill -----------------------------------------------------------


def child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.test_spool", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )


def record_then_wait(spool_dir: str, out_dir: str, count: str, prefix: str) -> None:
    """Record ``count`` dispatches through a spool that would deliver in an hour, say so, and wait."""
    spool = SpooledSink(OneFilePerRecord(Path(out_dir)), spool_dir, flush_seconds=3600)
    dispatcher = spooled_dispatcher(spool)
    for result in results(int(count), prefix):
        dispatcher.dispatch(result)
    print("recorded", flush=True)
    time.sleep(3600)


def deliver(spool_dir: str, out_dir: str, kill_after: str) -> None:
    """Deliver the spool in batches of 5 (SIGKILLed after ``kill_after`` records when it is not 0)."""
    inner = OneFilePerRecord(Path(out_dir), kill_after=int(kill_after) or None)
    SpooledSink(inner, spool_dir, batch=5).flush()
    print("delivered", flush=True)


def killed_after_recording(spool_dir: Path, out_dir: Path, count: int, prefix: str) -> None:
    process = child("record", str(spool_dir), str(out_dir), str(count), prefix)
    assert process.stdout is not None and process.stdout.readline() == "recorded\n"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


# --- tests ------------------------------------------------------------------------------------------


def test_a_killed_process_s_records_are_delivered_by_another_exactly_once(tmp_path: Path) -> None:
    spool_dir, out_dir = tmp_path / "spool", tmp_path / "out"
    killed_after_recording(spool_dir, out_dir, 30, "killed")
    out = OneFilePerRecord(out_dir)
    assert out.arrived() == []  # it died before delivering: all 30 are only in the spool
    spool = SpooledSink(out, spool_dir)
    assert spool.spool_status().pending == 30
    spool.flush()
    assert_exactly_once(out, {f"killed-{n}" for n in range(30)})
    assert out.repeats() == []
    assert spool.spool_status().pending == 0 and spool.spool_status().delivered == 30
    assert list(spool_dir.glob("spool-*")) == []


def test_a_deliverer_killed_midway_leaves_the_file_to_the_next_which_delivers_all_once(tmp_path: Path) -> None:
    spool_dir, out_dir = tmp_path / "spool", tmp_path / "out"
    killed_after_recording(spool_dir, out_dir, 20, "midway")
    first = child("deliver", str(spool_dir), str(out_dir), "7")
    first.wait()
    assert first.returncode == -signal.SIGKILL
    assert 0 < len(OneFilePerRecord(out_dir).arrived()) < 20
    second = child("deliver", str(spool_dir), str(out_dir), "0")
    assert second.wait() == 0
    out = OneFilePerRecord(out_dir)
    assert_exactly_once(out, {f"midway-{n}" for n in range(20)})
    # The second delivered the whole file again: what the first had kept came back, and was kept once.
    assert len(out.repeats()) >= 5 and len(set(out.repeats())) == len(out.repeats())


def test_two_deliverers_at_once_never_both_deliver_a_file(tmp_path: Path) -> None:
    spool_dir, out_dir = tmp_path / "spool", tmp_path / "out"
    sessions = set()
    for number in range(4):
        killed_after_recording(spool_dir, out_dir, 10, f"dead{number}")
        sessions |= {f"dead{number}-{n}" for n in range(10)}
    deliverers = [child("deliver", str(spool_dir), str(out_dir), "0") for _ in range(3)]
    assert [process.wait() for process in deliverers] == [0, 0, 0]
    out = OneFilePerRecord(out_dir)
    assert_exactly_once(out, sessions)
    assert out.repeats() == []


def test_a_failing_inner_sink_loses_nothing_is_counted_and_is_retried_until_it_works(tmp_path: Path) -> None:
    down = tmp_path / "down"
    down.touch()
    out = OneFilePerRecord(tmp_path / "out", fail_while=down)
    spool = SpooledSink(out, tmp_path / "spool", flush_seconds=3600)
    recorder = DecisionRecorder([spool])
    dispatcher = Dispatcher.from_rules(entry_points=False, recorder=recorder)
    for result in results(12, "flaky"):
        dispatcher.dispatch(result)
    spool.flush()
    spool.flush()
    status = recorder.status().sinks[spool.name]
    assert status.written == 12 and status.spool is not None
    assert (status.spool.pending, status.spool.delivered, status.spool.failures) == (12, 0, 2)
    assert status.spool.last_error is not None and "the store is down" in status.spool.last_error
    assert out.arrived() == []
    down.unlink()
    spool.flush()
    assert_exactly_once(out, {f"flaky-{n}" for n in range(12)})
    status = recorder.status().sinks[spool.name]
    assert status.spool is not None and (status.spool.pending, status.spool.delivered) == (0, 12)


def test_threads_writing_at_once_spool_whole_lines_each_delivered_once(tmp_path: Path) -> None:
    out = OneFilePerRecord(tmp_path / "out")
    spool = SpooledSink(out, tmp_path / "spool", flush_seconds=0.05, batch=7)  # the thread delivers meanwhile
    dispatcher = spooled_dispatcher(spool)
    threads, per_thread = 8, 40
    start = threading.Barrier(threads)

    def work(number: int) -> None:
        start.wait()
        for result in results(per_thread, f"t{number}"):
            dispatcher.dispatch(result)

    workers = [threading.Thread(target=work, args=(number,)) for number in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    spool.close()
    assert_exactly_once(out, {f"t{t}-{n}" for t in range(threads) for n in range(per_thread)})
    assert out.repeats() == []
    status = spool.spool_status()
    assert (status.pending, status.delivered, status.damaged, status.failures) == (0, threads * per_thread, 0, 0)


def test_the_thread_delivers_on_its_own_after_flush_seconds(tmp_path: Path) -> None:
    out = OneFilePerRecord(tmp_path / "out")
    dispatcher = spooled_dispatcher(SpooledSink(out, tmp_path / "spool", flush_seconds=0.1))
    for result in results(3, "timer"):
        dispatcher.dispatch(result)
    deadline = time.monotonic() + 10
    while len(out.arrived()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert_exactly_once(out, {"timer-0", "timer-1", "timer-2"})


def test_a_torn_line_is_counted_and_kept_aside_never_skipped_silently(tmp_path: Path) -> None:
    spool_dir, out_dir = tmp_path / "spool", tmp_path / "out"
    killed_after_recording(spool_dir, out_dir, 4, "torn")
    (written,) = spool_dir.glob("spool-*.jsonl")
    torn = written.read_bytes().splitlines(keepends=True)[-1][:-40]  # the last line cut short
    with open(written, "ab") as spool_file:
        spool_file.write(torn)
    out = OneFilePerRecord(out_dir)
    spool = SpooledSink(out, spool_dir)
    spool.flush()
    assert_exactly_once(out, {f"torn-{n}" for n in range(4)})
    assert spool.spool_status().damaged == 1
    assert written.with_name(written.name + DAMAGED_SUFFIX).read_bytes() == torn + b"\n"


def test_records_whose_rule_set_was_never_kept_are_delivered_not_held_forever(tmp_path: Path) -> None:
    dispatcher = Dispatcher.from_rules(entry_points=False)
    built = [
        DecisionRecorder([]).record(dispatcher.dispatch(result), ruleset=dispatcher.ruleset)
        for result in results(3, "unkept")
    ]
    out = OneFilePerRecord(tmp_path / "out")
    spool = SpooledSink(out, tmp_path / "spool", flush_seconds=3600)
    spool.write([record for record in built if record is not None])  # keep_ruleset never called
    spool.flush()
    assert sorted(record.session_id for record in out.arrived()) == ["unkept-0", "unkept-1", "unkept-2"]
    assert spool.spool_status().pending == 0 and out.archive.digests() == ()


def test_a_forked_child_spools_to_a_file_of_its_own(tmp_path: Path) -> None:
    out = OneFilePerRecord(tmp_path / "out")
    spool = SpooledSink(out, tmp_path / "spool", flush_seconds=3600)
    dispatcher = spooled_dispatcher(spool)
    dispatcher.dispatch(results(1, "parent")[0])
    pid = os.fork()
    if pid == 0:  # the child: records, delivers its own at exit
        try:
            for result in results(5, "child"):
                dispatcher.dispatch(result)
            spool.close()
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    dispatcher.dispatch(results(1, "parent-after")[0])
    spool.flush()
    assert_exactly_once(out, {"parent-0", "parent-after-0", *(f"child-{n}" for n in range(5))})
    assert out.repeats() == []


if __name__ == "__main__":
    {"record": record_then_wait, "deliver": deliver}[sys.argv[1]](*sys.argv[2:])
