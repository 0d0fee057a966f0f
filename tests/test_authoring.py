"""Editor support and a host's own rules directory: schemas, modelines, init, pre-commit."""

from __future__ import annotations

from pathlib import Path

import yaml

from profiler_rules import Dispatcher

from .conftest import PACKAGED_RULES, run_cli

ROOT = Path(__file__).parent.parent


def test_every_rule_and_test_file_names_a_schema_that_schema_write_generates(tmp_path: Path) -> None:
    """The packaged schemas are generated, not kept in git: ``profiler-rules schema --write
    profiler_rules/rules/schemas`` gives a contributor's editor every schema the modelines name."""
    run = run_cli("schema", "--write", str(tmp_path / "schemas"))
    assert run.code == 0, run.stderr
    for path in [*PACKAGED_RULES.glob("*.yaml"), *PACKAGED_RULES.glob("tests/*.yaml")]:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        schema = ((tmp_path / path.relative_to(PACKAGED_RULES)).parent / first.split("=", 1)[1]).resolve()
        assert schema.is_file(), f"{path.name} names {schema}, which schema --write does not make"


def test_init_gives_a_directory_that_checks_and_tests_clean(tmp_path: Path) -> None:
    target = tmp_path / "my-rules"
    run = run_cli("init", str(target))
    assert run.code == 0, run.stderr
    assert {path.name for path in target.glob("*.yaml")} == {path.name for path in PACKAGED_RULES.glob("*.yaml")}
    assert (target / "schemas" / "recipes.schema.json").is_file()
    assert sorted(path.name for path in (target / "tests").glob("*.yaml")) == sorted(
        path.name for path in PACKAGED_RULES.glob("tests/*.yaml")
    )
    assert run_cli("check", "--rules", str(target)).code == 0
    assert run_cli("test", "--rules", str(target)).code == 0
    assert (
        Dispatcher.from_rules(target, entry_points=False).ruleset.digest
        == Dispatcher.from_rules(entry_points=False).ruleset.digest
    )


def test_init_refuses_a_directory_in_use(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    run = run_cli("init", str(tmp_path))
    assert run.code == 2
    assert "is not empty" in run.stderr
    assert run_cli("init", str(tmp_path), "--force").code == 0
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_pre_commit_hooks_run_check_and_test() -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["profiler-rules-check"]["entry"] == "profiler-rules check"
    assert hooks["profiler-rules-test"]["entry"] == "profiler-rules test"
    assert all(hook["pass_filenames"] is False for hook in hooks.values())


def readme_loop() -> list[list[str]]:
    """The content author's commands, exactly as the README gives them."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## For the content team", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line.split("#")[0].split() for line in block.splitlines() if line.startswith("profiler-rules ")]


def test_the_content_authors_loop_from_the_readme(tmp_path: Path) -> None:
    commands = readme_loop()
    assert [command[1] for command in commands] == ["init", "check", "test", "diff", "explain"]
    outputs = {}
    for command in commands:
        if command[1] == "check":
            recipes = tmp_path / "my-rules" / "recipes.yaml"
            text = recipes.read_text()
            recipes.write_text(
                text.replace("  gap_cutoff: 60\n\ntechnical_exposure:", "  gap_cutoff: 6O\n\ntechnical_exposure:")
            )
            mistake = run_cli(*command[1:], cwd=tmp_path)
            assert mistake.code == 1
            assert (
                "my-rules/recipes.yaml:9:15: error: '6O' is not of type 'number' [aptitude.gap_cutoff]"
                in mistake.stdout
            )
            recipes.write_text(
                text.replace("  gap_cutoff: 60\n\ntechnical_exposure:", "  gap_cutoff: 55\n\ntechnical_exposure:")
            )
        outputs[command[1]] = run_cli(*command[1:], cwd=tmp_path)
    assert outputs["init"].code == 0 and "next:" in outputs["init"].stdout
    assert outputs["check"].code == 0, outputs["check"].stdout
    assert outputs["test"].code == 1, "the packaged tests pin the 60 cutoff, so moving it fails them"
    assert "FAIL recipes.yaml::" in outputs["test"].stdout and "expected" in outputs["test"].stdout
    assert outputs["diff"].code == 0
    assert "recipes: " in outputs["diff"].stdout and " changed" in outputs["diff"].stdout
    assert "(my-rules/recipes.yaml:9) → gap" in outputs["explain"].stdout
    assert "aptitude cutoff 55" in outputs["explain"].stdout
