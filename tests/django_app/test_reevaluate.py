"""Re-evaluation: every learner's latest result through the rules, the stored decisions brought up to
date chunk by chunk, the portfolio as the rules say, resumable, in a fixed number of queries a chunk."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tests.conftest import edit

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_HOST = ROOT / "examples" / "django_host"


def _learners(count: int, capture: Any, **session: Any) -> list[Any]:
    """``count`` learners, each with a complete session decided by completion."""
    from django_host import factories as make

    made = []
    with capture(execute=True):
        for _ in range(count):
            learner = make.user("student")
            make.session(learner, **session)
            made.append(learner)
    return made


def _reevaluate(*args: str) -> str:
    out = StringIO()
    call_command("profiler_rules", "reevaluate", "--no-progress", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _decisions(engine: str) -> dict[str, Any]:
    from profiler_rules.contrib.django.models import ProfilerDecision

    return {row.learner_id: row for row in ProfilerDecision.objects.filter(engine=engine)}


def _snapshot() -> tuple[Any, ...]:
    """Every row re-evaluation may write, as values."""
    from dashboard.models import PortfolioItem

    from profiler_rules.contrib.django.models import ProfilerDecision, ReevaluationRun

    return (
        sorted(ProfilerDecision.objects.values_list("session_id", "engine", "status", "output", "ruleset_digest")),
        sorted(PortfolioItem.objects.values_list("pk", "summary", "profiler_session_id", "updated_at")),
        ReevaluationRun.objects.count(),
    )


def test_a_rule_change_updates_the_decisions_it_changes(
    rules_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    learners = _learners(3, django_capture_on_commit_callbacks)  # difficulty "intermediate": level 2
    before = {"missions": _decisions("missions"), "recipes": _decisions("recipes")}
    edit(rules_dir / "missions.yaml", "intermediate: 2", "intermediate: 3")
    printed = _reevaluate("--rules", str(rules_dir))
    missions = _decisions("missions")
    assert {row.output["max_difficulty"] for row in missions.values()} == {3}
    assert {row.ruleset_digest for row in missions.values()} != {before["missions"][str(learners[0].pk)].ruleset_digest}
    recipes = _decisions("recipes")
    assert [(row.decided_at, row.ruleset_digest) for row in recipes.values()] == [
        (row.decided_at, row.ruleset_digest) for row in before["recipes"].values()
    ], "an unchanged decision is left as it was"
    assert "3 result(s) replayed, 0 invalid" in printed
    assert "missions: 3 of 3 changed" in printed
    assert "max_difficulty 2→3: 3 learner(s)" in printed
    assert "recipes: no decision changed" in printed
    assert "decisions: 0 created, 3 updated," in printed
    # Run again under the same rules: nothing left to change.
    assert "decisions: 0 created, 0 updated," in _reevaluate("--rules", str(rules_dir))


def test_missing_decisions_are_created_and_engine_limits_the_run(django_capture_on_commit_callbacks: Any) -> None:
    from profiler_rules.contrib.django.models import ProfilerDecision

    _learners(2, django_capture_on_commit_callbacks)
    ProfilerDecision.objects.all().delete()
    printed = _reevaluate("--engine", "missions")
    assert set(ProfilerDecision.objects.values_list("engine", flat=True)) == {"missions"}
    assert "decisions: 2 created, 0 updated, 0 unchanged" in printed
    assert "engines: missions" in printed
    _reevaluate()
    assert set(ProfilerDecision.objects.values_list("engine", flat=True)) == {
        "missions",
        "recipes",
        "portfolio",
        "leadership",
        "marketplace",
    }


def test_a_dry_run_writes_nothing(rules_dir: Path, django_capture_on_commit_callbacks: Any) -> None:
    from profiler_rules.contrib.django.models import ProfilerDecision

    _learners(3, django_capture_on_commit_callbacks)
    ProfilerDecision.objects.filter(engine="recipes").delete()
    edit(rules_dir / "missions.yaml", "intermediate: 2", "intermediate: 3")
    edit(rules_dir / "portfolio.yaml", "My goal is to: {answer}", "What I want: {answer}")
    before = _snapshot()
    printed = _reevaluate("--rules", str(rules_dir), "--dry-run")
    assert _snapshot() == before
    assert "missions: 3 of 3 changed" in printed
    # recipes created; missions, portfolio and leadership (which writes the same statement) updated
    assert "decisions: 3 would be created, 9 would be updated, 3 unchanged" in printed
    assert "portfolio entries (dry run): 0 created, 3 replaced" in printed


def test_the_portfolio_follows_the_rules_replace_or_keep(
    rules_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    from dashboard.models import PortfolioItem

    _learners(2, django_capture_on_commit_callbacks)
    edit(rules_dir / "portfolio.yaml", "My goal is to: {answer}", "What I want: {answer}")
    kept = rules_dir.parent / "kept"
    shutil.copytree(rules_dir, kept)
    edit(kept / "portfolio.yaml", "on_retake: replace", "on_retake: keep")
    before = sorted(PortfolioItem.objects.values_list("summary", "updated_at"))
    printed = _reevaluate("--rules", str(kept))
    assert sorted(PortfolioItem.objects.values_list("summary", "updated_at")) == before
    assert "portfolio entries: 0 created, 0 replaced, 0 unchanged, 2 kept" in printed
    printed = _reevaluate("--rules", str(rules_dir))
    assert all(
        "What I want: defend hospitals." in summary
        for summary in PortfolioItem.objects.values_list("summary", flat=True)
    )
    assert "portfolio entries: 0 created, 2 replaced" in printed


def test_max_learners_stops_and_the_next_run_resumes(rules_dir: Path, django_capture_on_commit_callbacks: Any) -> None:
    from profiler_rules.contrib.django.models import ReevaluationRun

    learners = _learners(5, django_capture_on_commit_callbacks)
    edit(rules_dir / "missions.yaml", "intermediate: 2", "intermediate: 3")
    with override_settings(PROFILER_RULES={**settings.PROFILER_RULES, "CHUNK_SIZE": 2}):
        first = _reevaluate("--rules", str(rules_dir), "--max-learners", "3")
        assert "decisions: 0 created, 3 updated," in first
        assert f"stopped after 3 learner(s) (--max-learners); run again to go on after user {learners[2].pk}" in first
        levels = {key: row.output["max_difficulty"] for key, row in _decisions("missions").items()}
        assert [levels[str(learner.pk)] for learner in learners] == [3, 3, 3, 2, 2]
        second = _reevaluate("--rules", str(rules_dir))
        assert f"resumed after user {learners[2].pk}: 3 learner(s) were done" in second
        assert "2 result(s) replayed" in second and "decisions: 0 created, 2 updated," in second
        assert ReevaluationRun.objects.filter(finished_at__isnull=True).count() == 0
        # Other rules start over; so does --restart.
        assert "resumed" not in _reevaluate("--max-learners", "1")
        assert "resumed" not in _reevaluate("--rules", str(rules_dir), "--max-learners", "1")
        assert "resumed after" in _reevaluate("--rules", str(rules_dir), "--max-learners", "1")
        restarted = _reevaluate("--rules", str(rules_dir), "--restart")
        assert "resumed" not in restarted and "5 result(s) replayed" in restarted


def test_queries_are_a_fixed_number_per_chunk(rules_dir: Path, django_capture_on_commit_callbacks: Any) -> None:
    from profiler_rules.contrib.django.models import ProfilerDecision

    edit(rules_dir / "missions.yaml", "intermediate: 2", "intermediate: 3")
    edit(rules_dir / "portfolio.yaml", "My goal is to: {answer}", "What I want: {answer}")

    def queries(learners: int) -> int:
        from django_host.factories import ProfilerSession

        ProfilerSession.objects.all().delete()
        ProfilerDecision.objects.all().delete()
        _learners(learners, django_capture_on_commit_callbacks)
        ProfilerDecision.objects.filter(engine="recipes").delete()  # some created, some updated
        with (
            override_settings(PROFILER_RULES={**settings.PROFILER_RULES, "CHUNK_SIZE": learners}),
            CaptureQueriesContext(connection) as captured,
        ):
            printed = _reevaluate("--rules", str(rules_dir), "--restart")
        assert f"{learners} result(s) replayed" in printed
        return len(captured)

    queries(2)  # the first decision records under these rules keep the rules, once
    assert queries(4) == queries(8)  # one chunk each: the same queries for twice the learners


def test_invalid_rules_and_unknown_engines_are_one_line_errors(rules_dir: Path) -> None:
    edit(rules_dir / "missions.yaml", "intermediate: 2", "intermediate: two")
    err = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("profiler_rules", "reevaluate", "--rules", str(rules_dir), stdout=StringIO(), stderr=err)
    assert raised.value.returncode == 2
    assert "the rules have 1 problem(s)" in str(raised.value)
    assert "missions.yaml:" in err.getvalue()
    with pytest.raises(CommandError) as raised:
        call_command("profiler_rules", "reevaluate", "--engine", "mission", stdout=StringIO())
    assert raised.value.returncode == 2 and "no engine named 'mission'" in str(raised.value)


def test_an_invalid_result_is_named_and_the_others_are_decided(django_capture_on_commit_callbacks: Any) -> None:
    from decimal import Decimal

    from django_host import factories as make

    from profiler_rules.contrib.django.models import ProfilerDecision

    _learners(1, django_capture_on_commit_callbacks)
    bad = make.user("student")
    session = make.session(bad, anti_cheat_score=Decimal("987.65"))  # no capture: never decided
    ProfilerDecision.objects.all().delete()
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("profiler_rules", "reevaluate", "--no-progress", stdout=out)
    assert raised.value.returncode == 1
    printed = out.getvalue()
    assert f"invalid: session {session.pk} of learner {bad.pk}: invalid profiler result: anti_cheat" in printed
    assert "987" not in printed
    assert "decisions: 5 created" in printed


# -- interrupted by a signal, in a real process ----------------------------------------------------------

SEED = """
from django.db import transaction
from django_host import factories as make
with transaction.atomic():
    for _ in range({learners}):
        make.session(make.user("student"))
