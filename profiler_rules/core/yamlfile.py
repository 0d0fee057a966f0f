"""Strict YAML for rule files: one loader for the runtime, ``check`` and pre-commit.

The document is built from libyaml's event stream rather than from its composed nodes: the C composer
expands aliases before we could see them (a 300-byte alias bomb becomes gigabytes), and PyYAML keeps the
last of two duplicate keys without a word. Walking the events ourselves lets us refuse anchors, aliases,
tags, duplicate keys and deep nesting before any of it is built, and keep a position for every node.

Plain scalars are resolved with the YAML 1.2 core schema, not PyYAML's YAML 1.1 one, so ``yes``, ``on``,
``2026-01-01`` and ``1:30`` stay strings and fail a schema that wants a number or a boolean.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 64
# Past this many problems in one file the rest is noise, and a 1 MiB file of a quarter of a million
# aliases (a wide alias bomb) took 5 s and 150 MB to report in full: stop reading instead.
MAX_PROBLEMS = 100

JsonPath = tuple[str | int, ...]

_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")


# A message shows at most this much of a value written in a rule file: the author needs the position and
# the problem, and at most the offending value, shortened; a file's other content is never quoted.
SHOWN_CHARACTERS = 60


def shown(value: Any) -> str:
    """A value of a rule file as one message shows it: its ``repr`` (control characters escaped),
    shortened past :data:`SHOWN_CHARACTERS`."""
    text = repr(value)
    if len(text) <= SHOWN_CHARACTERS:
        return text
    if isinstance(value, str):
        return f"{text[:SHOWN_CHARACTERS]}…' ({len(value):,} characters)"
    if isinstance(value, int):
        return f"{text[:SHOWN_CHARACTERS]}… ({len(text):,} digits)"
    return f"{text[:SHOWN_CHARACTERS]}…"


def shortened(text: str) -> str:
    """A name taken from a rule file (an anchor, a tag) without quotes, escaped and shortened."""
    escaped = repr(text)[1:-1]
    return escaped if len(escaped) <= SHOWN_CHARACTERS else f"{escaped[:SHOWN_CHARACTERS]}…"


def format_path(path: JsonPath) -> str:
    """Render a JSON path the way problems show it: ``categories.web.skill_codes[2]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


@dataclass(slots=True)
class YamlDocument:
    """A loaded rule file: plain data plus the 1-based ``(line, column)`` of every node.

    ``value_positions`` maps a JSON path to where its value starts, ``key_positions`` to where its key is
    written. ``dropped`` holds the paths whose value was refused (an alias, a tagged value), so that the
    schema does not report them a second time.
    """

    data: Any
    value_positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    dropped: set[JsonPath] = field(default_factory=set)

    def position(self, path: JsonPath, *, at_key: bool = False) -> tuple[int, int]:
        """The position of ``path``, or of its nearest ancestor that has one."""
        positions = self.key_positions if at_key else self.value_positions
        for end in range(len(path), -1, -1):
            found = positions.get(path[:end]) or self.value_positions.get(path[:end])
            if found:
                return found
        return (1, 1)

    def is_dropped(self, path: JsonPath) -> bool:
        return any(path[: len(gone)] == gone for gone in self.dropped)


def resolve_plain(text: str) -> Any:
    """Resolve an unquoted scalar by the YAML 1.2 core schema; anything else stays a string.

    ``.inf`` and ``.nan`` are deliberately left as strings: no rule wants them, nor ``1e999`` (which
    overflows to infinity) nor an integer of more digits than Python converts; the schema then says the
    value is not a number, instead of the loader failing or infinity reaching an engine.
    """
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.fullmatch(text):
        try:
            return int(text)
        except ValueError:  # over sys.get_int_max_str_digits() digits
            return text
    if _FLOAT.fullmatch(text):
        number = float(text)
        return number if math.isfinite(number) else text
    return text


class _Fatal(Exception):
    """Stops reading a file whose structure cannot be trusted any further."""


@dataclass(slots=True)
class _Frame:
    container: dict[str, Any] | list[Any]
    path: JsonPath
    keep: bool  # False inside the value of a duplicate key: built, then thrown away
    key: str | None = None
    key_position: tuple[int, int] | None = None
    key_is_duplicate: bool = False


