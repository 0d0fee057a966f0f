"""Issue 10, host inputs: protected values are never quoted, no input value crashes anything, and
category names that fold to the same name are an input error."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiler_rules import Dispatcher, InvalidInputError
from profiler_rules.core.models import name_key
from profiler_rules.plugins import analytics

from .conftest import EXAMPLES, edit, result, run_cli

EXAMPLE = json.loads((EXAMPLES / "result.json").read_text())
CATALOGS = json.loads((EXAMPLES / "catalogs.json").read_text())
ADMIN = {"user_id": "admin-1", "roles": ["admin"]}
DIRECTOR = {"user_id": "d-1", "roles": ["director"], "cohort_ids": ["c-1"]}
HYPOTHESIS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# --- 1. protected values are never quoted --------------------------------------------------------

SHOWN = ("90210417", "902.1")
"""What no message may ever show: a fingerprint, pattern or score of 90210417, or a score of 902.10417
(which a message would print as 902.104)."""

# Invalid anti-cheat blocks, each holding the secret where pydantic would quote it.
INVALID_ANTI_CHEAT: list[Any] = [
    {"device_fingerprint": 90210417},  # a number where text belongs
    {"device_fingerprint": ["90210417"]},
    {"score": 902.10417},  # out of range
    {"score": "90210417 points"},  # text that is not a number
    {"score": 10**5000},  # a number too large to show at all
    {"suspicious_patterns": "copy-paste burst at 90210417"},  # text where a list belongs
    {"suspicious_patterns": [90210417]},
    {"fingerprint_90210417": True},  # an unknown field whose name is the value
    "90210417",  # not an object at all
]


def json_text(value: Any) -> str:
    """``value`` as JSON text, a huge integer written out (json.dumps refuses 4,300 digits and more)."""

    def swap(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: swap(child) for key, child in item.items()}
        return "HUGE" if item == 10**5000 else item

    return json.dumps(swap(value)).replace('"HUGE"', "9" * 5000)


def assert_nothing_protected_in(text: str) -> None:
    for shown in SHOWN:
        assert shown not in text, f"{shown!r} was quoted: {text}"


def jsonl(path: Path, results: list[Any]) -> Path:
    lines = [json.dumps(item) for item in results]
    # A line cut short is quoted by nobody either, though pydantic hands over the whole text.
    lines.append('{"session_id": "s", "anti_cheat": {"device_fingerprint": "90210417"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def with_anti_cheat(index: int, block: Any) -> dict[str, Any]:
    return result(session_id=f"s-{index}", cohort_id="c-1", anti_cheat=block)


@pytest.mark.parametrize("block", INVALID_ANTI_CHEAT)
@pytest.mark.parametrize("given_as", ["mapping", "JSON text"])
def test_dispatch_names_the_invalid_anti_cheat_field_but_never_its_value(
    dispatcher: Dispatcher, block: Any, given_as: str
) -> None:
    raw = result(anti_cheat=block)
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch(raw if given_as == "mapping" else json_text(raw))
    error = raised.value
    assert error.fields and all(field.split(".")[0] == "anti_cheat" for field in error.fields)
    assert all(item.message for item in error.errors)
    assert_nothing_protected_in(str(error))
    assert_nothing_protected_in(repr(error.errors))


def test_a_key_that_is_not_text_is_not_quoted_either(dispatcher: Dispatcher) -> None:
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch(result(anti_cheat={90210417: "x"}))
    assert raised.value.fields == ("anti_cheat.*",)
    assert_nothing_protected_in(repr(raised.value.errors))


def test_an_unknown_anti_cheat_field_is_named_as_unknown(dispatcher: Dispatcher) -> None:
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch(result(anti_cheat={"fingerprint_90210417": True}))
    assert str(raised.value) == "invalid profiler result: anti_cheat.*: Extra inputs are not permitted"


def test_how_many_protected_items_were_given_is_not_said(dispatcher: Dispatcher) -> None:
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch(result(anti_cheat={"suspicious_patterns": ["paste"] * 201}))
    assert str(raised.value) == (
        "invalid profiler result: anti_cheat.suspicious_patterns: Tuple should have at most 200 item(s)"
    )


def test_json_text_cut_short_is_never_quoted_back(dispatcher: Dispatcher) -> None:
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch('{"anti_cheat": {"score": 90210417')
    assert str(raised.value).startswith("invalid profiler result: Invalid JSON: ")
    assert_nothing_protected_in(str(raised.value))


def test_other_fields_still_show_what_was_given(dispatcher: Dispatcher) -> None:
    with pytest.raises(InvalidInputError, match=r"technical_exposure_score: .* \(got 120\)"):
        dispatcher.dispatch(result(technical_exposure_score=120))
    with pytest.raises(InvalidInputError, match=r"answers.why_cyber: Input should be a valid string \(got 90210417\)"):
        dispatcher.dispatch(result(answers={"why_cyber": 90210417}))


def test_analytics_warnings_never_quote_anti_cheat(dispatcher: Dispatcher) -> None:
    results = [with_anti_cheat(index, block) for index, block in enumerate(INVALID_ANTI_CHEAT)]
    report = analytics.dashboard(dispatcher, results, viewer=DIRECTOR, cohort_id="c-1")
    assert report.status == "ok"
    assert report.results_invalid == len(INVALID_ANTI_CHEAT)
    left_out = [warning for warning in report.warnings if warning.startswith("result #")]
    assert len(left_out) == len(INVALID_ANTI_CHEAT) and all("anti_cheat" in warning for warning in left_out)
    assert_nothing_protected_in("\n".join(report.warnings))


def test_rule_test_cases_never_quote_anti_cheat(rules_dir: Path) -> None:
    (rules_dir / "tests" / "anti_cheat.yaml").write_text(
        "cases:\n"
        "  - name: an invalid fingerprint\n"
        "    result:\n"
        "      session_id: t-1\n"
        "      user_id: u-1\n"
        "      anti_cheat:\n"
        "        device_fingerprint: 90210417\n"
        "    expect:\n"
        "      missions:\n"
        "        status: ok\n",
        encoding="utf-8",
    )
    run = run_cli("test", "--rules", str(rules_dir), "-k", "invalid fingerprint")
    assert run.code == 1
    assert "anti_cheat.device_fingerprint: Input should be a valid string" in run.stdout + run.stderr
    assert_nothing_protected_in(run.stdout + run.stderr)


JSONABLE_BLOCKS = [
    block for block in INVALID_ANTI_CHEAT if not isinstance(block, dict) or 10**5000 not in block.values()
]


def test_batch_records_never_quote_anti_cheat(tmp_path: Path) -> None:
    source = jsonl(tmp_path / "results.jsonl", [with_anti_cheat(i, b) for i, b in enumerate(JSONABLE_BLOCKS)])
    for workers in ("1", "2"):
        run = run_cli("dispatch", str(source), "--jsonl", "--workers", workers)
        records = [json.loads(line) for line in run.stdout.splitlines()]
        assert len(records) == len(JSONABLE_BLOCKS) + 1
        assert all(record["fields"][0].startswith("anti_cheat") for record in records[:-1])
        assert_nothing_protected_in(run.stdout + run.stderr)
    single = run_cli("dispatch", "-", stdin=json.dumps(result(anti_cheat={"device_fingerprint": 90210417})))
    assert single.code == 1 and "anti_cheat.device_fingerprint" in single.stderr
    assert_nothing_protected_in(single.stdout + single.stderr)


def test_diff_examples_never_quote_anti_cheat(tmp_path: Path) -> None:
    source = jsonl(tmp_path / "results.jsonl", [with_anti_cheat(i, b) for i, b in enumerate(JSONABLE_BLOCKS)])
    for output in ("text", "json"):
        run = run_cli("diff", str(source), "--format", output)
        assert run.code == 1
        assert "anti_cheat" in run.stdout
        assert_nothing_protected_in(run.stdout + run.stderr)


def test_cli_analytics_never_quotes_anti_cheat(tmp_path: Path) -> None:
    source = jsonl(tmp_path / "results.jsonl", [with_anti_cheat(i, b) for i, b in enumerate(JSONABLE_BLOCKS)])
    run = run_cli("analytics", str(source), "--cohort", "c-1", "--viewer", json.dumps(DIRECTOR))
    assert run.code == 1
    assert run.json()["results_invalid"] == len(JSONABLE_BLOCKS) + 1
    assert "anti_cheat" in run.stderr
    assert_nothing_protected_in(run.stdout + run.stderr)


def protecting(rules_dir: Path, *details: str) -> Dispatcher:
    """The rules with the admin's mentee view also showing ``details``."""
    shown = "".join(f"\n      - {detail}" for detail in details)
    edit(
        rules_dir / "access.yaml",
        "  - role: admin\n    details:\n      - anti_cheat",
        f"  - role: admin\n    details:\n      - anti_cheat{shown}",
    )
    return Dispatcher.from_rules(rules_dir, entry_points=False)