"""


def _manage(tmp_path: Path, *args: str, **popen: Any) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(EXAMPLE_HOST), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "interrupted_host",
        "EXAMPLE_HOST_SQLITE": str(tmp_path / "db.sqlite3"),
        "EXAMPLE_HOST_DATABASE": "sqlite",
    }
    return subprocess.Popen(
        [sys.executable, str(EXAMPLE_HOST / "manage.py"), *args],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def _done(database: Path) -> int:
    try:
        with sqlite3.connect(database, timeout=0.05) as db:
            row = db.execute("select max(learners_done) from profiler_rules_reevaluationrun").fetchone()
    except sqlite3.OperationalError:  # not there yet, or locked by the writer
        return 0
    return row[0] or 0


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path: Path, rules_dir: Path) -> None:
    learners = 400
    (tmp_path / "interrupted_host.py").write_text(
        "from django_host.settings import *  # noqa\nPROFILER_RULES = {**PROFILER_RULES, 'CHUNK_SIZE': 4}\n"
    )
    for args in (("migrate", "-v0"), ("shell", "-c", SEED.format(learners=learners))):
        done = _manage(tmp_path, *args)
        out, err = done.communicate(timeout=300)
        assert done.returncode == 0, err
    edit(rules_dir / "missions.yaml", "intermediate: 2", "intermediate: 3")
    running = _manage(tmp_path, "profiler_rules", "reevaluate", "--rules", str(rules_dir))
    deadline = time.monotonic() + 120
    while _done(tmp_path / "db.sqlite3") == 0 and running.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    running.send_signal(signal.SIGINT)
    out, err = running.communicate(timeout=60)
    assert running.returncode == 128 + signal.SIGINT, err
    stopped_at = _done(tmp_path / "db.sqlite3")
    assert 0 < stopped_at < learners and stopped_at % 4 == 0  # whole chunks only
    assert err.strip().splitlines()[-1].startswith(f"profiler_rules: error: interrupted after {stopped_at} learner(s)")
    assert "Traceback" not in err
    resumed = _manage(tmp_path, "profiler_rules", "reevaluate", "--rules", str(rules_dir))
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert f": {stopped_at} learner(s) were done by the interrupted run" in out
    assert f"{learners - stopped_at} result(s) replayed" in out
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        levels = db.execute(
            "select count(*) from profiler_rules_profilerdecision where engine = 'missions' "
            "and json_extract(output, '$.max_difficulty') = 3"
        ).fetchone()[0]
    assert levels == learners
