"""Completion: when a profiler session becomes complete, decide once the transaction commits.

A session *becomes complete* when it is saved with a status of ``COMPLETE_STATUSES`` (``finished``,
``locked``) having had another, or is created complete. Then, after the transaction commits
(``transaction.on_commit``, given the session's key, never the object; nothing when it rolls back),
:func:`complete` runs the learner's result through the engines, keeps one
:class:`~profiler_rules.contrib.django.models.ProfilerDecision` per engine (see :mod:`.decisions` for
which), applies the portfolio entry (see :mod:`.portfolio`) and sends
:data:`~profiler_rules.contrib.django.signals.decided`.

Signals never see bulk writes: ``QuerySet.update(status="finished")`` saves no model, so a host that
completes sessions that way calls :func:`complete` with each session's key itself (DESIGN.md says the
same of every signal-based integration). Loading fixtures (``raw`` saves) completes nothing.

A failure (invalid stored data, broken rules, a database error) is logged with the session's key, and
never raised into the host's code: the host's save has committed by then.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_init, post_save
from django.utils import timezone

from profiler_rules import InvalidInputError

from .conf import app_settings
from .decisions import decide, write_decisions
from .portfolio import EntryToApply, PortfolioWriter
from .runtime import get_dispatcher
from .signals import decided
from .sources import Learner, ResultSource, result_source

logger = logging.getLogger("profiler_rules.contrib.django")

_LOADED_STATUS = "_profiler_rules_loaded_status"
"""Where an instance keeps the status it was loaded (or last saved) with."""
_UNKNOWN = object()
"""The loaded status of an instance whose status was deferred (``only()``, ``defer()``)."""
COMPLETION_ORIGIN = "completion"
"""The ``origin`` of the decision record of a completion's dispatch (recorded with no viewer)."""


def complete(session_pk: Any, *, using: str | None = None) -> None:
    """Decide for the session ``session_pk`` once the current transaction commits (at once outside one).

    For hosts that complete sessions without saving the model (``QuerySet.update()``), which sends no
    signal: call it for each session completed. Completing a session twice is harmless: its decisions
    and portfolio entry are written again, to the same values. Failures are logged, never raised.
    """
    transaction.on_commit(partial(_complete_now, session_pk), using=using)


def _complete_now(session_pk: Any) -> None:
    try:
        _decide_session(session_pk)
    except InvalidInputError as error:
        # The message names the invalid fields and never quotes a protected value.
        logger.error("profiler_rules: session %s was not decided: %s", session_pk, error)
    except Exception:
        logger.exception("profiler_rules: session %s was not decided", session_pk)


def _decide_session(session_pk: Any) -> None:
    config = app_settings()
    source = result_source()
    learner = source.learner_of_session(session_pk)
    if learner is None:
        logger.warning("profiler_rules: session %s is gone; nothing was decided", session_pk)
        return
    status = getattr(learner.session, config.field("session", "status"))
    if status not in config["COMPLETE_STATUSES"]:
        logger.warning("profiler_rules: session %s is not complete (%r); nothing was decided", session_pk, status)
        return
    result = decide(get_dispatcher(), learner, origin=COMPLETION_ORIGIN)
    entry = result.portfolio_entry()
    with transaction.atomic():
        write_decisions(result.rows(timezone.now()))
        if entry is not None and _is_newest(source, learner):
            PortfolioWriter(config).apply([EntryToApply(learner, entry)])
    for receiver, failure in decided.send_robust(
        type(learner.session), session_pk=session_pk, learner=learner, report=result.report
    ):
        if isinstance(failure, Exception):
            logger.error(
                "profiler_rules: a receiver of 'decided' (%s) failed for session %s: %s",
                getattr(receiver, "__qualname__", receiver),
                session_pk,
                type(failure).__name__,
            )


def _is_newest(source: ResultSource, learner: Learner) -> bool:
    """Whether the session is the learner's latest complete one: only that one may write the portfolio."""
    user = source.config.field("session", "user")
    newest = source.complete_sessions().filter(**{f"{user}_id": learner.user_pk}).values_list("pk", flat=True)
    return newest.first() == learner.session.pk


# -- telling "becomes complete" from any save --------------------------------------------------------
# As django-model-utils' FieldTracker does: the status as loaded is kept on the instance (post_init),
# and post_save compares it with the status saved. No query, and no copy of the instance.


def _status_field() -> str:
    config = app_settings()
    return config.model("session")._meta.get_field(config.field("session", "status")).attname


def _remember_status(sender: type[Model], instance: Model, **_: Any) -> None:
    instance.__dict__[_LOADED_STATUS] = instance.__dict__.get(_status_field(), _UNKNOWN)


def _on_save(
    sender: type[Model],
    instance: Model,
    created: bool,
    raw: bool,
    using: str,
    update_fields: frozenset[str] | None,
    **_: Any,
) -> None:
    name = _status_field()
    if raw or name not in instance.__dict__:  # a fixture, or a status deferred and not set: not written
        return
    if update_fields is not None and name not in update_fields and name.removesuffix("_id") not in update_fields:
        return  # the status was not written: the stored one is still the one loaded
    before = instance.__dict__.get(_LOADED_STATUS, _UNKNOWN)
    now = instance.__dict__[name]
    instance.__dict__[_LOADED_STATUS] = now
    complete_statuses = app_settings()["COMPLETE_STATUSES"]
    if now in complete_statuses and (created or before not in complete_statuses):
        complete(instance.pk, using=using)


def connect() -> None:
    """Watch the session model ``MODELS["session"]`` names (by its label: nothing is loaded here)."""
    sender = app_settings()["MODELS"]["session"]
    post_init.connect(_remember_status, sender=sender, dispatch_uid="profiler_rules.completion.post_init")
    post_save.connect(_on_save, sender=sender, dispatch_uid="profiler_rules.completion.post_save")


connect()

__all__ = ["complete", "connect"]
