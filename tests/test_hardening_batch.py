"""Issue 10, batch and reading: nothing lost in batch runs, and one reader of JSON Lines that never crashes.

Every test runs the real command in a subprocess, on real files, and, for interruptions, sends real
signals to real processes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import EXAMPLES, install_plugin, run_cli

ADMIN = {"user_id": "admin-1", "roles": ["admin"]}
MAX_LINE_BYTES = 1 << 20  # the documented limit of a line
ENVIRONMENT = {key: value for key, value in os.environ.items() if not key.startswith("PROFILER_RULES_")}


def good(session: str, **fields: Any) -> bytes:
    line = {"session_id": session, "user_id": f"u-{session}", "status": "finished", **fields}
    return json.dumps(line).encode()


def write_results(path: Path, count: int, start: int = 0) -> Path:
    with path.open("wb") as out:
        for index in range(start, start + count):
            out.write(good(f"s-{index}", difficulty_selection=("novice", "elite")[index % 2]) + b"\n")
    return path


def records_of(data: str | bytes) -> list[dict[str, Any]]:
    text = data.decode() if isinstance(data, bytes) else data
    return [json.loads(line) for line in text.split("\n") if line]


def summary_of(stderr: str) -> str:
    """The summary line of a batch run (``N line(s): ...``)."""
    found = [line for line in stderr.splitlines() if " line(s): " in line]
    assert len(found) == 1, stderr
    return found[0]


@pytest.fixture(scope="module")
def long_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A batch long enough to interrupt, and the output of its uninterrupted run."""
    directory = tmp_path_factory.mktemp("long-run")
    source = write_results(directory / "results.jsonl", 8000)
    expected = directory / "expected.jsonl"
    assert run_cli("dispatch", str(source), "--output", str(expected)).code == 0
    return source, expected


# --- 1. nothing lost: an output that is the input ---------------------------------------------------


def test_an_output_that_is_the_input_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    source = write_results(tmp_path / "results.jsonl", 5)
    before = source.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(source)
    os.link(source, tmp_path / "hard.jsonl")
    for output in ("results.jsonl", "link.jsonl", "hard.jsonl"):
        for extra in ([], ["--resume"], ["--workers", "2"]):
            run = run_cli("dispatch", str(source), "--output", str(tmp_path / output), *extra)
            assert run.code == 2, (output, extra, run.stderr)
            assert run.stderr.count("\n") == 1 and "is the input" in run.stderr, run.stderr
            assert source.read_bytes() == before
    # Standard input that is the output file, through a link.
    with source.open("rb") as stdin:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "profiler_rules",
                "dispatch",
                "--jsonl",
                "-",
                "--output",
                str(tmp_path / "hard.jsonl"),
            ],
            stdin=stdin,
            capture_output=True,
            env=ENVIRONMENT,
            timeout=60,
        )
    assert run.returncode == 2 and b"is the input" in run.stderr
    assert source.read_bytes() == before


def test_standard_output_appended_to_the_input_is_refused(tmp_path: Path) -> None:
    # `dispatch results.jsonl >> results.jsonl` would read its own records back for ever.
    source = write_results(tmp_path / "results.jsonl", 5)
    before = source.read_bytes()
    with source.open("ab") as stdout:
        run = subprocess.run(
            [sys.executable, "-m", "profiler_rules", "dispatch", str(source)],
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=ENVIRONMENT,
            timeout=60,
        )
    assert run.returncode == 2 and b"is the input" in run.stderr
    assert source.read_bytes() == before


# --- 1. nothing lost: resume proves the output belongs to the input ---------------------------------


def test_resume_refuses_an_output_written_for_another_input(tmp_path: Path) -> None:
    first = write_results(tmp_path / "first.jsonl", 20)
    other = write_results(tmp_path / "other.jsonl", 20, start=100)
    output = tmp_path / "out.jsonl"
    assert run_cli("dispatch", str(first), "--output", str(output)).code == 0
    cut = b"".join(output.read_bytes().splitlines(keepends=True)[:8])
    output.write_bytes(cut)
    run = run_cli("dispatch", str(other), "--output", str(output), "--resume")
    assert run.code == 2
    assert run.stderr.count("\n") == 1, run.stderr
    assert "line 1 " in run.stderr and "s-0" in run.stderr and "s-100" in run.stderr, run.stderr
    assert "--resume" in run.stderr  # and what to do instead
    assert output.read_bytes() == cut  # untouched


