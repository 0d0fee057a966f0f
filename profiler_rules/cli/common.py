"""What every command shares: errors for people, exit codes, reading inputs, building the dispatcher,
and interruptions (Ctrl-C, SIGTERM) that end a command with one line rather than a traceback."""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.resources import files
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

if TYPE_CHECKING:
    from ..core.dispatcher import Catalogs, Dispatcher
    from ..core.errors import InvalidInputError, RulesDirectoryError
    from ..core.models import Viewer
    from ..core.records import DecisionRecorder

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
MAX_OPTION_FILE_BYTES = 64 << 20
"""The largest --catalogs, --viewer or --roster file read: 64 MiB (a roster of 100,000 learners takes 15)."""
STANDARD_INPUT = "standard input"


class CommandError(Exception):
    """A problem the user can fix, printed as one line and mapped to an exit code.

    Text from the input inside the message is shown with its control characters escaped (see
    :func:`visible`), so a message can not send commands to the user's terminal.
    """

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(visible(message))
        self.code = code


# Lone surrogates too: UTF-8 can not write them, so printing one would end the command.
_UNSEEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def visible(text: str, unseen: re.Pattern[str] = _UNSEEN) -> str:
    """Text from input as it is safe to print: control characters (ESC begins a terminal command, CR
    rewrites the line), line breaks, bidirectional overrides and lone surrogates are written as escapes
    such as ``\\x1b`` or ``\\u202e``. ``unseen`` names other characters to escape (those XML can not
    hold, say)."""
    return unseen.sub(_escape, text)


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# --- interruptions -----------------------------------------------------------------------------------


class Interrupted(KeyboardInterrupt):
    """SIGINT (Ctrl-C) or SIGTERM: the command stops and exits with 128 + the signal's number.

    A KeyboardInterrupt, so that no ``except Exception`` swallows it. ``detail`` says what the command
    had done and how to go on, for the one line printed.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.detail: str | None = None

    @property
    def code(self) -> int:
        return 128 + self.signum


class _Interruptions:
    """Turns SIGINT and SIGTERM into :class:`Interrupted`, except inside :func:`uninterrupted` blocks,
    where the first signal waits for the block's end (a second one does not: a write stuck on a pipe
    nobody reads must not keep the user in). Once one is raised, later ones are let go, so the cleanup
    on the way out (flushing records, ending workers) runs whole."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.depth = 0
        self.pending: int | None = None
        self.raised = False

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.raised:
            return
        if self.depth and self.pending is None:
            self.pending = signum
            return
        self.stop(self.pending or signum)

    def stop(self, signum: int) -> None:
        self.raised = True
        raise Interrupted(signum)

    def __enter__(self) -> None:
        self.depth += 1

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.depth -= 1
        if kind is None and not self.depth and self.pending is not None and not self.raised:
            self.stop(self.pending)