class _Builder:
    """Turns libyaml events into data and positions, collecting every problem it can."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.document = YamlDocument(data=None)
        self.stack: list[_Frame] = []
        self.documents = 0
        self.last_index = 0  # where the last event read ended, in characters

    def problem(self, position: tuple[int, int], message: str, path: JsonPath = ()) -> None:
        line, column = position
        self.problems.append(Problem(self.file, line, column, message, format_path(path)))

    def build(self, events: Iterator[yaml.Event]) -> None:
        for event in events:
            self.last_index = event.end_mark.index
            position = (event.start_mark.line + 1, event.start_mark.column + 1)
            if len(self.problems) >= MAX_PROBLEMS:
                self.problem(position, f"stopped reading after {MAX_PROBLEMS} problems; fix these and check again")
                raise _Fatal
            if isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    self.problem(position, "a rule file holds one YAML document; remove the second '---'")
                    raise _Fatal
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                self.start_collection(event, position)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                self.end_collection()
            elif isinstance(event, yaml.ScalarEvent):
                self.scalar(event, position)
            elif isinstance(event, yaml.AliasEvent):
                self.alias(event, position)

    def next_path(self) -> JsonPath:
        """The path the next node will have."""
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            return (*frame.path, len(frame.container))
        return frame.path if frame.key is None else (*frame.path, frame.key)

    def check_node(self, event: yaml.NodeEvent, position: tuple[int, int]) -> None:
        if event.anchor is not None:
            message = f"anchors (&{shortened(event.anchor)}) are not allowed; write the value out"
            self.problem(position, message, self.next_path())
        if getattr(event, "tag", None) is not None and not _implicit(event):
            message = f"tags ({shortened(event.tag)}) are not allowed; write the plain value"
            self.problem(position, message, self.next_path())
            if not self.expecting_key():
                # The tag is the news: "a list is not of type 'integer'" about its value would distract.
                self.document.dropped.add(self.next_path())

    def place(self, value: Any, position: tuple[int, int]) -> tuple[JsonPath, bool]:
        """Attach a finished value to its parent; return its path and whether it is kept."""
        if not self.stack:
            self.document.data = value
            self.document.value_positions[()] = position
            return (), True
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            path = (*frame.path, len(frame.container))
            frame.container.append(value)
            keep = frame.keep
        else:
            assert frame.key is not None
            path = (*frame.path, frame.key)
            keep = frame.keep and not frame.key_is_duplicate
            if keep:
                frame.container[frame.key] = value
                assert frame.key_position is not None
                self.document.key_positions[path] = frame.key_position
            frame.key = None
        if keep:
            self.document.value_positions[path] = position
        return path, keep

    def expecting_key(self) -> bool:
        return bool(self.stack) and isinstance(self.stack[-1].container, dict) and self.stack[-1].key is None

    def start_collection(self, event: yaml.NodeEvent, position: tuple[int, int]) -> None:
        if self.expecting_key():
            self.problem(position, "a key must be a plain name, not a mapping or a list")
            raise _Fatal
        self.check_node(event, position)
        if len(self.stack) >= MAX_DEPTH:
            self.problem(position, f"nesting deeper than {MAX_DEPTH} levels is not allowed", self.next_path())
            raise _Fatal
        container: dict[str, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
        path, keep = self.place(container, position)
        self.stack.append(_Frame(container, path, keep))

    def end_collection(self) -> None:
        self.stack.pop()

    def scalar(self, event: yaml.ScalarEvent, position: tuple[int, int]) -> None:
        self.check_node(event, position)
        if self.expecting_key():
            self.key(event.value, position)
            return
        value = resolve_plain(event.value) if event.implicit[0] else event.value
        self.place(value, position)

    def key(self, name: str, position: tuple[int, int]) -> None:
        frame = self.stack[-1]
        frame.key = name
        frame.key_position = position
        frame.key_is_duplicate = name in frame.container
        if frame.key_is_duplicate and frame.keep:
            first_line = self.document.key_positions[(*frame.path, name)][0]
            self.problem(
                position,
                f"duplicate key {shown(name)} (first defined on line {first_line}); remove one of them",
                (*frame.path, name),
            )

    def alias(self, event: yaml.AliasEvent, position: tuple[int, int]) -> None:
        if self.expecting_key():
            self.problem(position, "a key must be a plain name, not an alias")
            raise _Fatal
        message = f"aliases (*{shortened(event.anchor)}) are not allowed; write the value out"
        self.problem(position, message, self.next_path())
        path, keep = self.place(None, position)
        if keep:
            self.document.dropped.add(path)


def _implicit(event: yaml.NodeEvent) -> bool:
    implicit = getattr(event, "implicit", True)
    return any(implicit) if isinstance(implicit, tuple) else bool(implicit)


def _too_deep(text: str, start: int, depth: int) -> tuple[int, int] | None:
    """Where flow brackets opened from ``start`` on first nest deeper than the limit, as (line, column)."""
    for index in range(start, len(text)):
        character = text[index]
        if character in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line_start = text.rfind("\n", 0, index) + 1
                return text.count("\n", 0, index) + 1, index - line_start + 1
        elif character in "]}":
            depth -= 1
    return None


def parse_yaml(text: str, file: str) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse rule-file text strictly. Returns the document (``None`` if unreadable) and its problems."""
    builder = _Builder(file)
    try:
        builder.build(yaml.parse(text, Loader=yaml.CSafeLoader))
    except _Fatal:
        return None, builder.problems
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        if mark is not None and text[mark.index : mark.index + 1] == "\t":
            builder.problem(position, "tabs are not allowed in YAML indentation; use spaces")
        elif "maximum nesting depth" in str(error.problem):
            # libyaml 0.2.5+ has its own limit, which its scanner meets while reading ahead through a
            # flow collection, before we see the events: place the problem where ours is passed.
            position = _too_deep(text, builder.last_index, len(builder.stack)) or position
            builder.problem(position, f"nesting deeper than {MAX_DEPTH} levels is not allowed")
        else:
            builder.problem(position, _syntax_message(error, text))
        return None, builder.problems
    except yaml.reader.ReaderError as error:
        builder.problem(_reader_position(text, error.position), _reader_message(error))
        return None, builder.problems
    except yaml.YAMLError as error:
        # Not raised by libyaml today; its text is bounded all the same, as one line.
        builder.problems.append(Problem(file, None, None, f"invalid YAML: {one_line(str(error))}"))
        return None, builder.problems
    return builder.document, builder.problems


