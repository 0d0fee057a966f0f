"""Issue 12, Deliver 4 (second pass): the per-result path pays no Python-level work it can do without.

Timings are too noisy on a shared machine to fail a test on, so these tests count what a dispatch does
instead: which Python functions it calls (through ``sys.setprofile``) and which objects it makes.
Each one names a cost that was measured and cut; bench/RESULTS.md has the timings.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pydantic
import pytest

from profiler_rules import Dispatcher, ProfilerResult
from profiler_rules.core.models import AptitudeCounts, percentage_of

from .conftest import EXAMPLES, sample_results

EXAMPLE = json.loads((EXAMPLES / "result.json").read_text())
EXAMPLE_CATALOGS = json.loads((EXAMPLES / "catalogs.json").read_text())
ADMIN = {"user_id": "admin-1", "roles": ["admin"]}
PYDANTIC_PACKAGE = str(Path(pydantic.__file__).parent)


@pytest.fixture(scope="module")
def varied() -> list[dict[str, Any]]:
    return [EXAMPLE, *sample_results(200, seed=21)]


def python_calls(run: Callable[[], Any]) -> Counter[tuple[str, str]]:
    """The Python functions ``run`` calls, as (file, function name), with how often."""
    calls: Counter[tuple[str, str]] = Counter()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            calls[frame.f_code.co_filename, frame.f_code.co_name] += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls


def pydantic_python_calls(calls: Counter[tuple[str, str]]) -> dict[str, int]:
    return {name: count for (file, name), count in calls.items() if file.startswith(PYDANTIC_PACKAGE)}


@pytest.mark.parametrize("explain", [True, False], ids=["explained", "unexplained"])
def test_a_dispatch_builds_every_model_in_pydantics_compiled_core(
    dispatcher: Dispatcher, varied: list[dict[str, Any]], explain: bool
) -> None:
    """No engine's output goes through pydantic's Python wrappers (``Model(...)``, ``model_validate``),
    which cost a microsecond more than the compiled validator, per engine and result."""
    catalogs = dispatcher.prepare_catalogs(EXAMPLE_CATALOGS)

    def run() -> None:
        for given in varied:
            dispatcher.dispatch(given, viewer=ADMIN, catalogs=catalogs, explain=explain)

    run()  # the first dispatches may fill caches (cached properties of the rules) through pydantic
    assert pydantic_python_calls(python_calls(run)) == {}


def test_validating_a_result_calls_no_python_for_what_it_leaves_out() -> None:
    """A result without a completion time, and with its optional mappings and lists empty, is
    validated without reading a time zone or comparing names (and so without folding any)."""
    given = {
        "session_id": "s-1",
        "user_id": "u-1",
        "status": "finished",
        "completed_at": None,
        "aptitude_breakdown": {},
        "track_alignment": {},
        "strengths": [],
        "areas_for_growth": [],
    }
    validate = ProfilerResult.__pydantic_validator__.validate_python
    calls = python_calls(lambda: validate(given))
    ours = {name for (file, name) in calls if file.endswith("models.py")}
    assert ours.isdisjoint({"_aware", "in_utc", "_distinct_names", "name_key"})
    assert "_all_cohorts" in ours  # the model's own check of its cohorts, which always runs: the profile sees it


def test_results_share_one_empty_read_only_mapping(varied: list[dict[str, Any]]) -> None:
    """Empty mappings of a result are one shared, read-only mapping rather than one made per result,
    and they stay read-only and equal to ``{}``."""
    first = ProfilerResult.model_validate({"session_id": "s-1", "user_id": "u-1", "aptitude_breakdown": {}})
    second = ProfilerResult.model_validate(
        {"session_id": "s-2", "user_id": "u-2", "track_alignment": {}, "behavioral_profile": {"traits": {}}}
    )
    assert first.aptitude_breakdown is second.track_alignment is second.behavioral_profile.traits
    assert first.aptitude_breakdown == {}
    with pytest.raises(TypeError, match="read-only"):
        first.aptitude_breakdown["networking"] = 50.0  # type: ignore[index]
    assert second.model_dump()["track_alignment"] == {}


def test_a_completion_time_is_still_read_as_utc() -> None:
    """The completion time's check moved inside ``| None``: a naive time is still read as UTC, an aware
    one keeps its offset, and ``None`` stays ``None``."""
    naive = ProfilerResult.model_validate({"session_id": "s", "user_id": "u", "completed_at": "2026-02-01T10:00:00"})
    aware = ProfilerResult.model_validate(
        {"session_id": "s", "user_id": "u", "completed_at": "2026-02-01T10:00:00-05:00"}
    )
    unknown = ProfilerResult.model_validate({"session_id": "s", "user_id": "u", "completed_at": None})
    assert naive.completed_at is not None and naive.completed_at.utcoffset() is not None
    assert naive.completed_at.isoformat() == "2026-02-01T10:00:00+00:00"
    assert aware.completed_at is not None and aware.completed_at.isoformat() == "2026-02-01T10:00:00-05:00"
    assert unknown.completed_at is None


@pytest.mark.parametrize(
    ("entry", "shape"),
    [(62.4, "percentage"), ("62.40", "percentage"), (62, "percentage"), ({"correct": 3, "total": 4}, "counts")],
)
def test_a_breakdown_entry_is_read_in_its_shape(entry: Any, shape: str) -> None:
    """Telling the two stored shapes apart by type first reads each as before."""
    checked = ProfilerResult.model_validate({"session_id": "s", "user_id": "u", "aptitude_breakdown": {"aws": entry}})
    read = checked.aptitude_breakdown["aws"]
    assert isinstance(read, AptitudeCounts) == (shape == "counts")
    assert percentage_of(read) == (75.0 if shape == "counts" else 62.4 if entry != 62 else 62.0)


def test_a_boolean_breakdown_entry_is_still_refused_as_a_number() -> None:
    from profiler_rules import InvalidInputError
    from profiler_rules.core.models import validate_input

    with pytest.raises(InvalidInputError) as raised:
        validate_input(
            ProfilerResult, {"session_id": "s", "user_id": "u", "aptitude_breakdown": {"aws": True}}, "profiler result"
        )
    assert [(item.field, item.message) for item in raised.value.errors] == [
        ("aptitude_breakdown.aws.percentage", "a boolean is not a number (got True)")
    ]


def test_an_access_check_puts_in_words_only_what_its_grant_names(dispatcher: Dispatcher) -> None:
    """A grant of a role alone (``role: admin``) explains itself in words written once per rule set;
    the subject's cohorts are put in words only for a grant that names them (``own_cohort``)."""
    from profiler_rules import Viewer
    from profiler_rules.core.access import Subject

    access = dispatcher.ruleset.access
    subject = Subject("learner-1", "cohort-a", "sponsor-a", ("cohort-a", "cohort-b"))
    admin = Viewer.model_validate(ADMIN)
    director = Viewer.model_validate({"user_id": "d-1", "roles": ["director"], "cohort_ids": ["cohort-b"]})

    calls = python_calls(lambda: access.check("cohort_analytics", admin, subject))
    assert not any(name == "cohorts_in_words" for _, name in calls)
    decision = access.check("cohort_analytics", admin, subject)
    assert [item.message for item in decision.explain] == ["the viewer has role admin → cohort_analytics allowed"]

    decision = access.check("cohort_analytics", director, subject)
    assert [item.message for item in decision.explain] == [
        "the viewer has role director and holds cohort cohort-a or cohort-b → cohort_analytics allowed"
    ]


