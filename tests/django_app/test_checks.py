"""``manage.py check`` reports invalid rules at file:line:col and bad PROFILER_RULES settings, with ids and hints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.checks import CheckMessage, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from tests.conftest import edit, line_of
from tests.django_app.conftest import EXAMPLE_HOST


def messages(**profiler_rules: Any) -> list[CheckMessage]:
    """The app's check messages under PROFILER_RULES = ``profiler_rules``."""
    with override_settings(PROFILER_RULES=profiler_rules):
        return run_checks(tags=["profiler_rules"])


def ids(found: list[CheckMessage]) -> list[str]:
    return [message.id for message in found]


def test_the_example_host_passes_its_checks() -> None:
    assert messages(**settings.PROFILER_RULES) == []


def test_an_invalid_rule_is_one_error_at_its_file_line_and_column(rules_dir: Path) -> None:
    missions = rules_dir / "missions.yaml"
    edit(missions, "  elite: 4", "  elite: high")
    found = messages(RULES_DIR=str(rules_dir))
    assert ids(found) == ["profiler_rules.E001"]
    line = line_of(missions, "elite: high")
    assert found[0].msg == f"{missions}:{line}:10: error: 'high' is not of type 'integer' [levels.elite]"
    assert f"profiler-rules check --rules {rules_dir}" in found[0].hint


def test_every_problem_of_the_rules_is_its_own_message(rules_dir: Path) -> None:
    edit(rules_dir / "missions.yaml", "  elite: 4", "  elite: high")
    edit(rules_dir / "missions.yaml", "default_max_difficulty: 1", "default_max_dificulty: 1")
    found = messages(RULES_DIR=str(rules_dir))
    assert ids(found) == ["profiler_rules.E001"] * 3
    assert any("did you mean 'default_max_difficulty'?" in message.msg for message in found)


def test_call_command_check_fails_on_invalid_rules(rules_dir: Path) -> None:
    edit(rules_dir / "missions.yaml", "  elite: 4", "  elite: high")
    with override_settings(PROFILER_RULES={"RULES_DIR": str(rules_dir)}), pytest.raises(SystemCheckError) as raised:
        call_command("check")
    assert "(profiler_rules.E001)" in str(raised.value)
    assert f"{rules_dir / 'missions.yaml'}:" in str(raised.value)


def test_manage_py_check_names_the_mistake_and_exits_1(rules_dir: Path) -> None:
    missions = rules_dir / "missions.yaml"
    edit(missions, "  elite: 4", "  elite: high")
    environment = {**os.environ, "PROFILER_RULES_DIR": str(rules_dir)}
    environment.pop("EXAMPLE_HOST_DATABASE", None)
    run = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=EXAMPLE_HOST,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    line = line_of(missions, "elite: high")
    assert f"(profiler_rules.E001) {missions}:{line}:10: error: 'high' is not of type 'integer'" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_missing_rules_directory_is_e002(tmp_path: Path) -> None:
    found = messages(RULES_DIR=str(tmp_path / "nowhere"))
    assert ids(found) == ["profiler_rules.E002"]
    assert "no such rules directory" in found[0].msg
    assert "profiler-rules init DIR" in found[0].hint


