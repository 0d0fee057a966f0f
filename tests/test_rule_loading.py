"""Strict rule loading: YAML surprises, positions, all-or-nothing rule sets, and ``check``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiler_rules import Dispatcher, RulesError
from profiler_rules.core.yamlfile import MAX_DEPTH, parse_yaml

from .conftest import BUILTIN_ENGINES, PACKAGED_RULES, edit, line_of, run_cli


def problems_of(text: str) -> list[str]:
    return [problem.format() for problem in parse_yaml(text, "x.yaml")[1]]


def data_of(text: str) -> object:
    document, problems = parse_yaml(text, "x.yaml")
    assert not problems
    assert document is not None
    return document.data


# --- the YAML layer ----------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "Yes", "NO", "y", "n"])
def test_yaml11_booleans_stay_strings(word: str) -> None:
    assert data_of(f"a: {word}\n") == {"a": word}


@pytest.mark.parametrize("text", ["2026-01-01", "1:30", "0o17", "0x1F", ".inf", ".nan", "1_000"])
def test_yaml11_numbers_and_dates_stay_strings(text: str) -> None:
    assert data_of(f"a: {text}\n") == {"a": text}


def test_core_schema_scalars_resolve() -> None:
    assert data_of("a: 60\nb: 59.99\nc: -1\nd: true\ne: null\nf: ~\ng:\nh: '60'\n") == {
        "a": 60,
        "b": 59.99,
        "c": -1,
        "d": True,
        "e": None,
        "f": None,
        "g": None,
        "h": "60",
    }


def test_duplicate_key_is_reported_at_its_second_occurrence() -> None:
    assert problems_of("a: 1\nb:\n  c: 1\n  c: 2\n") == [
        "x.yaml:4:3: error: duplicate key 'c' (first defined on line 3); remove one of them [b.c]"
    ]


def test_first_of_duplicate_keys_is_kept() -> None:
    document, _ = parse_yaml("a: 1\na: 2\n", "x.yaml")
    assert document is not None and document.data == {"a": 1}


def test_anchor_and_alias_are_each_reported() -> None:
    assert problems_of("a: &x 1\nb: *x\n") == [
        "x.yaml:1:4: error: anchors (&x) are not allowed; write the value out [a]",
        "x.yaml:2:4: error: aliases (*x) are not allowed; write the value out [b]",
    ]


def test_alias_bomb_is_refused_without_expanding() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for parent, child in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{child}: &{child} [" + ",".join([f"*{parent}"] * 9) + "]")
    document, problems = parse_yaml("\n".join(lines) + "\n", "bomb.yaml")
    assert any("aliases" in problem.message for problem in problems)
    assert document is not None
    assert all(value is None or len(value) == 9 for value in document.data.values())


def test_explicit_tags_are_refused() -> None:
    assert problems_of("a: !!python/object:os.system x\n") == [
        "x.yaml:1:4: error: tags (tag:yaml.org,2002:python/object:os.system) are not allowed; write the plain value [a]"
    ]


def test_nesting_deeper_than_the_limit_is_an_error_not_a_recursion_error() -> None:
    deep = "a: " + "[" * 10_000 + "]" * 10_000 + "\n"
    (problem,) = problems_of(deep)
    assert f"nesting deeper than {MAX_DEPTH} levels" in problem


def test_nesting_up_to_the_limit_is_fine() -> None:
    text = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    assert problems_of(text) == []


def test_tabs_get_a_plain_message() -> None:
    assert problems_of("a:\n\t- 1\n") == ["x.yaml:2:1: error: tabs are not allowed in YAML indentation; use spaces"]


def test_a_second_document_is_refused() -> None:
    assert problems_of("a: 1\n---\nb: 2\n") == [
        "x.yaml:2:1: error: a rule file holds one YAML document; remove the second '---'"
    ]


# --- whole rule sets ---------------------------------------------------------------------------


def test_packaged_rules_load_with_digest_and_version(dispatcher: Dispatcher) -> None:
    assert dispatcher.ruleset.digest.startswith("sha256:")
    assert len(dispatcher.ruleset.digest) == len("sha256:") + 64
    assert dispatcher.ruleset.version == "1.0.0"


def test_copied_rules_have_the_packaged_digest(rules_dir: Path, dispatcher: Dispatcher) -> None:
    copy = Dispatcher.from_rules(rules_dir, entry_points=False)
    assert copy.ruleset.digest == dispatcher.ruleset.digest


def test_digest_follows_every_byte_of_the_rules(rules_dir: Path, dispatcher: Dispatcher) -> None:
    edit(rules_dir / "missions.yaml", "# Missions:", "# Missions (edited):")
    assert Dispatcher.from_rules(rules_dir, entry_points=False).ruleset.digest != dispatcher.ruleset.digest


def test_version_is_optional(rules_dir: Path) -> None:
    (rules_dir / "ruleset.yaml").unlink()
    assert Dispatcher.from_rules(rules_dir, entry_points=False).ruleset.version is None


def test_every_problem_of_every_file_is_raised_at_once(rules_dir: Path) -> None:
    edit(rules_dir / "missions.yaml", "  elite: 4", "  elite: four")
    edit(rules_dir / "recipes.yaml", "  max_recipes: 10", "  max_recipes: ten")
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    files = [Path(problem.file).name for problem in raised.value.problems]
    assert files == ["missions.yaml", "recipes.yaml"]
    assert "missions.yaml:" in str(raised.value) and "recipes.yaml:" in str(raised.value)


def test_missing_and_unknown_files_are_problems(rules_dir: Path) -> None:
    (rules_dir / "access.yaml").unlink()
    (rules_dir / "extras.yaml").write_text("a: 1\n")
    (rules_dir / "recipes.yaml").rename(rules_dir / "recipes.yml")
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    messages = {Path(problem.file).name: problem.message for problem in raised.value.problems}
    assert messages["access.yaml"] == "missing rule file of the access rules"
    assert messages["extras.yaml"].startswith("no engine reads this file")
    assert messages["recipes.yml"] == "rule files end in .yaml; rename it to recipes.yaml"
    assert "recipes.yaml" not in messages, "an engine's missing file is served by its packaged default"


def test_an_engines_missing_file_is_served_by_its_packaged_default(rules_dir: Path, dispatcher: Dispatcher) -> None:
    (rules_dir / "missions.yaml").unlink()
    loaded = Dispatcher.from_rules(rules_dir, entry_points=False)
    assert loaded.ruleset.defaults == ("missions",)
    assert (
        loaded.ruleset.rules_by_engine["missions"].settings == dispatcher.ruleset.rules_by_engine["missions"].settings
    )
    (warning,) = [problem for problem in loaded.ruleset.warnings if problem.file == str(rules_dir / "missions.yaml")]
    assert warning.level == "warning"
    assert "using its packaged default (profiler_rules/rules/missions.yaml)" in warning.message


def test_a_missing_directory_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="no such rules directory"):
        Dispatcher.from_rules(tmp_path / "nowhere", entry_points=False)


def test_empty_file_is_a_problem(rules_dir: Path) -> None:
    (rules_dir / "missions.yaml").write_text("# nothing yet\n")
    with pytest.raises(RulesError, match="the file is empty"):
        Dispatcher.from_rules(rules_dir, entry_points=False)


def test_file_over_one_mebibyte_is_refused_unread(rules_dir: Path) -> None:
    (rules_dir / "missions.yaml").write_text("# padding\n" * 120_000)
    with pytest.raises(RulesError, match="larger than 1 MiB"):
        Dispatcher.from_rules(rules_dir, entry_points=False)


def test_bytes_that_are_not_utf8_are_placed(rules_dir: Path) -> None:
    (rules_dir / "missions.yaml").write_bytes(b"levels:\n  novice: 1\n  \xff: 2\n")
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    (problem,) = raised.value.problems
    assert (problem.line, problem.column) == (3, 3)
    assert "not UTF-8" in problem.message


def test_a_byte_order_mark_is_accepted(rules_dir: Path) -> None:
    path = rules_dir / "missions.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert Dispatcher.from_rules(rules_dir, entry_points=False).engines[0] == "missions"


def test_cross_field_rule_points_at_the_setting(rules_dir: Path) -> None:
    path = rules_dir / "recipes.yaml"
    edit(path, "  gap_cutoff: 60\n\ntechnical_exposure:", "  gap_cutoff: 70\n\ntechnical_exposure:")
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    (problem,) = raised.value.problems
    assert problem.line == line_of(path, "gap_cutoff: 70")
    assert problem.path == "aptitude.gap_cutoff"
    assert "above the last priority band" in problem.message


def test_alias_names_one_category_only(rules_dir: Path) -> None:
    path = rules_dir / "recipes.yaml"
    edit(path, "      - crypto\n", "      - crypto\n      - Networks\n")
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    (problem,) = raised.value.problems
    assert problem.line == line_of(path, "- Networks")
    assert problem.message == "'Networks' already names category 'networking'"


# --- the check command, as a content author runs it --------------------------------------------


def test_check_passes_on_the_packaged_rules() -> None:
    run = run_cli("check")
    assert run.code == 0, run.stderr
    assert run.stdout.startswith(f"ok: rules of {len(BUILTIN_ENGINES)} engine(s) are valid (sha256:")


def test_check_reports_each_mistake_at_its_own_position_in_one_run(tmp_path: Path, rules_dir: Path) -> None:
    recipes = rules_dir / "recipes.yaml"
    missions = rules_dir / "missions.yaml"
    edit(missions, "  advanced: 3", "  advanced: [3]")  # a wrong type
    edit(recipes, "  gap_cutoff: 60\n\ntechnical_exposure:", "  gap_cutoff: sixty\n\ntechnical_exposure:")  # a word
    edit(recipes, "  gap_cutoff: 5\n", "  gap_cutoff: yes\n")  # yes for a number
    edit(recipes, "  max_recipes: 10\n", "  max_recipes: 10\n  max_recipes: 12\n")  # a duplicate key
    edit(recipes, "    high: 2\n    medium: 1\n", "    high: &weight 2\n    medium: *weight\n")  # an alias
    edit(recipes, "  priority: medium\n", "  priority: medium\n  colour: blue\n")  # an unknown key
    edit(recipes, "  gap_cutoff: 60\n  # The skill codes", "  gap_cutoff: 160\n  # The skill codes")  # out of range

    run = run_cli("check", "--rules", "rules", cwd=tmp_path)

    assert run.code == 1
    assert "Traceback" not in run.stdout + run.stderr
    line = lambda path, needle: f"rules/{path.name}:{line_of(path, needle)}"  # noqa: E731
    assert run.stdout.splitlines() == [
        f"{line(missions, 'advanced: [3]')}:13: error: a list is not of type 'integer' [levels.advanced]",
        f"{line(recipes, 'gap_cutoff: sixty')}:15: error: 'sixty' is not of type 'number' [aptitude.gap_cutoff]",
        f"{line(recipes, 'gap_cutoff: 160')}:15: error: 160 is greater than the maximum of 100 [technical_exposure.gap_cutoff]",
        f"{line(recipes, 'gap_cutoff: yes')}:15: error: 'yes' is not of type 'number' [behavioral.gap_cutoff]",
        f"{line(recipes, 'colour: blue')}:3: error: unknown key 'colour' (allowed: gap_cutoff, keywords, priority) [behavioral.colour]",
        f"{line(recipes, 'max_recipes: 12')}:3: error: duplicate key 'max_recipes' (first defined on line "
        f"{line_of(recipes, 'max_recipes: 10')}); remove one of them [recommendations.max_recipes]",
        f"{line(recipes, 'high: &weight')}:11: error: anchors (&weight) are not allowed; write the value out "
        "[recommendations.priority_weights.high]",
        f"{line(recipes, 'medium: *weight')}:13: error: aliases (*weight) are not allowed; write the value out "
        "[recommendations.priority_weights.medium]",
    ]
    assert run.stderr.splitlines()[0] == "8 problem(s) in 2 file(s)"  # then what to do next


def test_check_json_format_has_the_same_fields(tmp_path: Path, rules_dir: Path) -> None:
    edit(rules_dir / "missions.yaml", "  elite: 4", "  elite: four")
    run = run_cli("check", "--rules", str(rules_dir), "--format", "json")
    assert run.code == 1
    report = run.json()
    assert report["valid"] is False
    (problem,) = report["problems"]
    assert problem == {
        "file": str(rules_dir / "missions.yaml"),
        "line": line_of(rules_dir / "missions.yaml", "elite: four"),
        "column": 10,
        "level": "error",
        "message": "'four' is not of type 'integer'",
        "path": "levels.elite",
    }


def test_check_usage_error_exits_2() -> None:
    run = run_cli("check", "--format", "xml")
    assert run.code == 2


def test_packaged_rule_files_are_block_style_and_commented() -> None:
    import yaml

    for path in PACKAGED_RULES.glob("*.yaml"):
        text = path.read_text()
        first, second = text.splitlines()[:2]
        assert first == f"# yaml-language-server: $schema=schemas/{path.stem}.schema.json", (
            f"{path.name} lacks its modeline"
        )
        assert second.startswith("# "), f"{path.name} should say what it is, in a comment"
        flow = [
            event for event in yaml.parse(text) if isinstance(event, yaml.CollectionStartEvent) and event.flow_style
        ]
        assert not flow, f"{path.name} should use block style only (line {flow[0].start_mark.line + 1 if flow else 0})"


def test_schemas_describe_every_field() -> None:
    run = run_cli("schema")
    assert run.code == 0
    schemas = run.json()

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if "type" in node and "$ref" not in node:
                assert "description" in node or where.endswith("definitions.percent"), f"{where} has no description"
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    for name, schema in schemas.items():
        assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
        walk(schema, name)
    assert json.loads(run_cli("schema", "missions").stdout)["title"] == "Missions rules"
    assert run_cli("schema", "nope").code == 2
