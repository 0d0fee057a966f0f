"""The public surface an engine plugin builds on: ``Engine``, ``Context`` and ``Outcome`` (``Rules`` is in
:mod:`.rulefile`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel

from .models import Explanation, ProfilerResult, Viewer
from .rulefile import Rules

if TYPE_CHECKING:
    from .access import AccessDecision, AccessPolicy, Subject


@dataclass(frozen=True, slots=True)
class Context:
    """What a dispatch brings besides the result: the viewer (or ``None``), the catalogs, the rule set
    the dispatch runs under, and whether the host reads explanations. Like the rules, the catalogs,
    their items and the access policy are read-only: prepared catalogs are shared by every dispatch
    they are passed to."""

    viewer: Viewer | None
    catalogs: Mapping[str, tuple[Any, ...]]
    rules_by_engine: Mapping[str, Rules[Any]]
    """Every engine's rules in the rule set, by engine name; an engine reads another's with :meth:`rules_of`."""
    access: AccessPolicy
    explain: bool = True
    """Whether the host reads the explanations of ok answers. When false, an engine builds none and
    formats no message for them (its decisions stay the same); a skipped or denied answer still gives
    its one reason, and warnings stay. An engine that ignores this still works: the core drops the
    explanations of its ok answers."""

    def catalog(self, name: str) -> tuple[Any, ...] | None:
        """The validated items of catalog ``name``, or ``None`` when the host passed none."""
        return self.catalogs.get(name)

    def rules_of(self, engine: str) -> Rules[Any]:
        """Another engine's rules, for an engine that declares it in ``uses_rules_of``."""
        return self.rules_by_engine[engine]

    def check_access(self, view: str, subject: Subject) -> AccessDecision:
        """Whether this dispatch's viewer may see ``view`` of ``subject``, by the access rules. A denial
        always gives its reason; an allowed view gives its explanations only when :attr:`explain` is true."""
        return self.access.check(view, self.viewer, subject, explain=self.explain)


@dataclass(slots=True)  # not frozen: made for every engine and result, and read once, by the core
class Outcome:
    """What an engine's ``evaluate`` returns. Build it with ``Outcome(output, explain, warnings)``,
    or with :meth:`skipped` and :meth:`denied` when the engine declines to answer."""

    output: BaseModel | None
    explain: Sequence[Explanation] = ()
    warnings: Sequence[str] = ()
    status: Literal["ok", "skipped", "denied"] = "ok"

    @classmethod
    def skipped(cls, reason: Explanation) -> Outcome:
        """No answer for this result, for the reason given (it becomes the report's explanation)."""
        return cls(None, (reason,), status="skipped")

    @classmethod
    def denied(cls, reason: Explanation) -> Outcome:
        """The viewer may not see this engine's answer; no output, only the reason."""
        return cls(None, (reason,), status="denied")


class Engine:
    """Base class of every engine, built-in or third-party.

    A subclass sets the class attributes below and implements :meth:`evaluate`. Engines hold no state
    between results: everything they decide comes from the result, the rules and the context.

    The core reads each class attribute once, when the engine is registered, and refuses the engine
    (reported against its plugin) when one raises or has the wrong type. Whatever ``evaluate``,
    ``aggregate`` or ``summarize`` raise, ``SystemExit`` included, is this engine's error alone; only
    ``KeyboardInterrupt`` and ``GeneratorExit`` pass through.
    """

    name: ClassVar[str]
    """The engine's name: a lowercase identifier, the key of its report and the stem of its rule file."""

    settings_model: ClassVar[type[BaseModel]]
    """The pydantic model of the rule file, built into ``Rules.settings``: the rule shape, written once.

    The rule file's JSON Schema is generated from it (see :mod:`profiler_rules.core.ruleschema`): give
    the model a docstring and its fields ``Field(description=..., examples=...)``, which editors show,
    and ``model_config = ConfigDict(title="Badges rules", extra="forbid")``."""

    default_rules_file: ClassVar[Traversable | Path]
    """The rule file shipped with the engine, used when the host names no rules directory."""

    catalogs: ClassVar[Mapping[str, type[BaseModel]]] = {}
    """The catalogs the engine reads, by name, with the model of one catalog item."""

    requires_complete: ClassVar[bool] = True
    """When true, the core answers "skipped" for results that are not finished or locked."""

    access_views: ClassVar[tuple[str, ...]] = ()
    """The views of ``access.yaml`` this engine checks with ``context.check_access``."""

    report_order: ClassVar[int] = 1000
    """Where this engine's answer sits among a report's engines: lower first. Engines of equal order keep
    the order their plugins are found in (built-in plugins by name, then entry points by name, then
    plugins passed in). The built-in engines use 10 to 70; the default puts any new engine, built-in or
    not, after them, so adding an engine never moves the answers of the others in a report."""

    uses_rules_of: ClassVar[tuple[str, ...]] = ()
    """Other engines whose rules this one reads through ``context.rules_of``; without them it is not loaded."""

    aggregate_query: ClassVar[type[BaseModel] | None] = None
    """For an engine that also answers over many results: the model of its query parameters."""

    def evaluate(self, result: ProfilerResult, rules: Rules[Any], context: Context) -> Outcome:
        """Decide for one result. Runs for every result: no file access, no validation, no setup here."""
        raise NotImplementedError

    def summarize(self, output: Any) -> str | None:
        """The decision in a few words, for ``profiler-rules explain`` ("max difficulty 2 (Intermediate)")."""
        return None

    def aggregate(self, results: Iterable[ProfilerResult], rules: Rules[Any], context: Context, query: Any) -> Outcome:
        """Answer over many results, read once, for an engine with an ``aggregate_query``.

        ``results`` yields validated results; invalid ones are counted and reported by the core. Keep
        memory bounded by what the answer needs (per learner), never by the number of results.
        """
        raise NotImplementedError(f"engine '{self.name}' does not aggregate")
