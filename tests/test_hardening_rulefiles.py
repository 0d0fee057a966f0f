"""Issue 10, rule files: nothing leaks through them, nothing crashes on them, a plugin's missing file
serves its packaged default, and every message says where and how to fix.

Real rule directories, real links, FIFOs and devices, real CLI runs in subprocesses.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from profiler_rules import Dispatcher, RulesError
from profiler_rules.cli.rulefiles import _junit
from profiler_rules.core.errors import RulesDirectoryError
from profiler_rules.core.ruleset import schema_problems
from profiler_rules.core.ruletests import CaseResult, SuiteResult
from profiler_rules.core.yamlfile import MAX_FILE_BYTES, MAX_PROBLEMS, parse_yaml

from .conftest import BUILTIN_ENGINES, PACKAGED_RULES, edit, install_plugin, line_of, run_cli

SECRET = "s3cr3t-token-do-not-print"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside every rules directory, whose content must never be printed."""
    path = tmp_path / "secrets.yaml"
    path.write_text(f"aptitude:\n  gap_cutoff: {SECRET}\npassword: {SECRET}\n")
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


# --- 1. No leaks through rule files ---------------------------------------------------------------


def test_a_rule_file_linking_outside_the_rules_directory_is_refused_unread(
    tmp_path: Path, rules_dir: Path, secret: Path
) -> None:
    (rules_dir / "recipes.yaml").unlink()
    (rules_dir / "recipes.yaml").symlink_to(secret)
    run = run_cli("check", "--rules", "rules", cwd=tmp_path)
    assert run.code == 1
    assert run.stdout.splitlines()[0] == (
        "rules/recipes.yaml: error: the file resolves outside the rules directory; rule files must live inside it"
    )
    assert SECRET not in run.stdout + run.stderr
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    assert SECRET not in str(raised.value)


def test_a_rule_test_linking_outside_is_refused_unread(tmp_path: Path, rules_dir: Path, secret: Path) -> None:
    (rules_dir / "tests" / "leak.yaml").symlink_to(secret)
    run = run_cli("test", "--rules", "rules", cwd=tmp_path)
    assert run.code == 2
    assert (
        "rules/tests/leak.yaml: error: the file resolves outside the rules directory; rule tests must live inside it"
        in run.stderr.splitlines()
    )
    assert SECRET not in run.stdout + run.stderr


def test_links_inside_the_rules_directory_and_a_linked_directory_are_followed(tmp_path: Path, rules_dir: Path) -> None:
    shared = rules_dir / "shared"
    shared.mkdir()
    (rules_dir / "recipes.yaml").rename(shared / "recipes.yaml")
    (rules_dir / "recipes.yaml").symlink_to(Path("shared") / "recipes.yaml")
    # Hosts swap a link to the rules directory atomically: the link is resolved once and read through.
    (tmp_path / "current").symlink_to(rules_dir)
    run = run_cli("check", "--rules", "current", cwd=tmp_path)
    assert run.code == 0, run.stdout + run.stderr
    assert run_cli("test", "--rules", "current", cwd=tmp_path).code == 0