def test_resume_refuses_records_that_do_not_match_their_lines(tmp_path: Path) -> None:
    lines = [good("a"), b"{broken", good("c"), good("d")]
    source = tmp_path / "results.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    output = tmp_path / "out.jsonl"
    assert run_cli("dispatch", str(source), "--output", str(output)).code == 1
    records = output.read_bytes().splitlines(keepends=True)

    # The error record of line 2, where the input's line 2 is now a valid result.
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_bytes(b"\n".join([good("a"), good("b"), good("c"), good("d")]) + b"\n")
    output.write_bytes(b"".join(records[:3]))
    run = run_cli("dispatch", str(fixed), "--output", str(output), "--resume")
    assert run.code == 2 and "line 2 " in run.stderr, run.stderr

    # An error record that names another line than its place.
    moved = json.loads(records[1]) | {"line": 7}
    output.write_bytes(records[0] + json.dumps(moved).encode() + b"\n")
    run = run_cli("dispatch", str(source), "--output", str(output), "--resume")
    assert run.code == 2 and "line 2 " in run.stderr, run.stderr

    # More records than the input has lines.
    short = tmp_path / "short.jsonl"
    short.write_bytes(good("a") + b"\n")
    output.write_bytes(b"".join(records[:3]))
    run = run_cli("dispatch", str(short), "--output", str(output), "--resume")
    assert run.code == 2 and "more records" in run.stderr, run.stderr

    # A line that is no record of a batch at all.
    output.write_bytes(records[0] + b'{"hello": "world"}\n')
    run = run_cli("dispatch", str(source), "--output", str(output), "--resume")
    assert run.code == 2 and "line 2 " in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_resume_refuses_records_made_under_other_rules(tmp_path: Path, rules_dir: Path) -> None:
    source = write_results(tmp_path / "results.jsonl", 10)
    output = tmp_path / "out.jsonl"
    assert run_cli("dispatch", str(source), "--output", str(output)).code == 0
    output.write_bytes(b"".join(output.read_bytes().splitlines(keepends=True)[:4]))
    (rules_dir / "ruleset.yaml").write_text("version: 9.9.9\n", encoding="utf-8")
    run = run_cli("dispatch", str(source), "--output", str(output), "--rules", str(rules_dir), "--resume")
    assert run.code == 2 and "other rules" in run.stderr, run.stderr


def test_a_resumed_run_ends_like_an_uninterrupted_one(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site, "faulty_engines", entry_point="faulty")  # every report has an engine error
    env = {"PYTHONPATH": str(site)}
    lines = [good(f"s-{index}") for index in range(30)]
    lines[3] = b"{broken"
    lines[25] = b"[1, 2]"
    source = tmp_path / "results.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    whole = tmp_path / "whole.jsonl"
    uninterrupted = run_cli("dispatch", str(source), "--output", str(whole), env=env)
    assert uninterrupted.code == 1
    assert ", 28 with an engine error" in summary_of(uninterrupted.stderr)
    for strict in ([], ["--strict"]):
        expected = run_cli("dispatch", str(source), "--output", str(whole), *strict, env=env)
        for cut in (0, 2, 4, 20, 30):
            output = tmp_path / "out.jsonl"
            records = whole.read_bytes().splitlines(keepends=True)
            output.write_bytes(b"".join(records[:cut]) + records[cut % 30][:50])  # and a record cut short
            resumed = run_cli("dispatch", str(source), "--output", str(output), "--resume", *strict, env=env)
            assert resumed.code == expected.code == 1, resumed.stderr
            assert summary_of(resumed.stderr) == summary_of(expected.stderr), (cut, strict)
            assert output.read_bytes() == whole.read_bytes()


MEMORY_PROBE = """
import resource, subprocess, sys
run = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
print(run.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(run.stderr)
"""


def peak_of(*args: str) -> tuple[int, int, str]:
    """Run the command line in a child process: its exit code, its peak memory in KiB, its stderr."""
    probe = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, sys.executable, "-m", "profiler_rules", *args],
        capture_output=True,
        text=True,
        env=ENVIRONMENT,
        timeout=120,
        check=True,
    )
    first, _, stderr = probe.stdout.partition("\n")
    code, peak = first.split()
    return int(code), int(peak), stderr


