"""Shared fixtures: real rule files copied from the package, real CLI runs, real distributions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from profiler_rules import Dispatcher
from profiler_rules.core.plugins import discover_plugins

PACKAGED_RULES = Path(str(files("profiler_rules").joinpath("rules")))
EXAMPLES = Path(str(files("profiler_rules").joinpath("examples")))
BENCH = Path(__file__).parent.parent / "bench"


def sample_results(count: int, seed: int) -> list[dict[str, Any]]:
    """Varied results from the benchmark's generator (bench/floor/samples.py): both breakdown shapes,
    incomplete results, numbers as text, personas, anti-cheat present or not."""
    sys.path.insert(0, str(BENCH))
    try:
        from floor.samples import sample_results as generate
    finally:
        sys.path.remove(str(BENCH))
    return generate(count, seed=seed)


BUILTIN_ENGINES: tuple[str, ...] = tuple(
    item.engine.name for item in discover_plugins(entry_points=False, environ={}).engines
)
"""The built-in engines in report order, as discovered. Tests that go over every engine use this, so that
adding an engine changes no test but its own; tests/test_engine_home.py pins the order of the existing ones."""


@pytest.fixture(autouse=True)
def _no_plugin_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's shell must not change what the tests see.
    monkeypatch.delenv("PROFILER_RULES_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("PROFILER_RULES_DISABLED_PLUGINS", raising=False)


@pytest.fixture(scope="session")
def dispatcher() -> Dispatcher:
    """The packaged default rules with the built-in engines only."""
    return Dispatcher.from_rules(entry_points=False)


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A writable copy of the packaged rules, as a host's own rules directory."""
    target = tmp_path / "rules"
    shutil.copytree(PACKAGED_RULES, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact, unique piece of a rule file."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not unique in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the only line containing ``needle``."""
    lines = [number for number, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}"
    return lines[0]


def result(**fields: Any) -> dict[str, Any]:
    """A complete profiler result with no scores, plus ``fields``."""
    return {"session_id": "s-1", "user_id": "u-1", "status": "finished", **fields}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, stdin: str | None = None) -> Run:
    """Run ``python -m profiler_rules`` in a subprocess, as a user would."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PROFILER_RULES_")}
    environment.update(env or {})
    completed = subprocess.run(
        [sys.executable, "-m", "profiler_rules", *args],
        cwd=cwd,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def cli() -> Callable[..., Run]:
    return run_cli


FIXTURE_PLUGINS = Path(__file__).parent / "fixtures"


def install_plugin(site: Path, package: str, entry_point: str | None = None, dist: str | None = None) -> Path:
    """Install ``tests/fixtures/<package>`` into ``site`` as pip would: the package and a ``.dist-info``.

    The distribution declares one ``profiler_rules`` entry point (named ``entry_point``, by default the
    package's name), so ``importlib.metadata`` finds it exactly as it finds a plugin a host installed.
    """
    shutil.copytree(FIXTURE_PLUGINS / package, site / package)
    dist = dist or package.replace("_", "-")
    info = site / f"{dist.replace('-', '_')}-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0.0\n", encoding="utf-8")
    point = entry_point or package
    (info / "entry_points.txt").write_text(f"[profiler_rules]\n{point} = {package}\n", encoding="utf-8")
    return site / package


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh site directory on ``sys.path``; modules imported from it are forgotten afterwards."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    before = set(sys.modules)
    yield root
    for module in set(sys.modules) - before:
        del sys.modules[module]
