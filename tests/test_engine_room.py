"""The package's layout keeps its promises: the core is the engine room, the tools sit beside it, and
no module leans on another's insides.

Read from the source with ``ast`` (no import runs): a module's imports, both those it runs at import
time and those for type checkers only (``if TYPE_CHECKING:``), make the import graph; a cycle in it is
a cycle even when Python would put up with it.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from profiler_rules import Dispatcher

from .conftest import EXAMPLES, install_plugin, run_cli

PACKAGE = Path(__file__).resolve().parent.parent / "profiler_rules"
CORE = "profiler_rules.core"
PLUGINS = "profiler_rules.plugins"
TOOLS = ("cli", "batch", "impact", "authoring", "pytest_plugin")
"""The tools built on the core, each beside it: ``profiler_rules.<tool>``."""


@dataclass(frozen=True, slots=True)
class Import:
    """One import statement's target module and the names it takes, where it is written."""

    importer: str
    module: str
    names: tuple[str, ...]
    line: int
    at_module_level: bool


@cache
def modules() -> dict[str, tuple[Path, ast.Module]]:
    """Every module of the package by dotted name, parsed."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return found


def imports_of(name: str) -> Iterator[Import]:
    """The imports of module ``name`` that name a module of the package, resolved to that module (a
    name taken from a package that is itself a module, ``from . import hookspecs``, is that module)."""
    path, tree = modules()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top_level = {id(node) for node in _module_level(tree.body)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            targets = []
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.append((submodule, ()) if submodule in modules() else (base, (alias.name,)))
        else:
            continue
        for module, names in targets:
            if module.split(".")[0] == "profiler_rules":
                yield Import(name, module, names, node.lineno, id(node) in top_level)


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements run when the module is imported, with those under ``if``/``try`` (so the
    imports of ``if TYPE_CHECKING:`` count), and none inside a function or a class."""
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.Try):
            blocks = [node.body, node.orelse]
            if isinstance(node, ast.Try):
                blocks += [handler.body for handler in node.handlers] + [node.finalbody]
            for block in blocks:
                yield from _module_level(block)


