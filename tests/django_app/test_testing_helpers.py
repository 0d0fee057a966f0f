"""The test helpers for hosts: ``override_rules`` (unittest and pytest) and the captured dispatches."""

from __future__ import annotations

import io
import json
import textwrap
import unittest
from pathlib import Path

import pytest
from django.db import transaction
from django.test import SimpleTestCase, override_settings

from profiler_rules import DispatchReport
from profiler_rules.contrib.django.conf import app_settings
from profiler_rules.contrib.django.runtime import get_dispatcher
from profiler_rules.contrib.django.signals import decided
from profiler_rules.contrib.django.sources import Learner, ResultSource
from profiler_rules.contrib.django.testing import capture_dispatches, override_rules
from tests.conftest import EXAMPLES, edit, result
from tests.django_app.conftest import EXAMPLE_HOST


def elite_cap() -> int:
    """The highest mission difficulty the serving rules open to an elite learner."""
    answer = get_dispatcher().dispatch(result(difficulty_selection="elite"))
    return answer.engines["missions"].output.max_difficulty


@pytest.fixture
def elite_three(rules_dir: Path) -> Path:
    """Rules under which an elite learner gets missions up to difficulty 3 (the packaged rules say 4)."""
    edit(rules_dir / "missions.yaml", "  elite: 4", "  elite: 3")
    return rules_dir


def test_override_rules_serves_the_rules_of_the_block_and_then_the_ones_before(elite_three: Path) -> None:
    assert elite_cap() == 4
    with override_rules(elite_three):
        assert app_settings()["RULES_DIR"] == str(elite_three)
        assert elite_cap() == 3
    assert app_settings()["RULES_DIR"] is None
    assert elite_cap() == 4


def test_override_rules_keeps_the_other_settings(elite_three: Path) -> None:
    with override_settings(PROFILER_RULES={"CHUNK_SIZE": 7, "USER_ID": "uuid_id"}), override_rules(elite_three):
        assert (app_settings()["CHUNK_SIZE"], app_settings()["USER_ID"]) == (7, "uuid_id")
        assert app_settings()["RULES_DIR"] == str(elite_three)


def test_override_rules_none_is_the_packaged_rules(elite_three: Path) -> None:
    with override_rules(elite_three), override_rules(None):
        assert elite_cap() == 4
        assert get_dispatcher().ruleset.directory is None


def test_override_rules_decorates_a_function(elite_three: Path) -> None:
    @override_rules(elite_three)
    def cap() -> int:
        return elite_cap()

    assert (cap(), elite_cap(), cap()) == (3, 4, 3)


def test_override_rules_decorates_a_unittest_class(elite_three: Path) -> None:
    seen: list[int] = []

    @override_rules(elite_three)
    class MissionTests(SimpleTestCase):
        def test_elite(self) -> None:
            seen.append(elite_cap())

        def test_elite_again(self) -> None:
            with override_rules(None):
                seen.append(elite_cap())
            seen.append(elite_cap())

    outcome = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(
        unittest.defaultTestLoader.loadTestsFromTestCase(MissionTests)
    )
    assert outcome.wasSuccessful(), outcome.errors + outcome.failures
    assert seen == [3, 4, 3]
    assert elite_cap() == 4


def test_a_broken_rules_directory_fails_on_first_use_not_on_entry(tmp_path: Path) -> None:
    from profiler_rules import RulesError

    with override_rules(tmp_path / "nowhere"), pytest.raises(RulesError, match="no such rules directory"):
        get_dispatcher()
    assert elite_cap() == 4


# --- capture_dispatches -----------------------------------------------------------------------------


def example_report() -> DispatchReport:
    return get_dispatcher().dispatch(json.loads((EXAMPLES / "result.json").read_text()))


def a_learner() -> Learner:
    from django_host import factories as make

    learner = make.user("student")
    make.session(learner)
    found = ResultSource().learner(learner)
    assert found is not None
    return found


def send_on_commit(learner: Learner, report: DispatchReport) -> None:
    """What the completion does: after the commit, send ``decided`` with primary keys, not rows."""
    from profiler.models import ProfilerSession

    session_pk = learner.session.pk
    transaction.on_commit(
        lambda: decided.send(sender=ProfilerSession, session_pk=session_pk, learner=learner, report=report)
    )


@pytest.mark.django_db
def test_capture_dispatches_runs_the_on_commit_callbacks_and_collects_what_was_decided() -> None:
    learner, report = a_learner(), example_report()
    with capture_dispatches() as dispatches:
        send_on_commit(learner, report)
        assert dispatches == []  # nothing has committed yet
    assert [(item.session_pk, item.learner, item.report) for item in dispatches] == [
        (learner.session.pk, learner, report)
    ]


@pytest.mark.django_db
def test_a_rolled_back_block_dispatches_nothing() -> None:
    learner, report = a_learner(), example_report()
    with capture_dispatches() as dispatches:
        try:
            with transaction.atomic():
                send_on_commit(learner, report)
                raise RuntimeError("the view failed")
        except RuntimeError:
            pass
    assert dispatches == []


@pytest.mark.django_db
def test_signals_outside_the_block_are_not_collected() -> None:
    learner, report = a_learner(), example_report()
    receivers = len(decided.receivers)
    with capture_dispatches() as dispatches:
        pass
    send_on_commit(learner, report)  # never committed: the test's transaction is rolled back
    with capture_dispatches() as later:
        pass
    assert (dispatches, later) == ([], [])
    assert len(decided.receivers) == receivers  # the block's receiver is gone with it


@pytest.mark.django_db(transaction=True)
def test_dispatches_of_a_real_commit_are_collected_too() -> None:
    learner, report = a_learner(), example_report()
    with capture_dispatches() as dispatches:
        with transaction.atomic():
            send_on_commit(learner, report)
        assert len(dispatches) == 1  # the commit ran the callback at once
    assert len(dispatches) == 1


# --- the pytest fixtures, loaded as a host loads them -----------------------------------------------


def test_a_host_loads_the_fixtures_with_pytest_plugins(
    pytester: pytest.Pytester, elite_three: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(EXAMPLE_HOST))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "django_host.settings")
    monkeypatch.delenv("EXAMPLE_HOST_DATABASE", raising=False)  # its own SQLite test database
    monkeypatch.delenv("PROFILER_RULES_DIR", raising=False)
    pytester.makeconftest('pytest_plugins = ["profiler_rules.contrib.django.testing"]\n')
    pytester.makepyfile(
        test_host=textwrap.dedent(
            f"""
            import pytest
            from django.db import transaction
            from profiler_rules.contrib.django.conf import app_settings
            from profiler_rules.contrib.django.runtime import get_dispatcher
            from profiler_rules.contrib.django.signals import decided

            ELITE = {{"session_id": "s", "user_id": "u", "status": "finished", "difficulty_selection": "elite"}}

            def cap():
                return get_dispatcher().dispatch(ELITE).engines["missions"].output.max_difficulty

            def test_override(profiler_rules_override):
                profiler_rules_override({str(elite_three)!r})
                assert cap() == 3

            def test_undone_after_the_test():
                assert app_settings()["RULES_DIR"] is None
                assert cap() == 4

            @pytest.mark.django_db
            def test_dispatches(profiler_rules_dispatches):
                with profiler_rules_dispatches() as dispatches:
                    transaction.on_commit(lambda: decided.send(sender=None, session_pk=1, learner=None, report=None))
                assert [item.session_pk for item in dispatches] == [1]
            """
        )
    )
    outcome = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    outcome.assert_outcomes(passed=3)
