"""The input model: unknown is not zero, numeric strings are numbers, mistakes name their field."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from profiler_rules import AptitudeCounts, Dispatcher, InvalidInputError, ProfilerResult, Viewer

from .conftest import EXAMPLES, result


def invalid(**fields: object) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as raised:
        Dispatcher.from_rules(entry_points=False).dispatch(result(**fields))
    return raised.value


def test_the_bundled_example_is_valid() -> None:
    parsed = ProfilerResult.model_validate_json((EXAMPLES / "result.json").read_text())
    assert parsed.scores.aptitude == 62.4
    assert parsed.is_complete


def test_numeric_strings_and_decimals_are_numbers() -> None:
    parsed = ProfilerResult.model_validate(
        result(scores={"overall": "65.04", "aptitude": Decimal("62.40")}, technical_exposure_score="48.00")
    )
    assert parsed.scores.overall == 65.04
    assert parsed.scores.aptitude == 62.4
    assert parsed.technical_exposure_score == 48.0


def test_null_is_unknown_and_zero_is_zero() -> None:
    parsed = ProfilerResult.model_validate(result(scores={"aptitude": 0, "overall": None}))
    assert parsed.scores.aptitude == 0.0
    assert parsed.scores.overall is None
    assert parsed.technical_exposure_score is None


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"scores": {"aptitude": True}}, "scores.aptitude", "boolean"),
        ({"scores": {"aptitude": "abc"}}, "scores.aptitude", "valid number"),
        ({"scores": {"aptitude": "NaN"}}, "scores.aptitude", "finite"),
        ({"technical_exposure_score": float("inf")}, "technical_exposure_score", "finite"),
        ({"technical_exposure_score": 120}, "technical_exposure_score", "less than or equal to 100 (got 120)"),
        ({"technical_exposure_score": -1}, "technical_exposure_score", "greater than or equal to 0 (got -1)"),
        ({"track_confidence": 1.5}, "track_confidence", "less than or equal to 1 (got 1.5)"),
        ({"aptitude_breakdown": {"networking": "lots"}}, "aptitude_breakdown.networking.percentage", "valid number"),
        (
            {"aptitude_breakdown": {"networking": {"correct": 3, "total": 2}}},
            "aptitude_breakdown.networking.counts",
            "more than total",
        ),
        (
            {"behavioral_profile": {"leadership": 11}},
            "behavioral_profile.traits.leadership",
            "less than or equal to 10 (got 11)",
        ),
        ({"status": "done"}, "status", "Input should be"),
        ({"difficulty_selection": 3}, "difficulty_selection", "valid string"),
        ({"difficulty": "elite"}, "difficulty", "Extra inputs"),
    ],
)
def test_mistakes_name_their_field(fields: dict[str, object], field: str, words: str) -> None:
    error = invalid(**fields)
    assert error.fields == (field,)
    assert words in str(error)
    assert str(error).startswith(f"invalid profiler result: {field}: ")


def test_missing_identity_is_named() -> None:
    with pytest.raises(InvalidInputError) as raised:
        Dispatcher.from_rules(entry_points=False).dispatch({"status": "finished"})
    assert raised.value.fields == ("session_id", "user_id")


def test_json_text_is_accepted() -> None:
    report = Dispatcher.from_rules(entry_points=False).dispatch(json.dumps(result()))
    assert report.session_id == "s-1"


def test_invalid_json_text_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError, match="invalid profiler result"):
        Dispatcher.from_rules(entry_points=False).dispatch("{not json")


def test_both_breakdown_shapes_are_read() -> None:
    parsed = ProfilerResult.model_validate(
        result(
            aptitude_breakdown={"networking": 45.5, "security": {"correct": 1, "total": 4, "points": 10}, "web": None}
        )
    )
    assert parsed.aptitude_breakdown["networking"] == 45.5
    counts = parsed.aptitude_breakdown["security"]
    assert isinstance(counts, AptitudeCounts) and counts.percentage == 25.0
    assert parsed.aptitude_breakdown["web"] is None


def test_counts_with_nothing_asked_are_unknown() -> None:
    assert AptitudeCounts(correct=0, total=0).percentage is None


def test_flat_behavioral_profile_becomes_traits() -> None:
    parsed = ProfilerResult.model_validate(result(behavioral_profile={"work_style": 6.5, "leadership": "4.0"}))
    assert parsed.behavioral_profile.traits == {"work_style": 6.5, "leadership": 4.0}
    assert parsed.behavioral_profile.areas_for_growth is None


def test_structured_behavioral_profile_keeps_its_parts() -> None:
    parsed = ProfilerResult.model_validate(
        result(behavioral_profile={"traits": {"teamwork": 8}, "areas_for_growth": ["communication"]})
    )
    assert parsed.behavioral_profile.traits == {"teamwork": 8}
    assert parsed.behavioral_profile.areas_for_growth == ("communication",)


def test_results_are_immutable() -> None:
    parsed = ProfilerResult.model_validate(result())
    with pytest.raises(Exception, match="frozen"):
        parsed.status = "locked"  # type: ignore[misc]


@pytest.mark.parametrize("status", ["finished", "locked"])
def test_finished_and_locked_are_complete(status: str) -> None:
    assert ProfilerResult.model_validate(result(status=status)).is_complete


@pytest.mark.parametrize("status", ["started", "in_progress", "future_you_complete", None])
def test_other_statuses_are_not_complete(status: str | None) -> None:
    assert not ProfilerResult.model_validate(result(status=status)).is_complete


def test_naive_completion_times_are_utc() -> None:
    parsed = ProfilerResult.model_validate(result(completed_at="2026-02-09T12:00:00"))
    assert parsed.completed_at is not None and parsed.completed_at.utcoffset() is not None


def test_viewer_roles_are_checked() -> None:
    # Any role name is a role (issue 11: an open vocabulary); an empty one is not.
    with pytest.raises(InvalidInputError) as raised:
        Dispatcher.from_rules(entry_points=False).dispatch(result(), viewer={"roles": [""]})
    assert raised.value.what == "viewer"
    assert raised.value.fields == ("roles.0",)
    assert Viewer.model_validate({"roles": ["mentor"], "mentee_ids": ["u-1"]}).mentee_ids == frozenset({"u-1"})