def test_a_file_a_rule_test_names_is_confined_regular_and_bounded(
    tmp_path: Path, rules_dir: Path, secret: Path
) -> None:
    tests = rules_dir / "tests"
    _fifo(tests / "fifo.json")
    (tests / "zero.json").symlink_to("/dev/zero")
    (tests / "big.json").write_text('{"session_id": "' + "x" * MAX_FILE_BYTES + '"}')
    (tests / "latin1.json").write_bytes(b'{"session_id": "caf\xe9"}')
    (tests / "deep.json").write_text("[" * 100_000)
    names = {
        "absolute": str(secret),
        "parent": f"../../{secret.name}",
        "fifo": "fifo.json",
        "device": "zero.json",
        "directory": "../tests",
        "big": "big.json",
        "latin1": "latin1.json",
        "deep": "deep.json",
    }
    cases = "".join(
        f"  - name: {name}\n    result_file: {file}\n    expect: {{missions: {{status: ok}}}}\n"
        for name, file in names.items()
    )
    (tests / "files.yaml").write_text(
        f"cases:\n{cases}  - name: catalogs\n    result: {{session_id: s, user_id: u}}\n"
        f"    catalogs_file: {secret}\n    expect: {{missions: {{status: ok}}}}\n"
    )
    started = time.perf_counter()
    run = run_cli("test", "--rules", "rules", cwd=tmp_path)
    assert time.perf_counter() - started < 30  # a FIFO would hang it, /dev/zero would exhaust memory
    assert run.code == 2
    assert SECRET not in run.stdout + run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("rules/tests/files.yaml:")]
    outside = "the file resolves outside the rules directory; the files a rule test names must live inside it"
    expected = {
        "absolute": outside,  # the long path itself is shown shortened
        "parent": f"'../../{secret.name}': {outside}",
        "fifo": "'fifo.json': this is a named pipe (FIFO), not a regular file",
        "device": f"'zero.json': {outside}",
        "directory": "'../tests': this is a directory, not a file",
        "big": "'big.json': the file is larger than 1 MiB",
        "latin1": "'latin1.json' is not UTF-8 text (byte 0xe9 at offset 19)",
        "deep": "'deep.json' is nested too deeply",
    }
    test_file = tests / "files.yaml"
    for index, (name, message) in enumerate(expected.items()):
        line = 3 + 3 * index  # each case's result_file line
        assert line == line_of(test_file, f"result_file: {names[name]}")
        start = f"rules/tests/files.yaml:{line}:18: error: result_file "
        assert any(text.startswith(start) and message in text for text in lines), (name, lines)
    assert any("error: catalogs_file '/" in text and outside in text for text in lines)


def test_a_device_inside_the_rules_directory_is_not_read(tmp_path: Path, rules_dir: Path) -> None:
    try:
        os.mknod(rules_dir / "tests" / "zero.json", stat.S_IFCHR | 0o444, os.makedev(1, 5))  # /dev/zero
    except PermissionError:
        pytest.skip("making a device needs privileges this run does not have")
    (rules_dir / "tests" / "device.yaml").write_text(
        "cases:\n  - name: zeros\n    result_file: zero.json\n    expect: {missions: {status: ok}}\n"
    )
    run = run_cli("test", "--rules", "rules", cwd=tmp_path)
    assert run.code == 2
    assert (
        "rules/tests/device.yaml:3:18: error: result_file 'zero.json': this is a device, not a regular file"
        in run.stderr
    )


def test_no_message_quotes_more_than_the_offending_value(tmp_path: Path, rules_dir: Path) -> None:
    # jsonschema's own messages print the whole instance: a grant with neither role nor relation, a
    # case with neither result nor result_file, quoted everything else written in them.
    access = rules_dir / "access.yaml"
    access.write_text(access.read_text() + f"extra_view:\n  - details: [{SECRET}]\n")
    (rules_dir / "tests" / "leaky.yaml").write_text(
        f"cases:\n  - name: no result\n    viewer: {{user_id: {SECRET}}}\n    expect: {{missions: {{status: ok}}}}\n"
    )
    # libyaml's syntax errors quote nothing of the file; they stay that way.
    for name, text in {
        "missions.yaml": f"password: {SECRET}\nlevels:\n  novice: 1\n beginner: 1\n",
        "recipes.yaml": f"password: {SECRET}\naptitude: [1, 2\n",
        "portfolio.yaml": f"password: {SECRET}\ntitle: 'open\n",
        "leadership.yaml": f"password: {SECRET}\neligibility: `tick`\n",
    }.items():
        (rules_dir / name).write_text(text)
    check = run_cli("check", "--rules", "rules", "--format", "json", cwd=tmp_path)
    assert check.code == 1
    problems = check.json()["problems"]
    assert {problem["file"] for problem in problems} >= {f"rules/{name}" for name in ("access.yaml", "recipes.yaml")}
    assert all(SECRET not in problem["message"] and problem["line"] for problem in problems), problems
    (grant,) = [problem for problem in problems if problem["file"] == "rules/access.yaml"]
    assert grant["message"] == "needs 'role' or 'relation' (or both)"
    access.write_text(access.read_text().replace(f"extra_view:\n  - details: [{SECRET}]\n", ""))
    for name in ("missions.yaml", "recipes.yaml", "portfolio.yaml", "leadership.yaml"):
        shutil.copy(PACKAGED_RULES / name, rules_dir / name)
    test = run_cli("test", "--rules", "rules", cwd=tmp_path)
    assert test.code == 2 and SECRET not in test.stdout + test.stderr
    assert (
        "rules/tests/leaky.yaml:2:5: error: the case has no input: give it 'result' (one result), 'result_file' "
        "or 'results' (many) [cases[0]]" in test.stderr
    )


