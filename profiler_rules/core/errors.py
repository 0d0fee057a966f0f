"""Exceptions raised to host apps, and the linter-style problems of rule files."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a rule file, reported like a linter: ``file:line:col: error: message [path]``.

    ``line`` and ``column`` are 1-based and ``None`` when the problem has no position (a missing file).
    ``path`` is the JSON path of the offending value inside the file (``aptitude.gap_cutoff``), or ``""``.
    """

    file: str
    line: int | None
    column: int | None
    message: str
    path: str = ""
    level: str = "error"

    def format(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        suffix = f" [{self.path}]" if self.path else ""
        return f"{where}: {self.level}: {self.message}{suffix}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "level": self.level,
            "message": self.message,
            "path": self.path,
        }


class ProfilerRulesError(Exception):
    """Base class of every error profiler-rules raises on purpose."""


class RulesError(ProfilerRulesError):
    """The rule files have problems; ``problems`` lists every one of them, in file and line order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(problem.format() for problem in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the rule files:\n{lines}")


class RulesDirectoryError(RulesError):
    """The rules directory itself can not be used: it is missing, not a directory, or unreadable.

    A :class:`RulesError` with one problem, at the directory; the command line exits 2 for it (unusable
    input), where problems inside rule files are findings (exit 1 from ``check``).
    """


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field of a host's input: ``field`` is a dotted path such as ``scores.aptitude``."""

    field: str
    message: str

    def format(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


MAX_LISTED_FIELDS = 20
"""How many invalid fields an InvalidInputError's message lists; ``errors`` holds them all."""


class InvalidInputError(ProfilerRulesError, ValueError):
    """A host passed an invalid profiler result, viewer or catalog.

    ``what`` names the input ("profiler result", "viewer", "catalogs"); ``errors`` lists each invalid
    field with a message, so ``errors[0].field`` is, say, ``"scores.aptitude"``. The message lists the
    first 20 and counts the others: a catalog of thousands of bad items is one line, not megabytes.

    Messages come from :func:`profiler_rules.core.models.field_errors`, which never quotes the value of
    a protected field (the anti-cheat signals, and every detail the access rules name).
    """

    def __init__(self, what: str, errors: Sequence[FieldError]) -> None:
        self.what = what
        self.errors: tuple[FieldError, ...] = tuple(errors)
        details = "; ".join(error.format() for error in self.errors[:MAX_LISTED_FIELDS])
        more = len(self.errors) - MAX_LISTED_FIELDS
        if more > 0:
            details += f"; ... and {more:,} more invalid field(s)"
        super().__init__(f"invalid {what}: {details}")

    @property
    def fields(self) -> tuple[str, ...]:
        """The dotted names of the invalid fields, in the order they were found."""
        return tuple(error.field for error in self.errors)


class PluginLoadError(ProfilerRulesError):
    """Raised in strict mode when plugins failed to import or register; ``problems`` names each plugin."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("plugins failed to load:\n" + "\n".join(self.problems))
