"""The result source reads the platform's rows as profiler results, in a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def test_a_learner_reads_in_four_queries_whatever_they_hold() -> None:
    from django_host import factories as make

    from profiler_rules.contrib.django.sources import ResultSource

    learner = make.user("student")
    make.enroll(learner, make.cohort(), org=make.organization())
    make.session(learner, identity_values=("integrity", "service"))
    with CaptureQueriesContext(connection) as queries:
        found = ResultSource().learner(learner)
    assert found is not None
    assert len(queries) == 4
    assert found.result["answers"]["identity_values"] == ["integrity", "service"]
    assert found.result["recommended_track"] == "defender"