def test_a_long_or_multiline_value_is_shown_shortened_on_one_line(rules_dir: Path) -> None:
    edit(
        rules_dir / "marketplace.yaml", "  - entry\n", '  - entry\n  - "' + "x" * 5_000 + '\\nsecond line"\n  - entry\n'
    )
    edit(rules_dir / "missions.yaml", "  elite: 4", "  " + "k" * 5_000 + ": 4\n  elite: 4")
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    for problem in raised.value.problems:
        assert len(problem.message) < 400 and "\n" not in problem.message, problem.message
    messages = [problem.message for problem in raised.value.problems]
    assert "'entry' is listed more than once; remove the repeat" in messages


# --- 2. No crash on any rule-file input -------------------------------------------------------------


@pytest.mark.parametrize("command", ["init", "schema"])
def test_writing_onto_a_file_or_under_a_file_is_one_line_and_exit_2(command: str, tmp_path: Path) -> None:
    file = tmp_path / "taken"
    file.write_text("mine\n")
    for target in (file, file / "below"):
        args = ("init", str(target)) if command == "init" else ("schema", "--write", str(target))
        run = run_cli(*args)
        assert run.code == 2, run.stderr
        assert "Traceback" not in run.stderr
        (line,) = run.stderr.splitlines()
        assert line.startswith("profiler-rules: error: ") and str(file) in line
    assert file.read_text() == "mine\n"


def test_init_force_replaces_a_link_and_never_writes_through_it(tmp_path: Path, secret: Path) -> None:
    before = secret.read_text()
    target = tmp_path / "mine"
    target.mkdir()
    (target / "recipes.yaml").symlink_to(secret)
    assert run_cli("init", "--force", str(target)).code == 0
    assert secret.read_text() == before
    assert not (target / "recipes.yaml").is_symlink()


def test_a_rule_file_that_is_a_directory_or_a_fifo_is_a_problem_at_the_file(tmp_path: Path, rules_dir: Path) -> None:
    (rules_dir / "missions.yaml").unlink()
    (rules_dir / "missions.yaml").mkdir()
    (rules_dir / "recipes.yaml").unlink()
    _fifo(rules_dir / "recipes.yaml")
    _fifo(rules_dir / "extra.yaml")
    (rules_dir / "clear\x1b[2J.yaml").write_text("a: 1\n")
    (rules_dir / os.fsdecode(b"not-utf8-\xff.yaml")).write_text("a: 1\n")
    started = time.perf_counter()
    run = run_cli("check", "--rules", "rules", cwd=tmp_path)
    assert time.perf_counter() - started < 30
    assert run.code == 1
    engines = ", ".join(sorted(BUILTIN_ENGINES))
    assert run.stdout.splitlines() == [
        f"rules/clear\\x1b[2J.yaml: error: no engine reads this file (engines: {engines}; the core reads "
        "access.yaml and ruleset.yaml)",
        f"rules/extra.yaml: error: no engine reads this file (engines: {engines}; the core reads access.yaml "
        "and ruleset.yaml)",
        "rules/missions.yaml: error: this is a directory, not a file; rule files are plain files",
        f"rules/not-utf8-\\udcff.yaml: error: no engine reads this file (engines: {engines}; the core reads "
        "access.yaml and ruleset.yaml)",
        "rules/recipes.yaml: error: this is a named pipe (FIFO), not a regular file; rule files are plain files",
    ]