def test_a_detail_the_access_rules_name_is_protected_too(rules_dir: Path) -> None:
    dispatcher = protecting(rules_dir, "answers", "aptitude_breakdown", "behavioral_profile")
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch(
            result(
                answers={"why_cyber": 90210417},
                aptitude_breakdown={"networking": {"correct": 9, "total": 3}},
                behavioral_profile={"traits": {"trait_90210417": 11}},
            )
        )
    assert raised.value.fields == (
        "aptitude_breakdown.*.counts",
        "behavioral_profile.traits.*",
        "answers.why_cyber",
    )
    assert [item.message for item in raised.value.errors] == [
        "correct is more than total",
        "Input should be less than or equal to 10",
        "Input should be a valid string",
    ]


def test_a_protected_detail_is_masked_on_every_path(rules_dir: Path, tmp_path: Path) -> None:
    protecting(rules_dir, "answers")
    source = jsonl(tmp_path / "results.jsonl", [result(cohort_id="c-1", answers={"why_cyber": 90210417})])
    runs = [
        run_cli("dispatch", str(source), "--rules", str(rules_dir)),
        run_cli("diff", str(source), "--rules", str(rules_dir)),
        run_cli("analytics", str(source), "--rules", str(rules_dir), "--cohort", "c-1", "--viewer", json.dumps(ADMIN)),
    ]
    for run in runs:
        assert "answers.why_cyber" in run.stdout + run.stderr
        assert_nothing_protected_in(run.stdout + run.stderr)


