"""Recipes: gaps at every boundary, both breakdown shapes, exact category matching, stable codes, ranking."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from profiler_rules import Dispatcher

from .conftest import EXAMPLES, PACKAGED_RULES, edit, result


def recipes(dispatcher: Dispatcher, catalogs: dict[str, Any] | None = None, **fields: Any) -> Any:
    return dispatcher.dispatch(result(**fields), catalogs=catalogs).engines["recipes"]


def gaps(dispatcher: Dispatcher, **fields: Any) -> list[tuple[str, str, float | None, str]]:
    output = recipes(dispatcher, **fields).output
    return [(gap.category, gap.type, gap.score, gap.priority) for gap in output.gaps]


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (60, []),
        (60.0, []),
        (59.99, [("networking", "aptitude", 59.99, "medium")]),
        (40, [("networking", "aptitude", 40.0, "medium")]),
        (39.99, [("networking", "aptitude", 39.99, "high")]),
        (0, [("networking", "aptitude", 0.0, "high")]),
        ("0", [("networking", "aptitude", 0.0, "high")]),
        (None, []),
        (100, []),
    ],
)
def test_aptitude_boundaries(dispatcher: Dispatcher, score: Any, expected: list[Any]) -> None:
    assert gaps(dispatcher, aptitude_breakdown={"networking": score}) == expected


def test_an_unknown_score_is_named_in_the_explanation(dispatcher: Dispatcher) -> None:
    report = recipes(dispatcher, aptitude_breakdown={"security": None})
    assert report.output.gaps == ()
    assert [because.message for because in report.explain if "security" in because.message] == [
        "security has no known score → no gap"
    ]


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (60, []),
        (59.99, [("technical_exposure", "technical", 59.99, "medium")]),
        (40, [("technical_exposure", "technical", 40.0, "medium")]),
        (39.99, [("technical_exposure", "technical", 39.99, "high")]),
        (0, [("technical_exposure", "technical", 0.0, "high")]),
        (None, []),
    ],
)
def test_technical_exposure_boundaries(dispatcher: Dispatcher, score: Any, expected: list[Any]) -> None:
    assert gaps(dispatcher, technical_exposure_score=score) == expected


def test_a_technical_gap_adds_its_codes_and_a_real_zero_is_reported(dispatcher: Dispatcher) -> None:
    output = recipes(dispatcher, technical_exposure_score=0).output
    assert output.recommended_recipe_skills == ("TECH", "BASICS", "FUNDAMENTALS")
    assert output.technical_exposure_score == 0.0


def test_the_counts_shape_is_a_percentage(dispatcher: Dispatcher) -> None:
    breakdown = {
        "networking": {"correct": 0, "total": 1, "points": 0},
        "security": {"correct": 3, "total": 5, "points": 30},
        "web": {"correct": 1, "total": 3},
        "cloud": {"correct": 0, "total": 0},
    }
    assert gaps(dispatcher, aptitude_breakdown=breakdown) == [
        ("networking", "aptitude", 0.0, "high"),
        ("web", "aptitude", 33.33, "high"),
    ]


def test_the_platforms_native_shape_finds_its_gaps(dispatcher: Dispatcher) -> None:
    """The original's gap analysis found nothing in what the platform really stores (its defect 1)."""
    report = recipes(
        dispatcher,
        aptitude_breakdown={
            "networking": {"correct": 0, "total": 1, "points": 0},
            "security": {"correct": 0, "total": 1, "points": 0},
        },
        behavioral_profile={"work_style": 6.5, "leadership": 4.0, "collaboration": 8.5},
        scores={"aptitude": 0},
    )
    assert [(gap.category, gap.type, gap.score) for gap in report.output.gaps] == [
        ("networking", "aptitude", 0.0),
        ("security", "aptitude", 0.0),
        ("leadership", "behavioral", 4.0),
    ]
    assert report.output.aptitude_score == 0.0
    assert "LEAD" in report.output.recommended_recipe_skills


@pytest.mark.parametrize("name", ["networking", "Networking", " NETWORKING ", "networks", "Network"])
def test_category_names_match_exactly_or_by_alias(dispatcher: Dispatcher, name: str) -> None:
    output = recipes(dispatcher, aptitude_breakdown={name: 10}).output
    assert output.recommended_recipe_skills == ("NET", "NETW", "TCPIP", "DNS", "HTTP")
    assert output.gaps[0].category == name.strip()


@pytest.mark.parametrize(
    "name", ["web_security", "network_security", "a", "x", "net", "technical_skills", "problem_solving"]
)
def test_no_substring_guessing(dispatcher: Dispatcher, name: str) -> None:
    report = recipes(dispatcher, aptitude_breakdown={name: 10})
    assert report.output.recommended_recipe_skills == ()
    assert report.output.total_gaps == 1
    assert any("is not a category or alias in the rules" in because.message for because in report.explain)