def test_a_rules_directory_that_is_a_file_or_missing_is_unusable_input(tmp_path: Path) -> None:
    (tmp_path / "rules").write_text("not a directory\n")
    run = run_cli("check", "--rules", "rules", cwd=tmp_path)
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == (
        "profiler-rules: error: rules: this is a file, not a directory; the rules directory holds one YAML file per engine\n"
    )
    with pytest.raises(RulesDirectoryError):
        Dispatcher.from_rules(tmp_path / "rules", entry_points=False)
    with pytest.raises(RulesDirectoryError, match="no such rules directory"):
        Dispatcher.from_rules(tmp_path / "nowhere", entry_points=False)
    (tmp_path / "loop").symlink_to("loop")
    loop = run_cli("check", "--rules", "loop", cwd=tmp_path)
    assert (loop.code, loop.stderr) == (
        2,
        "profiler-rules: error: loop: cannot read the rules directory: Too many levels of symbolic links\n",
    )


def test_a_dangling_link_is_a_problem_at_the_file_not_a_missing_file(tmp_path: Path, rules_dir: Path) -> None:
    (rules_dir / "access.yaml").unlink()
    (rules_dir / "access.yaml").symlink_to("gone.yaml")
    run = run_cli("check", "--rules", "rules", cwd=tmp_path)
    assert run.code == 1
    assert run.stdout.splitlines() == ["rules/access.yaml: error: cannot read the file: No such file or directory"]


# --- 3. Packaged defaults for a plugin's missing rule file ----------------------------------------------


def test_installing_a_plugin_leaves_every_rules_directory_valid(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site, "badges_engine", entry_point="badges", dist="badges-engine")
    env = {"PYTHONPATH": str(site)}
    shutil.copytree(PACKAGED_RULES, tmp_path / "my-rules")

    check = run_cli("check", "--rules", "my-rules", cwd=tmp_path, env=env)
    assert check.code == 0, check.stdout + check.stderr
    assert check.stdout.splitlines()[0] == (
        "my-rules/badges.yaml: warning: no rule file for engine 'badges'; using its packaged default "
        "(badges_engine/badges.yaml); 'profiler-rules init --engine badges my-rules' copies it here to edit"
    )
    as_json = run_cli("check", "--rules", "my-rules", "--format", "json", cwd=tmp_path, env=env).json()
    assert as_json["valid"] and as_json["defaults"] == ["badges"]
    assert [problem["level"] for problem in as_json["problems"] if problem["file"] == "my-rules/badges.yaml"] == [
        "warning"
    ]
    report = run_cli("dispatch", "--example", "--rules", "my-rules", cwd=tmp_path, env=env).json()
    assert report["ruleset"]["defaults"] == ["badges"]
    assert report["engines"]["badges"]["explain"][0]["file"] == "badges_engine/badges.yaml"
    assert run_cli("test", "--rules", "my-rules", cwd=tmp_path, env=env).code == 0

    init = run_cli("init", "--engine", "badges", "my-rules", cwd=tmp_path, env=env)
    assert init.code == 0, init.stderr
    copied = (tmp_path / "my-rules" / "badges.yaml").read_text()
    assert copied.startswith("# yaml-language-server: $schema=schemas/badges.schema.json\n")
    assert json.loads((tmp_path / "my-rules" / "schemas" / "badges.schema.json").read_text())["title"] == "Badges rules"
    after = run_cli("check", "--rules", "my-rules", "--format", "json", cwd=tmp_path, env=env).json()
    assert after["defaults"] == [] and after["problems"] == []
    assert after["digest"] != as_json["digest"], "the digest covers the file used: now with its modeline"
    report = run_cli("dispatch", "--example", "--rules", "my-rules", cwd=tmp_path, env=env).json()
    assert report["ruleset"]["defaults"] == []

    (tmp_path / "my-rules" / "badges.yaml").write_text("threshold: 10\nbadge: Mine\n")
    again = run_cli("init", "--engine", "badges", "my-rules", cwd=tmp_path, env=env)
    assert again.code == 2
    assert again.stderr == (
        "profiler-rules: error: my-rules/badges.yaml exists; edit it, or --force to replace it with the packaged default\n"
    )
    assert (tmp_path / "my-rules" / "badges.yaml").read_text() == "threshold: 10\nbadge: Mine\n"
    assert run_cli("init", "--engine", "badges", "--force", "my-rules", cwd=tmp_path, env=env).code == 0
    assert (tmp_path / "my-rules" / "badges.yaml").read_text() == copied