def test_the_counts_message_shows_the_counts_where_they_are_not_protected(dispatcher: Dispatcher) -> None:
    with pytest.raises(InvalidInputError, match=r"correct \(5\) is more than total \(3\)"):
        dispatcher.dispatch(result(aptitude_breakdown={"networking": {"correct": 5, "total": 3}}))


# --- 2. no input value crashes anything -----------------------------------------------------------

HUGE = 10**5000
HUGE_TEXT = "9" * 5000


def invalid(call: Callable[[], Any]) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as raised:
        call()
    assert len(str(raised.value)) < 1000, "nothing long is quoted"
    return raised.value


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda d: d.dispatch(result(scores={"overall": HUGE})), "scores.overall"),
        (lambda d: d.dispatch(result(scores={"overall": -HUGE})), "scores.overall"),
        (
            lambda d: d.dispatch(json.dumps(result())[:-1] + f', "scores": {{"overall": {HUGE_TEXT}}}}}'),
            "scores.overall",
        ),
        (
            lambda d: d.dispatch(result(aptitude_breakdown={"web": {"correct": HUGE, "total": 1}})),
            "aptitude_breakdown.web.counts.correct",
        ),
        (lambda d: d.dispatch(result(difficulty_selection=HUGE)), "difficulty_selection"),
        (lambda d: d.dispatch(result(future_you_persona={"age": HUGE})), "future_you_persona"),
        (
            lambda d: d.dispatch(json.dumps(result())[:-1] + f', "future_you_persona": {{"age": {HUGE_TEXT}}}}}'),
            "future_you_persona",
        ),
        (lambda d: d.dispatch(result(), viewer={"user_id": HUGE}), "user_id"),
        (lambda d: d.prepare_catalogs({"missions": [{"id": HUGE, "title": "t", "difficulty": 1}]}), "missions.0.id"),
        (
            lambda d: d.prepare_catalogs({"missions": [{"id": "m", "title": "t", "difficulty": HUGE}]}),
            "missions.0.difficulty",
        ),
        (lambda d: analytics.dashboard(d, [], viewer=ADMIN, cohort_id=HUGE), "cohort_id"),
        (lambda d: analytics.dashboard(d, [], viewer=ADMIN, date_from=HUGE), "date_from"),
        (lambda d: analytics.dashboard(d, [], viewer=ADMIN, roster=[{"user_id": HUGE}]), "roster.0.user_id"),
    ],
)
def test_a_huge_integer_is_an_input_error_naming_its_field(
    dispatcher: Dispatcher, call: Callable[[Dispatcher], Any], field: str
) -> None:
    error = invalid(lambda: call(dispatcher))
    assert error.fields == (field,)


