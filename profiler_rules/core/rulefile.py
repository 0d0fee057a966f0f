"""One rule file's validated rules (:class:`Rules`), and the error a rules model raises at a place in it
(:class:`RuleViolation`).

Its own module, below both the engines and the access rules: each builds on it, and neither on the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import BaseModel

from .models import Explanation
from .yamlfile import JsonPath, format_path

SettingsT = TypeVar("SettingsT", bound=BaseModel)
_MAX_CITED = 4096


class RuleViolation(ValueError):
    """Raise inside a rules model's validator to report a problem at a precise place in the rule file.

    ``path`` is relative to the model that raises, for example
    ``RuleViolation("the weights sum to 0.9, not 1", "weights")``; the content author then sees the
    problem at the line of ``weights``, not at the top of the file.
    """

    def __init__(self, message: str, *path: str | int) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True, slots=True)
class Rules(Generic[SettingsT]):
    """An engine's validated rules: its typed ``settings`` and where each setting is written.

    ``explain`` turns a decision into an :class:`Explanation` citing the rule's file and line, which
    is how every engine fills a report's ``explain``.

    The rules an engine is handed are read-only, deeply (see :mod:`profiler_rules.core.readonly`):
    every dispatch under a rule set shares them, so changing ``settings`` or ``lines`` raises
    ``TypeError("rules are read-only: ...")``, which becomes that engine's error.
    """

    settings: SettingsT
    file: str
    lines: Mapping[str, int]
    # Rule paths already resolved to (text, line): engines cite the same few rules for every result.
    _cited: dict[str | JsonPath, tuple[str, int | None]] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, rule: str) -> int | None:
        """The line where ``rule`` (a path such as ``aptitude.gap_cutoff``) or its nearest parent is written."""
        while rule:
            line = self.lines.get(rule)
            if line is not None:
                return line
            cut = max(rule.rfind("."), rule.rfind("["))
            rule = rule[:cut] if cut > 0 else ""
        return None

    def explain(self, rule: str | JsonPath, message: str) -> Explanation:
        """An explanation of a decision made by ``rule``, citing its file and line.

        ``rule`` is a path into the rule file, as text (``"aptitude.gap_cutoff"``) or as parts
        (``("categories", name, "skill_codes")``, for names that are not identifiers).
        """
        cited = self._cited.get(rule)
        if cited is None:
            text = rule if isinstance(rule, str) else format_path(rule)
            # A benign race: two threads may resolve the same path; both store the same answer.
            cited = (text, self.line_of(text))
            if len(self._cited) < _MAX_CITED:  # bounded, should an engine cite paths built from input
                self._cited[rule] = cited
        return Explanation(cited[0], self.file, cited[1], message)