@pytest.mark.parametrize(
    ("cohort_id", "cohort_ids", "words"),
    [
        (None, (), "None"),
        ("c-1", (), "c-1"),
        ("c-1", ("c-1",), "c-1"),
        ("", ("",), "None"),
        (None, ("c-2",), "c-2"),
        ("c-1", ("c-2",), "c-1 or c-2"),
        ("c-1", ("c-1", "c-2", "c-1"), "c-1 or c-2"),
    ],
)
def test_a_subjects_cohorts_in_words(cohort_id: str | None, cohort_ids: tuple[str, ...], words: str) -> None:
    from profiler_rules.core.access import Subject

    assert Subject("u", cohort_id, None, cohort_ids).cohorts_in_words == words


def test_a_left_out_trait_named_by_a_lone_surrogate_is_named_in_a_report_that_can_be_written(
    dispatcher: Dispatcher,
) -> None:
    """Found by test_hardening_inputs' hypothesis run: a flat behavioral profile whose key is a lone
    surrogate and whose value is left out made a warning no JSON writer can write. The key is shown
    escaped."""
    report = dispatcher.dispatch({"session_id": "s", "user_id": "u", "behavioral_profile": {"\ud800": None}})
    assert report.warnings == ("behavioral_profile.\\ud800: left out: a trait's value must be a number from 0 to 10",)
    assert json.loads(dispatcher.to_json(report)[1])["warnings"] == list(report.warnings)