# libyaml's words for a misplaced line, and what to do about each. Its messages are fixed texts (they
# quote nothing of the file); the hint names the line, never its content.
_INDENTATION = ("mapping values are not allowed", "did not find expected key", "expected <block end>")
_UNCLOSED = {
    "did not find expected ',' or ']'": "a [ list ] opened on line {opened} is not closed, or two of its items lack a ','",
    "did not find expected ',' or '}'": "a { mapping } opened on line {opened} is not closed, or two of its items lack a ','",
}


def _syntax_message(error: yaml.MarkedYAMLError, text: str) -> str:
    """libyaml's complaint, with what the author can do about it."""
    problem = one_line(str(error.problem or error.context or "the text is not YAML"))
    line = error.problem_mark.line + 1 if error.problem_mark else None
    opened = error.context_mark.line + 1 if error.context_mark else line
    if line is not None and (
        any(words in problem for words in _INDENTATION) or problem == "did not find expected '-' indicator"
    ):
        hint = f"check the indentation of line {line}{_indentation_against_above(text, line)}"
        if "mapping values are not allowed" in problem:
            hint += ", and put a value holding ': ' in quotes"
        return f"invalid YAML: {problem}; {hint}"
    if problem in _UNCLOSED:
        return f"invalid YAML: {_UNCLOSED[problem].format(opened=opened)}"
    if problem == "found unexpected end of stream" and "quoted scalar" in str(error.context):
        return f"invalid YAML: the quoted value opened on line {opened} is not closed; add its closing quote"
    if problem == "found character that cannot start any token" and error.problem_mark is not None:
        character = text[error.problem_mark.index : error.problem_mark.index + 1]
        return f"invalid YAML: a value can not start with {character!r}; put the value in quotes"
    if problem in ("found unknown escape character", "found invalid Unicode character escape code"):
        return f"invalid YAML: {problem}; in double quotes a \\ starts an escape: write \\\\, or use single quotes"
    return f"invalid YAML: {problem}"


