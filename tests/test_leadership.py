"""Leadership: the academy's value statement (the portfolio's, never re-templated) and academy eligibility."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from profiler_rules import Dispatcher, InvalidInputError, RulesError

from .conftest import EXAMPLES, PACKAGED_RULES, edit, line_of, result

RULES = PACKAGED_RULES / "leadership.yaml"
PORTFOLIO_RULES = PACKAGED_RULES / "portfolio.yaml"


def leadership(dispatcher: Dispatcher, **fields: Any) -> Any:
    return dispatcher.dispatch(result(**fields)).engines["leadership"]


def eligibility(dispatcher: Dispatcher, **fields: Any) -> tuple[bool, tuple[str, ...]]:
    output = leadership(dispatcher, **fields).output
    return output.eligible, output.eligibility_reasons


def example() -> dict[str, Any]:
    return json.loads((EXAMPLES / "result.json").read_text())


def load_problems(rules_dir: Path, name: str) -> list[Any]:
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    return [problem for problem in raised.value.problems if Path(problem.file).name == name]


# --- the value statement, as the academy receives it ---------------------------------------------


def test_the_example_result_in_the_value_statement_endpoints_shape(dispatcher: Dispatcher) -> None:
    report = dispatcher.dispatch(example()).engines["leadership"]
    assert report.status == "ok"
    assert report.model_dump(mode="json")["output"] == {
        "value_statement": (
            "I am drawn to cybersecurity because: I want to protect the people around me from online fraud. "
            "My goal is to: become a SOC analyst within a year. "
            "My core values align with protecting and advancing cybersecurity."
        ),
        "created_at": "2026-02-09T12:00:00Z",
        "profiler_session_id": "8c1d4e2a-5b7f-4c3e-9a10-2f6d8e4b1c01",
        "status": "approved",
        "visibility": "private",
        "eligible": False,
        "eligibility_reasons": [
            "recommended track 'defender' is not an academy track (leadership)",
            "trait leadership 4 is below 7",
        ],
    }


@pytest.mark.parametrize(
    "answers",
    [
        {},
        {"why_cyber": "  puzzles  "},
        {"what_achieve": "{answer}", "identity_values": ["", "care"]},
        {"why_cyber": " ", "what_achieve": "\n", "identity_values": [" "]},
    ],
)
def test_the_statement_status_and_visibility_are_the_portfolio_entrys(
    dispatcher: Dispatcher, answers: dict[str, Any]
) -> None:
    engines = dispatcher.dispatch(result(answers=answers)).engines
    entry, academy = engines["portfolio"].output, engines["leadership"].output
    assert academy.value_statement == entry.summary
    assert (academy.status, academy.visibility, academy.profiler_session_id) == (
        entry.status,
        entry.visibility,
        entry.profiler_session_id,
    )
    statement = [because for because in engines["portfolio"].explain if because.rule.startswith("statement.")]
    assert list(engines["leadership"].explain[: len(statement)]) == statement


def test_the_statement_follows_the_portfolio_rules(rules_dir: Path) -> None:
    portfolio = rules_dir / "portfolio.yaml"
    edit(portfolio, '"My goal is to: {answer}"', '"I will {answer}."')
    edit(portfolio, "status: approved", "status: pending")
    edit(portfolio, "visibility: private", "visibility: mentors")
    output = leadership(Dispatcher.from_rules(rules_dir, entry_points=False), answers={"what_achieve": "lead"}).output
    assert (output.value_statement, output.status, output.visibility) == ("I will lead.", "pending", "mentors")


def test_the_leadership_rules_hold_no_statement_template() -> None:
    text = RULES.read_text()
    assert "{answer}" not in text and "drawn to cybersecurity" not in text
    assert set(yaml.safe_load(text)) == {"eligibility"}


def test_the_statements_explanation_cites_portfolio_yaml(dispatcher: Dispatcher) -> None:
    explain = dispatcher.dispatch(example()).engines["leadership"].explain
    cited = [(because.file, because.rule, because.line) for because in explain[:4]]
    assert cited == [
        ("profiler_rules/rules/portfolio.yaml", "statement.why_cyber", line_of(PORTFOLIO_RULES, "why_cyber: ")),
        ("profiler_rules/rules/portfolio.yaml", "statement.what_achieve", line_of(PORTFOLIO_RULES, "what_achieve: ")),
        (
            "profiler_rules/rules/portfolio.yaml",
            "statement.identity_values",
            line_of(PORTFOLIO_RULES, "identity_values: "),
        ),
        ("profiler_rules/rules/portfolio.yaml", "status", line_of(PORTFOLIO_RULES, "status: approved")),
    ]
    assert explain[3].message == "the academy sees the portfolio entry's status 'approved' and visibility 'private'"
    assert {because.file for because in explain[4:]} == {"profiler_rules/rules/leadership.yaml"}


def test_the_fallback_reaches_the_academy_explained_by_portfolio_yaml(dispatcher: Dispatcher) -> None:
    report = leadership(dispatcher)
    assert report.output.value_statement == "I am committed to advancing in cybersecurity."
    fallback = [because for because in report.explain if because.rule == "statement.fallback"]
    assert [(because.file, because.line) for because in fallback] == [
        ("profiler_rules/rules/portfolio.yaml", line_of(PORTFOLIO_RULES, "fallback: "))
    ]


def test_created_at_is_when_the_profiler_was_completed(dispatcher: Dispatcher) -> None:
    stamped = leadership(dispatcher, completed_at="2026-03-01T08:30:00+02:00").output
    assert stamped.created_at.isoformat() == "2026-03-01T08:30:00+02:00"
    assert leadership(dispatcher).output.created_at is None


@pytest.mark.parametrize("status", ["in_progress", "behavioral_complete", None])
def test_an_incomplete_result_is_skipped_with_the_reason(dispatcher: Dispatcher, status: str | None) -> None:
    report = leadership(dispatcher, status=status, recommended_track="leadership")
    assert (report.status, report.output) == ("skipped", None)
    (because,) = report.explain
    assert because.message.endswith("leadership acts only on finished or locked results")


# --- eligibility ---------------------------------------------------------------------------------


@pytest.mark.parametrize("track", ["leadership", " Leadership ", "LEADERSHIP\n"])
def test_the_leadership_track_is_eligible(dispatcher: Dispatcher, track: str) -> None:
    assert eligibility(dispatcher, recommended_track=track) == (
        True,
        ("recommended track 'leadership' is an academy track",),
    )


@pytest.mark.parametrize(
    ("track", "reason"),
    [
        ("defender", "recommended track 'defender' is not an academy track (leadership)"),
        ("leader", "recommended track 'leader' is not an academy track (leadership)"),
        ("leadership-track", "recommended track 'leadership-track' is not an academy track (leadership)"),
        (None, "no recommended track"),
        ("   ", "no recommended track"),
    ],
)
def test_another_track_is_not_eligible(dispatcher: Dispatcher, track: str | None, reason: str) -> None:
    assert eligibility(dispatcher, recommended_track=track) == (
        False,
        (reason, "trait leadership is unknown (not in the behavioral profile)"),
    )


@pytest.mark.parametrize(
    ("mean", "expected"),
    [
        (7, (True, ("trait leadership 7 is at or above 7",))),
        ("7.00", (True, ("trait leadership 7 is at or above 7",))),
        (10, (True, ("trait leadership 10 is at or above 7",))),
        (6.99, (False, ("no recommended track", "trait leadership 6.99 is below 7"))),
        (0, (False, ("no recommended track", "trait leadership 0 is below 7"))),
    ],
)
def test_the_leadership_trait_at_or_above_its_threshold_is_eligible(
    dispatcher: Dispatcher, mean: Any, expected: Any
) -> None:
    assert eligibility(dispatcher, behavioral_profile={"traits": {"leadership": mean, "teamwork": 9}}) == expected


@pytest.mark.parametrize(
    ("profile", "written"),
    [
        ({"leadership": 7.5, "work_style": 6.5}, "leadership"),
        ({"traits": {" Leadership ": 7.5}}, "Leadership"),
        ({"traits": {"LEADERSHIP": 7.5}}, "LEADERSHIP"),
    ],
)
def test_traits_are_read_in_either_profile_shape_and_any_case(
    dispatcher: Dispatcher, profile: dict[str, Any], written: str
) -> None:
    assert eligibility(dispatcher, behavioral_profile=profile) == (True, (f"trait {written} 7.5 is at or above 7",))


def test_two_traits_that_fold_alike_are_an_input_error(dispatcher: Dispatcher) -> None:
    # Issue 10: once "the first written counts" here and elsewhere the last; now the host keeps one.
    with pytest.raises(InvalidInputError, match="'LEADERSHIP' and 'leadership' are the same trait; keep one"):
        eligibility(dispatcher, behavioral_profile={"traits": {"LEADERSHIP": 7.5, "leadership": 1}})


def test_every_matching_rule_is_a_reason(dispatcher: Dispatcher) -> None:
    assert eligibility(dispatcher, recommended_track="leadership", behavioral_profile={"leadership": 9}) == (
        True,
        ("recommended track 'leadership' is an academy track", "trait leadership 9 is at or above 7"),
    )


def test_eligibility_is_explained_at_each_rules_line(dispatcher: Dispatcher) -> None:
    report = leadership(dispatcher, recommended_track="Leadership", behavioral_profile={"leadership": 6})
    decided = [
        (because.rule, because.line, because.message)
        for because in report.explain
        if because.file.endswith("leadership.yaml")
    ]
    assert decided == [
        (
            "eligibility.tracks[0]",
            line_of(RULES, "- leadership"),
            "recommended track 'leadership' is an academy track → match",
        ),
        (
            "eligibility.trait_thresholds.leadership",
            line_of(RULES, "leadership: 7"),
            "trait leadership 6 is below 7 → no match",
        ),
        (
            "eligibility",
            line_of(RULES, "eligibility:"),
            "at least one eligibility rule matched → eligible for the academy",
        ),
    ]


def test_when_no_rule_matches_the_explanation_says_so(dispatcher: Dispatcher) -> None:
    report = leadership(dispatcher, recommended_track="grc", behavioral_profile={"leadership": 6.5})
    messages = [because.message for because in report.explain if because.file.endswith("leadership.yaml")]
    assert messages == [
        "recommended track 'grc' is not an academy track (leadership) → no match",
        "trait leadership 6.5 is below 7 → no match",
        "no eligibility rule matched → not eligible for the academy",
    ]


def test_eligibility_rules_can_change(rules_dir: Path) -> None:
    path = rules_dir / "leadership.yaml"
    edit(path, "    - leadership\n", "    - leadership\n    - GRC\n")
    edit(path, "    leadership: 7\n", "    leadership: 8\n    collaboration: 9.5\n")
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    assert eligibility(dispatcher, recommended_track=" grc") == (True, ("recommended track 'grc' is an academy track",))
    assert eligibility(dispatcher, behavioral_profile={"leadership": 7.5, "collaboration": 9.5}) == (
        True,
        ("trait collaboration 9.5 is at or above 9.5",),
    )
    assert eligibility(dispatcher, behavioral_profile={"leadership": 7.99})[0] is False


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message"),
    [
        (
            "    - leadership\n",
            "    - leadership\n    - Leadership\n",
            "- Leadership",
            "eligibility.tracks[1]",
            "track 'Leadership' repeats 'leadership'",
        ),
        (
            "    leadership: 7\n",
            "    leadership: 7\n    LEADERSHIP: 8\n",
            "LEADERSHIP: 8",
            "eligibility.trait_thresholds.LEADERSHIP",
            "trait 'LEADERSHIP' repeats 'leadership'",
        ),
        (
            "    leadership: 7\n",
            "    leadership: 11\n",
            "leadership: 11",
            "eligibility.trait_thresholds.leadership",
            "11 is greater than the maximum of 10",
        ),
        (
            "    leadership: 7\n",
            "    leadership: high\n",
            "leadership: high",
            "eligibility.trait_thresholds.leadership",
            "'high' is not of type 'number'",
        ),
    ],
)
def test_eligibility_mistakes_are_refused_at_their_line(
    rules_dir: Path, old: str, new: str, needle: str, path: str, message: str
) -> None:
    rules = rules_dir / "leadership.yaml"
    edit(rules, old, new)
    (problem,) = load_problems(rules_dir, "leadership.yaml")
    assert (problem.line, problem.path, problem.message) == (line_of(rules, needle), path, message)


def test_rules_no_learner_could_meet_are_refused(rules_dir: Path) -> None:
    rules = rules_dir / "leadership.yaml"
    edit(rules, "  tracks:\n    - leadership\n", "  tracks: []\n")
    edit(rules, "  trait_thresholds:\n    leadership: 7\n", "  trait_thresholds: {}\n")
    (problem,) = load_problems(rules_dir, "leadership.yaml")
    assert (problem.line, problem.path) == (line_of(rules, "tracks: []"), "eligibility.tracks")
    assert problem.message == "no track and no trait threshold: no learner could ever be eligible"


def test_tracks_alone_are_enough(rules_dir: Path) -> None:
    edit(rules_dir / "leadership.yaml", "  trait_thresholds:\n    leadership: 7\n", "  trait_thresholds: {}\n")
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    assert eligibility(dispatcher, behavioral_profile={"leadership": 10}) == (False, ("no recommended track",))


# --- reading the portfolio's rules through the core ----------------------------------------------


def test_leadership_is_refused_without_the_portfolio_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROFILER_RULES_DISABLED_PLUGINS", "portfolio")
    dispatcher = Dispatcher.from_rules(entry_points=False)
    assert "portfolio" not in dispatcher.engines and "leadership" not in dispatcher.engines
    assert (
        "plugin 'leadership': engine 'leadership' reads the rules of portfolio, which is not loaded"
        in dispatcher.plugin_problems
    )
    assert "leadership" not in dispatcher.dispatch(example()).engines


def test_the_rule_file_is_block_style_and_commented() -> None:
    text = RULES.read_text()
    assert text.splitlines()[1].startswith("# Leadership:")
    assert "{" not in text and "[" not in text
    lines = text.splitlines()
    for setting in ("eligibility:", "  tracks:", "  trait_thresholds:"):
        assert lines[lines.index(setting) - 1].lstrip().startswith("#"), f"{setting.strip()} has no comment above it"
