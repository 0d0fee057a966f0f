"""Decision records through the Django app: the views and completion record each dispatch they serve,
in the table (and a JSON Lines file when a host names one), masked as the access rules say; each rule
set that served one is kept in the tables and printed by ``manage.py profiler_rules show-ruleset``."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from profiler_rules import Dispatcher
from profiler_rules.contrib.django import catalogs
from profiler_rules.contrib.django.models import DecisionRecord, KeptRuleFile, KeptRuleSet
from profiler_rules.contrib.django.records import kept_ruleset
from profiler_rules.contrib.django.runtime import get_dispatcher
from profiler_rules.contrib.django.sources import result_source
from profiler_rules.core.records import DecisionRecord as Record
from profiler_rules.core.records import DecisionRecorder

from ..conftest import edit
from . import people

pytestmark = pytest.mark.django_db

SCORE, PATTERN, FINGERPRINT = "87.31", "qq_pattern_5521", "fp_SECRET_c0ffee42"
SECRETS = (SCORE, PATTERN, FINGERPRINT)
DATABASE_SINK = "profiler_rules.contrib.django.records.DatabaseRecordSink"
JSON_LINES_SINK = "profiler_rules.core.records.JsonLinesSink"
COACHES_BY_ROLE = {"coachee_ids": "tests.django_app.people.coachees"}

# Every kind of viewer the access rules know, as the example host's people, and whether the rules
# show them the learner's anti-cheat signals. (No viewer: completion's record, below.)
KINDS = {
    "learner": False,  # the learner themself
    "mentor": True,  # an assigned mentor
    "unassigned_mentor": False,
    "admin": True,
    "coach": False,  # assigned (the host gives the coachee relation here)
    "analyst": False,
    "director_a": False,
    "sponsor_admin_a": False,
    "other": False,  # a student, nobody to the learner
}
ROUTES = ("student-missions", "recipe-recommendations", "value-statement", "talent-matches")


@pytest.fixture
def world() -> people.Cast:
    made = people.cast()
    session = made["learner"].profiler_sessions.get()
    session.anti_cheat_score, session.suspicious_patterns = Decimal(SCORE), [PATTERN, "too_fast"]
    session.device_fingerprint = FINGERPRINT
    session.save()
    return made


def records_to(settings: Any, tmp_path: Path, *, record_protected: bool = False, **more: Any) -> Path:
    """Record to the table and to a JSON Lines file; returns the file."""
    lines = tmp_path / "records.jsonl"
    sinks = [
        DATABASE_SINK,
        {"CLASS": JSON_LINES_SINK, "OPTIONS": {"path": str(lines), "archive": str(tmp_path / "rulesets")}},
    ]
    settings.PROFILER_RULES = {
        **settings.PROFILER_RULES,
        "RELATIONS": COACHES_BY_ROLE,
        "RECORDS": {"SINKS": sinks, "RECORD_PROTECTED": record_protected},
        **more,
    }
    return lines


def rows_as_text() -> str:
    return json.dumps(list(DecisionRecord.objects.values()), default=str)


@pytest.mark.parametrize("record_protected", [False, True], ids=["masked", "record_protected"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_no_record_of_a_view_holds_a_protected_value_for_a_viewer_not_allowed_it(
    client: Client, world: people.Cast, settings: Any, tmp_path: Path, kind: str, record_protected: bool
) -> None:
    lines = records_to(settings, tmp_path, record_protected=record_protected)
    client.force_login(world[kind])
    mentee = client.get(reverse("profiler_rules:mentee-results", args=[world["learner"].pk]))
    assert mentee.status_code == (200 if kind in ("learner", "mentor", "admin", "coach", "analyst") else 403)
    for route in ROUTES:
        assert client.get(reverse(f"profiler_rules:{route}")).status_code in (200, 404)

    allowed = KINDS[kind]
    rows, written = rows_as_text(), lines.read_bytes()
    assert DecisionRecord.objects.count() == len(written.splitlines()) >= 3  # mentee, missions, talent matches
    for secret in SECRETS:
        if record_protected and allowed:
            assert secret in rows and secret.encode() in written  # what the report held, as configured
        else:
            assert secret not in rows and secret.encode() not in written
    viewer_key = str(world[kind].pk)
    assert set(DecisionRecord.objects.values_list("viewer_id", flat=True)) == {viewer_key}
    mentee_record = DecisionRecord.objects.get(origin="view profiler_rules:mentee-results")
    assert mentee_record.learner_id == str(world["learner"].pk) and mentee_record.engines == ["mentorship"]
    assert mentee_record.masked == (["mentorship.output.anti_cheat"] if allowed and not record_protected else [])
    assert mentee_record.answers["mentorship"]["status"] == ("ok" if mentee.status_code == 200 else "denied")


@pytest.mark.parametrize("record_protected", [False, True], ids=["masked", "record_protected"])
def test_completion_records_its_dispatch_without_a_viewer_and_no_protected_value(
    settings: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any, record_protected: bool
) -> None:
    from django_host import factories as make

    lines = records_to(settings, tmp_path, record_protected=record_protected)
    learner = make.user("student")
    with django_capture_on_commit_callbacks(execute=True):
        session = make.session(
            learner,
            anti_cheat_score=Decimal(SCORE),
            suspicious_patterns=[PATTERN],
            device_fingerprint=FINGERPRINT,
        )
    record = DecisionRecord.objects.get()
    assert (record.origin, record.viewer_id, record.viewer_roles) == ("completion", None, [])
    assert (record.session_id, record.learner_id) == (str(session.pk), str(learner.pk))
    assert record.answers["mentorship"]["status"] == "denied" and record.engines is None
    assert not any(secret in rows_as_text() or secret.encode() in lines.read_bytes() for secret in SECRETS)


def test_a_decision_is_traced_to_its_exact_rules_after_they_changed_twice(
    client: Client, world: people.Cast, settings: Any, tmp_path: Path, rules_dir: Path
) -> None:
    from missions.models import Mission

    for difficulty in (1, 2, 3):
        Mission.objects.create(code=f"M{difficulty}", title=f"Level {difficulty}", difficulty=difficulty)
    missions = rules_dir / "missions.yaml"
    rules_a = missions.read_bytes()
    records_to(settings, tmp_path, RULES_DIR=str(rules_dir))
    client.force_login(world["learner"])
    url = reverse("profiler_rules:student-missions")
    assert client.get(url).json()["max_difficulty"] == 2
    edit(missions, "intermediate: 2", "intermediate: 3")
    settings.PROFILER_RULES = {**settings.PROFILER_RULES}  # the app builds its dispatcher again
    assert client.get(url).json()["max_difficulty"] == 3
    edit(missions, "novice: 1", "novice: 2")
    settings.PROFILER_RULES = {**settings.PROFILER_RULES}
    client.get(url)

    first, second, third = DecisionRecord.objects.order_by("recorded_at", "id")
    assert len({first.ruleset_digest, second.ruleset_digest, third.ruleset_digest}) == 3
    assert KeptRuleSet.objects.count() == 3
    assert KeptRuleFile.objects.count() == len(get_dispatcher().ruleset.files) + 2  # each changed file once more

    out = StringIO()
    call_command("profiler_rules", "show-ruleset", first.ruleset_digest, stdout=out)
    assert rules_a.decode() in out.getvalue() and "intermediate: 3" not in out.getvalue()
    one = StringIO()
    call_command("profiler_rules", "show-ruleset", first.ruleset_digest[7:20], "--file", "missions", stdout=one)
    assert one.getvalue().encode() == rules_a

    kept = kept_ruleset(first.ruleset_digest)
    rebuilt = Dispatcher.from_rules(kept.write_rules(tmp_path / "rebuilt"))
    assert rebuilt.ruleset.digest == first.ruleset_digest
    learner = result_source().learner(world["learner"])
    viewer = {"user_id": first.viewer_id, "roles": first.viewer_roles}
    report = rebuilt.dispatch(
        learner.result, viewer=viewer, catalogs=catalogs.load("missions").prepared(rebuilt), engines=["missions"]
    )
    again = DecisionRecorder([]).record(report, ruleset=rebuilt.ruleset, viewer=viewer)
    assert again is not None
    assert again.model_dump(mode="json")["answers"] == first.answers


def test_show_ruleset_of_a_digest_not_kept_is_one_line(settings: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no rule set whose digest starts sha256:00000000 is kept") as raised:
        call_command("profiler_rules", "show-ruleset", "00000000")
    assert raised.value.returncode == 2


def test_a_failing_sink_is_counted_and_the_view_and_the_table_are_served(
    client: Client, world: people.Cast, settings: Any
) -> None:
    settings.PROFILER_RULES = {
        **settings.PROFILER_RULES,
        "RECORDS": {"SINKS": [{"CLASS": JSON_LINES_SINK, "OPTIONS": {"path": "/dev/full"}}, DATABASE_SINK]},
    }
    client.force_login(world["admin"])
    response = client.get(reverse("profiler_rules:mentee-results", args=[world["learner"].pk]))
    assert response.status_code == 200 and response.json()["anti_cheat"]["device_fingerprint"] == FINGERPRINT
    assert DecisionRecord.objects.count() == 1
    status = get_dispatcher().status().recorder
    assert status is not None and status.sinks["json-lines /dev/full"].failures == 1
    assert status.sinks["database"].written == 1
    assert FINGERPRINT not in str(status)


def test_records_off_writes_none_and_costs_no_query(
    client: Client, world: people.Cast, settings: Any, django_assert_max_num_queries: Any
) -> None:
    settings.PROFILER_RULES = {**settings.PROFILER_RULES, "RECORDS": {"ENABLED": False}}
    client.force_login(world["learner"])
    with django_assert_max_num_queries(7):  # as before records: login 2 + learner 4 + missions 1
        assert client.get(reverse("profiler_rules:student-missions")).status_code == 200
    assert not DecisionRecord.objects.exists() and get_dispatcher().status().recorder is None


def test_a_record_is_never_changed(client: Client, world: people.Cast) -> None:
    client.force_login(world["learner"])
    client.get(reverse("profiler_rules:student-missions"))
    record = DecisionRecord.objects.get()
    assert (
        Record.model_validate({**{field: getattr(record, field) for field in Record.model_fields}}).call_id
        == record.call_id
    )
    record.origin = "changed"
    with pytest.raises(TypeError, match="never changed"):
        record.save()
    with pytest.raises(TypeError, match="never changed"):
        DecisionRecord.objects.update(origin="changed")


def test_records_settings_mistakes_are_named_by_the_checks(settings: Any) -> None:
    from profiler_rules.contrib.django.checks import check_settings

    settings.PROFILER_RULES = {"RECORDS": {"ENABLD": True, "SINKS": ["no.such.Sink"], "RECORD_PROTECTED": "yes"}}
    found = {(message.id, message.msg.split(";")[0]) for message in check_settings()}
    assert ("profiler_rules.W002", "PROFILER_RULES['RECORDS'] has an unknown key 'ENABLD'") in found
    assert any(id_ == "profiler_rules.E007" and "['SINKS'][0] is 'no.such.Sink'" in msg for id_, msg in found)
    assert any(id_ == "profiler_rules.E009" and "RECORD_PROTECTED" in msg for id_, msg in found)
