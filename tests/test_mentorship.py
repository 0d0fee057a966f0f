"""Mentorship: the mentee view's content, for results complete or not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from profiler_rules import Dispatcher

from .conftest import EXAMPLES, edit

MENTOR = {"user_id": "mentor-7", "roles": ["mentor"], "mentee_ids": ["learner-123"]}


def example(**changes: Any) -> dict[str, Any]:
    return json.loads((EXAMPLES / "result.json").read_text()) | changes


def test_the_mentee_view_of_a_realistic_result(dispatcher: Dispatcher) -> None:
    report = dispatcher.dispatch(example(), viewer=MENTOR).engines["mentorship"]
    assert report.status == "ok"
    view = report.output.model_dump(mode="json")
    assert view["mentee_id"] == "learner-123"
    assert view["is_locked"] is True
    assert view["scores"] == {"overall": 65.04, "aptitude": 62.4, "behavioral": 69.0}
    assert view["recommended_track"] == {"track": "defender", "confidence": 0.82}
    assert view["aptitude_breakdown"] == {
        "networking": 45.5,
        "security": 72.0,
        "web": 38.0,
        "problem_solving": 80.0,
        "programming": 60.0,
    }
    assert view["behavioral_profile"]["areas_for_growth"] == ["Technical documentation", "communication"]
    assert view["future_you_persona"]["archetype"] == "Defender"
    assert view["anti_cheat"] == {
        "score": 12.5,
        "needs_review": False,
        "suspicious_patterns": [],
        "device_fingerprint": "fp_9a41c7",
    }


def test_anti_cheat_review_threshold_and_pattern_meanings(dispatcher: Dispatcher) -> None:
    signals = {"score": 50, "suspicious_patterns": ["too_fast", "new_pattern"], "device_fingerprint": None}
    anti_cheat = dispatcher.dispatch(example(anti_cheat=signals), viewer=MENTOR).engines["mentorship"].output.anti_cheat
    assert anti_cheat.needs_review is True
    assert [(item.pattern, item.meaning) for item in anti_cheat.suspicious_patterns] == [
        ("too_fast", "Answered faster than a careful reader could."),
        ("new_pattern", None),
    ]
    below = (
        dispatcher.dispatch(example(anti_cheat=signals | {"score": 49.99}), viewer=MENTOR)
        .engines["mentorship"]
        .output.anti_cheat
    )
    assert below.needs_review is False


def test_a_result_without_signals_shows_none_to_those_allowed(dispatcher: Dispatcher) -> None:
    report = dispatcher.dispatch(example(anti_cheat=None), viewer=MENTOR).engines["mentorship"]
    assert report.output.anti_cheat is None
    assert report.explain[-1].message == "the result carries no anti-cheat signals"


def test_an_incomplete_result_is_skipped_only_after_access(dispatcher: Dispatcher) -> None:
    allowed = dispatcher.dispatch(example(status="behavioral_complete"), viewer=MENTOR).engines["mentorship"]
    assert allowed.status == "skipped"
    assert "'behavioral_complete'" in allowed.explain[0].message
    stranger = dispatcher.dispatch(example(status="behavioral_complete"), viewer={"roles": ["mentor"]}).engines[
        "mentorship"
    ]
    assert stranger.status == "denied", "a denied viewer does not learn whether the learner has a result"


def test_the_review_threshold_is_a_rule(rules_dir: Path) -> None:
    edit(rules_dir / "mentorship.yaml", "  review_at: 50", "  review_at: 10")
    changed = Dispatcher.from_rules(rules_dir, entry_points=False)
    assert changed.dispatch(example(), viewer=MENTOR).engines["mentorship"].output.anti_cheat.needs_review is True