def test_a_huge_catalog_name_is_an_input_error(dispatcher: Dispatcher) -> None:
    error = invalid(lambda: dispatcher.prepare_catalogs({HUGE: []}))
    assert "no engine reads this catalog" in str(error)


def test_a_huge_number_says_so(dispatcher: Dispatcher) -> None:
    error = invalid(lambda: dispatcher.dispatch(result(scores={"overall": HUGE})))
    assert (
        str(error)
        == "invalid profiler result: scores.overall: Input should be a number within range (got an integer of 5,001 digits)"
    )


def dashboard(dispatcher: Dispatcher, results: list[dict[str, Any]], **query: Any) -> Any:
    report = analytics.dashboard(dispatcher, results, viewer=ADMIN, **query)
    assert report.status == "ok", report.error
    return report.output


def completed(*times: str) -> list[dict[str, Any]]:
    return [result(session_id=f"s-{i}", user_id=f"u-{i}", completed_at=when) for i, when in enumerate(times)]


def test_the_calendar_ends_are_dates_like_any_other(dispatcher: Dispatcher) -> None:
    results = completed(
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",  # still year 0 in UTC: before the first day
        "2026-02-09T12:00:00Z",
        "9999-12-31T23:59:59.999999Z",
        "9999-12-31T23:59:59-14:00",  # already year 10,000 in UTC: after the last day
    )
    assert dashboard(dispatcher, results, date_to="9999-12-31").profiled == 4
    assert dashboard(dispatcher, results, date_from="0001-01-01").profiled == 4
    assert dashboard(dispatcher, results, date_from=date.min, date_to=date.max).profiled == 3
    assert dashboard(dispatcher, results, date_from="9999-12-31", date_to="9999-12-31").profiled == 1
    assert dashboard(dispatcher, results).profiled == 5


def test_date_to_ends_at_the_last_microsecond_of_its_day(dispatcher: Dispatcher) -> None:
    results = completed("2026-02-28T23:59:59.999999Z", "2026-03-01T00:00:00Z", "2026-03-01T00:30:00+01:00")
    assert dashboard(dispatcher, results, date_to="2026-02-28").profiled == 2


class NoOffset(tzinfo):
    """A time zone that knows no offset: Python calls such a time naive."""

    def utcoffset(self, when: datetime | None) -> timedelta | None:
        return None


class BrokenZone(tzinfo):
    def utcoffset(self, when: datetime | None) -> timedelta | None:
        raise RuntimeError("no zone database")


def test_a_time_zone_without_an_offset_is_read_as_utc(dispatcher: Dispatcher) -> None:
    results = [
        result(session_id="s-1", user_id="u-1", completed_at=datetime(2026, 2, 9, 12, tzinfo=NoOffset())),
        result(session_id="s-2", user_id="u-1", completed_at=datetime(2026, 2, 9, 13, tzinfo=UTC)),
    ]
    output = dashboard(dispatcher, results, date_from="2026-02-09", cohort_id=None)
    assert output.profiled == 1
    assert dispatcher.dispatch(results[0], viewer=ADMIN).engines["analytics"].status == "ok"


def test_a_time_zone_that_fails_is_an_input_error(dispatcher: Dispatcher) -> None:
    error = invalid(lambda: dispatcher.dispatch(result(completed_at=datetime(2026, 2, 9, tzinfo=BrokenZone()))))
    assert error.fields == ("completed_at",)


