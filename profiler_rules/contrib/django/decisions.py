"""A learner's result through the engines, and the answers kept as :class:`ProfilerDecision` rows.

Completion and re-evaluation decide without a viewer: the decisions are the learner's own, not what
someone may see of them. Without a viewer, an engine behind the access rules (mentorship, analytics)
answers ``denied`` — the access policy refuses a missing viewer before it reads any grant — and that
answer says nothing about the learner, so it is not kept. Every other answer is kept, one row per
(session, engine): ``ok``, ``skipped`` (the engine does not act on this result) and ``error`` (the engine
failed; the row holds its error).

Rows are written with one upsert per batch on ``(session_id, engine)``, the model's unique constraint,
so two writers of the same session (a completion and a re-evaluation) never collide: the later wins.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections, router

from profiler_rules import Dispatcher, DispatchReport

from .models import ProfilerDecision
from .sources import Learner

PORTFOLIO_ENGINE = "portfolio"
"""The engine whose answer is the learner's portfolio entry (see :mod:`.portfolio`)."""

DECIDED_FIELDS = ("status", "output", "warnings", "error")
"""What a decision is: a stored row whose four values equal a new answer's is unchanged."""

_WRITTEN_FIELDS = ["learner_id", *DECIDED_FIELDS, "ruleset_digest", "ruleset_version", "decided_at"]


@dataclass(frozen=True)
class Decided:
    """One learner's report, and the engines' answers to keep, as JSON (``status``, ``output``, ...)."""

    learner: Learner
    report: DispatchReport
    answers: Mapping[str, Mapping[str, Any]]

    def rows(self, decided_at: datetime, engines: Iterable[str] | None = None) -> list[ProfilerDecision]:
        """The answers (or those of ``engines``) as unsaved :class:`ProfilerDecision` rows."""
        names = self.answers if engines is None else engines
        stamp = self.report.ruleset
        return [
            ProfilerDecision(
                session_id=self.report.session_id,
                learner_id=self.learner.key,
                engine=name,
                **{field: self.answers[name].get(field) for field in DECIDED_FIELDS},
                ruleset_digest=stamp.digest,
                ruleset_version=stamp.version,
                decided_at=decided_at,
            )
            for name in names
        ]

    def portfolio_entry(self) -> Mapping[str, Any] | None:
        """The portfolio engine's entry, when it answered ``ok``."""
        answer = self.answers.get(PORTFOLIO_ENGINE)
        return answer["output"] if answer is not None and answer["status"] == "ok" else None


def decide(
    dispatcher: Dispatcher,
    learner: Learner,
    engines: Collection[str] | None = None,
    *,
    explain: bool = True,
    origin: str | None = None,
) -> Decided:
    """Run ``learner``'s result through the engines (all, or ``engines``), with no viewer.

    A decision keeps no explanation; ``explain`` says whether the report itself (which a completion
    hands to the ``decided`` signal's receivers) explains its answers. A dispatcher with a recorder
    records the dispatch, with ``origin``.

    An answer that can not be written as JSON is that engine's error (see :meth:`Dispatcher.to_json`).

    :raises InvalidInputError: when the stored result is not a valid profiler result, naming its fields
        (never quoting a protected value).
    """
    report = dispatcher.dispatch(learner.result, engines=engines, explain=explain, origin=origin)
    try:
        answers = report.model_dump(mode="json", include=_KEPT_FIELDS)["engines"]
    except Exception:  # noqa: BLE001 - an engine's output JSON can not hold
        # to_json makes that answer the engine's error, and the other answers stand.
        report, _ = dispatcher.to_json(report)
        answers = report.model_dump(mode="json", include=_KEPT_FIELDS)["engines"]
    kept = {name: answer for name, answer in answers.items() if answer["status"] != "denied"}
    return Decided(learner, report, kept)


# Only what a decision keeps is written as JSON: the explanations are most of a report, and not kept.
_KEPT_FIELDS = {"engines": {"__all__": set(DECIDED_FIELDS)}}


def unchanged(stored: Mapping[str, Any], answer: Mapping[str, Any]) -> bool:
    """Whether a stored decision (its :data:`DECIDED_FIELDS`) is what ``answer`` says."""
    return all(stored.get(field) == answer.get(field) for field in DECIDED_FIELDS)


def stored_decisions(session_ids: Collection[str], engines: Collection[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """The stored decisions of these sessions and engines, by (session id, engine). One query."""
    if not session_ids or not engines:
        return {}
    rows = ProfilerDecision.objects.filter(session_id__in=list(session_ids), engine__in=list(engines)).values(
        "session_id", "engine", *DECIDED_FIELDS
    )
    return {(row["session_id"], row["engine"]): row for row in rows}


def write_decisions(rows: list[ProfilerDecision]) -> None:
    """Insert ``rows``, or update the stored rows of the same (session, engine): one upsert per batch."""
    if not rows:
        return
    connection = connections[router.db_for_write(ProfilerDecision)]
    # MySQL's upsert takes no conflict target: it updates on any unique key, which is the same one here.
    target = ["session_id", "engine"] if connection.features.supports_update_conflicts_with_target else None
    ProfilerDecision.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=target, update_fields=_WRITTEN_FIELDS
    )


__all__ = ["Decided", "PORTFOLIO_ENGINE", "decide", "stored_decisions", "unchanged", "write_decisions"]
