"""The analytics pass over many lines: read a piece at a time, each line validated once, the same answers.

The pass reads JSON Lines in pieces rather than a line at a time, and validates a valid line once; these
tests hold it to what a line-by-line reader answered: the same lines (``\\r\\n``, bounds, pieces split
anywhere), lines given as they arrive on a pipe, and the same dashboard and warnings for invalid lines.
"""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path
from typing import Any

from profiler_rules import Dispatcher
from profiler_rules.core.jsonl import MAX_LINE_BYTES, InvalidLine, OverlongLine, read_lines, read_results
from profiler_rules.plugins.analytics import dashboard

from .conftest import result, run_cli

ADMIN = {"user_id": "admin-1", "roles": ["admin"]}
PIECE = 1 << 16  # read_lines' piece: the boundaries worth testing are around its multiples


class CountingStream(io.BytesIO):
    """A real in-memory stream that counts the calls made to read it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.calls = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self.calls += 1
        return super().read(size)

    def read1(self, size: int = -1, /) -> bytes:
        self.calls += 1
        return super().read1(size)

    def readline(self, size: int | None = -1, /) -> bytes:
        self.calls += 1
        return super().readline(size)


def line_by_line(data: bytes) -> list[bytes | type[OverlongLine]]:
    """What reading ``data`` a line at a time gives: lines end at ``\\n`` only, a ``\\r`` before it is
    dropped, the last line may have no ending, and a line over the limit is only its mark."""
    *ended, last = data.split(b"\n")
    lines = [line.removesuffix(b"\r") for line in ended] + ([last] if last else [])
    return [line if len(line) <= MAX_LINE_BYTES else OverlongLine for line in lines]


def kinds(lines: list[Any]) -> list[bytes | type[OverlongLine]]:
    return [line if isinstance(line, bytes) else type(line) for line in lines]


def test_lines_are_read_a_piece_at_a_time() -> None:
    data = b"".join(json.dumps(result(session_id=f"s-{index}")).encode() + b"\n" for index in range(10_000))
    stream = CountingStream(data)
    lines = list(read_lines(stream))
    assert len(lines) == 10_000
    # a call per 64 KiB, not per line: a million lines cost a million calls otherwise
    assert stream.calls <= len(data) // PIECE + 2, f"{stream.calls} reads for {len(lines)} lines"


def test_pieces_split_anywhere_give_the_lines_of_line_by_line_reading() -> None:
    cases = {
        "a \\r\\n split between pieces": b"x" * (PIECE - 1) + b"\r\n" + b"next\n",
        "a \\n first in a piece": b"y" * PIECE + b"\nz\r\n",
        "a line ending a piece exactly": b"w" * (PIECE - 1) + b"\n" + b"v\n",
        "a bare \\r inside a line": b"a\rb\n" * (PIECE // 3),
        "lines at the limit": b"l" * MAX_LINE_BYTES + b"\r\n" + b"m" * MAX_LINE_BYTES + b"\n",
        "lines one byte over": b"o" * (MAX_LINE_BYTES + 1) + b"\n" + b"p" * (MAX_LINE_BYTES + 1) + b"\r\n",
        "the limit and its \\r across pieces": b"q" * MAX_LINE_BYTES + b"\r" + b"\n" + b"after\n",
        "a long line, then short ones": b"r" * (5 * MAX_LINE_BYTES + 7) + b"\nshort\n\r\n\n",
        "the last line without an ending": b"first\n" + b"s" * MAX_LINE_BYTES,
        "the last line over the limit": b"first\n" + b"t" * (MAX_LINE_BYTES + 1),
        "the last line with a \\r and no \\n": b"first\nlast\r",
        "blank lines only": b"\n\r\n\n",
        "nothing": b"",
    }
    for name, data in cases.items():
        assert kinds(list(read_lines(io.BytesIO(data)))) == line_by_line(data), name


def test_lines_arriving_on_a_pipe_are_given_as_they_end() -> None:
    reading, writing = os.pipe()
    with open(reading, "rb") as source, open(writing, "wb", buffering=0) as sink:
        sink.write(b'{"first": 1}\n{"sec')
        lines = read_lines(source)
        got: list[Any] = []
        reader = threading.Thread(target=lambda: got.append(next(lines)), daemon=True)
        reader.start()
        reader.join(timeout=10)
        assert got == [b'{"first": 1}'], "the first line waited for more of the stream"
        sink.write(b'ond": 2}\n')
        sink.close()
        assert list(lines) == [b'{"second": 2}']


def test_read_results_gives_each_line_its_result_or_its_problem() -> None:
    good = json.dumps(result(session_id="s-good")).encode()
    lines: list[Any] = [
        good,
        b"",
        b"\xef\xbb\xbf" + good,  # a byte order mark, as Windows tools write it
        b'{"session_id": "s-x", "user_id": "u-1", "status": "weird"}',
        b"[1]",
        OverlongLine(),
        good.decode(),  # a host may give text
        b"x" * (MAX_LINE_BYTES + 3),  # a host's line, with room for its "\r\n"
    ]
    answers = [str(answer) if isinstance(answer, InvalidLine) else answer.session_id for answer in read_results(lines)]
    assert answers[0] == answers[2] == answers[6] == "s-good"
    assert answers[1] == "line 2: the line is blank"
    assert answers[3].startswith("line 4: invalid profiler result: status: Input should be")
    assert answers[4] == "line 5: expected a JSON object, got an array"
    assert (
        answers[5]
        == answers[7].replace("line 8", "line 6")
        == "line 6: the line is longer than 1 MiB (1,048,576 bytes)"
    )


def test_invalid_lines_are_counted_named_and_left_out_of_the_dashboard(tmp_path: Path, dispatcher: Dispatcher) -> None:
    valid = [
        result(session_id=f"s-{index}", user_id=f"u-{index % 7}", cohort_id="c-1", scores={"overall": index % 100})
        for index in range(300)
    ]
    invalid = [
        b"",
        b"\xe9",
        b'{"session_id": "s-x"',
        b"[1, 2]",
        b'{"session_id": "s-y", "user_id": "u-2", "anti_cheat": {"flags": "do-not-quote"}}',
        b"x" * (MAX_LINE_BYTES + 1),
        b"[" * 1000,
    ] * 4
    lines = [json.dumps(item).encode() for item in valid]
    for index, bad in enumerate(invalid):
        lines.insert(index * 11, bad)
    source = tmp_path / "cohort.jsonl"
    source.write_bytes(b"\r\n".join(lines) + b"\n")
    run = run_cli("analytics", str(source), "--viewer", json.dumps(ADMIN), "--cohort", "c-1")
    assert run.code == 1, run.stderr
    report = run.json()
    assert (report["results_read"], report["results_invalid"]) == (len(lines), len(invalid))
    expected = dashboard(dispatcher, valid, viewer=ADMIN, cohort_id="c-1")
    assert report["output"] == json.loads(expected.model_dump_json())["output"]
    warnings = report["warnings"]
    assert len(warnings) == 21 and warnings[-1] == f"... and {len(invalid) - 20} more invalid result(s)"
    assert warnings[:7] == [
        "line 1: the line is blank",
        "line 12: not UTF-8: byte 0xe9 at column 1",
        "line 23: invalid JSON: EOF while parsing an object at column 20",
        "line 34: expected a JSON object, got an array",
        "line 45: invalid profiler result: anti_cheat.*: Extra inputs are not permitted",
        "line 56: the line is longer than 1 MiB (1,048,576 bytes)",
        "line 67: invalid JSON: recursion limit exceeded at column 202",
    ]
    assert "do-not-quote" not in run.stdout + run.stderr


def test_the_latest_result_wins_ties_by_session_whatever_the_order(dispatcher: Dispatcher) -> None:
    import itertools

    def locked(session: str, completed_at: str | None, track: str) -> dict[str, Any]:
        return result(
            session_id=session, user_id="a", status="locked", completed_at=completed_at, recommended_track=track
        )

    undated = locked("z-undated", None, "grc")
    early = locked("m-early", "2026-02-01T10:00:00Z", "offensive")
    tie_low = locked("a-tie", "2026-02-05T10:00:00Z", "leadership")
    tie_high = locked("b-tie", "2026-02-05T12:00:00+02:00", "defender")  # the same instant as tie_low
    for order in itertools.permutations([undated, early, tie_low, tie_high]):
        output = dashboard(dispatcher, order, viewer=ADMIN).output
        assert output.track_distribution == {"defender": 1}, order
    for order in itertools.permutations([undated, locked("y-undated", None, "innovation")]):
        assert dashboard(dispatcher, order, viewer=ADMIN).output.track_distribution == {"grc": 1}