def test_separators_are_alike_in_category_names(dispatcher: Dispatcher) -> None:
    output = recipes(dispatcher, aptitude_breakdown={"Reverse-Engineering": 10}).output
    assert output.recommended_recipe_skills == ("MALWARE", "REVERSE", "ANALYSIS")


def test_growth_areas_are_behavioral_gaps_with_whole_word_keywords(dispatcher: Dispatcher) -> None:
    areas = ["Technical Documentation", "COMMUNICATION skills", "miscommunication", "leadership_presence", "focus"]
    output = recipes(dispatcher, behavioral_profile={"traits": {"leadership": 2}, "areas_for_growth": areas}).output
    assert [(gap.category, gap.type, gap.score, gap.priority) for gap in output.gaps] == [
        (area, "behavioral", None, "medium") for area in areas
    ]
    assert output.recommended_recipe_skills == ("DOC", "COMM", "LEAD")


def test_without_growth_areas_low_traits_are_gaps(dispatcher: Dispatcher) -> None:
    profile = {"traits": {"leadership": 4.99, "communication": 5, "teamwork": 0}}
    assert gaps(dispatcher, behavioral_profile=profile) == [
        ("leadership", "behavioral", 4.99, "medium"),
        ("teamwork", "behavioral", 0.0, "medium"),
    ]


def test_an_empty_list_of_growth_areas_means_none(dispatcher: Dispatcher) -> None:
    assert gaps(dispatcher, behavioral_profile={"traits": {"leadership": 1}, "areas_for_growth": []}) == []


def test_reference_example_a(dispatcher: Dispatcher) -> None:
    """The documented example of the original system, with its expected gaps and skills."""
    stored = json.loads((EXAMPLES / "result.json").read_text())
    stored["aptitude_breakdown"].pop("programming")
    output = dispatcher.dispatch(stored).engines["recipes"].output
    assert [(gap.category, gap.type, gap.score, gap.priority) for gap in output.gaps] == [
        ("networking", "aptitude", 45.5, "medium"),
        ("web", "aptitude", 38.0, "high"),
        ("technical_exposure", "technical", 48.0, "medium"),
        ("Technical documentation", "behavioral", None, "medium"),
        ("communication", "behavioral", None, "medium"),
    ]
    expected = {
        "NET",
        "NETW",
        "TCPIP",
        "DNS",
        "HTTP",
        "WEB",
        "WEBAPP",
        "OWASP",
        "XSS",
        "SQLI",
        "TECH",
        "BASICS",
        "FUNDAMENTALS",
        "DOC",
        "COMM",
    }
    assert set(output.recommended_recipe_skills) == expected
    assert (output.aptitude_score, output.technical_exposure_score, output.total_gaps, output.total_skills) == (
        62.4,
        48.0,
        5,
        15,
    )


def test_skill_codes_are_deduplicated_in_gap_order(dispatcher: Dispatcher) -> None:
    output = recipes(dispatcher, aptitude_breakdown={"web": 10, "networking": 20, "Networks": 30}).output
    assert output.recommended_recipe_skills == (
        "WEB",
        "WEBAPP",
        "OWASP",
        "XSS",
        "SQLI",
        "NET",
        "NETW",
        "TCPIP",
        "DNS",
        "HTTP",
    )