def test_text_that_is_not_unicode_is_an_input_error(dispatcher: Dispatcher) -> None:
    assert invalid(lambda: dispatcher.dispatch(result(future_you_persona={"name": "\ud800"}))).fields == (
        "future_you_persona",
    )
    assert invalid(lambda: dispatcher.dispatch(result(future_you_persona={"\udfff": 1}))).fields == (
        "future_you_persona",
    )
    assert invalid(lambda: dispatcher.dispatch(b'{"session_id": "\xff", "user_id": "u"}')).what == "profiler result"


@pytest.mark.parametrize("results", [5, None, "results.jsonl", b"{}", {"session_id": "s", "user_id": "u"}])
def test_results_that_are_not_many_results_are_an_input_error(dispatcher: Dispatcher, results: Any) -> None:
    error = invalid(lambda: analytics.dashboard(dispatcher, results, viewer=ADMIN))
    assert error.what == "results"


@pytest.mark.parametrize("roster", [5, "u-1", {"user_id": "u-1"}])
def test_a_roster_that_is_not_a_list_is_an_input_error(dispatcher: Dispatcher, roster: Any) -> None:
    assert (
        invalid(lambda: analytics.dashboard(dispatcher, [], viewer=ADMIN, roster=roster)).fields[0].startswith("roster")
    )


def test_a_roster_may_be_any_iterable(dispatcher: Dispatcher) -> None:
    roster = ({"user_id": f"u-{i}", "cohort_id": "c-1"} for i in range(3))
    assert dashboard(dispatcher, [], cohort_id="c-1", roster=roster).enrolled == 3


class Huge:
    """Stands for an integer of 5,001 digits while hypothesis draws and prints examples (its repr of
    the integer itself would fail); :func:`real` puts the integer in."""

    def __init__(self, sign: int) -> None:
        self.sign = sign

    def __repr__(self) -> str:
        return f"{'-' if self.sign < 0 else ''}10**5000"


def real(value: Any) -> Any:
    if isinstance(value, Huge):
        return value.sign * HUGE
    if isinstance(value, dict):
        return {real(key): real(child) for key, child in value.items()}
    if isinstance(value, list):
        return [real(child) for child in value]
    return value


# Values no JSON parser gives, and the ones that trip number and text parsing.
awkward = (
    st.sampled_from(
        [
            Huge(1),
            Huge(-1),
            2**64,
            Decimal("NaN"),
            Decimal("sNaN"),
            Decimal("-Infinity"),
            Decimal("1e999999"),
            Decimal("1e-999999"),
            "1e999",
            "  55  ",
            "٥٥",
            "5_5",
            "0x10",
            "\ud800",
            "a\udfffb",
            b"\xff\xfe",
            b"55",
            bytearray(b"x"),
            float("nan"),
            -0.0,
            date.max,
            datetime.min,
            (),
        ]
    )
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
)
hostile = st.recursive(
    st.none() | st.booleans() | awkward,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=8) | st.integers() | st.none() | st.sampled_from(["\ud800", "Web", "web", Huge(1)]),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


def report_or_error(call: Callable[[], Any]) -> Any:
    """A report that a JSON reader can read back, or an input error naming fields; nothing else."""
    try:
        report = call()
    except InvalidInputError as error:
        assert error.errors and all(isinstance(item.field, str) and item.message for item in error.errors)
        assert len(str(error)) < 20_000
        return error
    json.loads(report.model_dump_json())
    return report


@HYPOTHESIS
@given(field=st.sampled_from([key for key in EXAMPLE if key not in ("session_id", "user_id")]), value=hostile)
def test_any_python_value_in_any_field_is_a_report_or_an_error_naming_it(
    dispatcher: Dispatcher, field: str, value: Any
) -> None:
    outcome = report_or_error(lambda: dispatcher.dispatch(EXAMPLE | {field: real(value)}, viewer=ADMIN))
    if isinstance(outcome, InvalidInputError):
        assert all(name.split(".")[0] == field for name in outcome.fields)
    else:
        assert all(answer.status != "error" for answer in outcome.engines.values()), outcome.engines


