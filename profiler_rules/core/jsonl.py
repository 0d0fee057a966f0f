"""The one reader of JSON: every line of JSON Lines, and every JSON document, framed, bounded and parsed
the same way, so the same bad line gets the same message from every command and no bytes crash it.

- Lines are read as bytes and only ``\\n`` ends one (``\\r\\n`` too): a bare ``\\r`` is JSON whitespace,
  inside its line, where text mode's universal newlines would split a record in two.
- A line is bounded before it is parsed: at most :data:`MAX_LINE_BYTES`. The rest of a longer line is
  skipped a piece at a time, never held: a result takes a few kilobytes, and parsing 40 MB would take
  a gigabyte.
- Parsing is pydantic's own, whose depth is bounded: no ``json.loads`` (a line of 1,000 ``[`` is a
  RecursionError there), on the error path neither.
- A problem is one plain message: ``the line is blank``, ``not UTF-8: byte 0xe9 at column 20``,
  ``invalid JSON: EOF while parsing an object at column 29``, ``expected a JSON object, got an
  array``, or the invalid fields as :class:`InvalidInputError` names them (at most
  :data:`MAX_LISTED_FIELDS`, each name bounded). A line's problem is quoted as ``line N: ...``.
- A UTF-8 byte order mark before the JSON, as Windows tools write it, is read past.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from pydantic import ValidationError
from pydantic_core import from_json

from .errors import MAX_LISTED_FIELDS, InvalidInputError, ProfilerRulesError
from .models import MAX_ID, PROTECTED_FIELDS, ProfilerResult, invalid_input

MAX_LINE_BYTES = 1 << 20
"""The longest line (or result document) read: 1 MiB. A profiler result takes a few kilobytes."""

LINE_TOO_LONG = f"the line is longer than 1 MiB ({MAX_LINE_BYTES:,} bytes)"

_PIECE = 1 << 16
_BYTE_ORDER_MARK = b"\xef\xbb\xbf"
_JSON_WHITESPACE = b" \t\r\n"
_POSITION = re.compile(r" at line (\d+) column (\d+)$")
_validate_result = ProfilerResult.__pydantic_validator__.validate_json


@dataclass(frozen=True, slots=True)
class OverlongLine:
    """The place of a line longer than :data:`MAX_LINE_BYTES`, whose bytes were skipped, never held."""


_OVERLONG = OverlongLine()
Line = bytes | str | OverlongLine
"""One line as read: its bytes (a host may give text), or the mark of an over-long line."""


class UnreadableJSON(ProfilerRulesError, ValueError):
    """Bytes that hold no JSON object: blank, not UTF-8, not JSON, or JSON of another kind.

    ``problem`` says which, and where for a position: ``not UTF-8: byte 0xe9 at line 2 column 21``.
    """

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class InvalidLine:
    """A line that gave no result, and why. Its text is ``line N: problem`` in every command."""

    number: int
    problem: str
    session_id: str | None = None
    fields: tuple[str, ...] | None = None

    def __str__(self) -> str:
        return f"line {self.number}: {self.problem}"

    def record(self) -> str:
        """The error record batch dispatch writes in the line's place (JSON, one line)."""
        record: dict[str, Any] = {"line": self.number, "session_id": self.session_id, "error": self.problem}
        if self.fields is not None:
            record["fields"] = list(self.fields)
        return json.dumps(record, ensure_ascii=False)


def read_lines(stream: BinaryIO) -> Iterator[bytes | OverlongLine]:
    """Each line of a binary stream, as bytes without its ``\\n`` or ``\\r\\n``, or an :class:`OverlongLine`.

    Memory stays within :data:`MAX_LINE_BYTES` (and a piece of :data:`_PIECE` bytes) whatever the
    stream holds.
    """
    # Read a piece at a time and split it, rather than a line at a time: a million lines cost a
    # million readline calls otherwise. read1 answers with what the stream has, so lines arriving on
    # a pipe are still given as soon as they end.
    read = getattr(stream, "read1", None) or stream.read
    start = b""  # the start of the line whose end is still to come
    overlong = False  # that line is already longer than the limit: its bytes are dropped, never held
    while piece := read(_PIECE):
        *ended, rest = piece.split(b"\n")
        if ended:
            ended[0] = _OVERLONG if overlong else _ended(start + ended[0])
            start, overlong = b"", False
            if b"\r" in piece:
                ended[1:] = map(_ended, ended[1:])
            yield from ended
        if not overlong:
            start += rest
            # A line's "\r" before its "\n" is not counted: one byte more may still fit.
            if len(start) > MAX_LINE_BYTES + 1:
                start, overlong = b"", True
    if overlong:
        yield _OVERLONG
    elif start:
        yield start if len(start) <= MAX_LINE_BYTES else _OVERLONG


def _ended(line: bytes) -> bytes | OverlongLine:
    """A line ended by ``\\n``, without the ``\\r`` of a ``\\r\\n``, or the mark of an over-long one."""
    if line.endswith(b"\r"):
        line = line[:-1]
    return line if len(line) <= MAX_LINE_BYTES else _OVERLONG


