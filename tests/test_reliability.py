"""Hostile inputs, plugin faults, batch without loss, determinism: the guarantees of the README."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiler_rules import Dispatcher, DispatchReport, InvalidInputError, PluginLoadError, ProfilerResult
from profiler_rules.core.models import MAX_FREE_FORM_DEPTH, MAX_FREE_FORM_VALUES, MAX_ID, MAX_ITEMS, MAX_TEXT

from .conftest import EXAMPLES, FIXTURE_PLUGINS, install_plugin, result, run_cli

EXAMPLE = json.loads((EXAMPLES / "result.json").read_text())
ADMIN = {"user_id": "admin-1", "roles": ["admin"]}
HYPOTHESIS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)


def outcome_of(dispatcher: Dispatcher, raw: Any) -> DispatchReport | InvalidInputError:
    """A report, or the one exception a host must handle; anything else fails the property."""
    try:
        return dispatcher.dispatch(raw, viewer=ADMIN)
    except InvalidInputError as error:
        assert error.errors, "an input error lists its fields"
        for item in error.errors:
            assert isinstance(item.field, str) and item.message
        return error


# --- hostile inputs ----------------------------------------------------------------------------


@HYPOTHESIS
@given(raw=json_values)
def test_any_json_is_a_report_or_an_error_naming_fields(dispatcher: Dispatcher, raw: Any) -> None:
    outcome_of(dispatcher, raw)


FIELDS = [key for key in EXAMPLE if key not in ("session_id", "user_id")]


@HYPOTHESIS
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_any_value_in_any_field_is_a_report_or_an_error_naming_that_field(
    dispatcher: Dispatcher, field: str, value: Any
) -> None:
    outcome = outcome_of(dispatcher, EXAMPLE | {field: value})
    if isinstance(outcome, InvalidInputError):
        assert all(name.split(".")[0] == field for name in outcome.fields)
    else:
        json.loads(outcome.model_dump_json())  # and the report always serialises


@HYPOTHESIS
@given(text=st.text(max_size=200))
def test_any_json_text_is_a_report_or_an_error(dispatcher: Dispatcher, text: str) -> None:
    outcome_of(dispatcher, text)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"technical_exposure_score": float("nan")}, "technical_exposure_score"),
        ({"technical_exposure_score": float("inf")}, "technical_exposure_score"),
        ({"scores": {"overall": 1e308}}, "scores.overall"),
        ({"scores": {"overall": 10**400}}, "scores.overall"),
        (
            {"aptitude_breakdown": {"web": {"correct": 10**30, "total": 10**31}}},
            "aptitude_breakdown.web.counts.correct",
        ),
    ],
)
def test_numbers_out_of_every_range_are_rejected(dispatcher: Dispatcher, fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch(result(**fields))
    assert raised.value.fields[0].startswith(field.split(".counts")[0])


def test_non_finite_numbers_are_named_as_such(dispatcher: Dispatcher) -> None:
    with pytest.raises(InvalidInputError, match="technical_exposure_score: Input should be a finite number"):
        dispatcher.dispatch(result(technical_exposure_score="NaN"))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"session_id": "s" * (MAX_ID + 1)}, "session_id"),
        ({"answers": {"why_cyber": "x" * (MAX_TEXT + 1)}}, "answers.why_cyber"),
        ({"strengths": ["curious"] * (MAX_ITEMS + 1)}, "strengths"),
        ({"aptitude_breakdown": {f"c{index}": 50 for index in range(MAX_ITEMS + 1)}}, "aptitude_breakdown"),
        ({"future_you_persona": {"notes": "x" * (MAX_TEXT + 1)}}, "future_you_persona"),
    ],
)
def test_long_strings_and_long_lists_are_rejected_by_stated_bounds(
    dispatcher: Dispatcher, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch(result(**fields))
    assert raised.value.fields[0].startswith(field)


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"deeper": value}
    return value


def test_free_form_json_is_bounded_in_depth_and_size(dispatcher: Dispatcher) -> None:
    dispatcher.dispatch(result(future_you_persona=nested(MAX_FREE_FORM_DEPTH - 1)))
    for persona, words in (
        (nested(MAX_FREE_FORM_DEPTH + 1), "nested deeper"),
        (nested(10_000), "nested deeper"),
        ({"items": list(range(MAX_FREE_FORM_VALUES + 1))}, "more than"),
    ):
        with pytest.raises(InvalidInputError, match=words) as raised:
            dispatcher.dispatch(result(future_you_persona=persona))
        assert raised.value.fields == ("future_you_persona",)


def test_deeply_nested_json_text_is_an_error_not_a_crash(dispatcher: Dispatcher) -> None:
    text = '{"session_id": "s", "user_id": "u", "future_you_persona": ' + '{"a": ' * 10_000 + "1" + "}" * 10_001
    with pytest.raises(InvalidInputError):
        dispatcher.dispatch(text)


def test_results_are_read_only_all_the_way_down() -> None:
    parsed = ProfilerResult.model_validate(EXAMPLE)
    with pytest.raises(TypeError, match="read-only"):
        parsed.aptitude_breakdown["networking"] = 100.0  # type: ignore[index]
    with pytest.raises(TypeError, match="read-only"):
        parsed.behavioral_profile.traits.clear()
    with pytest.raises(TypeError, match="read-only"):
        parsed.future_you_persona["name"] = "x"  # type: ignore[index]
    assert json.loads(parsed.model_dump_json())["aptitude_breakdown"]["networking"] == 45.5


# --- plugin faults -----------------------------------------------------------------------------


@pytest.fixture
def faulty(site: Path) -> Any:
    shutil.copytree(FIXTURE_PLUGINS / "faulty_engines", site / "faulty_engines")
    import faulty_engines  # type: ignore[import-not-found]

    return faulty_engines


@pytest.mark.parametrize("attempt", ["breakdown", "field", "traits", "persona"])
def test_an_engine_that_changes_the_input_fails_alone_and_changes_nothing(
    faulty: Any, tmp_path: Path, attempt: str
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(EXAMPLES.parent / "rules", rules)
    (rules / "mutating.yaml").write_text("{}\n")
    dispatcher = Dispatcher.from_rules(rules, plugins=[faulty.MutatingFirst(attempt)], entry_points=False)
    shared = ProfilerResult.model_validate(EXAMPLE)
    first = dispatcher.dispatch(shared, viewer=ADMIN)
    second = dispatcher.dispatch(shared, viewer=ADMIN)
    assert first.engines["mutating"].status == "error"
    assert "AssertionError" not in (first.engines["mutating"].error or "")
    assert shared == ProfilerResult.model_validate(EXAMPLE)
    clean = Dispatcher.from_rules(entry_points=False).dispatch(EXAMPLE, viewer=ADMIN)

    def decided(answer: Any) -> Any:  # the rule files live elsewhere; what they decide must not differ
        return (answer.status, answer.output, answer.warnings, [because.message for because in answer.explain])

    for name, answer in clean.engines.items():
        assert decided(first.engines[name]) == decided(answer) == decided(second.engines[name])


def test_a_schema_that_raises_is_reported_by_plugin(faulty: Any) -> None:
    dispatcher = Dispatcher.from_rules(plugins=[faulty.SchemaFailsPlugin()], entry_points=False)
    assert "schema_fails" not in dispatcher.engines
    assert dispatcher.plugin_problems == (
        "plugin 'SchemaFailsPlugin': engine 'schema_fails': its settings model NoSchemaRules has no JSON Schema: "
        "Cannot generate a JsonSchema for core_schema.CallableSchema",
    )


def test_strict_mode_turns_plugin_faults_into_failures(faulty: Any, tmp_path: Path) -> None:
    with pytest.raises(PluginLoadError, match="plugin 'RegistrationFails'"):
        Dispatcher.from_rules(plugins=[faulty.RegistrationFails()], entry_points=False, strict=True)
    site = tmp_path / "other-site"
    site.mkdir()
    install_plugin(site, "broken_at_import", entry_point="broken")
    env = {"PYTHONPATH": str(site)}
    assert run_cli("check", env=env).code == 0
    for command in (["check"], ["plugins"], ["test", "-k", "elite"], ["dispatch", "--example"]):
        strict = run_cli(*command, "--strict", env=env)
        assert strict.code == 1, command
        assert "--strict: 1 plugin fault(s)" in strict.stderr
        assert "Traceback" not in strict.stderr


def test_strict_dispatch_fails_on_an_engine_error(tmp_path: Path) -> None:
    site = tmp_path / "other-site"
    site.mkdir()
    install_plugin(site, "faulty_engines", entry_point="faulty")
    env = {"PYTHONPATH": str(site)}
    relaxed = run_cli("dispatch", "--example", env=env)
    assert relaxed.code == 0
    assert relaxed.json()["engines"]["raising"]["status"] == "error"
    assert relaxed.json()["engines"]["missions"]["status"] == "ok"
    strict = run_cli("dispatch", "--example", "--strict", env=env)
    assert strict.code == 1
    assert "--strict: engine(s) failed: raising" in strict.stderr


# --- batch without loss ------------------------------------------------------------------------


def test_a_messy_jsonl_file_gives_one_record_per_line_in_order(tmp_path: Path) -> None:
    good = json.dumps(result(difficulty_selection="elite"))
    lines = [good, "{broken", json.dumps({"session_id": "x"}), "", "   ", good, '"just text"', good[: len(good) // 2]]
    source = tmp_path / "messy.jsonl"
    source.write_text("\n".join(lines))  # the last line is cut short and has no newline
    for workers in ("1", "2"):
        run = run_cli("dispatch", str(source), "--workers", workers)
        records = [json.loads(line) for line in run.stdout.splitlines()]
        assert len(records) == len(lines)
        assert [record.get("line") for record in records] == [None, 2, 3, 4, 5, None, 7, 8]
        assert records[2]["fields"] == ["user_id"]
        assert run.code == 1
        assert "8 line(s): 2 dispatched, 6 with errors" in run.stderr


def write_results(path: Path, count: int) -> Path:
    with path.open("w") as out:
        for index in range(count):
            out.write(
                json.dumps(result(session_id=f"s-{index}", difficulty_selection=("novice", "elite")[index % 2])) + "\n"
            )
    return path


def test_an_interrupted_run_resumes_without_duplicates_or_gaps(tmp_path: Path) -> None:
    source = write_results(tmp_path / "results.jsonl", 6000)
    expected = tmp_path / "expected.jsonl"
    assert run_cli("dispatch", str(source), "--output", str(expected)).code == 0
    output = tmp_path / "out.jsonl"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PROFILER_RULES_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "profiler_rules", "dispatch", str(source), "--output", str(output)], env=environment
    )
    deadline = time.monotonic() + 60
    while (not output.exists() or output.stat().st_size < 200_000) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert output.stat().st_size < expected.stat().st_size, "the run was interrupted before the end"
    resumed = run_cli("dispatch", str(source), "--output", str(output), "--resume")
    assert resumed.code == 0, resumed.stderr
    assert "resumed after line" in resumed.stderr
    assert output.read_bytes() == expected.read_bytes()


def test_a_record_cut_in_the_middle_is_written_again(tmp_path: Path) -> None:
    source = write_results(tmp_path / "results.jsonl", 50)
    expected = tmp_path / "expected.jsonl"
    run_cli("dispatch", str(source), "--output", str(expected))
    output = tmp_path / "out.jsonl"
    data = expected.read_bytes()
    output.write_bytes(data[: len(data) // 2 + 7])
    run_cli("dispatch", str(source), "--output", str(output), "--resume")
    assert output.read_bytes() == data


def test_resume_needs_an_output_file(tmp_path: Path) -> None:
    run = run_cli("dispatch", str(write_results(tmp_path / "r.jsonl", 2)), "--resume")
    assert run.code == 2 and "--resume needs --output" in run.stderr


# --- determinism -------------------------------------------------------------------------------


def test_output_is_byte_identical_across_runs_and_hash_seeds(tmp_path: Path) -> None:
    source = tmp_path / "results.jsonl"
    sample = [
        EXAMPLE,
        *[EXAMPLE | {"session_id": f"s-{index}", "difficulty_selection": "Elite "} for index in range(20)],
    ]
    source.write_text("".join(json.dumps(item) + "\n" for item in sample))
    outputs = set()
    for seed in ("0", "1", "4242"):
        for command in (["dispatch", "--example"], ["dispatch", str(source), "--viewer", json.dumps(ADMIN)]):
            run = run_cli(*command, env={"PYTHONHASHSEED": seed})
            outputs.add((tuple(command), run.stdout))
    assert len(outputs) == 2, "each command printed the same bytes under every hash seed"