def test_a_persona_of_plain_values_is_read_without_a_call_per_value() -> None:
    """Free-form JSON's usual values (short text, floats, null) are checked in one loop per mapping or
    list, not by a call each; nested mappings and lists, integers and booleans still are."""
    persona = {f"key{index}": value for index, value in enumerate(["Cyber Sentinel", 0.75, None] * 10)}
    given = {"session_id": "s", "user_id": "u", "future_you_persona": persona}
    calls = python_calls(lambda: ProfilerResult.__pydantic_validator__.validate_python(given))
    assert calls[next(key for key in calls if key[1] == "_frozen_json")] == 1  # the persona itself only
    assert ProfilerResult.model_validate(given).future_you_persona == persona


def nested(lists: int) -> Any:
    """A text inside ``lists`` lists: as a persona's value, at depth ``lists + 2`` (the persona is 1)."""
    value: Any = "deep"
    for _ in range(lists):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("persona", "problem"),
    [
        ({"a": "x" * 10_001}, "holds text longer than 10000 characters"),
        ({"a": "caf\ud800"}, "holds text that is not Unicode (a lone surrogate)"),
        ({"a": float("nan")}, "holds a number that is not finite"),
        ({"a": [float("inf")]}, "holds a number that is not finite"),
        ({"a": 2**63}, "holds an integer of more than 64 bits"),
        ({"a": {"\ud800": 1}}, "has a key that is not text"),
        ({"a": ["x"] * 1_000}, "holds more than 1000 values"),
        ({"a": {f"k{index}": None for index in range(999)}}, "holds more than 1000 values"),
        ({"a": nested(15)}, "is nested deeper than 16 levels"),
        ({"a": b"bytes"}, "holds a bytes, which is not JSON"),
    ],
)
def test_free_form_json_is_checked_as_before(persona: dict[str, Any], problem: str) -> None:
    from profiler_rules import InvalidInputError
    from profiler_rules.core.models import validate_input

    with pytest.raises(InvalidInputError) as raised:
        validate_input(ProfilerResult, {"session_id": "s", "user_id": "u", "future_you_persona": persona}, "result")
    assert [(item.field, item.message) for item in raised.value.errors] == [("future_you_persona", problem)]


def test_free_form_json_at_its_limits_is_read() -> None:
    at_budget = {"a": ["x"] * 998}  # the persona, its list and 998 texts: 1,000 values
    for persona in (at_budget, {"a": nested(14)}, {"a": "x" * 10_000, "b": 2**63 - 1, "c": True, "d": None}):
        read = ProfilerResult.model_validate({"session_id": "s", "user_id": "u", "future_you_persona": persona})
        assert json.loads(json.dumps(read.model_dump()["future_you_persona"])) == json.loads(json.dumps(persona))


@pytest.mark.parametrize(
    ("given", "read"), [("62.40", 62.4), (" 62.4 ", 62.4), (62, 62.0), (62.4, 62.4), ("1e1", 10.0)]
)
def test_a_score_is_read_from_text_or_a_number(given: Any, read: float) -> None:
    """Text is tried first of the kinds a number may come as; every kind reads as before."""
    from decimal import Decimal

    checked = ProfilerResult.model_validate({"session_id": "s", "user_id": "u", "technical_exposure_score": given})
    assert checked.technical_exposure_score == read
    decimal = ProfilerResult.model_validate(
        {"session_id": "s", "user_id": "u", "technical_exposure_score": Decimal("62.40")}
    )
    assert decimal.technical_exposure_score == 62.4


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (True, "a boolean is not a number (got True)"),
        ("high", "Input should be a valid number, unable to parse string as a number (got 'high')"),
        ([62], "Input should be a valid number"),
        ("120", "Input should be less than or equal to 100 (got '120')"),
    ],
)
def test_a_score_that_is_not_a_number_is_refused_as_before(given: Any, message: str) -> None:
    from profiler_rules import InvalidInputError
    from profiler_rules.core.models import validate_input

    with pytest.raises(InvalidInputError) as raised:
        validate_input(ProfilerResult, {"session_id": "s", "user_id": "u", "technical_exposure_score": given}, "x")
    assert [(item.field, item.message) for item in raised.value.errors] == [("technical_exposure_score", message)]