def _indentation_against_above(text: str, line: int) -> str:
    """`` (2 spaces; line 31 above has 3)`` when a line is indented unlike the last line of content
    above it, the usual slip; libyaml's own marks point at the block's start, often the file's top."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return ""
    here = _indent(lines[line - 1])
    for number in range(line - 1, 0, -1):
        above = lines[number - 1]
        if above.strip() and not above.lstrip().startswith("#"):
            width = _indent(above)
            if width == here:
                return ""
            return f" ({here} space{'s' if here != 1 else ''}; line {number} above has {width})"
    return ""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def one_line(text: str, limit: int = 200) -> str:
    """A library's message as one line of at most ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else f"{line[:limit]}…"


def _reader_position(text: str, offset: int) -> tuple[int, int]:
    """Line and column of a reader error: libyaml gives a byte offset into the UTF-8 text, not a mark."""
    before = text.encode("utf-8")[:offset].decode("utf-8", errors="replace")
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def _reader_message(error: yaml.reader.ReaderError) -> str:
    # libyaml's own words name "<unicode string>" and a byte offset, which mean nothing to an author.
    if isinstance(error.character, int):
        kind = "control character" if error.character < 0x20 or 0x7F <= error.character < 0xA0 else "character"
        return f"the {kind} U+{error.character:04X} is not allowed in YAML; is this a binary file?"
    return f"invalid YAML: {error.reason}"


class UnreadableFile(Exception):
    """A rules-side file refused before or while reading it; the message says why, for its author."""


def read_bounded(
    path: Path, *, inside: Path | None = None, what: str = "rule files", limit: int = MAX_FILE_BYTES
) -> bytes:
    """The bytes of a file of a rules directory (a rule file, a rule test, a test's result file), read
    so that no such file can leak, hang or exhaust anything.

    ``inside`` is the resolved rules directory: a file that resolves outside it (a link to
    ``/etc/secrets``) is refused unread; links that stay inside are followed. Only a regular file is read
    (a FIFO would block, ``/dev/zero`` never ends), and at most ``limit`` bytes of it. The type is checked
    before opening, and again on the open file, which is opened non-blocking so that a file replaced by
    a FIFO in between can not hang the reader either.

    :raises UnreadableFile: saying why, in words for the author.
    """
    target = path
    if inside is not None:
        target = Path(os.path.realpath(path))
        if not target.is_relative_to(inside):
            raise UnreadableFile(f"the file resolves outside the rules directory; {what} must live inside it")
    try:
        _check_regular(os.stat(target), what, limit)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        if inside is not None:
            flags |= getattr(os, "O_NOFOLLOW", 0)  # the resolved name must not turn into a link meanwhile
        with os.fdopen(os.open(target, flags), "rb") as stream:
            _check_regular(os.fstat(stream.fileno()), what, limit)
            raw = stream.read(limit + 1)
    except OSError as error:
        raise UnreadableFile(f"cannot read the file: {error.strerror or error}") from None
    if len(raw) > limit:  # it grew since it was looked at
        raise UnreadableFile(_too_large(what, limit))
    return raw


def _check_regular(status: os.stat_result, what: str, limit: int) -> None:
    mode = status.st_mode
    if stat.S_ISDIR(mode):
        raise UnreadableFile(f"this is a directory, not a file; {what} are plain files")
    if not stat.S_ISREG(mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise UnreadableFile(f"this is {kind}, not a regular file; {what} are plain files")
    if status.st_size > limit:
        raise UnreadableFile(_too_large(what, limit))


def _too_large(what: str, limit: int) -> str:
    size = f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit:,} bytes"
    return f"the file is larger than {size}; {what} are small"


def read_yaml_file(
    path: Path, file: str, *, inside: Path | None = None, what: str = "rule files"
) -> tuple[YamlDocument | None, list[Problem], bytes]:
    """Read and parse one rule file (see :func:`read_bounded`), refusing bytes that are not UTF-8.

    Returns the document, its problems and the raw bytes (for the rule set's digest).
    """
    try:
        raw = read_bounded(path, inside=inside, what=what)
    except UnreadableFile as error:
        return None, [Problem(file, None, None, str(error))], b""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        message = f"the file is not UTF-8 text (byte 0x{raw[error.start]:02x})"
        return None, [Problem(file, line, column, message)], raw
    document, problems = parse_yaml(text.removeprefix("\ufeff"), file)
    return document, problems, raw
