"""The admin pages: every row the app keeps can be found and read, by learner, session and digest; none edited."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_host import factories as make

from profiler_rules.contrib.django.models import (
    DecisionRecord,
    KeptRuleFile,
    KeptRuleSet,
    ProfilerDecision,
    ReevaluationChunk,
    ReevaluationRun,
)

pytestmark = pytest.mark.django_db

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


@pytest.fixture
def staff_client(client: Client) -> Client:
    client.force_login(make.user(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def decisions() -> list[ProfilerDecision]:
    now = timezone.now()
    rows = [
        ProfilerDecision(
            session_id=session,
            learner_id=learner,
            engine=engine,
            status="ok",
            output={"max_difficulty": 1},
            ruleset_digest=digest,
            decided_at=now,
        )
        for session, learner, digest in (("s-101", "7", DIGEST_A), ("s-202", "8", DIGEST_B), ("s-303", "77", DIGEST_A))
        for engine in ("missions", "recipes")
    ]
    return ProfilerDecision.objects.bulk_create(rows)


def changelist(model: type[Any]) -> str:
    return reverse(f"admin:profiler_rules_{model._meta.model_name}_changelist")


def listed_sessions(client: Client, search: str) -> set[str]:
    response = client.get(changelist(ProfilerDecision), {"q": search})
    assert response.status_code == 200
    return {row.session_id for row in response.context["cl"].result_list}


def test_decisions_are_found_by_learner_session_and_digest(staff_client: Client, decisions: Any) -> None:
    assert listed_sessions(staff_client, "7") == {"s-101"}  # exactly learner 7: not 77
    assert listed_sessions(staff_client, "s-202") == {"s-202"}
    assert listed_sessions(staff_client, DIGEST_A[:15]) == {"s-101", "s-303"}
    assert listed_sessions(staff_client, "") == {"s-101", "s-202", "s-303"}


def test_runs_are_found_by_digest(staff_client: Client) -> None:
    now = timezone.now()
    for digest in (DIGEST_A, DIGEST_B):
        ReevaluationRun.objects.create(ruleset_digest=digest, started_at=now, updated_at=now)
    response = staff_client.get(changelist(ReevaluationRun), {"q": DIGEST_B[:12]})
    assert [run.ruleset_digest for run in response.context["cl"].result_list] == [DIGEST_B]


@pytest.mark.parametrize("model", [ProfilerDecision, ReevaluationRun])  # records and rule sets: below
def test_pages_only_show(staff_client: Client, model: type[Any]) -> None:
    now = timezone.now()
    if model is ProfilerDecision:
        row = ProfilerDecision.objects.create(
            session_id="s-1", learner_id="1", engine="missions", status="ok", ruleset_digest=DIGEST_A, decided_at=now
        )
    else:
        row = ReevaluationRun.objects.create(ruleset_digest=DIGEST_A, started_at=now, updated_at=now)
    name = f"admin:profiler_rules_{model._meta.model_name}"
    shown = staff_client.get(reverse(f"{name}_change", args=[row.pk]))
    assert shown.status_code == 200
    assert shown.context["has_change_permission"] is False  # no save button: a superuser reads, never edits
    assert staff_client.get(reverse(f"{name}_add")).status_code == 403
    assert staff_client.get(reverse(f"{name}_delete", args=[row.pk])).status_code == 403
    assert staff_client.post(reverse(f"{name}_change", args=[row.pk]), {"status": "error"}).status_code == 403
    assert model.objects.filter(pk=row.pk).count() == 1


def test_pages_are_for_staff_only(client: Client, decisions: Any) -> None:
    client.force_login(make.user("admin"))  # the access rules' admin role is not Django staff
    response = client.get(changelist(ProfilerDecision))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_record_leads_to_its_rule_set_and_the_rule_set_shows_its_exact_files(staff_client: Client) -> None:
    from profiler_rules import Dispatcher
    from profiler_rules.contrib.django.records import keep_ruleset

    ruleset = Dispatcher.from_rules().ruleset
    keep_ruleset(ruleset)
    record = DecisionRecord.objects.create(
        call_id="c" * 32,
        recorded_at=timezone.now(),
        session_id="s-9",
        learner_id="9",
        answers={"missions": {"status": "ok", "output": {"max_difficulty": 1}, "warnings": [], "error": None}},
        ruleset_digest=ruleset.digest,
    )
    for search in ("9", "s-9", "c" * 32, ruleset.digest[:14]):
        listed = staff_client.get(changelist(DecisionRecord), {"q": search}).context["cl"].result_list
        assert [row.pk for row in listed] == [record.pk]

    shown = staff_client.get(reverse("admin:profiler_rules_decisionrecord_change", args=[record.pk]))
    text = shown.content.decode()
    assert "max_difficulty" in text and f"?q={ruleset.digest}" in text

    kept = KeptRuleSet.objects.get(digest=ruleset.digest)
    assert list(staff_client.get(changelist(KeptRuleSet), {"q": ruleset.digest}).context["cl"].result_list) == [kept]
    page = staff_client.get(reverse("admin:profiler_rules_keptruleset_change", args=[kept.pk])).content.decode()
    stem, missions_rules = next((stem, raw) for stem, raw in ruleset.files if stem == "missions")
    assert html.escape(missions_rules.decode()) in page  # every byte of the file, as written


def test_a_damaged_rule_set_says_so_and_shows_no_file(staff_client: Client) -> None:
    from profiler_rules import Dispatcher
    from profiler_rules.contrib.django.records import keep_ruleset

    ruleset = Dispatcher.from_rules().ruleset
    keep_ruleset(ruleset)
    kept = KeptRuleSet.objects.get(digest=ruleset.digest)
    KeptRuleFile.objects.filter(sha256=kept.files[-1]["sha256"]).update(content=b"tampered: 1\n")
    page = staff_client.get(reverse("admin:profiler_rules_keptruleset_change", args=[kept.pk])).content.decode()
    assert "tampered" not in page and "<pre>" not in page
    assert "the archive is damaged" in page


def test_a_celery_run_shows_its_progress_and_each_chunk(staff_client: Client) -> None:
    now = timezone.now()
    run = ReevaluationRun.objects.create(
        ruleset_digest=DIGEST_A, started_at=now, updated_at=now, on_celery=True, chunks_total=3, chunks_done=1
    )
    ReevaluationChunk.objects.create(run=run, index=0, first_user_pk="1", last_user_pk="1000", size=1000, state="done")
    ReevaluationChunk.objects.create(
        run=run, index=1, first_user_pk="1001", last_user_pk="2000", size=1000, state="failed", error="rules changed"
    )
    listed = staff_client.get(changelist(ReevaluationRun)).content.decode()
    assert "1 of 3 chunk(s)" in listed
    page = staff_client.get(reverse("admin:profiler_rules_reevaluationrun_change", args=[run.pk])).content.decode()
    assert "rules changed" in page and "1001" in page and "2000" in page
