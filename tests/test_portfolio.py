"""Portfolio: the "My Value Statement" entry, its templates, its per-learner key and the retake rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from profiler_rules import Dispatcher, RulesError

from .conftest import EXAMPLES, PACKAGED_RULES, edit, line_of, result

RULES = PACKAGED_RULES / "portfolio.yaml"
WHY = "I am drawn to cybersecurity because: "
GOAL = "My goal is to: "
VALUES = "My core values align with protecting and advancing cybersecurity."
FALLBACK = "I am committed to advancing in cybersecurity."


def portfolio(dispatcher: Dispatcher, **fields: Any) -> Any:
    return dispatcher.dispatch(result(**fields)).engines["portfolio"]


def statement(dispatcher: Dispatcher, **answers: Any) -> str:
    return portfolio(dispatcher, answers=answers).output.summary


def example() -> dict[str, Any]:
    return json.loads((EXAMPLES / "result.json").read_text())


def load_problems(rules_dir: Path) -> list[Any]:
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    return [problem for problem in raised.value.problems if Path(problem.file).name == "portfolio.yaml"]


# --- the entry -----------------------------------------------------------------------------------


def test_the_example_result_gives_the_value_statement_entry(dispatcher: Dispatcher) -> None:
    report = dispatcher.dispatch(example()).engines["portfolio"]
    assert report.status == "ok"
    assert report.warnings == ()
    assert report.output.model_dump() == {
        "item_type": "reflection",
        "title": "My Value Statement",
        "summary": (
            "I am drawn to cybersecurity because: I want to protect the people around me from online fraud. "
            "My goal is to: become a SOC analyst within a year. "
            "My core values align with protecting and advancing cybersecurity."
        ),
        "status": "approved",
        "visibility": "private",
        "profiler_session_id": "8c1d4e2a-5b7f-4c3e-9a10-2f6d8e4b1c01",
        "user_id": "learner-123",
        "idempotency_key": "value-statement:learner-123",
        "on_retake": "replace",
    }


def test_every_part_and_the_retake_rule_are_explained_at_their_lines(dispatcher: Dispatcher) -> None:
    explain = dispatcher.dispatch(example()).engines["portfolio"].explain
    assert {because.file for because in explain} == {"profiler_rules/rules/portfolio.yaml"}
    assert [(because.rule, because.line, because.message) for because in explain] == [
        ("statement.why_cyber", line_of(RULES, "why_cyber: "), "why_cyber is answered → sentence 1 of the statement"),
        (
            "statement.what_achieve",
            line_of(RULES, "what_achieve: "),
            "what_achieve is answered → sentence 2 of the statement",
        ),
        (
            "statement.identity_values",
            line_of(RULES, "identity_values: "),
            "2 identity value(s) given (integrity, service) → sentence 3 of the statement",
        ),
        ("item_type", line_of(RULES, "item_type: "), "the value statement → a portfolio entry of type 'reflection'"),
        ("title", line_of(RULES, "title: "), "the entry's title → 'My Value Statement'"),
        ("status", line_of(RULES, "status: "), "the entry is created → review status 'approved'"),
        ("visibility", line_of(RULES, "visibility: "), "the entry is created → visibility 'private'"),
        (
            "idempotency_key",
            line_of(RULES, "idempotency_key: "),
            "learner 'learner-123' → the entry is filed under the key 'value-statement:learner-123', one entry per learner",
        ),
        (
            "on_retake",
            line_of(RULES, "on_retake: "),
            "on a retake the host replaces the learner's entry 'value-statement:learner-123' with this one",
        ),
    ]


@pytest.mark.parametrize("status", ["started", "in_progress", "future_you_complete", None])
def test_an_incomplete_result_is_skipped_with_the_reason(dispatcher: Dispatcher, status: str | None) -> None:
    report = portfolio(dispatcher, status=status, answers={"why_cyber": "to help"})
    assert (report.status, report.output) == ("skipped", None)
    (because,) = report.explain
    assert because.message.endswith("portfolio acts only on finished or locked results")
    assert (repr(status) if status else "unknown") in because.message


@pytest.mark.parametrize("status", ["finished", "locked"])
def test_a_complete_result_gets_an_entry(dispatcher: Dispatcher, status: str) -> None:
    report = portfolio(dispatcher, status=status)
    assert report.status == "ok"
    assert report.output.profiler_session_id == "s-1"


# --- the statement -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"why_cyber": "I like puzzles"}, WHY + "I like puzzles."),
        ({"what_achieve": "lead a red team"}, GOAL + "lead a red team."),
        ({"identity_values": ["integrity"]}, VALUES),
        ({"why_cyber": "I like puzzles", "identity_values": ["integrity"]}, f"{WHY}I like puzzles. {VALUES}"),
        ({"what_achieve": "lead a red team", "identity_values": ["x"]}, f"{GOAL}lead a red team. {VALUES}"),
        (
            {"identity_values": ["service"], "what_achieve": "lead", "why_cyber": "puzzles"},
            f"{WHY}puzzles. {GOAL}lead. {VALUES}",
        ),
    ],
)
def test_each_answered_part_gives_its_sentence_in_order(
    dispatcher: Dispatcher, answers: dict[str, Any], expected: str
) -> None:
    assert statement(dispatcher, **answers) == expected


def test_answers_are_trimmed(dispatcher: Dispatcher) -> None:
    text = statement(dispatcher, why_cyber="  \tI like puzzles \n", what_achieve="\nlead a team  ")
    assert text == f"{WHY}I like puzzles. {GOAL}lead a team."


@pytest.mark.parametrize(
    "answers",
    [
        {},
        {"why_cyber": None, "what_achieve": None, "identity_values": []},
        {"why_cyber": "", "what_achieve": "   ", "identity_values": ["", "  \n"]},
        {"why_cyber": "\t\n"},
    ],
)
def test_blank_answers_count_as_absent_and_give_the_fallback(dispatcher: Dispatcher, answers: dict[str, Any]) -> None:
    report = portfolio(dispatcher, answers=answers)
    assert report.output.summary == FALLBACK
    assert [(because.rule, because.message) for because in report.explain[:4]] == [
        ("statement.why_cyber", "why_cyber is missing or blank → its sentence is left out"),
        ("statement.what_achieve", "what_achieve is missing or blank → its sentence is left out"),
        ("statement.identity_values", "no identity values given → their sentence is left out"),
        ("statement.fallback", "no answer gives a sentence → the fallback is the statement"),
    ]
    assert report.explain[3].line == line_of(RULES, "fallback: ")


def test_the_fallback_is_not_used_when_one_part_is_answered(dispatcher: Dispatcher) -> None:
    report = portfolio(dispatcher, answers={"why_cyber": "  ", "what_achieve": "lead"})
    assert report.output.summary == GOAL + "lead."
    assert "statement.fallback" not in [because.rule for because in report.explain]
    assert report.explain[1].message == "what_achieve is answered → sentence 1 of the statement"


@pytest.mark.parametrize(
    "answer",
    [
        "{answer}",
        "{",
        "}",
        "{0}",
        "{user_id} {values}",
        "{answer.__class__}",
        "{answer!r:>99}",
        "{{answer}}",
        "100% {x}",
    ],
)
def test_an_answer_is_never_read_as_a_template(dispatcher: Dispatcher, answer: str) -> None:
    text = statement(dispatcher, why_cyber=answer, what_achieve=answer, identity_values=[answer])
    # Each sentence ends with a full stop: the answers here end with no punctuation of their own.
    assert text == f"{WHY}{answer}. {GOAL}{answer}. {VALUES}"


def test_the_values_placeholder_joins_the_trimmed_values(rules_dir: Path) -> None:
    edit(rules_dir / "portfolio.yaml", f"identity_values: {VALUES}", 'identity_values: "I stand for {values}."')
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    values = [" integrity ", "", "service", "   ", "{answer}"]
    assert statement(dispatcher, identity_values=values) == "I stand for integrity, service, {answer}."


def test_templates_are_rules(rules_dir: Path) -> None:
    path = rules_dir / "portfolio.yaml"
    edit(path, f'"{WHY}{{answer}}"', '"Why {{me}}? {answer}, {answer}!"')
    edit(path, f"fallback: {FALLBACK}", "fallback: Still deciding.")
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    assert statement(dispatcher, why_cyber="curiosity") == "Why {me}? curiosity, curiosity!"
    assert statement(dispatcher) == "Still deciding."


# --- the key and the retake rule -----------------------------------------------------------------


def test_the_key_is_one_per_learner(dispatcher: Dispatcher) -> None:
    first = portfolio(dispatcher, session_id="s-1", answers={"why_cyber": "a"}).output
    retake = portfolio(dispatcher, session_id="s-2", answers={"why_cyber": "b"}).output
    other = dispatcher.dispatch({**result(), "user_id": "u-2"}).engines["portfolio"].output
    assert first.idempotency_key == retake.idempotency_key == "value-statement:u-1"
    assert (first.profiler_session_id, retake.profiler_session_id) == ("s-1", "s-2")
    assert other.idempotency_key == "value-statement:u-2"


def test_the_key_is_a_template_in_the_rules(rules_dir: Path) -> None:
    edit(rules_dir / "portfolio.yaml", '"value-statement:{user_id}"', '"{user_id}/my-value-statement"')
    output = portfolio(Dispatcher.from_rules(rules_dir, entry_points=False)).output
    assert output.idempotency_key == "u-1/my-value-statement"


def test_a_retake_replaces_by_default(dispatcher: Dispatcher) -> None:
    report = portfolio(dispatcher)
    assert report.output.on_retake == "replace"
    assert report.explain[-1].rule == "on_retake"


def test_a_retake_keeps_the_first_entry_when_the_rules_say_so(rules_dir: Path) -> None:
    path = rules_dir / "portfolio.yaml"
    edit(path, "on_retake: replace", "on_retake: keep")
    report = portfolio(Dispatcher.from_rules(rules_dir, entry_points=False))
    assert report.output.on_retake == "keep"
    because = report.explain[-1]
    assert (because.rule, because.line) == ("on_retake", line_of(path, "on_retake: keep"))
    assert (
        because.message
        == "on a retake the host keeps the learner's existing entry 'value-statement:u-1' and drops this one"
    )


def test_an_unknown_retake_rule_is_refused_with_the_allowed_ones(rules_dir: Path) -> None:
    path = rules_dir / "portfolio.yaml"
    edit(path, "on_retake: replace", "on_retake: merge")
    (problem,) = load_problems(rules_dir)
    assert (problem.line, problem.path) == (line_of(path, "on_retake: merge"), "on_retake")
    assert problem.message == "'merge' is not one of ['replace', 'keep']"


def test_the_fixed_fields_are_rules(rules_dir: Path) -> None:
    path = rules_dir / "portfolio.yaml"
    edit(path, "item_type: reflection", "item_type: statement")
    edit(path, "title: My Value Statement", "title: Why I am here")
    edit(path, "status: approved", "status: pending")
    edit(path, "visibility: private", "visibility: mentors")
    output = portfolio(Dispatcher.from_rules(rules_dir, entry_points=False)).output
    assert (output.item_type, output.title, output.status, output.visibility) == (
        "statement",
        "Why I am here",
        "pending",
        "mentors",
    )


# --- template mistakes, each at its own line -----------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        (
            f'"{WHY}{{answer}}"',
            '"Because: {reason}"',
            "statement.why_cyber",
            "unknown placeholder {reason}. This text may use {answer} only.",
        ),
        (
            '"My goal is to: {answer}"',
            '"Goal: {answer.upper}"',
            "statement.what_achieve",
            "{answer.upper} reads an attribute or an index",
        ),
        (
            '"My goal is to: {answer}"',
            '"Goal: {answer[0]}"',
            "statement.what_achieve",
            "{answer[0]} reads an attribute or an index",
        ),
        (
            '"My goal is to: {answer}"',
            '"Goal: {answer!r}"',
            "statement.what_achieve",
            "{answer!r} has a conversion (!r)",
        ),
        (
            '"My goal is to: {answer}"',
            '"Goal: {answer:>40}"',
            "statement.what_achieve",
            "{answer:>40} has a format spec (:>40)",
        ),
        ('"My goal is to: {answer}"', '"Goal: {}"', "statement.what_achieve", "the placeholder {} has no name"),
        ('"My goal is to: {answer}"', '"Goal: {0}"', "statement.what_achieve", "unknown placeholder {0}"),
        (
            '"My goal is to: {answer}"',
            '"Goal: {answer"',
            "statement.what_achieve",
            "write {{ or }} for a literal brace",
        ),
        ('"My goal is to: {answer}"', '"Goal: answer}"', "statement.what_achieve", "Single '}' encountered"),
        (
            f"identity_values: {VALUES}",
            'identity_values: "I value {answer}"',
            "statement.identity_values",
            "This text may use {values} only.",
        ),
        (
            f"fallback: {FALLBACK}",
            'fallback: "Committed, {values}"',
            "statement.fallback",
            "unknown placeholder {values}. This text takes no placeholders.",
        ),
        ('"value-statement:{user_id}"', '"value-statement"', "idempotency_key", "the key must contain {user_id}"),
        (
            '"value-statement:{user_id}"',
            '"vs:{user_id}:{session_id}"',
            "idempotency_key",
            "unknown placeholder {session_id}. This text may use {user_id} only.",
        ),
    ],
)
def test_a_bad_template_is_refused_at_its_own_line(
    rules_dir: Path, old: str, new: str, path: str, message: str
) -> None:
    rules = rules_dir / "portfolio.yaml"
    edit(rules, old, new)
    (problem,) = load_problems(rules_dir)
    assert problem.line == line_of(rules, new)
    assert problem.path == path
    assert message in problem.message


def test_every_bad_template_is_reported_in_one_run(rules_dir: Path) -> None:
    rules = rules_dir / "portfolio.yaml"
    edit(rules, f'"{WHY}{{answer}}"', '"Because {why}"')
    edit(rules, f"fallback: {FALLBACK}", 'fallback: "{answer}"')
    problems = load_problems(rules_dir)
    assert [(problem.line, problem.path) for problem in problems] == [
        (line_of(rules, "Because {why}"), "statement.why_cyber"),
        (line_of(rules, 'fallback: "{answer}"'), "statement.fallback"),
    ]


# --- the rule file itself ------------------------------------------------------------------------


def test_the_rule_file_is_block_style_and_commented() -> None:
    # Braces in quoted templates are text; what must not appear is a flow collection ({...} or [...]).
    text = RULES.read_text()
    assert text.splitlines()[1].startswith("# Portfolio:")
    events = yaml.parse(text)
    assert not [event for event in events if isinstance(event, yaml.CollectionStartEvent) and event.flow_style]
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            assert lines[number - 1].lstrip().startswith("#"), f"the setting {line.strip()!r} has no comment above it"
