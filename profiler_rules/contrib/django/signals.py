"""The app's signals, for hosts (and their tests) that act on what the engines decided."""

from __future__ import annotations

from django.dispatch import Signal

decided = Signal()
"""Sent after each completion dispatch, once the transaction that completed the session has committed.

``sender`` is the session model; the keyword arguments are ``session_pk`` (the session's primary key),
``learner`` (the :class:`~profiler_rules.contrib.django.sources.Learner` that was dispatched) and
``report`` (the :class:`~profiler_rules.DispatchReport`). ``testing.capture_dispatches`` collects them.
"""