def test_resume_streams_the_output_in_bounded_memory(tmp_path: Path) -> None:
    # One real record as a template; the large output holds it many times over, each for its own line.
    probe = tmp_path / "probe.jsonl"
    probe.write_bytes(good("SESSION", answers={"why_cyber": "x" * 9_000}) + b"\n")
    template = run_cli("dispatch", str(probe)).stdout.encode()
    assert template.count(b"SESSION") > 1 and len(template) > 20_000
    count = 5_000
    source, output, small_output = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "small.jsonl"
    with source.open("wb") as lines, output.open("wb") as records:
        for index in range(count):
            session = f"s-{index:06d}".encode()
            lines.write(good(session.decode(), answers={"why_cyber": "x" * 9_000}) + b"\n")
            records.write(template.replace(b"SESSION", session))
    small_source = tmp_path / "small-in.jsonl"
    small_source.write_bytes(b"".join(source.read_bytes().splitlines(keepends=True)[:50]))
    small_output.write_bytes(b"".join(output.read_bytes().splitlines(keepends=True)[:50]))
    size_kib = output.stat().st_size // 1024
    assert size_kib > 100_000

    code, small, _ = peak_of("dispatch", str(small_source), "--output", str(small_output), "--resume")
    code_large, large, stderr = peak_of("dispatch", str(source), "--output", str(output), "--resume")
    assert code == code_large == 0, stderr
    assert "resumed after line 5000" in stderr
    assert large < small + 16 * 1024, f"resuming over {size_kib} KiB peaked at {large} KiB, a small one at {small}"


# --- 1. nothing lost: interruptions -----------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


def spools(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("profiler-rules-*"))


def start_batch(source: Path, output: Path, tmp: Path, *extra: str) -> tuple[subprocess.Popen[bytes], list[int]]:
    """Start a batch and wait until it has written some records (and, with workers, spooled some).

    Its standard error goes to ``tmp/stderr``: a pipe would keep the test waiting on any process
    that inherited it.
    """
    tmp.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "profiler_rules", "dispatch", str(source), "--output", str(output), *extra]
    with (tmp / "stderr").open("wb") as stderr:
        process = subprocess.Popen(command, env=ENVIRONMENT | {"TMPDIR": str(tmp)}, stderr=stderr)
    deadline = time.monotonic() + 60
    while (not output.exists() or output.stat().st_size < 100_000) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the batch ended before it could be interrupted"
    return process, children_of(process.pid)