def import_graph() -> dict[str, set[str]]:
    """Each module's module-level imports of other modules of the package."""
    return {
        name: {item.module for item in imports_of(name) if item.at_module_level and item.module != name}
        for name in modules()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph``: one path around each group of modules that import each other."""
    found = []
    for group in _strongly_connected(graph):
        if len(group) > 1:
            found.append(_path_around(graph, group))
    return found


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative: the groups of modules each reachable from every other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next((item for item in targets if item in graph), None)
            if target is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    groups.append(group)
            elif target not in index:
                index[target] = low[target] = len(index)
                stack.append(target)
                on_stack.add(target)
                work.append((target, iter(sorted(graph[target]))))
            elif target in on_stack:
                low[node] = min(low[node], index[target])
    return groups


def _path_around(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A cycle through the first module of ``group``, found breadth-first, for the failure message."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & group):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")


@cache
def private_names() -> frozenset[str]:
    """The private names the package defines: functions, classes, variables and attributes (``self._x``)."""
    names = set()
    for _, tree in modules().values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name | ast.arg):
                names.add(node.id if isinstance(node, ast.Name) else node.arg)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return frozenset(name for name in names if _is_private(name))


def private_uses(name: str) -> Iterator[str]:
    """Where module ``name`` reaches into the package's insides elsewhere: a ``_private`` name imported
    from another module, or a private name of the package read as an attribute of anything but
    ``self`` or ``cls`` (``dispatcher._dispatch_under``). Other libraries' underscores (Django's
    ``_meta``) are theirs to answer for."""
    path, tree = modules()[name]
    for item in imports_of(name):
        for imported in item.names:
            if _is_private(imported) and item.module != name:
                yield f"{path.name}:{item.line}: imports {imported} from {item.module}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in private_names()
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            yield f"{path.name}:{node.lineno}: reads {ast.unparse(node)}"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def plugin_of(module: str) -> str | None:
    """The built-in plugin a module belongs to (``profiler_rules.plugins.<plugin>...``), if any."""
    parts = module.split(".")
    return parts[2] if module.startswith(PLUGINS + ".") and len(parts) > 2 else None


def test_the_import_graph_is_read_from_the_source() -> None:
    # The checks below are only as good as the graph: it must see relative, absolute, submodule and
    # type-checking imports, and leave out the imports made inside functions.
    graph = import_graph()
    assert "profiler_rules.core.hookspecs" in graph["profiler_rules.core.plugins"]  # from . import hookspecs
    assert "profiler_rules.core.engine" in graph["profiler_rules.core.dispatcher"]  # from .engine import ...
    assert "profiler_rules.core.access" in graph["profiler_rules.core.engine"]  # under if TYPE_CHECKING
    assert "profiler_rules" in graph["profiler_rules.plugins.missions.engine"]  # from profiler_rules import ...
    lazy = {item.module for item in imports_of("profiler_rules.cli.rulefiles") if not item.at_module_level}
    assert (
        "profiler_rules.authoring" in lazy and "profiler_rules.authoring" not in graph["profiler_rules.cli.rulefiles"]
    )
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_module_of_the_package_imports_itself_back() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def test_the_core_is_the_engine_room_and_the_tools_sit_beside_it() -> None:
    core = {name for name in modules() if name.startswith(CORE + ".")}
    assert not {f"{CORE}.{tool}" for tool in TOOLS} & core, "a tool is inside the core"
    assert all(f"profiler_rules.{tool}" in modules() for tool in TOOLS)
    outside = ("profiler_rules.contrib", PLUGINS, *(f"profiler_rules.{tool}" for tool in TOOLS))
    leaks = [
        f"{item.importer}:{item.line} imports {item.module}"
        for name in sorted(core | {CORE})
        for item in imports_of(name)
        if item.module == "profiler_rules" or item.module.startswith(outside)
    ]
    assert not leaks, "the core imports what is built on it:\n" + "\n".join(leaks)


def test_no_module_uses_another_modules_private_names() -> None:
    found = [use for name in sorted(modules()) for use in private_uses(name)]
    assert not found, "\n".join(found)


def test_no_plugin_imports_another_plugin() -> None:
    found = [
        f"{item.importer}:{item.line} imports {item.module}"
        for name in sorted(modules())
        if plugin_of(name) is not None
        for item in imports_of(name)
        if plugin_of(item.module) not in (None, plugin_of(name))
    ]
    assert not found, "\n".join(found)


# --- plugins' commands: the profiler_rules_register_commands hook ------------------------------


def with_plugins(tmp_path: Path, *plugins: tuple[str, str]) -> dict[str, str]:
    """The environment of a command line that finds ``plugins`` (package, entry point name), installed."""
    site = tmp_path / "site"
    site.mkdir()
    for package, entry_point in plugins:
        install_plugin(site, package, entry_point=entry_point)
    return {"PYTHONPATH": str(site)}


GREETING = ("greeting_commands", "greeting")


def test_an_installed_plugin_adds_commands_that_help_lists_and_that_run(tmp_path: Path) -> None:
    env = with_plugins(tmp_path, GREETING)
    shown = run_cli("--help", env=env)
    assert shown.code == 0, shown.stderr
    assert re.search(r"^ +greet +say hello$", shown.stdout, re.MULTILINE), shown.stdout
    # On its line or the next, as the longest command name (show-ruleset) lays out argparse's columns.
    assert re.search(r"^ +analytics\s+cohort and enterprise dashboards over results$", shown.stdout, re.MULTILINE)
    greeted = run_cli("greet", "--name", "ada", env=env)
    assert (greeted.code, greeted.stdout, greeted.stderr) == (0, "hello, ada\n", "")
    assert "--name NAME" in run_cli("greet", "--help", env=env).stdout
    (row,) = [row for row in run_cli("plugins", "--format", "json", env=env).json() if row["name"] == "greeting"]
    assert (row["status"], row["commands"], row["hooks"], row["engines"]) == (
        "loaded",
        ["greet", "crash", "mute"],
        ["profiler_rules_register_commands"],
        [],
    )


def test_help_loads_the_plugins_for_their_commands_and_nothing_of_the_engines(tmp_path: Path) -> None:
    # --help must stay faster than importing pydantic: the plugins are imported, their engines are not.
    script = (
        "import sys\n"
        "from profiler_rules.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('pydantic', 'jsonschema', 'yaml', 'profiler_rules.core.engine', 'profiler_rules.plugins.missions.engine')\n"
        "print([name for name in heavy if name in sys.modules], 'profiler_rules.plugins.analytics' in sys.modules, file=sys.stderr)\n"
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PROFILER_RULES_")}
    environment.update(with_plugins(tmp_path, GREETING))
    run = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, check=True)
    assert "greet" in run.stdout
    assert run.stderr == "[] True\n"


def test_a_plugin_command_that_fails_as_it_runs_ends_with_one_line_naming_its_plugin(tmp_path: Path) -> None:
    env = with_plugins(tmp_path, GREETING)
    crashed = run_cli("crash", env=env)
    assert (crashed.code, crashed.stdout) == (2, "")
    assert crashed.stderr == (
        "profiler-rules: error: command 'crash' of plugin 'greeting' failed: ValueError: the greeting plugin broke\n"
    )
    mute = run_cli("mute", env=env)
    assert (mute.code, mute.stderr) == (
        2,
        "profiler-rules: error: command 'mute' of plugin 'greeting' returned NoneType, not an exit code\n",
    )


def test_a_plugin_whose_commands_fail_or_clash_is_named_and_every_other_command_works(tmp_path: Path) -> None:
    env = with_plugins(tmp_path, GREETING, ("clashing_commands", "other_greeter"), ("raising_commands", "raising"))
    warnings = [
        "profiler-rules: warning: plugin 'other_greeter': command 'dispatch' is a profiler-rules command",
        "profiler-rules: warning: plugin 'other_greeter': command 'greet' is already registered by plugin 'greeting'",
        "profiler-rules: warning: plugin 'other_greeter': command name 'Bad Name' is not lowercase letters, digits and hyphens",
        "profiler-rules: warning: plugin 'other_greeter': registered 'str' as a command, which is not a profiler_rules.Command",
        "profiler-rules: warning: plugin 'raising': failed to register its commands: RuntimeError: no commands today",
        "profiler-rules: warning: plugin 'other_greeter': command 'helpful' failed to add its arguments: "
        "ArgumentError: argument -h: conflicting option string: -h",
    ]
    waved = run_cli("wave", env=env)
    assert (waved.code, waved.stdout, waved.stderr.splitlines()) == (0, "the clashing plugin ran\n", warnings)
    greeted = run_cli("greet", env=env)
    assert (greeted.code, greeted.stdout) == (0, "hello, world\n")
    dispatched = run_cli("dispatch", "--example", env=env)
    assert dispatched.code == 0 and dispatched.json()["engines"]["missions"]["status"] == "ok"
    assert run_cli("helpful", env=env).code == 2  # left out: argparse knows no such command
    listed = run_cli("plugins", "--strict", env=env)
    assert listed.code == 1
    assert "  error:   command 'greet' is already registered by plugin 'greeting'" in listed.stdout.splitlines()
    assert "  error:   failed to register its commands: RuntimeError: no commands today" in listed.stdout.splitlines()
    assert "raising (entry point, raising-commands 1.0.0): error" in listed.stdout.splitlines()


def test_a_disabled_plugins_command_is_missing_in_one_line(tmp_path: Path) -> None:
    env = {**with_plugins(tmp_path, GREETING), "PROFILER_RULES_DISABLED_PLUGINS": "greeting"}
    run = run_cli("greet", env=env)
    assert (run.code, run.stderr) == (
        2,
        "profiler-rules: error: no command 'greet'; plugins not loaded, whose commands are missing: greeting\n",
    )
    assert "greet" not in run_cli("--help", env=env).stdout


def test_hosts_have_the_dashboards_from_the_analytics_plugin(dispatcher: Dispatcher) -> None:
    from profiler_rules.plugins.analytics import dashboard

    results = [json.loads(line) for line in (EXAMPLES / "cohort.jsonl").read_text(encoding="utf-8").splitlines()]
    admin = {"roles": ["admin"]}
    report = dashboard(dispatcher, results, viewer=admin, cohort_id="cohort-2026-spring")
    assert report == dispatcher.aggregate("analytics", results, viewer=admin, cohort_id="cohort-2026-spring")
    assert report.status == "ok" and report.output.profiled > 0
    assert not hasattr(dispatcher, "analytics")  # one way: the engine's query lives with the engine