def test_init_engine_refuses_an_unknown_engine_and_a_missing_directory(tmp_path: Path) -> None:
    unknown = run_cli("init", "--engine", "badgez", str(tmp_path))
    assert unknown.code == 2 and "no engine named 'badgez' (engines: missions, recipes" in unknown.stderr
    missing = run_cli("init", "--engine", "missions", str(tmp_path / "none"))
    assert missing.code == 2 and "is not a rules directory; 'profiler-rules init" in missing.stderr


def test_a_builtin_engine_without_its_file_serves_its_default_under_the_same_digest(
    rules_dir: Path, dispatcher: Dispatcher
) -> None:
    (rules_dir / "missions.yaml").unlink()
    loaded = Dispatcher.from_rules(rules_dir, entry_points=False)
    assert loaded.ruleset.digest == dispatcher.ruleset.digest, "the digest covers the files used: the same bytes"
    assert loaded.ruleset.stamp.defaults == ("missions",)
    assert dispatcher.ruleset.stamp.defaults == ()
    report = loaded.dispatch({"session_id": "s", "user_id": "u", "status": "finished"})
    assert report.model_dump(mode="json")["ruleset"] == {
        "digest": dispatcher.ruleset.digest,
        "version": dispatcher.ruleset.version,
        "defaults": ["missions"],
    }


def test_the_access_rules_stay_required(tmp_path: Path, rules_dir: Path) -> None:
    (rules_dir / "access.yaml").unlink()
    run = run_cli("check", "--rules", "rules", cwd=tmp_path)
    assert run.code == 1
    assert run.stdout.splitlines() == ["rules/access.yaml: error: missing rule file of the access rules"]


# --- 4. Deterministic, helpful messages --------------------------------------------------------------


def _many_problems(rules: Path) -> None:
    """Problems jsonschema finds in an order of its own: 150 views with a bad role (walked as a set),
    and in recipes.yaml an early mistake in a section the schema lists last, after 500 wrong items."""
    grants = "".join(f"view_{index}: [{{role: ''}}]\n" for index in range(150))  # any role but an empty one
    (rules / "access.yaml").write_text((rules / "access.yaml").read_text() + grants)
    text = (rules / "recipes.yaml").read_text()
    head, recommendations = text.split("recommendations:\n")
    recommendations = recommendations.replace("max_recipes: 10", "max_recipes: ten")
    wrong = head.replace("    - TECH\n", "    - TECH\n" + "    - 1\n" * 500)
    (rules / "recipes.yaml").write_text("recommendations:\n" + recommendations + wrong)


def test_past_100_problems_the_first_100_in_file_order_then_the_notice(tmp_path: Path, rules_dir: Path) -> None:
    _many_problems(rules_dir)
    runs = [
        run_cli("check", "--rules", "rules", cwd=tmp_path, env={"PYTHONHASHSEED": seed}) for seed in ("1", "2", "3")
    ]
    assert all(run.code == 1 for run in runs)
    assert runs[0].stdout == runs[1].stdout == runs[2].stdout
    for file in ("access.yaml", "recipes.yaml"):
        lines = [line for line in runs[0].stdout.splitlines() if line.startswith(f"rules/{file}:")]
        assert len(lines) == MAX_PROBLEMS + 1
        assert lines[-1].endswith(f"error: stopped after {MAX_PROBLEMS} problems; fix these and check again")
        places = [tuple(int(part) for part in line.split(":")[1:3]) for line in lines]
        assert places == sorted(places)
    access = [line for line in runs[0].stdout.splitlines() if line.startswith("rules/access.yaml:")]
    assert [line.rsplit(" [", 1)[1] for line in access[:3]] == ["view_0[0].role]", "view_1[0].role]", "view_2[0].role]"]
    recipes = [line for line in runs[0].stdout.splitlines() if line.startswith("rules/recipes.yaml:")]
    assert recipes[0].startswith("rules/recipes.yaml:3:16: error: 'ten' is not of type 'integer'")


