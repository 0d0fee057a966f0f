"""The README tells the truth: its examples, its lists and its command table are checked against the code."""

from __future__ import annotations

import argparse
import json
import re
import tomllib
from pathlib import Path

from profiler_rules import Dispatcher
from profiler_rules.cli import _parser

from .conftest import EXAMPLES

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    return README.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def test_the_explain_entry_shown_is_one_the_example_really_gets(dispatcher: Dispatcher) -> None:
    shown = json.loads(re.search(r"Each `explain` entry.*?`(\{.*?\})`", README, re.DOTALL).group(1))
    catalogs = json.loads((EXAMPLES / "catalogs.json").read_text())
    report = dispatcher.dispatch((EXAMPLES / "result.json").read_text(), catalogs=catalogs)
    assert shown in report.model_dump(mode="json")["engines"][shown["file"].split("/")[-1].split(".")[0]]["explain"]


def test_the_runtime_dependencies_named_are_the_packaged_ones() -> None:
    named = re.search(r"Runtime dependencies: (.*?)\.\n", README, re.DOTALL).group(1)
    without_notes = re.sub(r"\(.*?\)", "", named, flags=re.DOTALL)
    named = {re.sub(r"\s+\d+$", "", part.strip()).lower() for part in re.split(r",|\band\b", without_notes)}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    packaged = {re.split(r"[<>=!~\[ ]", requirement, maxsplit=1)[0].lower() for requirement in project["dependencies"]}
    assert named - {""} == packaged


def test_the_engines_said_to_skip_incomplete_results_are_the_ones_that_do(dispatcher: Dispatcher) -> None:
    sentence = re.search(r"An incomplete one is answered\s+`skipped`.*?\n\n", README, re.DOTALL).group(0)
    skipping, rest = sentence.split("(", 1)
    said = set(re.findall(r"`([a-z]+)`", skipping)) - {"skipped"}
    incomplete = {"session_id": "s-1", "user_id": "u-1", "status": "started"}
    report = dispatcher.dispatch(incomplete, viewer={"user_id": "a-1", "roles": ["admin"]})
    assert said == {name for name, answer in report.engines.items() if answer.status == "skipped"}
    assert report.engines["missions"].output.max_difficulty == 1
    assert report.engines["marketplace"].output.profiler_complete is False


def commands() -> dict[str, argparse.ArgumentParser]:
    actions = [action for action in _parser()._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(actions[0].choices)


def test_the_command_table_names_every_command_and_option() -> None:
    rows = [line for line in section("Command line").splitlines() if line.startswith("| `")]
    for name, parser in commands().items():
        about = [
            row
            for row in rows
            if f"profiler-rules {name}" in row.split("|")[1] or f" {name}," in row or f" {name})" in row
        ]
        assert about, f"no row of the command table is about {name}"
        options = {option for action in parser._actions for option in action.option_strings if option.startswith("--")}
        missing = {option for option in options - {"--help"} if not any(option in row for row in about)}
        assert not missing, f"the command table says nothing of {name} {', '.join(sorted(missing))}"


def test_the_django_glue_shown_is_the_example_hosts_own() -> None:
    host = ROOT / "examples" / "django_host" / "django_host"

    def settings_block(text: str) -> list[str]:  # PROFILER_RULES = {...}, without comments
        block = text[text.index("PROFILER_RULES = {") :].split("\n}", 1)[0]
        return [code for line in block.splitlines() if (code := line.split("#", 1)[0].strip())]

    shown = section("For Django hosts")
    settings = (host / "settings.py").read_text(encoding="utf-8")
    assert settings_block(shown) == settings_block(settings)
    assert '"profiler_rules.contrib.django",' in settings
    include = 'path("api/v1/", include("profiler_rules.contrib.django.urls"))'
    assert include in shown and include in (host / "urls.py").read_text(encoding="utf-8")
