"""What every command shares: errors for people, exit codes, reading inputs, building the dispatcher."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ..dispatcher import Catalogs, Dispatcher
    from ..models import Viewer

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXAMPLE_COHORT = "cohort-2026-spring"


class CommandError(Exception):
    """A problem the user can fix, printed as one line and mapped to an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def build_dispatcher(rules: str | None, strict: bool = False) -> Dispatcher:
    """Build a dispatcher, turning rule problems into linter lines on stderr and exit code 2, and,
    with ``strict``, a plugin that failed to load into exit code 1."""
    from ..dispatcher import Dispatcher
    from ..errors import RulesError

    try:
        dispatcher = Dispatcher.from_rules(rules)
    except RulesError as error:
        print_problems(error.problems, sys.stderr)
        raise CommandError(f"the rules have {len(error.problems)} problem(s); run 'profiler-rules check'") from None
    warn(dispatcher.plugin_problems)
    fail_if_strict(strict, dispatcher.plugin_problems)
    return dispatcher


def fail_if_strict(strict: bool, problems: Sequence[str]) -> None:
    """Under ``--strict``, a plugin fault is a failure (exit 1), for CI."""
    if strict and problems:
        raise CommandError(f"--strict: {len(problems)} plugin fault(s)", EXIT_PROBLEMS)


def other_rules(dispatcher: Dispatcher, rules: str | None) -> Dispatcher:
    """The same plugins under another rules directory (for diff's base)."""
    from ..errors import RulesError

    try:
        return dispatcher.with_rules(rules)
    except RulesError as error:
        print_problems(error.problems, sys.stderr)
        raise CommandError(f"the rules of {rules} have {len(error.problems)} problem(s)") from None


def print_problems(problems: Sequence[Any], stream: TextIO) -> None:
    for problem in problems:
        print(problem.format(), file=stream)


def warn(messages: Sequence[str]) -> None:
    for message in messages:
        print(f"profiler-rules: warning: {message}", file=sys.stderr)


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


def open_input(source: Any, *, binary: bool = False) -> Any:
    """INPUT (or standard input for ``-``), as text, or as bytes for JSON Lines that only pydantic reads:
    it parses UTF-8 itself, so a line that is not UTF-8 becomes that line's error rather than the end of
    the run."""
    if source == "-":
        return sys.stdin.buffer if binary else sys.stdin
    try:
        return open(str(source), "rb") if binary else open(str(source), encoding="utf-8")  # noqa: SIM115 - the caller closes it
    except OSError as error:
        raise CommandError(f"cannot read {source}: {error.strerror or error}") from None


def read_json_file(path: Any, what: str) -> Any:
    if path is None:
        return None
    try:
        text = Path(str(path)).read_text(encoding="utf-8")
    except OSError as error:
        raise CommandError(f"cannot read the {what} file {path}: {error.strerror or error}") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise CommandError(f"the {what} file {path} is not valid JSON: {error}") from None


def load_catalogs(dispatcher: Dispatcher, path: Any) -> Catalogs:
    """``--catalogs`` (or the example's), validated once; a catalog no loaded engine reads is a warning
    line, printed here once for the whole run."""
    from ..errors import InvalidInputError

    try:
        catalogs = dispatcher.prepare_catalogs(read_json_file(path, "catalogs"))
    except InvalidInputError as error:
        raise CommandError(str(error)) from None
    warn(catalogs.warnings)
    return catalogs


def load_viewer(option: str | None, example: Any = None) -> Viewer | None:
    """``--viewer``: JSON text, or a JSON file; else the example's viewer, if any."""
    from ..errors import InvalidInputError
    from ..models import Viewer, validate_input

    if option is None:
        raw = read_json_file(example, "viewer")
    elif option.lstrip().startswith("{"):
        try:
            raw = json.loads(option)
        except ValueError as error:
            raise CommandError(f"--viewer is not valid JSON: {error}") from None
    else:
        raw = read_json_file(option, "viewer")
    if raw is None:
        return None
    try:
        return validate_input(Viewer, raw, "viewer")
    except InvalidInputError as error:
        raise CommandError(str(error)) from None


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))