def test_100000_wrong_items_are_reported_in_bounded_time(rules_dir: Path, dispatcher: Dispatcher) -> None:
    text = (rules_dir / "recipes.yaml").read_text().replace("    - TECH\n", "    - TECH\n" + "    - 1\n" * 100_000)
    document, problems = parse_yaml(text, "recipes.yaml")
    assert document is not None and not problems
    (validator,) = [item.validator for item in dispatcher._engines if item.engine.name == "recipes"]
    started = time.perf_counter()
    found = schema_problems(validator, document, "recipes.yaml")
    assert time.perf_counter() - started < 1.0
    assert len(found) == MAX_PROBLEMS + 1 and found[-1].message.startswith("stopped after")


def test_every_command_exits_2_on_a_missing_rules_directory(tmp_path: Path) -> None:
    commands = [
        ("check", "--rules", "missing"),
        ("check", "--rules", "missing", "--format", "json"),
        ("test", "--rules", "missing"),
        ("dispatch", "--example", "--rules", "missing"),
        ("explain", "--example", "--rules", "missing"),
        ("diff", "--example", "--rules", "missing"),
        ("diff", "--example", "--base", "missing"),
        ("analytics", "--example", "--rules", "missing"),
    ]
    for command in commands:
        run = run_cli(*command, cwd=tmp_path)
        assert (run.code, run.stderr) == (2, "profiler-rules: error: missing: no such rules directory\n"), command


def test_the_exit_code_table_is_in_every_help() -> None:
    table = "exit codes (every command):\n  0  ok\n  1  findings:"
    assert table in run_cli("--help").stdout
    for command in ("check", "test", "schema", "init", "plugins", "dispatch", "explain", "diff", "analytics"):
        assert table in run_cli(command, "--help").stdout, command


def _problem(rules: Path, file: str) -> list[str]:
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules, entry_points=False)
    return [
        problem.format().removeprefix(str(rules) + "/") for problem in raised.value.problems if file in problem.file
    ]


def test_a_number_written_as_text_says_how_to_write_it(rules_dir: Path) -> None:
    recipes = rules_dir / "recipes.yaml"
    text = recipes.read_text()
    text = text.replace("gap_cutoff: 60", "gap_cutoff: 55%", 1).replace("gap_cutoff: 60", 'gap_cutoff: "55"', 1)
    text = text.replace("max_recipes: 10", "max_recipes: 1,000")
    recipes.write_text(text)
    assert _problem(rules_dir, "recipes.yaml") == [
        "recipes.yaml:9:15: error: '55%' is not of type 'number'; write the number without % [aptitude.gap_cutoff]",
        "recipes.yaml:13:15: error: '55' is not of type 'number'; remove the quotes [technical_exposure.gap_cutoff]",
        f"recipes.yaml:{line_of(recipes, 'max_recipes')}:16: error: '1,000' is not of type 'integer'; "
        "write the number without separators [recommendations.max_recipes]",
    ]