@HYPOTHESIS
@given(data=st.data(), catalog=st.sampled_from(sorted(CATALOGS)), value=hostile)
def test_any_value_in_a_catalog_item_is_prepared_or_an_error_naming_it(
    dispatcher: Dispatcher, data: st.DataObject, catalog: str, value: Any
) -> None:
    item = dict(CATALOGS[catalog][0])
    item[data.draw(st.sampled_from([*sorted(item), "unknown_field"]))] = real(value)
    outcome = report_or_error(
        lambda: dispatcher.dispatch(EXAMPLE, viewer=ADMIN, catalogs={**CATALOGS, catalog: [item]})
    )
    if isinstance(outcome, InvalidInputError):
        assert outcome.what == "catalogs"
        assert all(name.startswith(f"{catalog}.0") for name in outcome.fields)
    else:
        assert all(answer.status != "error" for answer in outcome.engines.values()), outcome.engines


QUERY = ["cohort_id", "sponsor_id", "roster", "date_from", "date_to"]


@HYPOTHESIS
@given(parameter=st.sampled_from([*QUERY, "viewer", "result"]), value=hostile)
def test_any_dashboard_parameter_is_an_answer_or_an_error_naming_it(
    dispatcher: Dispatcher, parameter: str, value: Any
) -> None:
    query: dict[str, Any] = {"viewer": ADMIN, "cohort_id": "cohort-2026-spring"}
    results: list[Any] = [EXAMPLE]
    if parameter == "result":
        results.append(real(value))
    else:
        query[parameter] = real(value)
    try:
        report = analytics.dashboard(dispatcher, results, **query)
    except InvalidInputError as error:
        assert parameter != "result"
        assert error.errors and all(item.message for item in error.errors)
        return
    assert report.status in ("ok", "denied"), report.error
    json.loads(report.model_dump_json())


