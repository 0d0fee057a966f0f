"""The command line as users run it: dispatch of JSON, JSONL and stdin, the example, plugins."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import EXAMPLES, run_cli


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def good(session: str, **fields: object) -> str:
    return json.dumps({"session_id": session, "user_id": f"u-{session}", "status": "finished", **fields})


def test_the_example_shows_every_engine_with_output_and_explanation() -> None:
    run = run_cli("dispatch", "--example")
    assert run.code == 0, run.stderr
    report = run.json()
    assert report["session_id"] == "8c1d4e2a-5b7f-4c3e-9a10-2f6d8e4b1c01"
    for name, engine in report["engines"].items():
        assert engine["status"] == "ok", name
        assert engine["output"], name
        assert engine["explain"], name
    assert report["engines"]["missions"]["output"]["max_difficulty"] == 2
    assert [recipe["id"] for recipe in report["engines"]["recipes"]["output"]["recommended_recipes"]][:2] == [
        "r-owasp",
        "r-basics",
    ]


def test_dispatch_a_json_file(tmp_path: Path) -> None:
    source = tmp_path / "result.json"
    source.write_text(good("a", difficulty_selection="elite"))
    report = run_cli("dispatch", str(source)).json()
    assert report["engines"]["missions"]["output"]["max_difficulty"] == 4


def test_dispatch_with_catalogs_and_viewer(tmp_path: Path) -> None:
    source = tmp_path / "result.json"
    source.write_text(good("a", difficulty_selection="advanced"))
    run = run_cli(
        "dispatch",
        str(source),
        "--catalogs",
        str(EXAMPLES / "catalogs.json"),
        "--viewer",
        '{"user_id": "admin-1", "roles": ["admin"]}',
    )
    assert run.code == 0, run.stderr
    opened = run.json()["engines"]["missions"]["output"]["open_missions"]
    assert [mission["difficulty"] for mission in opened] == [1, 2, 2, 3]


def test_jsonl_gives_one_record_per_line_in_order_and_goes_on_after_bad_lines(tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "results.jsonl",
        [
            good("1", difficulty_selection="elite"),
            '{"session_id": "2", "user_id": "u", "scores": {"aptitude": "abc"}}',
            "{not json",
            "",
            "[1, 2]",
            good("6", difficulty_selection="novice"),
        ],
    )
    run = run_cli("dispatch", str(source))
    assert run.code == 1
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(records) == 6
    assert records[0]["session_id"] == "1" and records[0]["engines"]["missions"]["output"]["max_difficulty"] == 4
    assert records[1] == {
        "line": 2,
        "session_id": "2",
        "error": "invalid profiler result: scores.aptitude: Input should be a valid number, unable to parse string as a number (got 'abc')",
        "fields": ["scores.aptitude"],
    }
    assert records[2]["line"] == 3 and records[2]["error"].startswith("invalid JSON")
    assert records[3] == {"line": 4, "session_id": None, "error": "the line is blank"}
    assert records[4] == {"line": 5, "session_id": None, "error": "expected a JSON object, got an array"}
    assert records[5]["session_id"] == "6"
    assert "6 line(s): 2 dispatched, 4 with errors" in run.stderr
    assert "Traceback" not in run.stderr


def test_jsonl_from_standard_input(tmp_path: Path) -> None:
    run = run_cli("dispatch", "--jsonl", "-", stdin=good("1") + "\n" + good("2") + "\n")
    assert run.code == 0
    assert [json.loads(line)["session_id"] for line in run.stdout.splitlines()] == ["1", "2"]


def test_json_from_standard_input() -> None:
    run = run_cli("dispatch", "-", stdin=json.dumps(json.loads(good("1")), indent=2))
    assert run.code == 0
    assert run.json()["session_id"] == "1"


def test_an_invalid_result_is_one_line_and_exit_1(tmp_path: Path) -> None:
    source = tmp_path / "result.json"
    source.write_text('{"session_id": "a", "user_id": "b", "technical_exposure_score": true}')
    run = run_cli("dispatch", str(source))
    assert run.code == 1
    assert run.stderr.strip() == (
        "profiler-rules: error: invalid profiler result: technical_exposure_score: a boolean is not a number (got True)"
    )


def test_broken_rules_stop_dispatch_with_their_positions(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "missions.yaml").write_text("levels: {}\n")
    run = run_cli("dispatch", "--example", "--rules", str(rules))
    assert run.code == 2
    assert f"{rules / 'missions.yaml'}:1:9: error: {{}} should be non-empty [levels]" in run.stderr
    assert f"{rules / 'access.yaml'}: error: missing rule file of the access rules" in run.stderr
    assert "engine 'recipes'" not in run.stderr, "an engine's missing file is served by its packaged default"
    assert "Traceback" not in run.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_cli("dispatch").code == 2
    assert run_cli("dispatch", str(tmp_path / "missing.json")).code == 2
    assert run_cli("dispatch", "--example", "--viewer", "{bad").code == 2
    assert run_cli("nonsense").code == 2


def test_python_dash_m_and_the_console_script_agree() -> None:
    script = Path(sys.executable).parent / "profiler-rules"
    assert script.is_file(), "the console script is installed beside the interpreter"
    via_script = subprocess.run(
        [str(script), "dispatch", "--example"], capture_output=True, text=True, check=True
    ).stdout
    assert via_script == run_cli("dispatch", "--example").stdout


def test_plugins_lists_the_builtin_engines() -> None:
    rows = run_cli("plugins", "--format", "json").json()
    # Built-in plugins are listed as they are found: by folder name.
    assert [(row["name"], row["source"], row["status"], row["engines"]) for row in rows[:2]] == [
        ("analytics", "builtin", "loaded", ["analytics"]),
        ("leadership", "builtin", "loaded", ["leadership"]),
    ]


def test_readme_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text()
    start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [block.strip() for block in start.split("```sh")[1:]]
    commands = [command.split("```")[0].strip() for command in commands]
    assert len(commands) == 2
    assert "dispatch --example" in commands[0]
    assert commands[1] in (root / ".ci" / "run").read_text()


def test_workers_give_the_same_records_in_the_same_order(tmp_path: Path) -> None:
    lines = [good(str(index), difficulty_selection=("novice", "elite", "bogus")[index % 3]) for index in range(700)]
    lines[10] = "{broken"
    lines[500] = ""
    lines[600] = '{"session_id": "\\ud800", "user_id": "u"}'  # a lone surrogate: no text, so no JSON
    source = write_lines(tmp_path / "results.jsonl", lines)
    spool = tmp_path / "tmp"  # where the workers spool their records
    spool.mkdir()
    one = run_cli("dispatch", str(source))
    two = run_cli("dispatch", str(source), "--workers", "2", env={"TMPDIR": str(spool)})
    assert (one.code, two.code) == (1, 1)
    assert one.stdout == two.stdout
    assert not list(spool.iterdir())  # and nothing is left behind
    assert len(two.stdout.splitlines()) == 700
    assert json.loads(two.stdout.splitlines()[10])["line"] == 11
    assert json.loads(two.stdout.splitlines()[600])["error"].startswith("invalid JSON")
    assert "Traceback" not in one.stderr + two.stderr
    assert run_cli("dispatch", str(source), "--workers", "0").code == 2


def test_a_dispatcher_travels_as_a_small_picklable_spec(rules_dir: Path) -> None:
    import pickle

    from profiler_rules import Dispatcher, ProfilerRulesError

    from .conftest import edit

    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    spec = pickle.loads(pickle.dumps(dispatcher.spec()))
    assert spec.rules == str(rules_dir) and spec.digest == dispatcher.ruleset.digest
    rebuilt = Dispatcher.from_spec(spec)
    assert rebuilt.engines == dispatcher.engines
    assert rebuilt.ruleset.digest == dispatcher.ruleset.digest
    edit(rules_dir / "missions.yaml", "  elite: 4", "  elite: 5")
    try:
        Dispatcher.from_spec(spec)
    except ProfilerRulesError as error:
        assert "changed since the spec was made" in str(error)
    else:
        raise AssertionError("a spec must not rebuild a dispatcher on other rules")
