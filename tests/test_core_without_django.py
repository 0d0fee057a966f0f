"""The core works where Django can not be imported: the Django app is an optional extra, nothing more.

Each test runs a fresh interpreter in which ``import django`` fails (``sys.modules["django"] = None`` is
how Python marks a module that is not there), as on a host that never installed the extra.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

WITHOUT_DJANGO = textwrap.dedent(
    """
    import sys
    sys.modules["django"] = None  # "import django" and "import django.x" now raise ImportError
    try:
        import django
    except ImportError:
        pass
    else:
        raise SystemExit("django is still importable")
    """
)


def run_without_django(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_DJANGO + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_dispatcher_dispatches_without_django() -> None:
    run = run_without_django(
        """
        import json
        from profiler_rules import Dispatcher
        report = Dispatcher.from_rules().dispatch(
            {"session_id": "s-1", "user_id": "u-1", "status": "finished", "difficulty_selection": "elite"}
        )
        print(json.dumps({"max": report.engines["missions"].output.max_difficulty, "django": sys.modules["django"]}))
        """
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"max": 4, "django": None}


def test_the_cli_dispatches_the_example_without_django() -> None:
    run = run_without_django(
        """
        from profiler_rules.cli import main
        sys.exit(main(sys.argv[1:]))
        """,
        "dispatch",
        "--example",
    )
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert record["engines"]["missions"]["status"] == "ok"


def test_every_module_of_the_core_and_the_plugins_imports_without_django() -> None:
    run = run_without_django(
        """
        import importlib, pkgutil
        import profiler_rules
        # The core, the plugins and the tools beside them (CLI, batch, impact, authoring, pytest plugin).
        # Walked one top-level name at a time: walking into profiler_rules.contrib would import it.
        names = ["profiler_rules"]
        for top in pkgutil.iter_modules(profiler_rules.__path__, "profiler_rules."):
            if top.name in ("profiler_rules.contrib", "profiler_rules.__main__"):
                continue
            names.append(top.name)
            if top.ispkg:
                package = importlib.import_module(top.name)
                names += [info.name for info in pkgutil.walk_packages(package.__path__, top.name + ".")]
        for name in names:
            importlib.import_module(name)
        leaked = sorted(name for name in sys.modules if name.startswith("django.") or name.startswith("profiler_rules.contrib"))
        print("\\n".join(names))
        if leaked:
            raise SystemExit(f"imported: {leaked}")
        """
    )
    assert run.returncode == 0, run.stderr
    imported = run.stdout.split()
    assert "profiler_rules.cli.rulefiles" in imported
    assert "profiler_rules.core.dispatcher" in imported
    assert "profiler_rules.plugins.missions.engine" in imported
    assert len(imported) > 30