# --- 3. category names that fold to the same name -------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"aptitude_breakdown": {"networking": 90, "Networking": 45}},
            "aptitude_breakdown",
            "'networking' and 'Networking' are the same category; keep one",
        ),
        (
            {"aptitude_breakdown": {"problem_solving": 80, "Problem-Solving ": {"correct": 1, "total": 2}}},
            "aptitude_breakdown",
            "'problem_solving' and 'Problem-Solving ' are the same category; keep one",
        ),
        (
            {"track_alignment": {"red-team": 70, "Red Team": 40}},
            "track_alignment",
            "'red-team' and 'Red Team' are the same track; keep one",
        ),
        (
            {"behavioral_profile": {"team_work": 8, "Team-Work": 3}},
            "behavioral_profile.traits",
            "'team_work' and 'Team-Work' are the same trait; keep one",
        ),
        (
            {"behavioral_profile": {"traits": {"Leadership": 8, "leadership": 3}}},
            "behavioral_profile.traits",
            "'Leadership' and 'leadership' are the same trait; keep one",
        ),
        (
            {"strengths": ["problem solving", "curiosity", "Problem-Solving"]},
            "strengths",
            "'problem solving' and 'Problem-Solving' are the same strength; keep one",
        ),
        (
            {"areas_for_growth": ["Web", "web"]},
            "areas_for_growth",
            "'Web' and 'web' are the same area for growth; keep one",
        ),
        (
            {"behavioral_profile": {"strengths": ["curiosity", "curiosity"]}},
            "behavioral_profile.strengths",
            "'curiosity' is listed twice; keep one",
        ),
        (
            {"behavioral_profile": {"areas_for_growth": ["communication", " Communication"]}},
            "behavioral_profile.areas_for_growth",
            "'communication' and ' Communication' are the same area for growth; keep one",
        ),
    ],
)
def test_names_that_fold_alike_are_an_error_naming_both(
    dispatcher: Dispatcher, fields: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch(result(**fields))
    assert raised.value.fields == (field,)
    assert raised.value.errors[0].message == message


def test_one_category_twice_no_longer_decides_two_ways(dispatcher: Dispatcher) -> None:
    # Recipes read 45 (a gap), marketplace 90: now neither decides on a result that says both.
    with pytest.raises(InvalidInputError, match="are the same category"):
        dispatcher.dispatch(result(aptitude_breakdown={"networking": 90, "Networking": 45}), catalogs=CATALOGS)


def test_names_that_only_look_alike_stay_apart(dispatcher: Dispatcher) -> None:
    report = dispatcher.dispatch(
        result(
            aptitude_breakdown={"web": 50, "web_security": 60, "websecurity": 70},
            strengths=["problem solving", "problems solving"],
            behavioral_profile={"traits": {"lead": 5, "leadership": 6}, "areas_for_growth": ["", "  "]},
        ),
        viewer=ADMIN,
    )
    assert report.engines["recipes"].status == "ok"


def test_lists_found_distinct_are_remembered_but_never_a_duplicate(dispatcher: Dispatcher) -> None:
    for index in range(3000):  # more lists than are remembered: the memory empties and fills again
        dispatcher.dispatch(result(strengths=[f"s{index}", "curiosity"]))
    for _ in range(2):
        with pytest.raises(InvalidInputError, match="'curiosity' and 'Curiosity' are the same strength"):
            dispatcher.dispatch(result(strengths=["curiosity", "Curiosity"]))
    dispatcher.dispatch(result(strengths=["s1", "curiosity"]))


def test_name_key_is_cached_and_bounded() -> None:
    name_key.cache_clear()
    for _ in range(3):
        assert name_key(" Reverse-Engineering ") == "reverse_engineering"
    info = name_key.cache_info()
    assert info.hits == 2 and info.maxsize is not None


def test_strengths_that_fold_alike_count_as_one_across_learners(dispatcher: Dispatcher) -> None:
    spellings = ["Problem solving", "problem-solving", "problem solving", "Problem solving", "  "]
    results = [
        result(session_id=f"s-{i}", user_id=f"u-{i}", strengths=[spelling, "curiosity"])
        for i, spelling in enumerate(spellings)
    ]
    top = dashboard(dispatcher, results).top_strengths
    assert [(item.strength, item.count) for item in top] == [("curiosity", 5), ("Problem solving", 4)]


# --- the same class, elsewhere --------------------------------------------------------------------


def test_a_message_lists_the_first_invalid_fields_and_counts_the_rest(dispatcher: Dispatcher) -> None:
    missions = [{"id": f"m-{i}", "title": "t", "difficulty": 9} for i in range(5000)]
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.prepare_catalogs({"missions": missions})
    error = raised.value
    assert len(error.errors) == 5000 and len(str(error)) < 2000
    assert str(error).endswith("; ... and 4,980 more invalid field(s)")


def test_a_long_key_is_cut_short_in_the_field_name(dispatcher: Dispatcher) -> None:
    error = invalid(lambda: dispatcher.dispatch(result(**{"x" * 100_000: 1})))
    assert error.fields == ("x" * 59 + "…",)


def test_catalog_text_that_no_report_can_hold_is_refused(dispatcher: Dispatcher, tmp_path: Path) -> None:
    error = invalid(
        lambda: dispatcher.prepare_catalogs({"recipes": [{"id": "r", "title": "\ud800", "skill_codes": []}]})
    )
    assert error.fields == ("recipes.0.title",)
    # A lone surrogate escape is valid JSON to Python's reader: the CLI must refuse it, not fail writing.
    # The one JSON reader (pydantic's) refuses it while parsing the file.
    catalogs = tmp_path / "catalogs.json"
    catalogs.write_text(
        json.dumps({**CATALOGS, "jobs": [{**CATALOGS["jobs"][0], "title": "\ud800"}]}), encoding="utf-8"
    )
    run = run_cli("dispatch", "--example", "--catalogs", str(catalogs))
    assert run.code == 2 and "Traceback" not in run.stderr
    assert f"--catalogs {catalogs}: invalid JSON" in run.stderr


def test_a_rating_that_is_not_a_number_is_refused(dispatcher: Dispatcher) -> None:
    recipe = {"id": "r", "title": "t", "skill_codes": ["NET"], "avg_rating": float("nan")}
    assert invalid(lambda: dispatcher.prepare_catalogs({"recipes": [recipe]})).fields == ("recipes.0.avg_rating",)
