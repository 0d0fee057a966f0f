"""Whether engines are running in the current context, for the one thing that must not happen then.

A dispatch or an aggregation sets :data:`IN_DISPATCH` while its engines run; a reload called by one of
them (from ``evaluate`` or ``aggregate``) reads it and refuses, rather than wait for itself.
"""

from __future__ import annotations

from contextvars import ContextVar

IN_DISPATCH: ContextVar[bool] = ContextVar("profiler_rules_in_dispatch", default=False)
"""Set while engines run. A context variable: one set and one reset per dispatch, the only cost on its path."""