def test_a_name_that_breaks_a_naming_rule_is_told_the_rule_in_words(rules_dir: Path) -> None:
    access = rules_dir / "access.yaml"
    access.write_text(access.read_text() + "Mentee-View:\n  - role: admin\n")
    edit(rules_dir / "recipes.yaml", "    high: 2", "    High!: 2")
    edit(rules_dir / "analytics.yaml", "band: beginner", "band: Beginner")
    problems = _problem(rules_dir, ".yaml")
    assert (
        f"access.yaml:{line_of(access, 'Mentee-View')}:1: error: 'Mentee-View' is not a valid view name: view names "
        "are lowercase letters, digits and _, starting with a letter [['Mentee-View']]"
    ) in problems
    assert any(
        "'High!' is not a valid name under 'priority_weights': names there are lowercase letters, digits and _, "
        "starting with a letter" in problem
        for problem in problems
    )
    assert any(
        "'Beginner' is not allowed here: write lowercase letters, digits and _, starting with a letter" in problem
        for problem in problems
    )
    assert not any("^[" in problem for problem in problems), "no regular expression"


def test_every_pattern_of_the_schemas_is_said_in_words(dispatcher: Dispatcher) -> None:
    from profiler_rules.core.access import ACCESS_SCHEMA
    from profiler_rules.core.ruleset import NAMING_RULES

    def patterns(node: object) -> set[str]:
        if isinstance(node, dict):
            own = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
            return own.union(*(patterns(child) for child in node.values()))
        if isinstance(node, list):
            return set().union(*(patterns(child) for child in node))
        return set()

    schemas = [item.schema for item in dispatcher._engines] + [ACCESS_SCHEMA]
    assert set().union(*(patterns(schema) for schema in schemas)) <= {*NAMING_RULES, "\\S"}


def test_a_missing_section_is_named_at_its_parents_line(rules_dir: Path) -> None:
    recipes = rules_dir / "recipes.yaml"
    edit(
        recipes,
        "  # A category scoring below this percentage is a gap. Exactly 60 is not a gap.\n  gap_cutoff: 60\n",
        "  {}\n",
    )
    edit(recipes, "  max_recipes: 10\n", "")
    problems = _problem(rules_dir, "recipes.yaml")
    assert problems == [
        f"recipes.yaml:{line_of(recipes, 'aptitude:')}:1: error: missing setting 'gap_cutoff' under 'aptitude'; add it [aptitude]",
        f"recipes.yaml:{line_of(recipes, 'recommendations:')}:1: error: missing setting 'max_recipes' under "
        "'recommendations'; add it [recommendations]",
    ]
    text = recipes.read_text()
    recipes.write_text(text[: text.index("\ncategories:")] + "\n" + text[text.index("\nrecommendations:") :])
    assert any(
        "error: the file needs a section 'categories'; add it" in line for line in _problem(rules_dir, "recipes")
    )


def test_indentation_and_other_syntax_mistakes_say_what_to_do(rules_dir: Path) -> None:
    recipes = rules_dir / "recipes.yaml"
    edit(recipes, "  gap_cutoff: 5\n", "   gap_cutoff: 5\n")  # the block of 'behavioral' now starts 3 spaces in
    block, line = line_of(recipes, "   gap_cutoff: 5"), line_of(recipes, "  priority: medium")
    (problem,) = _problem(rules_dir, "recipes.yaml")
    assert problem == (
        f"recipes.yaml:{line}:3: error: invalid YAML: did not find expected key; check the indentation of line "
        f"{line} (2 spaces; line {block} above has 3)"
    )
    for text, advice in [
        (
            "a:\n  b: 1\n c: 2\n",
            "did not find expected key; check the indentation of line 3 (1 space; line 2 above has 2)",
        ),
        ("a: b: c\n", "check the indentation of line 1, and put a value holding ': ' in quotes"),
        ("- a\nb: 1\n", "invalid YAML: did not find expected '-' indicator; check the indentation of line 2"),
        ("a: [1, 2\nb: 3\n", "a [ list ] opened on line 1 is not closed, or two of its items lack a ','"),
        ('a: "open\n', "the quoted value opened on line 1 is not closed; add its closing quote"),
        ("a: @x\n", "a value can not start with '@'; put the value in quotes"),
    ]:
        (found,) = parse_yaml(text, "f.yaml")[1]
        assert advice in found.message, (text, found.message)