def test_a_file_as_rules_directory_is_e002(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text("levels: {}\n")
    assert ids(messages(RULES_DIR=str(tmp_path / "rules.yaml"))) == ["profiler_rules.E002"]


def test_a_rules_directory_that_is_not_a_path_is_e002() -> None:
    found = messages(RULES_DIR=42)
    assert ids(found) == ["profiler_rules.E002"]
    assert "must be a path or None, not int" in found[0].msg


def test_settings_that_are_not_a_dict_are_e003() -> None:
    with override_settings(PROFILER_RULES=["RULES_DIR", "rules"]):
        found = run_checks(tags=["profiler_rules"])
    assert ids(found) == ["profiler_rules.E003"]
    assert found[0].msg == "PROFILER_RULES must be a dict, not list"


def test_a_mistyped_key_is_a_warning_with_the_key_it_resembles(tmp_path: Path) -> None:
    found = messages(RULE_DIR=str(tmp_path))
    assert ids(found) == ["profiler_rules.W001"]
    assert found[0].msg == "PROFILER_RULES has an unknown key 'RULE_DIR'; the app does not read it"
    assert found[0].hint == "did you mean 'RULES_DIR'?"


def test_a_user_id_that_is_neither_pk_nor_uuid_id_is_e004() -> None:
    found = messages(USER_ID="uuid")
    assert ids(found) == ["profiler_rules.E004"]
    assert "'uuid'; it must be 'pk' or 'uuid_id'" in found[0].msg
    assert messages(USER_ID="uuid_id") == []


def test_a_user_id_field_the_user_model_lacks_is_e004() -> None:
    # The session model's user is what USER_ID reads; here it is a users.Role, which has no uuid_id.
    found = messages(USER_ID="uuid_id", MODELS={"session": "users.UserRole"}, FIELDS={"session": {"user": "role"}})
    assert [message.msg for message in found if message.id == "profiler_rules.E004"] == [
        "PROFILER_RULES['USER_ID'] is 'uuid_id', but users.Role has no field 'uuid_id'"
    ]


def test_a_model_that_is_not_installed_is_e005() -> None:
    found = messages(MODELS={"recipe": "recipes.Recipie"})
    assert ids(found) == ["profiler_rules.E005"]
    assert found[0].msg == "PROFILER_RULES['MODELS']['recipe'] is 'recipes.Recipie', which names no installed model"


def test_a_model_key_the_app_does_not_read_is_a_warning() -> None:
    found = messages(MODELS={"recipes": "recipes.Recipe"})
    assert ids(found) == ["profiler_rules.W002"]
    assert found[0].hint == "did you mean 'recipe'?"


def test_a_field_the_model_lacks_is_e006_following_relations() -> None:
    found = messages(FIELDS={"answer": {"category": "question__categry"}})
    assert ids(found) == ["profiler_rules.E006"]
    assert found[0].msg == (
        "PROFILER_RULES['FIELDS']['answer']['category'] is 'question__categry': profiler.ProfilerQuestion has no field 'categry'"
    )
    found = messages(FIELDS={"mission": {"difficulty": "difficulty__level"}})
    assert ids(found) == ["profiler_rules.E006"]
    assert "missions.Mission.difficulty is not a relation" in found[0].msg


def test_fields_follow_the_models_the_settings_name() -> None:
    # A job posting in the missions' place has neither of the mission fields the app reads.
    found = messages(MODELS={"mission": "marketplace.JobPosting"})
    assert [message.msg for message in found] == [
        "PROFILER_RULES['FIELDS']['mission']['difficulty'] is 'difficulty': marketplace.JobPosting has no field 'difficulty'",
        "PROFILER_RULES['FIELDS']['mission']['active'] is 'is_active': marketplace.JobPosting has no field 'is_active'",
    ]
    assert (
        messages(
            MODELS={"mission": "marketplace.JobPosting"}, FIELDS={"mission": {"difficulty": "title", "active": "id"}}
        )
        == []
    )


def test_a_dotted_path_that_does_not_import_is_e007() -> None:
    found = messages(
        RESULT_SOURCE="profiler_rules.contrib.django.sources.ResultSorce",
        RELATIONS={"mentee_ids": "no_such_module.mentees"},
    )
    assert ids(found) == ["profiler_rules.E007", "profiler_rules.E007"]
    assert "RESULT_SOURCE" in found[0].msg and "does not import" in found[0].msg
    assert "RELATIONS']['mentee_ids']" in found[1].msg


def test_a_relation_the_app_does_not_read_is_a_warning() -> None:
    found = messages(RELATIONS={"mentees": "profiler_rules.contrib.django.viewers.viewer_source"})
    assert ids(found) == ["profiler_rules.W002"]
    assert found[0].hint == "did you mean 'mentee_ids'?"


def test_watch_without_watchfiles_is_e008(rules_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # what Python sees when it is not installed
    found = messages(RULES_DIR=str(rules_dir), WATCH=True)
    assert ids(found) == ["profiler_rules.E008"]
    assert "pip install 'profiler-rules[watch]'" in found[0].hint


def test_watch_of_the_packaged_rules_is_a_warning() -> None:
    assert ids(messages(WATCH=True)) == ["profiler_rules.W005"]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("CHUNK_SIZE", 0, "a positive integer"),
        ("CHUNK_SIZE", "500", "a positive integer"),
        ("WATCH", "yes", "True or False"),
        ("ROLES", ["mentee"], "a dict of the host's role names"),
        ("COMPLETE_STATUSES", "finished", "a list of session statuses"),
        ("STAFF_ROLE", 1, "a role name, or None"),
        ("MODELS", ["profiler.ProfilerSession"], "a dict of 'app_label.ModelName'"),
        ("FIELDS", {"session": "user"}, "a dict of {name: field} dicts"),
    ],
)
def test_a_setting_of_the_wrong_type_is_e009(key: str, value: Any, expected: str) -> None:
    found = messages(**{key: value})
    assert ids(found) == ["profiler_rules.E009"]
    assert found[0].msg.startswith(f"PROFILER_RULES[{key!r}] must be {expected}")
    assert "leave it out for the default" in found[0].hint


def test_a_rule_file_warning_is_w003(rules_dir: Path) -> None:
    (rules_dir / "recipes.yaml").unlink()
    found = messages(RULES_DIR=str(rules_dir))
    assert ids(found) == ["profiler_rules.W003"]
    assert "no rule file for engine 'recipes'; using its packaged default" in found[0].msg


def test_the_checks_of_another_app_leave_the_rules_alone(rules_dir: Path) -> None:
    from django.apps import apps

    edit(rules_dir / "missions.yaml", "  elite: 4", "  elite: high")
    with override_settings(PROFILER_RULES={"RULES_DIR": str(rules_dir)}):
        assert run_checks(app_configs=[apps.get_app_config("missions")], tags=["profiler_rules"]) == []
        assert ids(run_checks(app_configs=[apps.get_app_config("profiler_rules")], tags=["profiler_rules"])) == [
            "profiler_rules.E001"
        ]