_interruptions = _Interruptions()
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interruptions_caught() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM raise :class:`Interrupted` (in the main thread; a
    command run from another thread keeps the signal handling it has)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {
        number: signal.signal(number, _interruptions.on_signal) for number in _SIGNALS
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _interruptions.reset()


def uninterrupted() -> _Interruptions:
    """A block that an interruption waits for, such as writing a record: it is never left half written."""
    return _interruptions


def build_dispatcher(rules: str | None, strict: bool = False, recorder: DecisionRecorder | None = None) -> Dispatcher:
    """Build a dispatcher (recording with ``recorder``, if given), turning rule problems into linter
    lines on stderr and exit code 2, and, with ``strict``, a plugin that failed to load into exit code 1."""
    from ..core.dispatcher import Dispatcher
    from ..core.errors import RulesDirectoryError, RulesError

    try:
        dispatcher = Dispatcher.from_rules(rules, recorder=recorder)
    except RulesDirectoryError as error:
        raise CommandError(unusable_directory(error)) from None
    except RulesError as error:
        print_problems(error.problems, sys.stderr)
        raise CommandError(f"the rules have {len(error.problems)} problem(s); run 'profiler-rules check'") from None
    warn(dispatcher.plugin_problems)
    fail_if_strict(strict, dispatcher.plugin_problems)
    return dispatcher


def unusable_directory(error: RulesDirectoryError) -> str:
    """A rules directory that can not be used, in one line: ``my-rules: no such rules directory``."""
    problem = error.problems[0]
    return f"{problem.file}: {problem.message}"


def fail_if_strict(strict: bool, problems: Sequence[str]) -> None:
    """Under ``--strict``, a plugin fault is a failure (exit 1), for CI."""
    if strict and problems:
        raise CommandError(f"--strict: {len(problems)} plugin fault(s)", EXIT_PROBLEMS)


def other_rules(dispatcher: Dispatcher, rules: str | None) -> Dispatcher:
    """The same plugins under another rules directory (for diff's base)."""
    from ..core.errors import RulesDirectoryError, RulesError

    try:
        return dispatcher.with_rules(rules)
    except RulesDirectoryError as error:
        raise CommandError(unusable_directory(error)) from None
    except RulesError as error:
        print_problems(error.problems, sys.stderr)
        raise CommandError(f"the rules of {rules} have {len(error.problems)} problem(s)") from None


def print_problems(problems: Sequence[Any], stream: TextIO) -> None:
    for problem in problems:
        print(problem.format(), file=stream)


def warn(messages: Sequence[str]) -> None:
    for message in messages:
        print(f"profiler-rules: warning: {visible(message)}", file=sys.stderr)


def example_paths() -> dict[str, Any]:
    """The bundled examples: a result, catalogs, a viewer (an admin), a cohort (JSONL) and its roster."""
    examples = files("profiler_rules").joinpath("examples")
    return {
        "input": examples.joinpath("result.json"),
        "catalogs": examples.joinpath("catalogs.json"),
        "viewer": examples.joinpath("viewer.json"),
        "cohort": examples.joinpath("cohort.jsonl"),
        "roster": examples.joinpath("roster.json"),
    }


def input_source(given: str | None, example: bool, example_key: str, command: str) -> Any:
    """INPUT or the bundled example, never both and never neither."""
    if given and example:
        raise CommandError("give either INPUT or --example, not both")
    source = given or (example_paths()[example_key] if example else None)
    if source is None:
        raise CommandError(f"{command} needs an INPUT, or --example")
    return source


def source_name(source: Any) -> str:
    """How messages name an input: its path, or standard input for ``-``."""
    return STANDARD_INPUT if source == "-" else str(source)


def open_input(source: Any) -> BinaryIO:
    """INPUT (or standard input for ``-``) as bytes: the readers of :mod:`..jsonl` parse UTF-8
    themselves, so a byte that is not UTF-8 is a problem they name rather than the end of the run."""
    if source == "-":
        if sys.stdin is None:  # the command was started with it closed (<&-)
            raise CommandError(f"cannot read {STANDARD_INPUT}: it is closed")
        return sys.stdin.buffer
    try:
        return open(str(source), "rb")  # noqa: SIM115 - the caller closes it
    except OSError as error:
        raise CommandError(f"cannot read {source}: {error.strerror or error}") from None


def read_limited(source: Any, limit: int, name: str) -> bytes:
    """All of INPUT (or of a file an option names), refused once it passes ``limit`` bytes: reading
    stops there, whatever the file is (a 40 GB file, a FIFO that never ends, /dev/zero)."""
    with open_input(source) as stream:
        try:
            data = stream.read(limit + 1)
        except OSError as error:  # a directory, say
            raise CommandError(f"cannot read {name}: {error.strerror or error}") from None
    if len(data) > limit:
        raise CommandError(f"{name}: larger than {limit >> 20} MiB, the limit of what is read")
    return data


def read_json_file(path: Any, option: str) -> Any:
    """The JSON of the file an option names (``--catalogs``, ``--roster``), or None without one."""
    if path is None:
        return None
    from ..core.jsonl import UnreadableJSON, json_of

    name = f"{option} {path}"
    try:
        return json_of(read_limited(path, MAX_OPTION_FILE_BYTES, name))
    except UnreadableJSON as error:
        raise CommandError(f"{name}: {error.problem}") from None


def read_json_list(path: Any, option: str) -> list[Any] | None:
    """The JSON array of the file an option names (``--roster``), or None without one."""
    value = read_json_file(path, option)
    if value is not None and not isinstance(value, list):
        from ..core.jsonl import json_kind

        raise CommandError(f"{option} {path}: expected a JSON array, got {json_kind(value)}")
    return value


def results_in(stream: BinaryIO, dispatcher: Dispatcher) -> Iterator[Any]:
    """The results of a JSON Lines stream, read one line at a time as they are asked for; a line that
    gives no result comes as an ``InvalidLine`` (``line 7: the line is blank``), which aggregating
    (:meth:`Dispatcher.aggregate`) counts and names."""
    from ..core.jsonl import read_lines, read_results

    return read_results(read_lines(stream), dispatcher.ruleset.access.protected)


def input_error(error: InvalidInputError, origin: str | None = None, code: int = EXIT_USAGE) -> CommandError:
    """An invalid input as one line of bounded length (the error lists at most 20 fields), naming where
    it came from."""
    message = str(error)
    return CommandError(f"{origin}: {message}" if origin else message, code)


def load_catalogs(dispatcher: Dispatcher, path: Any) -> Catalogs:
    """``--catalogs`` (or the example's), validated once; a catalog no loaded engine reads is a warning
    line, printed here once for the whole run."""
    from ..core.errors import InvalidInputError

    try:
        catalogs = dispatcher.prepare_catalogs(read_json_file(path, "--catalogs"))
    except InvalidInputError as error:
        raise input_error(error, f"--catalogs {path}") from None
    warn(catalogs.warnings)
    return catalogs


def load_viewer(option: str | None, example: Any = None) -> Viewer | None:
    """``--viewer``: JSON text, or a JSON file; else the example's viewer, if any."""
    from ..core.errors import InvalidInputError
    from ..core.jsonl import UnreadableJSON, json_of
    from ..core.models import Viewer, validate_input

    if option is None:
        origin, raw = "--viewer", read_json_file(example, "--viewer")
    elif option.lstrip().startswith(("{", "[")):
        origin = "--viewer"
        try:
            # Text from the command line: bytes that are not UTF-8 arrive as surrogate escapes.
            raw = json_of(option.encode(errors="surrogateescape"))
        except UnreadableJSON as error:
            raise CommandError(f"--viewer: {error.problem}") from None
    else:
        origin, raw = f"--viewer {option}", read_json_file(option, "--viewer")
    if raw is None:
        return None
    try:
        return validate_input(Viewer, raw, "viewer")
    except InvalidInputError as error:
        raise input_error(error, origin) from None


def print_json(value: Any) -> None:
    """JSON for standard output: a lone surrogate (which UTF-8 can not encode) is written as its JSON
    escape, ``\\ud800``, and reads back as the same string."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    print(text.encode("utf-8", "backslashreplace").decode("utf-8"))
