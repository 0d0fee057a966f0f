"""Decision records through a spool (``RECORDS["SPOOL"]``): a request appends a line; a delivery puts
each record in the table once, masked as without a spool, its rule set kept. Real spool files, a real
process killed with SIGKILL, the example host's views; SQLite, or PostgreSQL as the suite says.

The delivery thread waits an hour here: each test delivers in its own thread (inside its transaction)
with ``flush()``, and counts the rows."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from profiler_rules.contrib.django.checks import check_settings
from profiler_rules.contrib.django.models import DecisionRecord
from profiler_rules.contrib.django.records import DatabaseRecordSink, kept_ruleset, spool_name
from profiler_rules.contrib.django.runtime import get_dispatcher
from profiler_rules.core.spool import SpooledSink

from . import people, test_records
from .conftest import EXAMPLE_HOST
from .test_records import DATABASE_SINK, KINDS, ROUTES, SECRETS, rows_as_text

pytestmark = pytest.mark.django_db
ROOT = EXAMPLE_HOST.parents[1]

world = test_records.world  # the same people, the learner's session holding anti-cheat signals


def spool_to(settings: Any, spool_dir: Path, *, record_protected: bool = False) -> None:
    settings.PROFILER_RULES = {
        **settings.PROFILER_RULES,
        "RECORDS": {
            "SINKS": [DATABASE_SINK],
            "RECORD_PROTECTED": record_protected,
            "SPOOL": {"DIR": str(spool_dir), "FLUSH_SECONDS": 3600},
        },
    }


def the_spool() -> SpooledSink:
    recorder = get_dispatcher().recorder
    assert recorder is not None
    (sink,) = recorder.sinks
    assert isinstance(sink, SpooledSink) and isinstance(sink.inner, DatabaseRecordSink)
    return sink


@pytest.mark.parametrize("record_protected", [False, True], ids=["masked", "record_protected"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_views_record_through_the_spool_each_once_and_no_protected_value_for_a_viewer_not_allowed_it(
    client: Client, world: people.Cast, settings: Any, tmp_path: Path, kind: str, record_protected: bool
) -> None:
    spool_to(settings, tmp_path / "spool", record_protected=record_protected)
    client.force_login(world[kind])
    served = [client.get(reverse("profiler_rules:mentee-results", args=[world["learner"].pk])).status_code]
    served += [client.get(reverse(f"profiler_rules:{route}")).status_code for route in ROUTES]
    assert DecisionRecord.objects.count() == 0  # the requests only spooled
    spooled = [json.loads(line) for path in (tmp_path / "spool").rglob("spool-*.jsonl") for line in path.open()]
    assert len(spooled) >= 3  # mentee, missions, talent matches
    spool = the_spool()
    spool.flush()

    rows = DecisionRecord.objects.all()
    assert sorted(rows.values_list("call_id", flat=True)) == sorted(record["call_id"] for record in spooled)
    allowed = KINDS[kind]
    for secret in SECRETS:
        assert (secret in rows_as_text()) == (record_protected and allowed)
        if not (record_protected and allowed):
            assert all(secret not in json.dumps(record) for record in spooled)  # the spool holds none either
    assert set(rows.values_list("viewer_id", flat=True)) == {str(world[kind].pk)}
    for digest in set(rows.values_list("ruleset_digest", flat=True)):
        assert kept_ruleset(digest).digest == digest
    assert spool.spool_status().pending == 0 and spool.spool_status().delivered == len(spooled)
    assert list((tmp_path / "spool").rglob("spool-*")) == []


def test_a_spool_file_delivered_again_doubles_no_row(
    client: Client, world: people.Cast, settings: Any, tmp_path: Path
) -> None:
    spool_to(settings, tmp_path / "spool")
    client.force_login(world["learner"])
    for _ in range(3):
        assert client.get(reverse("profiler_rules:student-missions")).status_code == 200
    spool = the_spool()
    spool.hand_over()  # as the thread does each round: the file is anybody's to deliver
    (spooled,) = (tmp_path / "spool").rglob("spool-*.jsonl")
    kept = tmp_path / "copy"
    shutil.copy(spooled, kept)
    spool.flush()
    assert DecisionRecord.objects.count() == 3
    shutil.copy(kept, spooled)  # as if its deliverer had died after the insert, before the delete
    spool.flush()
    assert DecisionRecord.objects.count() == 3
    status = get_dispatcher().status().recorder
    assert status is not None and status.sinks["database"].spool is not None
    assert (status.sinks["database"].spool.delivered, status.sinks["database"].spool.failures) == (6, 0)


RECORD_THEN_WAIT = textwrap.dedent(
    """
    import json, sys, time
    import django
    django.setup()
    from profiler_rules import Dispatcher
    from profiler_rules.core.records import DecisionRecorder
    from profiler_rules.core.spool import SpooledSink
    from profiler_rules.contrib.django.records import DatabaseRecordSink
    spool = SpooledSink(DatabaseRecordSink(), sys.argv[1], flush_seconds=3600)
    dispatcher = Dispatcher.from_rules(entry_points=False, recorder=DecisionRecorder([spool]))
    result = json.loads(open(sys.argv[2]).read())
    for number in range(int(sys.argv[3])):
        dispatcher.dispatch({**result, "session_id": f"killed-{number}"})
    print("recorded", flush=True)
    time.sleep(3600)
    """
)


def test_the_records_of_a_killed_worker_reach_the_table_once_their_rules_kept(tmp_path: Path) -> None:
    from profiler_rules.core.archive import RuleSetArchive

    from ..conftest import EXAMPLES

    spool_dir, count = tmp_path / "spool" / spool_name("database"), 25
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "django_host.settings",
        "PYTHONPATH": os.pathsep.join([str(EXAMPLE_HOST), str(ROOT)]),
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", RECORD_THEN_WAIT, str(spool_dir), str(EXAMPLES / "result.json"), str(count)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None and worker.stdout.readline() == "recorded\n"
    worker.send_signal(signal.SIGKILL)
    assert worker.wait() == -signal.SIGKILL

    spool = SpooledSink(DatabaseRecordSink(), spool_dir)  # another process's: never given the rule set
    assert spool.spool_status().pending == count
    spool.flush()
    rows = DecisionRecord.objects.all()
    assert sorted(rows.values_list("session_id", flat=True)) == sorted(f"killed-{n}" for n in range(count))
    (digest,) = set(rows.values_list("ruleset_digest", flat=True))
    assert kept_ruleset(digest).files == RuleSetArchive(spool_dir / "rulesets").get(digest).files
    assert spool.spool_status().pending == 0


def test_spool_settings_mistakes_are_named_by_the_checks(settings: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings.PROFILER_RULES = {"RECORDS": {"SPOOL": {"DIR": str(blocker / "spool"), "FLUSH_SECONDS": 0, "BTACH": 5}}}
    found = {(message.id, message.msg) for message in check_settings()}
    assert (
        "profiler_rules.W002",
        "PROFILER_RULES['RECORDS']['SPOOL'] has an unknown key 'BTACH'; the app does not read it",
    ) in found
    assert any(id_ == "profiler_rules.E009" and "FLUSH_SECONDS is a positive number" in msg for id_, msg in found)
    assert any(
        id_ == "profiler_rules.E010" and f"['DIR'] is '{blocker / 'spool'}', which can not be made" in msg
        for id_, msg in found
    )
    settings.PROFILER_RULES = {"RECORDS": {"SPOOL": "/var/spool/x"}}
    assert [message.id for message in check_settings()] == ["profiler_rules.E009"]
    settings.PROFILER_RULES = {"RECORDS": {"SPOOL": {"DIR": str(tmp_path / "made")}}}
    assert check_settings() == [] and (tmp_path / "made").is_dir()