def test_close_misspellings_get_a_suggestion(rules_dir: Path) -> None:
    edit(rules_dir / "recipes.yaml", "  max_recipes: 10", "  max_recipe: 10")
    edit(rules_dir / "portfolio.yaml", "on_retake: replace", "on_retake: Replace")
    (rules_dir / "missons.yaml").write_text("levels: {novice: 1}\n")
    problems = _problem(rules_dir, ".yaml")
    assert any(
        "unknown key 'max_recipe' (allowed: max_recipes, priority_weights); did you mean 'max_recipes'?" in p
        for p in problems
    )
    assert any("'Replace' is not one of ['replace', 'keep']; did you mean 'replace'?" in p for p in problems)
    assert any(
        p.startswith("missons.yaml: error: no engine reads this file") and p.endswith("did you mean missions.yaml?")
        for p in problems
    )


def test_junit_is_valid_xml_whatever_the_names_and_messages_hold(tmp_path: Path, rules_dir: Path) -> None:
    (rules_dir / "tests" / "odd.yaml").write_text(
        'cases:\n  - name: "bell \\a, escape \\e[31m, ]]> and <tag> & \\"quotes\\""\n'
        '    result: {session_id: "s\\x01", user_id: u, status: finished, difficulty_selection: "elite ]]> \\x02"}\n'
        "    expect: {missions: {output: {max_difficulty: 9}}}\n"
    )
    run = run_cli("test", "--rules", "rules", "--format", "junit", cwd=tmp_path)
    assert run.code == 1
    root = ElementTree.fromstring(run.stdout.encode())
    (failed,) = [case for case in root.iter("testcase") if case.find("failure") is not None]
    assert failed.get("name") == 'bell \\x07, escape \\x1b[31m, ]]> and <tag> & "quotes"'
    # A lone surrogate or a NUL, wherever it comes from, is escaped too.
    suite = SuiteResult((CaseResult("t.yaml", "lone \ud800 and \x00", 1, error="got \udfff ]]> \x0b"),))
    parsed = ElementTree.fromstring(_junit(suite).encode("utf-8"))
    assert parsed.find("testcase").get("name") == "lone \\ud800 and \\x00"
    assert parsed.find("testcase/failure").text == "got \\udfff ]]> \\x0b"


def test_the_test_text_output_prints_no_control_characters(tmp_path: Path, rules_dir: Path) -> None:
    (rules_dir / "tests" / "odd.yaml").write_text(
        'cases:\n  - name: "clear \\e[2J screen"\n    result: {session_id: s, user_id: u, status: finished}\n'
        "    expect: {missions: {output: {max_difficulty: 9}}}\n"
    )
    run = run_cli("test", "--rules", "rules", cwd=tmp_path)
    assert run.code == 1
    assert "\x1b" not in run.stdout and "clear \\x1b[2J screen" in run.stdout


def test_check_and_test_say_what_to_do_next(tmp_path: Path, rules_dir: Path) -> None:
    ok = run_cli("check", "--rules", "rules", cwd=tmp_path)
    assert ok.stderr.splitlines()[-1] == "next: 'profiler-rules test --rules rules' runs the rule tests"
    passed = run_cli("test", "--rules", "rules", cwd=tmp_path)
    assert passed.stderr.splitlines()[-1] == (
        "next: 'profiler-rules diff --rules rules --example' previews what the rules change for the bundled cohort"
    )
    edit(rules_dir / "recipes.yaml", "  gap_cutoff: 60\n\ntechnical", "  gap_cutoff: 45\n\ntechnical")
    failed = run_cli("test", "--rules", "rules", cwd=tmp_path)
    assert failed.code == 1
    assert failed.stderr.splitlines()[-1].startswith("next: each failure shows the value the test expects")
    edit(rules_dir / "recipes.yaml", "  gap_cutoff: 45\n\ntechnical", "  gap_cutoff: sixty\n\ntechnical")
    broken = run_cli("check", "--rules", "rules", cwd=tmp_path)
    assert broken.stderr.splitlines()[-1] == "next: fix these, then 'profiler-rules check --rules rules' again"
    assert "next:" not in run_cli("check", "--rules", "rules", "--format", "json", cwd=tmp_path).stderr
