"""Issue 12, Deliver 3: the views and re-evaluation, which show or keep no explanation, dispatch without
building any; a denied viewer still gets the reason, and completion's ``decided`` signal still hands
its receivers a report that explains every answer."""

from __future__ import annotations

import sys
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from profiler_rules.contrib.django.testing import capture_dispatches
from profiler_rules.core.engine import Rules
from profiler_rules.core.models import Explanation

from . import people
from .test_views import ROUTES, entry, mentee_url

pytestmark = pytest.mark.django_db

_EXPLAINING = {Rules.explain.__code__, Explanation.__init__.__code__}


def explanations_built(call: Callable[[], Any]) -> tuple[int, Any]:
    """How many explanations ``call`` built (real calls, counted by the profiler hook), and its answer."""
    built = 0

    def hook(frame: Any, event: str, _arg: Any) -> None:
        nonlocal built
        if event == "call" and frame.f_code in _EXPLAINING:
            built += 1

    sys.setprofile(hook)
    try:
        answer = call()
    finally:
        sys.setprofile(None)
    return built, answer


@pytest.fixture
def world() -> people.Cast:
    made = people.cast()
    entry(made["learner"])
    return made


@pytest.mark.parametrize("route", ROUTES[:5], ids=[route.__name__ for route in ROUTES[:5]])
def test_a_view_that_shows_no_explanation_builds_none(
    client: Client, world: people.Cast, route: Callable[[people.Cast], str]
) -> None:
    client.force_login(world["learner"] if route is not mentee_url else world["admin"])
    client.get(route(world))  # the first request loads what every later one shares
    built, response = explanations_built(lambda: client.get(route(world)))
    assert response.status_code == 200, response.content
    assert built == 0


def test_a_denied_viewer_still_gets_the_reason(client: Client, world: people.Cast) -> None:
    client.force_login(world["other"])
    response = client.get(mentee_url(world))
    assert response.status_code == 403
    assert response.json()["reason"] == "the viewer (roles: student) matches no grant of mentee_view → denied"


def test_completion_hands_the_signal_an_explained_report() -> None:
    from django_host import factories as make

    with capture_dispatches() as dispatched:
        make.session(make.user("student"))
    (one,) = dispatched
    ok = [answer for answer in one.report.engines.values() if answer.status == "ok"]
    assert ok and all(answer.explain for answer in ok)


def test_reevaluation_builds_no_explanation(django_capture_on_commit_callbacks: Any) -> None:
    from django_host import factories as make

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            make.session(make.user("student"))
    out = StringIO()
    built, _ = explanations_built(
        lambda: call_command("profiler_rules", "reevaluate", "--no-progress", stdout=out, stderr=StringIO())
    )
    # Only the reasons of the answers denied without a viewer (mentorship's and analytics'), which
    # a decision does not keep either: one Rules.explain and one Explanation each, per learner.
    assert built == 3 * 2 * 2
