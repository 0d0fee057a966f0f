"""One home per engine: built-in engines are found by folder, written like third-party ones, and
import nothing of each other."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import profiler_rules.plugins
from profiler_rules import Dispatcher
from profiler_rules.core.plugins import builtin_plugin_names, discover_plugins

from .conftest import BUILTIN_ENGINES, result, run_cli

PLUGINS = Path(profiler_rules.plugins.__file__).parent
REPORT_ORDER = ("missions", "recipes", "portfolio", "leadership", "marketplace", "mentorship", "analytics")


def test_builtin_plugins_are_the_folders_of_the_plugins_package() -> None:
    folders = sorted(path.name for path in PLUGINS.iterdir() if (path / "__init__.py").is_file())
    assert builtin_plugin_names() == tuple(folders)


def test_reports_list_the_existing_engines_first_in_their_order() -> None:
    """Written out here, not read from the code: a change of order fails; a new engine goes after them."""
    assert BUILTIN_ENGINES[: len(REPORT_ORDER)] == REPORT_ORDER
    assert list(Dispatcher.from_rules(entry_points=False).dispatch(result()).engines) == list(BUILTIN_ENGINES)


NEW_ENGINE = '''
"""Zeta engine: a test's new built-in engine, in one file."""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files

from pydantic import BaseModel, ConfigDict, Field

from profiler_rules import Engine, Outcome, hookimpl


class ZetaSettings(BaseModel):
    """How zeta greets."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="Zeta rules")

    greeting: str = Field(min_length=1, description="What zeta says.")


class ZetaOutput(BaseModel):
    said: str


class ZetaEngine(Engine):
    name = "zeta"
    settings_model = ZetaSettings
    default_rules_file = files(__package__).joinpath("zeta.yaml")
    requires_complete = False

    def evaluate(self, result, rules, context):  # type: ignore[no-untyped-def]
        return Outcome(ZetaOutput(said=rules.settings.greeting), (rules.explain("greeting", "said it"),))


@hookimpl
def profiler_rules_register_engines(register: Callable[[Engine], None]) -> None:
    register(ZetaEngine())
'''


@pytest.fixture
def new_builtin_plugin(tmp_path: Path) -> Iterator[str]:
    """A new folder of built-in plugins holding plugin ``zeta``, as if added under profiler_rules/plugins/."""
    folder = tmp_path / "more_plugins" / "zeta"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(NEW_ENGINE, encoding="utf-8")
    (folder / "zeta.yaml").write_text("greeting: hello\n", encoding="utf-8")
    profiler_rules.plugins.__path__.append(str(folder.parent))
    try:
        yield "zeta"
    finally:
        profiler_rules.plugins.__path__.remove(str(folder.parent))
        for name in [name for name in sys.modules if name.startswith("profiler_rules.plugins.zeta")]:
            del sys.modules[name]


def test_a_new_builtin_plugin_folder_is_found_and_its_engine_comes_after_the_others(new_builtin_plugin: str) -> None:
    registry = discover_plugins(entry_points=False)
    assert new_builtin_plugin in [info.name for info in registry.plugins]
    assert tuple(item.engine.name for item in registry.engines) == (*BUILTIN_ENGINES, "zeta")
    report = Dispatcher.from_rules(entry_points=False).dispatch(result())
    assert list(report.engines) == [*BUILTIN_ENGINES, "zeta"]
    assert report.engines["zeta"].output.said == "hello"  # type: ignore[union-attr]


def test_importing_a_builtin_plugin_with_an_engine_module_imports_no_pydantic() -> None:
    """A plugin's module is imported to list it (and to find its commands): one that keeps its engine in
    engine.py imports it inside the hook, so that stays cheap. (A one-file engine may not.)"""
    for plugin in [name for name in builtin_plugin_names() if (PLUGINS / name / "engine.py").is_file()]:
        code = f"import sys, profiler_rules.plugins.{plugin}; print('pydantic' in sys.modules)"
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert run.stdout.strip() == "False", plugin


def test_leadership_builds_the_statement_through_the_portfolio_rules_it_reads() -> None:
    report = Dispatcher.from_rules(entry_points=False).dispatch(result(answers={"why_cyber": "to protect people"}))
    portfolio, leadership = report.engines["portfolio"].output, report.engines["leadership"].output
    assert portfolio is not None and leadership is not None
    assert leadership.value_statement == portfolio.summary  # type: ignore[attr-defined]


def test_the_plugins_folder_holds_no_schema_files() -> None:
    """The rule shape is written once, as the settings model; no schema file copies it."""
    assert sorted(PLUGINS.rglob("*.json")) == []


def _settings_without_description(schema: Any, path: str = "") -> list[str]:
    """The paths of the settings in a schema that an editor would show without a description."""
    missing = []
    for name, setting in schema.get("properties", {}).items():
        if "description" not in setting:
            missing.append(f"{path}{name}")
        missing.extend(_settings_without_description(setting, f"{path}{name}."))
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            missing.extend(_settings_without_description(schema[key], f"{path}[{key}]."))
    return missing


@pytest.mark.parametrize("engine", REPORT_ORDER)
def test_the_schema_command_prints_the_schema_generated_from_the_settings_model(engine: str) -> None:
    printed = run_cli("schema", engine)
    assert printed.code == 0, printed.stderr
    schema = json.loads(printed.stdout)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["title"] == f"{engine.capitalize()} rules"
    assert "\n" not in schema["description"]  # a docstring's line breaks are the source's, not the author's
    assert _settings_without_description(schema) == []


def test_a_schema_is_generated_once_per_model_and_process() -> None:
    first = {item.engine.name: item.schema for item in discover_plugins(entry_points=False).engines}
    again = {item.engine.name: item.schema for item in discover_plugins(entry_points=False).engines}
    assert all(again[name] is schema for name, schema in first.items())


def test_a_key_that_breaks_a_naming_pattern_is_reported_at_its_place(tmp_path: Path) -> None:
    """The patterns of a mapping's keys (pydantic would make them patternProperties, letting any other key
    through) are checked as propertyNames, at the key's own line and column."""
    rules = tmp_path / "rules"
    assert run_cli("init", str(rules)).code == 0
    text = (rules / "recipes.yaml").read_text(encoding="utf-8")
    (rules / "recipes.yaml").write_text(text.replace("    high: 2\n", "    High: 2\n"), encoding="utf-8")
    checked = run_cli("check", "--rules", str(rules))
    assert checked.code == 1
    line = text.splitlines().index("    high: 2") + 1
    assert f"recipes.yaml:{line}:5: error: 'High' is not a valid name under 'priority_weights'" in checked.stdout, (
        checked.stdout
    )


def test_a_setting_left_out_may_not_be_written_as_null(tmp_path: Path) -> None:
    """An optional setting (a readiness band's 'below') is left out, never written as null."""
    rules = tmp_path / "rules"
    assert run_cli("init", str(rules)).code == 0
    text = (rules / "analytics.yaml").read_text(encoding="utf-8")
    (rules / "analytics.yaml").write_text(text.replace("below: 40", "below: ~"), encoding="utf-8")
    checked = run_cli("check", "--rules", str(rules))
    assert checked.code == 1
    assert "error: an empty value is not of type 'number' [readiness_bands[0].below]" in checked.stdout, checked.stdout