def test_skill_order_is_the_same_under_every_hash_seed(tmp_path: Path) -> None:
    script = (
        "import json, sys\n"
        "from profiler_rules import Dispatcher\n"
        "d = Dispatcher.from_rules(entry_points=False)\n"
        "r = json.load(open(sys.argv[1]))\n"
        "print(d.dispatch(r).engines['recipes'].model_dump_json())\n"
    )
    outputs = set()
    for seed in ("0", "1", "42", "31337"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", script, str(EXAMPLES / "result.json")],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1


def test_incomplete_results_are_skipped_with_the_reason(dispatcher: Dispatcher) -> None:
    report = recipes(dispatcher, status="aptitude_complete", aptitude_breakdown={"web": 10})
    assert report.status == "skipped"
    assert report.output is None
    assert (
        report.explain[0].message
        == "the result's status is 'aptitude_complete'; recipes acts only on finished or locked results"
    )


def test_explanations_cite_the_cutoff_line(dispatcher: Dispatcher) -> None:
    explain = recipes(dispatcher, aptitude_breakdown={"networking": 45.5}).explain
    cutoff = explain[0]
    assert cutoff.message == "networking 45.5 is below the aptitude cutoff 60 → gap"
    assert (cutoff.rule, cutoff.file) == ("aptitude.gap_cutoff", "profiler_rules/rules/recipes.yaml")
    text = (PACKAGED_RULES / "recipes.yaml").read_text().splitlines()
    assert text[cutoff.line - 1].strip() == "gap_cutoff: 60"
    assert text[explain[1].line - 1].strip() == "below: 60"
    assert explain[1].message == "networking 45.5 is below 60 → priority medium"


def test_a_changed_cutoff_changes_the_gaps(rules_dir: Path) -> None:
    path = rules_dir / "recipes.yaml"
    edit(path, "  gap_cutoff: 60\n\ntechnical_exposure:", "  gap_cutoff: 50\n\ntechnical_exposure:")
    changed = Dispatcher.from_rules(rules_dir, entry_points=False)
    assert gaps(changed, aptitude_breakdown={"networking": 55}) == []
    assert gaps(changed, aptitude_breakdown={"networking": 45}) == [("networking", "aptitude", 45.0, "medium")]


# --- the recipe catalog ------------------------------------------------------------------------


def recipe(
    id_: str, codes: list[str], usage: int = 0, rating: float | None = None, active: bool = True
) -> dict[str, Any]:
    return {
        "id": id_,
        "title": id_.title(),
        "skill_codes": codes,
        "usage_count": usage,
        "avg_rating": rating,
        "is_active": active,
    }


def recommended(dispatcher: Dispatcher, catalog: list[dict[str, Any]], **fields: Any) -> list[tuple[str, float]]:
    output = recipes(dispatcher, {"recipes": catalog}, **fields).output
    return [(item.id, item.coverage) for item in output.recommended_recipes]


def test_recipes_are_ranked_by_weighted_coverage_then_usage_rating_and_id(dispatcher: Dispatcher) -> None:
    catalog = [
        recipe("medium-only", ["NET", "DNS"], usage=999),  # two medium codes: 2
        recipe("high-one", ["WEB"], usage=1),  # one high code: 2
        recipe("high-two", ["web", "xss "], usage=5),  # two high codes: 4 (codes read in any case)
        recipe("tie-b", ["HTTP"], usage=10, rating=4.0),
        recipe("tie-a", ["HTTP"], usage=10, rating=4.0),
        recipe("tie-rated", ["HTTP"], usage=10, rating=4.5),
        recipe("inactive", ["WEB", "XSS", "SQLI"], usage=1000, active=False),
        recipe("unrelated", ["LOG_ANALYSIS"], usage=1000),
    ]
    ranked = recommended(dispatcher, catalog, aptitude_breakdown={"networking": 50, "web": 10})
    assert ranked == [
        ("high-two", 4.0),
        ("medium-only", 2.0),
        ("high-one", 2.0),
        ("tie-rated", 1.0),
        ("tie-a", 1.0),
        ("tie-b", 1.0),
    ]


def test_at_most_max_recipes_are_recommended(dispatcher: Dispatcher) -> None:
    catalog = [recipe(f"r-{index:02}", ["NET"]) for index in range(25)]
    ranked = recommended(dispatcher, catalog, aptitude_breakdown={"networking": 50})
    assert [item for item, _ in ranked] == [f"r-{index:02}" for index in range(10)]


def test_without_a_catalog_there_are_no_recommended_recipes(dispatcher: Dispatcher) -> None:
    assert recipes(dispatcher, aptitude_breakdown={"networking": 50}).output.recommended_recipes is None


def test_an_invalid_catalog_item_is_named(dispatcher: Dispatcher) -> None:
    from profiler_rules import InvalidInputError

    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch(
            result(), catalogs={"recipes": [recipe("ok", ["NET"]), {"id": "bad", "title": "x", "skill_codes": "NET"}]}
        )
    assert raised.value.fields == ("recipes.1.skill_codes",)


def test_an_unknown_catalog_is_refused(dispatcher: Dispatcher) -> None:
    from profiler_rules import InvalidInputError

    with pytest.raises(InvalidInputError, match="no engine reads this catalog"):
        dispatcher.dispatch(result(), catalogs={"recipe": []})


def test_prepared_catalogs_give_the_same_answer(dispatcher: Dispatcher) -> None:
    catalogs = {"recipes": [recipe("a", ["NET"]), recipe("b", ["WEB"])]}
    prepared = dispatcher.prepare_catalogs(catalogs)
    fields = result(aptitude_breakdown={"networking": 50, "web": 10})
    assert dispatcher.dispatch(fields, catalogs=prepared) == dispatcher.dispatch(fields, catalogs=catalogs)