def read_results(
    lines: Iterable[Line], protected: Collection[str] = PROTECTED_FIELDS
) -> Iterator[ProfilerResult | InvalidLine]:
    """Each line's result, or the :class:`InvalidLine` saying why there is none.

    :param protected: The fields whose values no message quotes: the rules' ``access.protected``.
    """
    # Most lines are valid results: they are validated here directly, and only a line that gives
    # none goes through read_line, which validates it again to say why. A million lines save a
    # million calls.
    validate, limit = _validate_result, MAX_LINE_BYTES
    for number, line in enumerate(lines, start=1):
        result: ProfilerResult | None = None
        if type(line) is bytes and len(line) <= limit:
            try:
                result = validate(line)
            except Exception:  # noqa: BLE001 - read_line says why, whatever the bytes hold
                result = None
        yield read_line(number, line, protected) if result is None else result


def read_line(number: int, line: Line, protected: Collection[str] = PROTECTED_FIELDS) -> ProfilerResult | InvalidLine:
    """One line's result, or why it has none; never an exception, whatever the line holds."""
    if isinstance(line, OverlongLine) or len(line) > MAX_LINE_BYTES + 2:
        return InvalidLine(number, LINE_TOO_LONG)
    try:
        return result_of(line, document=False, protected=protected)
    except UnreadableJSON as error:
        return InvalidLine(number, error.problem)
    except InvalidInputError as error:
        return InvalidLine(number, str(error), _session_of(line), error.fields[:MAX_LISTED_FIELDS])


def result_of(
    data: bytes | str, *, document: bool = True, protected: Collection[str] = PROTECTED_FIELDS
) -> ProfilerResult:
    """Parse and validate one result, a JSON document (or a line, with ``document=False``).

    :raises UnreadableJSON: when the data holds no JSON object.
    :raises InvalidInputError: naming the invalid fields, at most :data:`MAX_LISTED_FIELDS` of them,
        never quoting the value of a ``protected`` one.
    """
    try:
        return _validate_result(data)
    except ValidationError as error:
        if isinstance(data, bytes) and data.startswith(_BYTE_ORDER_MARK):
            # as Windows tools write it
            return result_of(data[len(_BYTE_ORDER_MARK) :], document=document, protected=protected)
        raise _problem_of(data, error, document, protected) from None
    except Exception as error:  # noqa: BLE001 - whatever the bytes, the reader answers with a problem
        raise UnreadableJSON(f"the result could not be read ({type(error).__name__})") from None


def json_of(data: bytes) -> Any:
    """Parse a JSON document of any kind, with the messages of :func:`result_of`.

    :raises UnreadableJSON: when the data is not JSON.
    """
    try:
        return from_json(data)
    except ValueError as error:
        if data.startswith(_BYTE_ORDER_MARK):
            return json_of(data[len(_BYTE_ORDER_MARK) :])
        raise UnreadableJSON(_json_problem(data, str(error), document=True)) from None


def _problem_of(data: bytes | str, error: ValidationError, document: bool, protected: Collection[str]) -> Exception:
    problems = error.errors(include_url=False)
    if len(problems) == 1 and problems[0]["type"] == "json_invalid":
        return UnreadableJSON(_json_problem(data, problems[0]["msg"], document))
    if len(problems) == 1 and problems[0]["type"] == "model_type" and not problems[0]["loc"]:
        return UnreadableJSON(f"expected a JSON object, got {json_kind(problems[0].get('input'))}")
    return invalid_input(ProfilerResult, data, error, "profiler result", protected)


def _json_problem(data: bytes | str, message: str, document: bool) -> str:
    """Why bytes are not JSON, in the same words for a line and a document; a position names the
    column in a line, and the line and column in a document."""
    blank = data.strip(_JSON_WHITESPACE) if isinstance(data, bytes) else data.strip(" \t\r\n")
    if not blank:
        return "the document is empty" if document else "the line is blank"
    if isinstance(data, bytes):
        try:
            data.decode()
        except UnicodeDecodeError as error:
            return f"not UTF-8: byte 0x{data[error.start]:02x} at {_where(data, error.start, document)}"
    reason = message.removeprefix("Invalid JSON: ")
    found = _POSITION.search(reason)
    if found is not None and not document:
        reason = f"{reason[: found.start()]} at column {found[2]}"
    return f"invalid JSON: {reason}"


def _where(data: bytes, offset: int, document: bool) -> str:
    column = offset - data.rfind(b"\n", 0, offset)  # 1-based: rfind is -1 on the first line
    if not document:
        return f"column {column}"
    line = data.count(b"\n", 0, offset) + 1
    return f"line {line} column {column}"


def json_kind(value: Any) -> str:
    """What kind of JSON value a parsed value is, in words: ``an array``, ``a string``, ``null``."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def _session_of(line: bytes | str) -> str | None:
    """The session id an invalid line names, if it is one an error record may quote: text within the
    id limit. Parsed again by pydantic's bounded parser, on the error path only."""
    try:
        value = from_json(line)
    except ValueError:
        return None
    session = value.get("session_id") if isinstance(value, dict) else None
    return session if isinstance(session, str) and 0 < len(session) <= MAX_ID else None