def wait_gone(pids: list[int], seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


INTERRUPTED = re.compile(
    r"profiler-rules: interrupted: (?P<output>\S+) holds (?P<records>[\d,]+) whole record\(s\), "
    r"for lines 1 to [\d,]+ of \S+; to continue: (?P<command>.+ --resume)\n"
)


@pytest.mark.parametrize(("sent", "code", "workers"), [(signal.SIGINT, 130, "2"), (signal.SIGTERM, 143, "1")])
def test_an_interrupted_batch_says_what_it_wrote_and_how_to_resume(
    long_run: tuple[Path, Path], tmp_path: Path, sent: signal.Signals, code: int, workers: str
) -> None:
    source, expected = long_run
    output, tmp = tmp_path / "out.jsonl", tmp_path / "tmp"
    process, workers_pids = start_batch(source, output, tmp, "--workers", workers)
    assert len(workers_pids) >= int(workers) - 1
    process.send_signal(sent)
    process.wait(timeout=30)
    stderr = (tmp / "stderr").read_text()
    assert process.returncode == code, stderr
    said = INTERRUPTED.fullmatch(stderr)
    assert said, stderr
    data = output.read_bytes()
    assert data.endswith(b"\n") and int(said["records"].replace(",", "")) == data.count(b"\n")
    assert expected.read_bytes().startswith(data), "every record written is whole and in order"
    assert wait_gone(workers_pids) == [], "the workers ended with their parent"
    assert spools(tmp) == []
    command = said["command"].replace("profiler-rules ", f"{sys.executable} -m profiler_rules ", 1)
    resumed = subprocess.run(command, shell=True, capture_output=True, text=True, env=ENVIRONMENT, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert output.read_bytes() == expected.read_bytes()


def test_killing_the_parent_ends_its_workers_and_removes_their_spool(
    long_run: tuple[Path, Path], tmp_path: Path
) -> None:
    source, expected = long_run
    output, tmp = tmp_path / "out.jsonl", tmp_path / "tmp"
    process, workers = start_batch(source, output, tmp, "--workers", "2")
    assert len(workers) >= 2 and spools(tmp)
    process.kill()
    process.wait(timeout=30)
    assert wait_gone(workers) == [], "no worker outlives its parent"
    assert spools(tmp) == []
    resumed = run_cli("dispatch", str(source), "--output", str(output), "--resume")
    assert resumed.code == 0, resumed.stderr
    assert output.read_bytes() == expected.read_bytes()


def test_a_worker_that_dies_ends_the_batch_with_one_line_and_the_way_to_resume(
    long_run: tuple[Path, Path], tmp_path: Path
) -> None:
    source, expected = long_run
    output, tmp = tmp_path / "out.jsonl", tmp_path / "tmp"
    process, workers = start_batch(source, output, tmp, "--workers", "2")
    os.kill(workers[0], signal.SIGKILL)  # as the kernel's out-of-memory killer would
    process.wait(timeout=60)
    stderr = (tmp / "stderr").read_text()
    assert process.returncode == 2, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("profiler-rules: error: a worker process ended"), stderr
    assert "--resume" in stderr
    assert wait_gone(workers) == [] and spools(tmp) == []
    resumed = run_cli("dispatch", str(source), "--output", str(output), "--resume")
    assert resumed.code == 0, resumed.stderr
    assert output.read_bytes() == expected.read_bytes()


def test_workers_that_can_not_serve_the_same_rules_raise_a_plain_error(
    rules_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from profiler_rules import Dispatcher, ProfilerRulesError
    from profiler_rules.batch import dispatch_lines

    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    (rules_dir / "ruleset.yaml").write_text("version: 2.0.0\n", encoding="utf-8")  # changed since
    with pytest.raises(ProfilerRulesError, match="changed since"):
        list(dispatch_lines(dispatcher, [good("a")] * 600, workers=2))
    assert "Traceback" not in capfd.readouterr().err


def test_an_option_file_is_never_the_output(tmp_path: Path) -> None:
    source = write_results(tmp_path / "results.jsonl", 3)
    catalogs = tmp_path / "catalogs.json"
    catalogs.write_bytes((EXAMPLES / "catalogs.json").read_bytes())
    viewer = tmp_path / "viewer.json"
    viewer.write_text(json.dumps(ADMIN), encoding="utf-8")
    for option, path in (("--catalogs", catalogs), ("--viewer", viewer)):
        before = path.read_bytes()
        run = run_cli("dispatch", str(source), option, str(path), "--output", str(path))
        assert run.code == 2 and "is the input" in run.stderr, run.stderr
        assert path.read_bytes() == before


def test_interrupting_any_command_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    # Each command waits on standard input that never ends: Ctrl-C is how a user gets out.
    for command in (
        ["diff", "-"],
        ["analytics", "-", "--viewer", json.dumps(ADMIN)],
        ["explain", "-"],
        ["dispatch", "--jsonl", "-", "--output", str(tmp_path / "out.jsonl")],
    ):
        process = subprocess.Popen(
            [sys.executable, "-m", "profiler_rules", *command],
            env=ENVIRONMENT,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert process.stdin is not None
        process.stdin.write(good("a") + b"\n")
        process.stdin.flush()
        time.sleep(3)  # started, and waiting for more input
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        stderr = process.stderr.read().decode() if process.stderr else ""
        process.wait(timeout=30)
        process.stdin.close()
        assert process.returncode == 130, (command, stderr)
        assert stderr.count("\n") == 1 and stderr.startswith("profiler-rules: interrupted"), (command, stderr)


# --- 2. one reader of JSON Lines ---------------------------------------------------------------------


BAD_LINES: list[tuple[bytes, str]] = [
    (b"", "the line is blank"),
    (b" \t ", "the line is blank"),
    (b'{"session_id": "a", "user_id"', "invalid JSON: EOF while parsing an object at column 29"),
    (b"[1, 2]", "expected a JSON object, got an array"),
    (b'"text"', "expected a JSON object, got a string"),
    (b"42", "expected a JSON object, got a number"),
    (b"null", "expected a JSON object, got null"),
    (b'{"session_id": "caf\xe9", "user_id": "b"}', "not UTF-8: byte 0xe9 at column 20"),
    (b"\xff", "not UTF-8: byte 0xff at column 1"),
    (b"[" * 1000, "invalid JSON: recursion limit exceeded at column 202"),
    (b'{"session_id": "s", "user_id": "u", "status": "nope"}', "invalid profiler result: status: Input should be"),
    (b"x" * (MAX_LINE_BYTES + 1), "the line is longer than 1 MiB (1,048,576 bytes)"),
]


def messy_file(path: Path) -> Path:
    """A good line, each bad line, and a good line again; the last line ends in CRLF."""
    body = [good("first")] + [line for line, _ in BAD_LINES] + [good("last")]
    path.write_bytes(b"\n".join(body) + b"\r\n")
    return path


def expected_messages() -> list[str]:
    return [f"line {number}: {message}" for number, (_, message) in enumerate(BAD_LINES, start=2)]


def matches(got: list[str], expected: list[str]) -> bool:
    # The field error ends with pydantic's list of allowed statuses: the start is enough.
    return len(got) == len(expected) and all(text.startswith(want) for text, want in zip(got, expected, strict=True))


def test_every_bad_line_is_its_own_error_record_and_the_batch_goes_on(tmp_path: Path) -> None:
    source = messy_file(tmp_path / "messy.jsonl")
    outputs = []
    for workers in ("1", "2"):
        run = run_cli("dispatch", str(source), "--workers", workers)
        assert run.code == 1 and "Traceback" not in run.stderr, run.stderr
        records = records_of(run.stdout)
        assert len(records) == len(BAD_LINES) + 2
        assert records[0]["session_id"] == "first" and records[-1]["session_id"] == "last"
        got = [f"line {record['line']}: {record['error']}" for record in records[1:-1]]
        assert matches(got, expected_messages()), got
        assert summary_of(run.stderr).endswith(
            f"{len(BAD_LINES) + 2} line(s): 2 dispatched, {len(BAD_LINES)} with errors"
        )
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1]


def test_the_same_bad_line_gets_the_same_message_from_every_command(tmp_path: Path) -> None:
    source = messy_file(tmp_path / "messy.jsonl")
    dispatched = records_of(run_cli("dispatch", str(source)).stdout)[1:-1]
    from_dispatch = [f"line {record['line']}: {record['error']}" for record in dispatched]

    analytics = run_cli("analytics", str(source), "--viewer", json.dumps(ADMIN))
    assert analytics.code == 1 and "Traceback" not in analytics.stderr, analytics.stderr
    assert (analytics.json()["results_read"], analytics.json()["results_invalid"]) == (
        len(BAD_LINES) + 2,
        len(BAD_LINES),
    )
    warned = [line for line in analytics.stderr.splitlines() if line.startswith("profiler-rules: warning: line ")]
    from_analytics = [line.removeprefix("profiler-rules: warning: ") for line in warned]

    diff = run_cli("diff", str(source), "--format", "json")
    assert diff.code == 1 and "Traceback" not in diff.stderr, diff.stderr
    assert (diff.json()["results"], diff.json()["invalid"]) == (len(BAD_LINES) + 2, len(BAD_LINES))
    from_diff = diff.json()["invalid_examples"]

    assert matches(from_dispatch, expected_messages()), from_dispatch
    assert from_analytics == from_dispatch
    assert from_diff == from_dispatch


def test_a_bare_cr_inside_a_line_does_not_split_it(tmp_path: Path) -> None:
    source = tmp_path / "results.jsonl"
    source.write_bytes(b'{"session_id": "a",\r"user_id": "b",\r"status": "locked"}\r\n' + good("c") + b"\n")
    run = run_cli("dispatch", str(source))
    assert run.code == 0, run.stdout
    assert [record["session_id"] for record in records_of(run.stdout)] == ["a", "c"]
    analytics = run_cli("analytics", str(source), "--viewer", json.dumps(ADMIN))
    assert (analytics.json()["results_read"], analytics.json()["results_invalid"]) == (2, 0)
    diff = run_cli("diff", str(source), "--format", "json")
    assert (diff.code, diff.json()["results"], diff.json()["invalid"]) == (0, 2, 0)


def test_lines_end_at_newlines_only_and_are_bounded_at_the_limit() -> None:
    import io

    from profiler_rules.core.jsonl import MAX_LINE_BYTES as LIMIT
    from profiler_rules.core.jsonl import OverlongLine, read_lines

    assert LIMIT == MAX_LINE_BYTES
    pieces = [
        (b"a\rb", b"\n"),
        (b"x" * LIMIT, b"\r\n"),
        (b"y" * (LIMIT + 1), b"\n"),
        (b"z" * LIMIT, b"\n"),
        (b"w" * (LIMIT + 1), b"\r\n"),
        (b"v" * (3 * LIMIT), b"\n"),
        (b"", b"\r\n"),
        (b"u" * (LIMIT + 1), b""),  # the last line, without an ending
    ]
    lines = list(read_lines(io.BytesIO(b"".join(line + ending for line, ending in pieces))))
    assert [line if isinstance(line, bytes) else type(line) for line in lines] == [
        b"a\rb",
        b"x" * LIMIT,
        OverlongLine,
        b"z" * LIMIT,
        OverlongLine,
        OverlongLine,
        b"",
        OverlongLine,
    ]
    assert list(read_lines(io.BytesIO(b"u" * LIMIT))) == [b"u" * LIMIT]


def test_a_huge_line_is_refused_without_being_held(tmp_path: Path) -> None:
    source = tmp_path / "huge.jsonl"
    huge = b'{"session_id": "' + b"x" * 40_000_000 + b'", "user_id": "u"}'
    source.write_bytes(good("a") + b"\n" + huge + b"\n" + good("c") + b"\n")
    small = tmp_path / "small.jsonl"
    small.write_bytes(good("a") + b"\n" + good("c") + b"\n")
    _, baseline, _ = peak_of("dispatch", str(small), "--output", str(tmp_path / "small-out.jsonl"))
    code, peak, stderr = peak_of("dispatch", str(source), "--output", str(tmp_path / "out.jsonl"))
    assert code == 1, stderr
    assert peak < baseline + 16 * 1024, f"a 40 MB line peaked at {peak} KiB, two short ones at {baseline}"
    records = records_of((tmp_path / "out.jsonl").read_bytes())
    assert [record.get("line") for record in records] == [None, 2, None]
    assert records[1]["error"].startswith("the line is longer than 1 MiB")


def test_error_records_quote_only_bounded_text(tmp_path: Path) -> None:
    long_id = "i" * 300_000  # within the line limit, far over the 256 characters of an id
    many_fields = {f"unknown_{index}": 1 for index in range(20_000)}
    source = tmp_path / "results.jsonl"
    source.write_bytes(
        json.dumps({"session_id": long_id, "user_id": "u"}).encode()
        + b"\n"
        + json.dumps({"session_id": "s", "user_id": "u", **many_fields}).encode()
        + b"\n"
        + json.dumps({"session_id": "s", "user_id": "u", "k" * 200_000: 1}).encode()
        + b"\n"
    )
    run = run_cli("dispatch", str(source))
    assert run.code == 1, run.stderr
    records = records_of(run.stdout)
    assert [len(line) < 4_000 for line in run.stdout.splitlines()] == [True, True, True]
    assert records[0]["session_id"] is None and records[0]["fields"] == ["session_id"]
    assert "and 19,980 more" in records[1]["error"] and len(records[1]["fields"]) == 20
    assert records[2]["session_id"] == "s"


def test_a_bad_byte_in_a_document_or_an_option_file_is_one_line_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{\n  "session_id": "caf\xe9",\n  "user_id": "b"\n}\n')
    example = str(EXAMPLES / "result.json")
    cohort = str(EXAMPLES / "cohort.jsonl")
    for command in (
        ["dispatch", str(bad)],
        ["explain", str(bad)],
        ["dispatch", example, "--viewer", str(bad)],
        ["dispatch", example, "--catalogs", str(bad)],
        ["explain", example, "--catalogs", str(bad)],
        ["analytics", cohort, "--viewer", json.dumps(ADMIN), "--roster", str(bad)],
        ["diff", cohort, "--viewer", str(bad)],
    ):
        run = run_cli(*command)
        assert run.code == 2, (command, run.stderr)
        assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr
        assert str(bad) in run.stderr and "not UTF-8: byte 0xe9 at line 2 column 21" in run.stderr, run.stderr
    standard_input = subprocess.run(
        [sys.executable, "-m", "profiler_rules", "explain", "-"],
        input=bad.read_bytes(),
        capture_output=True,
        env=ENVIRONMENT,
        timeout=60,
    )
    assert standard_input.returncode == 2
    assert standard_input.stderr.decode().startswith("profiler-rules: error: standard input: not UTF-8")


def test_documents_and_option_files_that_are_no_json_are_one_line(tmp_path: Path) -> None:
    cases = {
        "deep.json": b"[" * 100_000,
        "empty.json": b"",
        "array.json": b"[1, 2]",
        "truncated.json": b'{"session_id": "a",\n',
    }
    example = str(EXAMPLES / "result.json")
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        for command in (["dispatch", str(path)], ["explain", str(path)], ["dispatch", example, "--viewer", str(path)]):
            run = run_cli(*command)
            assert run.code == 2, (command, run.stderr)
            assert run.stderr.count("\n") == 1 and str(path) in run.stderr, run.stderr
    inline = run_cli("dispatch", example, "--viewer", "[" * 100_000)
    assert inline.code == 2 and inline.stderr.count("\n") == 1 and "--viewer" in inline.stderr, inline.stderr[:300]


def test_a_document_is_read_only_up_to_its_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b'{"session_id": "' + b"x" * 30_000_000 + b'", "user_id": "u"}')
    _, baseline, _ = peak_of("explain", str(EXAMPLES / "result.json"))
    code, peak, stderr = peak_of("explain", str(big))
    assert code == 2 and f"{big}: larger than 1 MiB" in stderr, stderr
    assert peak < baseline + 16 * 1024, f"refusing a 30 MB document peaked at {peak} KiB, the example at {baseline}"
    fifo = tmp_path / "endless.json"
    os.mkfifo(fifo)
    # 100 MB of "[": an option file is read up to its limit, then refused.
    writer = subprocess.Popen(["sh", "-c", f"yes '[' | head -c 100000000 > {fifo}"], stderr=subprocess.DEVNULL)
    try:
        run = run_cli("dispatch", str(EXAMPLES / "result.json"), "--viewer", str(fifo))
    finally:
        writer.kill()
        writer.wait()
    assert run.code == 2 and f"--viewer {fifo}: larger than 64 MiB" in run.stderr, run.stderr


def test_a_closed_standard_input_is_one_line(tmp_path: Path) -> None:
    for command in (["dispatch", "--jsonl", "-"], ["dispatch", "-"], ["explain", "-"], ["diff", "-"]):
        run = subprocess.run(
            [sys.executable, "-m", "profiler_rules", *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=lambda: os.close(0),  # the child starts without a standard input, as with <&-
            env=ENVIRONMENT,
            timeout=60,
        )
        assert run.returncode == 2, (command, run.stderr)
        assert run.stderr == b"profiler-rules: error: cannot read standard input: it is closed\n"


def test_a_roster_that_is_not_a_list_is_one_line(tmp_path: Path) -> None:
    cohort = str(EXAMPLES / "cohort.jsonl")
    for text, kind in (("5", "a number"), ('{"user_id": "u"}', "an object"), ('"u-1"', "a string")):
        roster = tmp_path / "roster.json"
        roster.write_text(text, encoding="utf-8")
        run = run_cli("analytics", cohort, "--viewer", json.dumps(ADMIN), "--roster", str(roster))
        assert run.code == 2 and "Traceback" not in run.stderr, run.stderr
        assert run.stderr == f"profiler-rules: error: --roster {roster}: expected a JSON array, got {kind}\n"


def test_explain_shows_control_characters_from_input_instead_of_sending_them(tmp_path: Path) -> None:
    hostile = {
        "session_id": "s-\x1b[2J\x1b[31m",
        "user_id": "u-\x9b31m\u202e",
        "status": "finished",
        "answers": {"why_cyber": "to stop \x1b]0;owned\x07 people\r\nlike me", "identity_values": ["a\x1bb"]},
        "areas_for_growth": ["web\x1b[8m"],
    }
    source = tmp_path / "hostile.json"
    source.write_text(json.dumps(hostile), encoding="utf-8")
    run = run_cli("explain", str(source), "--viewer", json.dumps(ADMIN))
    assert run.code == 0, run.stderr
    for control in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert control not in run.stdout + run.stderr
    assert "s-\\x1b[2J\\x1b[31m" in run.stdout
    assert "u-\\x9b31m\\u202e" in run.stdout


def test_diff_and_warnings_show_control_characters_visibly(tmp_path: Path) -> None:
    source = tmp_path / "results.jsonl"
    source.write_bytes(json.dumps({"session_id": "s", "user_id": "u", "status": "locked", "\x1b[31mkey": 1}).encode())
    for command in (["diff", str(source)], ["analytics", str(source), "--viewer", json.dumps(ADMIN)]):
        run = run_cli(*command)
        assert "\\x1b[31mkey" in run.stdout + run.stderr, command
        assert "\x1b" not in run.stdout + run.stderr, command
